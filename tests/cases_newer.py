"""Table rows of the newer optimisers (AdaBound, AMSBound, SWATS, RAdam, NAdam, AdamW, SGDW,
Lookahead). Kept apart from ``cases.py`` so that each family's rows stay together."""

from __future__ import annotations

NEWER_OPTIMIZER_CASES: list = []
NEWER_ERROR_CASES: list = []


# =========================================================================== AdaBound, AMSBound, SWATS
# (rows owned by the AdaBound/SWATS helper; keep other families' rows outside this block)
from types import SimpleNamespace as _Row  # noqa: E402

import adabound as _adabound  # noqa: E402
import torch  # noqa: E402

import optlib as _optlib  # noqa: E402
from cases import Case as _Case  # noqa: E402  (defined before cases.py imports this module)


def _adabound_ref(**fixed):
    """The authors' AdaBound (PyPI ``adabound`` 0.0.5), with ``fixed`` arguments added."""
    return lambda params, **kw: _adabound.AdaBound(params, **{**kw, **fixed})


def _error_rows(cls, twin, rows):
    # cases.ErrorCase is defined after cases.py imports this module, so the rows are plain records
    # with the same attributes (cls, kwargs, error, match, twin, id).
    return [_Row(cls=cls, kwargs=kw, error=err, match=match, twin=twin, id=f"{cls.__name__}({kw})")
            for kw, err, match in rows]


# The bounds must bite within the 120 steps of the parity test: a large gamma makes them close fast.
for _kw in ({}, dict(weight_decay=0.05), dict(amsbound=True), dict(amsbound=True, weight_decay=0.05)):
    NEWER_OPTIMIZER_CASES.append(_Case(
        _optlib.AdaBound, dict(lr=0.02, betas=(0.9, 0.99), final_lr=0.05, gamma=0.02, **_kw),
        _adabound_ref(), group2=dict(lr=0.005, final_lr=0.02, gamma=0.1, betas=(0.8, 0.999), eps=1e-6),
        exchange_state=False))  # the reference's int step has no dtype: tests/test_adabound.py
NEWER_OPTIMIZER_CASES.append(_Case(_optlib.AdaBound, dict(lr=1e-3), _adabound_ref(),
                                   group2=dict(lr=3e-3), exchange_state=False))  # the defaults
for _kw in ({}, dict(weight_decay=0.05)):
    NEWER_OPTIMIZER_CASES.append(_Case(
        _optlib.AMSBound, dict(lr=0.02, final_lr=0.05, gamma=0.02, **_kw), _adabound_ref(amsbound=True),
        group2=dict(lr=0.005, final_lr=0.02, betas=(0.8, 0.99)), exchange_state=False))

