"""SWATS against an independent NumPy transcription of Keskar & Socher's Algorithm 1, plus the
switch's bookkeeping: per-group phases, resume before and after the switch, groups added later."""

from __future__ import annotations

import copy
import io
import math

import numpy as np
import pytest
import torch

import optlib
from problems import logistic_problem, rosenbrock_problem

STEPS = 200


pytestmark = pytest.mark.usefixtures("one_thread")   # tiny tensors (conftest.py)


# --------------------------------------------------------------------------- Algorithm 1 in NumPy
class NumpySWATS:
    """Algorithm 1 of the paper for one parameter group, its parameters being one vector."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-9, weight_decay=0.0, switch_tol=None):
        self.alpha, (self.b1, self.b2), self.eps, self.mu = lr, betas, eps, weight_decay
        self.tol = eps if switch_tol is None else switch_tol
        self.k, self.lam, self.phase, self.Lam, self.switch_step = 0, 0.0, "adam", None, None
        self.m = self.a = self.v = None

    def step(self, thetas, grads):
        b1, b2 = self.b1, self.b2
        self.k += 1
        k = self.k
        g = np.concatenate([(gr + self.mu * th).ravel() for th, gr in zip(thetas, grads)])
        x = np.concatenate([th.ravel() for th in thetas])
        if self.m is None:
            self.m, self.a, self.v = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
        if self.phase == "sgd":
            self.v = b1 * self.v + g
            x = x - (1 - b1) * self.Lam * self.v
        else:
            self.m = b1 * self.m + (1 - b1) * g
            self.a = b2 * self.a + (1 - b2) * g * g
            p = -self.alpha * math.sqrt(1 - b2 ** k) / (1 - b1 ** k) * (self.m / (np.sqrt(self.a) + self.eps))
            x = x + p
            if p @ g != 0:
                gamma = (p @ p) / -(p @ g)
                self.lam = b2 * self.lam + (1 - b2) * gamma
                if k > 1 and abs(self.lam / (1 - b2 ** k) - gamma) < self.tol:
                    self.phase, self.Lam, self.switch_step = "sgd", self.lam / (1 - b2 ** k), k
        out, i = [], 0
        for th in thetas:
            out.append(x[i:i + th.size].reshape(th.shape))
            i += th.size
        return out


# --------------------------------------------------------------------------- a noisy problem
RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 8))
Y = X @ RNG.normal(size=8) + 0.3 * RNG.normal(size=256)
BATCHES = [RNG.choice(256, 16, replace=False) for _ in range(STEPS)]


def np_grads(w1, w2, k):
    """Mini-batch k of a least-squares problem; w1 weighs features 0-4, w2 (a 3x1 matrix) 5-7."""
    xb, yb = X[BATCHES[k]], Y[BATCHES[k]]
    r = xb[:, :5] @ w1 + (xb[:, 5:] @ w2)[:, 0] - yb
    return [2 * xb[:, :5].T @ r / len(yb), (2 * xb[:, 5:].T @ r / len(yb))[:, None]]


def torch_problem(dtype=torch.float64):
    w1 = torch.zeros(5, dtype=dtype, requires_grad=True)
    w2 = torch.zeros(3, 1, dtype=dtype, requires_grad=True)
    xt, yt = torch.from_numpy(X).to(dtype), torch.from_numpy(Y).to(dtype)

    def loss(k):
        b = BATCHES[k]
        return ((xt[b, :5] @ w1 + (xt[b, 5:] @ w2)[:, 0] - yt[b]) ** 2).mean()

    return [w1, w2], loss


G1 = dict(lr=0.01, switch_tol=1e-4)
G2 = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01, switch_tol=1e-4)


def optlib_run(g1, g2, steps=STEPS, watch=None):
    params, loss = torch_problem()
    opt = optlib.SWATS([{"params": params[:1], **g1}, {"params": params[1:], **g2}])
    traj = []
    for k in range(steps):
        opt.zero_grad()
        loss(k).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
        if watch is not None:
            watch(k, opt)
    return opt, traj


def numpy_run(g1, g2, steps=STEPS):
    alg = [NumpySWATS(**g1), NumpySWATS(**g2)]
    w1, w2, traj = np.zeros(5), np.zeros((3, 1)), []
    for k in range(steps):
        g_1, g_2 = np_grads(w1, w2, k)
        [w1], [w2] = alg[0].step([w1], [g_1]), alg[1].step([w2], [g_2])
        traj.append([w1, w2])
    return alg, traj


# --------------------------------------------------------------------------- Algorithm 1
@pytest.mark.parametrize("g1, g2, switches", [
    (G1, G2, True),
    ({**G1, "switch_tol": None, "eps": 1e-4}, {**G2, "switch_tol": None, "eps": 3e-4}, True),  # tol = eps
    ({"lr": 0.01}, {k: v for k, v in G2.items() if k != "switch_tol"}, False),  # the paper's eps
], ids=["switch_tol", "switch_tol_defaults_to_eps", "no_switch"])
def test_equals_algorithm_1(g1, g2, switches):
    opt, ours = optlib_run(g1, g2)
    alg, theirs = numpy_run(g1, g2)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}")
    for group, ref in zip(opt.param_groups, alg):
        assert group["phase"] == ref.phase == ("sgd" if switches else "adam")
        assert group["switch_step"] == ref.switch_step
        assert group["group_step"] == STEPS
        if switches:
            # to the last bits: the dot products are summed in another order than NumPy's
            assert group["sgd_lr"] == pytest.approx(ref.Lam, rel=1e-14, abs=0)
            assert 10 < group["switch_step"] < STEPS - 50  # both phases are exercised
        else:
            assert group["sgd_lr"] is None
        assert group["lambda_avg"] == pytest.approx(ref.lam, rel=1e-13, abs=0)
    if switches:  # the groups switch on their own
        assert opt.param_groups[0]["switch_step"] != opt.param_groups[1]["switch_step"]


def test_a_group_without_gradients_skips_the_step():
    """On a step where none of a group's parameters has a gradient the group does not move and
    its step count k does not advance: Algorithm 1 run on the steps the group did take."""
    skipped = {3, 4, 17, 40, 41, 42, 90}
    params, loss = torch_problem()
    opt = optlib.SWATS([{"params": params[:1], **G1}, {"params": params[1:], **G2}])
    alg = [NumpySWATS(**G1), NumpySWATS(**G2)]
    w1, w2 = np.zeros(5), np.zeros((3, 1))
    for k in range(STEPS):
        opt.zero_grad()
        loss(k).backward()
        g_1, g_2 = np_grads(w1, w2, k)
        [w1] = alg[0].step([w1], [g_1])
        if k in skipped:
            params[1].grad = None
        else:
            [w2] = alg[1].step([w2], [g_2])
        opt.step()
        for x, y in zip(params, [w1, w2]):
            np.testing.assert_allclose(x.detach().numpy(), y, rtol=1e-12, atol=1e-14,
                                       err_msg=f"step {k + 1}")
    assert opt.param_groups[0]["group_step"] == STEPS
    assert opt.param_groups[1]["group_step"] == STEPS - len(skipped) == alg[1].k
    assert opt.param_groups[1]["phase"] == alg[1].phase == "sgd"


def test_the_projection_is_over_the_whole_group():
    """One group holding both tensors switches where Algorithm 1 on the joined vector does."""
    params, loss = torch_problem()
    opt = optlib.SWATS(params, lr=0.01, switch_tol=1e-4)
    alg, w = NumpySWATS(lr=0.01, switch_tol=1e-4), [np.zeros(5), np.zeros((3, 1))]
    for k in range(STEPS):
        opt.zero_grad()
        loss(k).backward()
        opt.step()
        w = alg.step(w, np_grads(*w, k))
    assert alg.switch_step is not None
    assert opt.param_groups[0]["switch_step"] == alg.switch_step
    for p, x in zip(params, w):
        np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-12, atol=1e-14)


def test_the_sgd_phase_ignores_lr_and_follows_sgd_lr():
    def change_after_switch(key, factor):
        def watch(k, opt):
            group = opt.param_groups[0]
            if group["phase"] == "sgd" and k == group["switch_step"] + 5:
                group[key] *= factor
        return watch

    _, plain = optlib_run(G1, G2)
    _, lr_changed = optlib_run(G1, G2, watch=change_after_switch("lr", 0.1))
    _, sgd_lr_changed = optlib_run(G1, G2, watch=change_after_switch("sgd_lr", 0.1))
    assert all(np.array_equal(x, y) for a, b in zip(plain, lr_changed) for x, y in zip(a, b))
    assert not np.array_equal(plain[-1][0], sgd_lr_changed[-1][0])


def test_maximize_equals_minimizing_the_negative():
    out = []
    for sign, maximize in ((1, False), (-1, True)):
        params, loss = torch_problem()
        opt = optlib.SWATS(params, lr=0.01, switch_tol=1e-4, maximize=maximize)
        for k in range(STEPS):
            opt.zero_grad()
            (sign * loss(k)).backward()
            opt.step()
        out.append((params, opt.param_groups[0]["switch_step"]))
    assert out[0][1] is not None and out[0][1] == out[1][1]
    for a, b in zip(out[0][0], out[1][0]):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- bookkeeping
def test_a_group_added_later_starts_in_the_adam_phase():
    params, loss = torch_problem()
    opt = optlib.SWATS([{"params": params[:1], **G1}])
    alg = [NumpySWATS(**G1), NumpySWATS(**G2)]
    w1, w2 = np.zeros(5), np.zeros((3, 1))
    for k in range(STEPS):
        if k == 40:
            assert opt.param_groups[0]["phase"] == "sgd"
            opt.add_param_group({"params": params[1:], **G2})
            assert opt.param_groups[1]["phase"] == "adam"
        opt.zero_grad()
        loss(k).backward()
        opt.step()
        g_1, g_2 = np_grads(w1, w2, k)
        [w1] = alg[0].step([w1], [g_1])
        if k >= 40:
            [w2] = alg[1].step([w2], [g_2])
    group = opt.param_groups[1]
    assert group["group_step"] == STEPS - 40 and group["switch_step"] == alg[1].switch_step
    assert alg[1].switch_step is not None
    np.testing.assert_allclose(params[0].detach().numpy(), w1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(params[1].detach().numpy(), w2, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("key", ["phase", "switch_step", "sgd_lr", "lambda_avg", "group_step", "proj_lr"])
def test_a_group_may_not_set_the_tracked_keys(key):
    params, _ = torch_problem()
    with pytest.raises(ValueError, match=f"SWATS sets the group keys \\['{key}'\\] itself"):
        optlib.SWATS([{"params": params, key: None}])


@pytest.mark.parametrize("save_at", [1, 20, 35, 100])  # before both switches, between, after both
def test_resume_is_bit_identical_before_and_after_the_switch(save_at):
    params, loss = torch_problem()
    opt = optlib.SWATS([{"params": params[:1], **G1}, {"params": params[1:], **G2}])
    for k in range(save_at):
        opt.zero_grad()
        loss(k).backward()
        opt.step()
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    saved_groups = copy.deepcopy(opt.state_dict()["param_groups"])
    snapshot = [p.detach().clone() for p in params]
    phases = [g["phase"] for g in opt.param_groups]

    def finish(o, ps, lo):
        for k in range(save_at, STEPS):
            o.zero_grad()
            lo(k).backward()
            o.step()
        return [p.detach().clone() for p in ps]

    straight = finish(opt, params, loss)
    buf.seek(0)
    params2, loss2 = torch_problem()
    with torch.no_grad():
        for p, s in zip(params2, snapshot):
            p.copy_(s)
    opt2 = optlib.SWATS([{"params": params2[:1]}, {"params": params2[1:]}], lr=0.5)
    opt2.load_state_dict(torch.load(buf, weights_only=True))
    assert opt2.state_dict()["param_groups"] == saved_groups
    resumed = finish(opt2, params2, loss2)
    for a, b in zip(straight, resumed):
        assert torch.equal(a, b)
    assert [g["switch_step"] for g in opt2.param_groups] == [g["switch_step"] for g in opt.param_groups]
    expected = {1: ["adam", "adam"], 20: ["adam", "adam"], 35: ["adam", "sgd"], 100: ["sgd", "sgd"]}
    assert phases == expected[save_at]


def test_state_keys_and_plain_types():
    opt, _ = optlib_run(G1, G2, steps=150)
    for p, st in opt.state.items():
        assert set(st) == {"step", "exp_avg", "exp_avg_sq", "momentum_buffer"}
        assert int(st["step"]) == 150
    for group in opt.param_groups:
        for key in ("phase", "group_step", "lambda_avg", "proj_lr", "switch_step", "sgd_lr"):
            assert type(group[key]) in (str, int, float), key


# --------------------------------------------------------------------------- it optimises
@pytest.mark.parametrize("make, kwargs, factor", [
    (logistic_problem, dict(lr=0.05), 0.3),
    (logistic_problem, dict(lr=0.05, switch_tol=1e-3), 0.3),
    (rosenbrock_problem, dict(lr=0.05), 0.01),
    (rosenbrock_problem, dict(lr=0.1, switch_tol=1e-5), 0.01),  # switches late: an early
    # switch on Rosenbrock's curved valley picks a tiny SGD rate and then crawls
])
def test_reduces_the_loss(make, kwargs, factor):
    params, loss = make()
    opt = optlib.SWATS(params, **kwargs)
    start = loss().item()
    for _ in range(1000):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < factor * start
    assert opt.param_groups[0]["phase"] == ("sgd" if "switch_tol" in kwargs else "adam")


@pytest.mark.parametrize("chunk", [7, 1000, 2**18])
def test_projection_dots_are_float64_sums_of_exact_products(chunk):
    """``_dots`` cuts a large tensor into pieces; the sums must not depend on where it cuts, and a
    non-contiguous gradient must be read in the parameter's order."""
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(300, 700, generator=gen)                      # 210000 elements
    g = torch.randn(700, 300, generator=gen).t()                  # same shape, not contiguous
    opt = optlib.SWATS([torch.zeros(1, requires_grad=True)])
    pp, pg = opt._dots(p, g, chunk=chunk)
    p64, g64 = p.numpy().astype(np.float64).ravel(), g.numpy().astype(np.float64).ravel()
    assert math.isclose(pp, math.fsum(p64 * p64), rel_tol=1e-13)  # float32 products are exact
    assert math.isclose(pg, math.fsum(p64 * g64), rel_tol=1e-13)  # in float64
    assert not math.isclose(pg, float(torch.dot(p.reshape(-1), g.contiguous().reshape(-1))),
                            rel_tol=1e-13, abs_tol=0)            # float32 sums would not be
