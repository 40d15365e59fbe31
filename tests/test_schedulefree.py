"""optlib's SGDScheduleFree and AdamWScheduleFree against the plain classes of the
``schedulefree`` package 1.4.1 (its trajectories in train mode, the averages that eval()
exposes, state_dicts in both modes, schedulers, sparse and complex parameters), and
against the paper's three sequences written out here."""

from __future__ import annotations

import copy

import pytest
import torch

from optlib.schedulefree import NOT_IN_TRAIN_MODE, AdamWScheduleFree, SGDScheduleFree
from trajectories import assert_close_trajectories, assert_equal_trajectories, roundtrip

sf = pytest.importorskip("schedulefree")

STEPS = 120
SHAPES = [(4, 3), (5,), (2, 3, 2), (3,)]        # the last one never gets a gradient
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-7)}
TWIN = {SGDScheduleFree: sf.SGDScheduleFree, AdamWScheduleFree: sf.AdamWScheduleFree}

#: (class, first group's hyper-parameters, second group's): every hyper-parameter of
#: the schedule differs between the groups somewhere
CONFIGS = {
    "SGD warm-up, decay / momentum, power 0": (
        SGDScheduleFree,
        dict(lr=0.05, momentum=0.9, weight_decay=0.02, warmup_steps=15),
        dict(lr=0.1, momentum=0.6, warmup_steps=40, weight_lr_power=0.0)),
    "SGD r, power 1 / decay, r, short warm-up": (
        SGDScheduleFree,
        dict(lr=0.03, momentum=0.8, r=1.0, weight_lr_power=1.0),
        dict(lr=0.02, momentum=0.95, r=0.5, weight_decay=0.1, warmup_steps=5)),
    "AdamW warm-up, decay / betas, eps, power 0": (
        AdamWScheduleFree,
        dict(lr=0.02, betas=(0.9, 0.999), weight_decay=0.05, warmup_steps=20),
        dict(lr=0.05, betas=(0.7, 0.99), eps=1e-6, warmup_steps=60,
             weight_lr_power=0.0)),
    "AdamW r, power 1 / decay, r, short warm-up": (
        AdamWScheduleFree,
        dict(lr=0.01, betas=(0.95, 0.9), r=2.0, weight_lr_power=1.0),
        dict(lr=0.03, betas=(0.85, 0.995), r=0.5, weight_decay=0.1, warmup_steps=3)),
}
#: the group keys the package keeps besides the hyper-parameters
BOOKKEEPING = ("k", "train_mode", "weight_sum", "lr_max", "scheduled_lr")


