#!/usr/bin/env bash
# Headless Chromium, Korean fonts (NanumGothic: TrueType, so the PDF embeds it as a named
# font; Noto Sans CJK KR as fallback) and poppler-utils (pdftotext,
# pdffonts, pdftoppm) for the report's PDF printing and its browser and PDF tests.
set -euo pipefail
have_browser() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_fonts() { ! command -v fc-list >/dev/null 2>&1 || fc-list | grep -q NanumGothic; }
if have_browser && have_fonts && command -v pdffonts >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum fonts-noto-cjk poppler-utils >/dev/null
else
  echo "The report needs Chromium, a Korean font and poppler-utils: install them (Debian/Ubuntu:" \
       "sudo apt-get install chromium fonts-nanum fonts-noto-cjk poppler-utils) and run again." >&2
  exit 1
fi
