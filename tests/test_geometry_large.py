"""scripts/geometry_large.py on a tiny setting of the char-transformer workload: each
run stops at the first check below the target and is measured there (through the
attention layers' math kernel); the file resumes, and new settings start it afresh."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "geometry_large.py"


@pytest.fixture
def study(monkeypatch):
    spec = importlib.util.spec_from_file_location("geometry_large", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    small = dict(TARGET={"char-transformer": 3.3}, EVERY=10, MAX_STEPS=200, SEEDS=[0],
                 ALPHAS=[-1.0, 0.0, 1.0], DIRECTIONS=1, POWER_ITERS=3, TRACE_SAMPLES=2)
    for name, value in small.items():
        monkeypatch.setattr(mod, name, value)
    monkeypatch.setattr(mod, "tuned_rates",
                        lambda storage, workload: {"Adam": 0.003, "SGDM": 0.1})
    return mod


def test_runs_stop_at_the_target_and_resume(study, tmp_path, capsys):
    out = tmp_path / "g.json"
    assert study.main(["char-transformer", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["runs"]) == ["char-transformer/Adam/0", "char-transformer/SGDM/0"]
    for run in doc["runs"].values():
        assert run["reached"] and run["loss"] <= 3.3 and run["steps"] % 10 == 0
        # the profile's middle point is the measured training loss itself
        assert run["profiles"][0][1] == pytest.approx(run["loss"], rel=1e-5)
        assert run["trace"] != 0 and math.isfinite(run["top_eigenvalue"])
        assert run["gap"] == pytest.approx(run["test_metric"] - run["train_metric"])
        assert run["test_loss"] / math.log(2) == pytest.approx(run["test_metric"],
                                                               rel=1e-5)
    assert doc["settings"]["lr"] == {"Adam": 0.003, "SGDM": 0.1}
    capsys.readouterr()
    assert study.main(["char-transformer", "--out", str(out)]) == 0   # nothing reruns
    assert capsys.readouterr().out == ""
    study.TARGET = {"char-transformer": 3.25}                          # start again
    assert study.main(["char-transformer", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["settings"]["target"] == 3.25
    assert capsys.readouterr().out.count("steps") == 2


def test_an_unknown_workload_is_refused(study, capsys):
    with pytest.raises(SystemExit) as exit_:
        study.main(["gan-2d"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
