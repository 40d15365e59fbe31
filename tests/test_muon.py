"""optlib's Muon against torch.optim.Muon (its reference): trajectories, the
Newton–Schulz iteration, resume, schedulers, state_dict exchange, the split with AdamW
and bad input."""

from __future__ import annotations


import pytest
import torch

import optlib
from optlib.muon import Muon, adjusted_lr, newton_schulz
from trajectories import (assert_close_trajectories, assert_equal_trajectories,
                          continue_from, roundtrip, run, smooth_problem)

STEPS = 120
SHAPES = [(7, 3), (4, 5), (6, 6), (1, 8)]      # tall, wide, square, a row
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-7)}

CONFIGS = {
    "defaults / plain momentum, Moonshot's lr, no decay": (
        dict(),
        dict(lr=0.05, momentum=0.8, nesterov=False, weight_decay=0.0,
             adjust_lr_fn="match_rms_adamw")),
    "original lr, 3 steps / other coefficients, eps": (
        dict(lr=0.01, weight_decay=0.3, ns_steps=3, adjust_lr_fn="original"),
        dict(lr=0.03, momentum=0.5, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3)),
}


def problem(dtype, seed=0):
    """Matrices of SHAPES and ``f(tensors)``, a smooth non-convex loss of such
    tensors."""
    return smooth_problem(SHAPES, dtype, seed)


def make(cls, params, config):
    h1, h2 = CONFIGS[config]
    return cls([{"params": params[:2], **h1}, {"params": params[2:], **h2}], lr=0.02)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("config", CONFIGS)
def test_same_trajectory_as_torch(config, dtype):
    trajs = []
    for cls in (Muon, torch.optim.Muon):
        params, f = problem(dtype)
        trajs.append(run(make(cls, params, config), params, f, STEPS))
    assert_close_trajectories(*trajs, **TOL[dtype])
    start, _ = problem(dtype)
    assert all((x - y).abs().max() > 1e-2 for x, y in zip(trajs[0][-1], start))


@pytest.mark.parametrize("schedule", ["CosineAnnealingLR", "LinearLR"])
def test_same_trajectory_with_a_scheduler(schedule):
    trajs = []
    for cls in (Muon, torch.optim.Muon):
        params, f = problem(torch.float64)
        opt = make(cls, params, "original lr, 3 steps / other coefficients, eps")
        if schedule == "CosineAnnealingLR":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
        else:
            sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1,
                                                      total_iters=30)
        trajs.append(run(opt, params, f, STEPS, sched))
    assert_close_trajectories(*trajs, **TOL[torch.float64])


@pytest.mark.parametrize("shape", [(16, 5), (5, 16), (9, 9)])
def test_newton_schulz_is_torchs_and_nearly_orthogonal(shape):
    from torch.optim._muon import _zeropower_via_newtonschulz as torchs  # private

    gen = torch.Generator().manual_seed(1)
    M = torch.randn(shape, generator=gen, dtype=torch.float64)
    O = newton_schulz(M)
    assert O.dtype == torch.bfloat16 and O.shape == M.shape
    assert torch.equal(O, torchs(M, (3.4445, -4.7750, 2.0315), 5, 1e-7))
    u, _, vh = torch.linalg.svd(M, full_matrices=False)      # M = U S V^T
    D = u.T @ O.double() @ vh.T                              # O = U S' V^T: D = S'
    off = D - torch.diag(D.diagonal())
    assert off.abs().max() < 0.05                            # (bfloat16 rounding)
    assert 0.6 < D.diagonal().min() and D.diagonal().max() < 1.25   # S' near 1


def test_adjusted_lr_follows_torchs_rules():
    from torch.optim._muon import _adjust_lr as torchs

    for fn in (None, "original", "match_rms_adamw"):
        for shape in ((256, 64), (64, 256), (10, 10)):
            assert adjusted_lr(0.02, fn, shape) == torchs(0.02, fn, torch.Size(shape))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_resume_from_a_state_dict_is_bit_identical(dtype):
    config = "defaults / plain momentum, Moonshot's lr, no decay"
    params, f = problem(dtype)
    opt = make(Muon, params, config)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.7)
    run(opt, params, f, 33, sched)
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = run(opt, params, f, 40, sched)

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]
    opt2 = make(Muon, fresh, config)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=10, gamma=0.7)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = run(opt2, fresh, f, 40, sched2)
    assert_equal_trajectories(straight, resumed)


