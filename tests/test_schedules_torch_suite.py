"""optlib's four schedulers where torch's own scheduler tests put theirs.

PyTorch's ``test/optim/test_lrscheduler.py`` checks ``LinearLR``, ``CyclicLR``,
``OneCycleLR`` and ``CosineAnnealingWarmRestarts`` in situations that
``test_schedules.py`` does not build: a param group whose ``lr`` is a Tensor, schedulers
chained (``ChainedScheduler``, ``SequentialLR``, two schedulers stepped in turn),
Tensor bounds, ``step(epoch)`` against plain ``step()``, ``get_last_lr``, state_dicts
through ``torch.save`` and from older releases, resuming with ``last_epoch=0``. Each
test here builds such a situation twice, once with optlib's class (``LinearWarmup``,
``CyclicLR``, ``OneCycleLR``, ``SGDR``) and once with torch's twin, and compares the
two step by step; a few also compare with values written out by hand.
"""

from __future__ import annotations

import copy
import gc
import io
import math
import pickle
import types
import warnings
import weakref
from functools import partial

import pytest
import torch
from torch.optim import lr_scheduler as tls

import optlib

REL = 1e-12          # float64 (Python float) learning rates
REL32 = 1e-6         # float32 Tensor learning rates

#: optlib class -> torch class
TWINS = {optlib.LinearWarmup: tls.LinearLR, optlib.CyclicLR: tls.CyclicLR,
         optlib.OneCycleLR: tls.OneCycleLR,
         optlib.SGDR: tls.CosineAnnealingWarmRestarts}


