#!/usr/bin/env bash
# Headless Chromium (and a Korean font) for the report's browser test and PDF printing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
else
  echo "Chromium is needed for the report's browser test: install it (Debian/Ubuntu:" \
       "sudo apt-get install chromium fonts-noto-cjk) and run again." >&2
  exit 1
fi
