"""SGDW against a plain transcription of its rule, and against torch's SGD when there is no decay."""

from __future__ import annotations

import pytest
import torch

import optlib
from problems import assert_same_trajectories, run
from problems import smooth_problem as make_problem

STEPS = 120


def sgdw_by_hand(start, f, groups, lrs):
    """The rule written out: theta <- theta (1 - lr wd), then SGD(M) with lr outside the buffer.

    ``groups``: list of (indices into ``start``, hyper-parameters); ``lrs[t][i]``: group i's lr at
    step t. Returns the parameters after every step.
    """
    theta = [x.detach().clone() for x in start]
    buf = [None] * len(theta)
    traj = []
    for step_lrs in lrs:
        leaves = [x.clone().requires_grad_() for x in theta]
        grads = torch.autograd.grad(f(leaves), leaves)
        for (idx, h), lr in zip(groups, step_lrs):
            for j in idx:
                g = -grads[j] if h.get("maximize", False) else grads[j]
                theta[j] = theta[j] * (1 - lr * h["weight_decay"])
                d = g
                if h.get("momentum", 0.0) != 0:
                    beta, tau = h["momentum"], h.get("dampening", 0.0)
                    buf[j] = g.clone() if buf[j] is None else beta * buf[j] + (1 - tau) * g
                    d = g + beta * buf[j] if h.get("nesterov", False) else buf[j]
                theta[j] = theta[j] - lr * d
        traj.append([x.clone() for x in theta])
    return traj


CONFIGS = {
    "momentum+nesterov / dampened momentum": (
        dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.05),
        dict(lr=0.01, momentum=0.5, dampening=0.2, weight_decay=0.2)),
    "plain / momentum, maximize": (
        dict(lr=0.02, weight_decay=0.1, maximize=True),
        dict(lr=0.01, momentum=0.8, weight_decay=0.3, maximize=True)),
}


@pytest.mark.parametrize("with_scheduler", [False, True], ids=["constant lr", "StepLR"])
@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_sgdw_equals_the_rule_written_out(config, with_scheduler):
    h1, h2 = CONFIGS[config]
    params, f = make_problem()
    start = [p.detach().clone() for p in params]
    opt = optlib.SGDW([{"params": params[:2], **h1}, {"params": params[2:], **h2}])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=25, gamma=0.5) if with_scheduler else None
    ours = run(opt, params, f, STEPS, sched)

    factor = [0.5 ** (t // 25) if with_scheduler else 1.0 for t in range(STEPS)]
    lrs = [(h1["lr"] * c, h2["lr"] * c) for c in factor]
    theirs = sgdw_by_hand(start, f, [([0, 1], h1), ([2], h2)], lrs)
    assert_same_trajectories(ours, theirs, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(ours[-1][0], start[0])


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.9, dampening=0.3, maximize=True)],
                         ids=lambda kw: ",".join(kw) or "plain")
def test_without_weight_decay_sgdw_is_torch_sgd(kw):
    trajs = []
    for cls in (optlib.SGDW, torch.optim.SGD):
        params, f = make_problem()
        opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}], lr=0.03, **kw)
        trajs.append(run(opt, params, f, STEPS))
    assert_same_trajectories(*trajs, rtol=1e-12, atol=1e-12)


def test_decay_stays_out_of_the_momentum_buffer():
    """With a zero gradient SGDW only shrinks theta, by (1 - lr wd) per step, and its momentum buffer
    stays zero; SGD's L2 term instead enters the buffer and so changes the path."""
    lr, wd, steps = 0.1, 0.5, 10
    theta_w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    theta_l2 = theta_w.detach().clone().requires_grad_()
    sgdw = optlib.SGDW([theta_w], lr=lr, momentum=0.9, weight_decay=wd)
    sgd = optlib.SGD([theta_l2], lr=lr, momentum=0.9, weight_decay=wd)
    for _ in range(steps):
        for opt, theta in ((sgdw, theta_w), (sgd, theta_l2)):
            opt.zero_grad()
            (0.0 * theta).sum().backward()
            opt.step()
    expected = torch.tensor([1.0, -2.0], dtype=torch.float64) * (1 - lr * wd) ** steps
    torch.testing.assert_close(theta_w.detach(), expected, rtol=1e-14, atol=0)
    assert torch.equal(sgdw.state[theta_w]["momentum_buffer"], torch.zeros(2, dtype=torch.float64))
    assert sgd.state[theta_l2]["momentum_buffer"].abs().min() > 0.1  # L2: the decay has momentum
    assert (theta_l2.detach() - expected).abs().min() > 0.1


def test_sgdw_reuses_sgd_and_leaves_the_group_alone():
    assert issubclass(optlib.SGDW, optlib.SGD)
    params, f = make_problem()
    opt = optlib.SGDW(params, lr=0.03, momentum=0.9, weight_decay=0.05)
    run(opt, params, f, 3)
    assert opt.param_groups[0]["weight_decay"] == 0.05  # the L2 switch-off is on a copy
