"""The take-home archive (scripts/make_archive.py): exactly the listed files, the same
bytes for the same tree, a clear error for a missing file, and a chapter that runs from
the unpacked folder with the unpacked optlib."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_archive.py"
CHAPTER = "book/part1/01_online_offline.ipynb"

_spec = importlib.util.spec_from_file_location("make_archive", SCRIPT)
make_archive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_archive)
TOP = make_archive.TOP

# Written by the lock's own tooling; until both exist the real tree cannot be packed.
_LOCK_FILES = ("requirements.lock", "scripts/check_lock.py")
_missing = [name for name in _LOCK_FILES if not (REPO / name).is_file()]
needs_lock = pytest.mark.skipif(
    bool(_missing),
    reason=f"{' and '.join(_missing)} not in the repository yet (the archive needs it)",
)


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected_members(root: Path) -> list[str]:
    """What the archive of `root` must hold, found independently of the script."""
    names = {"README.md"}
    for folder in sorted(root.glob("book/*")):
        names |= {p.relative_to(root).as_posix() for p in folder.glob("*.ipynb")}
    for package in ("optlib", "optlab"):
        for dirpath, dirnames, filenames in os.walk(root / package):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                if name.endswith(".py"):
                    names.add((Path(dirpath) / name).relative_to(root).as_posix())
    names |= {p.relative_to(root).as_posix() for p in (root / "optlab" / "data").glob("*")
              if p.is_file()}
    names |= {p.relative_to(root).as_posix() for p in (root / "results").glob("*.json")}
    names |= {
        "results/optlab.db",
        "results/README.md",
        "pyproject.toml",
        "requirements.txt",
        "requirements.lock",
        "Makefile",
        "scripts/check_lock.py",
    }
    return sorted(f"{TOP}/{name}" for name in names)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("archive") / "book.zip"
    result = run_script("--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and "files" in result.stdout
    return out


@needs_lock
def test_archive_holds_exactly_the_listed_files(archive):
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        readme = zf.read(f"{TOP}/README.md").decode()
        chapter = zf.read(f"{TOP}/{CHAPTER}")
    assert names == expected_members(REPO)
    # Every chapter of the table of contents, independently of the glob above.
    toc = re.findall(r"file:\s*(book/(?:part\d|explore)/\S+)",
                     (REPO / "_toc.yml").read_text())
    notebooks = list((REPO / "book").glob("*/*.ipynb"))
    assert len(toc) == len(notebooks) >= 21        # Parts I-III and the explorations
    assert {f"{TOP}/{name}.ipynb" for name in toc} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # The chapters are packed as committed, outputs included.
    assert chapter == (REPO / CHAPTER).read_bytes()
    assert b'"outputs": [\n' in chapter and b'"output_type"' in chapter
    for phrase in ("make lab", "make chapters", "Python 3.11", "x86-64", f"{TOP}.pdf"):
        assert phrase in readme


@needs_lock
def test_readme_names_only_targets_of_the_packed_makefile(archive):
    with zipfile.ZipFile(archive) as zf:
        readme = zf.read(f"{TOP}/README.md").decode()
        makefile = zf.read(f"{TOP}/Makefile").decode()
    named = set(re.findall(r"(?<![\w-])make[ \t]+([a-z][\w-]*)", readme))
    assert {"lab", "chapters"} <= named
    targets = set(re.findall(r"^([\w-]+)\s*:", makefile, re.MULTILINE))
    missing = named - targets
    assert not missing, f"the README names make targets the Makefile lacks: {missing}"


@pytest.mark.parametrize("has_target", [True, False])
def test_readme_mentions_unlocked_only_if_the_makefile_has_it(has_target):
    makefile = "lab:\n\ttrue\n" + ("unlocked: x\n\ttrue\n" if has_target else "")
    text = make_archive.readme(makefile)
    assert ("`make unlocked`" in text) == has_target
    assert "{" not in text  # every placeholder filled


@needs_lock
def test_same_tree_gives_same_bytes(archive, tmp_path):
    again = tmp_path / "again.zip"
    assert run_script("--out", str(again)).returncode == 0
    assert again.read_bytes() == archive.read_bytes()
    # A copy elsewhere, with other modification times and modes, packs identically.
    copy = tmp_path / "copy"
    for name in expected_members(REPO):
        rel = name.split("/", 1)[1]
        if rel != "README.md":
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / rel, copy / rel)
            os.utime(copy / rel, (2_000_000_000, 2_000_000_000))
            os.chmod(copy / rel, 0o755)
    moved = tmp_path / "moved.zip"
    assert run_script("--root", str(copy), "--out", str(moved)).returncode == 0
    assert moved.read_bytes() == archive.read_bytes()


def fake_tree(root: Path) -> None:
    """The listed files, plus everything that must stay out of the archive."""
    wanted = [
        "book/part1/01_a.ipynb",
        "book/part2/10_b.ipynb",
        "optlib/__init__.py",
        "optlib/sub/mod.py",
        "optlab/__init__.py",
        "optlab/data/corpus.txt",
        "results/optlab.db",
        "results/README.md",
        "results/geometry.json",
        "pyproject.toml",
        "requirements.txt",
        "requirements.lock",
        "Makefile",
        "scripts/check_lock.py",
    ]
    unwanted = [
        "optlib/__pycache__/__init__.cpython-311.pyc",
        "optlib/__pycache__/stray.py",
        "optlib/notes.txt",
        "optlab/notes.txt",
        "optlab/__pycache__/cli.cpython-311.pyc",
        "results/logs/mnist-cnn.log",
        "results/plots/mnist-cnn.png",
        "book/intro.md",
        "book/part1/.ipynb_checkpoints/01_a-checkpoint.ipynb",
        ".venv/lib/site.py",
        "_build/html/index.html",
        ".git/HEAD",
        "tests/test_x.py",
        "scripts/other.py",
        "requirements-old.txt",
    ]
    for name in wanted + unwanted:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")


def test_nothing_outside_the_list(tmp_path):
    root = tmp_path / "tree"
    fake_tree(root)
    out = tmp_path / "out.zip"
    assert make_archive.main(["--root", str(root), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        infos = zf.infolist()
    assert names == expected_members(root)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


@pytest.mark.parametrize("missing", make_archive.FILES)
def test_missing_listed_file_is_an_error_naming_it(tmp_path, capsys, missing):
    root = tmp_path / "tree"
    fake_tree(root)
    for path in list(root.glob(missing)) if "*" in missing else [root / missing]:
        path.unlink()
    out = tmp_path / "out.zip"
    assert make_archive.main(["--root", str(root), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert missing in err and "error" in err
    assert list(tmp_path.glob("out.zip*")) == []  # nothing half-written left behind


def test_bad_out_is_an_error(tmp_path):
    result = run_script("--root", str(tmp_path), "--out", str(tmp_path / "book.tar"))
    assert result.returncode == 1
    assert "--out" in result.stderr and ".zip" in result.stderr


@pytest.mark.slow
@needs_lock
def test_chapter_runs_from_the_unpacked_folder(archive, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
    root = (tmp_path / TOP).resolve()
    path = root / CHAPTER
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import os, optlib\nprint(optlib.__file__)\nprint(os.getcwd())"
        )
    )
    monkeypatch.setenv("PYTHONPATH", str(root))
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    printed = nb.cells[-1].outputs[0]["text"].split()
    assert Path(printed[0]).resolve() == root / "optlib" / "__init__.py"
    assert Path(printed[1]).resolve() == path.parent
