"""optlab.scratch: a from-scratch update against an optimiser, as chapters use it."""

import numpy as np
import torch

import optlib
from optlab.scratch import scratch_path, side_by_side
from optlab.surfaces import SURFACES

F, START, _, _ = SURFACES["quadratic"]


def heavy_ball(theta, g, state, eta=0.03, lam=0.9):
    # PyTorch's momentum: b_1 = g_0, b_t = lam b_{t-1} + g_{t-1}
    b = state["b"] = g.clone() if "b" not in state else lam * state["b"] + g
    return theta - eta * b


def test_path_shape_and_start():
    path = scratch_path(heavy_ball, F, START, 7)
    assert path.shape == (8, 2) and path.dtype == np.float64
    assert np.array_equal(path[0], np.asarray(START, dtype=np.float64))


def test_same_method_agrees_with_torch():
    make = lambda p: torch.optim.SGD(p, lr=0.03, momentum=0.9)  # noqa: E731
    assert side_by_side(heavy_ball, make, F, START, steps=100) < 1e-12
    make = lambda p: optlib.SGD(p, lr=0.03, momentum=0.9)  # noqa: E731
    assert side_by_side(heavy_ball, make, F, START, steps=100) < 1e-12


def test_a_different_method_is_seen():
    # another momentum, or none, is another method: the gap must be large
    make = lambda p: torch.optim.SGD(p, lr=0.03, momentum=0.5)  # noqa: E731
    assert side_by_side(heavy_ball, make, F, START, steps=100) > 1e-3
    make = lambda p: torch.optim.SGD(p, lr=0.03)  # noqa: E731
    assert side_by_side(heavy_ball, make, F, START, steps=100) > 1e-3
