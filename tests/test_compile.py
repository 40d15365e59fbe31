"""optlib's optimisers under ``torch.compile`` (issue 16, item 2).

``torch.compile(opt.step)`` must trace each optimiser into graphs that serve every
step: compiled once while the state does not exist yet, once more when it does, and
never again. Dynamo's recompile limit is set to two compilations per function and made
an error, and nothing may be compiled after the second step. The compiled steps must
also give the numbers of the reference each optimiser equals (torch's own class, the
``adabound`` package, or Algorithm 1 of the SWATS paper as tests/test_swats.py
transcribes it), over 100 steps with two parameter groups of different
hyper-parameters.

Most tests use dynamo's "eager" backend: the tracing, the guards and the recompiles
are those of any backend, and the graphs run on torch's own kernels, so a test takes
a second or two. Two optimisers also go through inductor, which generates code for
the graph (slow to compile on a small machine: marked slow).
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters, get_static_address_type

import optlib
from devices import DEVICES
from problems import smooth_problem
from test_swats import NumpySWATS


adabound = pytest.importorskip("adabound")

# tiny tensors (conftest.py); compiling costs tens of seconds on 2 cores, so these run in
# `make test-slow` (CI), not in `make test`
pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]

STEPS = 100
SHAPES = ((4, 3), (5,), (2, 3))         # tensors 0 and 1: group 0; tensor 2: group 1
TOL = dict(rtol=1e-6, atol=1e-6)        # float32


# ------------------------------------------------------------------------ references
class SGDWByHand:
    """SGDW from torch's SGD: theta <- theta (1 - lr wd) where there is a gradient, then
    ``torch.optim.SGD`` without weight decay."""

    def __init__(self, groups):
        self.decay = [group.pop("weight_decay", 0.0) for group in groups]
        self.sgd = torch.optim.SGD(groups)

    @torch.no_grad()
    def step(self):
        for group, decay in zip(self.sgd.param_groups, self.decay):
            for theta in group["params"]:
                if theta.grad is not None:
                    theta.mul_(1 - group["lr"] * decay)
        self.sgd.step()


def _torch(name, **fixed):
    return lambda groups: getattr(torch.optim, name)(groups, **fixed)


def _adabound(**fixed):
    return lambda groups: adabound.AdaBound(groups, **fixed)


#: (optlib class, its arguments, the second group's own, the reference's factory)
CASES = {
    "SGD": ("SGD", dict(lr=0.05), dict(lr=0.02, weight_decay=0.1), _torch("SGD")),
    "SGD momentum": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2),
                     dict(lr=0.02, momentum=0.5, weight_decay=0.1), _torch("SGD")),
    "SGD nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True),
                     dict(lr=0.02, weight_decay=0.1), _torch("SGD")),
    "Adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01),
                dict(lr=0.05, weight_decay=0.1), _torch("Adagrad")),
    "RMSprop": ("RMSprop", dict(lr=0.01, momentum=0.5),
                dict(lr=0.02, centered=True, weight_decay=0.1), _torch("RMSprop")),
    "Adam": ("Adam", dict(lr=0.02, betas=(0.8, 0.99)), dict(lr=0.01, weight_decay=0.1),
             _torch("Adam")),
    "AMSGrad": ("AMSGrad", dict(lr=0.02), dict(lr=0.01, weight_decay=0.1),
                _torch("Adam", amsgrad=True)),
    "AdamW": ("AdamW", dict(lr=0.02, weight_decay=0.1), dict(lr=0.01, amsgrad=True),
              _torch("AdamW")),
    "NAdam": ("NAdam", dict(lr=0.02),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              _torch("NAdam")),
    "RAdam": ("RAdam", dict(lr=0.02),
              dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), _torch("RAdam")),
    "AdaBound": ("AdaBound", dict(lr=0.02, final_lr=0.05, gamma=0.02),
                 dict(lr=0.01, weight_decay=0.1), _adabound()),
    "AMSBound": ("AMSBound", dict(lr=0.02, final_lr=0.05, gamma=0.02), dict(lr=0.01),
                 _adabound(amsbound=True)),
    "SGDW": ("SGDW", dict(lr=0.05, momentum=0.9, weight_decay=0.1),
             dict(lr=0.02, weight_decay=0.3), SGDWByHand),
}


# ------------------------------------------------------------------------ harness
@contextlib.contextmanager
def at_most_one_recompile(compiles=2):
    """Fresh dynamo caches; a function compiled more than ``compiles`` times (once, and
    once more when the state exists) fails the test. Yields a function that counts the
    frames compiled so far."""
    torch._dynamo.reset()
    counters.clear()
    try:
        with torch._dynamo.config.patch(recompile_limit=compiles,
                                        fail_on_recompile_limit_hit=True):
            yield lambda: counters["frames"]["ok"]
    finally:
        torch._dynamo.reset()


def two_groups(params, first, second):
    return [{"params": params[:2], **first}, {"params": params[2:], **second}]


def problem(dtype=torch.float32, device="cpu"):
    params, f = smooth_problem(seed=1, shapes=SHAPES, device=device)
    return [p.detach().to(dtype).requires_grad_() for p in params], f


def gradients(params, f):
    for p in params:
        p.grad = None
    f(params).backward()


def compiled_run(opt, params, f, steps=STEPS, backend="eager", settled=2, compiles=2):
    """``steps`` compiled steps with at most one recompile per function, and nothing
    compiled after step ``settled``; the parameters after each step."""
    step = torch.compile(opt.step, backend=backend)
    traj = []
    with at_most_one_recompile(compiles) as compiled:
        for t in range(steps):
            gradients(params, f)
            step()
            traj.append([p.detach().clone() for p in params])
            if t + 1 == settled:
                then = compiled()
        assert compiled() == then, f"compiled again after step {settled}"
    return traj


def eager_run(opt, params, f, steps=STEPS):
    traj = []
    for _ in range(steps):
        gradients(params, f)
        opt.step()
        traj.append([p.detach().clone() for p in params])
    return traj


def assert_close_trajectories(ours, theirs, **tol):
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            torch.testing.assert_close(x, y, **tol,
                                       msg=lambda m: f"step {t + 1}, tensor {i}: {m}")


# ------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_step_equals_the_reference_and_compiles_once(case, device):
    name, first, second, reference = CASES[case]
    params, f = problem(device=device)
    opt = getattr(optlib, name)(two_groups(params, first, second))
    ours = compiled_run(opt, params, f)
    assert ours[-1][0].device.type == device
    ref_params, _ = problem(device=device)
    theirs = eager_run(reference(two_groups(ref_params, first, second)), ref_params, f)
    assert_close_trajectories(ours, theirs, **TOL)


def test_compiled_state_is_fixed_and_checked_by_identity():
    """Dynamo treats optlib's state as it treats torch's (through ``_init_group``):
    each state tensor is a fixed address of the graph, checked by identity, instead of
    an input collected and checked for shape, strides and dtype at every call."""
    params, f = problem()
    opt = optlib.Adam(two_groups(params, dict(lr=0.02), dict(lr=0.01)))
    compiled_run(opt, params, f, steps=3)
    for p in params:
        kinds = {key: get_static_address_type(x) for key, x in opt.state[p].items()}
        assert kinds == dict.fromkeys(("step", "exp_avg", "exp_avg_sq"), "guarded")
    assert all(get_static_address_type(p.grad) is None for p in params)  # new each step


def test_nadam_compiles():
    """The issue's example, which crashed on the cache of constants."""
    p = torch.nn.Parameter(torch.ones(3))
    opt = optlib.NAdam([p], lr=0.01)
    q = torch.nn.Parameter(torch.ones(3))
    ref = torch.optim.NAdam([q], lr=0.01)
    step = torch.compile(opt.step, backend="eager")
    with at_most_one_recompile():
        for _ in range(4):
            p.grad, q.grad = torch.ones(3), torch.ones(3)
            step()
            ref.step()
    torch.testing.assert_close(p, q, **TOL)


