"""optlib's Lion against the paper's algorithm written out here, and against Lion of
lion-pytorch 0.2.5 where that package is installed."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from optlib.lion import Lion
from trajectories import (assert_close_trajectories, assert_equal_trajectories,
                          continue_from, roundtrip, run, smooth_problem)

STEPS = 120
SHAPES = [(4, 3), (5,), (2, 3, 2)]
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-7)}

CONFIGS = {
    "defaults / other betas, decay": (
        dict(), dict(lr=3e-3, betas=(0.8, 0.95), weight_decay=0.05)),
    "decay, beta2 = 1 / beta1 = 0, more decay": (
        dict(weight_decay=0.1, betas=(0.9, 1.0)),
        dict(lr=5e-3, betas=(0.0, 0.9), weight_decay=0.02)),
}
#: the constructor's lr (group 0 keeps it); with decoupled_weight_decay the decay per
#: step is lr * weight_decay / INIT_LR, up to 0.15 here
INIT_LR = 1e-3


def problem(dtype, seed=0):
    """Tensors of SHAPES and ``f(tensors)``, a smooth non-convex loss of such
    tensors."""
    return smooth_problem(SHAPES, dtype, seed)


def make(cls, params, config, **kw):
    h1, h2 = CONFIGS[config]
    return cls([{"params": params[:2], **h1}, {"params": params[2:], **h2}], lr=INIT_LR,
               **kw)


def lion_by_hand(start, f, groups, lrs, decoupled=False):
    """Chen et al. (2023), Algorithm 2, with the decay first as lion-pytorch applies it:

        theta <- theta (1 - eta lambda)          (lambda / eta_0 if ``decoupled``)
        c = beta1 m + (1 - beta1) g,   theta <- theta - eta sign(c)
        m <- beta2 m + (1 - beta2) g

    ``groups``: (indices into ``start``, hyper-parameters); ``lrs[t][i]``: group i's lr
    at step t. Returns the parameters after every step."""
    theta = [x.detach().clone() for x in start]
    m = [torch.zeros_like(x) for x in theta]
    traj = []
    for step_lrs in lrs:
        leaves = [x.clone().requires_grad_() for x in theta]
        grads = torch.autograd.grad(f(leaves), leaves)
        for (idx, h), eta in zip(groups, step_lrs):
            beta1, beta2 = h.get("betas", (0.9, 0.99))
            lam = h.get("weight_decay", 0.0)
            if decoupled:
                lam = lam / INIT_LR
            for j in idx:
                g = grads[j]
                theta[j] = theta[j] * (1 - eta * lam)
                c = m[j] * beta1 + g * (1 - beta1)
                theta[j] = theta[j] - eta * torch.sign(c)
                m[j] = m[j] * beta2 + g * (1 - beta2)
        traj.append([x.clone() for x in theta])
    return traj


@pytest.mark.parametrize("with_scheduler", [False, True], ids=["constant lr", "StepLR"])
@pytest.mark.parametrize("decoupled", [False, True], ids=["lr decay", "decoupled"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("config", CONFIGS)
def test_equals_the_algorithm_written_out(config, dtype, decoupled, with_scheduler):
    params, f = problem(dtype)
    start = [p.detach().clone() for p in params]
    opt = make(Lion, params, config, decoupled_weight_decay=decoupled)
    sched = (torch.optim.lr_scheduler.StepLR(opt, step_size=25, gamma=0.5)
             if with_scheduler else None)
    ours = run(opt, params, f, STEPS, sched)

    h1, h2 = CONFIGS[config]
    factor = [0.5 ** (t // 25) if with_scheduler else 1.0 for t in range(STEPS)]
    lrs = [(h1.get("lr", INIT_LR) * c, h2.get("lr", INIT_LR) * c) for c in factor]
    theirs = lion_by_hand(start, f, [([0, 1], h1), ([2], h2)], lrs, decoupled)
    assert_close_trajectories(ours, theirs, **TOL[dtype])
    assert all(torch.isfinite(x).all() for x in ours[-1])
    assert all((x - y).abs().max() > 1e-2 for x, y in zip(ours[-1], start))


def test_every_coordinate_moves_by_exactly_the_lr():
    params, f = problem(torch.float64)
    opt = Lion(params, lr=0.01)
    before = [p.detach().clone() for p in params]
    for after in run(opt, params, f, 20):
        for x, y in zip(before, after):
            torch.testing.assert_close((y - x).abs(), torch.full_like(x, 0.01),
                                       rtol=0, atol=1e-15)
        before = after


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=str)
@pytest.mark.parametrize("decoupled", [False, True], ids=["lr decay", "decoupled"])
@pytest.mark.parametrize("config", CONFIGS)
def test_same_trajectory_as_lion_pytorch(config, decoupled, dtype):
    lion_pytorch = pytest.importorskip("lion_pytorch")
    trajs = []
    for cls in (Lion, lion_pytorch.Lion):
        params, _ = problem(dtype)
        gen = torch.Generator().manual_seed(7)
        coefs = [torch.randn(p.shape, dtype=dtype, generator=gen) for p in params]

        def f(xs):   # real-valued for complex tensors too
            return sum((c * (x - 0.3) ** 2 + torch.sin(3 * x)).abs().sum()
                       for c, x in zip(coefs, xs))

        opt = make(cls, params, config, decoupled_weight_decay=decoupled)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
        trajs.append(run(opt, params, f, STEPS, sched))
    tol = TOL[torch.float64 if dtype == torch.float64 else torch.float32]
    assert_close_trajectories(*trajs, **tol)


def test_sparse_gradients_as_lion_pytorch():
    lion_pytorch = pytest.importorskip("lion_pytorch")
    idx = torch.tensor([[0, 3, 3, 7], [1, 1, 4, 2]])
    finals = []
    for cls in (Lion, lion_pytorch.Lion):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(10, 4, sparse=True).double()
        opt = cls(emb.parameters(), lr=0.01, weight_decay=0.1)
        for _ in range(30):
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            opt.step()
        finals.append(emb.weight.detach().clone())
    torch.testing.assert_close(*finals, **TOL[torch.float64])


def test_state_dict_moves_between_optlib_and_lion_pytorch():
    lion_pytorch = pytest.importorskip("lion_pytorch")
    config = "defaults / other betas, decay"
    params, f = problem(torch.float64)
    theirs = make(lion_pytorch.Lion, params, config)
    run(theirs, params, f, 20)
    start = [p.detach().clone() for p in params]
    saved = roundtrip(theirs.state_dict())
    after_theirs = run(theirs, params, f, 30)
    ours, after_ours = continue_from(
        saved, lambda ps: make(Lion, ps, config), params, f, 30, start
    )
    assert_close_trajectories(after_ours, after_theirs, **TOL[torch.float64])
    back = make(lion_pytorch.Lion, params, config)
    back.load_state_dict(roundtrip(ours.state_dict()))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_resume_from_a_state_dict_is_bit_identical(dtype):
    config = "decay, beta2 = 1 / beta1 = 0, more decay"
    params, f = problem(dtype)
    opt = make(Lion, params, config, decoupled_weight_decay=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=80)
    run(opt, params, f, 31, sched)
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = run(opt, params, f, 40, sched)

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]
    opt2 = make(Lion, fresh, config, decoupled_weight_decay=True)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=80)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = run(opt2, fresh, f, 40, sched2)
    assert_equal_trajectories(straight, resumed)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_keeps_the_initial_lr_of_the_decoupled_decay(how):
    params, f = problem(torch.float64)
    opt = Lion(params, lr=0.01, weight_decay=1.0, decoupled_weight_decay=True)
    run(opt, params, f, 3)
    clone = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    assert clone._init_lr == 0.01 and clone.decoupled_weight_decay


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    (dict(lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (dict(betas=(1.5, 0.99)), ValueError, "Invalid beta parameter at index 0: 1.5"),
    (dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (dict(weight_decay=-1.0), ValueError, "Invalid weight_decay value: -1.0"),
    (dict(lr=0.0, decoupled_weight_decay=True), ValueError, "initial lr"),
    (dict(use_triton=True), NotImplementedError, "Triton"),
    (dict(betas=0.9), TypeError, "betas must be a tuple"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Lion([torch.zeros(2, requires_grad=True)], **kwargs)


def test_beta_one_is_accepted_as_by_lion_pytorch_and_lr_zero_too():
    p = torch.ones(2, requires_grad=True)
    opt = Lion([p], lr=0.0, betas=(1.0, 1.0))
    p.grad = torch.ones(2)
    opt.step()
    assert torch.equal(p.detach(), torch.ones(2))
