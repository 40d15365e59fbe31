"""Plotting helpers shared by the chapters, so that notebooks hold ideas, not boilerplate.

Each function draws on a given ``ax`` (or a new one) and returns the axes; the caller adds the
caption through the notebook's figure metadata.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["contour", "trajectories", "loss_curves", "style"]

#: One colour per optimiser, so that a reader can follow an optimiser from figure to figure.
COLORS = {
    "SGD": "tab:blue", "SGDM": "tab:orange", "Adagrad": "tab:green", "RMSprop": "tab:red",
    "Adam": "tab:purple", "AMSGrad": "tab:brown", "AdaBound": "tab:pink", "SWATS": "tab:olive",
    "RAdam": "tab:cyan", "NAdam": "tab:gray", "AdamW": "indigo", "SGDW": "darkgoldenrod",
    "Lookahead": "teal",
}


def style() -> None:
    """The book's matplotlib defaults: small figures, readable fonts, no clutter."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 3.8), "figure.dpi": 100, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
        "font.size": 10, "svg.hashsalt": "optlib",
    })


def _ax(ax):
    return ax if ax is not None else plt.subplots()[1]


def contour(f, window, ax=None, levels: int = 30, log: bool = False, n: int = 200):
    """Contour lines of ``f(x, y)`` over ``window = (xmin, xmax, ymin, ymax)``."""
    ax = _ax(ax)
    x0, x1, y0, y1 = window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = f(X, Y)
    if log:
        Z = np.log10(Z + 1e-12)
    ax.contour(X, Y, Z, levels=levels, cmap="Greys", linewidths=0.6)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    return ax


def trajectories(paths: dict, ax=None, minimiser=None, markevery: int | None = None):
    """Draw optimiser paths (name -> array of shape (steps + 1, 2)) with a start and an end marker."""
    ax = _ax(ax)
    for name, path in paths.items():
        color = COLORS.get(name)
        ax.plot(path[:, 0], path[:, 1], "-", lw=1.4, color=color, label=name, markevery=markevery)
        ax.plot(path[-1, 0], path[-1, 1], "o", ms=4, color=color)
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "ks", ms=5, label="start")
    if minimiser is not None:
        ax.plot(*minimiser, "k*", ms=10, label="minimum")
    ax.legend(loc="best", fontsize=8)
    return ax


def loss_curves(curves: dict, ax=None, xlabel: str = "step", ylabel: str = "loss",
                logy: bool = True, smooth: int = 1):
    """Plot loss curves (name -> sequence); ``smooth`` > 1 averages over a moving window."""
    ax = _ax(ax)
    for name, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        if smooth > 1 and len(ys) >= smooth:
            ys = np.convolve(ys, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(len(ys)), ys, label=name, color=COLORS.get(name), lw=1.3)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax
