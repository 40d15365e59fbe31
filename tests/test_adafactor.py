"""optlib's Adafactor against torch.optim.Adafactor (its reference): trajectories,
resume, schedulers, state_dict exchange and bad input."""

from __future__ import annotations


import pytest
import torch

from optlib.adafactor import Adafactor
from trajectories import (assert_close_trajectories, assert_equal_trajectories,
                          continue_from, roundtrip, run)

STEPS = 120
#: a vector, a matrix, a 3-D and a 4-D tensor (factored over the last two dims), and a
#: scalar
SHAPES = [(7,), (4, 5), (3, 4, 5), (2, 3, 3, 3), ()]
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-7)}

CONFIGS = {
    "defaults / decay, clip 2, eps1, slower beta2": (
        dict(),
        dict(lr=0.05, weight_decay=0.1, d=2.0, eps=(1e-4, 1e-3), beta2_decay=-0.6)),
    "maximize / relative step capped by lr": (
        dict(lr=0.003, maximize=True, eps=(None, 1e-2)),
        dict(lr=0.2, maximize=True, weight_decay=0.01, beta2_decay=-1.0, d=1.5)),
}


def problem(dtype, seed=0, sign=1.0):
    """Parameters of SHAPES and ``f(tensors)``, a smooth non-convex loss of such tensors
    (``sign=-1``: a loss to climb, for ``maximize``)."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]
    coefs = [(torch.rand(s, generator=g, dtype=dtype) + 0.5,
              torch.randn(s, generator=g, dtype=dtype)) for s in SHAPES]

    def f(xs):
        return sign * sum((a * (x - b) ** 2 + 0.3 * torch.sin(3 * x)).sum()
                          for (a, b), x in zip(coefs, xs))

    return params, f


def make(cls, params, config, **common):
    h1, h2 = CONFIGS[config]
    return cls([{"params": params[:2], **h1}, {"params": params[2:], **h2}], **common)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("config", CONFIGS)
def test_same_trajectory_as_torch(config, dtype):
    """torch's default on the CPU is its for-loop path (``foreach=None``)."""
    sign = -1.0 if CONFIGS[config][0].get("maximize") else 1.0
    trajs = []
    for cls in (Adafactor, torch.optim.Adafactor):
        params, f = problem(dtype, sign=sign)
        trajs.append(run(make(cls, params, config), params, f, STEPS))
    assert_close_trajectories(*trajs, **TOL[dtype])
    start, _ = problem(dtype)
    assert all((x - y).abs().max() > 1e-2 for x, y in zip(trajs[0][-1], start))


@pytest.mark.parametrize("config", CONFIGS)
def test_torchs_foreach_path_agrees_to_its_own_rounding(config):
    """torch's ``foreach=True`` path rounds differently from its for-loop (a division by
    the size, a product of alphas); in float64 it stays within 1e-8 of both over 120
    steps (in float32 this chaotic loss lets torch's two paths part ways)."""
    sign = -1.0 if CONFIGS[config][0].get("maximize") else 1.0
    trajs = []
    for cls, kw in ((Adafactor, dict(foreach=True)), (torch.optim.Adafactor,
                                                       dict(foreach=True))):
        params, f = problem(torch.float64, sign=sign)
        trajs.append(run(make(cls, params, config, **kw), params, f, STEPS))
    assert_close_trajectories(*trajs, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("schedule", ["StepLR", "OneCycleLR"])
def test_same_trajectory_with_a_scheduler(schedule):
    trajs = []
    for cls in (Adafactor, torch.optim.Adafactor):
        params, f = problem(torch.float64)
        opt = make(cls, params, "defaults / decay, clip 2, eps1, slower beta2")
        if schedule == "StepLR":
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
        else:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.02, 0.1],
                                                        total_steps=STEPS,
                                                        cycle_momentum=False)
        trajs.append(run(opt, params, f, STEPS, sched))
    assert_close_trajectories(*trajs, **TOL[torch.float64])


