"""python -m optlab: every bad input gives one line naming the argument, exit status 2,
and
leaves the store as it was."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from optlab import cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# One intra-op thread (tests/conftest.py): these models are tiny.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A store holding one finished sweep (digits-logreg, 3 steps)."""
    tmp_path = tmp_path_factory.mktemp("store")
    url = f"sqlite:///{tmp_path}/s.db"
    assert cli.main([*SWEEP, "--storage", url, "--no-progress"]) == 0
    return url, tmp_path / "s.db"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SWEEP = [
    "sweep",
    "digits-logreg",
    "--optimizers",
    "sgd",
    "--lrs",
    "0.1",
    "--seeds",
    "0",
    "--steps",
    "3",
]


def _replace(args, flag, value):
    args = list(args)
    args[args.index(flag) + 1] = value
    return args


BAD = [
    (["run", "nope", "--optimizer", "sgd", "--lr", "0.1", "--seed", "0"], "WORKLOAD"),
    (
        ["run", "digits-mlp", "--optimizer", "adamx", "--lr", "0.1", "--seed", "0"],
        "--optimizer",
    ),
    (["run", "digits-mlp", "--optimizer", "sgd", "--lr", "0", "--seed", "0"], "--lr"),
    (["run", "digits-mlp", "--optimizer", "sgd", "--lr", "-1", "--seed", "0"], "--lr"),
    (["run", "digits-mlp", "--optimizer", "sgd", "--lr", "nan", "--seed", "0"], "--lr"),
    (["run", "digits-mlp", "--optimizer", "sgd", "--lr", "inf", "--seed", "0"], "--lr"),
    (
        ["run", "digits-mlp", "--optimizer", "sgd", "--lr", "0.1", "--seed", "-1"],
        "--seed",
    ),
    (
        [
            "run",
            "digits-mlp",
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--seed",
            "0",
            "--steps",
            "-5",
        ],
        "--steps",
    ),
    (["run", "digits-mlp", "--optimizer", "sgd", "--lr", "x", "--seed", "0"], "--lr"),
    (["run", "digits-mlp", "--lr", "0.1", "--seed", "0"], "--optimizer"),
    (["sweep", "nope"] + SWEEP[2:], "WORKLOAD"),
    (_replace(SWEEP, "--optimizers", "sgd,adamx"), "--optimizers"),
    (_replace(SWEEP, "--optimizers", ","), "--optimizers"),
    (_replace(SWEEP, "--lrs", "0.1,nan"), "--lrs"),
    (_replace(SWEEP, "--lrs", "inf"), "--lrs"),
    (_replace(SWEEP, "--lrs", "-0.1"), "--lrs"),
    (_replace(SWEEP, "--lrs", "abc"), "--lrs"),
    (_replace(SWEEP, "--lrs", ""), "--lrs"),
    (_replace(SWEEP, "--seeds", ""), "--seeds"),
    (_replace(SWEEP, "--seeds", "0,-2"), "--seeds"),
    (_replace(SWEEP, "--steps", "-1"), "--steps"),
    (_replace(SWEEP, "--steps", "4"), "--study"),  # incompatible budget
    (SWEEP + ["--protocol", "--final-seeds", "3"], "--final-seeds"),
    (["report", "--study", "nope"], "--study"),
    (["replay", "--study", "nope"], "--study"),
    (["replay", "--steps", "0"], "--steps"),
    (["replay", "--device", "tpu9"], "--device"),
]


