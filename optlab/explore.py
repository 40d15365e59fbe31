"""Explorable figures: paths computed by optlib here, redrawn in the reader's browser.

A chapter calls :func:`explore` with a 2-D surface and, per optimiser, a small grid of
hyper-parameter values (η, β₁, β₂, momentum...). Every combination runs from the same
start; the paths, the loss along them and the surface's contour lines become JSON inside
the page, and ``book/_static/explore.js`` draws them as SVG with a menu for the
optimiser and a slider per hyper-parameter. No kernel and no network are involved:
dragging a slider only picks another precomputed path. :func:`show` displays the
explorer with a static picture beside it (the default setting of every optimiser),
which is what the PDF and a notebook without the book's script show.

Numbers are rounded (:data:`DIGITS` significant digits) so that the output is the same
on every run, and a path that leaves the plotting window by more than its own size is
cut there (the rest is ``null``: the reader sees where it escaped).
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .surfaces import SURFACES

__all__ = [
    "DIGITS",
    "MAX_BYTES",
    "Knob",
    "Method",
    "Problem",
    "explore",
    "final_loss",
    "lecture_methods",
    "online_problem",
    "path_at",
    "show",
    "static_figure",
    "to_html",
]

DIGITS = 4  # significant digits of every number shipped to the page
MAX_BYTES = 5_000_000  # the largest explorer one page may carry (issue 17)


@dataclass(frozen=True)
class Knob:
    """One slider: the keyword ``key`` of the optimiser's factory, its label (the
    lecture's symbol) and the values it can take; ``default`` indexes ``values``."""

    key: str
    label: str
    values: tuple[float, ...]
    default: int = 0

    def __post_init__(self):
        if not self.values:
            raise ValueError(f"knob {self.key!r}: values must not be empty")
        if not 0 <= self.default < len(self.values):
            raise ValueError(
                f"knob {self.key!r}: default must index values "
                f"(0..{len(self.values) - 1}), got {self.default}"
            )


@dataclass(frozen=True)
class Method:
    """An optimiser in the menu: ``make(params, **{knob.key: value})`` builds it."""

    make: Callable
    knobs: tuple[Knob, ...]


@dataclass(frozen=True)
class Problem:
    """A 2-D problem that the fixed surfaces of :mod:`optlab.surfaces` cannot express.

    ``loss(x, y)`` draws the contour lines and gives the loss along a path (NumPy arrays
    or tensors in, the same out). Three optional parts change how a path is computed:

    * ``loss_at(t, x, y)``: the loss whose gradient step ``t`` (from 1) follows, for an
      on-line problem whose loss changes with the step (default: ``loss`` itself);
    * ``box = (xmin, xmax, ymin, ymax)``: the feasible set; after every step the point
      is projected onto it (clamped coordinate by coordinate);
    * ``lr_factor(t)``: every learning rate is its initial value times this factor at
      step ``t`` (for instance ``1/sqrt(t)``), set before the step.
    """

    name: str
    loss: Callable
    start: tuple[float, float]
    minimum: tuple[float, float]
    window: tuple[float, float, float, float]
    loss_at: Callable | None = None
    box: tuple[float, float, float, float] | None = None
    lr_factor: Callable | None = None


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.{DIGITS}g}")


def _cut(path: np.ndarray, window: Sequence[float]) -> list:
    """The path as [[x, y], ...] rounded; from the first point far outside the window
    on (by more than the window's own size), None."""
    x0, x1, y0, y1 = window
    wx, wy = x1 - x0, y1 - y0
    out, gone = [], False
    for x, y in path:
        gone = gone or not (
            math.isfinite(x)
            and math.isfinite(y)
            and x0 - wx <= x <= x1 + wx
            and y0 - wy <= y <= y1 + wy
        )
        out.append(None if gone else [_round(float(x)), _round(float(y))])
    return out


def _contours(f: Callable, window: Sequence[float], levels: Sequence[float]) -> list:
    """[[level, [[x, y], ...]], ...]: the surface's contour lines, by matplotlib.

    The figure is a bare ``Figure``, never known to pyplot, so that computing contours
    leaves the notebook's backend and its figures alone."""
    from matplotlib.figure import Figure

    x0, x1, y0, y1 = window
    xs, ys = np.linspace(x0, x1, 161), np.linspace(y0, y1, 161)
    X, Y = np.meshgrid(xs, ys)
    cs = Figure().subplots().contour(X, Y, f(X, Y), levels=list(levels))
    out = []
    for level, segs in zip(cs.levels, cs.allsegs):
        for seg in segs:
            if len(seg) > 1:
                pts = [[_round(float(a)), _round(float(b))] for a, b in seg[::2]]
                out.append([_round(float(level)), pts])
    return out