def test_state_shapes_and_keys_are_torchs():
    params, f = problem(torch.float32)
    ours, theirs = Adafactor(params), torch.optim.Adafactor(params)
    f(params).backward()
    ours.step()
    theirs.step()
    for p in params:
        assert sorted(ours.state[p]) == sorted(theirs.state[p])
        for key, value in theirs.state[p].items():
            assert ours.state[p][key].shape == value.shape, key
            assert ours.state[p][key].dtype == value.dtype, key


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_resume_from_a_state_dict_is_bit_identical(dtype):
    config = "maximize / relative step capped by lr"
    params, f = problem(dtype, sign=-1.0)
    opt = make(Adafactor, params, config)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99)
    run(opt, params, f, 37, sched)
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = run(opt, params, f, 40, sched)

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]   # new tensors, optimiser
    opt2 = make(Adafactor, fresh, config)
    sched2 = torch.optim.lr_scheduler.ExponentialLR(opt2, gamma=0.99)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = run(opt2, fresh, f, 40, sched2)
    assert_equal_trajectories(straight, resumed)


def test_torch_state_dict_loads_and_continues_as_torch():
    config = "defaults / decay, clip 2, eps1, slower beta2"
    params, f = problem(torch.float64)
    theirs = make(torch.optim.Adafactor, params, config)
    run(theirs, params, f, 30)
    start = [p.detach().clone() for p in params]
    saved = roundtrip(theirs.state_dict())
    after_torch = run(theirs, params, f, 30)
    ours, after_ours = continue_from(
        saved, lambda ps: make(Adafactor, ps, config), params, f, 30, start
    )
    assert_close_trajectories(after_ours, after_torch, **TOL[torch.float64])
    back = make(torch.optim.Adafactor, params, config)
    back.load_state_dict(roundtrip(ours.state_dict()))    # and back again


BAD = [dict(lr=-1.0), dict(lr=float("nan")), dict(lr=torch.tensor([0.1, 0.2])),
       dict(beta2_decay=0.5), dict(eps=(-1e-3, 1e-3)), dict(eps=(None, -1.0)),
       dict(d=0.5), dict(weight_decay=-0.1)]


@pytest.mark.parametrize("kwargs", BAD, ids=lambda kw: ",".join(f"{k}" for k in kw))
def test_bad_arguments_raise_torchs_error(kwargs):
    p = [torch.zeros(3, requires_grad=True)]
    with pytest.raises(Exception) as theirs:
        torch.optim.Adafactor(p, **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        Adafactor(p, **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("what", ["complex", "sparse"])
def test_complex_and_sparse_raise_torchs_error(what):
    errors = []
    for cls in (Adafactor, torch.optim.Adafactor):
        if what == "complex":
            p = torch.zeros(3, dtype=torch.complex64, requires_grad=True)
            p.grad = torch.ones_like(p)
        else:
            p = torch.zeros(4, 2, requires_grad=True)
            p.grad = torch.eye(4, 2).to_sparse()
        with pytest.raises(RuntimeError) as err:
            cls([p]).step()
        errors.append(str(err.value))
    assert errors[0] == errors[1]


def test_lr_caps_the_relative_step_and_eps1_defaults_to_machine_epsilon():
    """One step on a vector: theta moves by RMS(theta) * min(lr, 1) * U_hat, and with a
    zero gradient only the decay acts."""
    theta = torch.tensor([3.0, -4.0], dtype=torch.float64, requires_grad=True)
    opt = Adafactor([theta], lr=0.5, weight_decay=0.0)
    theta.grad = torch.tensor([1.0, 1.0], dtype=torch.float64)
    opt.step()
    rms = (12.5) ** 0.5                            # RMS of (3, -4)
    expected = torch.tensor([3.0, -4.0], dtype=torch.float64) - 0.5 * rms
    torch.testing.assert_close(theta.detach(), expected, rtol=1e-14, atol=0)
    assert opt.param_groups[0]["eps"][0] is None
