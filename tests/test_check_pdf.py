"""scripts/check_pdf.py finds each kind of problem in a PDF's text, LaTeX and log.

Made-up text only: no TeX and no pdftotext needed. Every check is shown to pass on a
clean case and to fail on a bad one.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_pdf.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_pdf", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


CLEAN_PDF = """Optimization for Deep Learning
CONTENTS
1 First steps
2 Adam’s second moment
Bibliography
1 First steps
Fig. 1.1 shows the loss. As Fig. 1.2 shows,
Fig. 1.1: The loss of SGD.
Fig. 1.2: The loss of Adam.
2 Adam’s second
moment
Figure 2.1: The second moment.
Bibliography
[KB15] Diederik P. Kingma and Jimmy Ba. Adam.
"""
CLEAN_TEX = r"""as in \hyperlink{cite.book/references:id1}{2015}.
\begin{sphinxthebibliography}{KB15}
\bibitem[KB15]{book/references:id1}
\end{sphinxthebibliography}
"""
CLEAN_LOG = """LaTeX Font Info: Font shape `TU/FreeSerif(0)/m/n' will be scaled
Output written on book.pdf (3 pages).
"""
TITLES = ["Optimization for Deep Learning", "First steps", "Adam's second moment"]
FIGURES = {1: 2, 2: 1}


def test_clean_case_has_no_problem(check):
    assert check.caption_problems(CLEAN_PDF, FIGURES) == []
    assert check.text_problems(CLEAN_PDF) == []
    assert check.title_problems(CLEAN_PDF, TITLES) == []
    assert check.bibliography_problems(CLEAN_PDF, CLEAN_TEX) == []
    assert check.log_problems(CLEAN_LOG) == []


def test_missing_caption(check):
    text = CLEAN_PDF.replace("Fig. 1.2: The loss of Adam.\n", "")
    assert check.caption_problems(text, FIGURES) == [
        "caption Fig. 1.2: found 0 times, expected 1"]


def test_caption_twice(check):
    text = CLEAN_PDF + "Fig. 1.1: The loss of SGD.\n"
    assert check.caption_problems(text, FIGURES) == [
        "caption Fig. 1.1: found 2 times, expected 1"]


def test_caption_of_a_figure_that_no_cell_declares(check):
    problems = check.caption_problems(CLEAN_PDF + "Fig. 2.2: Extra.\n", FIGURES)
    assert problems == [
        "caption Fig. 2.2: found 1 times, but chapter 2 has 1 figure(s)"]


def test_a_reference_is_not_a_caption(check):
    # "Fig. 1.1 shows" has no colon after the number: it counts for nothing
    text = CLEAN_PDF.replace("Fig. 1.1: The loss of SGD.\n", "")
    assert check.caption_problems(text, FIGURES) == [
        "caption Fig. 1.1: found 0 times, expected 1"]


def test_unresolved_reference(check):
    problems = check.text_problems(CLEAN_PDF + "as in Fig. ?? and (??)\n")
    assert len(problems) == 1 and problems[0].startswith("'??' (unresolved reference?)")


@pytest.mark.parametrize("toggle", ["Show code cell source", "Click to show",
                                    "Toggle hidden content", "Hide code\ncell outputs"])
def test_toggle_text(check, toggle):
    problems = check.text_problems(CLEAN_PDF + toggle + "\n")
    assert len(problems) == 1 and "toggle text" in problems[0]


def test_missing_chapter_title(check):
    text = CLEAN_PDF.replace("2 Adam’s second moment\n", "").replace(
        "2 Adam’s second\nmoment\n", "")
    assert check.title_problems(text, TITLES) == [
        "chapter title missing: 'Adam's second moment'"]


def test_title_markup_and_dashes(check):
    # the title's markup (`code`, *emphasis*) is not printed; "--" prints as a dash
    pdf_text = "10 RAdam: a warm–up for\nx, fast"
    assert check.title_problems(pdf_text, ["RAdam: a warm--up for `x`, *fast*"]) == []


def test_no_bibliography_heading(check):
    text = CLEAN_PDF.replace("Bibliography\n", "")
    assert check.bibliography_problems(text, CLEAN_TEX) == [
        "no 'Bibliography' heading in the PDF"]


def test_citation_without_entry(check):
    tex = CLEAN_TEX + r"see \hyperlink{cite.book/references:id7}{2019}" + "\n"
    assert check.bibliography_problems(CLEAN_PDF, tex) == [
        "citation 'book/references:id7' has no bibliography entry"]


def test_no_bibliography_entries(check):
    tex = CLEAN_TEX.replace(r"\bibitem[KB15]{book/references:id1}", "")
    problems = check.bibliography_problems(CLEAN_PDF, tex)
    assert problems[0].startswith("the LaTeX source has no bibliography entries")
    assert problems[1] == "citation 'book/references:id1' has no bibliography entry"


@pytest.mark.parametrize("line", [
    "Missing character: There is no 中 (U+4E2D) in font [FreeSerif.otf]!",
    "LaTeX Warning: Reference `book/x:fig-1' on page 3 undefined on input line 12.",
    "LaTeX Warning: Citation `book/references:id9' on page 4 undefined on input line 7",
    "LaTeX Warning: There were undefined references.",
    "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.",
])
def test_log_problem(check, line):
    log = CLEAN_LOG + line + "\n" + line + "\n"       # the same problem twice: one line
    assert check.log_problems(log) == [f"LaTeX log: {line}"]


