"""Chapter 15's family tree: which optimiser extends which, drawn as boxes and arrows.

:func:`family_tree` takes the chapter's data (each method's year, team and place in the
drawing, the "extends" edges, and the teams a wrapper goes around) and returns the
figure; the chapter keeps the data and the reading of it, this module the geometry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

__all__ = ["family_tree"]

#: where each team's shaded band lies: (lower edge, height), in inches of the drawing
BANDS = {"SGD": (6.6, 3.05), "Adam": (0.7, 4.85)}
#: the corner of each band from which a wrapper's dashed arrow leaves
CORNERS = {"SGD": (3.25, 6.6), "Adam": (3.25, 5.55)}
_ARROW = dict(arrowstyle="-|>", color="0.35", lw=0.9, shrinkA=0, shrinkB=0)


def _box_half_sizes(fig, ax, boxes) -> dict:
    # half width and height of each drawn box, in data units (after a layout pass)
    fig.canvas.draw()
    to_data = ax.transData.inverted()
    half = {}
    for name, box in boxes.items():
        (x0, y0), (x1, y1) = to_data.transform(box.get_bbox_patch().get_window_extent())
        half[name] = ((x1 - x0) / 2 + 0.03, (y1 - y0) / 2 + 0.03)
    return half


def family_tree(optimisers: Mapping[str, tuple], extends: Sequence[tuple[str, str]],
                wraps: Sequence[tuple[str, str]], colors: Mapping[str, str],
                width: float, around: Mapping[tuple[str, str], float] | None = None):
    """The figure: a box per method (``name: (year, team, (x, y))``), an arrow per
    ``extends`` edge (``around`` maps an edge to the x of a detour along the right
    edge), a dashed arrow from a team's band to each wrapper of ``wraps``
    (``(team, wrapper)``). ``colors`` fills the bands and the boxes outside both teams."""
    unknown = sorted({n for edge in extends for n in edge} - set(optimisers))
    unknown += sorted({b for _, b in wraps} - set(optimisers))
    if unknown:
        raise ValueError(f"extends/wraps name methods not in optimisers: {unknown}")
    around = dict(around or {})
    fig = plt.figure(figsize=(width, 9.3))
    ax = fig.add_axes((0, 0, 1, 1))
    for team, (y0, height) in BANDS.items():
        ax.add_patch(Rectangle((0.1, y0), 3.8, height, color=colors[team], alpha=0.5,
                               lw=0, zorder=0))
    ax.text(2.0, 9.35, "Team SGD", ha="center", weight="bold", color="tab:blue")
    ax.text(2.0, 0.95, "Team Adam", ha="center", weight="bold", color="tab:purple")
    boxes = {}
    for name, (year, team, (x, y)) in optimisers.items():
        fill = "white" if team in BANDS else colors[team]
        boxes[name] = ax.text(x, y, f"{name}\n{year}", ha="center", va="center",
                              zorder=3, bbox=dict(boxstyle="round,pad=0.3", fc=fill,
                                                  ec="0.3", lw=0.8))
    ax.set(xlim=(0, width), ylim=(0.6, 9.9))
    ax.axis("off")
    half = _box_half_sizes(fig, ax, boxes)

    def edge_point(name, direction):
        # where the ray from the centre of box `name` along `direction` leaves the box
        (w, h), (dx, dy) = half[name], direction
        t = min(w / abs(dx) if dx else float("inf"), h / abs(dy) if dy else float("inf"))
        x, y = optimisers[name][2]
        return x + t * dx, y + t * dy

    for (a, b), x_edge in around.items():
        (xa, ya), (xb, yb) = edge_point(a, (1, 0)), edge_point(b, (1, 0))
        ax.plot([xa, x_edge, x_edge], [ya, ya, yb], color="0.35", lw=0.9, zorder=2)
        ax.annotate("", xy=(xb, yb), xytext=(x_edge, yb), zorder=2, arrowprops=_ARROW)
    for a, b in (edge for edge in extends if edge not in around):
        (xa, ya), (xb, yb) = optimisers[a][2], optimisers[b][2]
        d = (xb - xa, yb - ya)
        ax.annotate("", xy=edge_point(b, (-d[0], -d[1])), xytext=edge_point(a, d),
                    zorder=2, arrowprops=_ARROW)
    for team, b in wraps:
        (xa, ya), (xb, yb) = CORNERS[team], optimisers[b][2]
        ax.annotate("", xy=edge_point(b, (xa - xb, ya - yb)), xytext=(xa, ya), zorder=2,
                    arrowprops=dict(_ARROW, ls="--"))
    return fig
