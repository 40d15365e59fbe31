"""Two-dimensional test surfaces and a helper that runs any optimiser on them.

The book uses these to make the behaviour of an optimiser visible before it meets real data.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np
import torch

__all__ = ["ill_conditioned_quadratic", "rosenbrock", "run_on_surface", "SURFACES"]


def ill_conditioned_quadratic(x, y, a: float = 0.1, b: float = 2.0):
    """f(x, y) = a·x² + b·y²: a valley b/a times steeper across than along (condition number b/a)."""
    return a * x ** 2 + b * y ** 2


def rosenbrock(x, y, a: float = 1.0, b: float = 100.0):
    """Rosenbrock's banana: f(x, y) = (a − x)² + b·(y − x²)², minimum 0 at (a, a²)."""
    return (a - x) ** 2 + b * (y - x ** 2) ** 2


#: name -> (function, start point, minimiser, plotting window (xmin, xmax, ymin, ymax))
SURFACES = {
    "quadratic": (ill_conditioned_quadratic, (-4.5, 1.5), (0.0, 0.0), (-5.0, 5.0, -2.5, 2.5)),
    "rosenbrock": (rosenbrock, (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0, -1.0, 3.0)),
}


def run_on_surface(make_optimizer: Callable, f: Callable, start, steps: int,
                   dtype=torch.float64) -> np.ndarray:
    """Minimise ``f(x, y)`` from ``start`` for ``steps`` steps; return the path, shape (steps + 1, 2).

    ``make_optimizer`` receives the list ``[xy]`` of the one parameter tensor and returns an
    optimiser (any ``torch.optim.Optimizer``, from optlib or torch).
    """
    for name, fn in (("make_optimizer", make_optimizer), ("f", f)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    if np.shape(start) != (2,) or not np.isfinite(np.asarray(start, dtype=float)).all():
        raise ValueError(f"Invalid start: {start!r} (expected two finite numbers (x, y))")
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise ValueError(f"Invalid steps: {steps!r} (expected an integer >= 0)")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    xy = torch.tensor(start, dtype=dtype, requires_grad=True)
    opt = make_optimizer([xy])
    if not all(callable(getattr(opt, m, None)) for m in ("step", "zero_grad")):
        raise TypeError("make_optimizer must return an optimizer (with step() and zero_grad()), "
                        f"got {type(opt).__name__}")
    path = [xy.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(xy[0], xy[1]).backward()
        opt.step()
        path.append(xy.detach().clone())
    return torch.stack(path).numpy()