@pytest.mark.parametrize("name, kwargs", [("Adam", dict(weight_decay=0.1)),
                                          ("SGD", dict(momentum=0.9)),
                                          ("RMSprop", dict(centered=True))])
def test_a_tensor_lr_under_a_scheduler_compiles_once(name, kwargs):
    """A Tensor lr is how torch's compiled optimisers follow a scheduler without
    recompiling: the scheduler changes the tensor's value, not the graph."""
    runs = []
    for cls in (getattr(optlib, name), getattr(torch.optim, name)):
        params, f = problem()
        opt = cls(two_groups(params, dict(lr=torch.tensor(0.02)),
                             dict(lr=torch.tensor(0.01))), **kwargs)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
        if cls.__module__.startswith("optlib"):
            step = torch.compile(opt.step, backend="eager")
            with at_most_one_recompile():
                runs.append(_scheduled(step, sched, params, f))
        else:
            runs.append(_scheduled(opt.step, sched, params, f))
    assert_close_trajectories(*runs, **TOL)


def _scheduled(step, sched, params, f, steps=40):
    traj = []
    for _ in range(steps):
        gradients(params, f)
        step()
        sched.step()
        traj.append([p.detach().clone() for p in params])
    return traj


class LookaheadByHand:
    """The Lookahead rule written out around an inner optimiser: phi_0 = theta_0; after
    every k-th inner step phi <- phi + alpha (theta - phi), theta <- phi."""

    def __init__(self, inner, k, alpha):
        self.inner, self.k, self.alpha, self.t = inner, k, alpha, 0
        self.params = [p for group in inner.param_groups for p in group["params"]]
        self.phi = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def step(self):
        self.inner.step()
        self.t += 1
        if self.t % self.k == 0:
            for theta, phi in zip(self.params, self.phi):
                phi.add_(theta - phi, alpha=self.alpha)
                theta.copy_(phi)


