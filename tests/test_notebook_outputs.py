"""Every committed chapter is clean: executed top to bottom, no errors, nothing private in it.

For each notebook under book/ (read as JSON, nothing is executed):

* every code cell with source has an execution count, and the counts run 1, 2, 3, ... in order
  (a fresh "restart and run all", as nbconvert --execute leaves it);
* no output is an error;
* no output text (streams, and every ``text/*`` or JSON field of rich outputs; images are skipped)
  and no metadata (the notebook's and each cell's) holds an absolute machine path (``/work/...``,
  ``/home/...``, ``/root/...``, ``/tmp/...``, ``C:\\Users\\...``, site-packages, ...), the name of
  the user or of the machine running the tests, an e-mail address, or something shaped like an
  access token or a private key.

The scanners are tested on made-up cells at the end of this file, so that each check is seen to fail.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import re
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# An absolute path starts a "word": not after a letter, digit, dot, colon or slash, so that URLs
# (https://host/home/...) and relative paths (book/tmp/...) do not count.
_START = r"(?<![\w.:/~-])"
PATH_PATTERNS = [
    _START + r"/(?:work|home|root|tmp|Users|mnt|opt|srv|var/folders|private/var)/\S*",
    _START + r"/usr/(?:local/)?lib/\S*",
    r"(?<![\w])[A-Za-z]:\\(?:Users|Documents and Settings|ProgramData|Windows)\\\S*",
    r"(?<!\S)\S*(?:site-packages|dist-packages)\S*",  # from a word's start only: linear time
    r"(?<![\w])~/\S+",
    r"file://\S+",
]
SECRET_PATTERNS = [
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{30,}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",
    r"\bsk-[A-Za-z0-9_-]{20,}",
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bAIza[0-9A-Za-z_-]{35}\b",
    r"\bpypi-[A-Za-z0-9_-]{50,}",
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"[?&]token=[0-9a-fA-F]{24,}",
    r"(?i)\b(?:api[_-]?key|secret|password|passwd|auth[_-]?token)\s*[=:]\s*['\"]?[^\s'\"]{8,}",
    r"\b[\w.+-]+@[\w-]+\.[\w.-]*[A-Za-z]{2,}\b",  # an e-mail address
]


GENERIC_NAMES = {"root", "user", "admin", "localhost", "runner", "ubuntu", "debian", "main", "work"}


def identity_patterns(names) -> list[str]:
    """Whole-word patterns for user or machine names specific enough to search for."""
    keep = sorted({n for n in names if n and len(n) >= 4 and n.lower() not in GENERIC_NAMES})
    return [rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in keep]


def _this_machine() -> list[str]:
    """The user and the machine running the tests."""
    names = []
    with contextlib.suppress(Exception):
        names.append(getpass.getuser())
    with contextlib.suppress(Exception):
        names.append(socket.gethostname().split(".")[0])
    return names


PATTERNS = [
    re.compile(p) for p in PATH_PATTERNS + SECRET_PATTERNS + identity_patterns(_this_machine())
]


# Images embedded in HTML (an animation's frames, whose '/' optlab.plot stores as '!'): base64,
# not text a reader sees, and long runs without whitespace that would only slow the patterns.
DATA_URI = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\\\n!-]+")


def find_private(text: str) -> list[str]:
    """Every piece of ``text`` that looks like a machine path, an identity or a secret."""
    text = DATA_URI.sub("data:image;base64,...", text)
    hits = []
    for pattern in PATTERNS:
        hits += [m.group(0)[:80] for m in pattern.finditer(text)]
    return hits


def _as_text(value) -> str:
    if isinstance(value, list):  # nbformat stores multi-line strings as lists of lines
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def output_texts(output: dict) -> list[tuple[str, str]]:
    """(field, text) of one output, for every field a reader can see as text; images are left out."""
    kind = output.get("output_type")
    if kind == "stream":
        return [(f"stream {output.get('name', '')}", _as_text(output.get("text", "")))]
    if kind == "error":
        lines = [output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", [])
        return [("error", "\n".join(lines))]
    texts = []
    for mime, value in (output.get("data") or {}).items():
        if mime.startswith("text/") or mime.endswith("json") or mime.endswith("+json"):
            texts.append((mime, _as_text(value)))
    if output.get("metadata"):
        texts.append(("output metadata", json.dumps(output["metadata"])))
    return texts


def problems_of(nb: dict) -> list[str]:
    """Everything wrong with one notebook (as loaded from JSON), each naming its cell."""
    problems = []
    for hit in find_private(json.dumps(nb.get("metadata", {}))):
        problems.append(f"notebook metadata: {hit!r}")
    expected_count = 1
    for index, cell in enumerate(nb.get("cells", [])):
        where = f"cell {index}" + (f" (id {cell['id']})" if cell.get("id") else "")
        for hit in find_private(json.dumps(cell.get("metadata", {}))):
            problems.append(f"{where} metadata: {hit!r}")
        if cell.get("cell_type") != "code":
            continue
        if _as_text(cell.get("source", "")).strip():
            count = cell.get("execution_count")
            if count is None:
                problems.append(f"{where}: not executed (execution_count is null)")
            elif count != expected_count:
                problems.append(
                    f"{where}: execution_count {count}, expected {expected_count}: "
                    "re-execute the whole notebook from a fresh kernel"
                )
            if count is not None:
                expected_count = count + 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                ename, evalue = output.get("ename", ""), output.get("evalue", "")[:120]
                problems.append(f"{where}: error output {ename}: {evalue}")
            for field, text in output_texts(output):
                for hit in find_private(text):
                    problems.append(f"{where} output ({field}): {hit!r}")
    return problems


NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebook found under {BOOK}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(BOOK).as_posix() for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = problems_of(nb)
    rel = path.relative_to(ROOT).as_posix()
    assert not problems, f"{rel}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


# --- the scanners themselves, on made-up cells -----------------------------------------------


def _code(source="x = 1", count=1, outputs=(), metadata=None):
    return {"cell_type": "code", "id": f"c{count}", "source": source, "execution_count": count,
            "metadata": metadata or {}, "outputs": list(outputs)}


def _stream(text):
    return {"output_type": "stream", "name": "stderr", "text": text}


CLEAN_NB = {
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {"cell_type": "markdown", "id": "m", "metadata": {},
         "source": "See https://example.org/home/page and book/tmp/x."},
        _code(outputs=[_stream("loss 0.1234 after 10 steps\n"),
                       {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                        "data": {"text/plain": "tensor([1., 2.])",
                                 "image/png": "iVBORw0KGgo/home/xx"}}]),
        _code("", count=None),  # an empty cell need not run
        _code("y = 2", count=2,
              metadata={"tags": ["hide-input"], "mystnb": {"figure": {"name": "fig-x"}}}),
    ],
}


def test_scanner_passes_a_clean_notebook():
    assert problems_of(CLEAN_NB) == []


@pytest.mark.parametrize(
    "text",
    [
        "/work/main/optlib/adam.py:12: UserWarning: careful",
        'File "/home/alice/project/run.py", line 3',
        "saved to /root/.cache/x.pt",
        "(/tmp/tmpab12cd/data.npz)",
        r"C:\Users\alice\data.csv",
        "/usr/lib/python3.11/warnings.py:109",
        ".venv/lib/python3.11/site-packages/torch/optim/adam.py:88",
        "see ~/notes/x.txt",
        "open file:///srv/book/index.html",
        "token ghp_" + "a1B2" * 9,
        "key sk-" + "Z9y8" * 6,
        "password = 'hunter2hunter2'",
        "http://127.0.0.1:8888/lab?token=" + "ab12" * 8,
        "mail alice@example.com",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
    ],
)
def test_scanner_finds_private_text(text):
    nb = {"metadata": {}, "cells": [_code(outputs=[_stream(text)])]}
    problems = problems_of(nb)
    assert problems, text
    assert problems[0].startswith("cell 0 (id c1) output (stream stderr)"), problems


def test_scanner_checks_rich_outputs_and_metadata():
    nb = {
        "metadata": {"interpreter": "/home/alice/.venv/bin/python"},
        "cells": [
            _code(count=1, outputs=[{"output_type": "display_data", "metadata": {},
                                     "data": {"text/html": "<pre>/work/main/x</pre>"}}]),
            _code(count=2, metadata={"cwd": "/tmp/run"}),
        ],
    }
    problems = problems_of(nb)
    assert any(p.startswith("notebook metadata") for p in problems), problems
    assert any(p.startswith("cell 0 (id c1) output (text/html)") for p in problems), problems
    assert any(p.startswith("cell 1 (id c2) metadata") for p in problems), problems


def test_scanner_finds_unexecuted_cells_errors_and_out_of_order_runs():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad lr", "traceback": []}
    cells = [_code(count=None), _code(count=1, outputs=[error]), _code(count=5)]
    nb = {"metadata": {}, "cells": cells}
    problems = "\n".join(problems_of(nb))
    assert "cell 0 (id cNone): not executed" in problems
    assert "cell 1 (id c1): error output ValueError: bad lr" in problems
    assert "cell 2 (id c5): execution_count 5, expected 2" in problems


def test_identity_patterns_skip_generic_names():
    patterns = [re.compile(p) for p in identity_patterns(["alice-laptop", "root", "bob", "jovyan"])]
    assert len(patterns) == 2  # "root" (generic) and "bob" (too short to search safely) are skipped
    assert any(p.search("ran on alice-laptop today") for p in patterns)
    assert any(p.search("user jovyan") for p in patterns)
    assert not any(p.search("alice-laptops and jovyans") for p in patterns)


def test_embedded_images_are_skipped_but_text_around_them_is_scanned():
    frame = "data:image/jpeg;base64," + "QUJD/home/x!sk!" * 5000 + "=="
    assert find_private(f'<img src="{frame}">') == []
    hits = find_private(f'<img src="{frame}"> saved to /home/alice/run.log')
    assert hits == ["/home/alice/run.log"]
