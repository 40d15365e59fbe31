"""Check the book's PDF that `make pdf` builds, with the LaTeX source and log behind it.

    python scripts/check_pdf.py PDF --tex BOOK.tex --log BOOK.log [--root .]

The PDF's text (from poppler's pdftotext) must hold
  (a) exactly one caption "Fig. N.M:" (or "Figure N.M:") per figure of chapter N, i.e.
      per notebook cell whose metadata has mystnb.figure and per {figure} directive,
      numbered 1..k in every numbered chapter;
  (b) no "??" (an unresolved reference) and no toggle text of the html site;
  (c) the title of every file of _toc.yml (its first "# " heading);
  (d) a bibliography.
The LaTeX source must have a \\bibitem for every citation it links to, and the LaTeX log
must have no "Missing character" and no undefined reference or citation.
Prints one line per problem and exits 1 when there is any; prints a one-line summary
and exits 0 otherwise. Exit 2: bad arguments or an unreadable input.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

# Text that only makes sense on the html site (myst-nb, sphinx-togglebutton, the theme).
TOGGLE_TEXT = (
    "Show code cell",
    "Hide code cell",
    "Click to show",
    "Click to hide",
    "Toggle hidden content",
    "Show solution",
    "Hide solution",
)

CAPTION = re.compile(r"^[ \t]*(?:Fig\.|Figure)[ \t]+(\d+)\.(\d+):", re.MULTILINE)
FIGURE_DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{figure\}", re.MULTILINE)
HEADING = re.compile(r"^#[ \t]+(.+?)[ \t]*$", re.MULTILINE)
BIB_HEADING = re.compile(r"^[ \t]*Bibliography[ \t]*$", re.MULTILINE)
BIBITEM = re.compile(r"\\bibitem(?:\[[^\]]*\])?\{([^}]*)\}")
CITE_LINK = re.compile(r"\\hyperlink\{cite\.([^}]*)\}")
# Lines of the LaTeX log that are problems: characters the fonts lack, references and
# citations left undefined, and references not yet settled.
LOG_PROBLEMS = tuple(re.compile(pattern, re.MULTILINE) for pattern in (
    r"^(Missing character: .*)$",
    r"^(LaTeX Warning: Reference .*? undefined.*)$",
    r"^(LaTeX Warning: Citation .*? undefined.*)$",
    r"^(LaTeX Warning: There were undefined .*)$",
    r"^(LaTeX Warning: Label\(s\) may have changed.*)$",
))


def normalise(text):
    """Text with typographic quotes and dashes made plain and whitespace collapsed."""
    pairs = (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("—", "-"), ("–", "-"),
             ("‐", "-"), ("\u00ad", ""))
    for fancy, plain in pairs:
        text = text.replace(fancy, plain)
    text = text.replace("--", "-")
    return " ".join(text.split())


def _source_text(path):
    """The markdown of a chapter file (.md or .ipynb) and its number of figures."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return raw, len(FIGURE_DIRECTIVE.findall(raw))
    try:
        cells = json.loads(raw)["cells"]
    except (ValueError, KeyError) as err:
        raise ValueError(f"{path}: not a notebook ({err})") from err
    markdown, figures = [], 0
    for cell in cells:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            markdown.append(source)
            figures += len(FIGURE_DIRECTIVE.findall(source))
        elif "figure" in (cell.get("metadata", {}).get("mystnb") or {}):
            figures += 1
    return "\n\n".join(markdown), figures


def _chapter_file(root, entry):
    stem = root / entry
    for candidate in (stem, stem.with_suffix(".ipynb"), stem.with_suffix(".md")):
        if candidate.is_file():
            return candidate
    raise ValueError(f"_toc.yml names '{entry}', but there is no {entry}.ipynb "
                     f"or {entry}.md")


def book_outline(root):
    """Chapter titles, in _toc.yml order, and {chapter number: figure count}.

    Chapters of parts marked `numbered: true` are numbered 1, 2, ... across parts, as
    the LaTeX build numbers them; the root file and other chapters get no number.
    """
    toc_path = root / "_toc.yml"
    try:
        toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{toc_path}: cannot read ({err})") from err
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError(f"{toc_path}: expected a mapping with a 'root' entry")
    titles, figures, number = [], {}, 0
    entries = [(toc["root"], False)]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        for chapter in part.get("chapters", []):
            entries.append((chapter["file"], bool(part.get("numbered", False))))
    for entry, numbered in entries:
        text, count = _source_text(_chapter_file(root, entry))
        heading = HEADING.search(text)
        if heading is None:
            raise ValueError(f"{entry}: no '# ' title heading")
        titles.append(heading.group(1))
        if numbered:
            number += 1
            figures[number] = count
    return titles, figures


