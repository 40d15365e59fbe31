"""Table rows (tests/cases.py) of the schedule-free optimisers, SGDScheduleFree and
AdamWScheduleFree, against the plain classes of the ``schedulefree`` package 1.4.1.

Both the package and optlib refuse ``step()`` until ``train()`` has been called, so
every row builds its optimisers through a factory that calls ``train()`` on them
(``Case.factory`` for optlib's, ``Case.reference`` for the package's). The parity,
closure and scheduler checks of the generic tests then run as for any optimiser;
eval mode, warm-up and the package's state_dicts are tested in test_schedulefree.py.
"""

from __future__ import annotations

from types import SimpleNamespace as _Row

import torch

from cases import Case as _Case  # (defined before cases.py imports this module)
from optlib.schedulefree import AdamWScheduleFree, SGDScheduleFree

try:
    import schedulefree as _sf
except ImportError:  # pragma: no cover  (the rows then check optlib alone)
    _sf = None

SF_OPTIMIZER_CASES: list = []
SF_ERROR_CASES: list = []


def _in_train_mode(cls):
    """A factory (params, **kwargs) -> ``cls(params, **kwargs)``, switched to train
    mode."""
    if cls is None:
        return None

    def make(params, **kwargs):
        opt = cls(params, **kwargs)
        opt.train()
        return opt

    make.__name__ = f"{cls.__name__}_in_train_mode"
    return make


def _rows(ours, theirs, rows):
    return [_Case(ours, kw, _in_train_mode(theirs), group2=g2,
                  factory=_in_train_mode(ours)) for kw, g2 in rows]


# The first row of each class is the one the per-class generic tests use (sparse
# gradients, closures, step hooks): no weight decay in it, so that the package takes the
# sparse gradients of that test too. Every other row changes warm-up, decay, the weight
# exponents or betas between the two groups.
SF_OPTIMIZER_CASES += _rows(SGDScheduleFree, _sf and _sf.SGDScheduleFree, [
    (dict(lr=0.05, momentum=0.9), dict(lr=0.02, momentum=0.7, weight_decay=0.05)),
    (dict(lr=0.05, weight_decay=0.05, warmup_steps=10),
     dict(lr=0.1, momentum=0.5, warmup_steps=30, weight_lr_power=0.0)),
    (dict(lr=0.03, r=1.0, weight_lr_power=1.0), dict(r=0.5, weight_decay=0.1)),
    (dict(lr=0.05, momentum=0.95, foreach=False), dict(lr=0.01, warmup_steps=40)),
])
SF_OPTIMIZER_CASES += _rows(AdamWScheduleFree, _sf and _sf.AdamWScheduleFree, [
    (dict(lr=0.02), dict(lr=0.005, betas=(0.8, 0.99), eps=1e-6)),
    (dict(lr=0.02, weight_decay=0.05, warmup_steps=20),
     dict(lr=0.05, betas=(0.95, 0.999), warmup_steps=5, weight_decay=0.0,
          weight_lr_power=0.0)),
    (dict(lr=0.02, betas=(0.9, 0.99), r=1.0),
     dict(weight_decay=0.1, weight_lr_power=1.0)),
    (dict(lr=0.01, foreach=False), dict(lr=0.03, betas=(0.5, 0.9), warmup_steps=50)),
])


def _errors(cls, twin, rows):
    # plain records with ErrorCase's attributes (ErrorCase is defined after cases.py
    # imports this module)
    return [_Row(cls=cls, kwargs=kw, error=err, match=match, twin=twin,
                 id=f"{cls.__name__}({kw})") for kw, err, match in rows]


_SCHEDULE_ARGS = [  # the package takes these unchecked
    (dict(warmup_steps=-1), ValueError,
     r"Invalid warmup_steps value: -1 \(expected an integer >= 0\)"),
    (dict(warmup_steps=2.5), TypeError, r"warmup_steps must be an int, got float"),
    (dict(warmup_steps=True), TypeError, r"warmup_steps must be an int, got bool"),
    (dict(r=-1.0), ValueError, r"Invalid r value: -1\.0"),
    (dict(r=float("nan")), ValueError, r"Invalid r value: nan"),
    (dict(weight_lr_power=-2.0), ValueError, r"Invalid weight_lr_power value: -2\.0"),
    (dict(weight_lr_power=float("inf")), ValueError,
     r"Invalid weight_lr_power value: inf"),
    (dict(weight_lr_power="2"), TypeError, r"weight_lr_power must be a real number"),
    (dict(foreach="yes"), TypeError, r"foreach must be a bool or None, got str"),
]

_MOMENTUM = r"Momentum must be between 0 and 1 exclusive: "

# SGDScheduleFree: the package's own checks (same type and message) ...
SF_ERROR_CASES += _errors(SGDScheduleFree, _sf and _sf.SGDScheduleFree, [
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
    (dict(momentum=0.0), ValueError, _MOMENTUM + r"0\.0"),
    (dict(momentum=1.0), ValueError, _MOMENTUM + r"1\.0"),
    (dict(momentum=-0.5), ValueError, _MOMENTUM + r"-0\.5"),
])
# ... and what it lets through (or fails on later, with another message)
SF_ERROR_CASES += _errors(SGDScheduleFree, None, [
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(lr=float("inf")), ValueError, r"Invalid learning rate: inf"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(lr=torch.tensor([0.1, 0.2])), ValueError, r"Tensor lr must be 1-element"),
    (dict(weight_decay=float("nan")), ValueError, r"Invalid weight_decay value: nan"),
    (dict(momentum=float("nan")), ValueError, _MOMENTUM + "nan"),
    (dict(momentum="0.9"), TypeError, r"momentum must be a real number"),
] + _SCHEDULE_ARGS)

# AdamWScheduleFree: the package checks nothing; torch's AdamW checks the arguments the
# two share, with the messages used here
SF_ERROR_CASES += _errors(AdamWScheduleFree, torch.optim.AdamW, [
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
    (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
    (dict(betas=(-0.1, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: -0\.1"),
    (dict(betas=(0.9, 1.0)), ValueError, r"Invalid beta parameter at index 1: 1\.0"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
])
SF_ERROR_CASES += _errors(AdamWScheduleFree, None, [
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(lr=torch.tensor([0.1, 0.2])), ValueError, r"Tensor lr must be 1-element"),
    (dict(eps=float("nan")), ValueError, r"Invalid epsilon value: nan"),
    (dict(betas=(0.9, float("nan"))), ValueError,
     r"Invalid beta parameter at index 1: nan"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(betas=(0.0, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: 0\.0 \(schedule-free needs beta1 > 0"),
] + _SCHEDULE_ARGS)
