"""optlib: the optimisers and learning-rate schedules of the lecture "Optimization for Deep Learning".

Every optimiser is a drop-in ``torch.optim.Optimizer`` and every schedule a ``torch.optim``
``LRScheduler``; each is numerically equal to the reference named in its docstring.
"""

from .adabound import AMSBound, AdaBound
from .adagrad import Adagrad
from .adam import AMSGrad, Adam
from .adamw import AdamW
from .lookahead import Lookahead
from .nadam import NAdam
from .radam import RAdam
from .sgdw import SGDW
from .rmsprop import RMSprop
from .sgd import SGD
from .swats import SWATS
from .lr_finder import LRRangeTestResult, lr_range_test
from .schedules import (SGDR, CyclicLR, LinearWarmup, OneCycleLR, WarmupThen, cosine_annealing,
                        cosine_restarts, cyclic_lr, cyclic_momentum, linear_warmup, one_cycle,
                        one_cycle_momentum, restart_position, triangular, with_warmup)

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AMSGrad",
    "AdaBound", "AMSBound", "SWATS",
    "RAdam", "NAdam", "AdamW", "SGDW", "Lookahead",
    # schedules (optlib.schedules) and the LR range test (optlib.lr_finder)
    "CyclicLR", "SGDR", "OneCycleLR", "LinearWarmup", "WarmupThen",
    "triangular", "cyclic_lr", "cyclic_momentum", "cosine_annealing", "restart_position",
    "cosine_restarts", "one_cycle", "one_cycle_momentum", "linear_warmup", "with_warmup",
    "lr_range_test", "LRRangeTestResult",
]