def test_lookahead_around_adam_compiled_equals_the_rule_written_out():
    first, second = dict(lr=0.02), dict(lr=0.01, weight_decay=0.1)
    params, f = problem()
    opt = optlib.Lookahead(optlib.Adam(two_groups(params, first, second)), k=5,
                           alpha=0.5)
    # Lookahead's step and Adam's share optlib's step wrapper: three compilations of
    # it (Lookahead's, Adam's without and with state); the first synchronisation (step
    # 5) compiles the code that does it
    ours = compiled_run(opt, params, f, settled=5, compiles=3)
    ref_params, _ = problem()
    inner = torch.optim.Adam(two_groups(ref_params, first, second))
    ref = LookaheadByHand(inner, 5, 0.5)
    assert_close_trajectories(ours, eager_run(ref, ref_params, f), **TOL)


# ------------------------------------------------------------------------ SWATS
def numpy_swats_run(groups, params, loss_at, steps):
    """Algorithm 1 (tests/test_swats.py) on float64 copies, one instance per group;
    ``loss_at(k)`` is the loss of step k."""
    algs = [NumpySWATS(**{k: v for k, v in g.items() if k != "params"}) for g in groups]
    xs = [p.detach().numpy().astype(np.float64) for p in params]
    sizes = [len(g["params"]) for g in groups]
    traj = []
    for k in range(steps):
        ts = [torch.tensor(x, requires_grad=True) for x in xs]
        loss_at(k)(ts).backward()
        gs = [t.grad.numpy() for t in ts]
        out, i = [], 0
        for alg, n in zip(algs, sizes):
            out += alg.step(xs[i:i + n], gs[i:i + n])
            i += n
        xs = out
        traj.append([torch.from_numpy(x.copy()) for x in xs])
    return algs, traj


def test_swats_compiled_equals_algorithm_1_and_compiles_once():
    """In the Adam phase (the default tolerance, 1e-9, does not let it switch)."""
    first, second = dict(lr=0.02), dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
    params, f = problem(torch.float64)
    opt = optlib.SWATS(two_groups(params, first, second))
    ours = compiled_run(opt, params, f)
    ref_params, _ = problem(torch.float64)
    algs, theirs = numpy_swats_run(two_groups(ref_params, first, second), ref_params,
                                   lambda k: f, STEPS)
    assert_close_trajectories(ours, theirs, rtol=1e-12, atol=1e-12)
    for group, alg in zip(opt.param_groups, algs):
        assert group["phase"] == alg.phase == "adam" and group["group_step"] == STEPS
        assert group["lambda_avg"] == pytest.approx(alg.lam, rel=1e-12)


def test_swats_compiled_switches_as_algorithm_1():
    """On noisy gradients both groups switch, at different steps. Each switch compiles
    the SGD phase once: four compilations of ``SWATS.step`` at most, nothing else."""
    first = dict(lr=0.01, switch_tol=3e-5)
    second = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01,
                  switch_tol=1e-5)
    params, f = problem(torch.float64)
    gen = torch.Generator().manual_seed(5)
    noise = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
             for _ in range(200)]

    def loss_at(k):
        return lambda xs: f(xs) + sum((n * x).sum() for n, x in zip(noise[k], xs))

    opt = optlib.SWATS(two_groups(params, first, second))
    step = torch.compile(opt.step, backend="eager")
    ours = []
    torch._dynamo.reset()
    try:
        with torch._dynamo.config.patch(recompile_limit=4,
                                        fail_on_recompile_limit_hit=True):
            for k in range(200):
                gradients(params, loss_at(k))
                step()
                ours.append([p.detach().clone() for p in params])
    finally:
        torch._dynamo.reset()
    ref_params, _ = problem(torch.float64)
    algs, theirs = numpy_swats_run(two_groups(ref_params, first, second), ref_params,
                                   loss_at, 200)
    assert_close_trajectories(ours, theirs, rtol=1e-11, atol=1e-12)
    switches = [group["switch_step"] for group in opt.param_groups]
    assert switches == [alg.switch_step for alg in algs] == [44, 19]
    for group, alg in zip(opt.param_groups, algs):
        assert group["sgd_lr"] == pytest.approx(alg.Lam, rel=1e-12)


