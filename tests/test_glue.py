"""Glued values read as plain text of the right type (issue 13, item 7).

myst-nb stores each ``glue(name, value)`` as an output whose metadata holds ``scrapbook`` and whose
``text/plain`` is ``repr(value)``; ``{glue:text}`` shows that repr (a string without its quotes).
For every committed chapter (read as JSON, nothing is executed):

* a whole number is glued as an ``int``: no ``text/plain`` like ``1999.0`` or ``-3.0``;
* no ``text/plain`` is a NumPy repr (``np.float64(0.5)``, ``np.int64(4)``, ...), which the page
  would show verbatim;
* no glued string is itself a quoted repr (``"'0.5'"``), which the page would show with quotes.

The checks are tested on made-up notebooks at the end of this file, so that each is seen to fail.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)

WHOLE_FLOAT = re.compile(r"^-?\d+\.0$")
NUMPY_REPR = re.compile(r"\bnp\.\w+\(|\bnumpy\.\w+\(|\barray\(")


def glued(nb: dict) -> list[tuple[int, str, str]]:
    """(cell index, glue name, text/plain) of every glue output of a notebook."""
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            scrapbook = (output.get("metadata") or {}).get("scrapbook")
            if not scrapbook:
                continue
            data = output.get("data") or {}
            prefix = scrapbook.get("mime_prefix", "")
            text = data.get(prefix + "text/plain", data.get("text/plain"))
            if text is None:
                continue
            text = "".join(text) if isinstance(text, list) else str(text)
            found.append((index, scrapbook.get("name", "?"), text))
    return found


def glue_problems(nb: dict) -> list[str]:
    """Every glued value of ``nb`` that would not read as plain text of the right type."""
    problems = []
    for index, name, text in glued(nb):
        where = f"cell {index}, glue {name!r}"
        if WHOLE_FLOAT.match(text.strip()):
            problems.append(f"{where}: {text} is a whole number stored as a float; "
                            "glue int(value)")
        if NUMPY_REPR.search(text):
            problems.append(f"{where}: {text[:60]} is a NumPy repr; glue float() or int() of it")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] \
                and value[0] in "'\"":
            problems.append(f"{where}: {text[:60]} is a quoted repr; glue the value itself")
    return problems


def test_there_are_notebooks_with_glue():
    assert any(glued(json.loads(p.read_text(encoding="utf-8"))) for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_values_are_plain(path):
    problems = glue_problems(json.loads(path.read_text(encoding="utf-8")))
    rel = path.relative_to(ROOT).as_posix()
    assert not problems, f"{rel}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


# --- the checks themselves, on made-up notebooks -----------------------------------------------


def _glue_output(name: str, text: str, prefixed: bool = True) -> dict:
    prefix = "application/papermill.record/" if prefixed else ""
    return {"output_type": "display_data", "data": {prefix + "text/plain": text},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}}}


def _notebook(*outputs: dict) -> dict:
    plain = {"output_type": "stream", "name": "stdout", "text": "1999.0\n"}  # not glue
    return {"metadata": {}, "cells": [
        {"cell_type": "code", "source": "glue(...)", "execution_count": 1, "metadata": {},
         "outputs": [plain, *outputs]}]}


def test_clean_glue_passes():
    nb = _notebook(_glue_output("n", "1999"), _glue_output("x", "0.4363"),
                   _glue_output("tiny", "'1e-12'"), _glue_output("grid", "'{0.01, 0.1}'"),
                   _glue_output("big", "202800000000"), _glue_output("neg", "-3"),
                   _glue_output("f", "1.05", prefixed=False))
    assert glue_problems(nb) == []


@pytest.mark.parametrize("text, message", [
    ("1999.0", "whole number stored as a float"),
    ("-3.0", "whole number stored as a float"),
    ("0.0", "whole number stored as a float"),
    ("np.float64(0.5)", "NumPy repr"),
    ("np.int64(4)", "NumPy repr"),
    ("array([1, 2])", "NumPy repr"),
    ("\"'0.5'\"", "quoted repr"),
    ("'\"fast\"'", "quoted repr"),
])
def test_bad_glue_is_reported(text, message):
    for prefixed in (True, False):
        problems = glue_problems(_notebook(_glue_output("bad", text, prefixed)))
        assert problems and message in problems[0], (text, problems)
        assert problems[0].startswith("cell 0, glue 'bad'")
