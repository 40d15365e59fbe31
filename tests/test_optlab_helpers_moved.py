"""Helpers that moved from the chapters into optlab (issue 17: short notebook cells).

``optlab.plot.plain_log_ticks`` replaces three matplotlib calls that chapter 14 wrote out
for each log axis; the test draws the same data both ways and compares what a reader sees.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pytest  # noqa: E402

from optlab import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def labelled_ticks(axis):
    """(position, text) of every tick of ``axis`` that carries a label once drawn."""
    axis.figure.canvas.draw()
    ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    lo, hi = sorted(axis.get_view_interval())
    return sorted((round(t.get_loc(), 12), t.label1.get_text()) for t in ticks
                  if t.label1.get_text() and lo <= t.get_loc() <= hi)


def by_hand(axis, subs):
    """What chapter 14 used to write in its cells."""
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs))
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def log_axes(low, high):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [low, (low * high) ** 0.5, high])
    ax.set(xscale="log", yscale="log")
    return ax


@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("span", [(0.03, 3.0), (0.2, 0.9), (5.0, 400.0)])
@pytest.mark.parametrize("subs", [(1.0, 2.0, 5.0), (1.0, 3.0)])
def test_same_ticks_as_the_calls_it_replaces(axis, span, subs):
    ours, reference = log_axes(*span), log_axes(*span)
    assert plot.plain_log_ticks(ours, axis=axis, subs=subs) is ours
    by_hand(getattr(reference, f"{axis}axis"), subs)
    got = labelled_ticks(getattr(ours, f"{axis}axis"))
    want = labelled_ticks(getattr(reference, f"{axis}axis"))
    assert got == want and len(got) >= 1
    # and the other axis keeps matplotlib's default labels
    other = "y" if axis == "x" else "x"
    untouched = log_axes(*span)
    assert labelled_ticks(getattr(ours, f"{other}axis")) == labelled_ticks(
        getattr(untouched, f"{other}axis"))


def test_labels_are_plain_numbers():
    ax = plot.plain_log_ticks(log_axes(0.04, 3.0))
    texts = [text for _, text in labelled_ticks(ax.yaxis)]
    assert texts == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    # without the helper matplotlib writes powers of ten, which is what it fixes
    default = [text for _, text in labelled_ticks(log_axes(0.04, 3.0).yaxis)]
    assert default != texts and all("10^" in t for t in default)


@pytest.mark.parametrize("bad, error, message", [
    (dict(ax="not an axes"), TypeError, "ax must be a matplotlib Axes, got str"),
    (dict(axis="z"), ValueError, "Invalid axis: 'z' (expected 'x' or 'y')"),
    (dict(subs=()), ValueError, "Invalid subs: ()"),
    (dict(subs=(0.5, 2.0)), ValueError, "Invalid subs: (0.5, 2.0)"),
    (dict(subs=(1.0, 10.0)), ValueError, "Invalid subs: (1.0, 10.0)"),
    (dict(subs="abc"), ValueError, "Invalid subs: 'abc'"),
])
def test_bad_arguments(bad, error, message):
    kwargs = {"ax": log_axes(0.1, 1.0), **bad}
    with pytest.raises(error) as info:
        plot.plain_log_ticks(**kwargs)
    assert str(info.value).startswith(message)