def test_torch_state_dict_loads_and_continues_as_torch():
    config = "original lr, 3 steps / other coefficients, eps"
    params, f = problem(torch.float64)
    theirs = make(torch.optim.Muon, params, config)
    run(theirs, params, f, 20)
    start = [p.detach().clone() for p in params]
    saved = roundtrip(theirs.state_dict())
    after_torch = run(theirs, params, f, 30)
    ours, after_ours = continue_from(
        saved, lambda ps: make(Muon, ps, config), params, f, 30, start
    )
    assert_close_trajectories(after_ours, after_torch, **TOL[torch.float64])
    make(torch.optim.Muon, params, config).load_state_dict(roundtrip(ours.state_dict()))


def test_split_with_adamw_as_torch_does_it():
    """The usual set-up: Muon for the hidden matrix, AdamW for the embedding, the
    biases and the head."""
    def model():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Embedding(10, 8), torch.nn.Flatten(),
                                   torch.nn.Linear(24, 16), torch.nn.Tanh(),
                                   torch.nn.Linear(16, 3)).double()

    x = torch.randint(0, 10, (32, 3), generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 3, (32,), generator=torch.Generator().manual_seed(3))
    finals = []
    pairs = ((Muon, optlib.AdamW), (torch.optim.Muon, torch.optim.AdamW))
    for muon_cls, adamw_cls in pairs:
        net = model()
        hidden = [net[2].weight]
        rest = [p for p in net.parameters() if all(p is not q for q in hidden)]
        opts = [muon_cls(hidden, lr=0.02, weight_decay=0.01),
                adamw_cls(rest, lr=3e-3, weight_decay=0.01)]
        for _ in range(60):
            for o in opts:
                o.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            for o in opts:
                o.step()
        finals.append([p.detach().clone() for p in net.parameters()])
    for a, b in zip(*finals):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()])
def test_a_parameter_that_is_not_2d_raises_torchs_error(shape):
    p = torch.zeros(shape, requires_grad=True)
    with pytest.raises(ValueError) as theirs:
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True), p])
    with pytest.raises(ValueError) as ours:
        Muon([torch.zeros(2, 2, requires_grad=True), p])
    assert str(ours.value) == str(theirs.value)
    opt = Muon([torch.zeros(2, 2, requires_grad=True)])
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        opt.add_param_group({"params": [p]})      # (torch lets this one through)
    assert len(opt.param_groups) == 1


BAD = [dict(lr=-1.0), dict(lr=float("nan")), dict(lr=torch.tensor([0.1, 0.2])),
       dict(momentum=-0.5), dict(weight_decay=-0.1), dict(adjust_lr_fn="spectral")]
AT_STEP_IN_TORCH = [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))]


@pytest.mark.parametrize("kwargs", BAD + AT_STEP_IN_TORCH,
                         ids=lambda kw: ",".join(f"{k}" for k in kw))
def test_bad_arguments_raise_torchs_error(kwargs):
    """Same type and message; the last two torch raises at the first step, optlib at
    once."""
    def build_and_step(cls):
        p = torch.zeros(3, 2, requires_grad=True)
        opt = cls([p], **kwargs)
        p.grad = torch.ones_like(p)
        opt.step()

    with pytest.raises(Exception) as theirs:
        build_and_step(torch.optim.Muon)
    with pytest.raises(type(theirs.value)) as ours:
        Muon([torch.zeros(3, 2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("what", ["complex", "sparse"])
def test_complex_and_sparse_raise_torchs_error(what):
    errors = []
    for cls in (Muon, torch.optim.Muon):
        if what == "complex":
            p = torch.zeros(3, 2, dtype=torch.complex64, requires_grad=True)
            p.grad = torch.ones_like(p)
        else:
            p = torch.zeros(4, 2, requires_grad=True)
            p.grad = torch.eye(4, 2).to_sparse()
        with pytest.raises(RuntimeError) as err:
            cls([p]).step()
        errors.append(str(err.value))
    assert errors[0] == errors[1]