def problem(dtype, seed=0):
    """Tensors of SHAPES and ``f(tensors)``, a smooth non-convex loss of the first
    three."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]
    coefs = [(torch.rand(s, generator=g, dtype=dtype) + 0.5,
              torch.randn(s, generator=g, dtype=dtype)) for s in SHAPES[:3]]

    def f(xs):
        return sum((a * (x - b) ** 2 + 0.3 * torch.sin(3 * x)).sum()
                   for (a, b), x in zip(coefs, xs))

    return params, f


def make(cls, params, config, package=False, train=True, **kw):
    """The optimiser of ``config`` (the package's class with ``package``) over two
    groups, in train mode unless ``train=False``."""
    ours, h1, h2 = CONFIGS[config]
    assert cls is ours
    opt = (TWIN[cls] if package else cls)(
        [{"params": params[:2], **h1}, {"params": params[2:], **h2}], **kw)
    if train:
        opt.train()
    return opt


def one_step(opt, params, f):
    opt.zero_grad()
    f(params).backward()
    opt.step()


def snapshot(params):
    return [p.detach().clone() for p in params]


def bookkeeping(opt):
    return [[float(g[key]) for key in BOOKKEEPING] for g in opt.param_groups]


def config_ids(cls):
    return [name for name, (c, _, _) in CONFIGS.items() if c is cls]


ALL_CONFIGS = [(CONFIGS[name][0], name) for name in CONFIGS]


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "for-loop"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_same_trajectory_and_averages_as_the_package(cls, config, dtype, foreach):
    """y after every step, the group's bookkeeping after every step, and x (eval mode)
    at steps 30, 60, 90, 120, each followed by train() and more steps."""
    runs = []
    for package in (False, True):
        params, f = problem(dtype)
        opt = make(cls, params, config, package=package, foreach=foreach)
        ys, xs, books = [], [], []
        for t in range(1, STEPS + 1):
            one_step(opt, params, f)
            ys.append(snapshot(params))
            books.append(bookkeeping(opt))
            if t % 30 == 0:
                opt.eval()
                xs.append(snapshot(params))
                opt.train()
        runs.append((ys, xs, books))
    (ys, xs, books), (ys2, xs2, books2) = runs
    assert_close_trajectories(ys, ys2, **TOL[dtype])
    assert_close_trajectories(xs, xs2, **TOL[dtype])
    assert books == books2
    start = problem(dtype)[0]
    assert all((y - s).abs().max() > 1e-2 for y, s in zip(ys[-1][:3], start))
    assert torch.equal(ys[-1][3], start[3].detach()), "a parameter without grad moved"
    assert all((x - y).abs().max() > 1e-6 for x, y in zip(xs[-1][:3], ys[-1])), \
        "eval() did not move the parameters: the test cannot tell x from y"


@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_switching_modes_back_and_forth_keeps_equality(cls, config):
    """eval() and train() at irregular steps, twice in a row at times (no effect the
    second time), evaluations of the loss in eval mode in between: same parameters as
    the package after every call."""
    plan = {3: "et", 10: "eett", 11: "t", 17: "etet", 40: "eet", 41: "tet", 77: "et",
            100: "ett"}
    runs = []
    for package in (False, True):
        params, f = problem(torch.float64)
        opt = make(cls, params, config, package=package)
        out = []
        for t in range(1, 111):
            one_step(opt, params, f)
            out.append(snapshot(params))
            for call in plan.get(t, ""):
                (opt.eval if call == "e" else opt.train)()
                out.append(snapshot(params))
                if call == "e":
                    with torch.no_grad():
                        out.append([f(params).reshape(1)])  # the evaluated loss at x
        runs.append(out)
    assert_close_trajectories(*runs, **TOL[torch.float64])


# --------------------------------------------------------------------------- the paper
def by_hand(start, f, groups, steps, adam):
    """Defazio et al. (2024), Algorithm 1 (and its AdamW form), with the three sequences
    kept explicitly, t = 1, 2, ...:

        y_t = (1 - beta) z_t + beta x_t,      g_t = grad f(y_t)
        u_t = g_t + lam y_t   (AdamW: g_t / (sqrt(v_t / (1 - beta2^t)) + eps) + lam y_t)
        gamma_t = lr min(1, t / T),           z_{t+1} = z_t - gamma_t u_t
        w_t = t^r (max_{i<=t} gamma_i)^p,     c_{t+1} = w_t / sum_{i<=t} w_i
        x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}

    ``groups``: (indices into ``start``, hyper-parameters). Returns the y and the x
    after every step."""
    x = [s.detach().clone() for s in start]
    z = [s.detach().clone() for s in start]
    v = [torch.zeros_like(s) for s in start]
    top = [0.0 for _ in groups]
    total = [0.0 for _ in groups]

    def beta_of(h):
        return h.get("betas", (0.9, 0.999))[0] if adam else h.get("momentum", 0.9)

    def y_of():
        y = [None] * len(x)
        for idx, h in groups:
            for j in idx:
                y[j] = (1 - beta_of(h)) * z[j] + beta_of(h) * x[j]
        return y

    ys, xs = [], []
    for t in range(1, steps + 1):
        y = y_of()
        leaves = [yy.clone().requires_grad_() for yy in y]
        grads = torch.autograd.grad(f(leaves[:3]), leaves[:3])
        for i, (idx, h) in enumerate(groups):
            warm = h.get("warmup_steps", 0)
            gamma = h["lr"] * (min(1.0, t / warm) if warm else 1.0)
            top[i] = max(top[i], gamma)
            w = t ** h.get("r", 0.0) * top[i] ** h.get("weight_lr_power", 2.0)
            total[i] += w
            c = w / total[i]
            for j in idx:
                if j >= len(grads):
                    continue
                g = grads[j]
                if adam:
                    beta2 = h.get("betas", (0.9, 0.999))[1]
                    v[j] = beta2 * v[j] + (1 - beta2) * g * g
                    g = g / ((v[j] / (1 - beta2 ** t)).sqrt() + h.get("eps", 1e-8))
                u = g + h.get("weight_decay", 0.0) * y[j]
                z[j] = z[j] - gamma * u
                x[j] = (1 - c) * x[j] + c * z[j]
        ys.append(y_of())
        xs.append([xx.clone() for xx in x])
    return ys, xs


@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_equals_the_three_sequences_of_the_paper(cls, config):
    """Against the explicit y, z, x (another order of operations: to 1e-10)."""
    params, f = problem(torch.float64)
    start = snapshot(params)
    opt = make(cls, params, config)
    ys, xs = [], []
    for _ in range(STEPS):
        one_step(opt, params, f)
        ys.append(snapshot(params))
        opt.eval()
        xs.append(snapshot(params))
        opt.train()
    _, h1, h2 = CONFIGS[config]
    h1 = {"lr": opt.defaults["lr"], **h1}
    h2 = {"lr": opt.defaults["lr"], **h2}
    ys2, xs2 = by_hand(start, f, [([0, 1], h1), ([2, 3], h2)], STEPS,
                       adam=cls is AdamWScheduleFree)
    assert_close_trajectories(ys, ys2, rtol=1e-10, atol=1e-10)
    assert_close_trajectories(xs, xs2, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------- train / eval
@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_eval_moves_to_x_train_back_to_y_and_both_are_idempotent(cls, config):
    params, f = problem(torch.float64)
    opt = make(cls, params, config, train=False)
    before = snapshot(params)
    opt.eval()                      # no state yet: nothing moves, in either direction
    opt.train()
    assert [g["train_mode"] for g in opt.param_groups] == [True, True]
    assert_equal_trajectories([snapshot(params)], [before])
    for _ in range(25):
        one_step(opt, params, f)
    y = snapshot(params)
    z = [opt.state[p]["z"].clone() if "z" in opt.state[p] else None for p in params]
    betas = [opt._beta(g) for g in opt.param_groups for _ in g["params"]]
    opt.eval()
    assert [g["train_mode"] for g in opt.param_groups] == [False, False]
    x = snapshot(params)
    for i in range(3):              # x = (y - (1 - beta) z) / beta
        torch.testing.assert_close(x[i], (y[i] - (1 - betas[i]) * z[i]) / betas[i],
                                   rtol=1e-12, atol=1e-12)
    assert z[3] is None and torch.equal(x[3], y[3])
    opt.eval()
    assert_equal_trajectories([snapshot(params)], [x])
    opt.train()
    assert [g["train_mode"] for g in opt.param_groups] == [True, True]
    assert_close_trajectories([snapshot(params)], [y], rtol=1e-12, atol=1e-12)
    back = snapshot(params)
    opt.train()
    assert_equal_trajectories([snapshot(params)], [back])


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_a_step_outside_train_mode_raises_the_package_error(cls):
    calls = []

    def closure():
        calls.append(1)
        return torch.tensor(0.0)

    errors = []
    for factory in (cls, TWIN[cls]):
        p = torch.ones(3, requires_grad=True)
        opt = factory([p], lr=0.1)
        p.grad = torch.ones(3)
        with pytest.raises(Exception) as never_trained:
            opt.step(closure)
        opt.train()
        opt.step()
        opt.eval()
        x = p.detach().clone()
        with pytest.raises(Exception) as after_eval:
            opt.step()
        assert torch.equal(p.detach(), x)
        errors.append([(type(e.value), str(e.value))
                       for e in (never_trained, after_eval)])
    assert errors[0] == errors[1] == [(Exception, NOT_IN_TRAIN_MODE)] * 2
    assert calls == []


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_a_group_added_later_follows_the_package(cls):
    """The new group starts in eval mode (the package's defaults): the step still runs
    it, as the package does, and train() switches it like the others."""
    config = config_ids(cls)[0]
    runs = []
    for package in (False, True):
        params, f = problem(torch.float64)
        opt = make(cls, params[:2] + [params[3]], config, package=package)
        out = []
        for t in range(40):
            if t == 10:
                opt.add_param_group({"params": [params[2]], "lr": 0.004})
                assert opt.param_groups[-1]["train_mode"] is False
            if t == 20:
                opt.train()
            if t in (15, 25):
                opt.eval()
                out.append(snapshot(params))
                opt.train()
            one_step(opt, params, f)
            out.append(snapshot(params))
        runs.append(out)
    assert_close_trajectories(*runs, **TOL[torch.float64])


# --------------------------------------------------------------------------- state_dict
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_resume_from_a_checkpoint_is_bit_identical(cls, config, dtype, mode):
    """Saved (parameters, optimiser, scheduler) in train or eval mode with torch.save,
    read back with weights_only=True into fresh objects: the same steps afterwards, bit
    for bit, as the run that only went through eval() and train() there."""
    params, f = problem(dtype)
    opt = make(cls, params, config)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=90)
    for _ in range(31):
        one_step(opt, params, f)
        sched.step()
    if mode == "eval":
        opt.eval()
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    saved_modes = [g["train_mode"] for g in ckpt["opt"]["param_groups"]]
    assert saved_modes == [mode == "train"] * 2
    opt.train()
    straight = []
    for _ in range(40):
        one_step(opt, params, f)
        sched.step()
        straight.append(snapshot(params))

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]
    opt2 = make(cls, fresh, config, train=False)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=90)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    opt2.train()
    resumed = []
    for _ in range(40):
        one_step(opt2, fresh, f)
        sched2.step()
        resumed.append(snapshot(fresh))
    assert_equal_trajectories(straight, resumed)
    assert bookkeeping(opt) == bookkeeping(opt2)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_state_dicts_move_between_the_package_and_optlib(cls, config, mode):
    """The package's state_dict (saved in either mode) continues in optlib as in the
    package, and optlib's continues in the package: the keys coincide, so nothing is
    translated."""
    params, f = problem(torch.float64)
    theirs = make(cls, params, config, package=True)
    for _ in range(20):
        one_step(theirs, params, f)
    if mode == "eval":
        theirs.eval()
    saved = roundtrip(theirs.state_dict())
    start = snapshot(params)

    def continue_with(opt_maker, state_dict, steps=30):
        ps = [s.clone().requires_grad_() for s in start]
        opt = opt_maker(ps)
        opt.load_state_dict(copy.deepcopy(state_dict))
        opt.train()
        out = []
        for _ in range(steps):
            one_step(opt, ps, f)
            out.append(snapshot(ps))
        return opt, ps, out

    _, _, in_theirs = continue_with(
        lambda ps: make(cls, ps, config, package=True, train=False), saved)
    ours, ours_params, in_ours = continue_with(
        lambda ps: make(cls, ps, config, train=False), saved)
    assert_close_trajectories(in_ours, in_theirs, **TOL[torch.float64])

    mine = ours.state_dict()
    assert mine["param_groups"][0].keys() == saved["param_groups"][0].keys()
    for i, state in saved["state"].items():
        assert mine["state"][i].keys() == state.keys()
    if mode == "eval":
        ours.eval()
    back = roundtrip(ours.state_dict())
    start = snapshot(ours_params)
    _, _, again_theirs = continue_with(
        lambda ps: make(cls, ps, config, package=True, train=False), back)
    _, _, again_ours = continue_with(
        lambda ps: make(cls, ps, config, train=False), back)
    assert_close_trajectories(again_theirs, again_ours, **TOL[torch.float64])


# --------------------------------------------------------------------- schedulers, lr
@pytest.mark.parametrize("cls, config", ALL_CONFIGS, ids=[c for _, c in ALL_CONFIGS])
def test_a_scheduler_moves_the_lr_as_in_the_package(cls, config):
    """lr is read at every step and multiplied by the warm-up. The LambdaLR starts at 0,
    so the first weights are 0 (the package's ZeroDivisionError, c = 0) before the lr
    grows and then steps down."""
    def factor(t):
        return min(t / 8, 1.0) * 0.5 ** (t // 30)

    runs = []
    for package in (False, True):
        params, f = problem(torch.float64)
        opt = make(cls, params, config, package=package)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        out, books = [], []
        for _ in range(100):
            one_step(opt, params, f)
            sched.step()
            out.append(snapshot(params))
            books.append(bookkeeping(opt))
        runs.append((out, books))
        assert opt.param_groups[0]["k"] == 100
    assert_close_trajectories(runs[0][0], runs[1][0], **TOL[torch.float64])
    assert runs[0][1] == runs[1][1]
    assert runs[0][1][0][0][2] == 0.0        # weight_sum after the first step (lr 0)


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_a_tensor_lr_gives_the_packages_trajectory(cls):
    """A float64 Tensor lr in the first group: read as its value here, kept a tensor
    (and computed with) in the package; the group keeps the tensor in both."""
    config = config_ids(cls)[0]
    runs = []
    for package in (False, True):
        params, f = problem(torch.float64)
        opt = make(cls, params, config, package=package)
        lr = opt.param_groups[0]["lr"] = torch.tensor(0.04, dtype=torch.float64)
        out = []
        for _ in range(60):
            one_step(opt, params, f)
            out.append(snapshot(params))
        runs.append(out)
        assert opt.param_groups[0]["lr"] is lr and lr.item() == 0.04
    assert_close_trajectories(*runs, **TOL[torch.float64])


# ----------------------------------------------------------------------- other inputs
def _embedding_run(factory, weight_decay, dense=False):
    torch.manual_seed(0)
    emb = torch.nn.Embedding(6, 3, sparse=not dense).double()
    opt = factory(emb.parameters(), lr=0.1, weight_decay=weight_decay)
    opt.train()
    idx = torch.tensor([1, 4, 1])
    for _ in range(25):
        opt.zero_grad()
        (emb(idx) ** 2).sum().backward()
        opt.step()
    opt.eval()
    return emb.weight.detach().clone()


def test_sparse_gradients_sgd():
    """Without decay as the package; with decay, where the package fails, as dense
    gradients."""
    torch.testing.assert_close(_embedding_run(SGDScheduleFree, 0.0),
                               _embedding_run(sf.SGDScheduleFree, 0.0),
                               **TOL[torch.float64])
    with pytest.raises(RuntimeError, match="sparse"):
        _embedding_run(sf.SGDScheduleFree, 0.1)
    torch.testing.assert_close(_embedding_run(SGDScheduleFree, 0.1),
                               _embedding_run(SGDScheduleFree, 0.1, dense=True),
                               rtol=1e-12, atol=1e-12)


def test_sparse_gradients_adamw_are_refused():
    with pytest.raises(RuntimeError, match="AdamWScheduleFree does not support sparse"):
        _embedding_run(AdamWScheduleFree, 0.0)


def _complex_problem(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]
    coefs = [torch.randn(s, generator=g, dtype=dtype) for s in SHAPES[:3]]

    def f(xs):
        return sum(((x - c).abs() ** 2
                    + 0.3 * torch.sin(3 * torch.view_as_real(x)).sum(-1)).sum()
                   for c, x in zip(coefs, xs))

    return params, f


def test_complex_parameters_sgd_as_the_package():
    config = config_ids(SGDScheduleFree)[1]
    runs = []
    for package in (False, True):
        params, f = _complex_problem(torch.complex128)
        opt = make(SGDScheduleFree, params, config, package=package)
        out = []
        for t in range(100):
            one_step(opt, params, f)
            out.append(snapshot(params))
        opt.eval()
        out.append(snapshot(params))
        runs.append(out)
    assert_close_trajectories(*runs, **TOL[torch.float64])
    assert runs[0][-1][0].is_complex()


def test_complex_parameters_adamw_move_as_their_real_views():
    config = config_ids(AdamWScheduleFree)[1]
    params, f = _complex_problem(torch.complex128)
    reals = [torch.view_as_real(p.detach()).clone().requires_grad_() for p in params]
    opt = make(AdamWScheduleFree, params, config)
    opt_real = make(AdamWScheduleFree, reals, config)

    def f_real(xs):
        return f([torch.view_as_complex(x) for x in xs])

    a, b = [], []
    for _ in range(100):
        one_step(opt, params, f)
        one_step(opt_real, reals, f_real)
        a.append([torch.view_as_real(p.detach()).clone() for p in params])
        b.append(snapshot(reals))
    opt.eval()
    opt_real.eval()
    a.append([torch.view_as_real(p.detach()).clone() for p in params])
    b.append(snapshot(reals))
    assert_close_trajectories(a, b, **TOL[torch.float64])
    assert opt.state[params[0]]["exp_avg_sq"].is_complex()


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_the_gradients_are_left_as_they_are(cls):
    params, f = problem(torch.float64)
    opt = make(cls, params, config_ids(cls)[0])
    for _ in range(3):
        opt.zero_grad()
        f(params).backward()
        grads = [p.grad.clone() for p in params[:3]]
        opt.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(params, grads))


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_group_keys_and_defaults_equal_the_package(cls):
    p = torch.zeros(2, requires_grad=True)
    ours, theirs = cls([p]), TWIN[cls]([p])
    assert ours.defaults == theirs.defaults
    assert list(ours.param_groups[0]) == list(theirs.param_groups[0])


@pytest.mark.parametrize("cls", [SGDScheduleFree, AdamWScheduleFree])
def test_nan_and_inf_gradients_propagate_as_in_the_package(cls):
    runs = []
    for factory in (cls, TWIN[cls]):
        params, _ = problem(torch.float64)
        opt = factory([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}],
                      lr=0.03)
        opt.train()
        out = []
        for k in range(6):
            for i, p in enumerate(params[:3]):
                g = 2 * p.detach() + torch.sin(p.detach())
                g.view(-1)[i] = {1: float("nan"), 3: float("inf")}.get(k, g.view(-1)[i])
                p.grad = g
            opt.step()
            out.append(snapshot(params))
        opt.eval()
        out.append(snapshot(params))
        runs.append(out)
    for a, b in zip(*runs):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert runs[0][-1][0].isnan().any()
