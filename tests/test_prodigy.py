"""optlib's Prodigy against Prodigy of prodigyopt 1.1.2 (the package of Mishchenko &
Defazio): trajectories, the estimate d, state dicts both ways, resume, schedulers, and
the cases where prodigyopt's behaviour is unusual (a group with lr 0, all-zero
gradients, a parameter that starts at zero)."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from optlib.prodigy import Prodigy
from trajectories import (assert_close_trajectories, assert_equal_trajectories,
                          continue_from, roundtrip, run, smooth_problem)

prodigyopt = pytest.importorskip("prodigyopt")

STEPS = 150
SHAPES = [(4, 3), (5,), (2, 3, 2), (3,)]
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-6)}

#: (first group's arguments, the second group's own): everything per group differs
CONFIGS = {
    "defaults, decay in group 2": (dict(), dict(eps=1e-6, weight_decay=0.1)),
    "coupled decay, bias correction / d0, safeguard, slice_p": (
        dict(weight_decay=0.05, decouple=False, use_bias_correction=True),
        dict(d0=1e-4, safeguard_warmup=True, slice_p=2, weight_decay=0.01)),
    "beta1 = 0, growth limit, d_coef / decay, slice_p 3": (
        dict(lr=0.5, betas=(0.0, 0.99), d0=1e-4, d_coef=2.0, growth_rate=1.05),
        dict(weight_decay=0.02, eps=1e-6, slice_p=3)),
    # the last group's d0 is not d: no first jump, d grows by 10 % per step from d0
    "beta3, safeguard, growth limit / d0": (
        dict(betas=(0.8, 0.99), beta3=0.9, weight_decay=0.01, safeguard_warmup=True,
             growth_rate=1.1),
        dict(d0=1e-5, eps=1e-7)),
}


def problem(dtype, seed=0, zero_last=True):
    """Tensors of SHAPES (the last one starts at zero: prodigyopt then keeps a 0-dim
    ``p0``) and a smooth non-convex loss ``f`` of all of them."""
    return smooth_problem(SHAPES, dtype, seed, zero_last)


def make(cls, params, config, **extra):
    h1, h2 = CONFIGS[config]
    h1 = {**h1, **extra}
    return cls([{"params": params[:2], **h1}, {"params": params[2:], **h2}], **h1)


@contextlib.contextmanager
def quiet():
    """prodigyopt prints a line when it is built with decoupled decay."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def both(config, dtype, steps=STEPS, scheduler=None, **extra):
    """Our run and prodigyopt's on the same problem: [(optimiser, trajectory, d's)]."""
    out = []
    for cls in (Prodigy, prodigyopt.Prodigy):
        params, f = problem(dtype)
        with quiet():
            opt = make(cls, params, config, **extra)
        sched = scheduler(opt) if scheduler else None
        traj, ds = [], []
        for _ in range(steps):
            traj += run(opt, params, f, 1, sched)
            ds.append(opt.param_groups[0]["d"])
        out.append((opt, traj, ds))
    return out


SCHEDULERS = {
    "constant": None,
    "StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5),
    "cosine": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS),
}


