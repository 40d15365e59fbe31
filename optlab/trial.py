"""One trial: train a workload with an optimiser, an lr and a seed, and measure it."""

from __future__ import annotations

import contextlib
import math
import numbers
import platform
import subprocess
import time
from functools import cache
from pathlib import Path

import numpy as np
import torch

from . import __version__
from . import optimizers as optim_registry
from . import workloads as workload_registry

__all__ = ["CURVE_POINTS", "EVAL_POINTS", "check_args", "code_version", "run_trial"]

CURVE_POINTS = (
    100  # the training-loss curve is averaged down to at most this many points
)
EVAL_POINTS = (
    10  # validation metric measured this many times, evenly, the last at the end
)


def check_lr(lr) -> float:
    if (
        isinstance(lr, bool)
        or not isinstance(lr, numbers.Real)
        or not (0 < float(lr) < math.inf)
    ):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return float(lr)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_steps(steps) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(
            f"steps must be an integer >= 1 (or omitted for the workload's "
            f"budget), got {steps!r}"
        )
    return int(steps)


def check_device(device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} is not available here (no CUDA device): use 'cpu'"
        )
    return dev


def check_args(workload, optimizer, lr, seed, steps=None, device="cpu"):
    """Check the arguments of :func:`run_trial`; a ValueError names the first bad."""
    w = workload_registry.get(workload)
    optim_registry.check(optimizer)
    return w, check_lr(lr), check_seed(seed), check_steps(steps), check_device(device)


@contextlib.contextmanager
def _evaluation_point(opts):
    """Schedule-free optimisers are evaluated at their average x: ``eval()`` moves the
    parameters there, ``train()`` back (other optimisers have neither)."""
    modal = [o for o in opts if callable(getattr(o, "eval", None))]
    for o in modal:
        o.eval()
    try:
        yield
    finally:
        for o in modal:
            o.train()


@cache
def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "optlab", "optlib"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def code_version(device) -> dict:
    return {
        "git_commit": _git_commit(),
        "optlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "threads": torch.get_num_threads(),
    }


def _downsample(
    values: list[float], points: int = CURVE_POINTS, total: int | None = None
) -> tuple[list, list]:
    """(steps, means): the curve cut into at most ``points`` equal bins, each averaged;
    the step of a bin is its last step (1-based). With ``total`` the bins are those of
    a run of ``total`` steps, and only the bins that ``values`` fills are kept."""
    n = len(values) if total is None else total
    if n == 0:
        return [], []
    edges = np.linspace(0, n, min(points, n) + 1).round().astype(int)
    arr = np.asarray(values, dtype=np.float64)
    bins = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b <= len(values)]
    return [int(b) for _, b in bins], [float(arr[a:b].mean()) for a, b in bins]


def _switches(opts) -> list[dict] | None:
    """Where a switching optimiser (SWATS) switched, one entry per param group:
    ``{"step": k, "sgd_lr": Lambda}``, both None for a group that never switched. None
    for an optimiser that does not switch."""
    groups = [g for opt in opts for g in opt.param_groups if "switch_step" in g]
    if not groups:
        return None
    return [
        {"step": g["switch_step"],
         "sgd_lr": None if g["sgd_lr"] is None else float(g["sgd_lr"])}
        for g in groups
    ]


def _gap(
    train: float | None, test: float | None, higher_is_better: bool
) -> float | None:
    """How much worse the test metric is than the train metric (> 0: overfitting)."""
    if train is None or test is None:
        return None
    return train - test if higher_is_better else test - train


