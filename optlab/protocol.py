"""The fair protocol (after DeepOBS and AlgoPerf) and its statistics.

For each optimiser on a workload, with the same step budget for all:

1. **Tune** the learning rate on a log grid with a few seeds; the best lr is the one
   with the best *median* final validation metric over those seeds (a diverged run
   counts as the worst).
2. **Bracket**: if the best lr is at an end of the grid, extend the grid past that end
   by the grid's own ratio (10 for a one-point grid) and run the new point; repeat (at
   most ``max_extensions`` times) until the best lies inside the grid.
3. **Finals**: rerun the best lr with ``final_seeds`` seeds (10 or more).
4. **Report** per optimiser the mean and 95 % Student-t interval of the final validation
   and test metric, the train-test gap and the steps to reach the target, the target
   being the median final validation metric of the best optimiser's finals (as AlgoPerf
   sets targets from its best baseline). Two optimisers whose intervals overlap are
   *indistinguishable*.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence

from scipy import stats

from . import store

__all__ = [
    "MIN_FINAL_SEEDS",
    "best_lr",
    "extend_grid",
    "finals_lr",
    "indistinguishable",
    "run_protocol",
    "steps_to_target",
    "summarize",
    "t_interval",
]

MIN_FINAL_SEEDS = 10


def t_interval(
    values: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean, ``mean ± t * s / sqrt(n)``
    with
    ``s`` the sample standard deviation and ``t`` the two-sided quantile with n-1
    degrees of
    freedom. One value gives an interval of NaNs; no value is an error."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("t_interval needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return mean, math.nan, math.nan
    s = statistics.stdev(values)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * s / math.sqrt(n)
    return mean, mean - half, mean + half


def indistinguishable(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two intervals (low, high) that overlap (a NaN bound counts as overlapping)."""
    if any(math.isnan(x) for x in (*a, *b)):
        return True
    return a[0] <= b[1] and b[0] <= a[1]


def _score(result: dict, higher_is_better: bool) -> float:
    v = result.get("val_metric")
    if v is None or not math.isfinite(v):
        return -math.inf if higher_is_better else math.inf
    return v


def best_lr(results: Iterable[dict], higher_is_better: bool) -> float:
    """The lr whose median final validation metric over its seeds is best."""
    by_lr: dict[float, list[float]] = {}
    for r in results:
        by_lr.setdefault(r["config"]["lr"], []).append(_score(r, higher_is_better))
    if not by_lr:
        raise ValueError("best_lr needs at least one result")
    pick = max if higher_is_better else min
    return pick(sorted(by_lr), key=lambda lr: statistics.median(by_lr[lr]))


def extend_grid(
    lrs: Sequence[float], best: float, factor: float | None = None
) -> list[float]:
    """The new lr to try when ``best`` is at an end of the grid ``lrs`` ([] when
    inside).

    ``factor`` defaults to the grid's mean ratio between neighbours (10 for a single
    point).
    """
    grid = sorted(set(float(x) for x in lrs))
    if best not in grid:
        raise ValueError(f"best lr {best!r} is not in the grid {grid}")
    if factor is None:
        factor = (
            (grid[-1] / grid[0]) ** (1 / (len(grid) - 1)) if len(grid) > 1 else 10.0
        )
    if not factor > 1:
        raise ValueError(f"factor must be > 1, got {factor!r}")
    if len(grid) == 1:
        return [grid[0] / factor, grid[0] * factor]
    if best == grid[0]:
        return [grid[0] / factor]
    if best == grid[-1]:
        return [grid[-1] * factor]
    return []


def finals_lr(results: Iterable[dict], higher_is_better: bool) -> float:
    """The lr a study's row reports: the one that ran the most seeds (under the
    protocol, the lr of the finals), the best median among lrs with as many.

    Comparing medians over all lrs would let a one-seed lr of the tuning grid overtake
    the finals' lr whenever one of the finals' seeds diverges."""
    results = list(results)
    counts: dict[float, int] = {}
    for r in results:
        counts[r["config"]["lr"]] = counts.get(r["config"]["lr"], 0) + 1
    if not counts:
        raise ValueError("finals_lr needs at least one result")
    most = max(counts.values())
    return best_lr(
        [r for r in results if counts[r["config"]["lr"]] == most], higher_is_better
    )


def steps_to_target(result: dict, target: float, higher_is_better: bool) -> int | None:
    """The first recorded step whose validation metric reaches ``target`` (None if
    never)."""
    curve = result.get("val_curve") or {}
    for step, v in zip(curve.get("step", []), curve.get("val_metric", [])):
        if v is not None and (v >= target if higher_is_better else v <= target):
            return step
    return None


