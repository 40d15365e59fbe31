"""Small problems and a training loop shared by the per-optimiser test files."""

from __future__ import annotations

import torch


def logistic_problem():
    """A separable logistic regression in float64: (params, loss closure)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 5, generator=g, dtype=torch.float64)
    y = (x @ torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0], dtype=torch.float64) > 0).double()
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    return [w, b], lambda: torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)


def rosenbrock_problem():
    """Rosenbrock's function from (-1.5, 2) in float64: (params, loss closure)."""
    xy = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    return [xy], lambda: (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


def run(opt, params, f, steps, scheduler=None):
    """Take ``steps`` steps on the loss ``f(params)``; return the parameters after every step."""
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        f(params).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        traj.append([p.detach().clone() for p in params])
    return traj
