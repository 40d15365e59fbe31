"""Code cells a student can read (issue 17, item 2).

Three rules, checked on the committed JSON of every notebook under ``book/`` (nothing
is executed, so the whole file takes about a second):

* no line of a code cell is longer than 88 characters;
* a code cell shown on the page (tagged neither ``remove-cell`` nor ``remove-input``)
  has at most 15 lines: longer helpers belong in an ``optlab`` module, or the cell is
  split;
* a cell whose every output is a ``glue()`` record shows nothing but its source, so it
  is tagged ``remove-cell`` instead of leaving an empty "Show code cell source" toggle.

Each rule also runs on small made-up notebooks at the end of this file, to show that it
can fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)

MAX_LINE = 88
MAX_VISIBLE_LINES = 15
HIDDEN_TAGS = {"remove-cell", "remove-input"}

def code_cells(nb: dict) -> list[tuple[int, dict]]:
    """(index, cell) of every code cell of a notebook."""
    cells = enumerate(nb.get("cells", []))
    return [(i, c) for i, c in cells if c.get("cell_type") == "code"]


def source_lines(cell: dict) -> list[str]:
    """The cell's source as a list of lines, without a trailing empty line."""
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    return text.rstrip("\n").split("\n") if text.strip() else []


def tags(cell: dict) -> set[str]:
    return set((cell.get("metadata") or {}).get("tags", []))


def where(index: int, cell: dict) -> str:
    return f"cell {index} (id {cell.get('id', '?')})"


def long_lines(nb: dict) -> list[str]:
    """Rule 1: every code line longer than MAX_LINE characters."""
    problems = []
    for index, cell in code_cells(nb):
        for number, line in enumerate(source_lines(cell), start=1):
            if len(line) > MAX_LINE:
                problems.append(
                    f"{where(index, cell)}, line {number}: {len(line)} characters"
                )
    return problems


def long_visible_cells(nb: dict) -> dict[str, str]:
    """Rule 2: cell id -> what, for each shown cell over MAX_VISIBLE_LINES lines."""
    found = {}
    for index, cell in code_cells(nb):
        if tags(cell) & HIDDEN_TAGS:
            continue
        n = len(source_lines(cell))
        if n > MAX_VISIBLE_LINES:
            found[cell.get("id", str(index))] = f"{where(index, cell)}: {n} lines shown"
    return found


def is_glue_record(output: dict) -> bool:
    return bool((output.get("metadata") or {}).get("scrapbook"))


def glue_only_cells_shown(nb: dict) -> list[str]:
    """Rule 3: cells that call glue(), show nothing else and are not removed."""
    problems = []
    for index, cell in code_cells(nb):
        if "glue(" not in "\n".join(source_lines(cell)) or "remove-cell" in tags(cell):
            continue
        if all(is_glue_record(o) for o in cell.get("outputs", [])):
            problems.append(f"{where(index, cell)}: only glue output; tag remove-cell")
    return problems


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_code_lines_fit(path):
    assert long_lines(load(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_shown_cells_are_short(path):
    assert list(long_visible_cells(load(path)).values()) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_glue_cells_are_removed(path):
    assert glue_only_cells_shown(load(path)) == []


# The rules on made-up notebooks: each check must see what it is written to catch.

PREFIX = "application/papermill.record/"
GLUE_RECORD = {"output_type": "display_data",
               "data": {PREFIX + "text/plain": "3"},
               "metadata": {"scrapbook": {"name": "x",
                                          "mime_prefix": PREFIX}}}
PRINTED = {"output_type": "stream", "name": "stdout", "text": "3\n"}


def fake(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def cell(source: str, tag_list=(), outputs=(), cell_type="code", cid="c") -> dict:
    return {"cell_type": cell_type, "id": cid, "source": source,
            "metadata": {"tags": list(tag_list)}, "outputs": list(outputs)}


def test_long_line_is_caught():
    line = "y = '" + "a" * MAX_LINE + "'"
    nb = fake(cell("x = 1\n" + line + "\n"))
    assert long_lines(nb) == [f"cell 0 (id c), line 2: {len(line)} characters"]
    assert long_lines(fake(cell("x = '" + "a" * (MAX_LINE - 6) + "'"))) == []


def test_long_line_counts_in_hidden_cells_too():
    nb = fake(cell("#" * (MAX_LINE + 1), tag_list=["remove-cell"]))
    assert len(long_lines(nb)) == 1


def test_markdown_is_not_code():
    nb = fake(cell("word " * 40, cell_type="markdown"))
    assert long_lines(nb) == [] and glue_only_cells_shown(nb) == []


def test_long_shown_cell_is_caught():
    source = "\n".join(f"x{i} = {i}" for i in range(MAX_VISIBLE_LINES + 1))
    assert list(long_visible_cells(fake(cell(source, cid="k")))) == ["k"]
    shown = fake(cell(source, tag_list=["hide-input"]))
    assert list(long_visible_cells(shown)) == ["c"]
    for hidden in HIDDEN_TAGS:
        assert long_visible_cells(fake(cell(source, tag_list=[hidden]))) == {}
    short = "\n".join(source.split("\n")[:MAX_VISIBLE_LINES]) + "\n"
    assert long_visible_cells(fake(cell(short))) == {}


def test_shown_glue_only_cell_is_caught():
    glue_cell = 'glue("x", 3, display=False)'
    for shown in ([], ["hide-input"]):
        nb = fake(cell(glue_cell, tag_list=shown, outputs=[GLUE_RECORD]))
        assert len(glue_only_cells_shown(nb)) == 1
    removed = fake(cell(glue_cell, tag_list=["remove-cell"], outputs=[GLUE_RECORD]))
    assert glue_only_cells_shown(removed) == []
    printing = fake(cell("print(3)\n" + glue_cell, outputs=[PRINTED, GLUE_RECORD]))
    assert glue_only_cells_shown(printing) == []
