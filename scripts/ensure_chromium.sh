#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the site test (site_tests/). Idempotent and quiet:
# does nothing when /usr/bin/chromium (or $CHROMIUM) is already there. Needs root or sudo.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "ensure_chromium: $chromium is missing and this user cannot install it;" \
             "run 'apt-get install chromium' as root (or set CHROMIUM=/path/to/chromium)" >&2
        exit 1
    fi
fi

echo "ensure_chromium: installing Debian's chromium (once) ..."
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "ensure_chromium: apt-get install chromium failed" >&2
    exit 1
fi
rm -f "$log"
test -x "$chromium" || { echo "ensure_chromium: installed, but $chromium is still missing" >&2; exit 1; }
echo "ensure_chromium: $("$chromium" --version 2>/dev/null | head -n 1)"