@pytest.mark.parametrize(
    "argv, arg",
    BAD,
    ids=[" ".join(b[0][:1] + [b[1]]) + str(i) for i, b in enumerate(BAD)],
)
def test_bad_input_one_line_exit_2_store_untouched(argv, arg, db, capsys):
    url, path = db
    before = _digest(path)
    if argv[0] in ("sweep", "report", "replay"):
        argv = argv + ["--storage", url]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optlab: error: ") and arg in lines[0]
    assert _digest(path) == before


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://optlab@127.0.0.1:1/none",
        "sqlite:////proc/optlab-none/x.db",
        "not-a-url",
    ],
)
def test_unreachable_storage_exit_2(url, capsys):
    assert cli.main(SWEEP + ["--storage", url]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--storage" in lines[0]


def test_a_new_store_is_not_created_on_bad_input(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/new/none.db"
    assert cli.main(_replace(SWEEP, "--lrs", "nan") + ["--storage", url]) == 2
    assert not (tmp_path / "new").exists()


def test_run_prints_one_json_line(capsys):
    assert (
        cli.main(
            [
                "run",
                "digits-logreg",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--seed",
                "0",
                "--steps",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0])["config"]["optimizer"] == "adam"


def test_workloads_lists_budgets(capsys):
    assert cli.main(["workloads"]) == 0
    out = capsys.readouterr().out
    for name in (
        "digits-logreg",
        "digits-mlp",
        "mnist-cnn",
        "char-transformer",
        "gan-2d",
    ):
        assert name in out


def test_sweep_resume_and_report(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/s.db"
    argv = _replace(SWEEP, "--lrs", "0.01,0.1") + ["--storage", url, "--no-progress"]
    assert cli.main(argv) == 0
    assert "2 grid points finished" in capsys.readouterr().out
    assert (
        cli.main(argv + ["--protocol", "--final-seeds", "10"]) == 0
    )  # brackets, finals
    out = capsys.readouterr().out
    assert "budget 3 steps" in out
    md = tmp_path / "tables" / "results.md"
    assert cli.main(["report", "--storage", url, "--out", str(tmp_path / "plots"),
                     "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "budget 3 steps" in out and "sgd" in out
    assert (tmp_path / "plots" / "digits-logreg.png").stat().st_size > 0
    text = md.read_text()
    assert "## digits-logreg" in text and "Budget 3 steps of 64" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| sgd |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "10" and cells[5].count("[") == 1  # ten seeds, an interval


def test_python_m_optlab_exit_status():
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "optlab",
            "run",
            "digits-mlp",
            "--optimizer",
            "sgd",
            "--lr",
            "nan",
            "--seed",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [
        "optlab: error: --lr: lr must be a finite number > 0, got nan"
    ]


def test_replay_checks_stored_trials_against_a_rerun(tmp_path, capsys, monkeypatch):
    from optlab import store

    url = f"sqlite:///{tmp_path}/r.db"
    argv = _replace(SWEEP, "--lrs", "0.01,0.1") + ["--storage", url, "--no-progress"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(["replay", "--storage", url, "--all"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "2 of 2 replayed trials reproduce"
    assert all(line.endswith(": ok") for line in out[:-1])
    # a store whose first curve point is 1 % off: replay names it and exits 1
    real = store.load_results

    def tampered(*a, **kw):
        results = real(*a, **kw)
        first = next(iter(results.values()))
        first["curve"]["train_loss"][0] *= 1.01
        return results

    monkeypatch.setattr(store, "load_results", tampered)
    assert cli.main(["replay", "--storage", url, "--all", "--steps", "2"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "1 of 2 replayed trials reproduce"
    assert "DIFFERS: loss at step 1" in out[0] and out[1].endswith(": ok")


def test_report_plan_status_lists_what_is_missing(monkeypatch):
    from optlab import plan

    monkeypatch.setattr(plan, "PLAN", (plan.Group("w", (("sgd", (0.1,)),
                                                        ("adam", (0.1,)))),))
    rows = [{"optimizer": "sgd", "seeds": list(range(10))},
            {"optimizer": "adam", "seeds": [0]}]
    line = cli._plan_status("w", {"rows": rows})
    assert line.startswith("Plan (`optlab/plan.py`): 1 of 2 optimisers done")
    assert "still to run: adam" in line
    rows[1]["seeds"] = list(range(10))
    assert "still to run" not in cli._plan_status("w", {"rows": rows})
    assert cli._plan_status("other", {"rows": rows}) == ""
