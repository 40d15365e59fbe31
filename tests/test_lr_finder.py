"""The LR range test: exact restoration of model and optimiser, sweep, suggestion, errors."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import optlib
from optlib.lr_finder import _sweep

MSE = torch.nn.functional.mse_loss


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny models: threads only add contention on the shared CI machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def mean_problem(seed=0, n=256, bs=16):
    """Estimate a mean: loss (w - y)^2 has Hessian 2, so SGD diverges exactly above lr = 1."""
    g = torch.Generator().manual_seed(seed)
    y = 3.0 + torch.randn(n, 1, generator=g)
    return [(torch.ones(bs, 1), y[i:i + bs]) for i in range(0, n, bs)]


def small_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                               torch.nn.Linear(4, 1))


def regression_batches(k=3):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)) for _ in range(k)]


class NestedState(torch.optim.Optimizer):
    """A made-up optimiser whose state is nested (dicts and lists of tensors, ints, a tuple):
    the range test must not assume any state key."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, dict(lr=lr, betas=(0.9, 0.99)))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["history"] = {"avg": [torch.zeros_like(p), torch.zeros_like(p)], "n": 0}
                    st["meta"] = ("tag", torch.tensor(1.5, dtype=torch.float64))
                h = st["history"]
                h["avg"][0].mul_(0.9).add_(p.grad)
                h["avg"][1].mul_(0.5).add_(p.grad.abs())
                h["n"] += 1
                p.add_(h["avg"][0] / (1 + h["avg"][1]), alpha=-group["lr"])


OPTIMIZERS = {
    "optlib.SGD": lambda ps: optlib.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "optlib.Adam": lambda ps: optlib.Adam(ps, lr=0.01, amsgrad=True),
    "torch.Adam": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1),
    "torch.RMSprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    "nested": lambda ps: NestedState(ps),
}


def assert_same(a, b, path="state"):
    """Recursive bitwise equality of (nested) state: tensors equal with equal dtype."""
    assert type(a) is type(b), path
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b or (a != a and b != b), path


@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "mid-training"])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_restores_model_and_optimizer_exactly(kind, warm):
    model = small_net()
    opt = OPTIMIZERS[kind](model.parameters())
    batches = regression_batches()
    if warm:                                          # some optimiser state and a gradient
        for x, y in batches:
            opt.zero_grad()
            MSE(model(x), y).backward()
            opt.step()
    model.eval()
    params = copy.deepcopy(model.state_dict())
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    opt_state = copy.deepcopy(opt.state_dict())
    rng = torch.get_rng_state()

    res = optlib.lr_range_test(model, opt, MSE, batches, start_lr=1e-4, end_lr=1.0, num_iter=12)

    assert len(res.lrs) >= 2                          # it did train
    assert_same(model.state_dict(), params, "model")
    for p, g in zip(model.parameters(), grads):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    assert_same(opt.state_dict(), opt_state, "optimizer")
    assert not model.training
    assert torch.equal(torch.get_rng_state(), rng)
    # and training continues exactly as if the test had not run
    twin = small_net()
    twin.load_state_dict(params)
    twin.train(model.training)
    twin_opt = OPTIMIZERS[kind](twin.parameters())
    twin_opt.load_state_dict(opt_state)
    for m, o in ((model, opt), (twin, twin_opt)):
        x, y = batches[0]
        o.zero_grad()
        MSE(m(x), y).backward()
        o.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)


def test_restores_even_when_the_loss_raises():
    model = torch.nn.Linear(3, 1)
    opt = optlib.Adam(model.parameters())
    before = copy.deepcopy(model.state_dict())
    calls = []

    def loss_fn(out, y):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return MSE(out, y)

    with pytest.raises(RuntimeError, match="boom"):
        optlib.lr_range_test(model, opt, loss_fn, regression_batches(), num_iter=10)
    assert_same(model.state_dict(), before)
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize("kind", ["optlib.SGD", "torch.SGD"])
def test_suggestion_on_a_problem_with_known_divergence(kind):
    """On the mean problem SGD diverges for lr > 1: the smoothed loss bottoms out there, and the
    suggested interval runs from where the loss starts to fall up to that minimum."""
    model = torch.nn.Linear(1, 1, bias=False)
    opt = (optlib.SGD if kind == "optlib.SGD" else torch.optim.SGD)(model.parameters(), lr=0.01)
    res = optlib.lr_range_test(model, opt, MSE, mean_problem(), start_lr=1e-4, end_lr=100.0,
                               num_iter=100)
    lr_div = 1.0
    assert res.stopped_early and len(res.lrs) < 100
    assert max(res.lrs) < 2 * 2 * lr_div                      # stopped soon after divergence
    i_min = min(range(len(res.lrs)), key=res.smoothed_losses.__getitem__)
    base_lr, max_lr = res.suggestion
    assert max_lr == res.best_lr == res.lrs[i_min]
    assert base_lr < max_lr
    assert lr_div <= max_lr <= 2 * lr_div                     # the minimum sits at divergence
    assert base_lr < lr_div / 10
    i_base = res.lrs.index(base_lr)
    assert res.smoothed_losses[i_base] < res.smoothed_losses[0]   # the loss has started to fall
    assert res.losses[-1] > 4 * min(res.losses)               # and the raw loss did blow up
    assert res.steepest_lr is not None and base_lr <= res.steepest_lr < max_lr


