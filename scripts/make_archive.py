"""Pack the book into one zip a reader can take home.

The archive holds the chapters (with their outputs), optlib, the locked environment and
the Makefile under one top folder, plus a short README written here: unpack it, run
`make lab`, and every chapter runs. `make book` calls this script after the site
build, so the zip lands at the site root next to index.html; `make archive-check`
unpacks it and runs every chapter there.

The zip is deterministic (entries sorted, fixed timestamps, permissions and compression
level): the same tree always gives the same bytes.

    python scripts/make_archive.py [--root DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

# Everything the archive holds, relative to the repository root. A pattern with a
# wildcard must match at least one file; a plain name must exist. Nothing else goes in.
FILES = (
    "book/*/*.ipynb",  # the chapters (parts and explorations), with their outputs
    "optlib/**/*.py",  # the optimisers the chapters import (Python files only)
    "optlab/**/*.py",  # experiments and the chapters' helpers; pyproject installs it
    "optlab/data/*",  # the workloads' committed data (the Shakespeare corpus and its origin)
    "results/optlab.db",  # the committed sweep, which chapters read (optlab.profiles)
    "results/README.md",  # its tables
    "results/*.json",  # offline studies that chapters read (geometry, SWATS's switches)
    "pyproject.toml",  # lets pip install optlib from the unpacked folder
    "requirements.txt",  # the direct dependencies
    "requirements.lock",  # every package, pinned with hashes: what `make` installs
    "Makefile",  # make lab, make chapters
    "scripts/check_lock.py",  # the Makefile runs it before installing
)
TOP = "optimization-for-deep-learning"
DEFAULT_OUT = Path("_build/html") / f"{TOP}.zip"
# Never packed, even where a pattern above would match: caches, environments, builds.
EXCLUDED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".venv", "_build", ".git"}

# 1980-01-01 is the earliest time a zip entry can record.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # a regular file, rw-r--r--

README = """\
# Optimization for Deep Learning: the chapters to take home

This folder is the executable book *Optimization for Deep Learning*, packed for
reading and running on your own machine. It holds:

- `book/part1/`, `book/part2/`, `book/explore/`: every chapter as a Jupyter
  notebook, with the outputs shown on the site;
- `optlib/`: the optimisers and schedules, a small package that needs only PyTorch;
- `optlab/`: the experiments behind the chapters' comparisons (`python -m optlab`)
  and the chapters' helpers (data, figures, glued numbers);
- `results/`: the committed sweep (`optlab.db`, SQLite), its tables (`README.md`) and
  the offline studies that chapters read (`*.json`);
- `requirements.txt` (the direct dependencies), `requirements.lock` (every package
  pinned, with hashes), `pyproject.toml`, the `Makefile` and `scripts/check_lock.py`.

## Running it

You need Python 3.11 with `venv`, and `make`. The lock was made for Python 3.11 on
Linux x86-64: there it installs exactly the versions the book was built with. No GPU
and no data downloads are needed.

```bash
make lab        # creates .venv from requirements.lock, opens the chapters in JupyterLab
make chapters   # runs every chapter headless, writes nothing back, stops at an error
```

The first `make` installs the locked packages, PyTorch's CPU build among them, into
`.venv` (one to two gigabytes); later runs reuse it. `make` also installs the `optlib/`
and `optlab/` folders next to this README into `.venv`, so `import optlib` works in every
chapter.
{unlocked}
## The site and the PDF

The book's web site has, at its root beside `index.html`:

- `{top}.zip`: this archive;
- `{top}.pdf`: the whole book as one PDF.

Both are built from the book's repository (`make book`, `make pdf`).
"""


# Added to the README when the Makefile has an `unlocked` target.
UNLOCKED = """
On another system or another Python the exact lock may not install; there,
`make unlocked` installs the direct dependencies of `requirements.txt` instead.
"""


def readme(makefile: str) -> str:
    """The archive's README, for the Makefile it ships with."""
    has_unlocked = re.search(r"^unlocked\s*:", makefile, re.MULTILINE) is not None
    return README.format(top=TOP, unlocked=UNLOCKED if has_unlocked else "")


class ArchiveError(Exception):
    """A listed file is missing, or an argument is unusable."""


def collect(root: Path) -> list[str]:
    """The archive's files, as sorted POSIX paths relative to `root`."""
    found: set[str] = set()
    for pattern in FILES:
        if any(ch in pattern for ch in "*?["):
            matches = [p for p in root.glob(pattern) if p.is_file()]
            if not matches:
                raise ArchiveError(
                    f"no file under {root} matches '{pattern}', which the archive "
                    "must hold (see FILES in scripts/make_archive.py)"
                )
        else:
            path = root / pattern
            if not path.is_file():
                raise ArchiveError(
                    f"{pattern} is missing (looked for {path}); the archive must "
                    "hold it (see FILES in scripts/make_archive.py)"
                )
            matches = [path]
        for path in matches:
            rel = PurePosixPath(path.relative_to(root).as_posix())
            if EXCLUDED_PARTS.isdisjoint(rel.parts):
                found.add(str(rel))
    return sorted(found)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so that external_attr holds the permissions
    info.external_attr = FILE_MODE << 16
    return info


def build(root: Path, out: Path) -> tuple[int, int]:
    """Write the archive of `root` to `out`; return (number of files, size in bytes)."""
    root = root.resolve()
    if not root.is_dir():
        raise ArchiveError(f"--root {root} is not a directory")
    if out.suffix != ".zip":
        raise ArchiveError(f"--out {out} must name a .zip file")
    files = collect(root)
    entries = [(name, (root / name).read_bytes()) for name in files]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    entries.append(("README.md", readme(makefile).encode()))
    entries.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a failure leaves no half-written zip.
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compresslevel=9) as zf:
            for name, data in entries:
                zf.writestr(_entry(name), data, compresslevel=9)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return len(entries), out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=here, help="repository root (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"the zip to write (default: ROOT/{DEFAULT_OUT.as_posix()})",
    )
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else args.root / DEFAULT_OUT
    try:
        count, size = build(args.root, out)
    except ArchiveError as err:
        print(f"make_archive.py: error: {err}", file=sys.stderr)
        return 1
    print(f"{out}: {count} files, {size / 1e6:.1f} MB ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
