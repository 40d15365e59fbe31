"""The committed results keep reproducing (issue 14, item 5).

A sample of the trials stored in ``results/optlab.db`` (two per study, see
:func:`optlab.replay.sample`) is run again: the short digits trials in full, the others
their first four training-loss bins. Every training-loss bin and validation metric the
replay reaches must equal the stored one within
:data:`optlab.replay.TOLERANCE` (relative 1e-4; an accuracy, one example of 300).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from optlab import replay, store, trial

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "results" / "optlab.db"
URL = f"sqlite:///{STORE}"
FULL = {"digits-logreg", "digits-mlp"}  # a whole trial takes a second or two


def _sample():
    if not STORE.exists():
        return []
    out = []
    for name, _ in store.list_studies(URL):
        results = list(store.load_results(URL, name).values())
        if results:
            out += [(name, r) for r in replay.sample(results)]
    return out


SAMPLE = _sample()


def _id(item):
    name, r = item
    return f"{name}:{r['config']['optimizer']}:lr={r['config']['lr']:.3g}:s{r['seed']}"


def _steps(stored) -> int | None:
    """The whole trial for the digits; otherwise its first four curve bins (12 steps of
    mnist-cnn, 24 of char-transformer: a second or two each, the loss compared bin by
    bin; `python -m optlab replay` also compares the validation metrics)."""
    if stored["config"]["workload"] in FULL:
        return None
    return stored["curve"]["step"][min(3, len(stored["curve"]["step"]) - 1)]


def test_the_committed_store_has_every_planned_study():
    from optlab import plan

    studies = {name for name, _ in store.list_studies(URL)}
    assert {g.study for g in plan.PLAN} <= studies
    assert len(SAMPLE) >= len(plan.PLAN)


@pytest.mark.parametrize("item", SAMPLE, ids=_id)
def test_a_stored_trial_reproduces(item, one_thread):
    _, stored = item
    again = replay.replay(stored, _steps(stored))
    assert again["curve"]["step"], "the replay recorded nothing"
    assert replay.compare(stored, again) == []


def test_compare_reports_a_changed_loss_and_metric(one_thread):
    stored = trial.run_trial("digits-logreg", "sgdm", 0.1, 3, steps=200)
    again = replay.replay(stored, 100)
    assert replay.compare(stored, again) == []
    bad = copy.deepcopy(stored)
    bad["curve"]["train_loss"][5] *= 1 + 1e-3
    bad["val_curve"]["val_metric"][0] += 0.01
    problems = replay.compare(bad, again)
    assert len(problems) == 2
    assert problems[0].startswith("loss at step 12")
    assert problems[1].startswith("accuracy at step 20")
    bad = copy.deepcopy(stored)
    bad["test_metric"] -= 0.01
    assert replay.compare(bad, replay.replay(stored)) == [
        f"final test_metric: stored {bad['test_metric']!r}, "
        f"now {stored['test_metric']!r}"
    ]


def test_stopping_early_gives_the_first_bins_of_the_whole_run(one_thread):
    whole = trial.run_trial("digits-mlp", "adam+onecycle", 3e-3, 0, steps=300)
    part = trial.run_trial("digits-mlp", "adam+onecycle", 3e-3, 0, steps=300,
                           stop_after=61)
    n = len(part["curve"]["step"])
    assert part["curve"]["step"] == whole["curve"]["step"][:n] and n == 20
    assert part["curve"]["train_loss"] == whole["curve"]["train_loss"][:n]
    assert part["val_curve"]["val_metric"] == whole["val_curve"]["val_metric"][:2]
    assert part["steps_run"] == 61 and part["config"]["steps"] == 300
    with pytest.raises(ValueError, match="stop_after must be an integer >= 1"):
        trial.run_trial("digits-mlp", "adam", 1e-3, 0, steps=10, stop_after=0)