for _cls in (_optlib.AdaBound, _optlib.AMSBound):
    NEWER_ERROR_CASES += _error_rows(_cls, _adabound_ref(), [  # the reference's type and message
        (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
        (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
        (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
        (dict(betas=(-0.1, 0.999)), ValueError, r"Invalid beta parameter at index 0: -0\.1"),
        (dict(betas=(0.9, 1.0)), ValueError, r"Invalid beta parameter at index 1: 1\.0"),
        (dict(final_lr=-0.1), ValueError, r"Invalid final learning rate: -0\.1"),
        (dict(gamma=1.0), ValueError, r"Invalid gamma parameter: 1\.0"),
        (dict(gamma=-1e-3), ValueError, r"Invalid gamma parameter: -0\.001"),
    ])
    NEWER_ERROR_CASES += _error_rows(_cls, None, [  # what the reference lets through
        (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
        (dict(lr=float("inf")), ValueError, r"Invalid learning rate: inf"),
        (dict(lr=0.0), ValueError, r"Invalid learning rate: 0\.0 \(AdaBound needs an initial lr > 0"),
        (dict(lr="0.1"), TypeError, r"lr must be a real number"),
        (dict(lr=torch.tensor(0.1)), TypeError, r"lr must be a Python float"),
        (dict(eps=float("nan")), ValueError, r"Invalid epsilon value: nan"),
        (dict(betas=(0.9, float("nan"))), ValueError, r"Invalid beta parameter at index 1: nan"),
        (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
        (dict(final_lr=float("nan")), ValueError, r"Invalid final learning rate: nan"),
        (dict(final_lr=float("inf")), ValueError, r"Invalid final learning rate: inf"),
        (dict(final_lr=None), TypeError, r"final_lr must be a real number"),
        (dict(gamma=float("nan")), ValueError, r"Invalid gamma parameter: nan"),
        (dict(gamma="0.1"), TypeError, r"gamma must be a real number"),
        (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
        (dict(weight_decay=float("nan")), ValueError, r"Invalid weight_decay value: nan"),
    ])
NEWER_ERROR_CASES += _error_rows(_optlib.AdaBound, None, [
    (dict(amsbound="yes"), TypeError, r"amsbound must be a bool"),
])

# SWATS has no reference implementation to equal (public ones differ from the paper): its parity
# with a NumPy transcription of Algorithm 1 is in tests/test_swats.py. On this table's problem the
# loose switch_tol rows switch within the first steps, so resume and closure run in both phases.
NEWER_OPTIMIZER_CASES += [
    _Case(_optlib.SWATS, dict(lr=0.01), None, group2=dict(lr=0.005, betas=(0.8, 0.99))),
    _Case(_optlib.SWATS, dict(lr=0.02, switch_tol=1e-4, weight_decay=0.05), None,
          group2=dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, switch_tol=1e-3)),
    _Case(_optlib.SWATS, dict(lr=0.02, switch_tol=1e-3, maximize=True), None, group2=dict(lr=0.01)),
]
NEWER_ERROR_CASES += _error_rows(_optlib.SWATS, torch.optim.Adam, [  # torch's Adam messages
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
    (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
    (dict(betas=(0.9, -0.5)), ValueError, r"Invalid beta parameter at index 1: -0\.5"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
])
NEWER_ERROR_CASES += _error_rows(_optlib.SWATS, None, [
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(eps=float("inf")), ValueError, r"Invalid epsilon value: inf"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(switch_tol=-1e-4), ValueError,
     r"Invalid switch_tol value: -0\.0001 \(expected a value in \[0, inf\) or None\)"),
    (dict(switch_tol=float("nan")), ValueError, r"Invalid switch_tol value: nan"),
    (dict(switch_tol="1e-4"), TypeError, r"switch_tol must be a real number"),
])


# =========================================================================== RAdam, NAdam, AdamW, SGDW, Lookahead
# (rows owned by the RAdam/NAdam/AdamW/SGDW/Lookahead helper; keep other families' rows outside)
import itertools as _it  # noqa: E402
from types import SimpleNamespace as _ErrRow  # noqa: E402

import torch as _torch  # noqa: E402

import optlib as _ol  # noqa: E402
from cases import Case as _C  # noqa: E402  (defined before cases.py imports this module)


def _axes(**axes):
    """Every combination of the given option values, as dicts."""
    return [dict(zip(axes, values)) for values in _it.product(*axes.values())]


def _twin(name, **fixed):
    cls = getattr(_torch.optim, name)
    return lambda params, **kw: cls(params, **{**kw, **fixed})


class SGDWByHand(_torch.optim.Optimizer):
    """SGDW written out from its definition (no optlib, no torch SGD): the reference for SGDW."""

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    @_torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with _torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, beta, tau, lam = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = -theta.grad if group["maximize"] else theta.grad
                theta.mul_(1 - lr * lam)                      # decoupled decay first
                d = g
                if beta != 0:
                    state = self.state[theta]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(beta).add_(g, alpha=1 - tau)
                    m = state["momentum_buffer"]
                    d = g.add(m, alpha=beta) if group["nesterov"] else m
                theta.add_(d, alpha=-lr)  # (in-place forms as torch's: float32 rounding agrees)
        return loss


class LookaheadByHand(_torch.optim.Optimizer):
    """Lookahead written out from the paper around a torch optimiser: the reference for Lookahead.
    (An Optimizer subclass only so that torch's schedulers accept it.)"""

    def __init__(self, inner, k, alpha):
        self.inner, self.k, self.alpha, self.t = inner, k, alpha, 0
        self.slow = [(p, p.detach().clone()) for g in inner.param_groups for p in g["params"]]
        super().__init__(inner.param_groups, {})
        self.param_groups = inner.param_groups

    def step(self, closure=None):
        loss = self.inner.step(closure)
        self.t += 1
        if self.t % self.k == 0:
            with _torch.no_grad():
                for theta, phi in self.slow:
                    phi += self.alpha * (theta - phi)
                    theta.copy_(phi)
        return loss

    def zero_grad(self, set_to_none=True):
        self.inner.zero_grad(set_to_none=set_to_none)


def _lookahead(lib, wrapper):
    """(params, inner=<name>, k, alpha, **inner kwargs) -> wrapper(lib.<name>(params, ...), k, alpha)."""
    def make(params, inner, k, alpha, **inner_kw):
        return wrapper(getattr(lib, inner)(params, **inner_kw), k=k, alpha=alpha)
    return make


# RAdam and NAdam: group 1 has beta2 = 0.999 (RAdam rectifies from step 6), group 2 beta2 = 0.99.
for _kw in _axes(weight_decay=[0.0, 0.05], decoupled_weight_decay=[False, True], maximize=[False, True]):
    if _kw["decoupled_weight_decay"] and _kw["weight_decay"] == 0:
        continue
    NEWER_OPTIMIZER_CASES.append(_C(_ol.RAdam, dict(lr=0.02, **_kw), _twin("RAdam"),
                                    group2=dict(lr=0.005, betas=(0.8, 0.99), eps=1e-6)))
    NEWER_OPTIMIZER_CASES.append(_C(_ol.NAdam, dict(lr=0.02, **_kw), _twin("NAdam"),
                                    group2=dict(lr=0.005, betas=(0.8, 0.99), momentum_decay=0.02)))
# rho_inf = 3 <= 5 with beta2 = 0.5: group 1 never rectifies
NEWER_OPTIMIZER_CASES.append(_C(_ol.RAdam, dict(lr=0.02, betas=(0.9, 0.5)), _twin("RAdam"),
                                group2=dict(betas=(0.9, 0.99))))
# psi = 0: mu_t frozen at beta1 / 2
NEWER_OPTIMIZER_CASES.append(_C(_ol.NAdam, dict(lr=0.02, momentum_decay=0.0), _twin("NAdam"),
                                group2=dict(lr=0.005, momentum_decay=0.1)))

for _kw in _axes(amsgrad=[False, True], weight_decay=[0.0, 0.05], maximize=[False, True]):
    NEWER_OPTIMIZER_CASES.append(_C(_ol.AdamW, dict(lr=0.02, betas=(0.9, 0.99), **_kw), _twin("AdamW"),
                                    group2=dict(lr=0.005, betas=(0.8, 0.999), eps=1e-6, weight_decay=0.1)))
NEWER_OPTIMIZER_CASES.append(_C(_ol.AdamW, dict(lr=0.02), _twin("AdamW"),  # default weight_decay
                                group2=dict(lr=0.005)))

# SGDW: with weight_decay = 0 the reference is torch's SGD itself (more such rows in
# tests/test_sgdw.py), otherwise the transcription above
for _m, _d, _n, _wd, _mx in [(0.0, 0.0, False, 0.05, False), (0.9, 0.0, False, 0.05, False),
                             (0.9, 0.0, True, 0.05, False), (0.9, 0.3, False, 0.05, False),
                             (0.9, 0.0, True, 0.05, True), (0.9, 0.0, False, 0.0, False)]:
    NEWER_OPTIMIZER_CASES.append(_C(
        _ol.SGDW, dict(lr=0.03, momentum=_m, dampening=_d, nesterov=_n, weight_decay=_wd, maximize=_mx),
        SGDWByHand if _wd else _twin("SGD"),
        group2=dict(lr=0.01, weight_decay=0.1) if _wd else dict(lr=0.01), has_state=_m != 0))

# Lookahead around optlib optimisers vs the transcription around their torch twins
for _kw in (dict(inner="SGD", lr=0.05, momentum=0.9, k=5, alpha=0.5),
            dict(inner="Adam", lr=0.02, k=3, alpha=0.8),
            dict(inner="RAdam", lr=0.02, k=6, alpha=0.3)):
    NEWER_OPTIMIZER_CASES.append(_C(
        _ol.Lookahead, _kw, _lookahead(_torch.optim, LookaheadByHand), group2=dict(lr=0.01),
        exchange_state=False,  # the transcription keeps no state_dict of its own
        factory=_lookahead(_ol, _ol.Lookahead)))


def _err(cls, twin, rows, name=None):
    # plain records with ErrorCase's attributes (ErrorCase is defined after this module is imported)
    name = name or cls.__name__
    return [_ErrRow(cls=cls, kwargs=kw, error=e, match=m, twin=twin, id=f"{name}({kw})")
            for kw, e, m in rows]


_ADAM_LIKE = [  # torch's type and message
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
    (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
    (dict(betas=(-0.1, 0.999)), ValueError, r"Invalid beta parameter at index 0: -0\.1"),
    (dict(betas=(0.9, 1.0)), ValueError, r"Invalid beta parameter at index 1: 1\.0"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
]
_OPTLIB_ONLY = [  # torch lets these through (or fails later, differently)
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(lr=float("inf")), ValueError, r"Invalid learning rate: inf"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(betas=(0.9, float("nan"))), ValueError, r"Invalid beta parameter at index 1: nan"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(eps=float("nan")), ValueError, r"Invalid epsilon value: nan"),
]
for _cls in (_ol.RAdam, _ol.NAdam, _ol.AdamW):
    NEWER_ERROR_CASES += _err(_cls, getattr(_torch.optim, _cls.__name__), _ADAM_LIKE)
    NEWER_ERROR_CASES += _err(_cls, None, _OPTLIB_ONLY)
NEWER_ERROR_CASES += _err(_ol.NAdam, _torch.optim.NAdam, [
    (dict(momentum_decay=-1.0), ValueError, r"Invalid momentum_decay value: -1\.0")])
NEWER_ERROR_CASES += _err(_ol.NAdam, None, [
    (dict(momentum_decay=float("nan")), ValueError, r"Invalid momentum_decay value: nan")])
NEWER_ERROR_CASES += _err(_ol.SGDW, _torch.optim.SGD, [  # the arguments SGDW shares with torch's SGD
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
    (dict(momentum=-0.5), ValueError, r"Invalid momentum value: -0\.5"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError,
     r"Nesterov momentum requires a momentum and zero dampening"),
])
NEWER_ERROR_CASES += _err(_ol.SGDW, None, [
    (dict(weight_decay=float("nan")), ValueError, r"Invalid weight_decay value: nan"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
])


def _lookahead_around_sgd(params, **kw):
    return _ol.Lookahead(_ol.SGD(params, lr=0.1), **kw)


NEWER_ERROR_CASES += _err(_lookahead_around_sgd, None, [
    (dict(k=0), ValueError, r"Invalid k: 0 \(expected an integer >= 1\)"),
    (dict(k=-3), ValueError, r"Invalid k: -3 \(expected an integer >= 1\)"),
    (dict(k=2.5), TypeError, r"Invalid k: 2\.5 \(expected an integer >= 1\)"),
    (dict(k=True), TypeError, r"Invalid k: True \(expected an integer >= 1\)"),
    (dict(k="5"), TypeError, r"Invalid k: '5' \(expected an integer >= 1\)"),
    (dict(alpha=1.5), ValueError, r"Invalid alpha: 1\.5 \(expected a value in \[0, 1\]\)"),
    (dict(alpha=-0.1), ValueError, r"Invalid alpha: -0\.1 \(expected a value in \[0, 1\]\)"),
    (dict(alpha=float("nan")), ValueError, r"Invalid alpha: nan \(expected a value in \[0, 1\]\)"),
    (dict(alpha="0.5"), TypeError, r"alpha must be a real number"),
], name="Lookahead(SGD)")
NEWER_ERROR_CASES += _err(_ol.Lookahead, None, [  # the first argument is the inner optimiser
    (dict(), TypeError, r"optimizer must be a torch\.optim\.Optimizer, got list"),
])
