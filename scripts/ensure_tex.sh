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

# shellcheck disable=SC2086  # the package list is split into words
bash "$(dirname "$0")/apt_install.sh" --no-recommends "ensure_tex: missing $absent" $packages
absent="$(missing)"
if [ -n "$absent" ]; then
    echo "ensure_tex: installed $packages, but still missing: $absent" >&2
    exit 1
fi
echo "ensure_tex: $(xelatex --version | head -n 1)"
