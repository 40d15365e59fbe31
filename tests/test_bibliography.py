"""The bibliography in the book's own style, formatted by pybtex alone (no Sphinx).

Every check is a function that returns the problems it finds, so that each one is
run twice: on book/references.bib (no problem allowed) and on a made-up bad entry
(the problem must be reported).
"""

import json
import re
import sys
from pathlib import Path

import pytest
from pybtex.database import parse_string
from pybtex.plugin import find_plugin

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bibstyle  # noqa: E402

bibstyle.register()

# Capitalised names that a title must keep (sentence case lowers everything else).
# Acronyms (two capitals or more, e.g. SGD, BERT) are checked without a list.
NAMES = ("Adam", "Nesterov", "Hessian", "ImageNet", "Lookahead", "Tacotron")
LABEL_RE = re.compile(
    r"^(?P<authors>[^\W\d_][\w'’\- ]*?(?: and [^\W\d_][\w'’\- ]*| et al\.)?)"
    r", (?P<year>\d{4}[a-z]?|n\.d\.)$"
)
CITE_RE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")


def parse(text):
    return parse_string(text, "bibtex")


def format_bib(bib, style=bibstyle.NAME):
    """[(key, label, plain text, latex text, formatted entry)] in list order."""
    formatted = find_plugin("pybtex.style.formatting", style)().format_entries(
        bib.entries.values()
    )
    return [
        (fe.key, fe.label, fe.text.render_as("text"), fe.text.render_as("latex"), fe)
        for fe in formatted
    ]


def label_problems(labels):
    problems = []
    for label in labels:
        if re.search(r"Dollar|[\\{}$]", label):
            problems.append(f"label {label!r} holds LaTeX residue")
        if not LABEL_RE.match(label):
            problems.append(f"label {label!r} is not 'Author[ and B| et al.], year'")
    seen = set()
    for label in labels:
        if label in seen:
            problems.append(f"label {label!r} is used twice")
        seen.add(label)
    return problems


def text_problems(rows):
    """LaTeX residue, '$' or a math placeholder in the formatted (plain) text."""
    problems = []
    for key, _, text, _, _ in rows:
        for bad in ("$", "\\", "{", "}", "bibstylemath"):
            if bad in text:
                problems.append(f"{key}: {bad!r} left in the formatted entry: {text}")
    return problems


def capital_problems(bib, rows):
    problems = []
    by_key = {row[0]: row for row in rows}
    for key, entry in bib.entries.items():
        title = bibstyle._plain(bibstyle.MATH_RE.sub("", entry.fields.get("title", "")))
        # acronyms and inner capitals: SGD, BERT, R-CNN, ImageNet (not "Real-Time")
        words = set(re.findall(r"\b(?:[A-Z]{2,}\w*|[A-Za-z]*[a-z][A-Z]\w*)", title))
        words |= {n for n in NAMES if re.search(rf"\b{n}\b", title, re.IGNORECASE)}
        text = by_key[key][2]
        for word in sorted(words):
            if not re.search(rf"\b{re.escape(word)}\b", text):
                problems.append(
                    f"{key}: {word!r} lost its capitals (brace it: {{{word}}})"
                )
    return problems


def math_problems(bib, rows):
    """Every $...$ of a field comes out as the same math, also in LaTeX."""
    problems = []
    by_key = {row[0]: row for row in rows}
    for key, entry in bib.entries.items():
        wanted = [m for v in entry.fields.values() for m in bibstyle.MATH_RE.findall(v)]
        fe = by_key[key][4]
        found = [p.value for p in _leaves(fe.text) if isinstance(p, bibstyle.Math)]
        if sorted(found) != sorted(wanted):
            problems.append(f"{key}: math {wanted} came out as {found}")
        for math in wanted:
            if f"${math}$" not in by_key[key][3]:
                problems.append(f"{key}: ${math}$ missing from the LaTeX rendering")
    return problems


def _leaves(text):
    for part in getattr(text, "parts", []):
        if isinstance(part, bibstyle.Math) or not hasattr(part, "parts"):
            yield part
        else:
            yield from _leaves(part)