@pytest.fixture(autouse=True)
def _quiet():
    # torch warns when a scheduler steps before optimizer.step(); many tests here do
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def make_opt(kind="SGD", tensor_lr=True, lrs=(0.05, 0.5)):
    """Two param groups with different hyper-parameters; the second group's lr is a
    float32 Tensor when ``tensor_lr`` (as in torch's tests; ``compare`` keeps float lrs
    for optlib's optimisers, whose Tensor lr is another file's business)."""
    g = torch.Generator().manual_seed(0)
    a = torch.nn.Parameter(torch.randn(3, dtype=torch.float64, generator=g))
    b = torch.nn.Parameter(torch.randn(2, dtype=torch.float64, generator=g))
    second = torch.tensor(lrs[1]) if tensor_lr else lrs[1]
    groups = [{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": second}]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    if kind == "Adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    return optlib.SGD(groups, lr=lrs[0], momentum=0.9) if kind == "optlib.SGD" else \
        optlib.Adam(groups, lr=lrs[0])


def _same(x, y, where):
    """One lr (or momentum) of ours against torch's: same type, same value."""
    assert type(x) is type(y), (where, x, y)
    if isinstance(x, torch.Tensor):
        assert x.dtype == y.dtype and x.shape == y.shape, (where, x, y)
        assert math.isclose(x.item(), y.item(), rel_tol=REL32, abs_tol=1e-30), \
            (where, x, y)
    else:
        assert math.isclose(x, y, rel_tol=REL, abs_tol=1e-300), (where, x, y)


def _groups(opt):
    """What a scheduler may change in each group: lr and momentum (or beta1)."""
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        out.append(g["betas"][0] if "betas" in g else g.get("momentum"))
    return [x.clone() if isinstance(x, torch.Tensor) else x for x in out]  # (snapshots)


def compare(build, steps, *, step_args=None, kind="SGD", tensor_lr=True,
            lrs=(0.05, 0.5)):
    """Run ``build(opt, cls)`` (which returns the schedulers to step, in order) with
    optlib's classes and with torch's; compare the groups and every scheduler's
    ``get_last_lr()`` after construction and after every step. ``step_args(t)`` gives
    the positional arguments of each ``step`` (for ``step(epoch)``)."""
    runs = []
    for ours in (True, False):
        opt = make_opt(kind, tensor_lr and not kind.startswith("optlib"), lrs)
        before = [g["lr"] for g in opt.param_groups]
        scheds = build(opt, (lambda c: c) if ours else TWINS.__getitem__)
        trace = [(_groups(opt), [s.get_last_lr() for s in scheds])]
        for t in range(steps):
            opt.step()
            for s in scheds:
                s.step(*(step_args(t) if step_args else ()))
            trace.append((_groups(opt), [s.get_last_lr() for s in scheds]))
        for lr, group in zip(before, opt.param_groups):
            if isinstance(lr, torch.Tensor):      # updated in place, never replaced
                assert group["lr"] is lr
        runs.append(trace)
    for t, ((g1, l1), (g2, l2)) in enumerate(zip(*runs)):
        for i, (x, y) in enumerate(zip(g1, g2, strict=True)):
            if x is None and y is None:
                continue
            _same(x, y, (t, "group value", i))
        for j, (a, b) in enumerate(zip(l1, l2, strict=True)):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _same(x, y, (t, "get_last_lr of scheduler", j, i))
    return runs[0]


def lr_of(trace, group):
    return [float(groups[2 * group]) for groups, _ in trace]


# --------------------------------------------------------------------------- alone
ALONE = [  # (id, optlib class, arguments)
    ("LinearWarmup", optlib.LinearWarmup,
     dict(start_factor=0.25, end_factor=0.9, total_iters=4)),
    ("LinearWarmup-down", optlib.LinearWarmup,
     dict(start_factor=1.0, end_factor=0.0, total_iters=6)),
    ("CyclicLR", optlib.CyclicLR,
     dict(base_lr=[0.01, 0.1], max_lr=[0.1, 1.0], step_size_up=3, step_size_down=5)),
    ("CyclicLR-triangular2", optlib.CyclicLR,
     dict(base_lr=0.01, max_lr=0.1, step_size_up=2, mode="triangular2")),
    ("CyclicLR-exp_range", optlib.CyclicLR,
     dict(base_lr=0.01, max_lr=0.1, step_size_up=2, mode="exp_range", gamma=0.9,
          cycle_momentum=False)),
    ("OneCycleLR", optlib.OneCycleLR, dict(max_lr=[0.5, 2.0], total_steps=25)),
    ("OneCycleLR-three-linear", optlib.OneCycleLR,
     dict(max_lr=0.5, total_steps=25, three_phase=True, anneal_strategy="linear",
          pct_start=0.4)),
    ("SGDR", optlib.SGDR, dict(T_0=3, T_mult=2, eta_min=0.001)),
]


def alone(name):
    """A ``build`` for :func:`compare`: the scheduler of row ``name`` of ALONE."""
    _, cls, kw = next(row for row in ALONE if row[0] == name)
    return lambda o, c: [c(cls)(o, **kw)]


@pytest.mark.parametrize("kind", ["SGD", "Adam", "optlib.SGD", "optlib.Adam"])
@pytest.mark.parametrize("name", [row[0] for row in ALONE])
def test_alone_with_a_tensor_lr_group(name, kind):
    compare(alone(name), 24, kind=kind)


# --------------------------------------------------------------------------- chaining
def test_linear_warmup_stepped_beside_exponential_lr():
    """Issue 16's example: LinearLR(1/3, 5) and ExponentialLR(0.9) stepped in turn;
    torch gives 0.1 * 0.9 ** 8 = 0.04305 at step 8, the warm-up having multiplied the
    decay (optlib's closed form gave 0.09)."""
    trace = compare(lambda o, c: [c(optlib.LinearWarmup)(o),
                                  tls.ExponentialLR(o, gamma=0.9)],
                    12, tensor_lr=False, lrs=(0.1, 0.3))
    assert lr_of(trace, 0)[8] == pytest.approx(0.1 * 0.9 ** 8, rel=1e-12)
    assert lr_of(trace, 0)[8] == pytest.approx(0.04305, abs=1e-5)
    for t in range(5):  # during the warm-up: the closed form times the decay
        assert lr_of(trace, 0)[t] == pytest.approx(
            0.1 * 0.9 ** t * (1 / 3 + (2 / 3) * t / 5), rel=1e-12)


@pytest.mark.parametrize("other", [
    partial(tls.ExponentialLR, gamma=0.9),
    partial(tls.MultiStepLR, milestones=[2, 5, 9], gamma=0.1),
    partial(tls.CosineAnnealingLR, T_max=10, eta_min=1e-10),
    partial(tls.StepLR, step_size=3, gamma=0.1),
], ids=["ExponentialLR", "MultiStepLR", "CosineAnnealingLR", "StepLR"])
@pytest.mark.parametrize("first", [True, False], ids=["warmup-first", "warmup-second"])
def test_linear_warmup_compounds_with_another_scheduler(other, first):
    def build(o, c):
        warm = c(optlib.LinearWarmup)(o, start_factor=0.4, end_factor=0.9,
                                      total_iters=4)
        return [warm, other(o)] if first else [other(o), warm]
    compare(build, 12)


def test_linear_warmup_multiplies_exponential_decay_literally():
    """Values written out: 0.05 * 0.9^t times the warm-up factor (0.4 -> 0.9 over 4)."""
    trace = compare(lambda o, c: [c(optlib.LinearWarmup)(o, start_factor=0.4,
                                                         end_factor=0.9, total_iters=4),
                                  tls.ExponentialLR(o, gamma=0.9)], 10)
    factor = [0.4 + (0.9 - 0.4) * min(t, 4) / 4 for t in range(11)]
    assert lr_of(trace, 0) == pytest.approx([0.05 * 0.9 ** t * f
                                             for t, f in enumerate(factor)], rel=1e-12)
    assert lr_of(trace, 1) == pytest.approx([0.5 * 0.9 ** t * f
                                             for t, f in enumerate(factor)], rel=1e-6)


@pytest.mark.parametrize("others", [
    [partial(tls.MultiStepLR, milestones=[4, 8, 10], gamma=0.1)],
    [partial(tls.ConstantLR, factor=0.1, total_iters=5)],
    [partial(tls.ExponentialLR, gamma=0.9),
     partial(tls.StepLR, step_size=3, gamma=0.1)],
], ids=["MultiStepLR", "ConstantLR", "ExponentialLR+StepLR"])
def test_chained_scheduler_with_linear_warmup(others):
    def build(o, c):
        chain = tls.ChainedScheduler(
            [c(optlib.LinearWarmup)(o, start_factor=0.4, total_iters=3)]
            + [f(o) for f in others])
        # before any step, get_last_lr is the last scheduler's (as torch)
        assert chain.get_last_lr() == chain._schedulers[-1].get_last_lr()
        return [chain]
    compare(build, 12)


def test_sequential_lr_of_two_linear_warmups_with_a_tensor_lr():
    """Up then down with a Tensor lr: the second warm-up starts from the base lr, and
    the lr never aliases ``initial_lr`` (literal values from 2.0: 0.2, 0.55, ...)."""
    def build(o, c):
        ramp = c(optlib.LinearWarmup)
        return [tls.SequentialLR(o, [ramp(o, 0.1, 0.8, total_iters=4),
                                     ramp(o, 0.8, 0.1, total_iters=4)], milestones=[4])]
    trace = compare(build, 8, lrs=(1.0, 2.0))
    assert lr_of(trace, 1)[:8] == pytest.approx([0.2, 0.55, 0.9, 1.25, 1.6, 1.25, 0.9,
                                                 0.55], rel=1e-6)


@pytest.mark.parametrize("after", [
    lambda o, c: c(optlib.SGDR)(o, T_0=3, T_mult=2),
    lambda o, c: c(optlib.LinearWarmup)(o, start_factor=0.5, end_factor=0.1,
                                        total_iters=5),
    lambda o, c: tls.ExponentialLR(o, gamma=0.9),
    lambda o, c: c(optlib.CyclicLR)(o, base_lr=0.01, max_lr=0.1, step_size_up=2),
], ids=["SGDR", "LinearWarmup", "ExponentialLR", "CyclicLR"])
@pytest.mark.parametrize("kind", ["SGD", "optlib.Adam"])
def test_sequential_lr_warmup_then(after, kind):
    def build(o, c):
        warm = c(optlib.LinearWarmup)(o, start_factor=0.2, total_iters=4)
        return [tls.SequentialLR(o, [warm, after(o, c)], milestones=[4])]
    compare(build, 20, kind=kind)


def test_sequential_lr_of_a_chained_scheduler():
    """SequentialLR([ChainedScheduler([warm-up, ConstantLR]), ConstantLR]): literal
    values 0.05 * 0.1 * (0.1 + 0.18 t) during the first 5 steps, then 0.025."""
    def build(o, c):
        chained = tls.ChainedScheduler([c(optlib.LinearWarmup)(o, start_factor=0.1,
                                                               total_iters=5),
                                        tls.ConstantLR(o, factor=0.1, total_iters=5)])
        return [tls.SequentialLR(o, [chained, tls.ConstantLR(o, factor=0.5,
                                                             total_iters=5)],
                                 milestones=[5])]
    trace = compare(build, 9)
    assert lr_of(trace, 0)[:10] == pytest.approx(
        [0.0005, 0.0014, 0.0023, 0.0032, 0.0041] + [0.025] * 5, rel=1e-9)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_cosine_then_cyclic_on_one_optimizer(kind):
    """Two schedulers on one optimizer, the first stepped for a while, then the other
    (torch's regression test for issue 21965): the same lrs as torch's pair."""
    def build(o, c):
        return [tls.CosineAnnealingLR(o, T_max=20, eta_min=0.1),
                c(optlib.CyclicLR)(o, base_lr=0.1, max_lr=0.3, step_size_up=1,
                                   step_size_down=3)]
    runs = []
    for ours in (True, False):
        opt = make_opt(kind, lrs=(0.5, 0.5))
        first, second = build(opt, (lambda c: c) if ours else TWINS.__getitem__)
        lrs = []
        for i in range(40):
            opt.step()
            (first if i <= 20 else second).step()
            lrs.append(_groups(opt))
        runs.append(lrs)
    for t, (a, b) in enumerate(zip(*runs)):
        for x, y in zip(a, b):
            _same(x, y, t)
    assert float(runs[0][-1][0]) <= 0.3


@pytest.mark.parametrize("name", ["CyclicLR", "OneCycleLR", "SGDR"])
def test_not_chainable_ones_override_a_neighbour_as_torch_does(name):
    """CyclicLR, OneCycleLR and SGDR compute from their own bases in torch too: stepped
    beside ExponentialLR, the lrs are torch's (whichever of the two steps last wins)."""
    make = alone(name)
    compare(lambda o, c: make(o, c) + [tls.ExponentialLR(o, gamma=0.9)], 20)
    compare(lambda o, c: [tls.ExponentialLR(o, gamma=0.9)] + make(o, c), 20)


def test_linear_warmup_with_reduce_lr_on_plateau():
    """ReduceLROnPlateau cuts the lr by 10 during the warm-up: both effects stay."""
    runs = []
    for ours in (True, False):
        opt = make_opt(tensor_lr=False, lrs=(0.5, 0.5))
        plateau = tls.ReduceLROnPlateau(opt, patience=2, threshold=0.1, mode="min",
                                        threshold_mode="abs")
        warm = (optlib.LinearWarmup if ours else tls.LinearLR)(opt, start_factor=0.4,
                                                               total_iters=4)
        lrs = []
        for t in range(14):
            opt.step()
            plateau.step(10 - 0.0165 * t)
            warm.step()
            lrs.append(opt.param_groups[0]["lr"])
        runs.append(lrs)
    assert runs[0] == pytest.approx(runs[1], rel=1e-12)
    assert min(runs[0]) < 0.05                        # the plateau did cut the lr


def test_sequential_lr_with_linear_warmup_warns_nothing():
    opt = make_opt()
    seq = tls.SequentialLR(opt, [optlib.LinearWarmup(opt, 0.5, 0.1, total_iters=5),
                                 tls.ExponentialLR(opt, gamma=0.9)], milestones=[5])
    for _ in range(10):
        opt.step()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seq.step()
        assert not caught


# ------------------------------------------------------------------------- closed form
def test_linear_warmup_closed_form_equals_recursive_form():
    """step(epoch) uses the closed form from the base lrs, step() the multiplicative
    update; alone they agree to rounding, as in torch."""
    def build(o, c):
        return [c(optlib.LinearWarmup)(o, 1 / 3, 0.7, total_iters=4)]

    closed = compare(build, 20, step_args=lambda t: (t + 1,))
    recursive = compare(lambda o, c: [c(optlib.LinearWarmup)(o, 1 / 3, 0.7,
                                                             total_iters=4)], 20)
    for group in (0, 1):
        assert lr_of(closed, group) == pytest.approx(lr_of(recursive, group), rel=1e-6)
    assert lr_of(closed, 0) == pytest.approx(lr_of(recursive, 0), rel=1e-15)
    assert lr_of(closed, 0)[:6] == pytest.approx(
        [0.05 * (1 / 3 + (0.7 - 1 / 3) * min(t, 4) / 4) for t in range(6)], rel=1e-15)


def test_step_with_epoch_warns_as_torch_and_is_constant_for_a_constant_epoch():
    for cls in (optlib.LinearWarmup, tls.LinearLR):
        opt = make_opt()
        sched = cls(opt)
        seen = []
        for _ in range(6):
            opt.step()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sched.step(2)
            assert [str(w.message) for w in caught] == [tls.EPOCH_DEPRECATION_WARNING]
            seen.append(float(opt.param_groups[1]["lr"]))
        assert min(seen) == max(seen) == pytest.approx(0.5 * (1 / 3 + (2 / 3) * 2 / 5))


def test_sgdr_fractional_epochs_with_a_tensor_lr():
    compare(lambda o, c: [c(optlib.SGDR)(o, T_0=10, T_mult=2, eta_min=1e-10)], 60,
            step_args=lambda t: (round(0.1 * (t + 1), 1),))
    compare(lambda o, c: [c(optlib.SGDR)(o, T_0=10, T_mult=3, eta_min=1e-10)], 12,
            step_args=lambda t: ([0.1, 0.2, 0.3, 1.3, 2.3, 17.5, 18.5, 19.5, 29.5, 30.5,
                                  31.5, 50][t],))


def test_sgdr_t_cur_set_by_hand_wraps_as_torch():
    for cls in (optlib.SGDR, tls.CosineAnnealingWarmRestarts):
        sched = cls(make_opt(), T_0=4)
        for epoch in (7, 8, 9):
            sched.T_cur = epoch
            sched.step()
            assert sched.T_cur == (epoch + 1) % 4


# ----------------------------------------------------------------------- Tensor bounds
def test_cyclic_lr_tensor_bounds_are_copied_as_torch():
    """Tensor base_lr, max_lr and momenta: the scheduler keeps copies (changing the
    caller's tensors later changes nothing) and writes the same values as torch."""
    results = []
    for cls in (optlib.CyclicLR, tls.CyclicLR):
        lr, top = torch.tensor(0.1), torch.tensor(0.2)
        low_m, high_m = torch.tensor(0.8), torch.tensor(0.9)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr, momentum=0.9)
        sched = cls(opt, base_lr=lr, max_lr=top, base_momentum=low_m,
                    max_momentum=high_m, step_size_up=2)
        before = copy.deepcopy(opt.param_groups)
        trace = []
        for i in range(5):
            for x in (lr, top, low_m, high_m):
                x.mul_(0.5)
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            assert sched.base_lrs == [0.1] and sched.max_lrs == [0.2]
            assert g["initial_lr"] == before[0]["initial_lr"]
            assert (g["max_momentum"], g["base_momentum"]) == (0.9, 0.8)
            trace += [float(g["lr"]), float(g["momentum"])]
        results.append(trace)
    assert results[0] == pytest.approx(results[1], rel=1e-6)


def test_one_cycle_tensor_max_lr_and_momenta_as_torch():
    results = []
    for cls in (optlib.OneCycleLR, tls.OneCycleLR):
        lr, low_m, high_m = torch.tensor(0.1), torch.tensor(0.85), torch.tensor(0.95)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr, momentum=0.9)
        sched = cls(opt, max_lr=lr, total_steps=10, base_momentum=low_m,
                    max_momentum=high_m)
        before = copy.deepcopy(opt.param_groups)
        trace = []
        for i in range(9):
            for x in (lr, low_m, high_m):
                x.mul_(0.5)
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            for key in ("initial_lr", "max_lr", "min_lr", "max_momentum",
                        "base_momentum"):
                assert g[key] == before[0][key], key
            trace += [float(g["lr"]), float(g["momentum"])]
        results.append(trace)
    assert results[0] == pytest.approx(results[1], rel=1e-6)


