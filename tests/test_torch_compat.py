"""optlib takes what torch.optim takes (issue 16): complex parameters, torch's
implementation switches (``foreach``, ``fused``, ``capturable``, ``differentiable``), a
Tensor ``lr``, checkpoints of older torch releases, and a parameter listed twice in a
group.

The seven twins (SGD, Adagrad, RMSprop, Adam with AMSGrad, AdamW, NAdam, RAdam) are run
next to their ``torch.optim`` class, over many steps and two parameter groups with
different hyper-parameters. The optimisers without a torch twin (AdaBound, AMSBound,
SWATS, SGDW) are run on a complex parameter and on its real view, which must give the
same trajectory.
"""

from __future__ import annotations

import copy
import inspect
import warnings

import pytest
import torch

import optlib

# ------------------------------------------------------------------------- the table
#: (optlib class name, arguments, the second group's own hyper-parameters)
TWIN_CASES = [
    ("SGD", dict(lr=0.03), dict(lr=0.01)),
    ("SGD", dict(lr=0.03, momentum=0.9, weight_decay=0.05),
     dict(lr=0.01, momentum=0.5)),
    ("SGD", dict(lr=0.03, momentum=0.9, dampening=0.3, maximize=True), dict(lr=0.01)),
    ("SGD", dict(lr=0.03, momentum=0.9, nesterov=True),
     dict(lr=0.01, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.2),
     dict(lr=0.05, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.05, maximize=True), dict(lr=0.05)),
    ("RMSprop", dict(lr=0.01, alpha=0.9), dict(lr=0.003, alpha=0.99)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.8, weight_decay=0.05),
     dict(lr=0.003, momentum=0.0)),
    ("RMSprop", dict(lr=0.01, momentum=0.8, maximize=True),
     dict(lr=0.003, centered=True)),
    ("Adam", dict(lr=0.02, betas=(0.9, 0.99)),
     dict(lr=0.005, betas=(0.8, 0.999), eps=1e-6)),
    ("Adam", dict(lr=0.02, weight_decay=0.05, maximize=True), dict(lr=0.005)),
    ("Adam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True),
     dict(lr=0.005, weight_decay=0.2)),
    ("AMSGrad", dict(lr=0.02, weight_decay=0.05), dict(lr=0.005, betas=(0.8, 0.99))),
    ("AdamW", dict(lr=0.02, weight_decay=0.1), dict(lr=0.005, weight_decay=0.0)),
    ("AdamW", dict(lr=0.02, amsgrad=True, maximize=True), dict(lr=0.005)),
    ("NAdam", dict(lr=0.02), dict(lr=0.005, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True),
     dict(lr=0.005, betas=(0.8, 0.99))),
    ("RAdam", dict(lr=0.02), dict(lr=0.005, betas=(0.8, 0.99))),
    ("RAdam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True,
                   maximize=True), dict(lr=0.005)),
]

#: the optimisers without a torch twin, with arguments that reach every phase they have
OTHER_CASES = [
    ("AdaBound", dict(lr=0.02, final_lr=0.05, gamma=0.02),
     dict(lr=0.005, final_lr=0.02)),
    ("AMSBound", dict(lr=0.02, final_lr=0.05, gamma=0.02, weight_decay=0.05),
     dict(lr=0.005, betas=(0.8, 0.99))),
    ("SWATS", dict(lr=0.02, switch_tol=1e-2), dict(lr=0.005, switch_tol=1e-3)),
    ("SWATS", dict(lr=0.02, weight_decay=0.05, maximize=True), dict(lr=0.005)),
    ("SGDW", dict(lr=0.03, momentum=0.9, weight_decay=0.05),
     dict(lr=0.01, nesterov=True)),
    ("SGDW", dict(lr=0.03, weight_decay=0.1), dict(lr=0.01)),
]

TWIN_NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AMSGrad", "AdamW", "NAdam", "RAdam"]
OTHER_NAMES = ["AdaBound", "AMSBound", "SWATS", "SGDW"]
FLAGS = ("foreach", "fused", "capturable", "differentiable")


