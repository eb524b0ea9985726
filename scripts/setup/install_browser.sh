#!/usr/bin/env bash
# Headless Chromium, Korean fonts (NanumGothic: TrueType, so the PDF embeds it as a named
# font; Noto Sans CJK KR as fallback) and poppler-utils (pdftotext,
# pdffonts, pdftoppm) for the report's PDF printing and its browser and PDF tests.
#   scripts/setup/install_browser.sh             install them, or fail saying how (make test)
#   scripts/setup/install_browser.sh --optional  the same, but where they cannot be installed
#                                                (not root, no apt) say so and exit 0: the
#                                                quickstart's report.pdf: auto then writes
#                                                report.html alone (make quickstart)
set -euo pipefail
optional=false
[ "${1:-}" = "--optional" ] && optional=true
have_browser() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_fonts() { ! command -v fc-list >/dev/null 2>&1 || fc-list | grep -q NanumGothic; }
if have_browser && have_fonts && command -v pdffonts >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing headless Chromium, Korean fonts and poppler-utils for the report's PDF (apt-get)..."
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
       chromium fonts-nanum fonts-noto-cjk poppler-utils >/dev/null; then
    exit 0
  fi
  reason="apt-get could not install them"
else
  reason="installing them needs root and apt-get"
fi
message="report.pdf needs Chromium, a Korean font and poppler-utils, and $reason. Install them
(Debian/Ubuntu: sudo apt-get install chromium fonts-nanum fonts-noto-cjk poppler-utils)"
if $optional; then
  echo "note: $message to get report.pdf; until then the quickstart writes report.html alone." >&2
  exit 0
fi
echo "$message and run again." >&2
exit 1
