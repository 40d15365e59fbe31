"""Scale-out: the worker processes of one sweep share a PostgreSQL store (issue 14).

A throwaway server (scripts/pg_test_server.sh, Debian's PostgreSQL on 127.0.0.1) backs
two `python -m optlab sweep` processes started at the same moment. Every grid point
must end with exactly one COMPLETE trial, the results must equal a one-process SQLite
sweep of the same grid, a later worker must find nothing to do, and a worker killed
with `kill -9` mid-trial must lose no finished trial and leave no point undone.

Not collected by `make test` (it starts a database server): `make scaleout-test`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("optuna")
try:  # the driver of the URLs below; missing means an incomplete environment
    import psycopg2  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise ImportError(
        "tests_scaleout needs psycopg2 (psycopg2-binary, requirements.txt): run `make`"
    ) from err
import sqlalchemy as sa  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from optlab import store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pg_test_server.sh"
OPTIMIZERS, LRS, SEEDS = ["sgd", "adam"], [0.01, 0.1, 1.0], [0, 1]
KEYS = {store.point_key(o, lr, s) for o in OPTIMIZERS for lr in LRS for s in SEEDS}
WAIT_S = 120  # per worker; a normal run takes a few seconds
SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(scope="module")
def pg_server():
    """The server's storage URL (database optlab); the server is always stopped."""
    # The server runs as user postgres when we are root: a folder under /tmp it can
    # own (the script creates it), not pytest's private tmp_path.
    folder = Path("/tmp") / f"optlab-pg-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    start = subprocess.run(
        ["bash", str(SCRIPT), "start", str(folder)],
        capture_output=True,
        text=True,
        timeout=900,  # may apt-get install postgresql first
    )
    try:
        assert start.returncode == 0, f"server did not start:\n{start.stderr}"
        url = start.stdout.strip().splitlines()[-1]
        assert url.startswith("postgresql+psycopg2://postgres@127.0.0.1:"), url
        yield url
    finally:
        stop = subprocess.run(
            ["bash", str(SCRIPT), "stop", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stop.returncode == 0, stop.stderr
        assert not folder.exists()


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    """A failing test leaves no worker behind."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.logfile.close()


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the server: Optuna's tables are created by the workers
    themselves, at the same moment (a race the store must survive)."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def worker(url: str, steps: int, log: Path, study: str = "scale") -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "optlab",
        "sweep",
        "digits-logreg",
        "--optimizers",
        ",".join(OPTIMIZERS),
        "--lrs",
        ",".join(map(str, LRS)),
        "--seeds",
        ",".join(map(str, SEEDS)),
        "--steps",
        str(steps),
        "--storage",
        url,
        "--study",
        study,
        "--threads",
        "1",
        "--no-progress",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = open(log, "w")  # noqa: SIM115 - closed when the process is waited for
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    proc.log = log
    proc.logfile = out
    SPAWNED.append(proc)
    return proc


def finish(proc: subprocess.Popen) -> int:
    try:
        return proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.logfile.close()


def trials(url: str, study: str = "scale"):
    st = store.open_storage(url)
    out = st.get_all_trials(st.get_study_id_from_name(study), deepcopy=False)
    st.engine.dispose()
    return out


def by(t) -> int | None:
    """The pid of the worker that ran trial ``t``."""
    return t.user_attrs.get("worker", {}).get("pid")


def check_each_point_once(ts) -> list:
    """Exactly one COMPLETE trial per grid point, none outside the grid, none still
    RUNNING; returns the COMPLETE trials."""
    done = [t for t in ts if t.state == TrialState.COMPLETE]
    keys = [t.user_attrs["key"] for t in done]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    assert not twice, f"points completed more than once: {twice}"
    assert set(keys) == KEYS, f"missing {KEYS - set(keys)}, extra {set(keys) - KEYS}"
    running = [t.number for t in ts if t.state == TrialState.RUNNING]
    assert not running, f"trials left RUNNING: {running}"
    other = [t for t in ts if t.state not in (TrialState.COMPLETE, TrialState.FAIL)]
    assert not other, [(t.number, t.state) for t in other]
    return done


def comparable(result: dict) -> dict:
    """A trial's result without what may differ between two runs of it."""
    return {k: v for k, v in result.items() if k != "timing"}


def test_two_workers_run_each_point_once(pg_server, tmp_path):
    url = fresh_database(pg_server, "two_workers")
    steps = 50
    procs = [worker(url, steps, tmp_path / f"w{i}.log") for i in (1, 2)]
    # meanwhile, the same grid in one process on SQLite, for reference
    ref_url = f"sqlite:///{tmp_path}/ref.db"
    ref = worker(ref_url, steps, tmp_path / "ref.log")
    codes = [finish(p) for p in procs]
    for p, code in zip(procs, codes):
        assert code == 0, f"{p.log.name} exited {code}:\n{p.log.read_text()}"

    ts = trials(url)
    done = check_each_point_once(ts)
    for t in ts:
        if t.state == TrialState.FAIL:  # the loser of a race for one point
            assert t.user_attrs.get("failed_reason") == "duplicate", t.user_attrs
    pids = {by(t) for t in done}
    assert pids == {p.pid for p in procs}, "both workers should have run trials"

    # the one-process SQLite sweep: the same result for every point
    assert finish(ref) == 0, ref.log.read_text()
    ref_results = store.load_results(ref_url, "scale")
    pg_results = store.load_results(url, "scale")
    assert set(ref_results) == KEYS
    for key in sorted(KEYS):
        assert comparable(pg_results[key]) == comparable(ref_results[key]), key

    # a third worker afterwards: nothing left, no trial created
    third = worker(url, steps, tmp_path / "w3.log")
    assert finish(third) == 0, third.log.read_text()
    after = trials(url)
    assert len(after) == len(ts), "the third worker should have run nothing"
    assert [t.state for t in after] == [t.state for t in ts]


def test_a_killed_worker_loses_nothing(pg_server, tmp_path):
    url = fresh_database(pg_server, "killed_worker")
    steps = 1000  # 20x the other test's, 0.3-1 s a trial: killed mid-trial
    victim, survivor = (worker(url, steps, tmp_path / f"w{i}.log") for i in (1, 2))
    try:
        deadline = time.time() + WAIT_S
        killed = False
        while not killed:
            assert time.time() < deadline, "the workers did not get going"
            assert victim.poll() is None, victim.log.read_text()
            time.sleep(0.2)
            try:
                ts = trials(url)
            except Exception:  # noqa: BLE001 - tables or study not made yet
                continue
            if not any(t.state == TrialState.COMPLETE for t in ts):
                continue  # wait until the sweep is under way
            if not any(by(t) == victim.pid for t in ts):
                continue
            # freeze it, then kill it only if its latest trial is still running
            os.kill(victim.pid, signal.SIGSTOP)
            last = max(
                (t for t in trials(url) if by(t) == victim.pid),
                key=lambda t: t.number,
            )
            if last.state == TrialState.RUNNING:
                os.kill(victim.pid, signal.SIGKILL)
                killed = True
            else:
                os.kill(victim.pid, signal.SIGCONT)
    finally:
        if victim.poll() is None and not killed:
            victim.kill()
        victim.wait()  # reaped, so its pid is gone, as after a real crash
        victim.logfile.close()
    assert victim.returncode == -signal.SIGKILL

    fresh = worker(url, steps, tmp_path / "w3.log")
    for p in (survivor, fresh):
        code = finish(p)
        assert code == 0, f"{p.log.name} exited {code}:\n{p.log.read_text()}"

    ts = trials(url)
    check_each_point_once(ts)
    cut = next(t for t in ts if t.number == last.number)
    assert cut.state == TrialState.FAIL
    assert cut.user_attrs.get("failed_reason") == "stale"
