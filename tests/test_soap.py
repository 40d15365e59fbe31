"""optlib's SOAP against SOAP of pytorch_optimizer 4.1.0: trajectories over many basis
refreshes (vectors, matrices, 3-D and 4-D tensors, merged dimensions, both data
formats), state dicts both ways, resume, schedulers, and where the two differ on
purpose.

The tolerance is torch.testing's 1e-12 in float64 (1e-6 in float32), and it holds
because optlib calls the same kernels in the same order (``tensordot``, ``lerp_``,
``eigh`` of the same matrix, the float32 ``qr``): the trajectories come out bit for
bit equal. That is the only way to meet it. The bases are discontinuous functions of
the statistics L, R: two close eigenvalues swap places in the ``argsort`` of the
refresh for a last-bit change, and the axes of V are permuted with them; a rounding
difference anywhere (the authors' ``mul_``/``add_`` instead of ``lerp_``, an ``einsum``
for the ``tensordot``) then moves the parameters by up to the step size, not 1e-12.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from optlib.soap import SOAP
from trajectories import (assert_close_trajectories, assert_equal_trajectories,
                          continue_from, roundtrip, run)

pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
Reference = pytorch_optimizer.SOAP

STEPS = 150
SHAPES = [(4, 3), (5,), (2, 3, 2), (3,)]
#: for merge_dims (max_precondition_dim=6): every tensor merges into two or more
#: dimensions, as pytorch_optimizer needs: (4, 3), [1, 7], [6, 2], [6, 6]
SHAPES_4D = [(4, 3), (7,), (2, 3, 2), (2, 3, 2, 3)]
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-6, atol=1e-6)}

#: (shapes, first group's arguments, the second group's, constructor-only arguments)
CONFIGS = {
    "defaults / betas, no decay, f=3": (
        SHAPES, dict(lr=0.01), dict(lr=0.005, betas=(0.9, 0.99), weight_decay=0.0,
                                    precondition_frequency=3), {}),
    "1-D preconditioned, normalised / beta_s, max dim 2, f=4": (
        SHAPES, dict(lr=0.01, precondition_1d=True, normalize_gradient=True),
        dict(lr=0.005, shampoo_beta=0.8, max_precondition_dim=2,
             precondition_frequency=4), {}),
    "no bias correction, f=5 / eps, 1-D, f=1": (
        SHAPES, dict(lr=0.02, correct_bias=False, weight_decay=0.05,
                     precondition_frequency=5),
        dict(lr=0.01, eps=1e-6, precondition_1d=True, precondition_frequency=1), {}),
    "4-D / max dim 2": (
        SHAPES_4D, dict(lr=0.01), dict(lr=0.003, max_precondition_dim=2), {}),
    "merged NCHW / f=2, beta_s": (
        SHAPES_4D, dict(lr=0.01, merge_dims=True, max_precondition_dim=6),
        dict(lr=0.005, precondition_frequency=2, shampoo_beta=0.9), {}),
    "merged NHWC, maximize / 1-D": (
        SHAPES_4D, dict(lr=0.01, merge_dims=True, max_precondition_dim=6),
        dict(lr=0.005, precondition_1d=True),
        dict(data_format="channels_last", maximize=True)),
}


def problem(dtype, shapes, seed=0, sign=1.0):
    """Tensors of ``shapes`` and a smooth non-convex loss ``f`` of them (``sign=-1``:
    its negative, for maximize)."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes]
    coefs = [(torch.rand(s, generator=g, dtype=dtype) + 0.5,
              torch.randn(s, generator=g, dtype=dtype)) for s in shapes]
    mix = [torch.randn(p.numel(), p.numel(), generator=g, dtype=dtype) / p.numel()
           for p in params]             # couples the entries: a non-diagonal Hessian

    def f(xs):
        return sign * sum((a * (x - b) ** 2 + 0.3 * torch.sin(3 * x)).sum()
                          + ((m @ x.flatten()) ** 2).sum()
                          for (a, b), m, x in zip(coefs, mix, xs))

    return params, f


def make(cls, params, config):
    _, h1, h2, extra = CONFIGS[config]
    return cls([{"params": params[:2], **h1}, {"params": params[2:], **h2}],
               **h1, **extra)


def both(config, dtype, steps=STEPS, scheduler=None):
    """[(optimiser, trajectory)] of optlib's SOAP and pytorch_optimizer's."""
    shapes, _, _, extra = CONFIGS[config]
    out = []
    for cls in (SOAP, Reference):
        params, f = problem(dtype, shapes, sign=-1.0 if extra.get("maximize") else 1.0)
        opt = make(cls, params, config)
        sched = scheduler(opt) if scheduler else None
        out.append((opt, run(opt, params, f, steps, sched)))
    return out


