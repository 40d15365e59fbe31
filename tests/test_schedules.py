"""optlib's schedules against their torch twins, step by step, over one table of cases.

``SCHEDULE_CASES`` pairs each optlib scheduler configuration with the torch scheduler it must
equal and with the pure function of the step it must follow. The generic tests run every case
with every optimiser of ``OPTIMIZERS`` (optlib's and torch's SGD and Adam, two param groups).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Callable

import pytest
import torch
from torch.optim import lr_scheduler as tls

import optlib
from optlib import schedules as S

LRS = (0.1, 0.03)           # the two param groups' lr (SGDR / LinearWarmup start from these)
REL = 1e-12


@pytest.fixture(autouse=True)
def _quiet():
    # torch warns when a scheduler steps before any optimizer.step(); the value tests do that
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


OPTIMIZERS = {
    "optlib.SGD": lambda ps: optlib.SGD(ps, lr=0.1, momentum=0.9),
    "optlib.Adam": lambda ps: optlib.Adam(ps, lr=0.1),
    "torch.SGD": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "torch.Adam": lambda ps: torch.optim.Adam(ps, lr=0.1),
}


def make_opt(kind, seed=0):
    g = torch.Generator().manual_seed(seed)
    w1 = torch.nn.Parameter(torch.randn(3, dtype=torch.float64, generator=g))
    w2 = torch.nn.Parameter(torch.randn(2, dtype=torch.float64, generator=g))
    return OPTIMIZERS[kind]([{"params": [w1], "lr": LRS[0]}, {"params": [w2], "lr": LRS[1]}])


@dataclass
class SchedCase:
    id: str
    ours: Callable            # (optimizer) -> optlib scheduler
    theirs: Callable          # (optimizer) -> torch scheduler
    steps: int                # >= two full cycles and past the end
    pure: Callable            # (t, group index) -> lr, the plotted function
    momentum: Callable | None = None   # (t, group index) -> momentum / beta1


def _cyclic(kw, steps, **extra):
    base, top = [0.01, 0.002], [0.1, 0.05]
    kw = dict(base_lr=base, max_lr=top, **kw)
    shape = {k: v for k, v in kw.items() if k not in ("base_lr", "max_lr", "cycle_momentum",
                                                        "base_momentum", "max_momentum")}
    mom = None
    if kw.get("cycle_momentum", True):
        mb, mm = kw.get("base_momentum", 0.8), kw.get("max_momentum", 0.9)
        mb, mm = (v if isinstance(v, list) else [v, v] for v in (mb, mm))
        mom = lambda t, i: S.cyclic_momentum(t, mb[i], mm[i], **shape)  # noqa: E731
    return SchedCase(f"CyclicLR{extra.get('tag', kw)}", partial(optlib.CyclicLR, **kw),
                     partial(tls.CyclicLR, **kw), steps,
                     lambda t, i: S.cyclic_lr(t, base[i], top[i], **shape), mom)


def _sgdr(kw, steps):
    return SchedCase(f"SGDR{kw}", partial(optlib.SGDR, **kw),
                     partial(tls.CosineAnnealingWarmRestarts, **kw), steps,
                     lambda t, i: S.cosine_restarts(t, LRS[i], **kw))


def _one_cycle(kw, total):
    shape = {k: v for k, v in kw.items() if k not in ("max_lr", "epochs", "steps_per_epoch",
                                                        "total_steps", "cycle_momentum")}
    fn_kw = {k: v for k, v in shape.items() if k not in ("base_momentum", "max_momentum")}
    mom_keys = ("base_momentum", "max_momentum", "pct_start", "anneal_strategy", "three_phase")
    mom_kw = {k: v for k, v in shape.items() if k in mom_keys}
    tops = kw["max_lr"] if isinstance(kw["max_lr"], list) else [kw["max_lr"]] * 2
    mom = None
    if kw.get("cycle_momentum", True):
        mom = lambda t, i: S.one_cycle_momentum(t, total, **mom_kw)  # noqa: E731
    return SchedCase(f"OneCycleLR{kw}", partial(optlib.OneCycleLR, **kw),
                     partial(tls.OneCycleLR, **kw), total + 1,       # t = total_steps is allowed
                     lambda t, i: S.one_cycle(t, tops[i], total, **fn_kw), mom)


def _linear(kw, steps):
    return SchedCase(f"LinearWarmup{kw}", partial(optlib.LinearWarmup, **kw),
                     partial(tls.LinearLR, **kw), steps,
                     lambda t, i: S.linear_warmup(t, LRS[i], **kw))


SCHEDULE_CASES = [
    _cyclic(dict(step_size_up=3), 20),
    _cyclic(dict(step_size_up=2, step_size_down=5), 24),
    _cyclic(dict(step_size_up=4, step_size_down=0), 14),
    _cyclic(dict(step_size_up=3, mode="triangular2"), 26),
    _cyclic(dict(step_size_up=3, step_size_down=2, mode="exp_range", gamma=0.9), 24),
    _cyclic(dict(step_size_up=2, scale_fn=lambda c: 0.7 ** c, scale_mode="cycle"), 18,
            tag="(scale_fn=0.7**c,cycle)"),
    _cyclic(dict(step_size_up=2, scale_fn=lambda k: 1 / (1 + k), scale_mode="iterations"), 18,
            tag="(scale_fn=1/(1+k),iterations)"),
    _cyclic(dict(step_size_up=3, cycle_momentum=False), 14),
    _cyclic(dict(step_size_up=3, base_momentum=[0.7, 0.85], max_momentum=[0.95, 0.9]), 14),
    _sgdr(dict(T_0=4), 20),
    _sgdr(dict(T_0=2, T_mult=2), 32),
    _sgdr(dict(T_0=3, T_mult=3, eta_min=0.001), 42),
    _one_cycle(dict(max_lr=0.5, total_steps=20), 20),
    _one_cycle(dict(max_lr=[0.5, 0.2], total_steps=30, pct_start=0.25, anneal_strategy="linear",
                    div_factor=10.0, final_div_factor=100.0), 30),
    _one_cycle(dict(max_lr=0.5, total_steps=24, three_phase=True), 24),
    _one_cycle(dict(max_lr=0.5, total_steps=21, three_phase=True, anneal_strategy="linear",
                    pct_start=0.4), 21),
    _one_cycle(dict(max_lr=0.5, epochs=3, steps_per_epoch=7, base_momentum=0.8,
                    max_momentum=0.99), 21),
    _one_cycle(dict(max_lr=0.5, total_steps=15, cycle_momentum=False), 15),
    _linear(dict(), 9),
    _linear(dict(start_factor=0.1, total_iters=4), 9),
    _linear(dict(start_factor=1.0, end_factor=0.0, total_iters=6), 10),
    _linear(dict(start_factor=0.5, end_factor=0.25, total_iters=3), 7),
]
CASE_IDS = [c.id for c in SCHEDULE_CASES]


def _momentum(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _close(a, b, rel=REL):
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=1e-300) for x, y in zip(a, b, strict=True))


def _trajectory(opt, sched, steps):
    """(lrs, momenta, betas[1]) per step, reading the optimiser before each scheduler step."""
    out = []
    for t in range(steps):
        out.append(([g["lr"] for g in opt.param_groups], _momentum(opt),
                    [g.get("betas", (None, None))[1] for g in opt.param_groups]))
        if t < steps - 1:
            opt.step()
            sched.step()
    return out


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=CASE_IDS)
def test_equals_torch_step_by_step(case, kind):
    o1, o2 = make_opt(kind), make_opt(kind)
    ours = _trajectory(o1, case.ours(o1), case.steps)
    theirs = _trajectory(o2, case.theirs(o2), case.steps)
    for t, ((lr1, m1, b1), (lr2, m2, b2)) in enumerate(zip(ours, theirs)):
        assert _close(lr1, lr2), (t, lr1, lr2)
        assert _close(m1, m2), (t, m1, m2)
        assert b1 == b2                    # beta2 is never touched
    # the parameters moved identically too (same lr and momentum at every step)
    for p1, p2 in zip(o1.param_groups, o2.param_groups):
        torch.testing.assert_close(p1["params"][0], p2["params"][0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=CASE_IDS)
def test_class_follows_its_pure_function(case):
    opt = make_opt("optlib.Adam")
    sched = case.ours(opt)
    for t in range(case.steps):
        assert sched.last_epoch == t
        for i, g in enumerate(opt.param_groups):
            assert g["lr"] == pytest.approx(case.pure(t, i), rel=1e-15, abs=0)
            if case.momentum is not None:
                assert g["betas"][0] == pytest.approx(case.momentum(t, i), rel=1e-15)
        if t < case.steps - 1:
            sched.step()


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=CASE_IDS)
def test_state_dict_resume_mid_cycle(case):
    """Save optimiser + scheduler halfway (through torch.save/load(weights_only=True)), load into
    fresh objects, and continue: lrs, momenta and parameters match an uninterrupted run."""
    def train_step(opt, sched):
        for g in opt.param_groups:
            for p in g["params"]:
                p.grad = torch.sin(3 * p.detach()) + 0.1
        opt.step()
        sched.step()

    half = case.steps // 2 + 1
    ref_opt = make_opt("torch.SGD")
    ref = case.ours(ref_opt)
    for _ in range(case.steps - 1):
        train_step(ref_opt, ref)

    opt = make_opt("torch.SGD")
    sched = case.ours(opt)
    for _ in range(half):
        train_step(opt, sched)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict(),
                "params": [p.detach().clone() for g in opt.param_groups for p in g["params"]]}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)

    opt2 = make_opt("torch.SGD", seed=1)               # different parameters, fresh state
    sched2 = case.ours(opt2)                           # build the scheduler, then load states
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    with torch.no_grad():
        for p, saved in zip((p for g in opt2.param_groups for p in g["params"]), ckpt["params"]):
            p.copy_(saved)
    for _ in range(case.steps - 1 - half):
        train_step(opt2, sched2)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in ref_opt.param_groups]
    assert _momentum(opt2) == _momentum(ref_opt)
    assert sched2.last_epoch == ref.last_epoch
    for g2, g in zip(opt2.param_groups, ref_opt.param_groups):
        assert torch.equal(g2["params"][0], g["params"][0])


# ------------------------------------------------------------------- schedule-specific checks
def test_triangular_is_smiths_formula():
    for t in range(40):
        for up in (1, 2, 5):
            assert S.triangular(t, 0.01, 0.1, up) == pytest.approx(
                S.cyclic_lr(t, 0.01, 0.1, up), rel=REL)
    # and the literal values of the triangle: base, half-way, peak, half-way, base
    assert [S.triangular(t, 0.0, 1.0, 2) for t in range(5)] == [0.0, 0.5, 1.0, 0.5, 0.0]


def test_cyclic_boundaries_and_modes():
    # peak exactly at step_size_up, base at the end of each cycle; triangular2 halves the peak
    assert S.cyclic_lr(3, 0.0, 1.0, 3) == 1.0 and S.cyclic_lr(6, 0.0, 1.0, 3) == 0.0
    peaks = [S.cyclic_lr(3 + 6 * k, 0.0, 1.0, 3, mode="triangular2") for k in range(3)]
    assert peaks == [1.0, 0.5, 0.25]
    assert S.cyclic_lr(3, 0.0, 1.0, 3, mode="exp_range", gamma=0.5) == 0.5 ** 3
    # momentum is lowest where the lr peaks
    assert S.cyclic_momentum(3, 0.8, 0.9, 3) == 0.8 and S.cyclic_momentum(0, 0.8, 0.9, 3) == 0.9


@pytest.mark.parametrize("T_0,T_mult", [(1, 2), (2, 2), (3, 3), (5, 1), (10, 2), (1, 5), (7, 4)])
def test_restart_position_is_exact(T_0, T_mult):
    T_cur, T_i = 0, T_0                              # the incremental rule, in integers
    for epoch in range(600):
        assert S.restart_position(epoch, T_0, T_mult) == (T_cur, T_i), epoch
        T_cur += 1
        if T_cur >= T_i:
            T_cur, T_i = T_cur - T_i, T_i * T_mult
    # every restart gives back the base lr
    start = 0
    for k in range(5):
        assert S.cosine_restarts(start, 0.7, T_0, T_mult) == 0.7
        start += T_0 * T_mult ** k


@pytest.mark.parametrize("kw", [dict(T_0=3), dict(T_0=2, T_mult=2, eta_min=0.01),
                                dict(T_0=3, T_mult=3)])
def test_sgdr_fractional_epochs(kw):
    """step(epoch + i / iters) as in the paper and torch's docstring, then plain step()s."""
    o1, o2 = make_opt("optlib.SGD"), make_opt("torch.SGD")
    s1, s2 = optlib.SGDR(o1, **kw), tls.CosineAnnealingWarmRestarts(o2, **kw)
    iters = 5
    for epoch in range(16):
        for i in range(iters):
            e = epoch + i / iters
            s1.step(e)
            s2.step(e)
            lrs = [g["lr"] for g in o1.param_groups]
            assert _close(lrs, [g["lr"] for g in o2.param_groups])
            assert _close(lrs, [S.cosine_restarts(e, LRS[j], **kw) for j in range(2)])
            assert s1.last_epoch == s2.last_epoch == epoch
    # jump (to a whole or a fractional epoch), then continue with step(): torch's interleaved
    # usage, where T_cur keeps the fraction across restarts
    for jump in (26, 26.6):
        s1.step(jump)
        s2.step(jump)
        for _ in range(10):
            s1.step()
            s2.step()
            assert _close([g["lr"] for g in o1.param_groups], [g["lr"] for g in o2.param_groups])
            assert (s1.T_cur, s1.T_i) == pytest.approx((s2.T_cur, s2.T_i), rel=1e-15)