@pytest.mark.parametrize("ours", [partial(optlib.LinearWarmup),
                                  partial(optlib.SGDR, T_0=20)],
                         ids=["LinearWarmup", "SGDR"])
def test_a_tensor_lr_does_not_alias_the_base_lrs(ours):
    lr = torch.as_tensor(0.1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sched = ours(opt)
    initial = copy.deepcopy(opt.param_groups[0]["initial_lr"])
    for i in range(2):
        opt.step()
        sched.step(i)
        lr.mul_(0.1)
        assert opt.param_groups[0]["initial_lr"] == initial
        assert sched.base_lrs == [0.1]
        assert sched.base_lrs[0] is not opt.param_groups[0]["initial_lr"]


# ------------------------------------------------------------------------- state_dicts
STATEFUL = [
    ("LinearWarmup", optlib.LinearWarmup, dict(start_factor=0.2, total_iters=6),
     dict(start_factor=0.9, total_iters=2)),
    ("CyclicLR", optlib.CyclicLR, dict(base_lr=0.01, max_lr=0.1, step_size_up=3),
     dict(base_lr=0.02, max_lr=0.5, step_size_up=7, mode="triangular2")),
    ("OneCycleLR", optlib.OneCycleLR, dict(max_lr=0.3, total_steps=30),
     dict(max_lr=0.9, total_steps=30, anneal_strategy="linear", pct_start=0.5)),
    ("SGDR", optlib.SGDR, dict(T_0=4, T_mult=2), dict(T_0=100)),
]


def _round_trip(obj, weights_only):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=weights_only)


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("name,cls,kw,other_kw", STATEFUL, ids=[s[0] for s in STATEFUL])
def test_state_dict_round_trip(name, cls, kw, other_kw, weights_only):
    """Saved mid-run through torch.save/load, loaded into a scheduler built with other
    arguments: the same attributes, the same get_last_lr, the same next lrs; and the
    state_dict has the keys of torch's."""
    opt = make_opt()
    sched = cls(opt, **kw)
    for _ in range(11):
        opt.step()
        sched.step()
    state = sched.state_dict()
    loaded = _round_trip(state, weights_only)
    assert loaded == state
    twin_opt = make_opt()
    assert set(state) == set(TWINS[cls](twin_opt, **kw).state_dict())

    opt2 = make_opt()
    copy_ = cls(opt2, **other_kw)
    opt2.load_state_dict(opt.state_dict())
    copy_.load_state_dict(loaded)
    assert copy_.state_dict() == state
    for key, value in sched.__dict__.items():
        if key != "optimizer":
            assert copy_.__dict__[key] == value, key
    assert copy_.get_last_lr() == sched.get_last_lr()
    for _ in range(8):
        for o, s in ((opt, sched), (opt2, copy_)):
            o.step()
            s.step()
        for x, y in zip(_groups(opt), _groups(opt2)):
            _same(x, y, name)