def _torch_class(name):
    """The torch class of a twin and what it needs besides the shared arguments."""
    return (torch.optim.Adam, dict(amsgrad=True)) if name == "AMSGrad" else (
        getattr(torch.optim, name), {})


def _make(name, groups, kwargs, impl):
    """optlib's ``name`` (impl="optlib") or its torch twin (impl="torch")."""
    if impl == "optlib":
        return getattr(optlib, name)(groups, **kwargs)
    cls, fixed = _torch_class(name)
    return cls(groups, **kwargs, **fixed)


def _case_id(case):
    name, kwargs, _ = case
    return f"{name}({','.join(f'{k}={v}' for k, v in kwargs.items())})"


def _keywords(cls):
    return set(inspect.signature(cls.__init__).parameters) - {"self", "params"}


def _torch_params(name):
    """The keyword arguments of the torch twin's constructor."""
    return _keywords(_torch_class(name)[0])


def _switches(name):
    """The implementation switches that optlib's constructor takes."""
    return [flag for flag in FLAGS if flag in _keywords(getattr(optlib, name))]


# ----------------------------------------------------------------------- the problem
def make_params(dtype, seed=0):
    """Four tensors: complex (when ``dtype`` is), real, complex, and one that never gets
    a gradient. The real one shares a group with a complex one."""
    real = dtype.to_real()
    g = torch.Generator().manual_seed(seed)
    shapes = [((4, 3), dtype), ((5,), real), ((2, 2, 2), dtype), ((3,), dtype)]
    return [torch.randn(s, generator=g, dtype=d).requires_grad_() for s, d in shapes]


def make_loss(params, sign=1.0, seed=1):
    """A smooth non-convex real loss of the first three tensors (the fourth has no
    grad).

    A complex tensor enters through its real and imaginary parts, so the loss of a
    complex parameter and of its real view (``torch.view_as_complex`` of it) are the
    same function. ``sign=-1`` is for ``maximize=True``, which then climbs to the same
    bounded optimum."""
    g = torch.Generator().manual_seed(seed)
    coefs = [(torch.rand(p.shape, generator=g, dtype=p.dtype.to_real()) + 0.5,
              torch.randn(p.shape, generator=g, dtype=p.dtype)) for p in params[:3]]

    def energy(p, a, b):
        if p.is_complex():
            return (a * (p.real ** 2 + p.imag ** 2) + (b.conj() * p).real
                    + 0.3 * torch.sin(3 * p.real) + 0.2 * torch.cos(2 * p.imag)).sum()
        return (a * p ** 2 + b * p + 0.3 * torch.sin(3 * p)).sum()

    def loss(tensors=params):
        return sign * sum(energy(p, a, b) for (a, b), p in zip(coefs, tensors[:3]))

    return loss


def split(params, group2):
    return [{"params": params[:2]}, {"params": params[2:], **group2}]


def run(opt, params, loss, steps):
    """Take ``steps`` steps; the parameters after every step."""
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
        out.append([p.detach().clone() for p in params])
    return out


#: single precision: optlib rounds some steps differently from torch (one-pass momentum,
#: eps scaled instead of v divided), one ulp per step, which 100 steps of Adam-type
#: updates on this problem amplify to a few 1e-6 in entries of size 0.1 to 1
TOL = {torch.complex128: dict(rtol=1e-12, atol=1e-12),
       torch.complex64: dict(rtol=1e-5, atol=1e-5),
       torch.float64: dict(rtol=1e-12, atol=1e-12),
       torch.float32: dict(rtol=1e-5, atol=1e-5)}


def assert_same_trajectory(ours, theirs, tol):
    assert len(ours) == len(theirs) > 0
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            torch.testing.assert_close(x, y, **tol, msg=lambda m: f"step {k + 1}: {m}")