def test_one_cycle_past_the_end_raises_like_torch():
    for sched_cls in (optlib.OneCycleLR, tls.OneCycleLR):
        sched = sched_cls(make_opt("optlib.SGD"), max_lr=0.5, total_steps=5)
        for _ in range(5):
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 6 times. The specified number of "
                                             "total steps is 5"):
            sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        S.one_cycle(6, 0.5, 5)


def test_one_cycle_levels():
    # two phases: initial -> max -> initial/final_div; three phases come back to initial first
    total = 100
    assert S.one_cycle(0, 1.0, total) == pytest.approx(1.0 / 25)
    assert S.one_cycle(29, 1.0, total) == 1.0                    # end of phase 1 at 0.3*100 - 1
    assert S.one_cycle(99, 1.0, total) == pytest.approx(1.0 / 25 / 1e4)
    assert S.one_cycle(58, 1.0, total, three_phase=True) == pytest.approx(1.0 / 25)
    assert S.one_cycle_momentum(29, total) == 0.85 and S.one_cycle_momentum(99, total) == 0.95


@pytest.mark.parametrize("kind", ["optlib.SGD", "torch.Adam"])
def test_momentum_cycling_trains_identically(kind):
    """optlib's CyclicLR / OneCycleLR drive an optimiser exactly as torch's twins do."""
    torch.manual_seed(0)
    X, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, dtype=torch.float64)
    for ours, theirs in ((partial(optlib.CyclicLR, base_lr=0.01, max_lr=0.1, step_size_up=4),
                          partial(tls.CyclicLR, base_lr=0.01, max_lr=0.1, step_size_up=4)),
                         (partial(optlib.OneCycleLR, max_lr=0.1, total_steps=30),
                          partial(tls.OneCycleLR, max_lr=0.1, total_steps=30))):
        results = []
        for factory in (ours, theirs):
            opt = make_opt(kind)
            w = opt.param_groups[0]["params"][0]
            sched = factory(opt)
            for _ in range(30):
                opt.zero_grad()
                ((X @ w - y) ** 2).mean().backward()
                opt.step()
                sched.step() if sched.last_epoch < 30 else None
            results.append(w.detach().clone())
        assert torch.equal(results[0], results[1])


