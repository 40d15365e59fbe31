"""Generic tests over the tables of ``cases.py``: parity, errors, state_dict, closure, schedulers."""

from __future__ import annotations

import copy
import doctest
import importlib
import io
import pkgutil
import re
from pathlib import Path

import pytest
import torch

import optlib
from cases import CLASS_CASES, ERROR_CASES, OPTIMIZER_CASES
from devices import DEVICES

STEPS = 120
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-12), torch.float32: dict(rtol=1e-6, atol=1e-6)}
REF_CASES = [c for c in OPTIMIZER_CASES if c.reference is not None]
EXCHANGE_CASES = [c for c in REF_CASES if c.exchange_state]


# --------------------------------------------------------------------------- a random problem
def make_params(dtype, seed=0, device="cpu"):
    """Two groups' worth of parameters of mixed shapes, plus one that never gets a gradient
    (drawn on the CPU, then moved to ``device``)."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (5,), (2, 2, 2), (3,)]
    return [torch.randn(s, generator=g, dtype=dtype).to(device).requires_grad_()
            for s in shapes]


def make_loss(params, seed=1, sign=1.0):
    """A smooth non-convex loss of the first three tensors (the fourth one stays without grad).

    ``sign=-1`` gives the negated loss, which a ``maximize=True`` optimiser climbs towards the
    same bounded optimum (climbing the loss itself would diverge, and a diverging trajectory
    compares rounding noise rather than the algorithm)."""
    g = torch.Generator().manual_seed(seed)
    coefs = [(torch.rand(p.shape, generator=g, dtype=p.dtype).to(p.device) + 0.5,
              torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device))
             for p in params[:3]]

    def loss():
        return sign * sum(((a * p ** 2) + b * p + 0.3 * torch.sin(3 * p)).sum()
                          for (a, b), p in zip(coefs, params[:3]))

    return loss


def groups(case, params):
    return [{"params": params[:2]}, {"params": params[2:], **case.group2}]


def run(opt, params, loss, steps, scheduler=None):
    """Take ``steps`` steps; return the parameters after every step."""
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        traj.append([p.detach().clone() for p in params])
    return traj


def assert_close_traj(a, b, dtype):
    for k, (pa, pb) in enumerate(zip(a, b)):
        for x, y in zip(pa, pb):
            torch.testing.assert_close(x, y, **TOL[dtype], msg=lambda m: f"step {k + 1}: {m}")


def build(case, factory, dtype, seed=0, device="cpu"):
    """Fresh parameters, an optimiser made by ``factory`` (None: the optlib case itself), the loss."""
    params = make_params(dtype, seed, device)
    opt = case.make(groups(case, params)) if factory is None else factory(groups(case, params),
                                                                             **case.kwargs)
    return params, opt, make_loss(params, sign=-1.0 if case.kwargs.get("maximize") else 1.0)


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", REF_CASES, ids=lambda c: c.id)
def test_trajectory_equals_reference(case, dtype, device):
    p1, opt1, loss1 = build(case, None, dtype, device=device)
    p2, opt2, loss2 = build(case, case.reference, dtype, device=device)
    t1, t2 = run(opt1, p1, loss1, STEPS), run(opt2, p2, loss2, STEPS)
    assert t1[-1][0].device.type == device
    assert_close_traj(t1, t2, dtype)
    start = make_params(dtype, device=device)
    assert not torch.allclose(t1[-1][0], start[0]), "the problem is trivial: nothing moved"
    assert torch.equal(t1[-1][3], start[3]), "a parameter without grad must not move"


def test_reference_cases_cover_every_optimiser():
    covered = {c.cls for c in OPTIMIZER_CASES}
    exported = {getattr(optlib, n) for n in optlib.__all__}
    optimisers = {c for c in exported if isinstance(c, type) and issubclass(c, torch.optim.Optimizer)}
    # Muon takes matrices only, and the tables' problem has vectors: its own file runs the
    # same checks against torch.optim.Muon on matrices
    own_file = {optlib.Muon: "test_muon.py"}
    for cls, name in own_file.items():
        text = (Path(__file__).parent / name).read_text()
        assert f"torch.optim.{cls.__name__}" in text and "def test_" in text
    missing = optimisers - covered - set(own_file)
    assert not missing, f"optimisers without test cases: {missing}"


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_invalid_argument(case):
    params = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(case.error, match=case.match) as ours:
        case.cls(params, **case.kwargs)
    if case.twin is not None:  # the same call fails in torch with the same type and message
        with pytest.raises(Exception) as theirs:
            case.twin(params, **case.kwargs)
        assert type(theirs.value) is type(ours.value)
        assert str(theirs.value) == str(ours.value)


def _raised(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_bad_parameter_lists_fail_as_in_torch(case):
    ref = case.reference or torch.optim.SGD
    leaf = torch.zeros(3, requires_grad=True)
    bad_inputs = {
        "empty": lambda f: f([], **case.kwargs),
        "non-leaf": lambda f: f([leaf * 2], **case.kwargs),
        "a tensor, not an iterable": lambda f: f(leaf, **case.kwargs),
        "same parameter in two groups": lambda f: f([{"params": [leaf]}, {"params": [leaf]}],
                                                    **case.kwargs),
    }
    for what, call in bad_inputs.items():
        ours = _raised(lambda: call(case.factory or case.cls))
        assert ours is not None, f"{what}: no error"
        if case.reference is not None:
            assert ours == _raised(lambda: call(ref)), what


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_duplicate_parameter_in_a_group_warns_as_in_torch(case):
    p = torch.zeros(3, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        case.make([p, p])


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_sparse_gradients(case):
    """Where torch rejects sparse gradients we raise the same error; where it accepts them, so do we
    (with the same result), or we raise a clear RuntimeError that says so."""

    def attempt(factory):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(6, 3, sparse=True).double()
        opt = factory(emb.parameters(), **case.kwargs)
        for _ in range(3):
            opt.zero_grad()
            emb(torch.tensor([1, 4, 1])).pow(2).sum().backward()
            opt.step()
        return emb.weight.detach()

    ours = _raised(lambda: attempt(case.factory or case.cls))
    theirs = _raised(lambda: attempt(case.reference)) if case.reference else None
    if theirs is not None:
        # the same type; except where the reference stumbles on a missing sparse kernel
        # (a NotImplementedError from torch deep in its step) or raises an exception class
        # of its own package, which optlib (torch only) cannot import: there optlib's
        # RuntimeError that names sparse gradients is what it raises upfront
        other = theirs[0] is NotImplementedError or theirs[0].__module__ != "builtins"
        says_sparse = ours is not None and ours[0] is RuntimeError and "sparse" in ours[1]
        assert ours is not None and (ours[0] is theirs[0] or (other and says_sparse))
    if ours is None:
        assert case.reference is not None and theirs is None
        torch.testing.assert_close(attempt(case.factory or case.cls), attempt(case.reference))
    else:
        assert ours[0] is RuntimeError and "sparse" in ours[1]


# --------------------------------------------------------------------------- state_dict
def _resume(case, dtype, factory_a, factory_b, n_before=37, n_after=45, device="cpu"):
    """Run n_before steps with A, move its state_dict into a fresh B, continue n_after steps."""
    params, opt, loss = build(case, factory_a, dtype, device=device)
    run(opt, params, loss, n_before)
    saved = copy.deepcopy(opt.state_dict())
    snapshot = [p.detach().clone() for p in params]
    straight = run(opt, params, loss, n_after)

    params2, opt2, loss2 = build(case, factory_b, dtype, device=device)
    with torch.no_grad():
        for p, s in zip(params2, snapshot):
            p.copy_(s)
    opt2.load_state_dict(saved)
    resumed = run(opt2, params2, loss2, n_after)
    return straight, resumed


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=lambda c: c.id)
def test_state_dict_resume_is_bit_identical(case, device):
    straight, resumed = _resume(case, torch.float64, None, None, device=device)
    assert straight[-1][0].device.type == device
    for a, b in zip(straight, resumed):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_resume_through_torch_save_and_weights_only_load(case):
    params, opt, loss = build(case, None, torch.float64)
    run(opt, params, loss, 20)
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    opt2 = case.make(groups(case, params))
    opt2.load_state_dict(loaded)
    assert repr(opt2.state_dict()) == repr(opt.state_dict())


@pytest.mark.parametrize("case", [c for c in EXCHANGE_CASES if c.has_state], ids=lambda c: c.id)
def test_torch_state_dict_loads_into_optlib_and_back(case):
    for a, b in [(case.reference, None), (None, case.reference)]:
        straight, resumed = _resume(case, torch.float64, a, b)
        assert_close_traj(straight, resumed, torch.float64)


@pytest.mark.parametrize("case", [c for c in EXCHANGE_CASES if c.has_state], ids=lambda c: c.id)
def test_state_keys_equal_torch(case):
    p1, o1, l1 = build(case, None, torch.float64)
    p2, o2, l2 = build(case, case.reference, torch.float64)
    run(o1, p1, l1, 2)
    run(o2, p2, l2, 2)
    for a, b in zip(p1, p2):
        assert set(o1.state[a]) == set(o2.state[b])
        for key in o1.state[a]:
            ta, tb = o1.state[a][key], o2.state[b][key]
            assert ta.dtype == tb.dtype and ta.shape == tb.shape, key


# --------------------------------------------------------------------------- torch API
@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_closure_returns_the_loss_and_is_evaluated_with_grad(case):
    params, opt, loss = build(case, None, torch.float64)
    calls = []

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        calls.append(torch.is_grad_enabled())
        return value

    for _ in range(case.idle_steps):
        opt.step(closure)
    calls.clear()
    before = [p.detach().clone() for p in params]
    returned = opt.step(closure)
    assert calls == [True]
    assert torch.equal(returned, returned) and returned.ndim == 0
    assert any(not torch.equal(a, b) for a, b in zip(before, params))


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_parameters_without_grad_are_skipped(case):
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = case.make([a, b])
    (a ** 2).sum().backward()
    for _ in range(case.idle_steps + 1):
        opt.step()
    assert torch.equal(b, torch.ones(3))
    assert not torch.equal(a, torch.ones(3))
    if case.cls is not optlib.Adagrad:  # torch's Adagrad creates its state up front
        inner = getattr(opt, "optimizer", opt)  # a wrapper (Lookahead): its inner optimiser's state
        assert len(inner.state[b]) == 0


@pytest.mark.parametrize("case", REF_CASES, ids=lambda c: c.id)
def test_intermittent_gradients_equal_reference(case):
    """A parameter whose gradient is None on a step (a frozen layer, an unused branch) is left
    alone on that step, state and step count included, as in the reference; on some steps a whole
    group has no gradient at all."""
    trajs = []
    for factory in (None, case.reference):
        params, opt, loss = build(case, factory, torch.float64)
        traj = []
        for k in range(30):
            opt.zero_grad()
            loss().backward()
            for i, period, phase in [(0, 3, 1), (1, 4, 2), (2, 5, 3)]:
                if k % period == phase:       # group 1 empty at k = 10, 22; group 2 at k = 3, 8, ...
                    params[i].grad = None
            opt.step()
            traj.append([p.detach().clone() for p in params])
        trajs.append(traj)
    assert_close_traj(*trajs, torch.float64)
    ours = trajs[0]
    for k, idle in [(10, (0, 1)), (3, (2,))]:          # the steps where a group had no gradient
        assert all(torch.equal(ours[k][i], ours[k - 1][i]) for i in idle)
        moved = [i for i in range(3) if i not in idle]
        assert all(not torch.equal(ours[k][i], ours[k - 1][i]) for i in moved)


@pytest.mark.parametrize("case", REF_CASES[::3], ids=lambda c: c.id)
def test_torch_step_lr_drives_an_optlib_optimiser(case):
    trajs = []
    for factory in (None, case.reference):
        params, opt, loss = build(case, factory, torch.float64)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
        trajs.append(run(opt, params, loss, 50, scheduler=sched))
        assert opt.param_groups[0]["lr"] == case.kwargs["lr"] * 0.5 ** 5
    assert_close_traj(*trajs, torch.float64)


def test_step_hooks_run():
    p = torch.zeros(2, requires_grad=True)
    opt = optlib.Adam([p])
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    p.sum().backward()
    opt.step()
    assert seen == ["pre", "post"]


def test_lecture_momentum_form_equals_torch_form_only_for_constant_lr():
    """v_t = λ v_{t-1} − η g_t (lecture) vs m_t = λ m_{t-1} + g_t, θ −= η m_t (torch/optlib)."""

    def lecture(etas, lam=0.9):
        theta, v, out = torch.tensor(2.0, dtype=torch.float64), 0.0, []
        for eta in etas:
            v = lam * v - eta * 2 * theta  # gradient of θ²
            theta = theta + v
            out.append(theta)
        return torch.stack(out)

    def ours(etas, lam=0.9):
        theta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        opt = optlib.SGD([theta], lr=etas[0], momentum=lam)
        out = []
        for eta in etas:
            opt.param_groups[0]["lr"] = eta
            opt.zero_grad()
            (theta ** 2).backward()
            opt.step()
            out.append(theta.detach().clone())
        return torch.stack(out)

    constant = [0.05] * 40
    torch.testing.assert_close(lecture(constant), ours(constant), rtol=1e-12, atol=1e-14)
    changing = [0.05] * 20 + [0.01] * 20
    assert (lecture(changing) - ours(changing)).abs().max() > 1e-3


# --------------------------------------------------------------------------- docstrings
OPTLIB_MODULES = sorted(m.name for m in pkgutil.iter_modules(optlib.__path__))


@pytest.mark.parametrize("name", OPTLIB_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"optlib.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.cls.__name__)
def test_docstring_has_math_example_and_reference(case):
    doc = case.cls.__doc__
    for part in (".. math::", "Example", ">>>", "References:"):
        assert part in doc, f"{case.cls.__name__} docstring lacks {part!r}"
    assert re.search(r"\b(19|20)\d\d\b", doc.split("References:")[1])