def assert_same_state(ours, theirs, tol):
    """Same state keys, dtypes and values (of the state_dicts: parameters are matched by
    index).

    One documented difference: after ``load_state_dict`` torch casts NAdam's
    ``mu_product`` to the parameter's dtype, optlib keeps it in the step counter's (see
    optlib.NAdam)."""
    a, b = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert a.keys() == b.keys()
    for index in a:
        assert a[index].keys() == b[index].keys(), index
        for key, x in a[index].items():
            y = b[index][key]
            if isinstance(y, torch.Tensor):
                assert isinstance(x, torch.Tensor), (index, key)
                if key == "mu_product":
                    x, y = x.double(), y.double()
                assert x.dtype == y.dtype, (index, key)
                torch.testing.assert_close(x, y, **tol,
                                           msg=lambda m: f"state {index} {key}: {m}")
            else:
                assert x == y, (index, key)


def both(case, dtype, steps, make_groups=split, **extra):
    """The optlib optimiser and its torch twin, run side by side on the same problem."""
    name, kwargs, group2 = case
    out = []
    for impl in ("optlib", "torch"):
        params = make_params(dtype)
        opt = _make(name, make_groups(params, group2), {**kwargs, **extra}, impl)
        loss = make_loss(params, sign=-1.0 if kwargs.get("maximize") else 1.0)
        out.append((opt, params, run(opt, params, loss, steps)))
    return out


# ------------------------------------------------------------------------ 1. complex
# complex64 repeats complex128's checks at a looser tolerance: in `make test-slow` (CI)
COMPLEX = dict(argnames="dtype",
               argvalues=[torch.complex128,
                          pytest.param(torch.complex64, marks=pytest.mark.slow)],
               ids=["c128", "c64"])


@pytest.mark.parametrize(**COMPLEX)
@pytest.mark.parametrize("case", TWIN_CASES, ids=_case_id)
def test_complex_parameters_follow_torch(case, dtype):
    (ours, params, t1), (theirs, _, t2) = both(case, dtype, steps=100)
    assert_same_trajectory(t1, t2, TOL[dtype])
    assert_same_state(ours, theirs, TOL[dtype])
    start = make_params(dtype)
    for moved in (0, 1, 2):
        assert not torch.allclose(t1[-1][moved], start[moved]), "nothing moved"
    assert torch.equal(t1[-1][3], start[3]), "a parameter without grad must not move"
    assert all(p.is_complex() for p in (params[0], params[2]))


def _real_view_params(params):
    """Leaf copies of the parameters, each complex one as its real view."""
    return [(torch.view_as_real(p.detach()) if p.is_complex() else p.detach())
            .clone().requires_grad_() for p in params]


@pytest.mark.slow  # the non-twins against their own real view: in `make test-slow` (CI)
@pytest.mark.parametrize(**COMPLEX)
@pytest.mark.parametrize("case", OTHER_CASES, ids=_case_id)
def test_complex_parameters_move_as_their_real_views(case, dtype):
    """Without a torch twin: a complex parameter follows the trajectory that the same
    optimiser gives its real view (``torch.view_as_real``): bit for bit where the
    update runs on the view; SGDW, like torch's SGD, adds and scales the complex tensor
    itself, whose kernels may round the last bit differently."""
    name, kwargs, group2 = case
    sign = -1.0 if kwargs.get("maximize") else 1.0
    params = make_params(dtype)
    reals = _real_view_params(params)
    loss = make_loss(params, sign)
    opt = getattr(optlib, name)(split(params, group2), **kwargs)
    opt_real = getattr(optlib, name)(split(reals, group2), **kwargs)

    def real_loss():
        return loss([torch.view_as_complex(r) if p.is_complex() else r
                     for p, r in zip(params, reals)])

    t1 = run(opt, params, loss, 100)
    t2 = run(opt_real, reals, real_loss, 100)
    assert_same_trajectory([[torch.view_as_real(x) if x.is_complex() else x for x in a]
                            for a in t1], t2, TOL[dtype])
    assert not torch.equal(t1[-1][0], make_params(dtype)[0]), "nothing moved"
    for p, r in zip(params, reals):               # the same state, complex where p is
        for key, value in opt.state[p].items():
            other = opt_real.state[r][key]
            is_tensor = isinstance(value, torch.Tensor)
            if is_tensor and value.shape == p.shape and p.is_complex():
                assert value.is_complex(), key
                value = torch.view_as_real(value)
            if is_tensor:
                torch.testing.assert_close(value, other, **TOL[dtype])
            else:
                assert value == other, key
    if name == "SWATS" and "switch_tol" in kwargs:
        assert opt.param_groups[0]["phase"] == "sgd", "the SGD phase was not reached"


