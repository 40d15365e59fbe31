"""Run an update written from scratch beside an optlib optimiser (the chapters' checks).

A chapter writes an optimiser's update as a short function ``step(theta, g, state)`` in
the lecture's symbols, then shows that it is the same method as optlib's class: both run
from the same start for many steps, in float64, and the two paths are compared.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from optlab.surfaces import run_on_surface


def scratch_path(step: Callable, f: Callable, start, steps: int) -> np.ndarray:
    """Path, shape (steps + 1, 2), of ``theta_t = step(theta_{t-1}, g_{t-1}, state)``.

    The run is on the 2-D surface ``f(x, y)`` from ``start``, in float64; ``state`` is a
    dict that the update may fill (its moments, its step count).
    """
    theta, state = torch.tensor(start, dtype=torch.float64), {}
    path = [theta]
    for _ in range(steps):
        xy = theta.clone().requires_grad_()
        f(xy[0], xy[1]).backward()
        theta = step(theta, xy.grad, state)
        path.append(theta.detach())
    return torch.stack(path).numpy()


def side_by_side(step: Callable, make_optimizer: Callable, f: Callable, start,
                 steps: int = 100) -> float:
    """Largest coordinate difference between the from-scratch ``step`` and an optimiser.

    Both run ``steps`` steps from ``start`` on ``f`` in float64; the optimiser is
    ``make_optimizer([xy])``, as in :func:`optlab.surfaces.run_on_surface`.
    """
    mine = scratch_path(step, f, start, steps)
    ref = run_on_surface(make_optimizer, f, start, steps, dtype=torch.float64)
    return float(np.abs(mine - ref).max())
