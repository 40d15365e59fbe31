"""One call at the top of every chapter: seeds, threads and plotting style.

The chapters run single-threaded: the models are small (so nothing is lost), and a reduction then
adds its terms in the same order on every machine, which keeps every printed digit reproducible.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from . import plot

__all__ = ["setup"]


def setup(seed: int = 0, threads: int = 1) -> None:
    """Seed Python, NumPy and torch with ``seed``, use ``threads`` CPU threads, apply the plot style."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    plot.style()