def cited_keys(root=ROOT / "book"):
    """{key: [files]} for each {cite}, {cite:p}, {cite:t}... in .md and .ipynb files."""
    keys = {}
    for path in sorted(root.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or path.suffix not in (".md", ".ipynb"):
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            texts = [
                "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
            ]
        else:
            texts = [path.read_text(encoding="utf-8")]
        for text in texts:
            for group in CITE_RE.findall(text):
                for key in filter(None, (k.strip() for k in group.split(","))):
                    keys.setdefault(key, []).append(str(path.relative_to(root)))
    return keys


def citation_problems(bib_keys, cited):
    problems = [
        f"{key} is cited in {sorted(set(files))} but not in references.bib"
        for key, files in sorted(cited.items())
        if key not in bib_keys
    ]
    # references.md lists the bibliography with :all:; an entry nobody cites would
    # show up in the list without a single citation, so there must be none.
    problems += [f"{key} is in references.bib but cited nowhere" for key in
                 sorted(set(bib_keys) - set(cited))]
    return problems


# ------------------------------------------------------------------ the real book
@pytest.fixture(scope="module")
def book():
    bib = parse(BIB.read_text(encoding="utf-8"))
    return bib, format_bib(bib)


def test_labels_are_clean_unique_author_year(book):
    _, rows = book
    assert label_problems([row[1] for row in rows]) == []


def test_formatted_entries_have_no_latex_left(book):
    assert text_problems(book[1]) == []


def test_titles_keep_their_capitals(book):
    assert capital_problems(*book) == []


def test_math_in_titles_is_rendered_as_math(book):
    bib, rows = book
    assert any(bibstyle.MATH_RE.search(e.fields["title"]) for e in bib.entries.values())
    assert math_problems(bib, rows) == []


def test_every_citation_has_an_entry_and_every_entry_is_cited(book):
    bib, _ = book
    cited = cited_keys()
    assert len(cited) > 20, "the citation scan found too few keys: is CITE_RE broken?"
    assert citation_problems(list(bib.entries), cited) == []


def test_list_is_sorted_by_author_then_year(book):
    _, rows = book
    labels = [row[1] for row in rows]
    keys = [(bibstyle._fold(a), y) for a, y in map(bibstyle.split_label, labels)]
    assert keys == sorted(keys)


def test_text_citation_is_cut_from_the_label():
    assert bibstyle.split_label("Goyal et al., 2017") == ("Goyal et al.", "2017")
    assert bibstyle.split_label("Ma and Yarats, 2019b") == ("Ma and Yarats", "2019b")
    with pytest.raises(ValueError, match="not an author-year label"):
        bibstyle.split_label("GDollarG+17")


# ------------------------------------------------------ each check on a bad entry
BAD_ACCENT = r"""
@misc{goyal, author = {Goyal, Priya and Doll{\'a}r, Piotr and Girshick, Ross},
  title = {Accurate minibatch {SGD}}, year = {2017}}
"""


def test_label_check_catches_the_old_alpha_labels():
    rows = format_bib(parse(BAD_ACCENT), style="alpha")  # the style the book used
    problems = label_problems([row[1] for row in rows])
    assert any("GDollarG" in p and "residue" in p for p in problems), problems
    assert label_problems(["Smith, 2017", "Smith, 2017"]) == [
        "label 'Smith, 2017' is used twice"
    ]
    assert "not 'Author" in label_problems(["[Smith 2017]"])[0]


def test_accents_are_decoded_in_the_book_style():
    (row,) = format_bib(parse(BAD_ACCENT))
    assert row[1] == "Goyal et al., 2017"
    assert "Piotr Dollár" in row[2]


def test_same_authors_same_year_get_suffixes():
    bib = parse(
        """
        @misc{s1, author = {Smith, Leslie}, title = {Beta}, year = {2017}}
        @misc{s2, author = {Smith, Leslie}, title = {Alpha}, year = {2017}}
        @misc{s3, author = {Smith, Leslie and Topin, N.}, title = {C}, year = {2017}}
        """
    )
    rows = format_bib(bib)
    assert [(r[0], r[1]) for r in rows] == [
        ("s2", "Smith, 2017a"),
        ("s1", "Smith, 2017b"),
        ("s3", "Smith and Topin, 2017"),
    ]
    assert label_problems([r[1] for r in rows]) == []


def test_capital_check_catches_an_unbraced_name():
    bib = parse("@misc{x, author = {Doe, J.}, title = {Why Adam Beats SGD}, year = 1}")
    problems = capital_problems(bib, format_bib(bib))
    assert len(problems) == 2 and "'Adam'" in problems[0] and "'SGD'" in problems[1]


def test_text_check_catches_latex_residue_and_dollars():
    bib = parse(
        r"@misc{x, author = {Doe, Jane}, title = {Costs \$5 and \unknowncmd{} more},"
        " year = {2020}}"
    )
    problems = text_problems(format_bib(bib))
    assert any("'$'" in p for p in problems) and any("'\\\\'" in p for p in problems)


def test_math_check_catches_math_that_is_not_rendered():
    bib = parse("@misc{x, author = {Doe, Jane}, title = {Rate $O(1/k)$}, year = 2020}")
    rows = format_bib(bib, style="plain")  # pybtex's own style prints the dollars
    assert math_problems(bib, rows) == [
        "x: math ['O(1/k)'] came out as []",
        "x: $O(1/k)$ missing from the LaTeX rendering",
    ]
    assert text_problems(rows) and not text_problems(format_bib(bib))
    assert math_problems(bib, format_bib(bib)) == []


def test_citation_check_catches_missing_and_uncited_keys(tmp_path):
    (tmp_path / "a.md").write_text("see {cite:t}`known` and {cite}`known, missing`")
    cited = cited_keys(tmp_path)
    assert cited == {"known": ["a.md", "a.md"], "missing": ["a.md"]}
    assert citation_problems(["known", "spare"], cited) == [
        "missing is cited in ['a.md'] but not in references.bib",
        "spare is in references.bib but cited nowhere",
    ]


def test_entry_without_author_is_a_clear_error():
    bib = parse("@misc{anon, title = {Nobody wrote this}, year = {2020}}")
    with pytest.raises(ValueError, match="'anon' has neither author nor editor"):
        format_bib(bib)