def test_recorded_curves():
    model = torch.nn.Linear(1, 1, bias=False)
    opt = optlib.SGD(model.parameters(), lr=0.01)
    beta = 0.9
    res = optlib.lr_range_test(model, opt, MSE, mean_problem(), start_lr=1e-3, end_lr=0.5,
                               num_iter=30, beta=beta)
    assert not res.stopped_early and len(res.lrs) == len(res.losses) == 30
    assert res.lrs[0] == 1e-3 and res.lrs[-1] == pytest.approx(0.5, rel=1e-12)
    ratios = [b / a for a, b in zip(res.lrs, res.lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-9)        # geometric sweep
    avg = 0.0                                                           # debiased EMA
    for i, (raw, smooth) in enumerate(zip(res.losses, res.smoothed_losses)):
        avg = beta * avg + (1 - beta) * raw
        assert smooth == pytest.approx(avg / (1 - beta ** (i + 1)), rel=1e-12)
    # the first loss is the untouched model's loss on the first batch
    x, y = mean_problem()[0]
    assert res.losses[0] == pytest.approx(float(MSE(model(x), y).detach()), rel=1e-6)


def test_linear_sweep():
    assert _sweep(1.0, 3.0, 5, "linear") == [1.0, 1.5, 2.0, 2.5, 3.0]
    lrs = _sweep(1e-3, 1e1, 5, "exp")
    assert lrs[0] == 1e-3 and [round(math.log10(v), 9) for v in lrs] == [-3, -2, -1, 0, 1]


def test_batches_are_cycled_in_order():
    seen = []

    def loss_fn(out, y):
        seen.append(int(y[0, 0]))
        return MSE(out, y)

    model = torch.nn.Linear(1, 1)
    data = [(torch.ones(2, 1), torch.full((2, 1), float(k))) for k in range(3)]
    for batches in (data, iter(data), (b for b in data)):      # list, iterator, generator
        seen.clear()
        optlib.lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, batches,
                             start_lr=1e-6, end_lr=1e-5, num_iter=7, diverge_th=1e9)
        assert seen == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="batches is empty"):
        optlib.lr_range_test(model, optlib.SGD(model.parameters()), MSE, [], num_iter=3)


def test_stops_on_nan():
    model = torch.nn.Linear(1, 1)
    opt = optlib.SGD(model.parameters())
    res = optlib.lr_range_test(model, opt, lambda out, y: out.sum() * math.nan,
                               [(torch.ones(1, 1), torch.ones(1, 1))], num_iter=10)
    assert res.stopped_early and len(res.lrs) == 1
    assert res.suggestion is None and res.best_lr is None


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(start_lr=0.0), r"Invalid start_lr: 0.0 \(expected a finite value > 0\)"),
    (dict(end_lr=-1.0), r"Invalid end_lr: -1.0 \(expected a finite value > 0\)"),
    (dict(start_lr=1.0, end_lr=0.5), r"Invalid end_lr: 0.5 \(expected a value > start_lr = 1.0\)"),
    (dict(num_iter=1), r"Invalid num_iter: 1 \(expected an integer >= 2\)"),
    (dict(num_iter=10.0), r"Invalid num_iter: 10.0 \(expected an integer >= 2\)"),
    (dict(step_mode="log"), r"Invalid step_mode: 'log' \(expected 'exp' or 'linear'\)"),
    (dict(beta=1.0), r"Invalid beta: 1.0 \(expected a value in \[0, 1\)\)"),
    (dict(diverge_th=1.0), r"Invalid diverge_th: 1.0 \(expected a finite value > 1\)"),
])
def test_invalid_arguments(kwargs, pattern):
    model = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match=pattern):
        optlib.lr_range_test(model, optlib.SGD(model.parameters()), MSE, mean_problem(), **kwargs)


def test_result_is_a_dataclass_with_the_documented_fields():
    import dataclasses
    names = {f.name for f in dataclasses.fields(optlib.LRRangeTestResult)}
    assert names == {"lrs", "losses", "smoothed_losses", "suggestion", "best_lr", "steepest_lr",
                     "stopped_early"}


def test_docstring_example():
    import doctest

    import optlib.lr_finder
    assert doctest.testmod(optlib.lr_finder, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