def test_the_reproducer_of_the_issue():
    target = torch.tensor([1 + 2j, -3 + 0.5j])
    pairs = [(optlib.RMSprop, torch.optim.RMSprop), (optlib.Adam, torch.optim.Adam)]
    for ours, theirs in pairs:
        ends = []
        for cls in (ours, theirs):
            z = torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))
            opt = cls([z], lr=0.01)
            for _ in range(300):
                opt.zero_grad()
                ((z - target).abs() ** 2).sum().backward()
                opt.step()
            ends.append(z.detach())
        torch.testing.assert_close(ends[0], ends[1], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------- 2. switches
@pytest.mark.parametrize("name", TWIN_NAMES)
def test_group_keys_and_defaults_equal_torch(name):
    p = torch.zeros(2, requires_grad=True)
    ours, theirs = _make(name, [p], {}, "optlib"), _make(name, [p], {}, "torch")
    assert list(ours.param_groups[0]) == list(theirs.param_groups[0])
    assert ours.defaults == theirs.defaults
    assert {k: v for k, v in ours.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in theirs.param_groups[0].items() if k != "params"}


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_the_constructor_takes_torch_keywords(name):
    """Every keyword of torch's constructor is one of ours (but AMSGrad's amsgrad)."""
    ours = _keywords(getattr(optlib, name))
    missing = _torch_params(name) - ours - ({"amsgrad"} if name == "AMSGrad" else set())
    assert not missing


def test_the_optimisers_without_twin_take_the_switches():
    """All four, as torch's Adam takes them; SGDW those of SGD, whose subclass it is."""
    for name in OTHER_NAMES:
        assert _switches(name) == (_switches("SGD") if name == "SGDW" else list(FLAGS))


def _off_values(name):
    """Each switch the constructor takes, at every value that leaves it off."""
    off = dict(foreach=[None, True, False], fused=[None, False], capturable=[False],
               differentiable=[False])
    return [(flag, value) for flag in _switches(name) for value in off[flag]]


@pytest.mark.parametrize("name", TWIN_NAMES + OTHER_NAMES)
def test_switches_that_are_off_are_accepted_and_kept(name):
    case = next(c for c in TWIN_CASES + OTHER_CASES if c[0] == name)
    baseline = None
    for flag, value in _off_values(name):
        params = make_params(torch.float64)
        opt = getattr(optlib, name)(split(params, case[2]), **case[1], **{flag: value})
        assert all(group[flag] is value for group in opt.param_groups)
        assert opt.defaults[flag] is value
        if name in TWIN_NAMES:     # torch takes the same call and keeps the same groups
            theirs = _make(name, [torch.zeros(2, requires_grad=True)],
                           {**case[1], flag: value}, "torch")
            assert theirs.param_groups[0][flag] is value
        sign = -1.0 if case[1].get("maximize") else 1.0
        traj = run(opt, params, make_loss(params, sign), 20)
        if baseline is None:
            baseline = traj
        assert_same_trajectory(traj, baseline, dict(rtol=0, atol=0))


@pytest.mark.parametrize("name", TWIN_NAMES + OTHER_NAMES)
def test_switches_that_are_on_raise_and_name_the_alternative(name):
    torch_name = "Adam" if name == "AMSGrad" else name
    for flag in set(_switches(name)) - {"foreach"}:
        with pytest.raises(NotImplementedError) as err:
            getattr(optlib, name)([torch.zeros(2, requires_grad=True)], **{flag: True})
        message = str(err.value)
        assert message.startswith(f"optlib.{name} does not implement {flag}=True")
        assert f"leave {flag}=False" in message
        if name in TWIN_NAMES:     # the alternative it names exists and takes the flag
            assert f"use torch.optim.{torch_name}(" in message
            assert f"{flag}=True)" in message
            _make(name, [torch.zeros(2, requires_grad=True)], {flag: True}, "torch")
        else:
            assert "torch.optim" not in message


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_keywords_torch_lacks_fail_as_in_torch(name):
    for flag in set(FLAGS) - _torch_params(name):
        for impl in ("optlib", "torch"):
            with pytest.raises(TypeError, match=flag):
                _make(name, [torch.zeros(2, requires_grad=True)], {flag: False}, impl)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adam", "AMSGrad", "AdamW"])
def test_combinations_torch_refuses_fail_with_its_error(name):
    pairs = (dict(fused=True, foreach=True), dict(fused=True, differentiable=True))
    for flags in pairs:
        errors = []
        for impl in ("optlib", "torch"):
            with pytest.raises(RuntimeError) as err:
                _make(name, [torch.zeros(2, requires_grad=True)], flags, impl)
            errors.append((type(err.value), str(err.value)))
        assert errors[0] == errors[1]


@pytest.mark.parametrize("name", TWIN_NAMES + OTHER_NAMES)
def test_switches_of_the_wrong_type_are_refused(name):
    with pytest.raises(TypeError, match=r"foreach must be a bool or None, got str"):
        getattr(optlib, name)([torch.zeros(2, requires_grad=True)], foreach="yes")


# ---------------------------------------------------------------------- 2. Tensor lr
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", TWIN_CASES, ids=_case_id)
def test_a_tensor_lr_works_as_in_torch(case, dtype):
    """A Tensor lr in the first group, a float in the second. torch computes some step
    sizes in the tensor's dtype: a float64 lr must agree to 1e-12, a float32 one to
    float32's rounding."""
    name, kwargs, group2 = case
    lr = torch.tensor(kwargs["lr"], dtype=dtype)
    (ours, params, t1), (theirs, _, t2) = both((name, {**kwargs, "lr": lr}, group2),
                                               dtype, steps=60)
    # the group keeps the tensor, unchanged by the steps
    assert isinstance(ours.param_groups[0]["lr"], torch.Tensor)
    assert ours.param_groups[0]["lr"].item() == lr.item()
    assert_same_trajectory(t1, t2, TOL[dtype])


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_a_scheduler_moves_a_tensor_lr_as_in_torch(name):
    case = next(c for c in TWIN_CASES if c[0] == name)
    trajectories = []
    for impl in ("optlib", "torch"):
        params = make_params(torch.float64)
        lr = torch.tensor(case[1]["lr"], dtype=torch.float64)
        opt = _make(name, split(params, case[2]), {**case[1], "lr": lr}, impl)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        loss = make_loss(params, -1.0 if case[1].get("maximize") else 1.0)
        traj = []
        for _ in range(30):
            traj += run(opt, params, loss, 1)
            sched.step()
        assert opt.param_groups[0]["lr"] is lr and lr.item() == case[1]["lr"] * 0.5 ** 6
        trajectories.append(traj)
    assert_same_trajectory(*trajectories, TOL[torch.float64])


def assert_same_value_error(name, kwargs):
    """optlib's ``name`` and its torch twin refuse ``kwargs`` with the same ValueError."""
    errors = []
    for impl in ("optlib", "torch"):
        with pytest.raises(ValueError) as err:
            _make(name, [torch.zeros(2, requires_grad=True)], kwargs, impl)
        errors.append(str(err.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_a_bad_tensor_lr_fails_as_in_torch(name):
    bad = [dict(lr=torch.tensor([0.1, 0.2])), dict(lr=torch.tensor(-1.0))]
    if name in ("Adam", "AMSGrad", "AdamW"):       # torch's refusal of this pair
        bad.append(dict(lr=torch.tensor(0.1), foreach=True))
    for kwargs in bad:
        assert_same_value_error(name, kwargs)


#: Tensor betas that torch's Adam refuses (found by torch's own TestOptimRenewed.
#: test_errors): one Tensor next to a float, either way round, and two Tensors with
#: foreach=True
BAD_TENSOR_BETAS = [
    dict(betas=(0.9, torch.tensor(0.99))),
    dict(betas=(torch.tensor(0.9), 0.99)),
    dict(betas=(torch.tensor(0.9), torch.tensor(0.99)), foreach=True),
]


@pytest.mark.parametrize("name", ["Adam", "AMSGrad", "AdamW"])
def test_tensor_betas_torch_refuses_fail_as_in_torch(name):
    for kwargs in BAD_TENSOR_BETAS:
        assert_same_value_error(name, kwargs)
    # a Tensor beta out of range: torch's error, torch's message
    assert_same_value_error(name, dict(betas=(torch.tensor(0.9), torch.tensor(1.5))))
    # one of two elements (torch stumbles on its range check): optlib says which
    with pytest.raises(ValueError, match=r"Tensor betas\[0\] must be 1-element"):
        _make(name, [torch.zeros(2, requires_grad=True)],
              dict(betas=(torch.tensor([0.9, 0.8]), torch.tensor(0.99))), "optlib")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", ["Adam", "AMSGrad", "AdamW"])
def test_tensor_betas_work_as_in_torch(name, dtype):
    """Two Tensor betas, as torch takes them, kept in the group and read as their values
    at every step: the trajectory of torch's class with the same Tensors."""
    case = next(c for c in TWIN_CASES if c[0] == name)
    betas = (torch.tensor(0.8, dtype=dtype), torch.tensor(0.99, dtype=dtype))
    (ours, _, t1), (theirs, _, t2) = both((name, {**case[1], "betas": betas}, case[2]),
                                          dtype, steps=60)
    assert all(b is c for b, c in zip(ours.param_groups[0]["betas"], betas))
    assert_same_trajectory(t1, t2, TOL[dtype])


@pytest.mark.parametrize("name", ["AdaBound", "AMSBound", "SWATS"])
def test_the_optimisers_without_twin_keep_refusing_a_tensor_lr(name):
    with pytest.raises(TypeError, match="lr must be a Python float"):
        getattr(optlib, name)([torch.zeros(2, requires_grad=True)],
                              lr=torch.tensor(0.1))


# -------------------------------------------------------------------- 3. checkpoints
#: the group keys each torch twin fills in when a checkpoint lacks them, with the value
#: it fills in (read from torch's ``__setstate__``); an older release's checkpoint lacks
#: some of them
LATE_KEYS = {
    "SGD": dict(nesterov=False, maximize=False, foreach=None, differentiable=False,
                fused=False),
    "Adagrad": dict(foreach=None, maximize=False, differentiable=False, fused=None),
    "RMSprop": dict(momentum=0, centered=False, foreach=None, maximize=False,
                    differentiable=False, capturable=False),
    "Adam": dict(amsgrad=False, maximize=False, foreach=None, capturable=False,
                 differentiable=False, decoupled_weight_decay=False, fused=None),
    "NAdam": dict(maximize=False, foreach=None, capturable=False, differentiable=False,
                  decoupled_weight_decay=False),
    "RAdam": dict(foreach=None, maximize=False, differentiable=False,
                  decoupled_weight_decay=False, capturable=False),
}
LATE_KEYS["AMSGrad"] = LATE_KEYS["AdamW"] = LATE_KEYS["Adam"]
RESUME_CASES = [c for c in TWIN_CASES if not c[1].get("maximize")]


def _old_checkpoint(state_dict, drop, numbers):
    """``state_dict`` as an older release saved it: without those of the group keys
    ``drop`` (a dict) that hold the value a load fills in (an older release behaved so,
    having no such option), and with the state entries ``numbers`` as Python floats."""
    old = copy.deepcopy(state_dict)
    for group in old["param_groups"]:
        for key, value in drop.items():
            if key in group and group[key] == value:
                del group[key]
    for state in old["state"].values():
        for key in numbers:
            if key in state:
                state[key] = float(state[key])
    return old


def _old_variants(name):
    yield LATE_KEYS[name], ()
    yield dict(maximize=False), ("step",)
    if name == "NAdam":
        yield {}, ("step",)
        yield {}, ("step", "mu_product")


@pytest.mark.parametrize("case", RESUME_CASES, ids=_case_id)
def test_an_older_checkpoint_loads_and_resumes_as_in_torch(case):
    name, kwargs, group2 = case
    params = make_params(torch.float64)
    first = _make(name, split(params, group2), kwargs, "torch")
    run(first, params, make_loss(params), 12)
    start = [p.detach().clone() for p in params]
    for drop, numbers in _old_variants(name):
        old = _old_checkpoint(first.state_dict(), drop, numbers)
        if "maximize" in drop:
            assert all("maximize" not in group for group in old["param_groups"])
        out = []
        for impl in ("optlib", "torch"):
            resumed = [p.clone().requires_grad_() for p in start]
            opt = _make(name, split(resumed, group2), kwargs, impl)
            opt.load_state_dict(copy.deepcopy(old))
            out.append((opt, run(opt, resumed, make_loss(resumed), 30)))
        (ours, t1), (theirs, t2) = out
        assert_same_trajectory(t1, t2, TOL[torch.float64])
        for g1, g2 in zip(ours.param_groups, theirs.param_groups):
            assert {k: v for k, v in g1.items() if k != "params"} == \
                {k: v for k, v in g2.items() if k != "params"}
        assert_same_state(ours, theirs, TOL[torch.float64])


@pytest.mark.parametrize("case", OTHER_CASES, ids=_case_id)
def test_a_checkpoint_without_the_switches_resumes_the_optimisers_without_twin(case):
    """A checkpoint of an earlier optlib (no ``foreach``... in its groups) resumes
    exactly."""
    name, kwargs, group2 = case
    sign = -1.0 if kwargs.get("maximize") else 1.0
    params = make_params(torch.float64)
    opt = getattr(optlib, name)(split(params, group2), **kwargs)
    loss = make_loss(params, sign)
    run(opt, params, loss, 12)
    old = _old_checkpoint(opt.state_dict(), {flag: opt.defaults[flag] for flag in FLAGS
                                             if flag in opt.defaults}, ())
    assert all("foreach" not in group for group in old["param_groups"])
    start = [p.detach().clone() for p in params]
    straight = run(opt, params, loss, 30)
    resumed = [p.clone().requires_grad_() for p in start]
    again = getattr(optlib, name)(split(resumed, group2), **kwargs)
    again.load_state_dict(old)
    for group in again.param_groups:
        assert group["foreach"] is None and not group["fused"]
    assert_same_trajectory(run(again, resumed, make_loss(resumed, sign), 30), straight,
                           dict(rtol=0, atol=0))


# --------------------------------------------------------------------- 4. duplicates
def _with_a_duplicate(params, group2):
    """The first parameter listed twice in the first group (torch warns, then updates it
    at each of its places)."""
    return [{"params": [params[0], params[1], params[0]]},
            {"params": params[2:], **group2}]


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128],
                         ids=["f64", "c128"])
@pytest.mark.parametrize("case", TWIN_CASES, ids=_case_id)
def test_a_parameter_listed_twice_moves_as_in_torch(case, dtype):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (ours, _, t1), (theirs, _, t2) = both(case, dtype, steps=40,
                                              make_groups=_with_a_duplicate)
    assert sum("duplicate parameters" in str(w.message) for w in caught) == 2
    assert_same_trajectory(t1, t2, TOL[dtype])
    assert_same_state(ours, theirs, TOL[dtype])


def test_the_duplicate_of_the_issue():
    ends = []
    for cls in (optlib.SGD, torch.optim.SGD):
        p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
        with pytest.warns(UserWarning, match="duplicate parameters"):
            opt = cls([p, p], lr=0.01, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            (p ** 2).sum().backward()
            opt.step()
        ends.append(p.item())
    assert ends[0] == ends[1]