def run_trial(
    workload: str,
    optimizer: str,
    lr: float,
    seed: int,
    steps: int | None = None,
    device="cpu",
    stop_after: int | None = None,
) -> dict:
    """Train ``workload`` with ``optimizer`` at ``lr`` from ``seed`` for ``steps``.

    Returns a JSON-serialisable dict: ``config``, ``seed``, ``code`` (git commit,
    versions, device), ``val_metric`` and ``test_metric`` (final), ``train_metric`` (on
    a fixed training subset of the test set's size), ``train_loss`` (mean over the last
    10 % of steps), ``gap`` (train-test gap, positive when test is worse), ``curve``
    (training loss averaged down to at most 100 points), ``val_curve`` (validation
    metric at 10 evenly spaced steps), ``diverged`` (the loss became NaN or infinite;
    training stopped, metrics None), ``switches`` (SWATS: the step and
    :math:`\\Lambda` of its switch in each param group; None for the others) and
    ``timing``. On the CPU the same arguments give the same dict, timing aside.

    ``stop_after`` stops the trial after that many of its ``steps`` (schedules still
    span ``steps``): the result describes those first steps, with the curve's bins
    those of the whole budget, and final metrics measured where it stopped
    (:mod:`optlab.replay` checks stored trials this way).
    """
    w, lr, seed, steps, dev = check_args(workload, optimizer, lr, seed, steps, device)
    steps = w.steps if steps is None else steps
    if stop_after is not None and (
        isinstance(stop_after, bool)
        or not isinstance(stop_after, numbers.Integral)
        or stop_after < 1
    ):
        raise ValueError(
            f"stop_after must be an integer >= 1 (or None for the whole budget), "
            f"got {stop_after!r}"
        )
    last = steps if stop_after is None else min(steps, stop_after)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        problem = w.build(seed, dev)
    t_data = time.perf_counter() - t0
    opts, scheds = [], []
    for model in problem.models:
        opt, sched = optim_registry.build(optimizer, model, lr, steps)
        opts.append(opt)
        scheds.append(sched)
    eval_at = {int(round(steps * (k + 1) / EVAL_POINTS)) for k in range(EVAL_POINTS)}
    losses, val_steps, val_curve = [], [], []
    t_eval, diverged = 0.0, False
    t_train0 = time.perf_counter()
    for step in range(1, last + 1):
        loss = float(problem.train_step(opts, step))
        losses.append(loss)
        if not math.isfinite(loss):
            diverged = True
            break
        for sched in scheds:
            if sched is not None:
                sched.step()
        if step in eval_at:
            te = time.perf_counter()
            val_steps.append(step)
            with _evaluation_point(opts):
                val_curve.append(problem.evaluate("val"))
            t_eval += time.perf_counter() - te
    te = time.perf_counter()
    if diverged:
        val = test = train_metric = None
    else:
        with _evaluation_point(opts):
            val = val_curve[-1] if val_steps[-1:] == [last] else problem.evaluate("val")
            test, train_metric = problem.evaluate("test"), problem.evaluate("train")
    t_eval += time.perf_counter() - te
    t_total = time.perf_counter() - t0
    tail = losses[-max(1, len(losses) // 10) :]
    curve_steps, curve = _downsample(losses, total=None if last == steps else steps)
    return {
        "config": {
            "workload": w.name,
            "optimizer": optimizer,
            "lr": lr,
            "steps": steps,
            "batch_size": w.batch_size,
            "metric": w.metric,
            "higher_is_better": w.higher_is_better,
            "optimizer_hyper": optim_registry.describe(optimizer),
        },
        "seed": seed,
        "code": code_version(dev),
        "val_metric": val,
        "test_metric": test,
        "train_metric": train_metric,
        "train_loss": float(np.mean(tail)) if not diverged else None,
        "gap": _gap(train_metric, test, w.higher_is_better),
        "diverged": diverged,
        "steps_run": len(losses),
        "switches": _switches(opts),
        "curve": {
            "step": curve_steps,
            "train_loss": [c if math.isfinite(c) else None for c in curve],
        },
        "val_curve": {"step": val_steps, "val_metric": val_curve},
        "timing": {
            "total_s": t_total,
            "data_s": t_data,
            "eval_s": t_eval,
            "train_s": time.perf_counter() - t_train0 - t_eval,
        },
    }
