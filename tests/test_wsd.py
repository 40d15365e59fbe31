"""The warmup–stable–decay schedule: its formula, torch's SequentialLR of LinearLR and
ConstantLR where the two coincide, chaining, resume and bad input."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch.optim.lr_scheduler import ConstantLR, LinearLR, SequentialLR

import optlib
from optlib.wsd import WSD, wsd

BASE_LRS = (0.1, 0.03)                 # two param groups with different lrs

CASES = {   # (warmup, stable, decay, final_fraction, start_factor)
    "typical": (10, 30, 20, 0.1, 0.2),
    "decay to zero": (5, 12, 9, 0.0, 0.5),
    "no warm-up": (0, 7, 11, 0.3, 0.0),
    "no stable phase": (6, 0, 6, 0.25, 0.1),
    "warm-up from zero": (8, 4, 10, 0.05, 0.0),
    "no decay": (4, 6, 0, 0.4, 0.25),
}


def formula(t, w, s, d, final, start, shape):
    """The schedule written out piece by piece (independent of optlib's code)."""
    if t < w:
        return start + (1 - start) * t / w
    if t < w + s:
        return 1.0
    if t >= w + s + d:
        return final
    x = (t - w - s) / d
    drop = {"linear": x, "cosine": 0.5 - 0.5 * math.cos(math.pi * x),
            "1-sqrt": x ** 0.5}[shape]
    return 1 - (1 - final) * drop


def optimizer(lr_type=float):
    params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    return optlib.SGD([{"params": [params[0]], "lr": lr_type(BASE_LRS[0])},
                       {"params": [params[1]], "lr": lr_type(BASE_LRS[1])}])


def lrs_over(opt, sched, steps):
    """Each group's lr at steps 0 .. steps-1 (as the optimiser sees it)."""
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("case", CASES)
def test_the_function_is_the_formula(case, shape):
    w, s, d, final, start = CASES[case]
    for t in range(w + s + d + 15):
        expected = formula(t, w, s, d, final, start, shape)
        got = wsd(t, w, s, d, final_fraction=final, start_factor=start,
                  decay_shape=shape)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), t
    assert wsd(w + s + d, w, s, d, final, start, shape) == final   # exactly at the end
    assert wsd(w + 0.5, w, s + 1, d, final, start, shape) == 1.0   # a fractional step


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("case", CASES)
def test_the_scheduler_follows_the_formula_for_every_step(case, shape):
    w, s, d, final, start = CASES[case]
    opt = optimizer()
    sched = WSD(opt, w, s, d, final_fraction=final, start_factor=start,
                decay_shape=shape)
    steps = w + s + d + 15
    for t, lrs in enumerate(lrs_over(opt, sched, steps)):
        for base, lr in zip(BASE_LRS, lrs):
            assert lr == pytest.approx(base * formula(t, w, s, d, final, start, shape),
                                       rel=1e-12, abs=1e-15), t


@pytest.mark.parametrize("case", [c for c, (w, _, d, _, start) in CASES.items()
                                  if start > 0 and w > 0 and d > 0])
def test_linear_equals_torchs_sequential_linear_constant_linear(case):
    """Where torch can express it (a warm-up from start_factor > 0, a decay of at
    least one step): SequentialLR of LinearLR (warm-up), ConstantLR(1.0) and LinearLR
    (decay)."""
    w, s, d, final, start = CASES[case]
    ours_opt, torch_opt = optimizer(), optimizer()
    ours = WSD(ours_opt, w, s, d, final_fraction=final, start_factor=start)
    pieces = [LinearLR(torch_opt, start_factor=start, end_factor=1.0, total_iters=w),
              ConstantLR(torch_opt, factor=1.0, total_iters=max(s, 1)),
              LinearLR(torch_opt, start_factor=1.0, end_factor=final, total_iters=d)]
    theirs = SequentialLR(torch_opt, pieces, milestones=[w, w + s])
    steps = w + s + d + 20
    a, b = lrs_over(ours_opt, ours, steps), lrs_over(torch_opt, theirs, steps)
    for t, (x, y) in enumerate(zip(a, b)):
        assert x == pytest.approx(y, rel=1e-12, abs=1e-15), t


