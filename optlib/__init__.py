"""optlib: the optimisers and learning-rate schedules of the lecture "Optimization for Deep Learning".

Every optimiser is a drop-in ``torch.optim.Optimizer`` and every schedule a ``torch.optim``
``LRScheduler``; each is numerically equal to the reference named in its docstring.
"""

from .adagrad import Adagrad
from .adam import AMSGrad, Adam
from .rmsprop import RMSprop
from .sgd import SGD
from .lr_finder import LRRangeTestResult, lr_range_test
from .schedules import (SGDR, CyclicLR, LinearWarmup, OneCycleLR, WarmupThen, cosine_annealing,
                        cosine_restarts, cyclic_lr, cyclic_momentum, linear_warmup, one_cycle,
                        one_cycle_momentum, restart_position, triangular, with_warmup)
from .adabound import AMSBound, AdaBound
from .swats import SWATS

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AMSGrad",
    "LRRangeTestResult",
    "lr_range_test",
    "SGDR",
    "CyclicLR",
    "LinearWarmup",
    "OneCycleLR",
    "WarmupThen",
    "cosine_annealing",
    "cosine_restarts",
    "cyclic_lr",
    "cyclic_momentum",
    "linear_warmup",
    "one_cycle",
    "one_cycle_momentum",
    "restart_position",
    "triangular",
    "with_warmup",
    "AMSBound",
    "AdaBound",
    "SWATS",
]
