"""scripts/geometry_study.py on a tiny setting: every run stops at the target and is
measured there; the file resumes, and a change of settings starts it afresh."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "geometry_study.py"


@pytest.fixture
def study(monkeypatch):
    spec = importlib.util.spec_from_file_location("geometry_study", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    small = dict(TARGET=0.3, HIDDEN=16, SMALL_N=40, SEEDS=[0], ALPHAS=[-1.0, 0.0, 1.0],
                 DIRECTIONS=1, POWER_ITERS=3, TRACE_SAMPLES=2,
                 MAX_EPOCHS={"full": 20, "small": 200})
    for name, value in small.items():
        monkeypatch.setattr(mod, name, value)
    monkeypatch.setattr(mod, "tuned_rates", lambda storage: {"Adam": 0.01, "SGDM": 0.1})
    return mod


def test_runs_stop_at_the_target_and_resume(study, tmp_path, capsys):
    out = tmp_path / "g.json"
    assert study.main(["--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["runs"]) == ["full/Adam/0", "full/SGDM/0", "small/Adam/0",
                                   "small/SGDM/0"]
    for run in doc["runs"].values():
        assert run["reached"] and run["train_loss"] <= 0.3
        assert run["train_loss"] == pytest.approx(run["loss"])
        assert run["top_eigenvalue"] > 0 and run["trace"] > 0
        assert len(run["profiles"]) == 1 and run["profiles"][0][1] == pytest.approx(
            run["train_loss"], rel=1e-5)
    assert doc["settings"]["lr"] == {"Adam": 0.01, "SGDM": 0.1}
    capsys.readouterr()
    assert study.main(["--out", str(out)]) == 0            # all done: nothing reruns
    assert capsys.readouterr().out == ""
    study.TARGET = 0.25                                     # new settings: start again
    assert study.main(["--out", str(out)]) == 0
    assert json.loads(out.read_text())["settings"]["target"] == 0.25
    assert capsys.readouterr().out.count("steps") == 4