def test_chainable_with_exponential_decay():
    """In a ChainedScheduler each step multiplies the lr by f(t)/f(t-1), so another
    chainable scheduler's factor is kept: lr = base f(t) gamma^t."""
    w, s, d, final, start = CASES["typical"]
    opt = optimizer()
    chain = torch.optim.lr_scheduler.ChainedScheduler(
        [WSD(opt, w, s, d, final_fraction=final, start_factor=start,
             decay_shape="cosine"),
         torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)])
    for t, lrs in enumerate(lrs_over(opt, chain, w + s + d + 10)):
        for base, lr in zip(BASE_LRS, lrs):
            expected = base * formula(t, w, s, d, final, start, "cosine") * 0.97 ** t
            assert lr == pytest.approx(expected, rel=1e-12), t


def test_step_with_an_epoch_uses_the_closed_form():
    opt = optimizer()
    sched = WSD(opt, 4, 4, 8, final_fraction=0.1, start_factor=0.0,
                decay_shape="1-sqrt")
    for t in (11, 3, 30, 0, 9):
        with pytest.warns(UserWarning):
            sched.step(t)
        for base, group in zip(BASE_LRS, opt.param_groups):
            assert group["lr"] == pytest.approx(
                base * formula(t, 4, 4, 8, 0.1, 0.0, "1-sqrt"), rel=1e-12)


def test_a_tensor_lr_is_updated_in_place():
    opt = optimizer(lr_type=lambda v: torch.tensor(v, dtype=torch.float64))
    tensors = [g["lr"] for g in opt.param_groups]
    sched = WSD(opt, 3, 2, 4, final_fraction=0.5, start_factor=0.2)
    for t, lrs in enumerate(lrs_over(opt, sched, 12)):
        for base, lr in zip(BASE_LRS, lrs):
            assert lr == pytest.approx(base * formula(t, 3, 2, 4, 0.5, 0.2, "linear"),
                                       rel=1e-12)
    assert all(g["lr"] is x for g, x in zip(opt.param_groups, tensors))


@pytest.mark.parametrize("stop", [3, 9, 17, 30])    # in each phase, and after the end
def test_resume_from_a_state_dict_is_bit_identical(stop):
    def build():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2).double()
        opt = optlib.AdamW([{"params": [model.weight]},
                            {"params": [model.bias], "lr": 3e-3}], lr=1e-2)
        return model, opt, WSD(opt, 5, 8, 10, final_fraction=0.1, decay_shape="cosine")

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 3, dtype=torch.float64, generator=gen)

    def train(model, opt, sched, steps):
        out = []
        for _ in range(steps):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()
            out.append(([p.detach().clone() for p in model.parameters()],
                        [g["lr"] for g in opt.param_groups]))
        return out

    model, opt, sched = build()
    train(model, opt, sched, stop)
    ckpt = roundtrip({"model": model.state_dict(), "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = train(model, opt, sched, 15)
    model2, opt2, sched2 = build()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    resumed = train(model2, opt2, sched2, 15)
    for (p1, lr1), (p2, lr2) in zip(straight, resumed):
        assert lr1 == lr2
        assert all(torch.equal(a, b) for a, b in zip(p1, p2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(warmup_steps=-1), "Invalid warmup_steps: -1"),
    (dict(stable_steps=2.5), "Invalid stable_steps: 2.5"),
    (dict(decay_steps=True), "Invalid decay_steps: True"),
    (dict(final_fraction=1.5), "Invalid final_fraction: 1.5"),
    (dict(start_factor=-0.1), "Invalid start_factor: -0.1"),
    (dict(decay_shape="exponential"), "Invalid decay_shape: 'exponential'"),
])
def test_bad_arguments(kwargs, message):
    args = dict(warmup_steps=2, stable_steps=3, decay_steps=4, **{})
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        wsd(0, **args)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        WSD(optimizer(), **args)


def test_bad_step_and_optimizer():
    with pytest.raises(ValueError, match="Invalid t: -1"):
        wsd(-1, 2, 3, 4)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        WSD("not an optimizer", 2, 3, 4)
