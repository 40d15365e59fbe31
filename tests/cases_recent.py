"""Table rows (tests/cases.py) of Adafactor and Lion. Muon is not here: it takes matrices
only, and the tables' problem has vectors and a 3-D tensor; tests/test_muon.py runs the
same checks (parity with torch.optim.Muon over two groups, resume, torch's errors) on
matrices."""

from __future__ import annotations

from types import SimpleNamespace as _Row

import lion_pytorch
import torch

import optlib
from cases import Case

RECENT_OPTIMIZER_CASES: list = []
RECENT_ERROR_CASES: list = []


def _ref(cls, **fixed):
    return lambda params, **kw: cls(params, **{**kw, **fixed})


def _error_rows(cls, twin, rows):
    return [_Row(cls=cls, kwargs=kw, error=err, match=match, twin=twin,
                 id=f"{cls.__name__}({kw})") for kw, err, match in rows]


# --------------------------------------------------------------------------- Adafactor
_AF_GROUP2 = dict(lr=0.02, beta2_decay=-0.5, eps=(1e-4, 1e-2), d=2.0)
for _kw in (dict(), dict(weight_decay=0.05), dict(maximize=True),
            dict(eps=(1e-8, 1e-3), d=1.5, weight_decay=0.01)):
    RECENT_OPTIMIZER_CASES.append(Case(
        optlib.Adafactor, dict(lr=0.05, **_kw), _ref(torch.optim.Adafactor),
        group2=_AF_GROUP2))

RECENT_ERROR_CASES += _error_rows(optlib.Adafactor, torch.optim.Adafactor, [
    (dict(lr=-1.0), ValueError, r"Learning rate should be >= 0 but is: -1\.0"),
    (dict(beta2_decay=0.5), ValueError, r"beta2_decay should be <= 0 but is: 0\.5"),
    (dict(eps=(-1.0, 1e-3)), ValueError, r"epsilon1 should be >= 0 but is: -1\.0"),
    (dict(eps=(None, -1.0)), ValueError, r"epsilon2 should be >= 0 but is: -1\.0"),
    (dict(d=0.5), ValueError, r"Clipping threshold d should be >= 1 but is: 0\.5"),
    (dict(weight_decay=-0.1), ValueError, r"weight_decay should be >= 0 but is: -0\.1"),
])

# --------------------------------------------------------------------------- Lion
for _kw in (dict(), dict(weight_decay=0.05), dict(betas=(0.95, 0.98), weight_decay=0.1),
            dict(weight_decay=0.05, decoupled_weight_decay=True)):
    RECENT_OPTIMIZER_CASES.append(Case(
        optlib.Lion, dict(lr=0.01, **_kw), _ref(lion_pytorch.Lion),
        group2=dict(lr=0.003, betas=(0.8, 0.9))))

# lion-pytorch checks with assert: these are optlib's own errors (no twin).
RECENT_ERROR_CASES += _error_rows(optlib.Lion, None, [
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (dict(betas=(1.5, 0.99)), ValueError, r"Invalid beta parameter at index 0: 1\.5"),
    (dict(betas=(0.9, -0.1)), ValueError, r"Invalid beta parameter at index 1: -0\.1"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
    (dict(use_triton=True), NotImplementedError, r"has no Triton kernel"),
])