@pytest.mark.parametrize("name,cls,kw,other_kw", STATEFUL, ids=[s[0] for s in STATEFUL])
@pytest.mark.parametrize("direction", ["torch-to-optlib", "optlib-to-torch"])
def test_state_dicts_move_between_optlib_and_torch(name, cls, kw, other_kw, direction):
    """A checkpoint of torch's scheduler resumes in optlib's, and the other way."""
    first, second = (TWINS[cls], cls) if direction == "torch-to-optlib" else \
        (cls, TWINS[cls])
    opt = make_opt()
    sched = first(opt, **kw)
    for _ in range(9):
        opt.step()
        sched.step()
    saved = _round_trip({"o": opt.state_dict(), "s": sched.state_dict()}, True)
    opt2 = make_opt()
    resumed = second(opt2, **other_kw)
    opt2.load_state_dict(saved["o"])
    resumed.load_state_dict(saved["s"])
    for _ in range(12):
        for o, s in ((opt, sched), (opt2, resumed)):
            o.step()
            s.step()
        for x, y in zip(_groups(opt), _groups(opt2)):
            _same(x, y, (name, direction))


@pytest.mark.parametrize("name,cls,kw,other_kw", STATEFUL, ids=[s[0] for s in STATEFUL])
def test_resuming_with_last_epoch_zero(name, cls, kw, other_kw):
    """Build the scheduler with ``last_epoch=0`` on an optimizer loaded from a
    checkpoint after one step: its get_last_lr is the optimizer's lr, as torch's."""
    results = []
    for c in (cls, TWINS[cls]):
        model = torch.nn.Linear(3, 3)
        opt = torch.optim.AdamW(model.parameters())
        sched = c(opt, **kw)
        opt.step()
        sched.step()
        opt2 = torch.optim.AdamW(model.parameters())
        opt2.load_state_dict(opt.state_dict())
        sched2 = c(opt2, last_epoch=0, **kw)
        assert sched2.get_last_lr()[0] == pytest.approx(opt.param_groups[0]["lr"],
                                                        rel=1e-12)
        results.append(sched2.get_last_lr()[0])
    assert results[0] == pytest.approx(results[1], rel=1e-12)


