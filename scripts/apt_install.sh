#!/usr/bin/env bash
# Install Debian packages for the scripts that make sure a tool is there (ensure_chromium.sh,
# ensure_tex.sh, pg_test_server.sh): as root, or through sudo; otherwise exit 1 with the one
# apt-get line to run. Quiet on success; on failure apt-get's output goes to stderr.
#
#   scripts/apt_install.sh [--no-recommends] WHAT PACKAGE...
#
# WHAT starts each message ("ensure_tex: missing latexmk", say).
set -euo pipefail

recommends=()
if [ "${1:-}" = "--no-recommends" ]; then
    recommends=(--no-install-recommends)
    shift
fi
if [ "$#" -lt 2 ]; then
    echo "usage: apt_install.sh [--no-recommends] WHAT PACKAGE..." >&2
    exit 2
fi
what="$1"
shift
hint="apt-get install ${recommends[*]:+${recommends[*]} }$*"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "$what; as root, run: $hint" >&2
        exit 1
    fi
fi

echo "$what; installing Debian's $* (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
lock=(-o DPkg::Lock::Timeout=600)
if ! { $sudo apt-get "${lock[@]}" update -qq \
       && $sudo apt-get "${lock[@]}" install -y -qq "${recommends[@]}" "$@"; } >"$log" 2>&1
then
    cat "$log" >&2
    echo "$what; apt-get failed; as root, run: $hint" >&2
    exit 1
fi
