"""optlib: the optimisers and learning-rate schedules of the lecture "Optimization for Deep Learning".

Every optimiser is a drop-in ``torch.optim.Optimizer`` and every schedule a ``torch.optim``
``LRScheduler``; each is numerically equal to the reference named in its docstring.
"""

from .adabound import AMSBound, AdaBound
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import AMSGrad, Adam
from .adamw import AdamW
from .lion import Lion
from .lookahead import Lookahead
from .muon import Muon
from .nadam import NAdam
from .prodigy import Prodigy
from .radam import RAdam
from .sgdw import SGDW
from .soap import SOAP
from .rmsprop import RMSprop
from .schedulefree import AdamWScheduleFree, SGDScheduleFree
from .sgd import SGD
from .swats import SWATS
from .lr_finder import LRRangeTestResult, lr_range_test
from .schedules import (SGDR, CyclicLR, LinearWarmup, OneCycleLR, WarmupThen, cosine_annealing,
                        cosine_restarts, cyclic_lr, cyclic_momentum, linear_warmup, one_cycle,
                        one_cycle_momentum, restart_position, triangular, with_warmup)
from .wsd import WSD, wsd

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AMSGrad",
    "AdaBound", "AMSBound", "SWATS",
    "RAdam", "NAdam", "AdamW", "SGDW", "Lookahead",
    # after the lecture (Part III)
    "Adafactor", "Lion", "Muon", "SGDScheduleFree", "AdamWScheduleFree", "Prodigy", "SOAP",
    # schedules (optlib.schedules) and the LR range test (optlib.lr_finder)
    "CyclicLR", "SGDR", "OneCycleLR", "LinearWarmup", "WarmupThen",
    "triangular", "cyclic_lr", "cyclic_momentum", "cosine_annealing", "restart_position",
    "cosine_restarts", "one_cycle", "one_cycle_momentum", "linear_warmup", "with_warmup",
    "WSD", "wsd",
    "lr_range_test", "LRRangeTestResult",
]
