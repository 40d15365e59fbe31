"""Lookahead against a plain transcription of the authors' rule around torch's SGD and Adam."""

from __future__ import annotations

import copy
import io

import pytest
import torch

import optlib
from problems import assert_same_trajectories, run
from problems import smooth_problem as make_problem

STEPS = 120
TOL = dict(rtol=1e-12, atol=1e-12)


INNER = {  # two param groups each, with different hyper-parameters
    "SGD": lambda ps: torch.optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}],
                                      lr=0.05, momentum=0.9),
    "Adam": lambda ps: torch.optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.005}],
                                        lr=0.02, betas=(0.9, 0.99)),
}


def step_lr(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)


def lookahead_by_hand(inner_name, k, alpha, steps, scheduled):
    """The rule written out: phi_0 = theta_0; after every k-th inner step
    phi <- phi + alpha (theta - phi), theta <- phi. Returns the parameters after every step."""
    params, f = make_problem()
    inner = INNER[inner_name](params)
    sched = step_lr(inner) if scheduled else None
    phi = [p.detach().clone() for p in params]
    traj = []
    for t in range(1, steps + 1):
        inner.zero_grad()
        f(params).backward()
        inner.step()
        if t % k == 0:
            with torch.no_grad():
                for theta, slow in zip(params, phi):
                    slow += alpha * (theta - slow)
                    theta.copy_(slow)
        if sched is not None:
            sched.step()
        traj.append([p.detach().clone() for p in params])
    return traj


# --------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("scheduled", [False, True], ids=["constant lr", "StepLR"])
@pytest.mark.parametrize("inner_name,k,alpha", [("SGD", 5, 0.5), ("Adam", 3, 0.8), ("SGD", 7, 0.25)])
def test_lookahead_equals_the_rule_written_out(inner_name, k, alpha, scheduled):
    params, f = make_problem()
    start = [p.detach().clone() for p in params]
    opt = optlib.Lookahead(INNER[inner_name](params), k=k, alpha=alpha)
    sched = step_lr(opt) if scheduled else None
    lr2 = opt.optimizer.param_groups[1]["lr"]
    ours = run(opt, params, f, STEPS, sched)
    assert_same_trajectories(ours, lookahead_by_hand(inner_name, k, alpha, STEPS, scheduled), **TOL)
    assert not torch.allclose(ours[-1][0], start[0])
    if scheduled:  # the scheduler drove the inner optimiser through Lookahead's param_groups
        assert opt.optimizer.param_groups[1]["lr"] == lr2 * 0.5 ** (STEPS // 20)


def test_lookahead_differs_from_its_inner_optimiser():
    """Guards the test above: without the synchronisation the trajectories part."""
    params, f = make_problem()
    inner_only = run(INNER["SGD"](params), params, f, 10)
    assert (inner_only[-1][0] - lookahead_by_hand("SGD", 5, 0.5, 10, False)[-1][0]).abs().max() > 1e-3


def test_wrapping_optlib_or_torch_adam_gives_the_same_run():
    trajs = []
    for cls in (optlib.Adam, torch.optim.Adam):
        params, f = make_problem()
        inner = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.005}], lr=0.02)
        trajs.append(run(optlib.Lookahead(inner, k=4, alpha=0.6), params, f, 60))
    assert_same_trajectories(*trajs, **TOL)


def test_alpha_one_is_the_inner_optimiser_and_alpha_zero_returns_to_the_start():
    params, f = make_problem()
    plain = run(INNER["SGD"](params), params, f, 30)
    params, f = make_problem()
    assert_same_trajectories(run(optlib.Lookahead(INNER["SGD"](params), k=3, alpha=1.0), params, f, 30),
                     plain, **TOL)

    params, f = make_problem()
    start = [p.detach().clone() for p in params]
    traj = run(optlib.Lookahead(INNER["SGD"](params), k=4, alpha=0.0), params, f, 12)
    for t in (3, 7, 11):  # after steps 4, 8, 12: back at theta_0 exactly
        assert all(torch.equal(x, s) for x, s in zip(traj[t], start))
    assert not torch.equal(traj[4][0], start[0])


# --------------------------------------------------------------------------- checkpoints
def _fresh(inner_name="Adam", k=5, alpha=0.5, seed=0):
    params, f = make_problem(seed)
    opt = optlib.Lookahead(INNER[inner_name](params), k=k, alpha=alpha)
    return params, f, opt


@pytest.mark.parametrize("inner_name", ["SGD", "Adam"])
def test_resume_between_synchronisations_is_bit_identical(inner_name):
    params, f, opt = _fresh(inner_name)
    sched = step_lr(opt)
    run(opt, params, f, 23, sched)  # 23 = 4 * 5 + 3: three steps into a cycle
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict(),
                "params": [p.detach().clone() for p in params]}, buf)
    straight = run(opt, params, f, 40, sched)

    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    params2, f2, opt2 = _fresh(inner_name, k=2, alpha=0.9)  # k and alpha come from the file
    with torch.no_grad():
        for p, s in zip(params2, saved["params"]):
            p.copy_(s)
    opt2.load_state_dict(saved["opt"])
    sched2 = step_lr(opt2)
    sched2.load_state_dict(saved["sched"])
    assert (opt2.k, opt2.alpha, opt2.inner_steps) == (5, 0.5, 23)
    assert_same_trajectories(run(opt2, params2, f2, 40, sched2), straight)


