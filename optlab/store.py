"""Sweeps kept in an Optuna storage: resumable, safe to run from many workers at once.

A sweep is a grid of (optimizer, lr, seed) points on one workload with one step budget,
kept as an Optuna study (SQLite by default, or any URL Optuna accepts:
``postgresql://...`` for many workers). Each point is one Optuna trial: ``params`` hold
``lr`` and ``seed``, the user attrs ``optimizer``, ``key`` and, once finished,
``result`` (the dict of :func:`optlab.trial.run_trial`); the trial's value is the final
validation metric (-inf / +inf when the run diverged).

How a worker goes through the grid:

* a point with a COMPLETE trial is done and never run again (a rerun is a resume);
* a point with a RUNNING trial whose worker is alive is left to that worker; a RUNNING
  trial is *stale* when its process is gone (same host) or its heartbeat (``heartbeat``
  user attr, refreshed every ``heartbeat_s`` seconds) is older than ``stale_s``: it is
  marked FAIL and the point is run again;
* a worker claims a point by creating a RUNNING trial that carries the point's key in
  one write; if two workers claim the same point, the lower trial number keeps it and
  the other marks its own trial FAIL (``duplicate``) and moves on, so each point
  completes once;
* Ctrl-C or an exception marks the trial FAIL; ``kill -9`` leaves it RUNNING until it is
  stale.

The study's user attrs record the workload, the step budget and the schema; a sweep that
asks for another workload or budget under the same study name is refused before anything
is written.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from . import optimizers as optim_registry
from . import trial as trial_mod
from . import workloads as workload_registry

__all__ = [
    "DEFAULT_STORAGE",
    "SCHEMA",
    "StoreError",
    "check_sweep",
    "load_results",
    "open_storage",
    "point_key",
    "sweep",
]

DEFAULT_STORAGE = "sqlite:///results/optlab.db"
SCHEMA = 1


class StoreError(ValueError):
    """A storage that cannot be reached, or a study that does not fit the sweep."""


def _optuna():
    try:
        with warnings.catch_warnings():
            # optuna imports tqdm.auto, which warns inside a notebook without ipywidgets
            warnings.filterwarnings("ignore", message="IProgress not found")
            import optuna
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise StoreError(
            "storage: the package optuna is needed (pip install optuna)"
        ) from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def point_key(optimizer: str, lr: float, seed: int) -> str:
    return f"{optimizer}|{float(lr):.10g}|{int(seed)}"


def open_storage(url: str):
    """An Optuna RDB storage for ``url``; a StoreError says why it cannot be reached.

    For a SQLite file the folder is created when missing."""
    optuna = _optuna()
    if not isinstance(url, str) or "://" not in url:
        raise StoreError(
            f"storage must be a database URL such as {DEFAULT_STORAGE} or "
            f"postgresql://user@host/db, got {url!r}"
        )
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///") :])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"storage {url!r} is unreachable: cannot create folder "
                f"{path.parent} ({err.strerror})"
            ) from None
    # Workers that open a fresh server database at the same moment race to create
    # Optuna's tables (PostgreSQL: a unique violation in pg_type, or "already exists"):
    # such an error is retried, as the tables are there on the next try. A connection
    # error (OperationalError) is reported at once.
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
        except (
            IntegrityError,
            ProgrammingError,
            optuna.exceptions.StorageInternalError,
        ) as err:
            if attempt == 4:
                last = err
                break
            time.sleep(0.2 + 0.3 * attempt)
        except Exception as err:  # noqa: BLE001 - any driver or connection error
            last = err
            break
    text = str(last).strip()
    reason = text.splitlines()[0] if text else type(last).__name__
    raise StoreError(f"storage {url!r} is unreachable: {reason[:200]}") from None


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # wait for another writer, don't fail
    if url.startswith(("postgresql", "mysql")):
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def _study_attrs(workload, steps: int) -> dict:
    return {
        "optlab_schema": SCHEMA,
        "workload": workload.name,
        "steps": steps,
        "metric": workload.metric,
        "higher_is_better": workload.higher_is_better,
    }


def _find_study(storage, name: str):
    optuna = _optuna()
    try:
        return storage.get_study_id_from_name(name)
    except KeyError:
        return None
    except optuna.exceptions.OptunaError:  # pragma: no cover
        return None


def check_sweep(
    workload: str,
    optimizers: Iterable[str],
    lrs: Iterable[float],
    seeds: Iterable[int],
    steps: int | None = None,
) -> tuple:
    """Check a sweep's arguments; a ValueError names the first bad one. Returns
    (workload, optimizers, lrs, seeds, steps) with the budget filled in."""
    w = workload_registry.get(workload)
    optimizers, lrs, seeds = list(optimizers), list(lrs), list(seeds)
    if not optimizers:
        raise ValueError(
            f"optimizers must name at least one optimizer: {optim_registry.allowed()}"
        )
    for name in optimizers:
        optim_registry.check(name)
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate (finite, > 0)")
    lrs = [trial_mod.check_lr(lr) for lr in lrs]
    if not seeds:
        raise ValueError("seeds must hold at least one seed (integers >= 0)")
    seeds = [trial_mod.check_seed(s) for s in seeds]
    steps = trial_mod.check_steps(steps)
    return w, optimizers, lrs, seeds, w.steps if steps is None else steps


def prepare_study(storage, study: str, w, steps: int) -> int:
    """The id of study ``study`` for workload ``w`` and budget ``steps``, created if
    missing; a StoreError when it exists with another workload, budget or schema (and
    nothing is written)."""
    optuna = _optuna()
    want = _study_attrs(w, steps)
    sid = _find_study(storage, study)
    if sid is not None:
        have = storage.get_study_user_attrs(sid)
        # Another worker may have just created the study and still be writing its
        # attrs (one write each): give it a moment before calling the study foreign.
        deadline = time.time() + 10.0
        while any(k not in have for k in want) and time.time() < deadline:
            time.sleep(0.2)
            have = storage.get_study_user_attrs(sid)
        diff = [
            k for k in ("optlab_schema", "workload", "steps") if have.get(k) != want[k]
        ]
        if diff:
            got = ", ".join(f"{k}={have.get(k)!r}" for k in diff)
            asked = ", ".join(f"{k}={want[k]!r}" for k in diff)
            raise StoreError(
                f"study {study!r} already holds an incompatible sweep ({got}; "
                f"this one has {asked}): choose another --study name"
            )
        return sid
    direction = (
        optuna.study.StudyDirection.MAXIMIZE
        if w.higher_is_better
        else optuna.study.StudyDirection.MINIMIZE
    )
    try:
        sid = storage.create_new_study([direction], study)
    except optuna.exceptions.DuplicatedStudyError:  # another worker was faster
        return prepare_study(storage, study, w, steps)
    for k, v in want.items():
        storage.set_study_user_attr(sid, k, v)
    return sid


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _is_stale(t, stale_s: float) -> bool:
    worker = t.user_attrs.get("worker") or {}
    if worker.get("host") == socket.gethostname() and worker.get("pid") != os.getpid():
        pid = worker.get("pid")
        if isinstance(pid, int) and not _pid_alive(pid):
            return True
    beat = t.user_attrs.get("heartbeat")
    if beat is None and t.datetime_start is not None:
        beat = t.datetime_start.timestamp()
    return beat is None or time.time() - beat > stale_s


class _Heartbeat:
    def __init__(self, storage, trial_id: int, every: float):
        self.storage, self.trial_id, self.every = storage, trial_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            try:
                self.storage.set_trial_user_attr(
                    self.trial_id, "heartbeat", time.time()
                )
            except Exception:  # noqa: BLE001 - a missed beat only ages the trial
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def sweep(
    workload: str,
    optimizers: Iterable[str],
    lrs: Iterable[float],
    seeds: Iterable[int],
    steps: int | None = None,
    storage: str = DEFAULT_STORAGE,
    study: str | None = None,
    device="cpu",
    progress: bool = False,
    heartbeat_s: float = 10.0,
    stale_s: float = 60.0,
    poll_s: float = 5.0,
    on_trial: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Run every point of the grid that has no finished trial yet; return all the grid's
    results (finished earlier or now), in grid order. ``study`` defaults to the
    workload's
    name. ``on_trial(result)`` is called after each trial this call runs."""
    optuna = _optuna()
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    w, optimizers, lrs, seeds, steps = check_sweep(
        workload, optimizers, lrs, seeds, steps
    )
    trial_mod.check_device(device)
    study = study or w.name
    st = open_storage(storage)
    sid = prepare_study(st, study, w, steps)
    points = [(o, lr, s) for o in optimizers for lr in lrs for s in seeds]
    keys = [point_key(*p) for p in points]
    dists = {
        "lr": FloatDistribution(1e-12, 1e6, log=True),
        "seed": IntDistribution(0, 2**31 - 1),
    }
    worker = {"host": socket.gethostname(), "pid": os.getpid()}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(points), desc=f"{study}", unit="trial")

    def by_key():
        index: dict[str, list] = {}
        for t in st.get_all_trials(sid, deepcopy=False):
            index.setdefault(t.user_attrs.get("key"), []).append(t)
        return index

    try:
        while True:
            index = by_key()
            done = {
                k
                for k in keys
                if any(t.state == TrialState.COMPLETE for t in index.get(k, []))
            }
            if bar is not None:
                bar.n = len(done)
                bar.refresh()
            todo = [(p, k) for p, k in zip(points, keys) if k not in done]
            if not todo:
                break
            ran = False
            for (opt_name, lr, seed), key in todo:
                running = [
                    t for t in index.get(key, []) if t.state == TrialState.RUNNING
                ]
                busy = False
                for t in running:
                    if _is_stale(t, stale_s):
                        tid = t._trial_id
                        try:
                            st.set_trial_user_attr(tid, "failed_reason", "stale")
                            st.set_trial_state_values(tid, TrialState.FAIL)
                        except optuna.exceptions.UpdateFinishedTrialError:
                            pass  # another worker marked it (or it just finished)
                    else:
                        busy = True
                if busy:
                    continue
                template = create_trial(
                    state=TrialState.RUNNING,
                    params={"lr": lr, "seed": seed},
                    distributions=dists,
                    user_attrs={
                        "key": key,
                        "optimizer": opt_name,
                        "worker": worker,
                        "heartbeat": time.time(),
                    },
                )
                tid = st.create_new_trial(sid, template_trial=template)
                number = st.get_trial_number_from_id(tid)
                rivals = [
                    t
                    for t in st.get_all_trials(sid, deepcopy=False)
                    if t.user_attrs.get("key") == key
                    and t.number != number
                    and (
                        t.state == TrialState.COMPLETE
                        or (t.state == TrialState.RUNNING and t.number < number)
                    )
                ]
                if rivals:
                    st.set_trial_user_attr(tid, "failed_reason", "duplicate")
                    st.set_trial_state_values(tid, TrialState.FAIL)
                    continue
                try:
                    with _Heartbeat(st, tid, heartbeat_s):
                        result = trial_mod.run_trial(
                            w.name, opt_name, lr, seed, steps, device
                        )
                except BaseException as err:
                    st.set_trial_user_attr(tid, "failed_reason", type(err).__name__)
                    st.set_trial_state_values(tid, TrialState.FAIL)
                    raise
                st.set_trial_user_attr(tid, "result", result)
                value = result["val_metric"]
                if value is None:  # diverged: the worst value there is
                    value = -math.inf if w.higher_is_better else math.inf
                st.set_trial_state_values(tid, TrialState.COMPLETE, values=[value])
                ran = True
                if on_trial is not None:
                    on_trial(result)
                break  # re-read the study: other workers may have moved on
            if not ran:
                time.sleep(poll_s)  # every open point is running elsewhere: wait for it
    finally:
        if bar is not None:
            bar.close()
    results = load_results(storage, study, _storage=st)
    return [results[k] for k in keys]


def load_results(storage: str, study: str, _storage=None) -> dict[str, dict]:
    """key -> result dict of every finished trial of ``study`` (the first per key)."""
    from optuna.trial import TrialState

    st = _storage if _storage is not None else open_storage(storage)
    sid = _find_study(st, study)
    if sid is None:
        raise StoreError(f"study {study!r} is not in storage {storage!r}")
    out: dict[str, dict] = {}
    for t in sorted(
        st.get_all_trials(sid, deepcopy=False, states=(TrialState.COMPLETE,)),
        key=lambda t: t.number,
    ):
        out.setdefault(t.user_attrs["key"], t.user_attrs["result"])
    return out


def list_studies(storage: str) -> list[tuple[str, dict]]:
    """(name, user attrs) of every optlab study in ``storage``."""
    st = open_storage(storage)
    out = []
    for s in st.get_all_studies():
        if "optlab_schema" in s.user_attrs:
            out.append((s.study_name, dict(s.user_attrs)))
    return out