@pytest.mark.parametrize("schedule", SCHEDULERS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("config", CONFIGS)
def test_same_trajectory_and_estimate_as_prodigyopt(config, dtype, schedule):
    (ours, t1, d1), (theirs, t2, d2) = both(config, dtype,
                                            scheduler=SCHEDULERS[schedule])
    assert_close_trajectories(t1, t2, **TOL[dtype])
    assert d1 == pytest.approx(d2, rel=1e-12 if dtype == torch.float64 else 1e-6)
    for g1, g2 in zip(ours.param_groups, theirs.param_groups):
        assert g1.keys() == g2.keys()
        assert g1["k"] == g2["k"] == STEPS
    # the estimate grew from d0 and never fell
    d0 = CONFIGS[config][0].get("d0", 1e-6)
    assert all(b >= a for a, b in zip(d1, d1[1:])) and d1[-1] > 100 * d0
    start, _ = problem(dtype)
    assert all((x - s).abs().max() > 1e-2 for x, s in zip(t1[-1], start))


def test_the_growth_limit_holds_after_the_first_jump():
    """Step 1 has no distance to measure (theta = theta_0): d stays d0; at step 2 it
    jumps past the limit of 1.05 per step, which holds from then on."""
    _, _, ds = both("beta1 = 0, growth limit, d_coef / decay, slice_p 3",
                    torch.float64, steps=40)[0]
    ratios = [b / a for a, b in zip(ds[1:], ds[2:])]
    assert ds[0] == 1e-4 and ds[1] > 1.05 * ds[0]
    assert max(ratios) <= 1.05 * (1 + 1e-12)
    assert sum(r > 1.05 * (1 - 1e-12) for r in ratios) > 5


@pytest.mark.parametrize("last_d0", [1e-6, 1e-5], ids=["jump", "no jump"])
def test_the_first_jump_waits_for_d_to_equal_the_last_groups_d0(last_d0):
    """prodigyopt lets d jump past the growth limit while d equals the d0 of the *last*
    group (d starts at the constructor's d0): with another d0 there, no jump."""
    runs = []
    for cls in (Prodigy, prodigyopt.Prodigy):
        params, f = problem(torch.float64)
        opt = cls([{"params": params[:2]}, {"params": params[2:], "d0": last_d0}],
                  growth_rate=1.01)
        ds = []
        for _ in range(10):
            run(opt, params, f, 1)
            ds.append(opt.param_groups[0]["d"])
        runs.append(ds)
    assert runs[0] == pytest.approx(runs[1], rel=1e-12)
    jumped = max(b / a for a, b in zip(runs[0], runs[0][1:])) > 1.01 * (1 + 1e-12)
    assert jumped is (last_d0 == 1e-6)


@pytest.mark.parametrize("beta1", [0.9, 0.0])
def test_a_group_with_lr_zero_moves_as_in_prodigyopt(beta1):
    """It adds nothing to the moments or to d, but is still moved with the moments it
    has (none with beta1 > 0; its gradient over d eps with beta1 = 0)."""
    trajs = []
    for cls in (Prodigy, prodigyopt.Prodigy):
        params, f = problem(torch.float64)
        opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.0}],
                  betas=(beta1, 0.999), eps=1e-2)
        trajs.append(run(opt, params, f, 30))
    assert_close_trajectories(*trajs, **TOL[torch.float64])
    start, _ = problem(torch.float64)
    assert torch.equal(trajs[0][-1][2], start[2]) is (beta1 > 0)


def test_different_lrs_in_two_groups_fail_as_in_prodigyopt():
    errors, opts = [], []
    for cls in (Prodigy, prodigyopt.Prodigy):
        params, f = problem(torch.float64)
        opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}])
        f(params).backward()
        with pytest.raises(RuntimeError) as err:
            opt.step()
        errors.append(str(err.value))
        opts.append(opt)
    assert errors[0] == errors[1]
    assert not opts[0].state and opts[1].state  # optlib stops before it changes a thing


def test_all_zero_gradients_change_nothing_but_the_state_as_in_prodigyopt():
    """No sum for d: prodigyopt returns before the update (k does not advance)."""
    opts = []
    for cls in (Prodigy, prodigyopt.Prodigy):
        params, _ = problem(torch.float64)
        opt = cls(params)
        for p in params:
            p.grad = torch.zeros_like(p)
        opt.step()
        opts.append(opt)
    ours, theirs = opts
    assert ours.param_groups[0]["k"] == theirs.param_groups[0]["k"] == 0
    assert ours.state_dict()["state"].keys() == theirs.state_dict()["state"].keys()
    for a, b in zip(ours.state_dict()["state"].values(),
                    theirs.state_dict()["state"].values()):
        assert a.keys() == b.keys() and a["step"] == b["step"] == 0


