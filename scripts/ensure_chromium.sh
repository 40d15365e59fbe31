#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the site test (site_tests/). Idempotent and quiet:
# does nothing when /usr/bin/chromium (or $CHROMIUM) is already there. Needs root or sudo.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
    exit 0
fi

bash "$(dirname "$0")/apt_install.sh" "ensure_chromium: $chromium is missing" chromium
test -x "$chromium" || { echo "ensure_chromium: installed, but $chromium is still missing" >&2; exit 1; }
echo "ensure_chromium: $("$chromium" --version 2>/dev/null | head -n 1)"
