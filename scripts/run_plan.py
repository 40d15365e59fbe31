"""Run the committed sweep (optlab/plan.py) into a store; what ``make sweep`` calls.

    python scripts/run_plan.py                          # every study, 2 workers
    python scripts/run_plan.py --workloads mnist-cnn --jobs 1
    python scripts/run_plan.py --dry-run        # what would run, how many trials

Each workload runs in its own process (``--jobs`` of them at a time, one torch thread
each), so two cores run two studies side by side. The store keeps every finished trial:
stop with Ctrl-C (or lose the machine) and run the same command again to resume.
A worker's output goes to ``results/logs/WORKLOAD.log``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optlab import plan, store  # noqa: E402


def _group(name: str) -> plan.Group:
    for g in plan.PLAN:
        if g.workload == name:
            return g
    allowed = ", ".join(g.workload for g in plan.PLAN)
    raise SystemExit(f"--workloads: {name!r} is not in the plan; choose from {allowed}")


def run_group(group: plan.Group, storage: str, device: str, threads: int) -> int:
    """Run one study in this process; returns the number of optimisers finished."""
    import torch

    from optlab import protocol

    torch.set_num_threads(threads)
    for name, grid in group.optimizers:
        t0 = time.time()
        summary = protocol.run_protocol(
            group.workload,
            [name],
            list(grid),
            plan.TUNE_SEEDS,
            plan.FINAL_SEEDS,
            storage=storage,
            study=group.study,
            device=device,
        )
        (row,) = summary["rows"]
        print(
            f"{group.workload} {name}: grid {summary['grids'][name]} best lr "
            f"{row['best_lr']:.3g} val {row['val_metric'][0]:.4f} "
            f"({time.time() - t0:.0f} s)",
            flush=True,
        )
    return len(group.optimizers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(g.workload for g in plan.PLAN))
    ap.add_argument("--storage", default=store.DEFAULT_STORAGE)
    ap.add_argument("--jobs", type=int, default=2, help="studies run side by side")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per job")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    groups = [_group(n) for n in args.workloads.split(",") if n]
    if args.jobs < 1 or args.threads < 1:
        raise SystemExit("--jobs and --threads must be integers >= 1")
    if args.dry_run:
        for g in groups:
            print(
                f"{g.workload}: {len(g.optimizers)} optimizers, at least "
                f"{plan.trials_at_least(g)} trials"
            )
        return 0
    if args.in_process:
        for g in groups:
            run_group(g, args.storage, args.device, args.threads)
        return 0
    logs = ROOT / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def child(g: plan.Group) -> int:
        cmd = [
            sys.executable, __file__, "--in-process", "--workloads", g.workload,
            "--storage", args.storage, "--device", args.device,
            "--threads", str(args.threads),
        ]
        with open(logs / f"{g.workload}.log", "a") as log:
            rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        print(f"{g.workload}: {'done' if rc == 0 else f'failed (exit {rc})'}",
              flush=True)
        return rc

    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(child, groups))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