def test_cyclic_lr_amplitude_function_is_torchs_and_not_saved():
    opt = make_opt("Adam")
    sched = optlib.CyclicLR(opt, base_lr=1, max_lr=5, cycle_momentum=False)
    assert isinstance(sched._scale_fn_ref, types.FunctionType)
    state = sched.state_dict()
    assert "_scale_fn_ref" not in state and state["_scale_fn_custom"] is None
    pickle.dumps(state)

    def half(_):
        return 0.5

    state = optlib.CyclicLR(opt, base_lr=1, max_lr=5, cycle_momentum=False,
                            scale_fn=half).state_dict()
    assert "_scale_fn_ref" not in state and state["_scale_fn_custom"] is None
    pickle.dumps(state)

    class Scale:
        def __init__(self):
            self.x = 0.5

        def __call__(self, _):
            return self.x

    scale = Scale()
    state = optlib.CyclicLR(opt, base_lr=1, max_lr=5, cycle_momentum=False,
                            scale_fn=scale).state_dict()
    assert state["_scale_fn_custom"] == {"x": 0.5}
    pickle.dumps(state)
    # the object's attributes come back on loading
    other = Scale()
    other.x = 0.25
    restored = optlib.CyclicLR(opt, base_lr=1, max_lr=5, cycle_momentum=False,
                               scale_fn=other)
    restored.load_state_dict(state)
    assert other.x == 0.5