def summarize(results: Iterable[dict]) -> dict:
    """Per optimiser: best lr (:func:`finals_lr`), its grid, and at the best lr the mean
    and 95 % interval of the final validation and test metric, the gap, the divergences
    and the steps to target."""
    results = list(results)
    if not results:
        raise ValueError("summarize needs at least one result")
    higher = results[0]["config"]["higher_is_better"]
    by_opt: dict[str, list[dict]] = {}
    for r in results:
        by_opt.setdefault(r["config"]["optimizer"], []).append(r)
    rows = {}
    for name, rs in by_opt.items():
        lr = finals_lr(rs, higher)
        at = [r for r in rs if r["config"]["lr"] == lr]
        ok = [r for r in at if not r["diverged"]]
        row = {
            "optimizer": name,
            "best_lr": lr,
            "grid": sorted({r["config"]["lr"] for r in rs}),
            "seeds": sorted(r["seed"] for r in at),
            "diverged": len(at) - len(ok),
            "steps": at[0]["config"]["steps"],
        }
        for field in ("val_metric", "test_metric", "gap"):
            vals = [r[field] for r in ok if r[field] is not None]
            row[field] = t_interval(vals) if vals else (math.nan, math.nan, math.nan)
        grid = row["grid"]
        row["bracketed"] = len(grid) > 2 and grid[0] < lr < grid[-1]
        rows[name] = (row, ok)
    pick = max if higher else min
    best = pick(
        rows,
        key=lambda n: (
            rows[n][0]["val_metric"][0]
            if not math.isnan(rows[n][0]["val_metric"][0])
            else (-math.inf if higher else math.inf)
        ),
    )
    target = (
        statistics.median(r["val_metric"] for r in rows[best][1])
        if rows[best][1]
        else math.nan
    )
    out = []
    for name, (row, ok) in rows.items():
        reached = [
            s for s in (steps_to_target(r, target, higher) for r in ok) if s is not None
        ]
        row["steps_to_target"] = statistics.median(reached) if reached else None
        row["reached_target"] = f"{len(reached)}/{len(row['seeds'])}"
        row["indistinguishable_from_best"] = indistinguishable(
            row["val_metric"][1:], rows[best][0]["val_metric"][1:]
        )
        out.append(row)
    return {
        "target": target,
        "target_from": best,
        "higher_is_better": higher,
        "rows": out,
    }


def run_protocol(
    workload: str,
    optimizers: Sequence[str],
    lrs: Sequence[float],
    tune_seeds: Sequence[int] = (0, 1),
    final_seeds: int = MIN_FINAL_SEEDS,
    steps: int | None = None,
    max_extensions: int = 3,
    sweep_fn: Callable[..., list[dict]] | None = None,
    **sweep_kwargs,
) -> dict:
    """Tune, bracket and rerun with ``final_seeds`` seeds, for every optimiser; returns
    :func:`summarize` of all the trials plus, per optimiser, the grid it ended with.

    ``sweep_fn`` (default :func:`optlab.store.sweep`) runs a grid and returns its
    results;
    ``sweep_kwargs`` go to it (storage, study, device, progress...)."""
    if (
        isinstance(final_seeds, bool)
        or not isinstance(final_seeds, int)
        or final_seeds < MIN_FINAL_SEEDS
    ):
        raise ValueError(
            f"final_seeds must be an integer >= {MIN_FINAL_SEEDS}, got {final_seeds!r}"
        )
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate (finite, > 0)")
    sweep_fn = sweep_fn or store.sweep
    every, grids = [], {}
    for name in optimizers:
        grid = sorted(float(x) for x in lrs)
        results = sweep_fn(
            workload, [name], grid, list(tune_seeds), steps, **sweep_kwargs
        )
        higher = results[0]["config"]["higher_is_better"]
        for _ in range(max_extensions):
            new = extend_grid(grid, best_lr(results, higher))
            new = [x for x in new if x not in grid]
            if not new:
                break
            grid = sorted(grid + new)
            results += sweep_fn(
                workload, [name], new, list(tune_seeds), steps, **sweep_kwargs
            )
        lr = best_lr(results, higher)
        finals = sweep_fn(
            workload, [name], [lr], list(range(final_seeds)), steps, **sweep_kwargs
        )
        seen = {(r["config"]["lr"], r["seed"]) for r in results}
        results += [r for r in finals if (r["config"]["lr"], r["seed"]) not in seen]
        grids[name] = grid
        every += results
    summary = summarize(every)
    summary["grids"] = grids
    return summary
