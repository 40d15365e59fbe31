"""One call at the top of every chapter: seeds, threads and plotting style.

The chapters run single-threaded: the models are small (so nothing is lost), and a reduction then
adds its terms in the same order on every machine, which keeps every printed digit reproducible.
"""

from __future__ import annotations

import random
from numbers import Integral

import numpy as np
import torch

from . import plot

__all__ = ["setup"]


def setup(seed: int = 0, threads: int = 1) -> None:
    """Seed Python, NumPy and torch with ``seed``, use ``threads`` CPU threads, apply the plot style."""
    for name, value in (("seed", seed), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= seed < 2 ** 32:                       # NumPy's range
        raise ValueError(f"Invalid seed: {seed} (expected an integer in [0, 2**32 - 1])")
    if threads < 1:
        raise ValueError(f"Invalid threads: {threads} (expected an integer >= 1)")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    plot.style()