@pytest.mark.parametrize("direction", ["optlib", "torch-to-optlib"])
def test_cyclic_lr_mode_comes_back_from_the_state_dict(direction):
    """A triangular2 state loaded into a scheduler built as triangular: the amplitude
    function follows the loaded mode, as in torch, and the values are triangular2's."""
    source = optlib.CyclicLR if direction == "optlib" else tls.CyclicLR
    opts, scheds = [], []
    for cls, mode in ((source, "triangular2"), (optlib.CyclicLR, "triangular")):
        opts.append(make_opt("Adam"))
        scheds.append(cls(opts[-1], base_lr=1, max_lr=5, step_size_up=2,
                          cycle_momentum=False, mode=mode))
    scheds[1].load_state_dict(scheds[0].state_dict())
    assert scheds[1].mode == "triangular2" and scheds[1]._scale_fn_custom is None
    assert scheds[1]._scale_fn_ref is not None
    for _ in range(12):
        for o, s in zip(opts, scheds):
            o.step()
            s.step()
        for x, y in zip(_groups(opts[0]), _groups(opts[1])):
            _same(x, y, direction)


def test_cyclic_lr_older_state_dicts_load():
    """An older torch checkpoint may hold ``_scale_fn_ref``; optlib's earlier state had
    ``step_size_up``/``step_size_down`` instead of ``total_size``/``step_ratio``. Both
    resume with the values of an uninterrupted run."""
    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5)
    opt = make_opt()
    sched = optlib.CyclicLR(opt, **kw)
    for _ in range(7):
        opt.step()
        sched.step()
    torch_style = dict(sched.state_dict(), _scale_fn_ref=object())
    earlier = {k: v for k, v in sched.state_dict().items()
               if k not in ("total_size", "step_ratio")}
    earlier.update(step_size_up=3.0, step_size_down=5.0)
    straight = optlib.CyclicLR(make_opt(), **kw)          # uninterrupted, 17 steps
    for _ in range(17):
        straight.optimizer.step()
        straight.step()
    for old in (torch_style, earlier):
        opt2 = make_opt()
        resumed = optlib.CyclicLR(opt2, base_lr=0.5, max_lr=1.0, step_size_up=2)
        opt2.load_state_dict(opt.state_dict())
        given = dict(old)
        resumed.load_state_dict(old)
        assert old == given                           # the caller's dict is left alone
        assert (resumed.total_size, resumed.step_ratio) == (8.0, 3 / 8)
        for _ in range(10):
            opt2.step()
            resumed.step()
        for x, y in zip(_groups(opt2), _groups(straight.optimizer)):
            _same(x, y, "older state")