SCHEDULERS = {
    "constant": None,
    "StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5),
    "cosine": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS),
}


@pytest.mark.parametrize("schedule", SCHEDULERS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("config", CONFIGS)
def test_same_trajectory_as_pytorch_optimizer(config, dtype, schedule):
    (ours, t1), (theirs, t2) = both(config, dtype, scheduler=SCHEDULERS[schedule])
    assert_close_trajectories(t1, t2, **TOL[dtype])
    shapes = CONFIGS[config][0]
    start, _ = problem(dtype, shapes)
    assert all((x - s).abs().max() > 1e-2 for x, s in zip(t1[-1], start))
    assert [g["step"] for g in ours.param_groups] == [STEPS, STEPS]
    # the bases were refreshed: they are no longer those of the first eigh
    assert any(len(q) and not torch.equal(q, q0) for p in ours.state
               for q, q0 in zip(ours.state[p]["Q"], _first_bases(ours, p)))


def _first_bases(opt, p):
    """The eigenvectors of the statistics as they are now (what a fresh eigh gives):
    a refreshed basis is a QR of a power step, not that."""
    return [SOAP._eigenvectors(stat) for stat in opt.state[p]["GG"]]


def test_the_first_call_only_builds_the_bases():
    params, f = problem(torch.float64, SHAPES)
    start = [p.detach().clone() for p in params]
    opt = SOAP(params, precondition_1d=True)
    f(params).backward()
    opt.step()
    assert all(torch.equal(p, s) for p, s in zip(params, start))
    for p in params:
        state = opt.state[p]
        assert [tuple(g.shape) for g in state["GG"]] == [(n, n) for n in p.shape]
        for stat, q in zip(state["GG"], state["Q"]):   # eigenvectors, largest first
            values = torch.diagonal(q.T @ stat @ q)
            assert torch.all(values[:-1] >= values[1:] - 1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_a_parameter_whose_first_gradient_comes_late(dtype):
    """Tensor 2 gets its first gradient at the group's step 6 (f = 3): it is started and
    updated in the same call, with an immediate refresh, as in pytorch_optimizer."""
    trajs = []
    for cls in (SOAP, Reference):
        params, f = problem(dtype, SHAPES)
        opt = cls([{"params": params[:2]},
                   {"params": params[2:], "precondition_frequency": 3}], lr=0.01)
        traj = []
        for k in range(40):
            opt.zero_grad()
            f(params).backward()
            if k < 6:
                params[2].grad = None
            opt.step()
            traj.append([p.detach().clone() for p in params])
        trajs.append(traj)
    assert_close_trajectories(*trajs, **TOL[dtype])
    assert not torch.equal(trajs[0][6][2], trajs[0][5][2])


def test_merged_into_one_dimension_as_the_authors_code():
    """pytorch_optimizer fails when a tensor merges into a single dimension; optlib
    makes it a vector (the authors' rule): a (4, 3) matrix with merge_dims moves as
    pytorch_optimizer moves its 12 entries as a preconditioned vector, and a vector
    short enough to merge moves as without merge_dims."""
    params, f = problem(torch.float64, [(4, 3), (5,)])
    flat = [params[0].detach().flatten().clone().requires_grad_(),
            params[1].detach().clone().requires_grad_()]
    ours = SOAP([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.01,
                merge_dims=True, precondition_frequency=4)
    theirs = Reference([{"params": [flat[0]], "precondition_1d": True},
                        {"params": [flat[1]]}], lr=0.01, precondition_frequency=4)
    t1 = run(ours, params, f, 60)
    t2 = run(theirs, flat, lambda xs: f([xs[0].view(4, 3), xs[1]]), 60)
    assert_close_trajectories([[x.flatten() for x in a] for a in t1], t2,
                              **TOL[torch.float64])
    assert [tuple(g.shape) for g in ours.state[params[0]]["GG"]] == [(12, 12)]
    with pytest.raises(RuntimeError, match=r"shape '\[1\]' is invalid"):
        p = torch.zeros(4, 3, requires_grad=True)
        p.grad = torch.ones(4, 3)
        Reference([p], merge_dims=True).step()


@pytest.mark.parametrize("direction", ["pytorch_optimizer -> optlib",
                                       "optlib -> pytorch_optimizer"])
def test_state_dicts_move_between_optlib_and_pytorch_optimizer(direction):
    config = "merged NCHW / f=2, beta_s"
    first, then = ((Reference, SOAP) if direction.startswith("pytorch")
                   else (SOAP, Reference))
    params, f = problem(torch.float64, SHAPES_4D)
    opt = make(first, params, config)
    run(opt, params, f, 25)
    start = [p.detach().clone() for p in params]
    saved = roundtrip(opt.state_dict())
    straight = run(opt, params, f, 40)
    other, resumed = continue_from(saved, lambda ps: make(then, ps, config), params, f,
                                   40, start)
    assert_close_trajectories(straight, resumed, **TOL[torch.float64])
    assert other.param_groups[0]["step"] == 65


def test_state_dicts_are_pytorch_optimizers():
    """Same keys and Python types (lists with ``[]`` for an identity, an int and a
    float), same values after the same steps; the group holds ``step``."""
    config = "1-D preconditioned, normalised / beta_s, max dim 2, f=4"
    (ours, _), (theirs, _) = both(config, torch.float64, steps=13)
    a, b = ours.state_dict(), theirs.state_dict()
    assert ([g.keys() for g in a["param_groups"]]
            == [g.keys() for g in b["param_groups"]])
    assert a["param_groups"][0]["step"] == 13
    assert a["state"].keys() == b["state"].keys()

    def same(x, y, where):
        assert type(x) is type(y), where
        if isinstance(x, list):
            assert len(x) == len(y), where
            for i, (u, v) in enumerate(zip(x, y)):
                same(u, v, f"{where}[{i}]")
        elif isinstance(x, torch.Tensor):
            assert x.shape == y.shape and x.dtype == y.dtype, where
            torch.testing.assert_close(x, y, **TOL[torch.float64])
        else:
            assert x == y, where

    for i in a["state"]:
        assert list(a["state"][i]) == list(b["state"][i])
        for key in a["state"][i]:
            same(a["state"][i][key], b["state"][i][key], f"{i}/{key}")
    assert a["state"][2]["GG"][1] == b["state"][2]["GG"][1] == []  # 3 > max dim 2


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_resume_from_a_checkpoint_is_bit_identical(dtype):
    config = "merged NHWC, maximize / 1-D"
    params, f = problem(dtype, SHAPES_4D, sign=-1.0)
    opt = make(SOAP, params, config)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=90)
    run(opt, params, f, 27, sched)                  # between two refreshes
    ckpt = roundtrip({"p": [p.detach() for p in params], "opt": opt.state_dict(),
                      "sched": sched.state_dict()})
    straight = run(opt, params, f, 45, sched)

    fresh = [x.clone().requires_grad_() for x in ckpt["p"]]
    opt2 = make(SOAP, fresh, config)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=90)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    assert_equal_trajectories(straight, run(opt2, fresh, f, 45, sched2))


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_keeps_the_data_format_and_maximize(how):
    params, f = problem(torch.float64, SHAPES_4D)
    opt = SOAP(params, data_format="channels_last", maximize=True)
    run(opt, params, f, 3)
    clone = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    assert clone.data_format == "channels_last" and clone.maximize
    assert "differentiable" not in clone.defaults


def test_maximize_leaves_the_gradient_alone():
    """pytorch_optimizer negates ``p.grad`` in place; optlib does not."""
    params, f = problem(torch.float64, SHAPES)
    opt = SOAP(params, maximize=True)
    for _ in range(2):
        opt.zero_grad()
        f(params).backward()
        grads = [p.grad.clone() for p in params]
        opt.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(params, grads))


def test_sparse_gradients_and_complex_parameters_are_refused_with_its_messages():
    emb = torch.nn.Embedding(6, 3, sparse=True)
    emb(torch.tensor([1, 4])).sum().backward()
    sparse, complex_ = (r"^SOAP does not support sparse gradient\.$",
                        r"^SOAP does not support complex parameter\.$")
    with pytest.raises(RuntimeError, match=sparse):
        SOAP(emb.parameters()).step()
    z = torch.zeros(3, dtype=torch.complex64, requires_grad=True)
    z.grad = torch.ones(3, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match=complex_):
        SOAP([z]).step()
    with pytest.raises(Exception, match=complex_):  # the same message there
        Reference([z]).step()


def test_unknown_keywords_are_refused():
    """pytorch_optimizer swallows them (``**kwargs``): a misspelt option would do
    nothing."""
    with pytest.raises(TypeError, match="precondition_freq"):
        SOAP([torch.zeros(2, requires_grad=True)], precondition_freq=5)
