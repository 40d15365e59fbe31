"""optlib needs torch alone, and never imports optlab; optlab holds the book's helpers.

Read from the source with ``ast`` (an import inside a function counts too), so a helper
that drags matplotlib or scikit-learn back into optlib fails here, whatever the tests
happen to import first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"torch", "optlib"}
HELPERS = ("book", "data", "plot", "sharpness", "surfaces")


def top_level_imports(path: Path) -> set[str]:
    """The top-level names of every absolute import in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def outside(path: Path) -> set[str]:
    return {
        n
        for n in top_level_imports(path)
        if n not in ALLOWED and n not in sys.stdlib_module_names and n != "__future__"
    }


@pytest.mark.parametrize(
    "path", sorted((ROOT / "optlib").rglob("*.py")), ids=lambda p: p.name
)
def test_optlib_imports_only_torch_and_the_standard_library(path):
    assert outside(path) == set(), f"{path.name} imports {sorted(outside(path))}"


def test_the_check_sees_a_third_party_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\n\ndef f():\n    from optlab import plot\n"
                   "    import numpy as np\n")
    assert outside(bad) == {"numpy", "optlab"}


@pytest.mark.parametrize("name", HELPERS)
def test_the_chapters_helpers_live_in_optlab(name):
    assert (ROOT / "optlab" / f"{name}.py").is_file()
    assert not (ROOT / "optlib" / f"{name}.py").exists()


def test_importing_optlib_loads_no_plotting_or_data_library():
    code = (
        "import sys, optlib\n"
        "print(sorted(m for m in ('matplotlib', 'sklearn', 'optlab', 'scipy', "
        "'optuna') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "[]"