def run_many(
    makers: Sequence[Callable],
    f: Callable,
    start,
    steps: int,
    *,
    loss_at: Callable | None = None,
    box: Sequence[float] | None = None,
    lr_factor: Callable | None = None,
) -> np.ndarray:
    """The paths of several optimisers from one start: shape (optimisers, steps + 1, 2).

    Each optimiser owns its own point (a separate leaf tensor, as in
    :func:`optlab.surfaces.run_on_surface`), but the surface is evaluated for all points
    at once and one backward pass gives every point its gradient: the paths are those
    of separate runs, at a fraction of the cost. ``loss_at``, ``box`` and ``lr_factor``
    are those of :class:`Problem` (step ``t`` follows the gradient of
    ``loss_at(t, x, y)``, the point is clamped into ``box`` after it, and every
    learning rate is scaled by ``lr_factor(t)`` for it); without them ``f`` is
    minimised as it stands."""
    points = [
        torch.tensor(start, dtype=torch.float64, requires_grad=True) for _ in makers
    ]
    opts = [make([p]) for make, p in zip(makers, points)]
    base_lrs = [[group["lr"] for group in opt.param_groups] for opt in opts]
    if box is not None:
        low = torch.tensor([box[0], box[2]], dtype=torch.float64)
        high = torch.tensor([box[1], box[3]], dtype=torch.float64)
    path = np.empty((len(makers), steps + 1, 2))
    path[:, 0] = np.asarray(start, dtype=float)
    for t in range(1, steps + 1):
        for p in points:
            p.grad = None
        xy = torch.stack(points)
        if loss_at is None:
            f(xy[:, 0], xy[:, 1]).sum().backward()
        else:
            loss_at(t, xy[:, 0], xy[:, 1]).sum().backward()
        if lr_factor is not None:
            factor = lr_factor(t)
            for opt, lrs in zip(opts, base_lrs):
                for group, lr in zip(opt.param_groups, lrs):
                    group["lr"] = lr * factor
        for opt in opts:
            opt.step()
        with torch.no_grad():
            if box is not None:
                for p in points:
                    p.clamp_(low, high)
            path[:, t] = torch.stack(points).numpy()
    return path


def explore(
    surface: str | Problem,
    methods: Mapping[str, Method],
    steps: int = 100,
    levels: Sequence[float] | None = None,
) -> dict:
    """Run every method at every combination of its knobs' values on ``surface`` (a
    name in :data:`optlab.surfaces.SURFACES`, or a :class:`Problem`); return the data
    an explorer draws.

    Without ``levels`` the contour lines of a surface are 12 levels spaced evenly in
    log scale from 0.05 up, those of a Problem 12 levels spaced evenly between the
    smallest and the largest loss in the window."""
    if isinstance(surface, Problem):
        problem = surface
        f, start, minimum, window = (
            problem.loss, problem.start, problem.minimum, problem.window
        )
        name_shown = problem.name
        run_options = {"loss_at": problem.loss_at, "box": problem.box,
                       "lr_factor": problem.lr_factor}
    elif surface in SURFACES:
        f, start, minimum, window = SURFACES[surface]
        name_shown, run_options, problem = surface, {}, None
    else:
        raise ValueError(
            f"surface must be one of {', '.join(SURFACES)} or a Problem, "
            f"got {surface!r}"
        )
    if not methods:
        raise ValueError("methods must name at least one optimiser")
    if levels is None and problem is None:
        levels = np.geomspace(0.05, float(f(*np.array([window[0], window[3]]))), 12)
    elif levels is None:
        grid = np.meshgrid(np.linspace(window[0], window[1], 41),
                           np.linspace(window[2], window[3], 41))
        values = np.asarray(f(*grid), dtype=float)
        levels = np.linspace(values.min(), values.max(), 14)[1:-1]
    data = {
        "surface": name_shown,
        "window": [float(v) for v in window],
        "start": [float(v) for v in start],
        "minimum": [float(v) for v in minimum],
        "steps": int(steps),
        "contours": _contours(f, window, levels),
        "methods": {},
    }
    for name, m in methods.items():
        paths, losses = [], []
        combos = list(itertools.product(*(k.values for k in m.knobs)))
        makers = [
            (lambda p, h=dict(zip((k.key for k in m.knobs), c)): m.make(p, **h))
            for c in combos
        ]
        with np.errstate(over="ignore", invalid="ignore"):
            every = run_many(makers, f, start, steps, **run_options)
        for path in every:
            cut = _cut(path, window)
            paths.append(cut)
            with np.errstate(over="ignore", invalid="ignore"):
                vals = f(path[:, 0], path[:, 1])
            losses.append(
                [None if c is None else _round(float(v)) for c, v in zip(cut, vals)]
            )
        data["methods"][name] = {
            "knobs": [
                {"key": k.key, "label": k.label, "values": list(k.values),
                 "default": k.default}
                for k in m.knobs
            ],
            "paths": paths,
            "losses": losses,
        }
    return data


