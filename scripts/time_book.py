"""Time the book against its budgets: every chapter's execution, and optionally `make test` and the
site build.

    .venv/bin/python scripts/time_book.py          # execute every notebook under book/, print times
    .venv/bin/python scripts/time_book.py --all    # also the test suite and the site build
    .venv/bin/python scripts/time_book.py --all --pytest-args="-n 2 --dist loadfile"  # 2 workers

(With pytest-xdist, ``--dist loadfile`` keeps each notebook on one worker: nbval runs a notebook's
cells in one kernel, in order; the default distribution splits them and the cells fail.)

Each notebook is executed with nbclient in a fresh ``python3`` kernel, from its own folder (as nbval
and the book do); nothing is written back. ``--all`` then runs what ``make test`` runs
(``python -m pytest`` in this environment; make itself is not called, so that it cannot decide to
reinstall ``.venv``) and what ``make book`` runs, into a temporary folder instead of ``_build``.
Budgets (on 2 cores): a chapter 30 s, the tests 4 min, the site build 60 s. The exit status is 1 when
a measurement is over its budget or a step fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_CHAPTER, BUDGET_TESTS, BUDGET_SITE = 30.0, 240.0, 60.0


def execute_notebook(path: Path, timeout: int) -> float:
    """Run every cell of ``path`` in a fresh python3 kernel; return the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run_command(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run ``cmd``; return its wall time, exit status and the last lines of its output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    return elapsed, proc.returncode, tail


def line(name: str, seconds: float, budget: float, ok: bool = True) -> str:
    verdict = "ok" if ok and seconds <= budget else ("FAILED" if not ok else "OVER BUDGET")
    return f"{name:<48} {seconds:7.1f} s   budget {budget:5.0f} s   {verdict}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="also time the test suite and the site build")
    ap.add_argument("--pytest-args", default="",
                    help="extra arguments for the test run, e.g. '-n 2 --dist loadfile'")
    ap.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    ap.add_argument("notebooks", nargs="*", type=Path,
                    help="notebooks to time (default: every *.ipynb under book/)")
    args = ap.parse_args(argv)

    notebooks = args.notebooks or sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                                         if ".ipynb_checkpoints" not in p.parts)
    print(f"# {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(1, 5, 15 min)", flush=True)
    failures = 0
    total = 0.0
    for nb in notebooks:
        name = str(nb.resolve().relative_to(ROOT))
        try:
            seconds = execute_notebook(nb.resolve(), args.timeout)
            ok = True
        except Exception as exc:  # noqa: BLE001  (a failing cell: report it, time the others)
            seconds, ok = float("nan"), False
            print(f"# {name}: {type(exc).__name__}: {str(exc).strip().splitlines()[-1:]}")
        total += seconds if ok else 0.0
        failures += (not ok) or seconds > BUDGET_CHAPTER
        print(line(name, seconds, BUDGET_CHAPTER, ok), flush=True)
    print(f"{'all chapters, one after the other':<48} {total:7.1f} s")

    if args.all:
        py = sys.executable
        extra = args.pytest_args.split()
        seconds, code, tail = run_command([py, "-m", "pytest", "-q", *extra], ROOT)
        failures += code != 0 or seconds > BUDGET_TESTS
        print(line(f"make test (python -m pytest {' '.join(extra)})".replace(" )", ")"), seconds,
                   BUDGET_TESTS, code == 0))
        print("   " + tail.replace("\n", "\n   "), flush=True)
        with tempfile.TemporaryDirectory(prefix="time_book_") as out:
            jb = str(Path(py).with_name("jupyter-book"))
            seconds, code, tail = run_command(
                [jb, "build", ".", "--builder", "html", "-W", "-n", "--keep-going",
                 "--path-output", out], ROOT)
        failures += code != 0 or seconds > BUDGET_SITE
        print(line("site build (jupyter-book build, -W -n)", seconds, BUDGET_SITE, code == 0))
        print("   " + tail.replace("\n", "\n   "), flush=True)
    print(f"# load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
