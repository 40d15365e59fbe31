#!/usr/bin/env bash
# Make sure the TeX tools that `make pdf` needs are installed: latexmk, XeLaTeX, the
# LaTeX packages that Sphinx's and jupyter-book's LaTeX output loads, the fonts the PDF
# is set in (FreeSerif, FreeSans, FreeMono) and pdftotext for scripts/check_pdf.py.
# Quiet and idempotent: does nothing when everything is there. Installs Debian's
# packages (without their "recommends") as root or with sudo; otherwise exits 1 and
# names the command to run.
set -euo pipefail

packages="latexmk texlive-xetex texlive-latex-recommended texlive-latex-extra"
packages="$packages texlive-fonts-recommended fonts-freefont-otf poppler-utils"
install_cmd="apt-get install --no-install-recommends $packages"

# What is missing, as words for the message ("" when nothing is).
missing() {
    local found=""
    for tool in latexmk xelatex kpsewhich pdftotext; do
        command -v "$tool" >/dev/null 2>&1 || found="$found $tool"
    done
    if command -v kpsewhich >/dev/null 2>&1; then
        # A few files of each package set: fontspec, polyglossia, mathrsfs
        # (latex-recommended), titlesec, needspace, tabulary, changepage (latex-extra),
        # pgfplots (texlive-pictures, a dependency), rsfs10.tfm (fonts-recommended).
        for file in fontspec.sty polyglossia.sty mathrsfs.sty titlesec.sty \
                    needspace.sty tabulary.sty changepage.sty pgfplots.sty \
                    rsfs10.tfm; do
            [ -n "$(kpsewhich "$file")" ] || found="$found $file"
        done
    fi
    for font in FreeSerif FreeSans FreeMono; do
        [ -f /usr/share/fonts/opentype/freefont/"$font".otf ] || found="$found $font.otf"
    done
    echo "${found# }"
}

absent="$(missing)"
if [ -z "$absent" ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "ensure_tex: missing $absent; as root, run: $install_cmd" >&2
        exit 1
    fi
fi

echo "ensure_tex: missing $absent; installing Debian's TeX packages (once, 1-2 min) ..."
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
apt_opts="-o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends"
# shellcheck disable=SC2086  # the option and package lists are split into words
if ! { $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq \
       && $sudo apt-get install $apt_opts $packages; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "ensure_tex: apt-get failed; as root, run: $install_cmd" >&2
    exit 1
fi
rm -f "$log"
absent="$(missing)"
if [ -n "$absent" ]; then
    echo "ensure_tex: installed $packages, but still missing: $absent" >&2
    exit 1
fi
echo "ensure_tex: $(xelatex --version | head -n 1)"
