"""Adam and SGDM compared at the same training loss: sharpness, trace, profiles, gap.

Chapter 3 asks whether Adam ends in sharper minima than SGDM and generalises worse. A
comparison at the end of a fixed budget is confounded: the two reach different training
losses, and for cross-entropy the curvature grows as the loss falls. Here each run
trains until its full training loss first falls to TARGET, and is measured there:

- the top Hessian eigenvalue (optlab.sharpness, power iteration) and the Hessian trace
  (optlab.geometry.hessian_trace, Hutchinson), both on the whole training set;
- the training loss along two filter-normalised random directions (Li et al. 2018);
- training and test loss and accuracy, and the train-test gaps.

Two variants of the digits (scikit-learn, 8x8): the whole training split, and a reduced
one of SMALL_N examples, where a train-test gap exists. The model is the MLP of optlab's
``digits-mlp`` workload (64-HIDDEN-10, ReLU), mini-batches of BATCH; each optimiser runs
at the rate tuned for ``digits-mlp`` under optlab's protocol (read from the store), for
the seeds in SEEDS. Results go to a JSON file that chapter 3 reads; the file is
rewritten after every run and finished runs are skipped when the script runs again.

    python scripts/geometry_study.py
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

import optlib  # noqa: E402
from optlab import data, geometry, profiles, protocol, store  # noqa: E402
from optlab.sharpness import top_hessian_eigenvalue  # noqa: E402
from optlab.trial import code_version  # noqa: E402

OUT = ROOT / "results" / "geometry.json"
TARGET = 0.01             # the training loss at which every run is measured
HIDDEN, BATCH = 128, 64   # optlab's digits-mlp
SMALL_N = 150             # training examples of the reduced variant
MAX_EPOCHS = {"full": 400, "small": 3000}
SEEDS = list(range(10))
ALPHAS = [round(a, 2) for a in np.linspace(-1.0, 1.0, 21)]
DIRECTIONS = 2
POWER_ITERS, TRACE_SAMPLES = 30, 30
STORE_STUDY = "digits-mlp"
NAMES = {"Adam": "adam", "SGDM": "sgdm"}   # label -> optlab name in the store


def tuned_rates(storage: str) -> dict[str, float]:
    """label -> the lr of the store's digits-mlp row (tuned under the protocol)."""
    results = list(store.load_results(storage, STORE_STUDY).values())
    out = {}
    for label, name in NAMES.items():
        runs = [r for r in results if r["config"]["optimizer"] == name]
        out[label] = protocol.finals_lr(runs, True)
    return out


def make(label: str, model, lr: float):
    if label == "Adam":
        return optlib.Adam(model.parameters(), lr=lr)
    return optlib.SGD(model.parameters(), lr=lr, momentum=0.9)


def one_run(label, lr, seed, X, y, X_test, y_test, variant) -> dict:
    loss_fn = torch.nn.functional.cross_entropy
    model = data.mlp(hidden=HIDDEN, seed=seed)
    reached = geometry.train_to_loss(model, make(label, model, lr), X, y, TARGET,
                                     batch_size=BATCH, max_epochs=MAX_EPOCHS[variant],
                                     seed=seed)
    train_loss, train_acc = data.evaluate(model, X, y)
    test_loss, test_acc = data.evaluate(model, X_test, y_test)
    profiles_ = [
        geometry.loss_along(model, loss_fn, X, y,
                            geometry.filter_normalized_direction(model, seed=1000 * seed + k),
                            ALPHAS).tolist()
        for k in range(DIRECTIONS)
    ]
    return {
        **reached,
        "train_loss": train_loss, "train_acc": train_acc,
        "test_loss": test_loss, "test_acc": test_acc,
        "loss_gap": test_loss - train_loss, "acc_gap": train_acc - test_acc,
        "top_eigenvalue": top_hessian_eigenvalue(model, loss_fn, X, y,
                                                 iters=POWER_ITERS, seed=seed),
        "trace": geometry.hessian_trace(model, loss_fn, X, y, samples=TRACE_SAMPLES,
                                        seed=seed),
        "profiles": profiles_,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default=profiles.COMMITTED)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    rates = tuned_rates(args.storage)
    settings = {"target": TARGET, "hidden": HIDDEN, "batch": BATCH, "small_n": SMALL_N,
                "max_epochs": MAX_EPOCHS, "seeds": SEEDS, "alphas": ALPHAS,
                "directions": DIRECTIONS, "power_iters": POWER_ITERS,
                "trace_samples": TRACE_SAMPLES, "lr": rates, "lr_from": STORE_STUDY}
    doc = json.loads(out.read_text()) if out.exists() else {}
    if doc.get("settings") != settings:
        doc = {"settings": settings, "runs": {}}
    doc["code"] = code_version("cpu")
    d = data.load_digits(seed=0)
    variants = {"full": (d.X_train, d.y_train),
                "small": (d.X_train[:SMALL_N], d.y_train[:SMALL_N])}
    for variant, (X, y) in variants.items():
        for label, lr in rates.items():
            for seed in SEEDS:
                key = f"{variant}/{label}/{seed}"
                if key in doc["runs"]:
                    continue
                doc["runs"][key] = one_run(label, lr, seed, X, y, d.X_test, d.y_test,
                                           variant)
                out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
                r = doc["runs"][key]
                print(f"{key}: {r['steps']} steps, eig {r['top_eigenvalue']:.3f}, "
                      f"trace {r['trace']:.2f}, gap {r['acc_gap']:.3f}", flush=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