def test_resume_without_the_slow_weights_would_differ():
    """Guards the test above: a fresh Lookahead on the same weights has the wrong slow weights."""
    params, f, opt = _fresh()
    run(opt, params, f, 23)
    inner_state = copy.deepcopy(opt.optimizer.state_dict())
    values = [p.detach().clone() for p in params]
    straight = run(opt, params, f, 10)
    params2, f2, _ = _fresh()
    with torch.no_grad():
        for p, v in zip(params2, values):
            p.copy_(v)
    opt2 = optlib.Lookahead(INNER["Adam"](params2), k=5, alpha=0.5)
    opt2.optimizer.load_state_dict(inner_state)
    opt2.inner_steps = 23
    resumed = run(opt2, params2, f2, 10)
    assert (straight[-1][0] - resumed[-1][0]).abs().max() > 1e-3


def test_state_dict_holds_slow_weights_counter_and_inner_state():
    params, f, opt = _fresh(k=5)
    start = [p.detach().clone() for p in params]
    run(opt, params, f, 3)
    sd = opt.state_dict()
    assert set(sd) == {"optimizer", "slow_params", "inner_steps", "k", "alpha"}
    assert sd["inner_steps"] == 3 and sd["k"] == 5 and sd["alpha"] == 0.5
    assert all(torch.equal(sd["slow_params"][i], s) for i, s in enumerate(start))
    assert set(sd["optimizer"]["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    run(opt, params, f, 2)  # the 5th step synchronises: phi moved to the new theta
    assert all(torch.equal(opt.state[p]["slow_param"], p) for p in params)


def test_inner_torch_state_dict_moves_to_optlib_inner():
    """Through Lookahead, the inner state of torch's Adam loads into optlib's Adam and continues."""
    params, f = make_problem()
    opt = optlib.Lookahead(torch.optim.Adam(params, lr=0.02), k=4, alpha=0.5)
    run(opt, params, f, 10)
    saved, values = copy.deepcopy(opt.state_dict()), [p.detach().clone() for p in params]
    straight = run(opt, params, f, 15)
    params2, f2 = make_problem()
    with torch.no_grad():
        for p, v in zip(params2, values):
            p.copy_(v)
    opt2 = optlib.Lookahead(optlib.Adam(params2, lr=0.02), k=4, alpha=0.5)
    opt2.load_state_dict(saved)
    assert_same_trajectories(run(opt2, params2, f2, 15), straight, **TOL)


def test_load_state_dict_checks_the_number_of_parameters():
    params, f, opt = _fresh()
    sd = opt.state_dict()
    other = optlib.Lookahead(torch.optim.Adam(params[:2]), k=5)
    with pytest.raises(ValueError, match="3 slow weights, but the optimizer has 2 parameters"):
        other.load_state_dict(sd)


# --------------------------------------------------------------------------- torch API
def test_is_a_torch_optimizer_sharing_the_inner_param_groups():
    params, f, opt = _fresh()
    assert isinstance(opt, torch.optim.Optimizer)
    assert opt.param_groups is opt.optimizer.param_groups
    opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch replaces the inner list on load
    assert opt.param_groups is opt.optimizer.param_groups
    with pytest.raises(AttributeError, match="inner optimizer's"):
        opt.param_groups = [{"params": params}]


def test_step_closure_zero_grad_and_hooks():
    params, f, opt = _fresh()
    seen = []
    opt.register_step_pre_hook(lambda o, a, kw: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, kw: seen.append("post"))

    def closure():
        opt.zero_grad()
        value = f(params)
        value.backward()
        return value

    expected = f(params).detach()
    loss = opt.step(closure)
    assert seen == ["pre", "post"] and torch.equal(loss.detach(), expected)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_add_param_group_gives_the_new_parameters_slow_weights():
    params, f, opt = _fresh(inner_name="SGD", k=3, alpha=0.5)
    extra = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 0.1, "momentum": 0.0})
    assert opt.optimizer.param_groups[-1]["params"] == [extra] and len(opt.param_groups) == 3
    assert torch.equal(opt.state[extra]["slow_param"], extra.detach())

    # the inner optimiser takes plain SGD steps on (extra ** 2).sum()
    theta = extra.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        (f(params) + (extra ** 2).sum()).backward()
        opt.step()
        theta = theta - 0.1 * 2 * theta
    phi = torch.tensor([2.0, -1.0], dtype=torch.float64)
    phi = phi + 0.5 * (theta - phi)  # the synchronisation after step 3
    torch.testing.assert_close(extra.detach(), phi, rtol=1e-14, atol=1e-14)
    assert torch.equal(opt.state[extra]["slow_param"], extra.detach())


def test_deepcopy_keeps_the_inner_optimiser():
    params, f, opt = _fresh()
    run(opt, params, f, 7)
    twin = copy.deepcopy(opt)
    twin_params = [p for g in twin.param_groups for p in g["params"]]
    assert twin.param_groups is twin.optimizer.param_groups and twin.inner_steps == 7
    assert_same_trajectories(run(opt, params, f, 8), run(twin, twin_params, f_on(twin_params), 8))


def f_on(params):
    """The loss of make_problem() for other tensors of the same shapes."""
    _, f = make_problem()
    return f


def test_repr_names_the_inner_optimiser():
    params, f, opt = _fresh()
    assert repr(opt).startswith("optlib.Lookahead(k=5, alpha=0.5, optimizer=Adam (")
