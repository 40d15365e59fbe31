"""The tables the generic optimiser tests run over.

``OPTIMIZER_CASES``: every optlib optimiser with every option combination its reference supports,
each paired with a factory for the independent reference it must equal.
``ERROR_CASES``: invalid arguments and the error each must raise.

To add an optimiser, add rows here; ``test_optimizers.py`` needs no change.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import torch

import optlib


@dataclass
class Case:
    """An optimiser configuration and the reference it must equal."""

    cls: type
    kwargs: dict
    #: builds the reference optimiser from (params, **kwargs); None when no reference exists
    reference: Callable | None
    #: hyper-parameters that differ in the second parameter group
    group2: dict = field(default_factory=dict)
    #: whether state_dicts can be exchanged with the reference (same keys and meaning)
    exchange_state: bool = True
    #: whether the optimiser keeps per-parameter state that the test can inspect
    has_state: bool = True
    #: builds the optlib optimiser from (params, **kwargs); defaults to ``cls`` (wrappers such as
    #: Lookahead need a factory that builds the inner optimiser first)
    factory: Callable | None = None
    #: steps the optimiser takes before it first moves a parameter (SOAP's first step only
    #: builds its preconditioner, as in its reference); tests that expect a move wait them
    idle_steps: int = 0

    def make(self, params, **overrides):
        return (self.factory or self.cls)(params, **{**self.kwargs, **overrides})

    @property
    def id(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.cls.__name__}({opts})"


def _grid(**axes):
    """Every combination of the given option values, as dicts."""
    keys = list(axes)
    for values in itertools.product(*axes.values()):
        yield dict(zip(keys, values))


def _torch(name, **fixed):
    cls = getattr(torch.optim, name)
    return lambda params, **kw: cls(params, **{**kw, **fixed})


OPTIMIZER_CASES: list[Case] = []

for kw in _grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
                weight_decay=[0.0, 0.05], maximize=[False, True]):
    if kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
        continue
    if kw["momentum"] == 0 and kw["dampening"] != 0:
        continue
    OPTIMIZER_CASES.append(Case(optlib.SGD, dict(lr=0.03, **kw), _torch("SGD"),
                                group2=dict(lr=0.01), has_state=kw["momentum"] != 0))

for kw in _grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.05],
                initial_accumulator_value=[0.0, 0.2], maximize=[False, True]):
    OPTIMIZER_CASES.append(Case(optlib.Adagrad, dict(lr=0.1, eps=1e-10, **kw), _torch("Adagrad"),
                                group2=dict(lr=0.05, eps=1e-6)))

for kw in _grid(centered=[False, True], momentum=[0.0, 0.8], weight_decay=[0.0, 0.05],
                maximize=[False, True]):
    OPTIMIZER_CASES.append(Case(optlib.RMSprop, dict(lr=0.01, alpha=0.9, **kw), _torch("RMSprop"),
                                group2=dict(lr=0.003, alpha=0.99)))

for kw in _grid(amsgrad=[False, True], weight_decay=[0.0, 0.05], maximize=[False, True],
                decoupled_weight_decay=[False, True]):
    if kw["decoupled_weight_decay"] and kw["weight_decay"] == 0:
        continue
    OPTIMIZER_CASES.append(Case(optlib.Adam, dict(lr=0.02, betas=(0.9, 0.99), **kw), _torch("Adam"),
                                group2=dict(lr=0.005, betas=(0.8, 0.999), eps=1e-6)))

for kw in _grid(weight_decay=[0.0, 0.05], maximize=[False, True]):
    OPTIMIZER_CASES.append(Case(optlib.AMSGrad, dict(lr=0.02, **kw), _torch("Adam", amsgrad=True),
                                group2=dict(lr=0.005, betas=(0.8, 0.99))))


# The newer optimisers keep their rows in modules of their own (one per family), appended here.
from cases_newer import NEWER_ERROR_CASES, NEWER_OPTIMIZER_CASES  # noqa: E402
from cases_prodigy_soap import PS_ERROR_CASES, PS_OPTIMIZER_CASES  # noqa: E402
from cases_recent import RECENT_ERROR_CASES, RECENT_OPTIMIZER_CASES  # noqa: E402
from cases_schedulefree import SF_ERROR_CASES, SF_OPTIMIZER_CASES  # noqa: E402

OPTIMIZER_CASES += (NEWER_OPTIMIZER_CASES + RECENT_OPTIMIZER_CASES + SF_OPTIMIZER_CASES
                    + PS_OPTIMIZER_CASES)


# --------------------------------------------------------------------------- error cases
@dataclass
class ErrorCase:
    cls: type
    kwargs: dict
    error: type
    #: a regular expression the message must match
    match: str
    #: the torch twin, when the same call must fail there with the same type and message
    twin: Callable | None = None

    @property
    def id(self) -> str:
        return f"{self.cls.__name__}({self.kwargs})"


def _errors(cls, twin, rows):
    return [ErrorCase(cls, kw, err, match, twin) for kw, err, match in rows]


_COMMON = [  # invalid in every optimiser with these arguments, with torch's wording
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(lr=float("inf")), ValueError, r"Invalid learning rate: inf"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(lr=torch.tensor(0.1)), TypeError, r"lr must be a Python float"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
]

ERROR_CASES: list[ErrorCase] = []
ERROR_CASES += _errors(optlib.SGD, torch.optim.SGD, _COMMON[:1] + _COMMON[-1:] + [
    (dict(momentum=-0.5), ValueError, r"Invalid momentum value: -0\.5"),
    (dict(nesterov=True), ValueError, r"Nesterov momentum requires a momentum and zero dampening"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError,
     r"Nesterov momentum requires a momentum and zero dampening"),
])
ERROR_CASES += _errors(optlib.SGD, None, _COMMON[1:4] + [
    (dict(momentum=float("nan")), ValueError, r"Invalid momentum value: nan"),
    (dict(dampening=float("nan")), ValueError, r"Invalid dampening value: nan"),
])
ERROR_CASES += _errors(optlib.Adagrad, torch.optim.Adagrad, [_COMMON[0], _COMMON[-1]] + [
    (dict(lr_decay=-1.0), ValueError, r"Invalid lr_decay value: -1\.0"),
    (dict(initial_accumulator_value=-1.0), ValueError,
     r"Invalid initial_accumulator_value value: -1\.0"),
    (dict(eps=-1e-10), ValueError, r"Invalid epsilon value: -1e-10"),
])
ERROR_CASES += _errors(optlib.RMSprop, torch.optim.RMSprop, [_COMMON[0], _COMMON[-1]] + [
    (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
    (dict(momentum=-1.0), ValueError, r"Invalid momentum value: -1\.0"),
    (dict(alpha=-0.5), ValueError, r"Invalid alpha value: -0\.5"),
])
ERROR_CASES += _errors(optlib.RMSprop, None, [
    (dict(alpha=1.5), ValueError, r"Invalid alpha: 1\.5 \(expected a value in \[0\.0, 1\.0\]\)"),
])
for cls in (optlib.Adam, optlib.AMSGrad):
    ERROR_CASES += _errors(cls, torch.optim.Adam, [_COMMON[0], _COMMON[-1]] + [
        (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
        (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
        (dict(betas=(-0.1, 0.999)), ValueError, r"Invalid beta parameter at index 0: -0\.1"),
        (dict(betas=(0.9, 1.0)), ValueError, r"Invalid beta parameter at index 1: 1\.0"),
    ])
    ERROR_CASES += _errors(cls, None, _COMMON[1:4] + [
        (dict(betas=(0.9, float("nan"))), ValueError, r"Invalid beta parameter at index 1: nan"),
        (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
        (dict(betas=(0.9, "x")), TypeError, r"betas\[1\] must be a real number"),
    ])

ERROR_CASES += NEWER_ERROR_CASES + RECENT_ERROR_CASES + SF_ERROR_CASES + PS_ERROR_CASES


def first_per_class(cases: list[Case]) -> list[Case]:
    """The first case of every optimiser class, for tests that need one instance per class."""
    seen: dict = {}
    for c in cases:
        seen.setdefault(c.cls, c)
    return list(seen.values())


CLASS_CASES = first_per_class(OPTIMIZER_CASES)