@pytest.mark.parametrize("direction", ["prodigyopt -> optlib", "optlib -> prodigyopt"])
def test_state_dicts_move_between_optlib_and_prodigyopt(direction):
    config = "coupled decay, bias correction / d0, safeguard, slice_p"
    first, then = ((prodigyopt.Prodigy, Prodigy) if direction.startswith("prodigyopt")
                   else (Prodigy, prodigyopt.Prodigy))
    params, f = problem(torch.float64)
    opt = make(first, params, config)
    run(opt, params, f, 25)
    start = [p.detach().clone() for p in params]
    saved = roundtrip(opt.state_dict())
    straight = run(opt, params, f, 40)
    other, resumed = continue_from(saved, lambda ps: make(then, ps, config), params, f,
                                   40, start)
    assert_close_trajectories(straight, resumed, **TOL[torch.float64])
    assert other.param_groups[0]["k"] == 65


def test_state_dicts_are_prodigyopts():
    """Same keys, same Python types (an int step), same values after the same steps."""
    config = "beta3, safeguard, growth limit / d0"
    (ours, _, _), (theirs, _, _) = both(config, torch.float64, steps=12)
    a, b = ours.state_dict(), theirs.state_dict()
    assert ([g.keys() for g in a["param_groups"]]
            == [g.keys() for g in b["param_groups"]])
    assert a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        assert a["state"][i].keys() == b["state"][i].keys()
        for key, x in a["state"][i].items():
            y = b["state"][i][key]
            assert type(x) is type(y), key
            if isinstance(x, torch.Tensor):
                assert x.shape == y.shape and x.dtype == y.dtype, key
                torch.testing.assert_close(x, y, **TOL[torch.float64])
            else:
                assert x == y
    assert a["state"][3]["p0"].shape == ()          # the zero parameter's 0-dim p0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_resume_from_a_checkpoint_is_bit_identical(dtype):
    config = "beta1 = 0, growth limit, d_coef / decay, slice_p 3"
    params, f = problem(dtype)
    opt = make(Prodigy, params, config)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=90)
    run(opt, params, f, 33, sched)
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = run(opt, params, f, 45, sched)

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]
    opt2 = make(Prodigy, fresh, config)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=90)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    assert_equal_trajectories(straight, run(opt2, fresh, f, 45, sched2))


def test_a_complex_parameter_moves_as_its_real_view():
    """prodigyopt fails on complex parameters; optlib updates the pairs of reals."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(4, 3, dtype=torch.complex128, generator=g).requires_grad_()
    r = torch.view_as_real(z.detach()).clone().requires_grad_()
    target = torch.randn(4, 3, dtype=torch.complex128, generator=g)
    opt_z, opt_r = Prodigy([z], weight_decay=0.1), Prodigy([r], weight_decay=0.1)
    t1 = run(opt_z, [z], lambda xs: ((xs[0] - target).abs() ** 2).sum(), 40)
    t2 = run(opt_r, [r], lambda xs: ((torch.view_as_complex(xs[0]) - target).abs() ** 2)
             .sum(), 40)
    assert_close_trajectories([[torch.view_as_real(x[0])] for x in t1], t2,
                              **TOL[torch.float64])
    assert opt_z.param_groups[0]["d"] == pytest.approx(opt_r.param_groups[0]["d"])


def test_the_gradient_is_left_alone_with_coupled_decay():
    params, f = problem(torch.float64)
    opt = Prodigy(params, weight_decay=0.5, decouple=False)
    f(params).backward()
    grads = [p.grad.clone() for p in params]
    opt.step()
    assert all(torch.equal(p.grad, g) for p, g in zip(params, grads))


def test_sparse_gradients_raise_a_runtime_error():
    emb = torch.nn.Embedding(6, 3, sparse=True)
    opt = Prodigy(emb.parameters())
    emb(torch.tensor([1, 4])).sum().backward()
    with pytest.raises(RuntimeError, match="Prodigy does not support sparse gradients"):
        opt.step()


def test_fsdp_shards_are_refused():
    p = torch.ones(3, requires_grad=True)
    p._fsdp_flattened = True
    opt = Prodigy([p])
    p.grad = torch.ones(3)
    with pytest.raises(NotImplementedError, match="FSDP"):
        opt.step()