@pytest.mark.parametrize("cls", [optlib.OneCycleLR, tls.OneCycleLR],
                         ids=["optlib", "torch"])
def test_one_cycle_older_state_dict_without_anneal_func_type(cls):
    """An older torch saved the anneal function itself (``anneal_func``), without
    ``_anneal_func_type``: such a state resumes in optlib's class with torch's
    values."""
    kw = dict(max_lr=25, final_div_factor=2, base_momentum=1, max_momentum=22,
              total_steps=10, anneal_strategy="cos")
    opt = make_opt()
    sched = optlib.OneCycleLR(opt, **kw)
    old = cls(make_opt(), **kw)
    delattr(old, "_anneal_func_type")
    state = old.state_dict()
    assert "_anneal_func_type" not in state
    state["anneal_func"] = cls._annealing_cos
    delattr(sched, "_anneal_func_type")
    sched.load_state_dict(state)
    reference = tls.OneCycleLR(make_opt(), **kw)
    # 1 -> 25 over steps 0..2, then half a cosine down to 1 / 2 over steps 2..9
    expected = [1, 13] + [0.5 + (25 - 0.5) / 2 * (math.cos(math.pi * k / 7) + 1)
                          for k in range(8)]
    for t in range(10):
        assert float(opt.param_groups[0]["lr"]) == pytest.approx(expected[t], rel=1e-12)
        assert float(opt.param_groups[1]["lr"]) == pytest.approx(expected[t], rel=1e-6)
        _same(opt.param_groups[0]["lr"], reference.optimizer.param_groups[0]["lr"], t)
        _same(opt.param_groups[0]["momentum"],
              reference.optimizer.param_groups[0]["momentum"], t)
        for s in (sched, reference):
            s.optimizer.step()
            s.step()


def test_one_cycle_earlier_optlib_state_dict_loads():
    """optlib's OneCycleLR used to keep pct_start, three_phase and anneal_strategy;
    such a state, loaded into a scheduler built otherwise, resumes with torch's
    values."""
    kw = dict(max_lr=[0.5, 2.0], total_steps=30, pct_start=0.4, three_phase=True,
              anneal_strategy="linear")
    reference = tls.OneCycleLR(make_opt(), **kw)
    opt = make_opt()
    sched = optlib.OneCycleLR(opt, **kw)
    for _ in range(11):
        for s in (sched, reference):
            s.optimizer.step()
            s.step()
    earlier = {k: v for k, v in sched.state_dict().items()
               if k not in ("_schedule_phases", "_anneal_func_type")}
    earlier.update(pct_start=0.4, three_phase=True, anneal_strategy="linear")
    opt2 = make_opt()
    resumed = optlib.OneCycleLR(opt2, max_lr=1.0, total_steps=30)
    opt2.load_state_dict(opt.state_dict())
    resumed.load_state_dict(earlier)
    assert resumed._schedule_phases == reference._schedule_phases
    assert "pct_start" not in resumed.__dict__
    for _ in range(19):
        for s in (resumed, reference):
            s.optimizer.step()
            s.step()
        for x, y in zip(_groups(opt2), _groups(reference.optimizer)):
            _same(x, y, "earlier OneCycleLR state")