# ------------------------------------------------------------------- warm-up in front of anything
@pytest.mark.parametrize("w,s", [(3, 0.1), (5, 1.0 / 3), (1, 0.5)])
def test_warmup_then_equals_sequential_lr(w, s):
    o1, o2 = make_opt("optlib.SGD"), make_opt("torch.SGD")
    ours = optlib.WarmupThen(o1, after=optlib.SGDR(o1, T_0=3, T_mult=2), warmup_iters=w,
                             start_factor=s)
    theirs = tls.SequentialLR(o2, [tls.LinearLR(o2, start_factor=s, total_iters=w),
                                   tls.CosineAnnealingWarmRestarts(o2, T_0=3, T_mult=2)],
                              milestones=[w])
    # and the same with the pure combinator, one function per group
    o3 = make_opt("optlib.SGD")
    pure = optlib.WarmupThen(o3, after=[partial(S.cosine_restarts, base_lr=lr, T_0=3, T_mult=2)
                                        for lr in LRS], warmup_iters=w, start_factor=s)
    for t in range(30):
        lrs = [g["lr"] for g in o1.param_groups]
        assert _close(lrs, [g["lr"] for g in o2.param_groups]), t
        assert _close(lrs, [g["lr"] for g in o3.param_groups]), t
        assert _close(lrs, ours.get_last_lr())
        for sched, opt in ((ours, o1), (theirs, o2), (pure, o3)):
            opt.step()
            sched.step()


