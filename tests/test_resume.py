"""Checkpoint and resume, for every optimiser case and every schedule case.

A run is interrupted mid-way, its state is written with ``torch.save`` and read back with
``torch.load(weights_only=True)`` into *fresh* objects (new parameter tensors, a new optimiser, a
new scheduler), and it continues: every parameter after every further step must be
``torch.equal`` to the run that was never interrupted. The cases come from the tables
(``cases.OPTIMIZER_CASES``, ``test_schedules.SCHEDULE_CASES``), so a new row is covered here too.
"""

from __future__ import annotations

import io
from functools import partial

import pytest
import torch

import optlib
from cases import CLASS_CASES, OPTIMIZER_CASES
from test_optimizers import groups, make_loss, make_params, run
from test_schedules import SCHEDULE_CASES

BEFORE, AFTER = 23, 15        # 23 is not a multiple of any Lookahead k in the table (5, 3, 6)


def _roundtrip(obj):
    """``obj`` written with torch.save and read back with torch.load(weights_only=True)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _assert_equal(straight, resumed):
    assert len(straight) == len(resumed)
    for k, (a, b) in enumerate(zip(straight, resumed)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert torch.equal(x, y), f"step {k + 1} after resuming, parameter {i}"


def _check_interesting_point(opt):
    """The save point lies where resuming is hardest: SWATS after its switch (in the rows with a
    loose switch_tol), Lookahead between two synchronisations."""
    if isinstance(opt, optlib.SWATS) and opt.defaults["switch_tol"] is not None:
        assert all(g["phase"] == "sgd" for g in opt.param_groups)
    if isinstance(opt, optlib.Lookahead):
        assert opt.inner_steps % opt.k != 0


def _resume(make_opt, make_sched, dtype, before=BEFORE, after=AFTER, check_point=True):
    """(uninterrupted, resumed) parameters over ``after`` steps following step ``before``."""
    params = make_params(dtype)
    opt = make_opt(params)
    sched = make_sched(opt) if make_sched else None
    loss = make_loss(params)
    run(opt, params, loss, before, sched)
    if check_point:
        _check_interesting_point(opt)
    ckpt = _roundtrip({"params": [p.detach() for p in params], "optimizer": opt.state_dict(),
                       "scheduler": sched.state_dict() if sched else None})
    straight = run(opt, params, loss, after, sched)

    params2 = make_params(dtype, seed=7)            # fresh tensors, other values
    opt2 = make_opt(params2)
    sched2 = make_sched(opt2) if make_sched else None
    with torch.no_grad():
        for p, saved in zip(params2, ckpt["params"]):
            p.copy_(saved)
    opt2.load_state_dict(ckpt["optimizer"])      # (after building the scheduler, as torch asks)
    if sched2 is not None:
        sched2.load_state_dict(ckpt["scheduler"])
    resumed = run(opt2, params2, make_loss(params2), after, sched2)
    assert not torch.equal(straight[0][0], straight[-1][0]), "nothing moved after the resume"
    for g, g2 in zip(opt.param_groups, opt2.param_groups):   # hyper-parameters a scheduler moves
        assert {k: v for k, v in g.items() if k != "params"} == \
               {k: v for k, v in g2.items() if k != "params"}
    return straight, resumed


# --------------------------------------------------------------------------- every optimiser case
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=lambda c: c.id)
def test_optimizer_resumes_bit_identically(case):
    _assert_equal(*_resume(lambda ps: case.make(groups(case, ps)), None, torch.float64))


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_optimizer_resumes_bit_identically_in_float32_with_a_scheduler(case):
    """Every optimiser class with an lr schedule (SGDR restarts every 8 steps): both saved, both
    loaded."""
    _assert_equal(*_resume(lambda ps: case.make(groups(case, ps)),
                           partial(optlib.SGDR, T_0=8, eta_min=1e-4), torch.float32))


def test_swats_resumes_bit_identically_just_before_and_after_its_switch():
    swats = [c for c in OPTIMIZER_CASES if c.cls is optlib.SWATS and c.kwargs.get("switch_tol")]
    case = swats[0]

    def make(ps):
        return case.make(groups(case, ps))

    for before in (1, 2, 3):                        # the table's loose rows switch at step 2
        straight, resumed = _resume(make, None, torch.float64, before, 10, check_point=False)
        _assert_equal(straight, resumed)


@pytest.mark.parametrize("before", range(1, 7))
def test_lookahead_resumes_at_every_point_of_its_period(before):
    case = next(c for c in OPTIMIZER_CASES if c.cls is optlib.Lookahead and c.kwargs["k"] == 6)
    _assert_equal(*_resume(lambda ps: case.make(groups(case, ps)), None, torch.float64,
                           before=before, after=9, check_point=False))


# --------------------------------------------------------------------------- every schedule case
def _warmup_then(after_factory, **kw):
    def make(opt):
        return optlib.WarmupThen(opt, after=after_factory(opt), **kw)
    return make


SCHEDULERS = [(c.id, c.ours) for c in SCHEDULE_CASES] + [
    ("WarmupThen(SGDR)", _warmup_then(partial(optlib.SGDR, T_0=3, T_mult=2), warmup_iters=4)),
    ("WarmupThen(CyclicLR)", _warmup_then(
        partial(optlib.CyclicLR, base_lr=0.01, max_lr=0.1, step_size_up=3), warmup_iters=2,
        start_factor=0.5)),
    ("WarmupThen(functions)", lambda opt: optlib.WarmupThen(
        opt, after=[partial(optlib.cosine_restarts, base_lr=lr, T_0=5) for lr in (0.1, 0.03)],
        warmup_iters=3)),
]
SCHED_OPTIMIZERS = {
    "SGD": lambda ps: optlib.SGD([{"params": ps[:2], "lr": 0.1}, {"params": ps[2:], "lr": 0.03}],
                                 lr=0.1, momentum=0.9),
    "Adam": lambda ps: optlib.Adam([{"params": ps[:2], "lr": 0.1}, {"params": ps[2:], "lr": 0.03}],
                                   lr=0.1),
}


@pytest.mark.parametrize("opt_name", list(SCHED_OPTIMIZERS))
@pytest.mark.parametrize("make_sched", [s for _, s in SCHEDULERS], ids=[i for i, _ in SCHEDULERS])
def test_schedule_and_optimizer_resume_bit_identically(make_sched, opt_name):
    """Save optimiser and scheduler part-way (mid-cycle), load both into fresh objects, continue;
    the run must not step a OneCycleLR past its end (its shortest case has 15 steps)."""
    straight, resumed = _resume(SCHED_OPTIMIZERS[opt_name], make_sched, torch.float64,
                                before=3, after=8)
    _assert_equal(straight, resumed)
