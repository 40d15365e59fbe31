"""Read the committed results: per-study summaries, one table, performance profiles.

A chapter calls :func:`summaries` to get every study of a store summarised by the
protocol (:func:`optlab.protocol.summarize`), :func:`table` for one row per (study,
optimiser), and :func:`performance_profile` for the aggregate of Dolan and Moré (2002)
that AlgoPerf uses: for each workload ``p`` and optimiser ``s`` with a cost ``t[p, s]``
(here the steps to reach the workload's target; never reached = infinite),

    r[p, s] = t[p, s] / min over s' of t[p, s'],
    rho_s(tau) = (number of workloads p with r[p, s] <= tau) / (number of workloads),

so ``rho_s(1)`` is the share of workloads on which ``s`` was fastest, and the height
``rho_s`` reaches as tau grows is the share it solved at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import protocol, store

__all__ = [
    "COMMITTED",
    "performance_profile",
    "steps_to_target_costs",
    "summaries",
    "table",
]

#: the committed store, found from the package (works from any working directory)
COMMITTED = "sqlite:///" + str(
    Path(__file__).resolve().parents[1] / "results" / "optlab.db"
)


def summaries(storage: str = COMMITTED) -> dict[str, dict]:
    """study name -> :func:`optlab.protocol.summarize` of its finished trials."""
    out = {}
    for name, _ in store.list_studies(storage):
        results = list(store.load_results(storage, name).values())
        if results:
            out[name] = protocol.summarize(results)
    return out


def table(summ: Mapping[str, dict]) -> list[dict]:
    """One flat row per (study, optimiser): the numbers a chapter prints or glues.

    Besides the protocol's fields, ``best_test`` names the study's optimiser with the
    best mean test metric and ``test_tied_with_best`` says whether a row's test interval
    overlaps that one's (the protocol's ``tied_with_best`` compares validation)."""
    rows = []
    for study, s in summ.items():
        pick = max if s["higher_is_better"] else min
        ok = [r for r in s["rows"] if not math.isnan(r["test_metric"][0])]
        top = pick(ok, key=lambda r: r["test_metric"][0]) if ok else None
        for r in sorted(s["rows"], key=lambda r: r["optimizer"]):
            rows.append(
                {
                    "study": study,
                    "optimizer": r["optimizer"],
                    "best_lr": r["best_lr"],
                    "grid": r["grid"],
                    "bracketed": r["bracketed"],
                    "seeds": len(r["seeds"]),
                    "diverged": r["diverged"],
                    "val": r["val_metric"],
                    "test": r["test_metric"],
                    "gap": r["gap"],
                    "steps": r["steps"],
                    "steps_to_target": r["steps_to_target"],
                    "reached": r["reached_target"],
                    "target": s["target"],
                    "target_from": s["target_from"],
                    "higher_is_better": s["higher_is_better"],
                    "tied_with_best": r["indistinguishable_from_best"],
                    "best_test": top["optimizer"] if top else None,
                    "test_tied_with_best": top is not None
                    and protocol.indistinguishable(
                        r["test_metric"][1:], top["test_metric"][1:]
                    ),
                }
            )
    return rows


def steps_to_target_costs(
    summ: Mapping[str, dict], optimizers: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """study -> optimiser -> median steps to the study's target (inf: never reached).

    Only the studies that ran every optimiser of ``optimizers`` (default: the ones
    every study ran) take part, so each cost is measured on the same problems."""
    ran = [{r["optimizer"] for r in s["rows"]} for s in summ.values()]
    if optimizers is None:
        optimizers = sorted(set.intersection(*ran)) if ran else []
    wanted = set(optimizers)
    costs = {}
    for study, s in summ.items():
        rows = {r["optimizer"]: r for r in s["rows"]}
        if not wanted <= set(rows):
            continue
        costs[study] = {
            o: (
                math.inf
                if rows[o]["steps_to_target"] is None
                else float(rows[o]["steps_to_target"])
            )
            for o in optimizers
        }
    return costs


def performance_profile(
    costs: Mapping[str, Mapping[str, float]], taus: Sequence[float]
) -> dict[str, list[float]]:
    """optimiser -> rho(tau) for each tau (see the module's docstring).

    ``costs`` maps problem -> optimiser -> cost (> 0; inf for a failure); every problem
    must list the same optimisers. A problem that no optimiser solved counts as a
    failure for all."""
    if not costs:
        raise ValueError("costs must hold at least one problem")
    names = None
    for p, row in costs.items():
        if names is None:
            names = sorted(row)
        elif sorted(row) != names:
            raise ValueError(
                f"problem {p!r} lists optimisers {sorted(row)}, not {names}"
            )
        for o, t in row.items():
            if not (t > 0):  # also refuses NaN
                raise ValueError(f"cost of {o!r} on {p!r} must be > 0, got {t!r}")
    if any(not (t >= 1) for t in taus):
        raise ValueError(f"every tau must be >= 1, got {list(taus)}")
    ratios = {o: [] for o in names}
    for row in costs.values():
        best = min(row.values())
        for o, t in row.items():
            ratios[o].append(t / best if math.isfinite(best) else math.inf)
    n = len(costs)
    return {
        o: [sum(r <= tau for r in rs) / n for tau in taus] for o, rs in ratios.items()
    }
