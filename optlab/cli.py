"""``python -m optlab``: list workloads, run one trial, run a resumable sweep, report.

    python -m optlab workloads
    python -m optlab run WORKLOAD --optimizer NAME --lr LR --seed S [--steps N]
        [--device D]
    python -m optlab sweep WORKLOAD --optimizers A,B --lrs X,Y --seeds 0,1 [--steps N]
        [--storage URL] [--study NAME] [--device D] [--protocol]
    python -m optlab report [--storage URL] [--study NAME] [--out DIR]
    python -m optlab replay [--storage URL] [--study NAME] [--all] [--steps N]

Bad input prints one line naming the argument and what is allowed, and exits with status
2 before the store is opened for writing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from . import optimizers as optim_registry
from . import protocol, store
from . import trial as trial_mod
from . import workloads as workload_registry


class BadInput(Exception):
    """A bad argument: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, status 2
        raise BadInput(message)


def _wrap(arg: str, fn, *a):
    try:
        return fn(*a)
    except (ValueError, TypeError) as err:
        raise BadInput(f"{arg}: {err}") from None


def _floats(arg: str, text: str) -> list[float]:
    out = []
    for part in [p for p in text.split(",") if p.strip()]:
        try:
            out.append(float(part))
        except ValueError:
            raise BadInput(
                f"{arg}: {part!r} is not a number (give finite numbers > 0, "
                f"comma-separated)"
            ) from None
    return out


def _ints(arg: str, text: str) -> list[int]:
    out = []
    for part in [p for p in text.split(",") if p.strip()]:
        try:
            out.append(int(part))
        except ValueError:
            raise BadInput(
                f"{arg}: {part!r} is not an integer (give integers >= 0, "
                f"comma-separated)"
            ) from None
    return out


