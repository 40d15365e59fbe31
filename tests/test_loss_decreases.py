"""RAdam, NAdam, AdamW, SGDW and Lookahead make progress on two small problems from a fixed start:
a logistic regression (convex) and the Rosenbrock function (a curved valley)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import optlib

# name -> (factory(params, lr), lr for the logistic regression, lr for Rosenbrock)
OPTIMISERS = {
    "RAdam": (lambda ps, lr: optlib.RAdam(ps, lr=lr), 0.1, 0.01),
    "NAdam": (lambda ps, lr: optlib.NAdam(ps, lr=lr), 0.1, 0.05),
    "AdamW": (lambda ps, lr: optlib.AdamW(ps, lr=lr), 0.1, 0.05),
    "SGDW": (lambda ps, lr: optlib.SGDW(ps, lr=lr, momentum=0.9, weight_decay=1e-3), 0.1, 1e-3),
    "Lookahead(SGD)": (lambda ps, lr: optlib.Lookahead(optlib.SGD(ps, lr=lr, momentum=0.9)), 0.1, 1e-3),
    "Lookahead(Adam)": (lambda ps, lr: optlib.Lookahead(optlib.Adam(ps, lr=lr)), 0.1, 0.05),
}


def logistic_regression():
    """200 points in 5-D with labels drawn from a logistic model; weights start at zero."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=g, dtype=torch.float64)
    w_true = torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0], dtype=torch.float64)
    y = (torch.rand(200, generator=g, dtype=torch.float64) < torch.sigmoid(X @ w_true + 0.3)).double()
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    return [w, b], lambda: F.binary_cross_entropy_with_logits(X @ w + b, y)


def rosenbrock():
    """(1 - x)^2 + 100 (y - x^2)^2 from the classic start (-1.5, 2); minimum 0 at (1, 1)."""
    xy = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    return [xy], lambda: (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


def descend(opt, loss, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    return loss().item()


@pytest.mark.parametrize("name", OPTIMISERS)
def test_logistic_regression_loss_decreases(name):
    make, lr, _ = OPTIMISERS[name]
    params, loss = logistic_regression()
    start = loss().item()  # log 2 at w = 0
    end = descend(make(params, lr), loss, 100)
    assert math.isclose(start, math.log(2))
    assert end < 0.42  # the minimum is about 0.388; log 2 is 0.693


@pytest.mark.parametrize("name", OPTIMISERS)
def test_rosenbrock_loss_decreases(name):
    make, _, lr = OPTIMISERS[name]
    params, loss = rosenbrock()
    start = loss().item()  # 12.5
    end = descend(make(params, lr), loss, 500)
    assert math.isfinite(end) and end < 0.15 * start
    assert abs(params[0][0].item() - 1) < 2.5  # x moved from -1.5 towards 1
