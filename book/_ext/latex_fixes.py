"""Fixes for the book's PDF (LaTeX builder only; the html site is untouched).

`make pdf` builds the book with jupyter-book's LaTeX builder, whose helper
sphinx-jupyterbook-latex brings a document class and a few preamble lines. Two of them
do not fit a build with Debian's smaller TeX packages and the book's own text:

* The class jupyterBook.cls loads `bbm` (double-struck letters), which Debian ships only
  in texlive-fonts-extra (about 500 MB). The book never uses `\\mathbbm`, so the build
  gets a stand-in `bbm.sty` that maps it to amssymb's `\\mathbb`.
* The preamble loads `unicode-math`. With it, a Greek letter in a heading (chapter 10:
  "derived from β₂") is read back from the .aux file as other tokens than were written,
  so every LaTeX run ends with "Label(s) may have changed" and latexmk cannot tell a
  finished build from an unfinished one. It also loads `ucharclasses` without any font
  transition, which does nothing. Both lines are dropped: mathematics is set in
  Computer Modern, text in the FreeSerif family, which has the Greek letters and arrows
  the text uses (scripts/check_pdf.py checks the log for "Missing character").

Cells tagged `hide-input` lose their source in the PDF and keep their outputs:
sphinx-jupyterbook-latex does that itself, and scripts/check_pdf.py checks that no
toggle text is printed.
"""

from pathlib import Path

from sphinx.builders.latex import LaTeXBuilder

# Preamble lines of sphinx-jupyterbook-latex that the PDF build leaves out (see above).
DROPPED_PREAMBLE_LINES = (
    r"\usepackage[Latin,Greek]{ucharclasses}",
    r"\usepackage{unicode-math}",
)

BBM_STAND_IN = r"""\NeedsTeXFormat{LaTeX2e}
\ProvidesPackage{bbm}[2026/01/01 stand-in written by book/_ext/latex_fixes.py]
\RequirePackage{amssymb}
\providecommand{\mathbbm}[1]{\mathbb{#1}}
"""


def drop_preamble_lines(preamble, dropped=DROPPED_PREAMBLE_LINES):
    """Return `preamble` without the lines whose stripped text is one of `dropped`."""
    kept = [line for line in preamble.splitlines() if line.strip() not in dropped]
    return "\n".join(kept) + ("\n" if preamble.endswith("\n") else "")


def _fix_preamble(app, config):
    elements = config.latex_elements
    if "preamble" in elements:
        elements["preamble"] = drop_preamble_lines(elements["preamble"])


def _write_bbm_stand_in(app):
    if not isinstance(app.builder, LaTeXBuilder):
        return
    out = Path(app.outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bbm.sty").write_text(BBM_STAND_IN, encoding="utf-8")


def setup(app):
    # sphinx-jupyterbook-latex writes its preamble at config-inited with the default
    # priority (500); a later priority sees it.
    app.connect("config-inited", _fix_preamble, priority=900)
    app.connect("builder-inited", _write_bbm_stand_in)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