def _names(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _threads(args) -> None:
    if args.threads is not None:
        if args.threads < 1:
            raise BadInput(f"--threads: must be an integer >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)


def _check_workload(name: str):
    return _wrap("WORKLOAD", workload_registry.get, name)


def cmd_workloads(args) -> int:
    print(f"{'name':18} {'steps':>6} {'batch':>6}  {'metric':14} description")
    for w in workload_registry.WORKLOADS.values():
        arrow = "higher is better" if w.higher_is_better else "lower is better"
        print(
            f"{w.name:18} {w.steps:6d} {w.batch_size:6d}  {w.metric:14} "
            f"{w.description} "
            f"({arrow})"
        )
    return 0


def cmd_run(args) -> int:
    _check_workload(args.workload)
    _wrap("--optimizer", optim_registry.check, args.optimizer)
    _wrap("--lr", trial_mod.check_lr, args.lr)
    _wrap("--seed", trial_mod.check_seed, args.seed)
    _wrap("--steps", trial_mod.check_steps, args.steps)
    _wrap("--device", trial_mod.check_device, args.device)
    _threads(args)
    result = trial_mod.run_trial(
        args.workload, args.optimizer, args.lr, args.seed, args.steps, args.device
    )
    print(json.dumps(result))
    return 0


def cmd_sweep(args) -> int:
    _check_workload(args.workload)
    opts = _names(args.optimizers)
    if not opts:
        raise BadInput(f"--optimizers: give at least one, {optim_registry.allowed()}")
    for name in opts:
        _wrap("--optimizers", optim_registry.check, name)
    lrs = _floats("--lrs", args.lrs)
    if not lrs:
        raise BadInput("--lrs: give at least one learning rate (finite, > 0)")
    for lr in lrs:
        _wrap("--lrs", trial_mod.check_lr, lr)
    seeds = _ints("--seeds", args.seeds)
    if not seeds:
        raise BadInput(
            "--seeds: give at least one seed (integers >= 0, comma-separated)"
        )
    for s in seeds:
        _wrap("--seeds", trial_mod.check_seed, s)
    _wrap("--steps", trial_mod.check_steps, args.steps)
    _wrap("--device", trial_mod.check_device, args.device)
    if args.protocol and args.final_seeds < protocol.MIN_FINAL_SEEDS:
        raise BadInput(
            f"--final-seeds: must be >= {protocol.MIN_FINAL_SEEDS}, "
            f"got {args.final_seeds}"
        )
    _threads(args)
    # reach the store and check the study before anything is written or run
    w = workload_registry.get(args.workload)
    st = _wrap("--storage", store.open_storage, args.storage)
    study = args.study or w.name
    steps = args.steps if args.steps is not None else w.steps
    sid = _wrap("--study", store._find_study, st, study)
    if sid is not None:
        try:
            store.prepare_study(st, study, w, steps)
        except store.StoreError as err:
            raise BadInput(f"--study: {err}") from None
    kwargs = dict(
        storage=args.storage,
        study=study,
        device=args.device,
        progress=not args.no_progress,
    )
    if args.protocol:
        summary = protocol.run_protocol(
            args.workload, opts, lrs, seeds, args.final_seeds, args.steps, **kwargs
        )
        _print_summary(study, summary)
    else:
        results = store.sweep(args.workload, opts, lrs, seeds, args.steps, **kwargs)
        print(
            f"{study}: {len(results)} grid points finished "
            f"({len(opts)} optimizers x {len(lrs)} lrs x {len(seeds)} seeds)"
        )
    return 0


def _fmt(ci) -> str:
    mean, lo, hi = ci
    if math.isnan(mean):
        return "n/a"
    if math.isnan(lo):
        return f"{mean:.4f}"
    return f"{mean:.4f} [{lo:.4f}, {hi:.4f}]"


def _print_summary(study: str, s: dict) -> None:
    rows = s["rows"]
    steps = rows[0]["steps"]
    print(
        f"== {study}: budget {steps} steps; target {s['target']:.4f} "
        f"(median final val metric of {s['target_from']}); 95 % Student-t intervals"
    )
    print(
        f"{'optimizer':22} {'best lr':>9} {'grid':>24} {'n':>3} {'div':>3} "
        f"{'val':>28} {'test':>28} {'gap':>28} {'to target':>10} {'~best':>5}"
    )
    for r in sorted(rows, key=lambda r: r["optimizer"]):
        grid = f"{r['grid'][0]:.3g}..{r['grid'][-1]:.3g} ({len(r['grid'])})"
        if not r["bracketed"]:
            grid += "!"
        reach = "-"
        if r["steps_to_target"] is not None:
            reach = f"{r['steps_to_target']:g} ({r['reached_target']})"
        same = "yes" if r["indistinguishable_from_best"] else "no"
        print(
            f"{r['optimizer']:22} {r['best_lr']:9.3g} {grid:>24} {len(r['seeds']):3d} "
            f"{r['diverged']:3d} {_fmt(r['val_metric']):>28} "
            f"{_fmt(r['test_metric']):>28} {_fmt(r['gap']):>28} {reach:>10} {same:>5}"
        )
    print(
        "(n: seeds at the best lr; div: diverged; !: best lr not inside the grid; "
        "to target: median step (seeds that reached it); ~best: interval overlaps the "
        "best's)"
    )


def _markdown(study: str, s: dict, workload) -> str:
    """One study's table in Markdown: budget, grids, seeds and every interval."""
    rows = sorted(s["rows"], key=lambda r: r["optimizer"])
    metric = workload.metric.replace("_", " ")
    better = "higher" if s["higher_is_better"] else "lower"
    lines = [
        f"## {study}",
        "",
        f"{workload.description[:1].upper()}{workload.description[1:]}. "
        f"Metric: {metric} ({better} is better). Budget "
        f"{rows[0]['steps']} steps of {workload.batch_size} for every optimiser. "
        f"Target {s['target']:.4f}: the median final validation {metric} of the best "
        f"optimiser's finals ({s['target_from']}). Intervals: 95 % Student t over the "
        f"seeds at the best lr.",
        "",
        "| optimiser | best lr | lr grid | seeds | diverged | validation | test "
        "| train-test gap | steps to target | ~ best |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        grid = ", ".join(f"{x:.3g}" for x in r["grid"])
        if not r["bracketed"]:
            grid += " (best at an end)"
        reach = "never"
        if r["steps_to_target"] is not None:
            reach = f"{r['steps_to_target']:g} ({r['reached_target']} seeds)"
        lines.append(
            f"| {r['optimizer']} | {r['best_lr']:.3g} | {grid} | {len(r['seeds'])} "
            f"| {r['diverged']} | {_fmt(r['val_metric'])} | {_fmt(r['test_metric'])} "
            f"| {_fmt(r['gap'])} | {reach} "
            f"| {'yes' if r['indistinguishable_from_best'] else 'no'} |"
        )
    lines += [
        "",
        "~ best: the validation interval overlaps the best optimiser's, so the two are "
        "indistinguishable at these seeds. Steps to target: median over the seeds "
        "that reached it, at the recorded validation steps.",
        "",
    ]
    return "\n".join(lines)


def _plan_status(study: str, summary: dict) -> str:
    """A line on how much of optlab.plan's study the store holds (finals included)."""
    from . import plan

    group = next((g for g in plan.PLAN if g.study == study), None)
    if group is None:
        return ""
    want = [name for name, _ in group.optimizers]
    done = {
        r["optimizer"]
        for r in summary["rows"]
        if len(r["seeds"]) >= plan.FINAL_SEEDS
    }
    missing = [n for n in want if n not in done]
    line = (
        f"Plan (`optlab/plan.py`): {len(want) - len(missing)} of {len(want)} "
        f"optimisers done (tuned and rerun with {plan.FINAL_SEEDS} seeds)"
    )
    if not missing:
        return line + ".\n\n"
    return (
        line + f"; still to run: {', '.join(missing)} (`make sweep` runs them; a row "
        f"with fewer seeds is still being tuned).\n\n"
    )


def _plot(study: str, results: list[dict], summary: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in sorted(summary["rows"], key=lambda r: r["optimizer"]):
        runs = [
            r
            for r in results
            if r["config"]["optimizer"] == row["optimizer"]
            and r["config"]["lr"] == row["best_lr"]
            and not r["diverged"]
        ]
        if not runs:
            continue
        steps = runs[0]["val_curve"]["step"]
        vals = np.array([r["val_curve"]["val_metric"] for r in runs], dtype=float)
        ax.plot(
            steps, vals.mean(0), label=f"{row['optimizer']} (lr {row['best_lr']:.3g})"
        )
    ax.set_xlabel("step")
    ax.set_ylabel(results[0]["config"]["metric"] + " (validation)")
    ax.set_title(study)
    ax.legend(fontsize=8)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{study}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def _open_studies(args):
    """(storage, study names): every optlab study in ``--storage``, or ``--study``."""
    st = _wrap("--storage", store.open_storage, args.storage)
    studies = [name for name, _ in store.list_studies(args.storage)]
    if args.study is not None:
        if args.study not in studies:
            raise BadInput(
                f"--study: {args.study!r} is not in the storage; it holds "
                f"{', '.join(studies) or 'no optlab study'}"
            )
        studies = [args.study]
    return st, studies


def cmd_report(args) -> int:
    st, studies = _open_studies(args)
    if not studies:
        raise BadInput(
            f"--storage: {args.storage!r} holds no optlab study yet "
            f"(run `python -m optlab sweep` first)"
        )
    parts = []
    for name in studies:
        results = list(store.load_results(args.storage, name, _storage=st).values())
        if not results:
            print(f"== {name}: no finished trial yet")
            continue
        summary = protocol.summarize(results)
        _print_summary(name, summary)
        w = workload_registry.get(results[0]["config"]["workload"])
        text = _markdown(name, summary, w)
        if args.plan:
            head, _, rest = text.partition("\n\n")
            text = head + "\n\n" + _plan_status(name, summary) + rest
        parts.append(text)
        if args.out:
            print(f"plot: {_plot(name, results, summary, Path(args.out))}")
    if args.markdown:
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = (
            f"# Results in {args.storage}\n\n"
            "Written by `python -m optlab report`.\n\n"
        )
        path.write_text(head + "\n".join(parts))
        print(f"tables: {path}")
    return 0


def cmd_replay(args) -> int:
    from . import replay

    if args.steps is not None and args.steps < 1:
        raise BadInput(f"--steps: must be an integer >= 1, got {args.steps}")
    _wrap("--device", trial_mod.check_device, args.device)
    st, studies = _open_studies(args)
    _threads(args)
    failed = checked = 0
    for name in studies:
        results = list(store.load_results(args.storage, name, _storage=st).values())
        chosen = results if args.all else replay.sample(results) if results else []
        for r in chosen:
            c = r["config"]
            problems = replay.compare(r, replay.replay(r, args.steps, args.device))
            checked += 1
            failed += bool(problems)
            verdict = "ok" if not problems else "DIFFERS: " + "; ".join(problems[:3])
            print(
                f"{name} {c['optimizer']} lr={c['lr']:.3g} seed={r['seed']} "
                f"({args.steps or c['steps']} steps): {verdict}"
            )
    print(f"{checked - failed} of {checked} replayed trials reproduce")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m optlab", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    sub.add_parser("workloads", help="list the workloads and their budgets")

    def common(p):
        p.add_argument(
            "--steps",
            type=int,
            default=None,
            help="step budget (default: the workload's)",
        )
        p.add_argument("--device", default="cpu", help="torch device (default cpu)")
        p.add_argument(
            "--threads", type=int, default=None, help="torch intra-op threads"
        )

    run = sub.add_parser("run", help="run one trial, print one JSON line")
    run.add_argument("workload")
    run.add_argument("--optimizer", required=True)
    run.add_argument("--lr", required=True, type=float)
    run.add_argument("--seed", required=True, type=int)
    common(run)

    sw = sub.add_parser("sweep", help="run a grid, resumable, into a storage")
    sw.add_argument("workload")
    sw.add_argument("--optimizers", required=True, help="comma-separated names")
    sw.add_argument("--lrs", required=True, help="comma-separated learning rates")
    sw.add_argument("--seeds", required=True, help="comma-separated seeds")
    sw.add_argument("--storage", default=store.DEFAULT_STORAGE)
    sw.add_argument(
        "--study", default=None, help="study name (default: the workload's)"
    )
    sw.add_argument(
        "--protocol",
        action="store_true",
        help="bracket the lr grid and rerun each best lr with --final-seeds seeds",
    )
    sw.add_argument("--final-seeds", type=int, default=protocol.MIN_FINAL_SEEDS)
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    common(sw)

    rp = sub.add_parser(
        "replay", help="re-run stored trials and compare them with the store"
    )
    rp.add_argument("--storage", default=store.DEFAULT_STORAGE)
    rp.add_argument("--study", default=None)
    rp.add_argument(
        "--all", action="store_true", help="every trial (default: two per study)"
    )
    rp.add_argument(
        "--steps", type=int, default=None, help="only the first N steps of each"
    )
    rp.add_argument("--device", default="cpu")
    rp.add_argument("--threads", type=int, default=None)

    rep = sub.add_parser("report", help="print the tables and write the plots")
    rep.add_argument("--storage", default=store.DEFAULT_STORAGE)
    rep.add_argument("--study", default=None)
    rep.add_argument(
        "--out", default="results/plots", help="folder of the plots ('' = none)"
    )
    rep.add_argument(
        "--markdown", default=None, help="also write the tables to this Markdown file"
    )
    rep.add_argument(
        "--plan",
        action="store_true",
        help="say in the Markdown how much of optlab/plan.py each study holds",
    )
    return ap


COMMANDS = {
    "workloads": cmd_workloads,
    "run": cmd_run,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "replay": cmd_replay,
}


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except BadInput as err:
        print(f"optlab: error: {err}", file=sys.stderr)
        return 2
    except store.StoreError as err:
        print(f"optlab: error: --storage: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "optlab: interrupted; finished trials are kept, rerun to resume",
            file=sys.stderr,
        )
        return 130
