"""scripts/check_lock.py on made-up files, and the committed requirements.txt/.lock pair.

Fast: nothing is installed. `make lock-check` is the slow proof (a fresh venv from the
lock).
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def check_lock():
    spec = importlib.util.spec_from_file_location(
        "check_lock", ROOT / "scripts" / "check_lock.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOCK = """\
# a header
#    pip-compile --generate-hashes requirements.txt
#
foo-bar==1.2 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
    # via -r requirements.txt
torch==2.13.0+cpu \\
    --hash=sha256:cccc
    # via -r requirements.txt
zeta==0.1 ; python_version >= "3.8" \\
    --hash=sha256:dddd
    # via foo-bar

# The following packages are considered to be unsafe in a requirements file:
pip==26.3 \\
    --hash=sha256:eeee
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(check_lock, capsys, *args):
    code = check_lock.main(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


# Parsing.

@pytest.mark.parametrize("name", ["Foo_Bar", "foo-bar", "FOO.bar", "foo__-bar"])
def test_names_are_normalised_as_in_pep_503(check_lock, name):
    assert check_lock.normalize(name) == "foo-bar"


def test_lock_parsing_skips_hashes_comments_and_markers(check_lock):
    pins = check_lock.parse_pins(LOCK.splitlines(), "requirements.lock")
    assert pins == {
        "foo-bar": "1.2", "torch": "2.13.0+cpu", "zeta": "0.1", "pip": "26.3",
    }


def test_inputs_parsing_keeps_pins_and_skips_options(check_lock):
    lines = [
        "# comment", "", "-c constraints.txt", "--index-url https://example.org/simple",
        "Foo_Bar==1.2  # why", "torch == 2.13.0", "plain", "extra[one,two]==3.0",
        "marked>=1 ; sys_platform == 'linux'",
    ]
    assert check_lock.parse_inputs(lines) == {
        "foo-bar": "1.2", "torch": "2.13.0", "plain": None, "extra": "3.0",
        "marked": None,
    }


@pytest.mark.parametrize("line, message", [
    ("foo>=1.0", "expected name==version, found 'foo>=1.0'"),
    ("foo @ https://example.org/foo.whl", "expected name==version"),
    ("Foo_Bar==1.0\nfoo-bar==1.0", "foo-bar is pinned twice"),
])
def test_a_lock_line_that_is_not_an_exact_pin_is_an_error(check_lock, line, message):
    with pytest.raises(check_lock.LockError, match=re.escape(message)):
        check_lock.parse_pins(line.splitlines(), "requirements.lock")


def test_local_version_labels(check_lock):
    assert check_lock.same_version("2.13.0", "2.13.0+cpu")
    assert check_lock.same_version("2.13.0+cpu", "2.13.0+cpu")
    assert not check_lock.same_version("2.13.0+cu126", "2.13.0+cpu")
    assert not check_lock.same_version("2.13.0", "2.13.1")
    assert not check_lock.same_version("2.13", "2.13.0")


# --inputs on made-up files.

def test_inputs_covered_by_the_lock_pass(check_lock, tmp_path, capsys):
    inputs = write(tmp_path, "requirements.txt", "Foo_Bar==1.2\ntorch==2.13.0\nzeta\n")
    lock = write(tmp_path, "requirements.lock", LOCK)
    result = run(check_lock, capsys, "--inputs", "--in", inputs, "--lock", lock)
    assert result == (0, [])


def test_a_name_missing_from_the_lock_fails_with_its_name(check_lock, tmp_path, capsys):
    inputs = write(tmp_path, "requirements.txt", "foo-bar==1.2\nNew_Package>=2\n")
    lock = write(tmp_path, "requirements.lock", LOCK)
    code, err = run(check_lock, capsys, "--inputs", "--in", inputs, "--lock", lock)
    assert code == 1
    assert err == [
        "requirements.txt asks for new-package, which requirements.lock does not pin:"
        " run `make lock`"
    ]


def test_a_version_mismatch_fails(check_lock, tmp_path, capsys):
    inputs = write(tmp_path, "requirements.txt", "foo-bar==1.3\ntorch==2.13.0+cu126\n")
    lock = write(tmp_path, "requirements.lock", LOCK)
    code, err = run(check_lock, capsys, "--inputs", "--in", inputs, "--lock", lock)
    assert code == 1
    assert err == [
        "requirements.txt asks for foo-bar==1.3, but requirements.lock pins"
        " foo-bar==1.2: run `make lock`",
        "requirements.txt asks for torch==2.13.0+cu126, but requirements.lock pins"
        " torch==2.13.0+cpu: run `make lock`",
    ]


@pytest.mark.parametrize("which", ["--in", "--lock"])
def test_a_missing_file_is_named(check_lock, tmp_path, capsys, which):
    other = "--lock" if which == "--in" else "--in"
    present = write(tmp_path, "present.txt", "foo-bar==1.2\n")
    missing = str(tmp_path / "absent.txt")
    code, err = run(check_lock, capsys, "--inputs", which, missing, other, present)
    assert code == 1
    assert len(err) == 1 and err[0].startswith(f"{missing}: cannot be read")


def test_an_empty_lock_fails(check_lock, tmp_path, capsys):
    inputs = write(tmp_path, "requirements.txt", "")
    lock = write(tmp_path, "requirements.lock", "# nothing\n")
    code, err = run(check_lock, capsys, "--inputs", "--in", inputs, "--lock", lock)
    assert code == 1 and err == [f"{lock}: pins no package"]


def test_a_mode_is_required(check_lock, capsys):
    with pytest.raises(SystemExit) as exc:
        check_lock.main([])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "one of the arguments --inputs --freeze is required" in err


# --freeze on made-up listings.

FREEZE = """\
Foo_Bar==1.2
torch==2.13.0+cpu
-e /work/main
# Editable install with no version control (optlib==0.1.0)
ZETA==0.1
pip==26.3
"""


def test_a_freeze_equal_to_the_lock_passes(check_lock, tmp_path, capsys):
    lock = write(tmp_path, "requirements.lock", LOCK)
    freeze = write(tmp_path, "freeze.txt", FREEZE)
    assert run(check_lock, capsys, "--freeze", freeze, "--lock", lock) == (0, [])


def test_freeze_differences_in_both_directions(check_lock, tmp_path, capsys):
    lock = write(tmp_path, "requirements.lock", LOCK)
    text = FREEZE.replace("ZETA==0.1\n", "").replace("pip==26.3", "pip==23.2.1")
    freeze = write(tmp_path, "freeze.txt", text + "stray==9.9\n")
    code, err = run(check_lock, capsys, "--freeze", freeze, "--lock", lock)
    assert code == 1
    assert err == [
        f"{freeze}: zeta==0.1 is pinned but not installed",
        f"{freeze}: stray==9.9 is installed but requirements.lock does not pin it",
        f"{freeze}: pip==23.2.1 is installed, requirements.lock pins pip==26.3",
    ]


def test_freeze_from_stdin(check_lock, tmp_path, capsys, monkeypatch):
    lock = write(tmp_path, "requirements.lock", LOCK)
    monkeypatch.setattr(sys, "stdin", io.StringIO(FREEZE + "extra==1\n"))
    code, err = run(check_lock, capsys, "--freeze", "-", "--lock", lock)
    assert code == 1
    assert err == [
        "pip freeze (stdin): extra==1 is installed but requirements.lock does not"
        " pin it"
    ]


# The committed pair.

def lock_entries() -> dict[str, str]:
    """Each pin of the committed lock with the text of its entry (pin line + hashes)."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    return {e.split("==", 1)[0].lower(): e for e in entries if not e.startswith("#")}


def test_committed_inputs_are_pinned_by_the_committed_lock(check_lock, capsys):
    assert run(check_lock, capsys, "--inputs") == (0, [])


def test_committed_lock_pins_everything_with_hashes():
    entries = lock_entries()
    assert len(entries) > 100                   # the transitive closure, not the inputs
    for name, entry in entries.items():
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{name} has no hash"
    for tool in ("pip", "setuptools", "wheel", "pip-tools"):
        assert tool in entries, f"requirements.lock does not pin {tool}"
    assert "optlib" not in entries               # installed editable, separately


def test_committed_lock_is_the_cpu_build_of_torch():
    entries = lock_entries()
    assert entries["torch"].startswith("torch==2.13.0+cpu ")
    gpu = [name for name in entries if re.match(r"nvidia-|cuda|triton", name)]
    assert gpu == [], f"requirements.lock pulls GPU packages: {gpu}"


def test_committed_lock_header_says_how_to_regenerate_it():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    header = re.match(r"(?:#.*\n)*", text).group()
    for words in ("Linux x86-64", "CPython 3.11", "make lock", "pip-compile"):
        assert words in header, f"requirements.lock's header does not mention {words}"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"^LOCK_COMMAND := (.*?[^\\])$", makefile, re.M | re.S).group(1)
    flags = sorted(re.sub(r"\\\n\s*", " ", command).split()[1:])
    listed = re.search(r"^#\s+pip-compile (.*)$", header, re.M).group(1)
    assert sorted(listed.split()) == flags, "Makefile and the lock's header differ"
