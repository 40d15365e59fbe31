"""optlab.store: a sweep resumes where it stopped, and a killed trial is run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

from optlab import store  # noqa: E402
from optlab import trial as trial_mod  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRID = dict(
    workload="digits-logreg",
    optimizers=["sgd", "adam"],
    lrs=[0.01, 0.1],
    seeds=[0],
    steps=5,
)


# One intra-op thread (tests/conftest.py): these models are tiny.
pytestmark = pytest.mark.usefixtures("one_thread")


def _trials(url, study="digits-logreg"):
    st = store.open_storage(url)
    return st.get_all_trials(st.get_study_id_from_name(study))


def test_an_interrupted_sweep_reruns_only_the_rest(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    done = []

    def stop_after_two(result):
        done.append(result)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.sweep(**GRID, storage=url, on_trial=stop_after_two)
    assert [t.state for t in _trials(url)] == [TrialState.COMPLETE] * 2

    again = []
    results = store.sweep(**GRID, storage=url, on_trial=again.append)
    assert len(again) == 2  # only the two missing points ran
    assert len(results) == 4
    assert {(r["config"]["optimizer"], r["config"]["lr"]) for r in results} == {
        ("sgd", 0.01),
        ("sgd", 0.1),
        ("adam", 0.01),
        ("adam", 0.1),
    }
    assert [t.state for t in _trials(url)] == [TrialState.COMPLETE] * 4
    third = []
    assert store.sweep(**GRID, storage=url, on_trial=third.append) == results
    assert third == []  # nothing is ever redone


def test_a_failing_trial_is_marked_failed_and_redone(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/f.db"
    real = trial_mod.run_trial

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(trial_mod, "run_trial", broken)
    with pytest.raises(RuntimeError):
        store.sweep("digits-logreg", ["sgd"], [0.1], [0], steps=3, storage=url)
    (t,) = _trials(url)
    assert (
        t.state == TrialState.FAIL and t.user_attrs["failed_reason"] == "RuntimeError"
    )
    monkeypatch.setattr(trial_mod, "run_trial", real)
    (r,) = store.sweep("digits-logreg", ["sgd"], [0.1], [0], steps=3, storage=url)
    assert r["config"]["lr"] == 0.1
    assert [t.state for t in _trials(url)] == [TrialState.FAIL, TrialState.COMPLETE]


def test_a_trial_left_running_by_kill_9_is_redone(tmp_path):
    url = f"sqlite:///{tmp_path}/k.db"
    child = textwrap.dedent(f"""
        import sys, time
        from optlab import store, trial
        def hang(*a, **k):
            print("started", flush=True)
            time.sleep(600)
        trial.run_trial = hang
        store.sweep("digits-logreg", ["sgd"], [0.1], [0], steps=3, storage={url!r})
    """)
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout.readline().strip() == "started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    (t,) = _trials(url)
    assert t.state == TrialState.RUNNING  # what kill -9 leaves behind
    import threading

    ran = []
    worker = threading.Thread(
        daemon=True,
        target=lambda: store.sweep(
            "digits-logreg",
            ["sgd"],
            [0.1],
            [0],
            steps=3,
            storage=url,
            on_trial=ran.append,
            stale_s=3600,
            poll_s=0.1,
        ),
    )  # a long grace: only the dead pid can tell
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the sweep waited for a trial whose process is dead"
    assert len(ran) == 1
    states = [(t.state, t.user_attrs.get("failed_reason")) for t in _trials(url)]
    assert states == [(TrialState.FAIL, "stale"), (TrialState.COMPLETE, None)]


def test_a_live_worker_keeps_its_point(tmp_path):
    """A RUNNING trial with a fresh heartbeat from another worker is left to it: this
    worker runs the free point, waits, and returns once the other worker has
    finished."""
    import threading
    import time

    url = f"sqlite:///{tmp_path}/l.db"
    st = store.open_storage(url)
    w = store.workload_registry.get("digits-logreg")
    sid = store.prepare_study(st, "digits-logreg", w, 3)
    template = optuna.trial.create_trial(
        state=TrialState.RUNNING,
        user_attrs={
            "key": store.point_key("sgd", 0.1, 0),
            "optimizer": "sgd",
            "worker": {"host": "elsewhere", "pid": 1},
            "heartbeat": time.time(),
        },
    )
    tid = st.create_new_trial(sid, template_trial=template)
    other = trial_mod.run_trial("digits-logreg", "sgd", 0.1, 0, 3)

    def other_worker_finishes():
        time.sleep(1.5)
        st.set_trial_user_attr(tid, "result", other)
        st.set_trial_state_values(
            tid, TrialState.COMPLETE, values=[other["val_metric"]]
        )

    threading.Thread(target=other_worker_finishes).start()
    ran = []
    results = store.sweep(
        "digits-logreg",
        ["sgd"],
        [0.1, 0.01],
        [0],
        steps=3,
        storage=url,
        on_trial=ran.append,
        poll_s=0.1,
    )
    assert [r["config"]["lr"] for r in ran] == [0.01]  # the busy point was not taken
    assert results[0] == other
    assert [t.state for t in _trials(url)] == [TrialState.COMPLETE] * 2


def test_incompatible_study_is_refused_and_nothing_written(tmp_path):
    url = f"sqlite:///{tmp_path}/i.db"
    store.sweep("digits-logreg", ["sgd"], [0.1], [0], steps=3, storage=url)
    before = (tmp_path / "i.db").read_bytes()
    with pytest.raises(store.StoreError, match="incompatible.*steps=3.*steps=4"):
        store.sweep("digits-logreg", ["sgd"], [0.1], [0], steps=4, storage=url)
    with pytest.raises(store.StoreError, match="workload='digits-logreg'"):
        store.sweep(
            "digits-mlp",
            ["sgd"],
            [0.1],
            [0],
            steps=3,
            storage=url,
            study="digits-logreg",
        )
    assert (tmp_path / "i.db").read_bytes() == before


@pytest.mark.parametrize(
    "url, why",
    [
        ("not-a-url", "must be a database URL"),
        ("nosuchdialect://x/y", "unreachable"),
        ("sqlite:////proc/optlab-no/x.db", "unreachable"),
    ],
)
def test_unreachable_storage(url, why):
    with pytest.raises(store.StoreError, match=why):
        store.open_storage(url)
