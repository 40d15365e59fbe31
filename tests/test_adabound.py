"""AdaBound and AMSBound beyond the generic table: bit-equality with the authors' code, the bounds
under a scheduler, groups added later, state dicts exchanged with the reference, convergence."""

from __future__ import annotations

import copy
import io
import math
import warnings

import adabound
import numpy as np
import pytest
import torch

import optlib
from problems import logistic_problem, rosenbrock_problem
from cases import OPTIMIZER_CASES
from test_optimizers import groups, make_loss, make_params

# the reference calls deprecated torch overloads (add_(Number, Tensor)); that is not our concern
pytestmark = [pytest.mark.filterwarnings("ignore:This overload of add:UserWarning"),
              pytest.mark.usefixtures("one_thread")]   # tiny tensors (conftest.py)

HP1 = dict(lr=0.02, betas=(0.9, 0.99), final_lr=0.05, gamma=0.02, eps=1e-8, weight_decay=0.0)
HP2 = dict(lr=0.005, betas=(0.8, 0.999), final_lr=0.02, gamma=0.1, eps=1e-6, weight_decay=0.05)


# --------------------------------------------------------------------------- an independent transcription
class NumpyAdaBound:
    """AdaBound as the authors' code computes it, written with NumPy arrays (float64).

    ``hp`` are the hyper-parameters of one group plus ``base_lr``; ``clips`` counts how many
    coordinates were raised to the lower bound and cut to the upper bound.
    """

    def __init__(self, hp, amsbound=False):
        self.hp = {**hp, "base_lr": hp.get("base_lr", hp["lr"])}
        self.amsbound = amsbound
        self.state = {}
        self.clips = {"lower": 0, "upper": 0}

    def step(self, i, theta, grad, lr=None):
        hp = self.hp
        lr = hp["lr"] if lr is None else lr
        b1, b2 = hp["betas"]
        st = self.state.setdefault(i, dict(t=0, m=np.zeros_like(theta), v=np.zeros_like(theta),
                                           vmax=np.zeros_like(theta)))
        st["t"] += 1
        t = st["t"]
        g = grad + hp["weight_decay"] * theta
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        st["vmax"] = np.maximum(st["vmax"], st["v"])
        v = st["vmax"] if self.amsbound else st["v"]
        rate = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) / (np.sqrt(v) + hp["eps"])
        final = hp["final_lr"] * lr / hp["base_lr"]
        lower = final * (1 - 1 / (hp["gamma"] * t + 1))
        upper = final * (1 + 1 / (hp["gamma"] * t)) if hp["gamma"] > 0 else math.inf
        self.clips["lower"] += int((rate < lower).sum())
        self.clips["upper"] += int((rate > upper).sum())
        return theta - np.clip(rate, lower, upper) * st["m"]