def _notebook(cells):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5})


def _md(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def _figure_cell(name):
    meta = {"mystnb": {"figure": {"caption": "A figure.", "name": name}}}
    return {"cell_type": "code", "metadata": meta, "source": "plot()", "outputs": []}


@pytest.fixture
def book(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: One\n    numbered: true\n    chapters:\n"
        "      - file: book/ch1\n      - file: book/ch2\n"
        "  - caption: Back\n    chapters:\n      - file: book/refs\n")
    (tmp_path / "book" / "intro.md").write_text("# The book\n\nHello.\n")
    (tmp_path / "book" / "ch1.ipynb").write_text(_notebook([
        _md("# Chapter one\n\n## A section"),
        _figure_cell("fig-a"),
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []},
        _figure_cell("fig-b"),
    ]))
    (tmp_path / "book" / "ch2.ipynb").write_text(_notebook([
        _md("# Chapter two\n\n```{figure} a.png\n:name: fig-c\n\nA drawing.\n```\n"),
    ]))
    (tmp_path / "book" / "refs.md").write_text(
        "# References\n\n```{figure} b.png\n```\n")
    return tmp_path


def test_book_outline(check, book):
    titles, figures = check.book_outline(book)
    assert titles == ["The book", "Chapter one", "Chapter two", "References"]
    assert figures == {1: 2, 2: 1}          # the unnumbered back matter has no number


def test_book_outline_names_a_missing_chapter(check, book):
    (book / "book" / "ch2.ipynb").unlink()
    with pytest.raises(ValueError, match=r"_toc.yml names 'book/ch2'"):
        check.book_outline(book)


def test_book_outline_needs_a_title(check, book):
    (book / "book" / "refs.md").write_text("No heading here.\n")
    with pytest.raises(ValueError, match=r"book/refs: no '# ' title heading"):
        check.book_outline(book)


def _run_main(check, book, monkeypatch, pdf_text, log_text=CLEAN_LOG):
    pdf, tex, log = book / "b.pdf", book / "b.tex", book / "b.log"
    pdf.write_bytes(b"%PDF-1.5 made up")
    tex.write_text(CLEAN_TEX)
    log.write_text(log_text)
    monkeypatch.setattr(check, "pdf_to_text", lambda path: pdf_text)
    return check.main([str(pdf), "--tex", str(tex), "--log", str(log),
                       "--root", str(book)])


BOOK_PDF = """The book
1 Chapter one
Fig. 1.1: A figure.
Fig. 1.2: A figure.
2 Chapter two
Fig. 2.1: A drawing.
References
Bibliography
"""


def test_main_clean(check, book, monkeypatch, capsys):
    assert _run_main(check, book, monkeypatch, BOOK_PDF) == 0
    out = capsys.readouterr().out
    assert "3 figure captions, 4 titles, 1 bibliography entries" in out


def test_main_reports_each_problem_on_one_line(check, book, monkeypatch, capsys):
    text = BOOK_PDF.replace("Fig. 2.1: A drawing.\n", "") + "Show code cell source\n"
    log = CLEAN_LOG + "Missing character: There is no ≤ in font x!\n"
    assert _run_main(check, book, monkeypatch, text, log) == 1
    assert capsys.readouterr().out.splitlines() == [
        "check_pdf: caption Fig. 2.1: found 0 times, expected 1",
        "check_pdf: toggle text of the html site in the PDF: 'Show code cell'",
        "check_pdf: LaTeX log: Missing character: There is no ≤ in font x!",
    ]


def test_main_names_a_missing_pdf(check, book, capsys):
    missing = book / "nothing.pdf"
    code = check.main([str(missing), "--tex", "t.tex", "--log", "t.log",
                       "--root", str(book)])
    assert code == 2
    assert f"PDF {missing}: no such file" in capsys.readouterr().err


def test_main_names_an_unreadable_log(check, book, monkeypatch, capsys):
    pdf = book / "b.pdf"
    pdf.write_bytes(b"%PDF")
    (book / "b.tex").write_text(CLEAN_TEX)
    code = check.main([str(pdf), "--tex", str(book / "b.tex"), "--log",
                       str(book / "none.log"), "--root", str(book)])
    assert code == 2
    assert "--log" in capsys.readouterr().err