def to_html(data: dict, element_id: str) -> str:
    """The explorer's HTML: a container that ``explore.js`` fills, its data inside."""
    payload = json.dumps(data, separators=(",", ":"))  # the menu keeps this order
    payload = payload.replace("</", "<\\/")  # never closes the script element early
    if len(payload) > MAX_BYTES:
        raise ValueError(
            f"the explorer's data takes {len(payload):,} bytes, over the limit of "
            f"{MAX_BYTES:,}: use fewer knob values or steps"
        )
    eid = html.escape(element_id, quote=True)
    return (
        f'<div class="optlab-explore" id="{eid}">'
        f'<script type="application/json" class="optlab-explore-data">{payload}'
        "</script>"
        '<p class="optlab-explore-fallback">The interactive figure needs the book\'s '
        "web page (JavaScript); the picture below shows the default settings.</p>"
        "</div>"
    )


def _default_index(knobs: list[dict]) -> int:
    index = 0
    for k in knobs:
        index = index * len(k["values"]) + k["default"]
    return index


def static_figure(data: dict, width: float | None = None):
    """A matplotlib figure of every method's default path on the surface."""
    import matplotlib.pyplot as plt

    from .plot import PANEL_WIDTH

    width = width or PANEL_WIDTH
    x0, x1, y0, y1 = data["window"]
    fig, ax = plt.subplots(figsize=(width, width * (y1 - y0) / (x1 - x0) + 0.9))
    for _, pts in data["contours"]:
        xy = np.array(pts, dtype=float)
        ax.plot(xy[:, 0], xy[:, 1], color="0.8", lw=0.7)
    for name, m in data["methods"].items():
        path = [p for p in m["paths"][_default_index(m["knobs"])] if p is not None]
        xy = np.array(path, dtype=float)
        ax.plot(xy[:, 0], xy[:, 1], lw=1.5, label=name)
    ax.plot(*data["minimum"], marker="*", color="k", ms=10, ls="none")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x$", ylabel="$y$")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    return fig


