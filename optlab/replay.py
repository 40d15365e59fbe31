"""Re-run stored trials and compare them with what the store recorded.

The committed results are evidence only while they keep reproducing. :func:`replay`
re-runs a stored trial from its configuration and seed: all of it, or only its first
steps (the schedule still spans the stored budget, so those steps are the same ones).
:func:`compare` then lists every recorded number the replay disagrees with, within
:data:`TOLERANCE`:

- the training loss, bin by bin of the stored curve (relative ``curve_rtol``);
- the validation metric at each recorded step the replay reached, and the final
  validation, test and train metrics when it ran the whole budget: an accuracy may
  differ by ``accuracy_atol`` (one example of the smallest held-out split, 300
  digits), any other metric by the relative ``metric_rtol``.

On the machine that ran the sweep (same torch, threads and CPU kernels) a replay is
bit-identical; the tolerance absorbs a processor that rounds a sum differently.
"""

from __future__ import annotations

import math

from . import trial as trial_mod

__all__ = ["TOLERANCE", "compare", "replay", "sample"]

TOLERANCE = {"curve_rtol": 1e-4, "metric_rtol": 1e-4, "accuracy_atol": 1 / 300}


def replay(stored: dict, steps: int | None = None, device="cpu") -> dict:
    """Run ``stored``'s trial again: its first ``steps`` steps (default: all)."""
    c = stored["config"]
    return trial_mod.run_trial(
        c["workload"], c["optimizer"], c["lr"], stored["seed"], c["steps"], device,
        stop_after=steps,
    )


def _close(a, b, metric: str) -> bool:
    if a is None or b is None:
        return a is b
    if metric == "accuracy":
        return abs(a - b) <= TOLERANCE["accuracy_atol"] + 1e-12
    return math.isclose(a, b, rel_tol=TOLERANCE["metric_rtol"], abs_tol=1e-12)


def compare(stored: dict, again: dict) -> list[str]:
    """What ``again`` (a replay of ``stored``) disagrees with; [] when it reproduces."""
    problems = []
    metric = stored["config"]["metric"]
    old = dict(zip(stored["curve"]["step"], stored["curve"]["train_loss"]))
    new = dict(zip(again["curve"]["step"], again["curve"]["train_loss"]))
    if not new:
        problems.append("the replay recorded no training loss")
    for step, loss in new.items():
        if step not in old:
            problems.append(f"step {step}: not a bin of the stored curve")
        elif old[step] is None or loss is None:
            if old[step] is not loss:
                problems.append(f"loss at step {step}: stored {old[step]}, now {loss}")
        elif not math.isclose(loss, old[step], rel_tol=TOLERANCE["curve_rtol"]):
            problems.append(f"loss at step {step}: stored {old[step]!r}, now {loss!r}")
    old_val = dict(zip(stored["val_curve"]["step"], stored["val_curve"]["val_metric"]))
    for step, v in zip(again["val_curve"]["step"], again["val_curve"]["val_metric"]):
        if not _close(v, old_val.get(step), metric):
            problems.append(f"{metric} at step {step}: stored {old_val.get(step)!r}, "
                            f"now {v!r}")
    if again["steps_run"] == stored["steps_run"]:
        for key in ("val_metric", "test_metric", "train_metric", "diverged"):
            if key == "diverged":
                same = again[key] == stored[key]
            else:
                same = _close(again[key], stored[key], metric)
            if not same:
                problems.append(
                    f"final {key}: stored {stored[key]!r}, now {again[key]!r}"
                )
    return problems


def sample(results: list[dict]) -> list[dict]:
    """A few trials that stand for one study: at the finals' lr of the study's first
    and last optimiser (the plan's order), the trial of seed 1 (seed 0 also ran the
    tuning), falling back to any trial of that optimiser."""
    by_opt: dict[str, list[dict]] = {}
    for r in results:
        by_opt.setdefault(r["config"]["optimizer"], []).append(r)
    picked = []
    for name in dict.fromkeys([next(iter(by_opt)), list(by_opt)[-1]]):
        rs = by_opt[name]
        counts: dict[float, int] = {}
        for r in rs:
            counts[r["config"]["lr"]] = counts.get(r["config"]["lr"], 0) + 1
        lr = max(sorted(counts), key=counts.get)
        at = sorted((r for r in rs if r["config"]["lr"] == lr), key=lambda r: r["seed"])
        picked.append(next((r for r in at if r["seed"] == 1), at[0]))
    return picked
