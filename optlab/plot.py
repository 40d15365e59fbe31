"""Plotting helpers shared by the chapters, so that notebooks hold ideas, not boilerplate.

Each function draws on a given ``ax`` (or a new one) and returns the axes; the caller adds the
caption through the notebook's figure metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.figure
import matplotlib.text
import numpy as np

__all__ = ["contour", "trajectories", "loss_curves", "style", "display_scale",
           "legibility_problems"]

#: One colour per optimiser, so that a reader can follow an optimiser from figure to figure.
COLORS = {
    "SGD": "tab:blue", "SGDM": "tab:orange", "Adagrad": "tab:green", "RMSprop": "tab:red",
    "Adam": "tab:purple", "AMSGrad": "tab:brown", "AdaBound": "tab:pink", "SWATS": "tab:olive",
    "RAdam": "tab:cyan", "NAdam": "tab:gray", "AdamW": "indigo", "SGDW": "darkgoldenrod",
    "Lookahead": "teal",
}


#: Width in CSS pixels that a figure gets on a phone: the content column of the book's theme on a
#: 390-px-wide screen (measured in headless Chromium). Figures are checked against it.
PHONE_PX = 342
#: The smallest text size, in points at display size, that a figure may show on that phone.
MIN_PT = 10.0
#: Width of one figure panel, in inches. Multi-panel figures stack their panels in one column of
#: this width, so that every panel keeps its size on a phone.
PANEL_WIDTH = 4.0
#: Size of every text of a figure (labels, ticks, legends, titles), in points.
FONT_PT = 12


def style() -> None:
    """The book's matplotlib defaults: panels 4 in wide, 12-pt text everywhere, no clutter.

    The notebooks show figures as PNG at twice ``figure.dpi`` (the inline backend's "retina"
    format, set up by :func:`optlab.book.setup`), i.e. 200 dpi, displayed ``figure.dpi`` CSS
    pixels per inch: 400 px per panel, narrowed to :data:`PHONE_PX` on a phone, where 12-pt text
    still shows at more than :data:`MIN_PT` (see :func:`legibility_problems`).
    """
    plt.rcParams.update({
        "figure.figsize": (PANEL_WIDTH, 2.9), "figure.dpi": 100, "savefig.dpi": 200,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
        "grid.alpha": 0.3, "legend.frameon": False, "svg.hashsalt": "optlib",
        "font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
        "legend.title_fontsize": FONT_PT, "figure.titlesize": FONT_PT,
    })


def display_scale(fig, display_px: float = PHONE_PX) -> float:
    """Points shown on a screen ``display_px`` CSS pixels wide per point of text in ``fig``.

    A figure is displayed ``fig.dpi`` CSS pixels per inch (its width in the page is its width in
    pixels at ``fig.dpi``, the tight bounding box included), shrunk to fit ``display_px``. A CSS
    point is 96/72 CSS pixels, so one point of text shows as ``fig.dpi / 96`` points times the
    shrink factor.
    """
    _check_figure(fig)
    _check_positive(display_px, "display_px")
    renderer = fig.canvas.get_renderer()
    width_px = fig.get_tightbbox(renderer).width * fig.dpi
    return min(1.0, display_px / width_px) * fig.dpi / 96


def legibility_problems(fig, display_px: float = PHONE_PX, min_pt: float = MIN_PT) -> list[str]:
    """Every visible, non-empty text of ``fig`` that would show smaller than ``min_pt`` points
    on a screen ``display_px`` CSS pixels wide (an empty list when all can be read)."""
    _check_positive(min_pt, "min_pt")
    scale = display_scale(fig, display_px)
    problems = []
    for text in fig.findobj(matplotlib.text.Text):
        label = text.get_text().strip()
        if not label or not text.get_visible():
            continue
        shown = text.get_fontsize() * scale
        if shown < min_pt - 1e-9:
            problems.append(f"{label[:40]!r} is {text.get_fontsize():g} pt and shows at "
                            f"{shown:.1f} pt on a {display_px:g}-px-wide screen "
                            f"(at least {min_pt:g} pt wanted)")
    return list(dict.fromkeys(problems))


def _ax(ax):
    return ax if ax is not None else plt.subplots()[1]


# Argument checks, run before anything is drawn (so a bad call leaves no empty figure behind).
def _check_int(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"Invalid {name}: {value} (expected an integer >= {low})")


def _check_figure(fig) -> None:
    if not isinstance(fig, matplotlib.figure.Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")


def _check_positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < np.inf:
        raise ValueError(f"Invalid {name}: {value!r} (expected a finite number > 0)")


def _check_callable(f, name: str = "f") -> None:
    if not callable(f):
        raise TypeError(f"{name} must be a function of (x, y), got {type(f).__name__}")


def _check_window(window) -> None:
    try:
        x0, x1, y0, y1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise TypeError(f"window must be four numbers (xmin, xmax, ymin, ymax), got {window!r}")
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise ValueError(f"Invalid window: {window!r} (expected finite xmin < xmax and ymin < ymax)")


def _check_levels(levels) -> None:
    if isinstance(levels, Integral) or isinstance(levels, bool):
        _check_int(levels, "levels", 1)
    elif not isinstance(levels, (list, tuple, np.ndarray)):
        raise TypeError(f"levels must be an int or a sequence of values, got {type(levels).__name__}")


def _check_curves(curves, name: str, ndim: int) -> None:
    """A non-empty mapping name -> array (of shape (k, 2) for paths, (k,) for curves)."""
    if not isinstance(curves, Mapping) or len(curves) == 0:
        raise TypeError(f"{name} must be a non-empty dict of name -> array, got {curves!r:.80}")
    for key, value in curves.items():
        shape = np.shape(value)
        if len(shape) != ndim or shape[0] < 1 or (ndim == 2 and shape[1] != 2):
            want = "(steps + 1, 2)" if ndim == 2 else "(n,) with n >= 1"
            raise ValueError(f"{name}[{key!r}] must have shape {want}, got {shape}")


def contour(f, window, ax=None, levels: int = 30, log: bool = False, n: int = 200):
    """Contour lines of ``f(x, y)`` over ``window = (xmin, xmax, ymin, ymax)``."""
    _check_callable(f)
    _check_window(window)
    _check_levels(levels)
    _check_int(n, "n", 2)
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
    _check_curves(paths, "paths", 2)
    ax = _ax(ax)
    for name, path in paths.items():
        color = COLORS.get(name)
        ax.plot(path[:, 0], path[:, 1], "-", lw=1.4, color=color, label=name, markevery=markevery)
        ax.plot(path[-1, 0], path[-1, 1], "o", ms=4, color=color)
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "ks", ms=5, label="start")
    if minimiser is not None:
        ax.plot(*minimiser, "k*", ms=10, label="minimum")
    ax.legend(loc="best")
    return ax


def loss_curves(curves: dict, ax=None, xlabel: str = "step", ylabel: str = "loss",
                logy: bool = True, smooth: int = 1):
    """Plot loss curves (name -> sequence); ``smooth`` > 1 averages over a moving window."""
    _check_curves(curves, "curves", 1)
    _check_int(smooth, "smooth", 1)
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
    ax.legend()
    return ax


def timeline(events, ax=None, color: str = "tab:blue", min_gap: float = 0.2):
    """Mark dated events on a horizontal time axis; ``events`` is a sequence of (year, label).

    Labels alternate above and below the axis. Labels on one side are kept at least
    ``min_gap`` × (time span) apart and joined to their year by a leader line, so that a crowded
    decade stays readable.
    """
    if len(events) == 0 or not all(isinstance(e, (tuple, list)) and len(e) == 2 for e in events):
        raise ValueError("events must be a non-empty sequence of (year, label) pairs")
    if isinstance(min_gap, bool) or not isinstance(min_gap, Real) or not 0 <= min_gap < np.inf:
        raise ValueError(f"Invalid min_gap: {min_gap!r} (expected a finite number >= 0)")
    ax = _ax(ax)
    events = sorted(events)
    years = np.array([year for year, _ in events], dtype=float)
    span = (years.max() - years.min()) or 1.0
    gap, lo, hi = min_gap * span, years.min() - 0.05 * span, years.max() + 0.05 * span
    text_x = years.copy()
    for side in (0, 1):                                  # spread each side's labels apart
        idx = np.arange(side, len(years), 2)
        for a, b in zip(idx[:-1], idx[1:]):              # forward pass: push right
            text_x[b] = max(text_x[b], text_x[a] + gap)
        if len(idx):
            text_x[idx[-1]] = min(text_x[idx[-1]], hi)
        for a, b in zip(idx[::-1][1:], idx[::-1][:-1]):  # backward pass: pull left from the edge
            text_x[a] = min(text_x[a], text_x[b] - gap)
    ax.axhline(0, color="0.3", lw=1)
    for k, ((year, label), tx) in enumerate(zip(events, text_x)):
        h = 1.0 if k % 2 == 0 else -1.0
        ax.plot([year, year, tx], [0, 0.45 * h, 0.8 * h], color=color, lw=0.8)
        ax.plot(year, 0, "o", color=color, ms=5)
        ax.text(tx, 0.85 * h, f"{label}\n{year}" if h > 0 else f"{year}\n{label}", ha="center",
                va="bottom" if h > 0 else "top")
    ax.set_ylim(-2.2, 2.2)
    ax.set_xlim(min(lo, text_x.min() - 0.05 * span), max(hi, text_x.max() + 0.05 * span))
    ax.set_yticks([])
    ax.grid(False)
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    ax.set_xlabel("year")
    return ax


def animate_trajectories(f, window, paths: dict, frames: int = 40, minimiser=None,
                         figsize=(PANEL_WIDTH, 4.0), dpi: int = 100, interval: int = 120, levels: int = 30):
    """A ``FuncAnimation`` that draws the paths (name -> (steps + 1, 2) array) growing over time.

    The paths are shown at ``frames`` evenly spaced steps. The figure is closed before returning,
    so that a notebook shows only the animation (``anim.to_jshtml()``), not a static copy.
    """
    from matplotlib.animation import FuncAnimation

    _check_int(frames, "frames", 1)
    _check_int(dpi, "dpi", 1)
    _check_int(interval, "interval", 1)
    _check_callable(f)
    _check_window(window)
    _check_levels(levels)
    _check_curves(paths, "paths", 2)
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
    contour(f, window, ax=ax, levels=levels)
    n_steps = max(len(p) for p in paths.values()) - 1
    shown = np.unique(np.linspace(0, n_steps, frames).round().astype(int))
    lines = {name: ax.plot([], [], "-", lw=1.4, color=COLORS.get(name), label=name)[0]
             for name in paths}
    heads = {name: ax.plot([], [], "o", ms=3, color=COLORS.get(name))[0] for name in paths}
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "ks", ms=4)
    if minimiser is not None:
        ax.plot(*minimiser, "k*", ms=8)
    # below the axes, so that it hides no path; three names a row fit a panel's width
    fig.legend(loc="outside lower center", ncols=min(3, len(paths)))
    title = ax.set_title("")

    def draw(k):
        t = shown[k]
        for name, path in paths.items():
            upto = path[: t + 1]
            lines[name].set_data(upto[:, 0], upto[:, 1])
            heads[name].set_data(upto[-1:, 0], upto[-1:, 1])
        title.set_text(f"step {t}")
        return [*lines.values(), *heads.values(), title]

    anim = FuncAnimation(fig, draw, frames=len(shown), interval=interval, blit=False)
    plt.close(fig)
    return anim


def animation_html(anim, frame_format: str = "jpeg") -> str:
    """The animation as self-contained HTML (matplotlib's JavaScript player), readable offline.

    matplotlib's player links a Font Awesome stylesheet from a CDN for its buttons; the link is
    removed because the book's theme already ships Font Awesome, so the page needs no network.
    JPEG frames keep the page far smaller than PNG frames.
    """
    import re

    if frame_format not in ("png", "jpeg", "tiff", "svg"):
        raise ValueError(f"Invalid frame_format: {frame_format!r} (expected 'png', 'jpeg', 'tiff' "
                         "or 'svg')")
    if not callable(getattr(anim, "to_jshtml", None)):
        raise TypeError(f"anim must be a matplotlib Animation, got {type(anim).__name__}")
    # frames at the figure's own dpi (not savefig.dpi): shown as wide as a book figure, and
    # a quarter of the bytes of 200-dpi frames
    with plt.rc_context({"animation.frame_format": frame_format, "savefig.dpi": "figure"}):
        html = anim.to_jshtml()
    html = re.sub(r"<link[^>]*font-awesome[^>]*>\s*", "", html)

    # Each frame is a base64 data URI, whose '/' characters make runs that look like file paths
    # to the repository's scan of committed outputs. Store them as '!' (not a base64 character,
    # so the swap is exact; not '-' either, which turns runs such as "sk/..." into what the scan
    # takes for an API key) and let the page swap them back when it loads the frame.
    def swap(match):
        uri = match.group(2).replace("\\\n", "").replace("/", "!")
        return f'{match.group(1)}"{uri}".replace(/!/g, "/")'

    return re.sub(r'(frames\[\d+\] = )"(data:image/[^"]*)"', swap, html)


__all__ += ["timeline", "animate_trajectories", "animation_html"]


def plain_log_ticks(ax, axis: str = "y", subs=(1.0, 2.0, 5.0)):
    """Label a log-scaled axis with plain numbers (0.05, 0.1, 0.2, ...), not 10^k.

    Major ticks go at ``subs`` times each power of 10, labelled with ``%g``; minor ticks
    keep their marks but lose their labels. Call it once the axis has its log scale.
    """
    import matplotlib.axes
    import matplotlib.ticker

    if not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if axis not in ("x", "y"):
        raise ValueError(f"Invalid axis: {axis!r} (expected 'x' or 'y')")
    try:
        values = np.asarray(subs, dtype=float)
    except (TypeError, ValueError):
        values = np.empty(0)
    in_decade = np.all((values >= 1) & (values < 10))
    if values.ndim != 1 or values.size == 0 or not in_decade:
        raise ValueError(f"Invalid subs: {subs!r} (expected numbers in [1, 10))")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(matplotlib.ticker.LogLocator(subs=tuple(subs)))
    target.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    target.set_minor_formatter(matplotlib.ticker.NullFormatter())
    return ax


__all__ += ["plain_log_ticks"]