def test_swats_float32_compiled_equals_eager():
    """float32 (the compiled dot products sum float64 products, as the eager ones)."""
    first, second = dict(lr=0.02), dict(lr=0.01, weight_decay=0.1)
    runs = []
    for compiled in (True, False):
        params, f = problem()
        opt = optlib.SWATS(two_groups(params, first, second))
        run = compiled_run if compiled else eager_run
        runs.append(run(opt, params, f))
    assert_close_trajectories(*runs, **TOL)


# ------------------------------------------------------------------------ inductor
@pytest.mark.slow
@pytest.mark.parametrize("case", ["Adam", "NAdam"])
def test_inductor_compiled_step_equals_the_reference(case):
    name, first, second, reference = CASES[case]
    params, f = problem()
    opt = getattr(optlib, name)(two_groups(params, first, second))
    ours = compiled_run(opt, params, f, steps=30, backend="inductor")
    ref_params, _ = problem()
    theirs = eager_run(reference(two_groups(ref_params, first, second)), ref_params, f,
                       steps=30)
    assert_close_trajectories(ours, theirs, **TOL)


# ------------------------------------------------------------------------ Part III
#: Part III's optimisers: (class, first group, second group, frames compiled over 30
#: steps at most). Lion compiles as the twins do: the wrapper, the step without state,
#: the step with it. The schedule-free pair compiles once more, when its running
#: weights change and dynamo makes them symbolic. The others keep Python numbers of
#: the step in the traced code (SOAP's group step, Prodigy's estimate d) or read
#: values per tensor (Adafactor's RMS): they recompile until dynamo's limit and then
#: run eagerly, with the same numbers.
PART3 = {
    "Lion": (dict(lr=1e-3), dict(lr=5e-4, weight_decay=0.1), 3),
    "SGDScheduleFree": (dict(lr=0.05), dict(lr=0.02), 4),
    "AdamWScheduleFree": (dict(lr=0.01), dict(lr=0.005, weight_decay=0.1), 4),
    "Adafactor": (dict(lr=1e-2), dict(lr=5e-3), None),
    "Prodigy": (dict(lr=1.0), dict(lr=1.0, weight_decay=0.1), None),
    "SOAP": (dict(lr=3e-3), dict(lr=1e-3), None),
}


@pytest.mark.parametrize("name", list(PART3))
def test_part3_compiled_equals_eager(name):
    first, second, most = PART3[name]
    runs, frames = [], None
    for compiled in (True, False):
        params, f = problem()
        opt = getattr(optlib, name)(two_groups(params, first, second))
        if hasattr(opt, "train"):                   # schedule-free: training mode
            opt.train()
        if not compiled:
            runs.append(eager_run(opt, params, f, steps=30))
            continue
        torch._dynamo.reset()
        counters.clear()
        try:
            step = torch.compile(opt.step, backend="eager")
            runs.append(eager_run(SimpleNamespace(step=step), params, f, steps=30))
            frames = counters["frames"]["ok"]
        finally:
            torch._dynamo.reset()
    assert_close_trajectories(*runs, **TOL)
    if most is not None:
        assert frames <= most, f"{frames} frames compiled"


def test_muon_compiled_equals_eager_and_compiles_once():
    """Muon takes matrices only: two of them, in two groups."""
    def run(compiled):
        gen = torch.Generator().manual_seed(0)
        W = [torch.randn(8, 6, generator=gen).requires_grad_(),
             torch.randn(5, 8, generator=gen).requires_grad_()]
        X = torch.randn(16, 6, generator=gen)
        opt = optlib.Muon([{"params": W[:1], "lr": 0.02},
                           {"params": W[1:], "lr": 0.01, "weight_decay": 0.1}])
        step = torch.compile(opt.step, backend="eager") if compiled else opt.step
        traj = []
        with at_most_one_recompile() as frames:
            for _ in range(30):
                for w in W:
                    w.grad = None
                ((X @ W[0].T).tanh() @ W[1].T).pow(2).mean().backward()
                step()
                traj.append([w.detach().clone() for w in W])
            compiled_frames = frames()
        return traj, compiled_frames

    (ours, frames), (theirs, _) = run(True), run(False)
    assert frames == 3      # the wrapper, the step without state, the step with it
    assert_close_trajectories(ours, theirs, **TOL)