def caption_problems(pdf_text, figures):
    """(a): one caption per figure, numbered 1..k in chapter N, and no others."""
    found = Counter((int(n), int(m)) for n, m in CAPTION.findall(pdf_text))
    problems = []
    for chapter, count in sorted(figures.items()):
        for m in range(1, count + 1):
            seen = found.pop((chapter, m), 0)
            if seen != 1:
                problems.append(f"caption Fig. {chapter}.{m}: found {seen} times, "
                                "expected 1")
    for (chapter, m), seen in sorted(found.items()):
        expected = figures.get(chapter, 0)
        problems.append(f"caption Fig. {chapter}.{m}: found {seen} times, but chapter "
                        f"{chapter} has {expected} figure(s)")
    return problems


def text_problems(pdf_text):
    """(b): no unresolved reference ("??") and no html toggle text."""
    problems = []
    for number, line in enumerate(pdf_text.splitlines(), 1):
        if "??" in line:
            problems.append(f"'??' (unresolved reference?) on text line {number}: "
                            f"{line.strip()[:80]}")
    flat = normalise(pdf_text)
    for phrase in TOGGLE_TEXT:
        if phrase.lower() in flat.lower():
            problems.append(f"toggle text of the html site in the PDF: '{phrase}'")
    return problems


def title_problems(pdf_text, titles):
    """(c): the title of every file of _toc.yml is in the PDF."""
    flat = normalise(pdf_text)
    return [f"chapter title missing: '{title}'" for title in titles
            if normalise(title.replace("`", "").replace("*", "")) not in flat]


def bibliography_problems(pdf_text, tex_text):
    """(d): a bibliography in the PDF, and an entry for each citation in the LaTeX."""
    problems = []
    if not BIB_HEADING.search(pdf_text):
        problems.append("no 'Bibliography' heading in the PDF")
    items = set(BIBITEM.findall(tex_text))
    if not items:
        problems.append("the LaTeX source has no bibliography entries (\\bibitem)")
    for target in sorted(set(CITE_LINK.findall(tex_text)) - items):
        problems.append(f"citation '{target}' has no bibliography entry")
    return problems


def log_problems(log_text):
    """No missing character and no undefined reference or citation in the LaTeX log."""
    problems = []
    for pattern in LOG_PROBLEMS:
        for found in dict.fromkeys(pattern.findall(log_text)):
            problems.append(f"LaTeX log: {found.strip()}")
    return problems


def pdf_to_text(pdf):
    if shutil.which("pdftotext") is None:
        raise ValueError("pdftotext is missing (Debian: poppler-utils; "
                         "scripts/ensure_tex.sh installs it)")
    run = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise ValueError(f"{pdf}: pdftotext failed: {run.stderr.strip()}")
    return run.stdout


def _read(path, what):
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ValueError(f"--{what} {path}: cannot read ({err.strerror})") from err


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", help="the book's PDF")
    parser.add_argument("--tex", required=True, help="the LaTeX source of the PDF")
    parser.add_argument("--log", required=True, help="the LaTeX log of the last run")
    parser.add_argument("--root", default=".", help="the book's folder, with _toc.yml")
    args = parser.parse_args(argv)
    try:
        if not Path(args.pdf).is_file():
            raise ValueError(f"PDF {args.pdf}: no such file")
        titles, figures = book_outline(Path(args.root))
        tex_text, log_text = _read(args.tex, "tex"), _read(args.log, "log")
        pdf_text = pdf_to_text(args.pdf)
    except ValueError as err:
        print(f"check_pdf: {err}", file=sys.stderr)
        return 2
    problems = (caption_problems(pdf_text, figures) + text_problems(pdf_text)
                + title_problems(pdf_text, titles)
                + bibliography_problems(pdf_text, tex_text) + log_problems(log_text))
    for problem in problems:
        print(f"check_pdf: {problem}")
    if problems:
        return 1
    print(f"check_pdf: {args.pdf}: {sum(figures.values())} figure captions, "
          f"{len(titles)} titles, {len(set(BIBITEM.findall(tex_text)))} bibliography "
          "entries, clean LaTeX log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
