"""optlab.family: chapter 15's family tree."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from optlab.family import family_tree  # noqa: E402

METHODS = {"SGD": (1951, "SGD", (0.9, 8.75)), "SGDM": (1964, "SGD", (0.9, 7.85)),
           "Adam": (2015, "Adam", (0.9, 3.3)), "Nadam": (2016, "Adam", (2.95, 2.4)),
           "Lookahead": (2019, "around", (3.25, 6.1))}
COLORS = {"SGD": "#dbe9f6", "Adam": "#f3dde8", "around": "#fff2cc"}


def test_one_box_per_method_and_one_arrow_per_edge():
    extends = [("SGD", "SGDM"), ("SGDM", "Adam"), ("SGDM", "Nadam"), ("Adam", "Nadam")]
    wraps = [("SGD", "Lookahead"), ("Adam", "Lookahead")]
    fig = family_tree(METHODS, extends, wraps, COLORS, 4.0,
                      around={("SGDM", "Nadam"): 3.93})
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert {f"{n}\n{y}" for n, (y, _, _) in METHODS.items()} <= labels
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == len(extends) + len(wraps)      # the detour keeps its head
    dashed = [a for a in arrows if a.arrow_patch.get_linestyle() == "--"]
    assert len(dashed) == len(wraps)
    assert len(ax.lines) == 1                            # the detour's two segments
    plt.close(fig)


def test_an_edge_to_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match=r"not in optimisers: \['RAdam'\]"):
        family_tree(METHODS, [("Adam", "RAdam")], [], COLORS, 4.0)
