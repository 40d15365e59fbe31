"""One call at the top of every chapter: seeds, threads and plotting style.

The chapters run single-threaded: the models are small (so nothing is lost), and a reduction then
adds its terms in the same order on every machine, which keeps every printed digit reproducible.
"""

from __future__ import annotations

import random
import sys
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
    _notebook_figures()


def _warn_illegible() -> None:
    """Print to stderr every figure text that a phone would show below 10 pt.

    Runs after each notebook cell, before the inline backend shows and closes the cell's figures;
    in a committed chapter any such line is a new output, which the strict nbval run reports.
    """
    import matplotlib.pyplot as plt

    for num in plt.get_fignums():
        problems = plot.legibility_problems(plt.figure(num))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            print(f"illegible figure: {problems[0]}{more}", file=sys.stderr)


def _notebook_figures() -> None:
    """In a notebook: PNG figures at 200 dpi (inline "retina"), and the legibility check."""
    try:
        from IPython import get_ipython
    except ImportError:                                 # plain Python: nothing to set up
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "events"):
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    callbacks = shell.events.callbacks["post_execute"]
    if _warn_illegible not in callbacks:
        callbacks.insert(0, _warn_illegible)          # before the backend closes the figures
