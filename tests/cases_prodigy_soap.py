"""Table rows (tests/cases.py) of Prodigy and SOAP.

References: ``prodigyopt.Prodigy`` 1.1.2 and ``pytorch_optimizer.SOAP`` 4.1.0. Neither
row exchanges state dicts through the generic test (``exchange_state=False``): both
references keep Python numbers in the per-parameter state (Prodigy's int ``step``,
SOAP's lists ``GG`` and ``Q`` and its ints and floats), which have no dtype to compare.
The exchange both ways is in tests/test_prodigy.py and tests/test_soap.py.

Prodigy shares one ``lr`` across groups (a group may only differ by having 0), and reads
``betas``, ``beta3``, ``d_coef``, ``growth_rate``, ``use_bias_correction`` and
``decouple`` from the first group: the second groups differ in what is per group
(``eps``, ``weight_decay``, ``d0``, ``safeguard_warmup``, ``slice_p``). A group with a
zero lr (which the generic checks would expect to move) is in tests/test_prodigy.py.
"""

from __future__ import annotations

from types import SimpleNamespace as _Row

import prodigyopt
import pytorch_optimizer
import torch

from cases import Case
from optlib.prodigy import Prodigy
from optlib.soap import SOAP

PS_OPTIMIZER_CASES: list = []
PS_ERROR_CASES: list = []


def _ref(cls, **fixed):
    return lambda params, **kw: cls(params, **{**kw, **fixed})


def _error_rows(cls, twin, rows):
    return [_Row(cls=cls, kwargs=kw, error=err, match=match, twin=twin,
                 id=f"{cls.__name__}({kw})") for kw, err, match in rows]


NAN, INF = float("nan"), float("inf")

# --------------------------------------------------------------------------- Prodigy
for _kw, _g2 in [
    (dict(lr=1.0), dict(eps=1e-6, weight_decay=0.1)),
    (dict(lr=1.0, weight_decay=0.05, decouple=False, use_bias_correction=True),
     dict(d0=1e-4, safeguard_warmup=True, slice_p=2)),
    (dict(lr=0.5, betas=(0.0, 0.99), d0=1e-4, d_coef=2.0, growth_rate=1.05),
     dict(weight_decay=0.02, eps=1e-6, slice_p=3)),
    (dict(lr=1.0, betas=(0.8, 0.99), beta3=0.9, weight_decay=0.01,
          safeguard_warmup=True),
     dict(d0=1e-5, eps=1e-7)),
]:
    PS_OPTIMIZER_CASES.append(Case(Prodigy, _kw, _ref(prodigyopt.Prodigy),
                                   group2=_g2, exchange_state=False, idle_steps=1))

