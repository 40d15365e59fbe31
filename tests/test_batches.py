"""Batched updates: ``optlib._base.batches`` and the optimisers that move parameters batch by batch.

SGD and SGDW apply ``theta <- theta - eta d`` with one ``torch._foreach_add_`` per batch of about
2**18 elements. The parity tests of ``test_optimizers.py`` use small tensors, which all fit in one
batch; here the groups are large enough to be split into several batches, so a mistake in the
batching (a tensor skipped, moved twice or paired with another tensor's direction) would show.
"""

from __future__ import annotations

import pytest
import torch

import optlib
from optlib._base import batches
from problems import assert_same_trajectories, run, smooth_problem
from test_sgdw import sgdw_by_hand

STEPS = 25


# --------------------------------------------------------------------------- the splitting itself
@pytest.mark.parametrize("sizes, elements", [
    ([], 10),
    ([5], 10),
    ([3, 3, 3, 3, 3], 10),
    ([10, 1, 9, 2, 30, 1], 10),
    ([1] * 7, 1),
    ([100, 1, 1, 100], 50),
])
def test_batches_are_consecutive_minimal_runs(sizes, elements):
    tensors = [torch.zeros(n) for n in sizes]
    runs = list(batches(tensors, elements))
    assert [t for run_ in runs for t in run_] == tensors          # every tensor once, in order
    assert all(len(run_) > 0 for run_ in runs)
    totals = [sum(t.numel() for t in run_) for run_ in runs]
    assert all(total >= elements for total in totals[:-1])        # only the last run may be short
    for run_ in runs:                                              # and no run is longer than needed
        assert sum(t.numel() for t in run_[:-1]) < elements


def test_batches_default_is_about_a_megabyte_of_float32():
    runs = list(batches([torch.zeros(2**16) for _ in range(10)]))
    assert [len(r) for r in runs] == [4, 4, 2]


# --------------------------------------------------------------------------- optimisers over several batches
#: group 1 (the first six) and group 2 are split into two batches each
BIG_SHAPES = [(500, 400), (7,), (300, 300), (64, 3, 3, 3), (1000,), (1,),
              (33,), (256, 256), (5, 5), (300_000,), (2, 3)]


def big_problem(seed=0, sign2=1.0):
    """Float64 tensors of mixed sizes, two batches per group, and a smooth loss of all of them
    (with ``sign2=-1`` negated for the tensors of the second group, which then climb it)."""
    return smooth_problem(seed, BIG_SHAPES, scale=0.5, signs=[1.0] * 6 + [sign2] * 5)


def test_the_problem_spans_several_batches_in_each_group():
    params, _ = big_problem()
    assert [len(b) for b in batches(params[:6])] == [3, 3]
    assert [len(b) for b in batches(params[6:])] == [4, 1]


SGD_CONFIGS = {
    "momentum / nesterov": (dict(lr=0.01, momentum=0.9), dict(lr=0.02, momentum=0.8, nesterov=True)),
    "dampening, L2 / plain, maximize": (
        dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.01),
        dict(lr=0.005, maximize=True)),
}


def _groups(params, g1, g2):
    return [{"params": params[:6], **g1}, {"params": params[6:], **g2}]


@pytest.mark.parametrize("name", SGD_CONFIGS)
def test_sgd_over_several_batches_equals_torch(name):
    g1, g2 = SGD_CONFIGS[name]
    sign2 = -1.0 if g2.get("maximize") else 1.0   # a maximising group climbs the negated loss

    def make(cls):
        params, f = big_problem(sign2=sign2)
        return run(cls(_groups(params, g1, g2)), params, f, STEPS)

    mine, ref = make(optlib.SGD), make(torch.optim.SGD)
    assert_same_trajectories(mine, ref, rtol=1e-12, atol=1e-12)
    assert not torch.equal(mine[-1][0], big_problem()[0][0])       # the parameters did move


def test_sgdw_over_several_batches_equals_its_rule():
    g1 = dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.05)
    g2 = dict(lr=0.02, momentum=0.5, dampening=0.2, weight_decay=0.2)
    params, f = big_problem()
    start = [p.detach().clone() for p in params]
    mine = run(optlib.SGDW(_groups(params, g1, g2)), params, f, STEPS)
    ref = sgdw_by_hand(start, f, [(range(6), g1), (range(6, len(start)), g2)],
                       [[g1["lr"], g2["lr"]]] * STEPS)
    assert_same_trajectories(mine, ref, rtol=1e-12, atol=1e-12)
