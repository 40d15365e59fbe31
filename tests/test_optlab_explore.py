"""optlab.explore: the data an explorable figure ships, and its HTML."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import optlib
from optlab import explore
from optlab.surfaces import SURFACES, run_on_surface

ETAS = (0.01, 0.1, 0.5)
SGDM = explore.Method(
    lambda p, lr, momentum: optlib.SGD(p, lr=lr, momentum=momentum),
    (explore.Knob("lr", "η", ETAS, 1), explore.Knob("momentum", "β", (0.0, 0.9), 1)),
)


@pytest.fixture(scope="module")
def data():
    return explore.explore("quadratic", {"SGDM": SGDM}, steps=30)


def test_every_combination_is_the_path_optlib_takes(data):
    m = data["methods"]["SGDM"]
    assert len(m["paths"]) == len(ETAS) * 2  # lr-major order, like the sliders
    f, start, _, _ = SURFACES["quadratic"]
    for i, (lr, beta) in enumerate([(lr, b) for lr in ETAS for b in (0.0, 0.9)]):
        ref = run_on_surface(
            lambda p: optlib.SGD(p, lr=lr, momentum=beta), f, start, 30
        )
        got = np.array([[np.nan, np.nan] if q is None else q for q in m["paths"][i]])
        ok = ~np.isnan(got[:, 0])
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-3, atol=1e-4)
        assert m["losses"][i][0] == pytest.approx(float(f(*start)), rel=1e-3)
    assert [k["default"] for k in m["knobs"]] == [1, 1]


def test_a_diverging_path_is_cut_where_it_leaves(data):
    # lr 0.5 on 2y^2 multiplies y by -1 each step: stays; a larger rate escapes
    fast = explore.Method(lambda p, lr: optlib.SGD(p, lr=lr),
                          (explore.Knob("lr", "η", (0.3, 2.0)),))
    d = explore.explore("quadratic", {"SGD": fast}, steps=40)
    calm, wild = d["methods"]["SGD"]["paths"]
    assert None not in calm
    first = wild.index(None)
    assert 0 < first < 40 and all(p is None for p in wild[first:])
    assert d["methods"]["SGD"]["losses"][1][first] is None


def test_numbers_are_rounded_and_the_output_is_reproducible(data):
    again = explore.explore("quadratic", {"SGDM": SGDM}, steps=30)
    assert json.dumps(again) == json.dumps(data)
    numbers = re.findall(r"-?\d+\.\d+(?:e-?\d+)?", json.dumps(data["methods"]))
    assert numbers and all(
        len(n.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) <= explore.DIGITS
        for n in numbers
    )
    assert data["contours"] and all(len(pts) > 1 for _, pts in data["contours"])


def test_html_carries_the_data_safely(data):
    evil = dict(data, surface="</script><b>x</b>")
    out = explore.to_html(evil, 'id"1')
    assert out.count("</script>") == 1 and 'id="id&quot;1"' in out
    payload = out.split('class="optlab-explore-data">')[1].split("</script>")[0]
    assert json.loads(payload.replace("<\\/", "</"))["surface"] == evil["surface"]


def test_bad_input_names_the_argument(data, monkeypatch):
    with pytest.raises(ValueError, match="surface must be one of"):
        explore.explore("bowl", {"SGDM": SGDM})
    with pytest.raises(ValueError, match="at least one optimiser"):
        explore.explore("quadratic", {})
    with pytest.raises(ValueError, match="values must not be empty"):
        explore.Knob("lr", "η", ())
    with pytest.raises(ValueError, match="default must index values"):
        explore.Knob("lr", "η", (0.1,), default=1)
    monkeypatch.setattr(explore, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="over the limit"):
        explore.to_html(data, "x")


def test_the_static_picture_is_legible(data):
    import matplotlib.pyplot as plt

    from optlab.plot import legibility_problems, style

    style()
    fig = explore.static_figure(data)
    try:
        assert legibility_problems(fig) == []
    finally:
        plt.close(fig)


def test_the_lecture_methods_build(data):
    methods = explore.lecture_methods()
    assert {"SGD", "SGDM", "Adam"} <= set(methods)
    p = [__import__("torch").zeros(2, requires_grad=True)]
    for m in methods.values():
        kwargs = {k.key: k.values[k.default] for k in m.knobs}
        assert hasattr(m.make(p, **kwargs), "step")


def test_tune_defaults_picks_the_lowest_final_loss():
    sgd = explore.Method(lambda p, lr: optlib.SGD(p, lr=lr),
                         (explore.Knob("lr", "η", (0.01, 0.1, 0.3, 0.6)),))
    d = explore.explore("quadratic", {"SGD": sgd}, steps=20)
    finals = [ls[-1] for ls in d["methods"]["SGD"]["losses"]]
    want = min(range(4), key=lambda i: math.inf if finals[i] is None else finals[i])
    (best, inside), = explore.tune_defaults(d).values()
    assert best == (0.01, 0.1, 0.3, 0.6)[want] and inside == (0 < want < 3)
    assert d["methods"]["SGD"]["knobs"][0]["default"] == want


@pytest.mark.parametrize("name", ["SGDM", "Adam", "RMSProp", "AdaBound"])
def test_running_many_at_once_equals_running_each_alone(name):
    m = explore.lecture_methods()[name]
    f, start, _, _ = SURFACES["rosenbrock"]
    combos = [dict(zip((k.key for k in m.knobs), c)) for c in
              [tuple(k.values[k.default] for k in m.knobs),
               tuple(k.values[-1] for k in m.knobs)]]
    makers = [lambda p, h=h: m.make(p, **h) for h in combos]
    together = explore.run_many(makers, f, start, 50)
    for make, path in zip(makers, together):
        np.testing.assert_array_equal(path, run_on_surface(make, f, start, 50))
