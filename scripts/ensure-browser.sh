#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
set -eu
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi"; then
  echo "installing Debian's chromium and a CJK font"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "FATAL: /usr/bin/chromium does not run" >&2; exit 1; }