def show(data: dict, element_id: str) -> None:
    """Display the explorer (HTML, for the site) and its static picture (PNG, for the
    PDF and notebooks) as one output; the picture is checked for legibility."""
    import base64
    import io

    import matplotlib.pyplot as plt
    from IPython.display import display

    from .plot import legibility_problems

    fig = static_figure(data)
    problems = legibility_problems(fig)
    if problems:
        plt.close(fig)
        raise ValueError("illegible explorer picture: " + "; ".join(problems))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    raw = buf.getvalue()
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    display(
        {"text/html": to_html(data, element_id),
         "image/png": base64.b64encode(raw).decode("ascii"),
         "text/plain": f"<explorer {element_id}: {', '.join(data['methods'])}>"},
        # shown at half its pixels, as the book's other 200-dpi ("retina") figures
        metadata={"image/png": {"width": width // 2, "height": height // 2}},
        raw=True,
    )


ETAS = tuple(10 ** (k / 2) for k in range(-8, 3))  # 1e-4 ... 10, half a decade apart


def lecture_methods(etas: Sequence[float] = ETAS) -> dict[str, Method]:
    """The lecture's optimisers, each with an η slider over ``etas`` (default: the
    middle value, until :func:`tune_defaults` moves it) and its β sliders."""
    import optlib

    mid = len(etas) // 2
    lr = Knob("lr", "η", tuple(etas), mid)
    b1 = Knob("beta1", "β₁", (0.5, 0.9, 0.99), 1)
    b2 = Knob("beta2", "β₂", (0.9, 0.999), 1)
    mom = Knob("momentum", "β", (0.5, 0.9, 0.99), 1)

    def adam_like(cls, **fixed):
        return Method(
            lambda p, lr, beta1, beta2: cls(p, lr=lr, betas=(beta1, beta2), **fixed),
            (lr, b1, b2),
        )

    return {
        "SGD": Method(lambda p, lr: optlib.SGD(p, lr=lr), (lr,)),
        "SGDM": Method(
            lambda p, lr, momentum: optlib.SGD(p, lr=lr, momentum=momentum), (lr, mom)
        ),
        "NAG": Method(
            lambda p, lr, momentum: optlib.SGD(
                p, lr=lr, momentum=momentum, nesterov=True
            ),
            (lr, mom),
        ),
        "Adagrad": Method(lambda p, lr: optlib.Adagrad(p, lr=lr), (lr,)),
        "RMSProp": Method(
            lambda p, lr, beta2: optlib.RMSprop(p, lr=lr, alpha=beta2), (lr, b2)
        ),
        "Adam": adam_like(optlib.Adam),
        "AMSGrad": adam_like(optlib.AMSGrad),
        "AdaBound": adam_like(optlib.AdaBound),
        "RAdam": adam_like(optlib.RAdam),
        "NAdam": adam_like(optlib.NAdam),
    }


def final_loss(data: dict, method: str) -> float:
    """The last loss of ``method``'s path at its sliders' defaults (inf if it left)."""
    m = data["methods"][method]
    last = m["losses"][_default_index(m["knobs"])][-1]
    return math.inf if last is None else last


def path_at(data: dict, method: str, **settings: float) -> np.ndarray:
    """The path of ``method`` with the sliders named in ``settings`` (knob key ->
    one of that knob's values) and the others at their defaults, as an array of shape
    (steps + 1, 2); NaN from where the path left the window."""
    if method not in data["methods"]:
        raise ValueError(
            f"method must be one of {', '.join(data['methods'])}, got {method!r}"
        )
    knobs = [dict(k) for k in data["methods"][method]["knobs"]]
    keys = [k["key"] for k in knobs]
    for key, value in settings.items():
        if key not in keys:
            raise ValueError(f"{method} has no knob {key!r} (its knobs: "
                             f"{', '.join(keys)})")
        knob = knobs[keys.index(key)]
        if value not in knob["values"]:
            raise ValueError(f"{key} = {value!r} is not one of the values of "
                             f"{method}'s knob: {knob['values']}")
        knob["default"] = knob["values"].index(value)
    path = data["methods"][method]["paths"][_default_index(knobs)]
    return np.array([[np.nan, np.nan] if q is None else q for q in path], dtype=float)


def tune_defaults(data: dict, key: str = "lr") -> dict[str, tuple[float, bool]]:
    """Set each method's ``key`` slider to the value with the lowest final loss, the
    other sliders at their defaults (a path that left the window counts as worst).
    Returns method -> (that value, whether it lies strictly inside the grid)."""
    out = {}
    for name, m in data["methods"].items():
        knobs = m["knobs"]
        where = [k["key"] for k in knobs].index(key)
        best, best_loss = None, math.inf
        for v in range(len(knobs[where]["values"])):
            trial = [dict(k) for k in knobs]
            trial[where]["default"] = v
            final = m["losses"][_default_index(trial)][-1]
            if final is not None and final < best_loss:
                best, best_loss = v, final
        if best is None:
            raise ValueError(f"{name}: every value of {key} left the window")
        knobs[where]["default"] = best
        n = len(knobs[where]["values"])
        out[name] = (knobs[where]["values"][best], 0 < best < n - 1)
    return out


def online_problem(periods: tuple[int, int] = (101, 21)) -> Problem:
    """The on-line problem of Reddi et al. (2018), one copy per coordinate.

    With ``periods = (p, q)`` the loss of step ``t`` is ``c_t(p) x + c_t(q) y`` on the
    square [-1, 1]^2, where ``c_t(p)`` is ``10 p`` when ``t mod p = 1`` and -10 at the
    other steps: one large gradient per period, which points the right way, and p - 1
    small ones that point the wrong way. Over a period the gradients of a coordinate sum
    to +10, so the best fixed point is (-1, -1). The step is η/√t and every step is
    clamped into the square, as in the chapter "When Adam fails", whose problem is the
    x coordinate of the default. The loss drawn is the average loss per step minus its
    minimum, ``10 (x + 1) / p + 10 (y + 1) / q``: zero at the best point.
    """
    p, q = periods
    for name, period in (("first", p), ("second", q)):
        if isinstance(period, bool) or not isinstance(period, int) or period < 2:
            raise ValueError(
                f"periods: the {name} period must be an integer >= 2, got {period!r}"
            )

    def c(t: int, period: int) -> float:
        return 10.0 * period if t % period == 1 else -10.0

    return Problem(
        name=f"online-{p}-{q}",
        loss=lambda x, y: 10.0 * (x + 1) / p + 10.0 * (y + 1) / q,
        start=(0.0, 0.0),
        minimum=(-1.0, -1.0),
        window=(-1.15, 1.15, -1.15, 1.15),
        loss_at=lambda t, x, y: c(t, p) * x + c(t, q) * y,
        box=(-1.0, 1.0, -1.0, 1.0),
        lr_factor=lambda t: 1.0 / math.sqrt(t),
    )
