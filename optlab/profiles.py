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

For two optimisers of one study, :func:`compare` gives the verdict a chapter glues
("adam ahead", "indistinguishable at 10 seeds" or "not in the store yet"), from the test
intervals of :func:`table`'s rows; :func:`winner` is the same verdict as data,
:func:`check_claim` holds a claim (the lecture's, a toy run's) against it,
:data:`CLAIM_VERBS` and :func:`group_claims` put its answers into words,
:func:`format_rows` prints the rows a chapter compares, and :func:`format_tuning` the
learning-rate grid each row was tuned on. A row counts once it has its
finals: at least ``optlab.plan.FINAL_SEEDS`` seeds at the tuned rate.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from . import plan, protocol, store, workloads

__all__ = [
    "CLAIM_VERBS",
    "COMMITTED",
    "NOT_YET",
    "check_claim",
    "compare",
    "finished",
    "format_rows",
    "format_tuning",
    "group_claims",
    "performance_profile",
    "rows_for",
    "steps_to_target_costs",
    "summaries",
    "table",
    "tuning_points",
    "winner",
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


#: the verdict on a pair when either row is missing or unfinished
NOT_YET = "not in the store yet"


def finished(row: Mapping | None, min_seeds: int = plan.FINAL_SEEDS) -> bool:
    """Whether a row of :func:`table` has its finals (``min_seeds`` seeds or more)."""
    return row is not None and row["seeds"] >= min_seeds


def rows_for(
    rows: Sequence[Mapping], study: str, names: Sequence[str]
) -> dict[str, Mapping | None]:
    """name -> the row of :func:`table` for ``study`` (None where the store has none),
    in the order of ``names``."""
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of optimiser names, got {names!r}")
    found = {r["optimizer"]: r for r in rows if r["study"] == study}
    return {name: found.get(name) for name in names}


def _better_side(ra: Mapping, rb: Mapping) -> int:
    """+1 when a's test interval lies wholly on the better side of b's, -1 for the
    reverse, 0 when they overlap. A row whose every seed diverged (no mean) loses to
    one with a mean; a bound that is NaN counts as overlapping (the protocol's rule)."""
    (ma, la, ha), (mb, lb, hb) = ra["test"], rb["test"]
    if math.isnan(ma) or math.isnan(mb):
        return 0 if math.isnan(ma) == math.isnan(mb) else (-1 if math.isnan(ma) else 1)
    if protocol.indistinguishable((la, ha), (lb, hb)):
        return 0
    a_higher = la > hb
    return 1 if a_higher == bool(ra["higher_is_better"]) else -1


def winner(
    rows: Sequence[Mapping],
    study: str,
    a: str,
    b: str,
    min_seeds: int = plan.FINAL_SEEDS,
) -> str | None:
    """``a`` or ``b``, whichever has the better test interval when the two intervals do
    not overlap; ``""`` when they overlap (indistinguishable); None when either row is
    missing from ``study`` or has fewer than ``min_seeds`` seeds."""
    if a == b:
        raise ValueError(f"compare two different optimisers, got {a!r} twice")
    ra, rb = rows_for(rows, study, [a, b]).values()
    if not (finished(ra, min_seeds) and finished(rb, min_seeds)):
        return None
    side = _better_side(ra, rb)
    return a if side > 0 else b if side < 0 else ""


def compare(
    rows: Sequence[Mapping],
    study: str,
    a: str,
    b: str,
    labels: Mapping[str, str] | None = None,
    min_seeds: int = plan.FINAL_SEEDS,
) -> str:
    """The verdict on ``a`` against ``b`` in ``study``, as text for the prose:
    ``"<name> ahead"`` (``labels`` may rename it), ``"indistinguishable at N seeds"``
    (N the smaller seed count of the two) or :data:`NOT_YET`."""
    won = winner(rows, study, a, b, min_seeds)
    if won is None:
        return NOT_YET
    if won:
        return f"{(labels or {}).get(won, won)} ahead"
    seeds = min(r["seeds"] for r in rows_for(rows, study, [a, b]).values())
    return f"indistinguishable at {seeds} seeds"


def check_claim(
    rows: Sequence[Mapping],
    study: str,
    a: str,
    b: str,
    expected: str | None,
    min_seeds: int = plan.FINAL_SEEDS,
) -> str:
    """Hold a claim about ``a`` against ``b`` up to the store.

    ``expected`` is the optimiser the claim puts ahead (``a`` or ``b``), or None for a
    claim that the two do not differ. The answer is ``"confirmed"``, ``"not
    confirmed"`` (a winner was expected, the intervals overlap), ``"contradicted"``
    (the other one is ahead, or one is ahead where no difference was expected) or
    :data:`NOT_YET`."""
    if expected is not None and expected not in (a, b):
        raise ValueError(f"expected must be {a!r}, {b!r} or None, got {expected!r}")
    won = winner(rows, study, a, b, min_seeds)
    if won is None:
        return NOT_YET
    if won == (expected or ""):
        return "confirmed"
    return "not confirmed" if not won else "contradicted"


#: check_claim's answer as what "the store ..." does to the claim, for the prose
CLAIM_VERBS = {
    "confirmed": "confirms",
    "not confirmed": "does not confirm",
    "contradicted": "contradicts",
    NOT_YET: "cannot yet test",
}


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def group_claims(answers: Mapping[str, str]) -> str:
    """label -> :func:`check_claim`'s answer, as one phrase grouped by answer:
    ``"confirmed for one-cycle and CyclicLR, not confirmed for SGDR"`` (answers in the
    order of :data:`CLAIM_VERBS`, labels in the order given)."""
    unknown = sorted(set(answers.values()) - set(CLAIM_VERBS))
    if unknown:
        raise ValueError(f"not an answer of check_claim: {unknown}")
    if not answers:
        raise ValueError("group_claims needs at least one answer")
    parts = []
    for answer in CLAIM_VERBS:
        labels = [label for label, a in answers.items() if a == answer]
        if labels:
            parts.append(f"{answer} for {_and(labels)}")
    return ", ".join(parts)


def _metric(study: str, higher: bool) -> str:
    w = workloads.WORKLOADS.get(study)
    name = w.metric.replace("_", " ") if w else "metric"
    return f"test {name} ({'higher' if higher else 'lower'} is better)"


def format_rows(
    rows: Sequence[Mapping],
    study: str,
    names: Sequence[str],
    digits: int = 3,
    min_seeds: int = plan.FINAL_SEEDS,
) -> str:
    """The rows of ``names`` in ``study`` as a small text table: optimiser, tuned lr,
    test mean [95 % interval], seeds; a row with fewer than ``min_seeds`` seeds is
    marked unfinished (its finals are still running), a name the store lacks is shown
    as :data:`NOT_YET`."""
    picked = rows_for(rows, study, names)
    present = [r for r in picked.values() if r is not None]
    if present:
        head = f"{study}: {_metric(study, present[0]['higher_is_better'])}"
        head += f", {present[0]['steps']} steps"
    else:
        head = f"{study}: {NOT_YET}"
    width = max([len("optimizer"), *(len(n) for n in names)])
    interval = "test mean [95 % interval]"
    lines = [head, f"  {'optimizer':{width}}  {'tuned lr':>8}  {interval:25}  seeds"]
    for name, r in picked.items():
        if r is None:
            lines.append(f"  {name:{width}}  {NOT_YET}")
            continue
        mean, lo, hi = (float(x) for x in r["test"])
        cell = f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
        note = "" if finished(r, min_seeds) else " (unfinished)"
        lines.append(f"  {name:{width}}  {r['best_lr']:>8.3g}  {cell:25}  "
                     f"{r['seeds']:>5}{note}")
    return "\n".join(lines)


def tuning_points(
    results: Iterable[Mapping], names: Sequence[str]
) -> dict[str, dict[float, tuple[float, int]]]:
    """name -> lr -> (median final validation metric, number of seeds) over the finished
    trials ``results`` (of one study): the points the protocol chose the lr from. A
    diverged run counts as the worst value, as in :func:`optlab.protocol.best_lr`, so a
    median can be -inf or inf ("diverged")."""
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of optimiser names, got {names!r}")
    values: dict[str, dict[float, list[float]]] = {name: {} for name in names}
    for r in results:
        name = r["config"]["optimizer"]
        if name in values:
            score = protocol._score(r, r["config"]["higher_is_better"])
            values[name].setdefault(float(r["config"]["lr"]), []).append(score)
    return {
        name: {lr: (statistics.median(v), len(v)) for lr, v in sorted(by_lr.items())}
        for name, by_lr in values.items()
    }


def format_tuning(
    results: Iterable[Mapping], study: str, names: Sequence[str], digits: int = 3
) -> str:
    """:func:`tuning_points` as a text table, one line per lr and one column per
    name: the median final validation metric and, in brackets, its number of seeds
    (one while tuning, the finals at the tuned lr); "-" where a name has no run at
    that lr."""
    points = tuning_points(results, names)
    lrs = sorted({lr for by_lr in points.values() for lr in by_lr})
    w = workloads.WORKLOADS.get(study)
    metric = w.metric.replace("_", " ") if w else "metric"
    width = max([12, *(len(n) for n in names)])
    lines = [f"{study}: final validation {metric} at each lr (median [seeds])",
             f"  {'lr':>8}" + "".join(f"  {n:>{width}}" for n in names)]
    for lr in lrs:
        cells = []
        for name in names:
            if lr not in points[name]:
                cells.append("-")
                continue
            value, n = points[name][lr]
            shown = f"{value:.{digits}f}" if math.isfinite(value) else "diverged"
            cells.append(f"{shown} [{n}]")
        lines.append(f"  {lr:>8.3g}" + "".join(f"  {c:>{width}}" for c in cells))
    return "\n".join(lines)