def test_with_warmup_literal_sequence():
    f = S.with_warmup(lambda t: 1.0 - 0.1 * t, warmup_steps=4, start_factor=0.2)
    assert [round(f(t), 12) for t in range(7)] == [0.2, 0.4, 0.6, 0.8, 1.0, 0.9, 0.8]


def test_warmup_then_cyclic_after_and_resume():
    """Warm-up to CyclicLR's first lr while its step-0 momentum is kept; then the cycle runs."""
    def build():
        opt = make_opt("optlib.SGD")
        clr = optlib.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2)
        return opt, optlib.WarmupThen(opt, after=clr, warmup_iters=2, start_factor=0.5)

    opt, sched = build()
    seen = []
    for _ in range(8):
        g = opt.param_groups[0]
        seen.append((round(g["lr"], 12), round(g["momentum"], 12)))
        opt.step()
        sched.step()
    assert seen == [(0.005, 0.9), (0.0075, 0.9), (0.01, 0.9), (0.055, 0.85), (0.1, 0.8),
                    (0.055, 0.85), (0.01, 0.9), (0.055, 0.85)]
    # resume mid-way: state_dict carries the inner scheduler's state
    opt_a, a = build()
    for _ in range(5):
        opt_a.step()
        a.step()
    buf = io.BytesIO()
    torch.save({"s": a.state_dict(), "o": opt_a.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    opt_b, b = build()
    opt_b.load_state_dict(ckpt["o"])
    b.load_state_dict(ckpt["s"])
    for _ in range(6):
        for o, s in ((opt_a, a), (opt_b, b)):
            o.step()
            s.step()
        assert [g["lr"] for g in opt_a.param_groups] == [g["lr"] for g in opt_b.param_groups]
        assert _momentum(opt_a) == _momentum(opt_b)


# --------------------------------------------------------------------------- errors
def _sgd():
    return optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)


def _adagrad():  # no momentum and no betas
    return optlib.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


# (id, optlib call, torch call or None, error type, message pattern)
ERROR_CASES = [
    ("cyclic-mode", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, mode="sawtooth"),
     lambda: tls.CyclicLR(_sgd(), 0.1, 1.0, mode="sawtooth"), ValueError,
     "mode is invalid and scale_fn is None"),
    ("cyclic-no-momentum", lambda: optlib.CyclicLR(_adagrad(), 0.1, 1.0),
     lambda: tls.CyclicLR(_adagrad(), 0.1, 1.0), ValueError,
     "optimizer must support momentum or beta1"),
    ("cyclic-len", lambda: optlib.CyclicLR(_sgd(), [0.1, 0.2], 1.0),
     lambda: tls.CyclicLR(_sgd(), [0.1, 0.2], 1.0), ValueError,
     r"base_lr must have the same length as optimizer.param_groups. "
     r"base_lr has 2 values, param_groups has 1."),
    ("cyclic-not-opt", lambda: optlib.CyclicLR(object(), 0.1, 1.0),
     lambda: tls.CyclicLR(object(), 0.1, 1.0), TypeError, "object is not an Optimizer"),
    ("cyclic-step0", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, step_size_up=0), None, ValueError,
     r"Invalid step_size_up: 0 \(expected a finite number > 0\)"),
    ("cyclic-down", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, step_size_down=-1), None, ValueError,
     r"Invalid step_size_down: -1 \(expected a finite number >= 0\)"),
    ("cyclic-gamma", lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, mode="exp_range", gamma=0.0), None,
     ValueError, r"Invalid gamma: 0.0 \(expected a finite value > 0\)"),
    ("cyclic-base", lambda: optlib.CyclicLR(_sgd(), -0.1, 1.0), None, ValueError,
     r"Invalid base_lr: -0.1 \(expected a finite value >= 0\)"),
    ("cyclic-scale-mode",
     lambda: optlib.CyclicLR(_sgd(), 0.1, 1.0, scale_fn=abs, scale_mode="epoch"),
     None, ValueError, r"Invalid scale_mode: 'epoch' \(expected 'cycle' or 'iterations'\)"),
    ("sgdr-T0", lambda: optlib.SGDR(_sgd(), T_0=0),
     lambda: tls.CosineAnnealingWarmRestarts(_sgd(), T_0=0),
     ValueError, "Expected positive integer T_0, but got 0"),
    ("sgdr-T0-float", lambda: optlib.SGDR(_sgd(), T_0=2.5),
     lambda: tls.CosineAnnealingWarmRestarts(_sgd(), T_0=2.5), ValueError,
     "Expected positive integer T_0, but got 2.5"),
    ("sgdr-Tmult", lambda: optlib.SGDR(_sgd(), T_0=2, T_mult=0),
     lambda: tls.CosineAnnealingWarmRestarts(_sgd(), T_0=2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1, but got 0"),
    ("sgdr-eta", lambda: optlib.SGDR(_sgd(), T_0=2, eta_min="0"),
     lambda: tls.CosineAnnealingWarmRestarts(_sgd(), T_0=2, eta_min="0"), ValueError,
     "Expected float or int eta_min, but got 0 of type <class 'str'>"),
    ("sgdr-epoch", lambda: optlib.SGDR(_sgd(), T_0=2).step(-1),
     lambda: tls.CosineAnnealingWarmRestarts(_sgd(), T_0=2).step(-1), ValueError,
     "Expected non-negative epoch, but got -1"),
    ("1cycle-total", lambda: optlib.OneCycleLR(_sgd(), 1.0, total_steps=0),
     lambda: tls.OneCycleLR(_sgd(), 1.0, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    ("1cycle-none", lambda: optlib.OneCycleLR(_sgd(), 1.0), lambda: tls.OneCycleLR(_sgd(), 1.0),
     ValueError, r"You must define either total_steps OR \(epochs AND steps_per_epoch\)"),
    ("1cycle-epochs", lambda: optlib.OneCycleLR(_sgd(), 1.0, epochs=0, steps_per_epoch=3),
     lambda: tls.OneCycleLR(_sgd(), 1.0, epochs=0, steps_per_epoch=3), ValueError,
     "Expected positive integer epochs, but got 0"),
    ("1cycle-spe", lambda: optlib.OneCycleLR(_sgd(), 1.0, epochs=2, steps_per_epoch=1.5),
     lambda: tls.OneCycleLR(_sgd(), 1.0, epochs=2, steps_per_epoch=1.5), ValueError,
     "Expected positive integer steps_per_epoch, but got 1.5"),
    ("1cycle-pct", lambda: optlib.OneCycleLR(_sgd(), 1.0, total_steps=10, pct_start=1.5),
     lambda: tls.OneCycleLR(_sgd(), 1.0, total_steps=10, pct_start=1.5), ValueError,
     "Expected float between 0 and 1 pct_start, but got 1.5"),
    ("1cycle-anneal", lambda: optlib.OneCycleLR(_sgd(), 1.0, total_steps=10, anneal_strategy="exp"),
     lambda: tls.OneCycleLR(_sgd(), 1.0, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    ("1cycle-momentum", lambda: optlib.OneCycleLR(_adagrad(), 1.0, total_steps=10),
     lambda: tls.OneCycleLR(_adagrad(), 1.0, total_steps=10), ValueError,
     "optimizer must support momentum or beta1"),
    ("linear-start", lambda: optlib.LinearWarmup(_sgd(), start_factor=0.0),
     lambda: tls.LinearLR(_sgd(), start_factor=0.0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    ("linear-end", lambda: optlib.LinearWarmup(_sgd(), end_factor=1.5),
     lambda: tls.LinearLR(_sgd(), end_factor=1.5), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1."),
    ("linear-iters", lambda: optlib.LinearWarmup(_sgd(), total_iters=0), None, ValueError,
     r"Invalid total_iters: 0 \(expected an integer >= 1\)"),
    ("warmup-iters", lambda: optlib.WarmupThen(_sgd(), after=lambda t: 0.1, warmup_iters=2.5), None,
     ValueError, r"Invalid warmup_iters: 2.5 \(expected an integer >= 1\)"),
    ("warmup-after", lambda: optlib.WarmupThen(_sgd(), after=0.1), None, TypeError,
     "after must be an LRScheduler, a function of the step"),
    ("warmup-other-opt", lambda: optlib.WarmupThen(_sgd(), after=optlib.SGDR(_sgd(), T_0=2)), None,
     ValueError, "after must be a scheduler of the same optimizer"),
    ("with-warmup", lambda: S.with_warmup(lambda t: 0.1, 0), None, ValueError,
     r"Invalid warmup_steps: 0 \(expected an integer >= 1\)"),
]


@pytest.mark.parametrize("ours,theirs,exc,pattern", [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_invalid_arguments(ours, theirs, exc, pattern):
    with pytest.raises(exc, match=pattern) as ours_info:
        ours()
    if theirs is not None:                 # torch raises the same type with the same message
        with pytest.raises(exc) as theirs_info:
            theirs()
        assert str(ours_info.value) == str(theirs_info.value)


def test_exports():
    for name in ("CyclicLR", "SGDR", "OneCycleLR", "LinearWarmup", "WarmupThen", "lr_range_test",
                 "triangular", "cyclic_lr", "cosine_restarts", "one_cycle", "linear_warmup",
                 "with_warmup"):
        assert name in optlib.__all__ and hasattr(optlib, name)
    assert issubclass(optlib.CyclicLR, tls.LRScheduler)


def test_docstring_examples():
    import doctest
    assert doctest.testmod(S, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
