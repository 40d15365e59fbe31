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


def smooth_problem(seed=0, shapes=((4, 3), (5,), (2, 3)), scale=1.0, signs=None,
                   device="cpu"):
    """Float64 tensors of ``shapes`` (standard normal times ``scale``) and a smooth non-convex loss
    ``f(list of tensors)``, a sum of ``a x^2 + b x + 0.3 sin(3x)`` terms, the one of tensor ``i``
    multiplied by ``signs[i]`` (-1: a tensor that should climb it, with ``maximize=True``). The
    numbers are drawn on the CPU and moved to ``device``."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    params = [(x if scale == 1.0 else scale * x).to(device).requires_grad_() for x in params]
    coefs = [(torch.rand(p.shape, generator=g, dtype=torch.float64).to(device) + 0.5,
              torch.randn(p.shape, generator=g, dtype=torch.float64).to(device))
             for p in params]
    signs = [1.0] * len(params) if signs is None else signs

    def f(xs):
        return sum(s * (a * x ** 2 + b * x + 0.3 * torch.sin(3 * x)).sum()
                   for s, (a, b), x in zip(signs, coefs, xs))

    return params, f


def assert_same_trajectories(a, b, **tol):
    """Equal step by step: to ``tol`` (``torch.testing.assert_close``), or bit for bit without it."""
    for t, (pa, pb) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(pa, pb)):
            if tol:
                torch.testing.assert_close(x, y, **tol, msg=lambda m: f"step {t + 1}, tensor {i}: {m}")
            else:
                assert torch.equal(x, y), f"step {t + 1}, tensor {i}"


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
