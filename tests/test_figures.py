"""Figures a reader can read on a phone: optlab.plot's legibility check and the notebook hook.

The book's figures are PNG at 200 dpi, displayed ``figure.dpi`` (100) CSS pixels per inch and
shrunk to the 342-px content column of a 390-px phone screen. Every text must still show at
10 pt or more there; ``optlab.book.setup()`` makes a notebook print a line to stderr whenever
it shows a figure that breaks this, so that strict nbval fails on a committed chapter that has one.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from optlab import book, plot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*/*.ipynb"))


@pytest.fixture(autouse=True)
def _book_style():
    with plt.rc_context():
        plot.style()
        yield
        plt.close("all")


def test_a_book_panel_is_legible_on_a_phone():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="SGD")
    ax.set_xlabel("step")
    ax.set_title("loss")
    ax.legend()
    assert plot.legibility_problems(fig) == []
    # 12 pt on a panel of about 4 in shows between 10 and 12 pt on the phone
    assert 10 / 12 <= plot.display_scale(fig) <= 1.05


def test_small_text_is_reported():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    ax.legend(["tiny"], fontsize=7)
    problems = plot.legibility_problems(fig)
    assert len(problems) == 1 and "'tiny' is 7 pt" in problems[0]


def test_a_wide_figure_is_reported_even_with_book_fonts():
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax in axes:
        ax.plot([0, 1])
    problems = plot.legibility_problems(fig)
    assert problems and all("shows at" in p for p in problems)
    # the same three panels stacked in one column of the book's width pass
    fig, axes = plt.subplots(3, 1, figsize=(plot.PANEL_WIDTH, 7))
    for ax in axes:
        ax.plot([0, 1])
    assert plot.legibility_problems(fig) == []


def test_a_wider_screen_shows_larger_text():
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([0, 1])
    assert plot.legibility_problems(fig)
    assert plot.legibility_problems(fig, display_px=800) == []


def test_setup_outside_a_notebook_only_sets_the_style():
    plt.rcParams["font.size"] = 5
    book.setup()
    assert plt.rcParams["font.size"] == plot.FONT_PT
    assert plt.rcParams["figure.dpi"] == 100


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


def test_the_hook_reports_an_illegible_figure_in_a_notebook():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import matplotlib.pyplot as plt\nimport optlab.book\noptlab.book.setup()",
        "fig, ax = plt.subplots()\nax.plot([1, 2])\nax.legend(['fine'])",
        "fig, ax = plt.subplots()\nax.plot([1, 2])\nax.legend(['tiny'], fontsize=6)",
        "fig, ax = plt.subplots(figsize=(9, 3))\nax.plot([1, 2])\nplt.show()",
    )]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    good, bad = nb.cells[1].outputs, nb.cells[2].outputs
    assert not [o for o in good if o.output_type == "stream"]
    errors = [o.text for o in bad if o.output_type == "stream" and o.name == "stderr"]
    assert errors and "illegible figure: 'tiny' is 6 pt" in errors[0]
    # plt.show() displays (and closes) a figure before the cell ends: checked all the same
    shown = [o.text for o in nb.cells[3].outputs if o.output_type == "stream"]
    assert shown and "illegible figure:" in shown[0] and "shows at" in shown[0]
    images = [o for o in good if "image/png" in o.get("data", {})]
    assert len(images) == 1
    # "retina": the PNG has twice the pixels of its displayed width, i.e. 200 dpi
    width, _ = _png_size(images[0]["data"]["image/png"])
    shown = images[0]["metadata"]["image/png"]["width"]
    assert width // 2 == shown and 300 <= shown <= 420


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_committed_figure_is_200_dpi_and_phone_sized(path):
    """Every PNG of a chapter was drawn by the book's style: 200 dpi, at most 4.3 in wide."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = 0
    for k, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" not in data:
                continue
            found += 1
            shown = out.get("metadata", {}).get("image/png", {}).get("width")
            width, _ = _png_size(data["image/png"])
            assert shown, f"cell {k}: a PNG without a display width (not the retina format)"
            assert width // 2 == shown, f"cell {k}: {width} px shown at {shown}: under 200 dpi"
            assert shown <= 430, f"cell {k}: shown {shown} px wide: wider than one book panel"
    assert found, f"{path.name} has no figure"


# --- glued numbers (optlab.book.glue) ------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (4.0, 4), (1999.0, 1999), (-3.0, -3), (0.25, 0.25), (1.235e22, 1.235e22),
    (np.float64(2.0), 2), (np.int64(7), 7), (np.float32(0.5), 0.5), ("4.0", "4.0"), (True, True),
])
def test_plain_number(value, expected):
    out = book.plain_number(value)
    assert out == expected and type(out) is type(expected)


def test_glue_rejects_a_bad_name():
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        book.glue("", 1)
