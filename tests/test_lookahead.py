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


def test_state_dict_has_torchs_shape_with_slow_weights_and_counter_inside():
    params, f, opt = _fresh(k=5)
    start = [p.detach().clone() for p in params]
    run(opt, params, f, 3)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    inner = opt.optimizer.state_dict()
    assert [{k: v for k, v in g.items() if not k.startswith("lookahead_")}
            for g in sd["param_groups"]] == inner["param_groups"]
    for g in sd["param_groups"]:
        ours = (g["lookahead_k"], g["lookahead_alpha"], g["lookahead_step"])
        assert ours == (5, 0.5, 3)
    assert set(sd["state"]) == set(inner["state"]) == {0, 1, 2}
    for i, s in enumerate(start):
        assert set(sd["state"][i]) == {"step", "exp_avg", "exp_avg_sq", "slow_param"}
        assert torch.equal(sd["state"][i]["slow_param"], s)
        for key, value in inner["state"][i].items():
            assert torch.equal(sd["state"][i][key], value)
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


def test_load_state_dict_checks_the_parameters_and_the_lookahead_part():
    params, f, opt = _fresh()
    run(opt, params, f, 2)
    sd = opt.state_dict()
    other = optlib.Lookahead(torch.optim.Adam([{"params": params[:1]},
                                                {"params": params[1:2]}]), k=5)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        other.load_state_dict(sd)                # torch's own message, from the inner
    assert len(other.state) == 0 and other.inner_steps == 0
    # the inner optimiser's state_dict alone is not a Lookahead's: a clear error
    before = repr(opt.state_dict())
    lacks = (r"^Lookahead\.load_state_dict: param group 0 lacks the keys "
             r"\['lookahead_alpha', 'lookahead_k', 'lookahead_step'\] \(was the "
             r"state_dict saved by the inner optimiser")
    with pytest.raises(ValueError, match=lacks):
        opt.load_state_dict(opt.optimizer.state_dict())
    lacks = (r"^Lookahead\.load_state_dict: the state_dict lacks the keys "
             r"\['param_groups', 'state'\]")
    with pytest.raises(ValueError, match=lacks):
        opt.load_state_dict({})
    bad = copy.deepcopy(sd)
    bad["param_groups"][1]["lookahead_step"] = 7
    with pytest.raises(ValueError, match="the param groups disagree"):
        opt.load_state_dict(bad)
    assert repr(opt.state_dict()) == before


def _old_format(opt):
    """The state_dict optlib's Lookahead wrote before it took torch's shape."""
    params = [p for g in opt.param_groups for p in g["params"]]
    slow = {i: opt.state[p]["slow_param"] for i, p in enumerate(params)}
    return {"optimizer": opt.optimizer.state_dict(), "slow_params": slow,
            "inner_steps": opt.inner_steps, "k": opt.k, "alpha": opt.alpha}


@pytest.mark.parametrize("inner_name", ["SGD", "Adam"])
def test_the_earlier_state_dict_format_still_resumes_bit_identically(inner_name):
    params, f, opt = _fresh(inner_name, k=4, alpha=0.7)
    run(opt, params, f, 10)
    saved = _round_trip(_old_format(opt))
    values = [p.detach().clone() for p in params]
    straight = run(opt, params, f, 13)
    params2, f2, opt2 = _fresh(inner_name, k=2, alpha=0.1)
    with torch.no_grad():
        for p, v in zip(params2, values):
            p.copy_(v)
    opt2.load_state_dict(saved)
    assert (opt2.k, opt2.alpha, opt2.inner_steps) == (4, 0.7, 10)
    assert_same_trajectories(run(opt2, params2, f2, 13), straight)
    old = _old_format(opt)
    del old["slow_params"]
    lacks = r"^Lookahead\.load_state_dict: the state_dict lacks the keys \['slow_params"
    with pytest.raises(ValueError, match=lacks):
        opt2.load_state_dict(old)


def _round_trip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_state_dict_hooks_run_as_in_torch():
    """The four state_dict hooks of torch.optim.Optimizer: called, in order, with the
    arguments torch gives them; a post-hook's result replaces the state_dict."""
    seen = {}
    for name, opt in (("torch", torch.optim.Adam([torch.zeros(2, requires_grad=True)])),
                      ("ours", optlib.Lookahead(torch.optim.Adam(
                          [torch.zeros(2, requires_grad=True)])))):
        calls = seen[name] = []
        opt.register_state_dict_pre_hook(lambda o: calls.append(("sd-pre", o)))
        opt.register_state_dict_post_hook(
            lambda o, sd: calls.append(("sd-post", o)) or {**sd, "extra": 1})
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: calls.append(("load-pre", "extra" in sd)) or
            {k: v for k, v in sd.items() if k != "extra"})
        opt.register_load_state_dict_post_hook(lambda o: calls.append(("load-post", o)))
        sd = opt.state_dict()
        assert sd["extra"] == 1
        opt.load_state_dict(sd)
        assert [c[0] for c in calls] == ["sd-pre", "sd-post", "load-pre", "load-post"]
        assert calls[0][1] is opt and calls[2][1] is True and calls[3][1] is opt
    assert [c[0] for c in seen["ours"]] == [c[0] for c in seen["torch"]]


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


