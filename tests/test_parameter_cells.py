"""One parameter cell near the top of every chapter (issue 17, item 2).

A student changes a chapter's rates, betas, seeds or steps in one place and re-runs the
notebook. The rule, checked on the committed JSON of each chapter under ``book/part*``:

* exactly one code cell is tagged ``parameters``, and it is the second code cell (the
  first one imports and sets up), shown on the page;
* it only assigns literal values (numbers, strings, tuples, lists, dicts of them), so
  editing it cannot break anything else in it;
* each name it sets is read by a later code cell, and no later cell sets it again at
  the top level (an edit there would be silently overwritten).

The rule also runs on made-up notebooks at the end, to show that it can fail.
"""

from __future__ import annotations

import ast

import pytest

from test_notebook_style import NOTEBOOKS, code_cells, load, name, source_lines, tags

CHAPTERS = [p for p in NOTEBOOKS if p.parent.name.startswith("part")]
TAG = "parameters"
REMOVED = {"remove-cell", "remove-input"}


def text(cell: dict) -> str:
    return "\n".join(source_lines(cell))


def target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in target_names(elt)]
    return []


def top_level_bound(source: str) -> set[str]:
    """Names a cell binds at its top level (assignment, augmented assignment, for)."""
    bound = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            bound.update(n for t in node.targets for n in target_names(t))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            bound.update(target_names(node.target))
    return bound


def names_read(source: str) -> set[str]:
    return {
        node.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def parameter_problems(nb: dict) -> list[str]:
    """Everything that breaks the rule in one notebook; [] when it holds."""
    cells = [c for _, c in code_cells(nb)]
    marked = [i for i, c in enumerate(cells) if TAG in tags(c)]
    if len(marked) != 1:
        return [f"{len(marked)} code cells tagged {TAG!r}, expected 1"]
    index = marked[0]
    cell = cells[index]
    problems = []
    if index != 1:
        problems.append(f"the parameter cell is code cell {index}, expected 1")
    if tags(cell) & REMOVED:
        problems.append("the parameter cell is removed from the page")
    names = []
    for node in ast.parse(text(cell)).body:
        if not isinstance(node, ast.Assign):
            problems.append(f"not an assignment: {ast.unparse(node)}")
            continue
        try:
            ast.literal_eval(node.value)
        except ValueError:
            problems.append(f"not a literal value: {ast.unparse(node)}")
        names += [n for t in node.targets for n in target_names(t)]
    later = [text(c) for c in cells[index + 1:]]
    read = set().union(*(names_read(s) for s in later)) if later else set()
    rebound = set().union(*(top_level_bound(s) for s in later)) if later else set()
    problems += [f"{n} is never used after the parameter cell" for n in names
                 if n not in read]
    problems += [f"{n} is set again in a later cell" for n in names if n in rebound]
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=name)
def test_chapter_has_one_parameter_cell(path):
    assert parameter_problems(load(path)) == []


def test_every_part_has_chapters():
    assert {p.parent.name for p in CHAPTERS} == {"part1", "part2", "part3"}


# The rule on made-up notebooks.


def fake(*sources: str, tagged: int = 1, extra_tags=()) -> dict:
    cells = []
    for i, source in enumerate(sources):
        cell_tags = [TAG, *extra_tags] if i == tagged else []
        cells.append({"cell_type": "code", "source": source, "outputs": [],
                      "metadata": {"tags": cell_tags}})
    return {"cells": cells}


SETUP = "import numpy as np"


def test_a_good_parameter_cell_passes():
    nb = fake(SETUP, "ETA, BETAS = 0.1, (0.9, 0.999)\nSEEDS = [0, 1]",
              "print(ETA, BETAS, SEEDS)")
    assert parameter_problems(nb) == []


def test_missing_or_doubled_cells_are_caught():
    assert parameter_problems(fake(SETUP, "ETA = 0.1", "print(ETA)", tagged=9))
    nb = fake(SETUP, "ETA = 0.1", "print(ETA)")
    nb["cells"][2]["metadata"]["tags"] = [TAG]
    assert "2 code cells" in parameter_problems(nb)[0]


def test_a_late_or_removed_parameter_cell_is_caught():
    nb = fake(SETUP, "x = 1", "ETA = 0.1", "print(ETA, x)", tagged=2)
    assert parameter_problems(nb) == ["the parameter cell is code cell 2, expected 1"]
    nb = fake(SETUP, "ETA = 0.1", "print(ETA)", extra_tags=["remove-cell"])
    assert parameter_problems(nb) == ["the parameter cell is removed from the page"]


def test_computed_values_and_statements_are_caught():
    nb = fake(SETUP, "ETA = np.sqrt(2)\nprint(1)", "print(ETA)")
    assert parameter_problems(nb) == ["not a literal value: ETA = np.sqrt(2)",
                                      "not an assignment: print(1)"]


def test_unused_and_overwritten_names_are_caught():
    nb = fake(SETUP, "ETA, STEPS = 0.1, 100", "ETA = 0.2\nprint(ETA)")
    assert parameter_problems(nb) == ["STEPS is never used after the parameter cell",
                                      "ETA is set again in a later cell"]
    nb = fake(SETUP, "STEPS = 100", "for STEPS in range(3):\n    print(STEPS)")
    assert parameter_problems(nb) == ["STEPS is set again in a later cell"]
