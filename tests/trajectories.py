"""Shared by the parity tests of the newer optimisers (Adafactor, Muon, Lion). Running
and comparing trajectories is tests/problems.py's; this adds the checkpoint round trip
and loading another optimiser's state_dict to continue from it."""

from __future__ import annotations

import io

import torch
from problems import assert_same_trajectories, run

__all__ = [
    "smooth_problem",
    "assert_close_trajectories",
    "assert_equal_trajectories",
    "continue_from",
    "roundtrip",
    "run",
]


def assert_close_trajectories(a, b, **tol):
    """Equal within ``tol`` (torch.testing.assert_close's) at every step and tensor."""
    assert tol, "give a tolerance (or use assert_equal_trajectories)"
    assert_same_trajectories(a, b, **tol)


def assert_equal_trajectories(a, b):
    """Bit for bit the same parameters at every step."""
    assert_same_trajectories(a, b)


def roundtrip(obj):
    """``obj`` saved and loaded back as a checkpoint would be."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def continue_from(saved, make_ours, params, f, steps, start):
    """Put ``params`` back to ``start``, load ``saved`` (another optimiser's state_dict)
    into ``make_ours(params)`` and run ``steps`` steps: the optimiser and its path."""
    with torch.no_grad():
        for p, s in zip(params, start):
            p.copy_(s)
    ours = make_ours(params)
    ours.load_state_dict(saved)
    return ours, run(ours, params, f, steps)


def smooth_problem(shapes, dtype, seed=0, zero_last=False):
    """Tensors of ``shapes`` (the last one zero with ``zero_last``) and ``f(tensors)``,
    the smooth non-convex loss sum a (x - b)^2 + 0.3 sin 3x with random a > 0.5, b."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=dtype) for s in shapes]
    if zero_last:
        params[-1].zero_()
    params = [p.requires_grad_() for p in params]
    coefs = [(torch.rand(s, generator=g, dtype=dtype) + 0.5,
              torch.randn(s, generator=g, dtype=dtype)) for s in shapes]

    def f(xs):
        return sum((a * (x - b) ** 2 + 0.3 * torch.sin(3 * x)).sum()
                   for (a, b), x in zip(coefs, xs))

    return params, f
