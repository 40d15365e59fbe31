"""optlab.geometry: Hutchinson's trace, filter-normalised directions, loss profiles and
training to a target loss, each against what it must equal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
import torch

import optlib
from optlab import data, geometry

pytestmark = pytest.mark.usefixtures("one_thread")
CE = torch.nn.functional.cross_entropy


def square(out, target):
    return ((out - target) ** 2).sum()


def small_problem(seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=gen)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(),
                                torch.nn.Linear(4, 3)).double()
    return model, X, y


def exact_hessian(model, X, y) -> torch.Tensor:
    """The Hessian of CE(model(X), y) over all parameters as one vector, by autograd's
    dense ``hessian`` (attention on its math kernel, the one with second derivatives)."""
    names, params = zip(*model.named_parameters())
    shapes = [p.shape for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def loss_of(vec):
        chunks = vec.split([math.prod(s) for s in shapes])
        weights = {k: c.reshape(s) for k, c, s in zip(names, chunks, shapes)}
        return CE(torch.func.functional_call(model, weights, (X,)), y)

    with geometry.hvp_context():
        return torch.autograd.functional.hessian(loss_of, flat)


def exact_trace(model, X, y):
    return float(exact_hessian(model, X, y).diagonal().sum())


def test_trace_is_exact_for_a_diagonal_hessian():
    model = torch.nn.Linear(2, 1, bias=False).double()
    X = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    y = torch.zeros(2, 1, dtype=torch.float64)
    assert geometry.hessian_trace(model, square, X, y, samples=3) == pytest.approx(20.0)


def test_trace_estimate_is_unbiased_on_a_network():
    model, X, y = small_problem()
    exact = exact_trace(model, X, y)
    estimate = geometry.hessian_trace(model, CE, X, y, samples=3000, seed=1)
    assert estimate == pytest.approx(exact, rel=0.05)
    # and a single sample is not the exact value: the estimator is random
    one = [geometry.hessian_trace(model, CE, X, y, samples=1, seed=s) for s in range(5)]
    assert len({round(v, 9) for v in one}) > 1


def test_trace_leaves_the_model_alone():
    model, X, y = small_problem()
    before = [p.detach().clone() for p in model.parameters()]
    model.eval()
    geometry.hessian_trace(model, CE, X, y, samples=2)
    assert not model.training
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def test_direction_is_filter_normalised():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
                                torch.nn.Flatten(), torch.nn.Linear(12, 4))
    d = geometry.filter_normalized_direction(model, seed=3)
    for p, dp in zip(model.parameters(), d):
        assert dp.shape == p.shape
        if p.dim() == 1:                           # biases and BN gains stay put
            assert torch.count_nonzero(dp) == 0
        else:
            torch.testing.assert_close(dp.flatten(1).norm(dim=1),
                                       p.detach().flatten(1).norm(dim=1))
    again = geometry.filter_normalized_direction(model, seed=3)
    other = geometry.filter_normalized_direction(model, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(d, again))
    assert not torch.equal(d[0], other[0])


def test_loss_along_a_direction():
    model, X, y = small_problem()
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    d = geometry.filter_normalized_direction(model, seed=0)
    losses = geometry.loss_along(model, CE, X, y, d, [-1.0, 0.0, 0.5])
    with torch.no_grad():
        at_zero = float(CE(model(X), y))
    assert losses[1] == pytest.approx(at_zero, rel=1e-12)
    with torch.no_grad():
        for p, dp in zip(model.parameters(), d):
            p.add_(0.5 * dp)
        moved = float(CE(model(X), y))
        for p, p0 in zip(model.parameters(), before):
            p.copy_(p0)
    assert losses[2] == pytest.approx(moved, rel=1e-12)
    assert model.training
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    with pytest.raises(ValueError, match="direction"):
        geometry.loss_along(model, CE, X, y, d[:-1], [0.0])


def test_train_to_loss_stops_at_the_target():
    d = data.load_digits(seed=0)
    X, y = d.X_train[:64], d.y_train[:64]
    model = data.mlp(hidden=32, seed=0)
    opt = optlib.SGD(model.parameters(), lr=0.3, momentum=0.9)
    r = geometry.train_to_loss(model, opt, X, y, 0.05, batch_size=16, max_epochs=500)
    assert r["reached"] and r["loss"] <= 0.05
    assert r["steps"] == 4 * r["epochs"]           # 64 examples, batches of 16
    assert data.evaluate(model, X, y)[0] == pytest.approx(r["loss"])
    # one epoch earlier the loss was still above the target
    model = data.mlp(hidden=32, seed=0)
    opt = optlib.SGD(model.parameters(), lr=0.3, momentum=0.9)
    short = geometry.train_to_loss(model, opt, X, y, 0.05, batch_size=16,
                                   max_epochs=r["epochs"] - 1)
    assert not short["reached"] and short["loss"] > 0.05


@pytest.mark.parametrize("kwargs, match", [
    (dict(target=0.0), "target"), (dict(target=-1), "target"),
    (dict(max_epochs=0), "max_epochs"), (dict(batch_size=0), "batch_size"),
])
def test_train_to_loss_refuses_bad_input(kwargs, match):
    d = data.load_digits(seed=0)
    model = data.mlp(hidden=8, seed=0)
    args = dict(target=0.1, batch_size=8, max_epochs=1) | kwargs
    with pytest.raises(ValueError, match=match):
        geometry.train_to_loss(model, optlib.SGD(model.parameters(), lr=0.1),
                               d.X_train[:16], d.y_train[:16], **args)


def test_bad_arguments_are_named():
    model, X, y = small_problem()
    with pytest.raises(ValueError, match="samples"):
        geometry.hessian_trace(model, CE, X, y, samples=0)
    with pytest.raises(TypeError, match="seed"):
        geometry.filter_normalized_direction(model, seed=1.5)
    with pytest.raises(TypeError, match="model"):
        geometry.hessian_trace("not a model", CE, X, y)


def test_docstring_example_runs():
    import doctest

    assert doctest.testmod(geometry).failed == 0


def test_study_summary(tmp_path):
    runs = {f"full/Adam/{s}": {"trace": float(s), "profiles": [[s, 0.0, s]]}
            for s in range(4)}
    runs["full/SGDM/0"] = {"trace": 5.0, "profiles": [[1.0, 0.0, 1.0]]}
    runs["full/SGDM/1"] = {"trace": 7.0, "profiles": [[2.0, 0.0, 2.0]]}
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"settings": {}, "runs": runs}))
    doc = geometry.load_study(path)
    out = geometry.summarise_study(doc, ["trace"])
    mean, low, high = out["full"]["Adam"]["trace"]
    assert mean == 1.5 and out["full"]["Adam"]["n"] == 4
    half = stats.t.ppf(0.975, 3) * np.std([0, 1, 2, 3], ddof=1) / 2
    assert (low, high) == pytest.approx((1.5 - half, 1.5 + half))
    assert out["full"]["SGDM"]["trace"][0] == 6.0
    prof = geometry.study_profiles(doc)
    assert prof["full"]["Adam"].shape == (4, 1, 3)
    path.write_text(json.dumps({"runs": {}}))
    with pytest.raises(ValueError, match="geometry study"):
        geometry.load_study(path)


def test_committed_study_is_complete():
    doc = geometry.load_study()
    s = doc["settings"]
    for variant in ("full", "small"):
        for label in s["lr"]:
            for seed in s["seeds"]:
                run = doc["runs"][f"{variant}/{label}/{seed}"]
                assert run["reached"] and run["loss"] <= s["target"]
                assert np.array(run["profiles"]).shape == (s["directions"],
                                                           len(s["alphas"]))


# ------------------------------------------------- attention, and optlab's workloads
def tiny_attention_model():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True,
                                             norm_first=True)
    return torch.nn.Sequential(layer, torch.nn.Flatten(), torch.nn.Linear(12, 3)).double()


def test_hessian_measures_work_through_attention():
    """Hutchinson's sum equals v^T H v of the exact Hessian for the same sign vectors,
    on a model with an attention layer (whose fused kernels have no second
    derivative: the products run on its math kernel)."""
    model = tiny_attention_model()
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(5, 3, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (5,), generator=gen)
    H = exact_hessian(model, X, y)
    shapes = [p.shape for p in model.parameters()]
    signs = torch.Generator().manual_seed(7)
    quad = []
    for _ in range(3):
        v = torch.cat([(torch.randint(0, 2, s, generator=signs) * 2 - 1).reshape(-1)
                       for s in shapes]).double()
        quad.append(float(v @ H @ v))
    assert geometry.hessian_trace(model, CE, X, y, samples=3, seed=7) == pytest.approx(
        np.mean(quad), rel=1e-9)
    from optlab.sharpness import top_hessian_eigenvalue

    eig = torch.linalg.eigvalsh(H)
    top = float(eig[eig.abs().argmax()])
    assert top_hessian_eigenvalue(model, CE, X, y, iters=300) == pytest.approx(top,
                                                                               rel=1e-3)


@pytest.mark.parametrize("name", ["mnist-cnn", "char-transformer"])
def test_split_loss_is_the_workloads_own_loss(name):
    from optlab import workloads

    problem = workloads.get(name).build(0)
    model = problem.models[0].eval()
    loss_fn, X, y = geometry.split_loss(problem, "test")
    with torch.no_grad():
        loss = float(loss_fn(model(X), y))
    if name == "char-transformer":   # the metric is the same loss in bits
        assert X.shape == y.shape == (64, 64)
        assert loss / math.log(2) == pytest.approx(problem.evaluate("test"), rel=1e-6)
    else:                            # the metric is the accuracy of the same outputs
        assert len(X) == len(y) == 500
        with torch.no_grad():
            acc = float((model(X).argmax(1) == y).double().mean())
        assert acc == pytest.approx(problem.evaluate("test"))
        assert 0.5 < loss < 5
    with pytest.raises(ValueError, match="split"):
        geometry.split_loss(problem, "everything")


def test_train_workload_to_loss_stops_at_the_first_check_below_the_target():
    from optlab import workloads

    def run(max_steps, every=10):
        problem = workloads.get("digits-mlp").build(0)
        opt = optlib.SGD(problem.models[0].parameters(), lr=0.1, momentum=0.9)
        r = geometry.train_workload_to_loss(problem, opt, 0.5, every=every,
                                            max_steps=max_steps)
        loss_fn, X, y = geometry.split_loss(problem, "train")
        with torch.no_grad():
            assert float(loss_fn(problem.models[0].eval()(X), y)) == pytest.approx(
                r["loss"])
        return r

    r = run(1000)
    assert r["reached"] and r["loss"] <= 0.5 and r["steps"] % 10 == 0
    short = run(r["steps"] - 10)       # the check before: still above the target
    assert not short["reached"] and short["loss"] > 0.5
    assert short["steps"] == r["steps"] - 10
    problem = workloads.get("digits-mlp").build(0)
    opt = optlib.SGD(problem.models[0].parameters(), lr=0.1)
    for kwargs, match in ((dict(target=0), "target"), (dict(every=0), "every"),
                          (dict(max_steps=0), "max_steps")):
        args = dict(target=0.5, every=5, max_steps=10) | kwargs
        with pytest.raises(ValueError, match=match):
            geometry.train_workload_to_loss(problem, opt, **args)


@pytest.mark.parametrize("name", ["mnist-cnn", "char-transformer"])
def test_committed_large_studies_are_complete(name):
    """Every seed of both optimisers stopped at the target, at the rates the store's
    sweep tuned (the ones chapter 3 says it used)."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "geometry_large.py"
    spec = importlib.util.spec_from_file_location("geometry_large", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    doc = geometry.load_study(mod.out_path(name))
    s = doc["settings"]
    assert s["workload"] == name and len(s["seeds"]) >= 10
    assert s["lr"] == mod.tuned_rates(mod.profiles.COMMITTED, name)
    for label in ("Adam", "SGDM"):
        for seed in s["seeds"]:
            run = doc["runs"][f"{name}/{label}/{seed}"]
            assert run["reached"] and run["loss"] <= s["target"]
            assert run["steps"] % s["every"] == 0 and run["steps"] <= s["max_steps"]
            assert np.array(run["profiles"]).shape == (s["directions"], len(s["alphas"]))