def test_one_cycle_state_has_torchs_phases():
    for three in (False, True):
        kw = dict(max_lr=1.0, total_steps=20, three_phase=three, pct_start=0.25,
                  anneal_strategy="linear")
        ours = optlib.OneCycleLR(make_opt(), **kw)
        theirs = tls.OneCycleLR(make_opt(), **kw)
        assert ours._schedule_phases == theirs._schedule_phases
        assert ours._anneal_func_type == theirs._anneal_func_type == "linear"


# ----------------------------------------------------------------------- odds and ends
@pytest.mark.parametrize("cls", [optlib.CyclicLR, optlib.OneCycleLR,
                                 optlib.LinearWarmup, optlib.SGDR])
def test_no_reference_cycle_keeps_a_scheduler_alive(cls):
    kw = {optlib.CyclicLR: dict(base_lr=1, max_lr=5, cycle_momentum=False),
          optlib.OneCycleLR: dict(max_lr=1.0, total_steps=10, cycle_momentum=False),
          optlib.LinearWarmup: {}, optlib.SGDR: dict(T_0=3)}[cls]

    def build():
        return weakref.ref(cls(make_opt("Adam"), **kw))

    gc.disable()
    try:
        assert build()() is None
    finally:
        gc.enable()


def test_no_verbose_argument_as_in_torch_2_13():
    """torch 2.13's schedulers have no ``verbose`` (deprecated, then removed), and
    neither have optlib's: the same TypeError."""
    args = {optlib.LinearWarmup: {}, optlib.SGDR: dict(T_0=2),
            optlib.CyclicLR: dict(base_lr=0.1, max_lr=1.0),
            optlib.OneCycleLR: dict(max_lr=1.0, total_steps=5)}
    for ours, kw in args.items():
        for cls in (ours, TWINS[ours]):
            with pytest.raises(TypeError, match="unexpected keyword argument"):
                cls(make_opt(), verbose=True, **kw)


def test_cycle_momentum_with_adam_and_without_momentum():
    """Adam's beta1 is cycled; Rprop (no momentum, no betas) is refused with torch's
    error; with cycle_momentum=False a momentum-free optimiser works."""
    compare(lambda o, c: [c(optlib.CyclicLR)(o, base_lr=1, max_lr=5, step_size_up=4)],
            11, kind="Adam")
    rprop = torch.optim.Rprop([torch.nn.Parameter(torch.zeros(2))])
    for cls in (optlib.CyclicLR, tls.CyclicLR):
        with pytest.raises(ValueError, match="must support momentum or beta1"):
            cls(rprop, base_lr=1, max_lr=5, cycle_momentum=True)
        sched = cls(rprop, base_lr=1, max_lr=5, step_size_up=4, cycle_momentum=False)
        sched.step()
        assert rprop.param_groups[0]["lr"] == 2.0


@pytest.mark.parametrize("mine_cls, kwargs", [
    (optlib.OneCycleLR, dict(max_lr=0.01, total_steps=10, base_momentum=1,
                             max_momentum=22)),
    (optlib.CyclicLR, dict(base_lr=0.001, max_lr=0.01, step_size_up=3,
                           base_momentum=0.8, max_momentum=1.0)),
], ids=["OneCycleLR", "CyclicLR"])
def test_a_beta1_outside_0_1_is_written_as_torch_writes_it_with_a_warning(mine_cls,
                                                                            kwargs):
    """torch's scheduler writes any momentum into Adam's beta1 (its own test uses 1 and
    22); optlib's twin writes the same numbers, and warns."""
    opts = [torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.01)
            for _ in range(2)]
    with pytest.warns(UserWarning, match=r"outside \[0, 1\).*beta1"):
        mine = mine_cls(opts[0], **kwargs)
    theirs = TWINS[mine_cls](opts[1], **kwargs)
    for _ in range(8):
        assert opts[0].param_groups[0]["betas"] == opts[1].param_groups[0]["betas"]
        assert opts[0].param_groups[0]["lr"] == pytest.approx(
            opts[1].param_groups[0]["lr"], rel=REL)
        mine.step()
        theirs.step()
