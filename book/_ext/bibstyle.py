"""The bibliography style of the book: one author-year style, in the text and the list.

The list of references (book/references.md) and the citations in the chapters use the
same label, "Kingma and Ba, 2015" or "Goyal et al., 2017"; two works with the same
authors and year become "Smith, 2017a" and "Smith, 2017b", in the list and in the text.

Four plugins, all named ``book_author_year``:

* a pybtex label style (group ``pybtex.style.labels``): the author-year labels;
* a pybtex sorting style (``pybtex.style.sorting``): by author, then year, then title;
* a pybtex formatting style (``pybtex.style.formatting``): pybtex's "plain" entries
  with the two styles above, and with math (``$...$``) in any field rendered as math
  (a docutils math node on the site, ``$...$`` in LaTeX);
* a sphinxcontrib-bibtex referencing style (``sphinxcontrib.bibtex.style.referencing``):
  ``{cite:p}`` writes the label, ``[Kingma and Ba, 2015]``; ``{cite:t}`` writes
  ``Kingma and Ba [2015]``. Both are cut from the list's label, so they cannot differ.

_config.yml selects them with ``bibtex_default_style`` and ``bibtex_reference_style``.
"""

import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, List

import docutils.nodes
import pybtex.plugin
import pybtex_docutils
import sphinxcontrib.bibtex.plugin
from pybtex.backends import html as html_backend
from pybtex.backends import latex as latex_backend
from pybtex.backends import markdown as markdown_backend
from pybtex.database import Entry
from pybtex.richtext import BaseMultipartText, String, Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import join, node
from sphinxcontrib.bibtex.style.referencing import (
    BaseReferenceStyle,
    BracketStyle,
    GroupReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import (
    ExtraAuthorReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.template import join2, post_text, pre_text, reference

NAME = "book_author_year"

# Math in a field: $...$ (a "\$" is a literal dollar sign, not a delimiter).
MATH_RE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
# While pybtex formats an entry, each piece of math waits behind a protected
# placeholder, so that neither the LaTeX decoder nor sentence case can touch it.
PLACEHOLDER = "bibstylemath{}x"
PLACEHOLDER_RE = re.compile(r"bibstylemath(\d+)x")


# --------------------------------------------------------------------------- math
class Math(String):
    """A piece of inline math in a formatted entry; its value is the LaTeX source."""

    def __repr__(self):
        return f"Math({self.value!r})"

    def _typeinfo(self):
        return None, ()  # never merged with its neighbours

    def split(self, sep=None, keep_empty_parts=None):
        return [self]

    def lower(self):
        return self

    def upper(self):
        return self

    def capfirst(self):
        return self

    def capitalize(self):
        return self

    def render(self, backend):
        if isinstance(backend, pybtex_docutils.Backend):  # the Sphinx site and PDF
            return [docutils.nodes.math(self.value, self.value)]
        if isinstance(backend, (latex_backend.Backend, markdown_backend.Backend)):
            return f"${self.value}$"
        if isinstance(backend, html_backend.Backend):
            return f'<span class="math">\\({self.value}\\)</span>'
        return self.value  # plain text (tooltips): the TeX source without dollars


def _stash_math(value: str, maths: List[str]) -> str:
    def stash(match):
        maths.append(match.group(1))
        return "{" + PLACEHOLDER.format(len(maths) - 1) + "}"

    return MATH_RE.sub(stash, value)


def _restore_math(text, maths: List[str]):
    """Replace the placeholders in formatted rich text by Math parts."""
    if isinstance(text, String):
        pieces = PLACEHOLDER_RE.split(text.value)
        if len(pieces) == 1:
            return text
        parts = [
            Math(maths[int(piece)]) if odd else String(piece)
            for odd, piece in ((i % 2, p) for i, p in enumerate(pieces))
            if odd or piece
        ]
        return Text(*parts)
    if isinstance(text, BaseMultipartText):
        return text._create_similar([_restore_math(p, maths) for p in text.parts])
    return text


# ------------------------------------------------------------------ names and labels
def _plain(latex: str) -> str:
    """LaTeX source of a name or title as plain Unicode text (accents decoded)."""
    return str(Text.from_latex(latex))


def _people(entry: Entry):
    for role in ("author", "editor"):
        if entry.persons.get(role):
            return entry.persons[role]
    raise ValueError(
        f"bibliography entry {entry.key!r} has neither author nor editor; "
        "the book's author-year style needs one of them"
    )


def _is_others(person) -> bool:
    return [str(n) for n in person.last_names] == ["others"]


def surname(person) -> str:
    """Family name as printed: "Dollár", "van der Maaten"."""
    return _plain(" ".join(person.prelast_names + person.last_names))


def author_part(entry: Entry) -> str:
    """'Kingma', 'Kingma and Ba' or 'Goyal et al.'."""
    people = _people(entry)
    named = [p for p in people if not _is_others(p)]
    if not named:
        raise ValueError(f"bibliography entry {entry.key!r} names no author")
    if len(people) == 1:
        return surname(named[0])
    if len(people) == 2 and len(named) == 2:
        return f"{surname(named[0])} and {surname(named[1])}"
    return f"{surname(named[0])} et al."


def year_part(entry: Entry) -> str:
    return _plain(entry.fields.get("year", "")).strip() or "n.d."


def split_label(label: str):
    """('Goyal et al.', '2017') from 'Goyal et al., 2017'."""
    authors, sep, year = label.rpartition(", ")
    if not sep:
        raise ValueError(f"not an author-year label: {label!r}")
    return authors, year


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels 'Author, year', with a, b, ... when authors and year repeat."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        bases = [(author_part(e), year_part(e)) for e in entries]
        counts = Counter(bases)
        used = Counter()
        for base in bases:
            suffix = ""
            if counts[base] > 1:
                if used[base] >= len(string.ascii_lowercase):
                    raise ValueError(f"more than 26 works labelled {base}")
                suffix = string.ascii_lowercase[used[base]]
                used[base] += 1
            yield f"{base[0]}, {base[1]}{suffix}"


def _fold(text: str) -> str:
    """Sort key of a name or title: no accents, lower case."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class AuthorYearSortingStyle(BaseSortingStyle):
    """By the author part of the label, then year, then all family names and title.

    So the list reads like its labels: "Smith, 2017", "Smith, 2018", "Smith and
    Topin, 2017", "Smith et al., 2016"; works with equal labels keep the order of
    their a/b suffixes.
    """

    def sorting_key(self, entry):
        names = tuple(_fold(surname(p)) for p in _people(entry))
        title = _fold(_plain(entry.fields.get("title", "")))
        return _fold(author_part(entry)), year_part(entry), names, title


# ----------------------------------------------------------------- entries in the list
class BookStyle(PlainStyle):
    """pybtex's plain entries, author-year labels and order, math in any field."""

    default_label_style = NAME
    default_sorting_style = NAME

    def format_entry(self, label, entry, bib_data=None):
        maths: List[str] = []
        fields = {k: _stash_math(v, maths) for k, v in entry.fields.items()}
        if maths:
            copy = Entry(entry.type, fields=fields, persons=entry.persons)
            copy.key = entry.key
            formatted = super().format_entry(label, copy, bib_data=bib_data)
            formatted.text = _restore_math(formatted.text, maths)
            return formatted
        return super().format_entry(label, entry, bib_data=bib_data)


# ------------------------------------------------------------------ citations in text
@node
def label_authors(children, data):
    """The author part of the cited entry's label."""
    assert not children
    return Text(split_label(data["formatted_entry"].label)[0])


@node
def label_year(children, data):
    """The year part (with its a/b suffix) of the cited entry's label."""
    assert not children
    return Text(split_label(data["formatted_entry"].label)[1])


@dataclass
class LabelParenthetical(BaseReferenceStyle):
    """{cite:p}: [Kingma and Ba, 2015; Goyal et al., 2017]."""

    bracket: BracketStyle = field(default_factory=BracketStyle)

    def role_names(self) -> Iterable[str]:
        return [f"{alt}p{full}" for alt in ("", "al") for full in ("", "s")]

    def outer(self, role_name, children):
        return self.bracket.outer(children, brackets="al" not in role_name)

    def inner(self, role_name):
        return join2(sep1=" ", sep2=", ")[
            pre_text, reference[join[label_authors, ", ", label_year]], post_text
        ]


@dataclass
class LabelTextual(BaseReferenceStyle):
    """{cite:t}: Kingma and Ba [2015]; the year links to the list entry."""

    bracket: BracketStyle = field(default_factory=BracketStyle)

    def role_names(self) -> Iterable[str]:
        return [f"{cap}t{full}" for cap in ("", "c") for full in ("", "s")]

    def outer(self, role_name, children):
        return self.bracket.outer(children, brackets=False, capfirst="c" in role_name)

    def inner(self, role_name):
        return join(sep=" ")[
            label_authors,
            join[
                self.bracket.left,
                join2(sep1=" ", sep2=", ")[pre_text, reference[label_year], post_text],
                self.bracket.right,
            ],
        ]


@dataclass
class LabelYear(BaseReferenceStyle):
    """{cite:year}: 2017a, as in the label."""

    bracket: BracketStyle = field(default_factory=BracketStyle)

    def role_names(self) -> Iterable[str]:
        return ["year", "yearpar"]

    def outer(self, role_name, children):
        return self.bracket.outer(children, brackets="par" in role_name)

    def inner(self, role_name):
        return reference[label_year]


@dataclass
class BookReferenceStyle(GroupReferenceStyle):
    """The book's in-text citations, cut from the list's labels."""

    def __post_init__(self):
        # Between works in one parenthetical citation: "; " (labels hold commas).
        self.styles.extend(
            [
                LabelParenthetical(bracket=BracketStyle(sep="; ")),
                LabelTextual(),
                ExtraAuthorReferenceStyle(),
                ExtraLabelReferenceStyle(),
                LabelYear(),
                ExtraEmptyReferenceStyle(),
            ]
        )
        super().__post_init__()


def register():
    """Register the pybtex plugins (enough to format entries without Sphinx)."""
    for group, klass in (
        ("pybtex.style.labels", AuthorYearLabelStyle),
        ("pybtex.style.sorting", AuthorYearSortingStyle),
        ("pybtex.style.formatting", BookStyle),
    ):
        pybtex.plugin.register_plugin(group, NAME, klass, force=True)


def _load_mathjax_for_bibliographies(app, doctree):
    """Math in an entry appears only when the bibliography is expanded, after the
    math domain has looked for equations; mark pages with a bibliography as pages
    with math, so that the HTML builder adds MathJax to them."""
    from sphinxcontrib.bibtex.nodes import bibliography

    if any(doctree.findall(bibliography)):
        app.env.get_domain("math").data["has_equations"][app.env.docname] = True


def setup(app):
    register()
    app.connect("doctree-read", _load_mathjax_for_bibliographies)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", NAME, BookReferenceStyle, force=True
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
