"""scripts/swats_switches.py: replays the stored SWATS finals, checks them and records
where each one switched; resumable; reads a trial that recorded its switch."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from optlab import store

pytestmark = pytest.mark.usefixtures("one_thread")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "swats_switches.py"
_spec = importlib.util.spec_from_file_location("swats_switches", SCRIPT)
swats_switches = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(swats_switches)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 's.db'}"
    # two seeds at the "tuned" rate, one tuning point elsewhere, and an Adam trial
    store.sweep("digits-logreg", ["swats"], [0.01], [0, 1], steps=30, storage=url)
    store.sweep("digits-logreg", ["swats"], [0.1], [0], steps=30, storage=url)
    store.sweep("digits-logreg", ["adam"], [0.01], [0], steps=30, storage=url)
    return url


def test_finals_are_the_seeds_at_the_reported_rate(small_store):
    runs = swats_switches.finals(small_store, "digits-logreg")
    assert [(r["config"]["lr"], r["seed"]) for r in runs] == [(0.01, 0), (0.01, 1)]


def test_script_records_each_final_and_resumes(small_store, tmp_path, capsys):
    out = tmp_path / "switches.json"
    args = ["--storage", small_store, "--workloads", "digits-logreg", "--out", str(out)]
    assert swats_switches.main(args) == 0
    doc = json.loads(out.read_text())["digits-logreg"]
    assert doc["lr"] == 0.01 and doc["steps"] == 30 and sorted(doc["runs"]) == ["0", "1"]
    for run in doc["runs"].values():
        # a fresh trial records its switch itself: read, not replayed
        assert run["source"] == "recorded"
        assert run["switches"] == [{"step": None, "sgd_lr": None}]
    assert capsys.readouterr().out.count("switch step") == 2
    assert swats_switches.main(args) == 0              # nothing left to do
    assert capsys.readouterr().out == ""


def test_an_old_trial_is_replayed_and_checked(small_store):
    stored = swats_switches.finals(small_store, "digits-logreg")[0]
    old = {k: v for k, v in stored.items() if k != "switches"}
    found = swats_switches.switch_of(old, threads=1)
    assert found["source"] == "replayed"
    assert found["switches"] == [{"step": None, "sgd_lr": None}]
    assert found["replayed_with"]["device"] == "cpu"
    # a stored trial the replay does not reproduce stops the script
    bad = json.loads(json.dumps(old))
    bad["test_metric"] = 0.0
    with pytest.raises(SystemExit, match="does not reproduce"):
        swats_switches.switch_of(bad, threads=1)