def test_add_param_group_gives_the_new_parameters_slow_weights_at_the_next_step():
    params, f, opt = _fresh(inner_name="SGD", k=3, alpha=0.5)
    extra = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 0.1, "momentum": 0.0})
    assert opt.optimizer.param_groups[-1]["params"] == [extra] and len(opt.param_groups) == 3
    assert extra not in opt.state                      # taken at the next step, not now
    with torch.no_grad():
        extra.mul_(0.5)                     # moved before any step: phi starts here

    # the inner optimiser takes plain SGD steps on (extra ** 2).sum()
    theta = extra.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        (f(params) + (extra ** 2).sum()).backward()
        opt.step()
        theta = theta - 0.1 * 2 * theta
    phi = torch.tensor([1.0, -0.5], dtype=torch.float64)
    phi = phi + 0.5 * (theta - phi)  # the synchronisation after step 3
    torch.testing.assert_close(extra.detach(), phi, rtol=1e-14, atol=1e-14)
    assert torch.equal(opt.state[extra]["slow_param"], extra.detach())


def test_slow_weights_start_where_the_weights_are_at_the_first_step():
    """Weights loaded after Lookahead is built (a checkpoint, a pretrained model) are
    theta_0: the first synchronisation pulls towards them, not towards the weights the
    model had when Lookahead was built (issue 16: 1.5 instead of 3.0)."""
    finals = []
    for late in (True, False):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1).double()
        three = {k: torch.full_like(v, 3.0) for k, v in model.state_dict().items()}
        if not late:
            model.load_state_dict(three)
        opt = optlib.Lookahead(optlib.Adam(model.parameters(), lr=1e-3), k=5)
        assert len(opt.state) == 0                     # nothing copied at construction
        if late:
            model.load_state_dict(three)
        for _ in range(5):
            opt.zero_grad()
            model(torch.ones(2, 4, dtype=torch.float64)).sum().backward()
            opt.step()
        finals.append(model.weight.detach().clone())
    assert torch.equal(finals[0], finals[1])
    assert (finals[0] - 3.0).abs().max() < 0.01       # Adam moved lr = 1e-3 per step


def test_a_lookahead_of_a_lookahead_is_refused():
    params, f, opt = _fresh()
    with pytest.raises(TypeError, match="optimizer must not be a Lookahead itself"):
        optlib.Lookahead(opt)


needs_dcp = pytest.mark.skipif(not torch.distributed.is_available(),
                               reason="torch.distributed is not built in")


@needs_dcp
@pytest.mark.parametrize("inner_cls", [torch.optim.Adam, optlib.Adam, optlib.SGD])
def test_distributed_checkpoint_state_dict_round_trip(inner_cls):
    """torch.distributed.checkpoint's get/set_optimizer_state_dict (one process) save
    and restore Lookahead: the inner part is what they give for the inner optimiser
    alone, and the resumed run is bit-identical."""
    from torch.distributed.checkpoint.state_dict import (get_optimizer_state_dict,
                                                         set_optimizer_state_dict)

    def build(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 1)).double()
        inner = inner_cls([{"params": model[0].parameters()},
                           {"params": model[2].parameters(), "lr": 0.003}], lr=0.01)
        return model, optlib.Lookahead(inner, k=4, alpha=0.6)

    x = torch.linspace(-1, 1, 24, dtype=torch.float64).reshape(8, 3)

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]

    model, opt = build(0)
    train(model, opt, 6)
    osd = get_optimizer_state_dict(model, opt)
    inner_osd = get_optimizer_state_dict(model, opt.optimizer)
    names = [n for n, _ in model.named_parameters()]
    assert set(osd["state"]) == set(names)
    for name in names:
        inner_keys = set(inner_osd["state"].get(name, {}))  # (SGD: none)
        assert set(osd["state"][name]) == inner_keys | {"slow_param"}
    for g, ig in zip(osd["param_groups"], inner_osd["param_groups"]):
        assert {k: v for k, v in g.items() if not k.startswith("lookahead_")} == ig
        assert g["lookahead_step"] == 6
    osd = copy.deepcopy(osd)
    values = [p.detach().clone() for p in model.parameters()]
    straight = train(model, opt, 7)

    model2, opt2 = build(1)
    model2.load_state_dict(dict(zip(model2.state_dict(), values)))
    set_optimizer_state_dict(model2, opt2, osd)
    assert (opt2.k, opt2.alpha, opt2.inner_steps) == (4, 0.6, 6)
    for a, b in zip(train(model2, opt2, 7), straight):
        assert torch.equal(a, b)


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
