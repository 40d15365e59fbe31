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

__all__ = ["setup", "glue", "plain_number"]


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


def plain_number(value):
    """``value`` as the plain Python number a reader should see in the text.

    A NumPy scalar becomes a Python number, and a whole float becomes an ``int`` (``4``, not
    ``4.0``) unless it is too large to be exact (``abs(value) >= 1e15`` stays a float). Anything
    else is returned unchanged.
    """
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def glue(name: str, value, display: bool = False) -> None:
    """myst-nb's ``glue`` with :func:`plain_number` applied, hidden by default.

    In a chapter: ``glue("steps", n)`` in a cell, `` {glue:text}`steps` `` in the prose.
    """
    from myst_nb import glue as myst_glue

    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    myst_glue(name, plain_number(value), display=display)


def _report_illegible(fig) -> None:
    """Print to stderr the first text of ``fig`` that a phone would show below 10 pt.

    Called each time a notebook shows a figure (``plt.show()`` or the end of a cell); in a
    committed chapter the line is a new output, which the strict nbval run reports.
    """
    problems = plot.legibility_problems(fig)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"illegible figure: {problems[0]}{more}", file=sys.stderr)


def _notebook_figures() -> None:
    """In a notebook: PNG figures at 200 dpi (inline "retina"), each checked for legibility."""
    try:
        from IPython import get_ipython
    except ImportError:                                 # plain Python: nothing to set up
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "events"):
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    # Every figure a notebook shows goes through the PNG formatter; check it on the way.
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    show_png = png.lookup_by_type(Figure)

    def checked(fig, *args, **kwargs):
        _report_illegible(fig)
        return show_png(fig, *args, **kwargs)

    png.for_type(Figure, checked)
