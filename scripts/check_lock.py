"""Check requirements.lock against requirements.txt, or an environment against the lock.

    python scripts/check_lock.py --inputs        # every direct dependency is pinned
    python scripts/check_lock.py --freeze FILE   # a `pip freeze --all` equals the lock
    pip freeze --all | python scripts/check_lock.py --freeze -

``make`` runs ``--inputs`` before it installs the lock, so that a package added to
requirements.txt without ``make lock`` fails with its name; ``make lock-check`` runs
``--freeze`` on a fresh virtual environment and on .venv. Each problem is printed on
one line; the exit status is 1 when there is any. Standard library only: this runs
before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class LockError(Exception):
    """A file that cannot be read as what it claims to be."""


def normalize(name: str) -> str:
    """The PEP 503 form of a project name: `Foo_Bar`, `foo.bar`, `FOO-bar` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _content(line: str) -> str:
    """A requirement line without its comment and surrounding blanks."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()


def _read(path: Path | str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LockError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def parse_inputs(
    lines: list[str], source: str = "requirements.txt"
) -> dict[str, str | None]:
    """Direct dependencies: normalised name -> the version after `==` (None: unpinned).

    Option lines (`-c`, `--index-url` ...) are skipped; extras and markers are ignored.
    """
    wanted: dict[str, str | None] = {}
    for number, line in enumerate(lines, start=1):
        text = _content(line)
        if not text or text.startswith("-"):
            continue
        match = NAME.match(text)
        if match is None:
            raise LockError(f"{source} line {number}: no package name in {text!r}")
        rest = re.sub(r"^\s*\[[^\]]*\]", "", text[match.end():]).split(";")[0].strip()
        pin = re.fullmatch(r"==\s*([^\s,]+)", rest)
        wanted[normalize(match.group())] = pin.group(1) if pin else None
    return wanted


def parse_pins(lines: list[str], source: str) -> dict[str, str]:
    """`name==version` lines of a lock or of a `pip freeze`: normalised name -> version.

    Hash continuation lines, comments, blank lines and editable (`-e`) lines are
    skipped; any other requirement that is not an exact `name==version` is an error.
    """
    pins: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if line[:1].isspace():          # `    --hash=...` continuations of a lock entry
            continue
        text = _content(line).rstrip("\\").strip()
        if not text or text.startswith("-"):
            continue
        match = re.fullmatch(rf"({NAME.pattern})\s*==\s*([^\s;]+)(?:\s*;.*)?", text)
        if match is None:
            raise LockError(
                f"{source} line {number}: expected name==version, found {text!r}"
            )
        name = normalize(match.group(1))
        if name in pins:
            raise LockError(f"{source} line {number}: {match.group(1)} is pinned twice")
        pins[name] = match.group(2)
    return pins


def same_version(wanted: str, pinned: str) -> bool:
    """`==wanted` accepts `pinned`; as in PEP 440, a local label (`+cpu`) is ignored
    when the wanted version has none."""
    if "+" in wanted:
        return pinned == wanted
    return pinned.split("+", 1)[0] == wanted


def check_inputs(wanted: dict[str, str | None], locked: dict[str, str],
                 inputs: str = "requirements.txt",
                 lock: str = "requirements.lock") -> list[str]:
    """Problems of a lock that does not cover its inputs."""
    problems = []
    for name, version in wanted.items():
        if name not in locked:
            problems.append(
                f"{inputs} asks for {name}, which {lock} does not pin: run `make lock`"
            )
        elif version is not None and not same_version(version, locked[name]):
            problems.append(
                f"{inputs} asks for {name}=={version}, but {lock} pins"
                f" {name}=={locked[name]}: run `make lock`"
            )
    return problems


def check_freeze(
    frozen: dict[str, str], locked: dict[str, str], source: str
) -> list[str]:
    """Differences between an installed environment and the lock, both directions."""
    problems = []
    for name in sorted(locked.keys() - frozen.keys()):
        problems.append(f"{source}: {name}=={locked[name]} is pinned but not installed")
    for name in sorted(frozen.keys() - locked.keys()):
        problems.append(
            f"{source}: {name}=={frozen[name]} is installed but requirements.lock"
            " does not pin it"
        )
    for name in sorted(frozen.keys() & locked.keys()):
        if frozen[name] != locked[name]:
            problems.append(
                f"{source}: {name}=={frozen[name]} is installed, requirements.lock"
                f" pins {name}=={locked[name]}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--inputs", action="store_true",
                      help="check that every package of requirements.txt is pinned")
    mode.add_argument("--freeze", metavar="FILE_OR_-",
                      help="compare a `pip freeze --all` listing (file, - for stdin)")
    parser.add_argument("--in", dest="inputs_file",
                        default=str(ROOT / "requirements.txt"),
                        help="the direct dependencies (default: requirements.txt)")
    parser.add_argument("--lock", default=str(ROOT / "requirements.lock"),
                        help="the lock (default: requirements.lock)")
    args = parser.parse_args(argv)
    try:
        lock = Path(args.lock).name
        locked = parse_pins(_read(args.lock), lock)
        if not locked:
            raise LockError(f"{args.lock}: pins no package")
        if args.inputs:
            source = Path(args.inputs_file).name
            wanted = parse_inputs(_read(args.inputs_file), source)
            problems = check_inputs(wanted, locked, source, lock)
        else:
            if args.freeze == "-":
                source, lines = "pip freeze (stdin)", sys.stdin.read().splitlines()
            else:
                source, lines = args.freeze, _read(args.freeze)
            problems = check_freeze(parse_pins(lines, source), locked, source)
    except LockError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
