"""Shared by the parity tests of the newer optimisers (Adafactor, Muon, Lion): run an
optimiser for a number of steps, compare two trajectories step by step, and pass a
state_dict through torch.save / torch.load(weights_only=True)."""

from __future__ import annotations

import io

import torch


def run(opt, params, f, steps, sched=None):
    """The parameters after each of ``steps`` steps on the loss ``f(params)``."""
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        f(params).backward()
        opt.step()
        if sched is not None:
            sched.step()
        traj.append([p.detach().clone() for p in params])
    return traj


def assert_close_trajectories(a, b, **tol):
    """Equal within ``tol`` (torch.testing.assert_close's) at every step and tensor."""
    for t, (xs, ys) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(xs, ys)):
            torch.testing.assert_close(
                x, y, **tol, msg=lambda m: f"step {t + 1}, tensor {i}: {m}")


def roundtrip(obj):
    """``obj`` saved and loaded back as a checkpoint would be."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def assert_equal_trajectories(a, b, what="after resuming"):
    """Bit for bit the same parameters at every step."""
    for t, (xs, ys) in enumerate(zip(a, b)):
        assert all(torch.equal(x, y) for x, y in zip(xs, ys)), f"step {t + 1} {what}"


def continue_from(saved, make_ours, params, f, steps, start):
    """Put ``params`` back to ``start``, load ``saved`` (another optimiser's state_dict)
    into ``make_ours(params)`` and run ``steps`` steps: the optimiser and its path."""
    with torch.no_grad():
        for p, s in zip(params, start):
            p.copy_(s)
    ours = make_ours(params)
    ours.load_state_dict(saved)
    return ours, run(ours, params, f, steps)