PS_ERROR_CASES += _error_rows(Prodigy, prodigyopt.Prodigy, [  # its type and text
    (dict(d0=0.0), ValueError, r"Invalid d0 value: 0\.0"),
    (dict(d0=-1e-6), ValueError, r"Invalid d0 value: -1e-06"),
    (dict(d0=NAN), ValueError, r"Invalid d0 value: nan"),
    (dict(lr=-1.0), ValueError, r"Invalid learning rate: -1\.0"),
    (dict(lr=0.0), ValueError, r"Invalid learning rate: 0\.0"),
    (dict(lr=NAN), ValueError, r"Invalid learning rate: nan"),
    (dict(eps=0.0), ValueError, r"Invalid epsilon value: 0\.0"),
    (dict(eps=-1.0), ValueError, r"Invalid epsilon value: -1\.0"),
    (dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1\.0"),
    (dict(betas=(-0.1, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: -0\.1"),
    (dict(betas=(0.9, 1.0)), ValueError, r"Invalid beta parameter at index 1: 1\.0"),
])
PS_ERROR_CASES += _error_rows(Prodigy, None, [  # what prodigyopt lets through
    (dict(lr=INF), ValueError, r"Invalid learning rate: inf"),
    (dict(lr="1.0"), TypeError, r"lr must be a real number"),
    (dict(lr=torch.tensor(1.0)), TypeError, r"lr must be a Python float"),
    (dict(d0=INF), ValueError, r"Invalid d0 value: inf"),
    (dict(eps=INF), ValueError, r"Invalid epsilon value: inf"),
    (dict(betas=(0.9, NAN)), ValueError, r"Invalid beta parameter at index 1: nan"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(beta3=1.5), ValueError, r"Invalid beta3 value: 1\.5"),
    (dict(beta3=-0.1), ValueError, r"Invalid beta3 value: -0\.1"),
    (dict(weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0\.1"),
    (dict(weight_decay=NAN), ValueError, r"Invalid weight_decay value: nan"),
    (dict(d_coef=0.0), ValueError, r"Invalid d_coef value: 0\.0"),
    (dict(growth_rate=0.5), ValueError, r"Invalid growth_rate value: 0\.5 \(expected"),
    (dict(growth_rate=NAN), ValueError, r"Invalid growth_rate value: nan"),
    (dict(slice_p=0), ValueError,
     r"Invalid slice_p value: 0 \(expected an integer >= 1\)"),
    (dict(slice_p=1.5), TypeError, r"slice_p must be an int, got float"),
    (dict(decouple="yes"), TypeError, r"decouple must be a bool"),
    (dict(use_bias_correction=1), TypeError, r"use_bias_correction must be a bool"),
    (dict(fsdp_in_use=True), NotImplementedError, r"no sums across FSDP shards"),
])

# --------------------------------------------------------------------------- SOAP
# On 120 steps the bases are refreshed 39 (every 3 steps) to 11 times (every 10).
for _kw, _g2 in [
    (dict(lr=0.01), dict(lr=0.005, betas=(0.9, 0.99), weight_decay=0.0,
                         precondition_frequency=3)),
    (dict(lr=0.01, precondition_1d=True, normalize_gradient=True),
     dict(lr=0.005, shampoo_beta=0.8, max_precondition_dim=2,
          precondition_frequency=4)),
    (dict(lr=0.02, maximize=True, correct_bias=False, weight_decay=0.05,
          precondition_frequency=5), dict(lr=0.01, eps=1e-6, precondition_1d=True)),
]:
    PS_OPTIMIZER_CASES.append(Case(SOAP, _kw, _ref(pytorch_optimizer.SOAP),
                                   group2=_g2, exchange_state=False, idle_steps=1))

PS_ERROR_CASES += _error_rows(SOAP, pytorch_optimizer.SOAP, [  # its type and text
    (dict(betas=(1.0, 0.95)), ValueError, r"beta1 must be in the range \[0\.0, 1\.0\)"),
    (dict(betas=(-0.1, 0.95)), ValueError,
     r"beta1 must be in the range \[0\.0, 1\.0\)"),
    (dict(betas=(0.95, 1.0)), ValueError, r"beta2 must be in the range \[0\.0, 1\.0\)"),
    (dict(betas=(0.95, NAN)), ValueError, r"beta2 must be in the range \[0\.0, 1\.0\)"),
    (dict(shampoo_beta=-0.1), ValueError, r"shampoo_beta must be non-negative"),
    (dict(weight_decay=-0.1), ValueError, r"weight_decay must be non-negative"),
    (dict(precondition_frequency=0), ValueError,
     r"precondition_frequency must be positive"),
    (dict(max_precondition_dim=-1), ValueError,
     r"max_precondition_dim must be positive"),
    (dict(eps=-1e-8), ValueError, r"eps must be non-negative"),
])
PS_ERROR_CASES += _error_rows(SOAP, None, [
    # pytorch_optimizer: the same text, as its own NegativeLRError (not a ValueError)
    (dict(lr=-1.0), ValueError, r"learning rate must be positive\. \(-1\.0 > 0\)"),
    # what pytorch_optimizer lets through
    (dict(lr=NAN), ValueError, r"Invalid learning rate: nan"),
    (dict(lr=INF), ValueError, r"Invalid learning rate: inf"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number"),
    (dict(lr=torch.tensor(0.1)), TypeError, r"lr must be a Python float"),
    (dict(betas=0.9), TypeError, r"betas must be a tuple of two floats"),
    (dict(shampoo_beta=1.0), ValueError, r"Invalid shampoo_beta value: 1\.0"),
    (dict(shampoo_beta=NAN), ValueError, r"Invalid shampoo_beta value: nan"),
    (dict(weight_decay=NAN), ValueError, r"Invalid weight_decay value: nan"),
    (dict(eps=NAN), ValueError, r"Invalid epsilon value: nan"),
    (dict(precondition_frequency=2.5), TypeError,
     r"precondition_frequency must be an int, got float"),
    (dict(max_precondition_dim=True), TypeError,
     r"max_precondition_dim must be an int"),
    (dict(data_format="NHWC"), ValueError, r"Invalid data_format: 'NHWC'"),
    (dict(merge_dims="yes"), TypeError, r"merge_dims must be a bool"),
    (dict(maximize=1), TypeError, r"maximize must be a bool"),
])
