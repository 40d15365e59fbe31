"""Adam and SGDM at the same training loss on optlab's two large workloads.

The companion of ``scripts/geometry_study.py`` (the digits MLP) for ``mnist-cnn`` and
``char-transformer``. Each run builds the workload for one seed, trains it with the
optimiser at the rate the store's sweep tuned for that workload (constant rate, the
workload's own batches), and stops at the first check, every EVERY steps, where the loss
on the workload's fixed training subset (500 images; 64 windows of 64 characters) is at
most the workload's TARGET. There it measures, on that same subset and in evaluation
mode (BatchNorm with its running statistics):

- the top Hessian eigenvalue (power iteration) and the Hessian trace (Hutchinson);
- the loss along two filter-normalised random directions (Li et al. 2018);
- the held-out metric (accuracy, or bits per character) on the training subset and on
  the test set, their gap, and the test loss.

One JSON file per workload, ``results/geometry-<workload>.json``, in the format of
``results/geometry.json`` (the variant is the workload's name); it is rewritten after
every run, and finished runs are skipped when the script runs again. Two workloads can
run side by side, one process each:

    python scripts/geometry_large.py mnist-cnn
    python scripts/geometry_large.py char-transformer
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optlab import geometry, optimizers, profiles, protocol, store, workloads  # noqa: E402
from optlab.sharpness import top_hessian_eigenvalue  # noqa: E402
from optlab.trial import _gap, code_version  # noqa: E402

#: the training loss (nats, on the fixed training subset) where each run is measured:
#: one both optimisers reach within MAX_STEPS on every seed
TARGET = {"mnist-cnn": 0.02, "char-transformer": 2.0}
EVERY = 25
MAX_STEPS = 3000
SEEDS = list(range(10))
ALPHAS = [round(a, 2) for a in np.linspace(-1.0, 1.0, 21)]
DIRECTIONS = 2
POWER_ITERS, TRACE_SAMPLES = 20, 20
NAMES = {"Adam": "adam", "SGDM": "sgdm"}  # label -> optlab name in the store


def out_path(workload: str) -> Path:
    return ROOT / "results" / f"geometry-{workload}.json"


def tuned_rates(storage: str, workload: str) -> dict[str, float]:
    """label -> the lr the store's sweep reran with 10 seeds on ``workload``."""
    w = workloads.get(workload)
    results = list(store.load_results(storage, workload).values())
    return {label: protocol.finals_lr([r for r in results
                                       if r["config"]["optimizer"] == name],
                                      w.higher_is_better)
            for label, name in NAMES.items()}


def one_run(workload: str, label: str, lr: float, seed: int) -> dict:
    w = workloads.get(workload)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        problem = w.build(seed, "cpu")
    opt, _ = optimizers.build(NAMES[label], problem.models[0], lr, w.steps)
    reached = geometry.train_workload_to_loss(problem, opt, TARGET[workload],
                                              every=EVERY, max_steps=MAX_STEPS)
    model = problem.models[0]
    loss_fn, X, y = geometry.split_loss(problem, "train")
    test_fn, X_test, y_test = geometry.split_loss(problem, "test")
    model.eval()  # BatchNorm's running statistics: one fixed function to measure
    with torch.no_grad():
        test_loss = float(test_fn(model(X_test), y_test))
    train_metric, test_metric = problem.evaluate("train"), problem.evaluate("test")
    return {
        **reached,
        "lr": lr,
        "test_loss": test_loss,
        "train_metric": train_metric,
        "test_metric": test_metric,
        "gap": _gap(train_metric, test_metric, w.higher_is_better),
        "top_eigenvalue": top_hessian_eigenvalue(model, loss_fn, X, y,
                                                 iters=POWER_ITERS, seed=seed),
        "trace": geometry.hessian_trace(model, loss_fn, X, y, samples=TRACE_SAMPLES,
                                        seed=seed),
        "profiles": [
            geometry.loss_along(
                model, loss_fn, X, y,
                geometry.filter_normalized_direction(model, seed=1000 * seed + k),
                ALPHAS).tolist()
            for k in range(DIRECTIONS)
        ],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(TARGET))
    ap.add_argument("--storage", default=profiles.COMMITTED)
    ap.add_argument("--out", default=None, help="default: results/geometry-<workload>.json")
    ap.add_argument("--seeds", type=int, default=len(SEEDS),
                    help="run the first N seeds (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out) if args.out else out_path(args.workload)
    rates = tuned_rates(args.storage, args.workload)
    w = workloads.get(args.workload)
    settings = {"target": TARGET[args.workload], "every": EVERY, "max_steps": MAX_STEPS,
                "seeds": SEEDS, "alphas": ALPHAS, "directions": DIRECTIONS,
                "power_iters": POWER_ITERS, "trace_samples": TRACE_SAMPLES, "lr": rates,
                "workload": args.workload, "batch": w.batch_size, "metric": w.metric}
    doc = json.loads(out.read_text()) if out.exists() else {}
    if doc.get("settings") != settings:
        doc = {"settings": settings, "runs": {}}
    doc["code"] = code_version("cpu")
    for seed in SEEDS[: args.seeds]:
        for label, lr in rates.items():
            key = f"{args.workload}/{label}/{seed}"
            if key in doc["runs"]:
                continue
            run = doc["runs"][key] = one_run(args.workload, label, lr, seed)
            out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            print(f"{key}: {run['steps']} steps (reached: {run['reached']}), "
                  f"eig {run['top_eigenvalue']:.3f}, trace {run['trace']:.2f}, "
                  f"gap {run['gap']:.4f}", flush=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
