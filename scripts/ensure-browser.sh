#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
# Printable records render to PDF with WeasyPrint, which loads Pango through the system
# (libpango, libpangoft2; HarfBuzz-Subset, else it warns and warnings are errors) and needs a CJK font; the tests read the PDF back with pdftotext.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
fc-list 2>/dev/null | grep -qi "wenquanyi" || missing="$missing fonts-wqy-zenhei"
command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "FATAL: /usr/bin/chromium does not run" >&2; exit 1; }