# --------------------------------------------------------------------------- a problem
def problem(dtype=torch.float64, seed=0):
    """Three tensors and a smooth non-convex separable loss; ``grad_np`` is its gradient in NumPy."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (5,), (2, 2, 2)]
    params = [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes]
    coefs = [(torch.rand(s, generator=g, dtype=dtype) + 0.5, 2 * torch.randn(s, generator=g, dtype=dtype))
             for s in shapes]

    def loss():
        return sum((a * p ** 2 + b * p + 0.3 * torch.sin(3 * p)).sum() for (a, b), p in zip(coefs, params))

    def grad_np(i, x):
        a, b = (c.double().numpy() for c in coefs[i])
        return 2 * a * x + b + 0.9 * np.cos(3 * x)

    return params, loss, grad_np


def train(opt, params, loss, steps, sched=None, before_step=None):
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        if before_step is not None:
            before_step(opt)
        opt.step()
        if sched is not None:
            sched.step()
        out.append([p.detach().clone() for p in params])
    return out


def two_groups(params, amsbound=False):
    return [{"params": params[:2], **HP1, "amsbound": amsbound},
            {"params": params[2:], **HP2, "amsbound": amsbound}]


def assert_equal_traj(a, b):
    for k, (xa, xb) in enumerate(zip(a, b)):
        for x, y in zip(xa, xb):
            assert torch.equal(x, y), f"step {k + 1}"


def schedule(step):  # a learning-rate factor that goes down and back up
    return 1.0 if step < 20 else (0.3 if step < 50 else 2.0)


# --------------------------------------------------------------------------- equality with the authors' code
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("amsbound", [False, True])
def test_bit_identical_to_the_reference(amsbound, dtype):
    runs = []
    for cls in (optlib.AdaBound, adabound.AdaBound):
        params, loss, _ = problem(dtype)
        runs.append(train(cls(two_groups(params, amsbound)), params, loss, 150))
    assert_equal_traj(*runs)


TABLE = [c for c in OPTIMIZER_CASES if c.cls in (optlib.AdaBound, optlib.AMSBound)]


@pytest.mark.parametrize("case", TABLE, ids=lambda c: c.id)
def test_table_cases_equal_the_transcription_and_clip_at_both_bounds(case):
    """On the generic parity problem the table's rows really exercise the clipping: rates are
    raised to the lower bound and cut to the upper bound, in both groups (defaults excepted)."""
    params = make_params(torch.float64)
    loss = make_loss(params)
    opt = case.make(groups(case, params))
    ours = train(opt, params, loss, 120)
    hps = [{k: g[k] for k in ("lr", "betas", "final_lr", "gamma", "eps", "weight_decay")}
           for g in opt.param_groups]
    np_opts = [NumpyAdaBound(hp, opt.param_groups[0]["amsbound"]) for hp in hps]
    thetas = [p.detach().numpy().copy() for p in make_params(torch.float64)[:3]]
    grad_params = make_params(torch.float64)
    grad_loss = make_loss(grad_params)
    for k in range(120):
        with torch.no_grad():
            for p, th in zip(grad_params, thetas):
                p.copy_(torch.from_numpy(th))
                p.grad = None
        grad_loss().backward()
        thetas = [np_opts[0 if i < 2 else 1].step(i, th, grad_params[i].grad.numpy())
                  for i, th in enumerate(thetas)]
        for x, y in zip(ours[k], thetas):
            np.testing.assert_allclose(x.numpy(), y, rtol=1e-11, atol=1e-12)
    if case.kwargs.get("final_lr") is not None:
        for o in np_opts:
            assert o.clips["lower"] > 0 and o.clips["upper"] > 0, o.clips


# --------------------------------------------------------------------------- schedulers move the bounds
def test_a_scheduler_moves_the_bounds_as_in_the_reference():
    runs = []
    for cls in (optlib.AdaBound, adabound.AdaBound):
        params, loss, _ = problem()
        opt = cls(two_groups(params))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        runs.append(train(opt, params, loss, 100, sched))
    assert_equal_traj(*runs)

    # the scaling final_lr * lr / base_lr matters: without it (base_lr following lr) the run differs
    def forget_base_lr(opt):
        for group in opt.param_groups:
            group["base_lr"] = group["lr"]

    params, loss, _ = problem()
    opt = optlib.AdaBound(two_groups(params))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    unscaled = train(opt, params, loss, 100, sched, before_step=forget_base_lr)
    assert torch.equal(unscaled[19][0], runs[0][19][0])      # identical while lr = base lr
    assert (unscaled[-1][0] - runs[0][-1][0]).abs().max() > 1e-3


def test_scheduled_bounds_equal_the_transcription():
    params, loss, grad_np = problem()
    opt = optlib.AdaBound(two_groups(params))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    ours = train(opt, params, loss, 100, sched)
    np_opts = [NumpyAdaBound(HP1), NumpyAdaBound(HP2)]
    thetas = [p.detach().numpy().copy() for p in problem()[0]]
    for k in range(100):
        for i, th in enumerate(thetas):
            o = np_opts[0 if i < 2 else 1]
            thetas[i] = o.step(i, th, grad_np(i, th), lr=o.hp["lr"] * schedule(k))
    for x, y in zip(ours[-1], thetas):
        np.testing.assert_allclose(x.numpy(), y, rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------- groups added later
def test_a_group_added_later_is_updated_unlike_the_reference():
    params, loss, grad_np = problem()
    opt = optlib.AdaBound([{"params": params[:2], **HP1}])
    ref_params, ref_loss, _ = problem()
    ref = adabound.AdaBound([{"params": ref_params[:2], **HP1}])
    for k in range(60):
        if k == 10:
            opt.add_param_group({"params": params[2:], **HP2})
            ref.add_param_group({"params": ref_params[2:], **HP2})
        for o, lo in ((opt, loss), (ref, ref_loss)):
            o.zero_grad()
            lo().backward()
            o.step()
    assert opt.param_groups[1]["base_lr"] == HP2["lr"]
    # the reference never moves the new group: it zips the groups with the lrs it saw at construction
    torch.testing.assert_close(ref_params[2], problem()[0][2], rtol=0, atol=0)

    np_opts = [NumpyAdaBound(HP1), NumpyAdaBound(HP2)]
    thetas = [p.detach().numpy().copy() for p in problem()[0]]
    for k in range(60):
        for i, th in enumerate(thetas):
            if i == 2 and k < 10:
                continue
            thetas[i] = np_opts[0 if i < 2 else 1].step(i, th, grad_np(i, th))
    for x, y in zip(params, thetas):
        np.testing.assert_allclose(x.detach().numpy(), y, rtol=1e-11, atol=1e-12)
    assert not np.allclose(thetas[2], problem()[0][2].detach().numpy())
    assert opt.state[params[2]]["step"] == 50


def test_a_group_added_mid_schedule_may_name_its_base_lr():
    params, loss, _ = problem()
    opt = optlib.AdaBound([{"params": params[:2], **HP1}])
    opt.add_param_group({"params": params[2:], "lr": 0.001, "base_lr": 0.004})
    assert opt.param_groups[1]["base_lr"] == 0.004
    train(opt, params, loss, 3)
    assert opt.state[params[2]]["step"] == 3


@pytest.mark.parametrize("bad, error, match", [
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(lr=0.0), ValueError, r"Invalid learning rate: 0\.0 \(AdaBound needs an initial lr > 0"),
    (dict(final_lr=float("nan")), ValueError, r"Invalid final learning rate: nan"),
    (dict(gamma=2.0), ValueError, r"Invalid gamma parameter: 2\.0"),
    (dict(base_lr=0.0), ValueError, r"Invalid base_lr: 0\.0 \(expected a value in \(0, inf\)"),
    (dict(base_lr="x"), TypeError, r"base_lr must be a real number"),
])
def test_an_invalid_group_is_rejected_and_leaves_the_optimiser_unchanged(bad, error, match):
    params, _, _ = problem()
    opt = optlib.AdaBound([{"params": params[:2], **HP1}])
    with pytest.raises(error, match=match):
        opt.add_param_group({"params": params[2:], **bad})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": params[2:]})  # the parameters are still free to be added
    assert opt.param_groups[1]["base_lr"] == 1e-3


def test_gamma_zero_never_clips():
    """The reference divides by zero at the first step; here the upper bound is infinite."""
    hp = {**HP1, "gamma": 0.0}
    params, loss, grad_np = problem()
    ours = train(optlib.AdaBound([{"params": params, **hp}]), params, loss, 40)
    np_opt = NumpyAdaBound(hp)
    thetas = [p.detach().numpy().copy() for p in problem()[0]]
    for _ in range(40):
        thetas = [np_opt.step(i, th, grad_np(i, th)) for i, th in enumerate(thetas)]
    for x, y in zip(ours[-1], thetas):
        np.testing.assert_allclose(x.numpy(), y, rtol=1e-11, atol=1e-12)
    assert np_opt.clips == {"lower": 0, "upper": 0}
    params, loss, _ = problem()
    with pytest.raises(ZeroDivisionError):
        train(adabound.AdaBound([{"params": params, **hp}]), params, loss, 1)


# --------------------------------------------------------------------------- state dicts
def _exchange(cls_a, cls_b, amsbound, n_before=30, n_after=40):
    """A runs n_before steps under a scheduler; B (built with the initial lrs) loads A's state dict
    and continues at the scheduled lr; the result must equal A continuing."""
    params, loss, _ = problem()
    a = cls_a(two_groups(params, amsbound))
    sched = torch.optim.lr_scheduler.StepLR(a, step_size=10, gamma=0.5)
    train(a, params, loss, n_before, sched)
    saved = copy.deepcopy(a.state_dict())
    snapshot = [p.detach().clone() for p in params]
    straight = train(a, params, loss, n_after)

    params2, loss2, _ = problem()
    with torch.no_grad():
        for p, s in zip(params2, snapshot):
            p.copy_(s)
    b = cls_b(two_groups(params2, amsbound))
    b.load_state_dict(saved)
    assert b.param_groups[0]["lr"] == HP1["lr"] * 0.125
    assert all(isinstance(st["step"], int) and st["step"] == n_before for st in b.state.values())
    return straight, train(b, params2, loss2, n_after)


@pytest.mark.parametrize("amsbound", [False, True])
def test_reference_state_dict_loads_into_optlib_and_continues_identically(amsbound):
    assert_equal_traj(*_exchange(adabound.AdaBound, optlib.AdaBound, amsbound))


@pytest.mark.parametrize("amsbound", [False, True])
def test_optlib_state_dict_loads_into_the_reference_and_continues_identically(amsbound):
    assert_equal_traj(*_exchange(optlib.AdaBound, adabound.AdaBound, amsbound))


def test_same_state_keys_and_types_as_the_reference():
    states = []
    for cls in (optlib.AdaBound, adabound.AdaBound):
        params, loss, _ = problem()
        opt = cls(two_groups(params, amsbound=True))
        train(opt, params, loss, 2)
        states.append(opt.state_dict()["state"])
    for sa, sb in zip(states[0].values(), states[1].values()):
        assert set(sa) == set(sb) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
        for key in sa:
            assert type(sa[key]) is type(sb[key])
            if isinstance(sa[key], torch.Tensor):
                assert sa[key].dtype == sb[key].dtype and sa[key].shape == sb[key].shape


def test_resume_after_a_scheduler_keeps_base_lr():
    """base_lr travels in the state dict: an optimiser built with another lr resumes identically."""
    params, loss, _ = problem()
    opt = optlib.AMSBound(two_groups(params))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    train(opt, params, loss, 35, sched)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    snapshot = [p.detach().clone() for p in params]
    straight = train(opt, params, loss, 30, sched)

    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    params2, loss2, _ = problem()
    with torch.no_grad():
        for p, s in zip(params2, snapshot):
            p.copy_(s)
    opt2 = optlib.AMSBound([{"params": params2[:2], "lr": 1.0}, {"params": params2[2:], "lr": 1.0}])
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, schedule)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert [g["base_lr"] for g in opt2.param_groups] == [HP1["lr"], HP2["lr"]]
    assert_equal_traj(straight, train(opt2, params2, loss2, 30, sched2))


# --------------------------------------------------------------------------- it optimises
@pytest.mark.parametrize("cls", [optlib.AdaBound, optlib.AMSBound])
@pytest.mark.parametrize("make, kwargs, factor", [
    (logistic_problem, dict(lr=0.05, final_lr=0.1), 0.3),
    (rosenbrock_problem, dict(lr=0.1, final_lr=1e-3), 0.01),
])
def test_reduces_the_loss(cls, make, kwargs, factor):
    params, loss = make()
    opt = cls(params, **kwargs)
    start = loss().item()
    train(opt, params, loss, 1000)
    assert loss().item() < factor * start


def test_no_warning_from_optlib():
    params, loss, _ = problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(optlib.AdaBound(two_groups(params, True)), params, loss, 3)
