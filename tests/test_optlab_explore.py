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


# --- Problems: on-line losses, a feasible box, a decaying learning rate ---------------


def _torch_online(make, lr, periods, steps, decay=True, clamp=True):
    """The on-line problem of optlab.explore.online_problem run by hand with a class of
    torch.optim: the gradient of step t set by hand, lr/sqrt(t) set before the step
    and the point clamped into [-1, 1]^2 after it."""
    import torch

    xy = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = make([xy], lr)
    path = [xy.detach().clone()]
    for t in range(1, steps + 1):
        xy.grad = torch.tensor([10.0 * p if t % p == 1 else -10.0 for p in periods],
                               dtype=torch.float64)
        opt.param_groups[0]["lr"] = lr / math.sqrt(t) if decay else lr
        opt.step()
        if clamp:
            with torch.no_grad():
                xy.clamp_(-1.0, 1.0)
        path.append(xy.detach().clone())
    return __import__("torch").stack(path).numpy()


@pytest.mark.parametrize("amsgrad", [False, True])
def test_the_online_problem_follows_torch_adam(amsgrad):
    import torch

    cls = optlib.AMSGrad if amsgrad else optlib.Adam
    etas, beta2s, periods, steps = (0.3, 1.0), (0.9, 0.99), (101, 21), 400
    method = explore.Method(
        lambda p, lr, beta2: cls(p, lr=lr, betas=(0.9, beta2)),
        (explore.Knob("lr", "η", etas), explore.Knob("beta2", "β₂", beta2s)),
    )
    d = explore.explore(explore.online_problem(periods), {"m": method}, steps=steps)
    assert d["surface"] == "online-101-21" and len(d["contours"]) > 5
    for lr in etas:
        for beta2 in beta2s:
            def make(params, lr, beta2=beta2):
                return torch.optim.Adam(params, lr=lr, betas=(0.9, beta2),
                                        amsgrad=amsgrad)
            ref = _torch_online(make, lr, periods, steps)
            got = explore.path_at(d, "m", lr=lr, beta2=beta2)
            np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)
            # the decay, and at the larger rate the box, act: without them the path
            # is another one
            offs = [{"decay": False}] + ([{"clamp": False}] if lr == 1.0 else [])
            for off in offs:
                other = _torch_online(make, lr, periods, steps, **off)
                assert np.abs(other - ref).max() > 0.05, off
            loss = d["methods"]["m"]["losses"][etas.index(lr) * 2 + beta2s.index(beta2)]
            assert loss[-1] == pytest.approx(
                10 * (ref[-1, 0] + 1) / 101 + 10 * (ref[-1, 1] + 1) / 21, rel=1e-3,
                abs=1e-4)


def test_adam_fails_and_amsgrad_does_not_on_the_chapter_problem():
    """Chapter 4's x coordinate: with beta2 = 0.99 Adam climbs towards +1, AMSGrad
    goes to the optimum -1 (the chapters' explorers rest on this)."""
    methods = {
        name: explore.Method(lambda p, lr, cls=cls: cls(p, lr=lr, betas=(0.9, 0.99)),
                             (explore.Knob("lr", "η", (1.0,)),))
        for name, cls in (("Adam", optlib.Adam), ("AMSGrad", optlib.AMSGrad))
    }
    d = explore.explore(explore.online_problem(), methods, steps=2000)
    assert explore.path_at(d, "Adam")[-1, 0] > 0.5
    assert explore.path_at(d, "AMSGrad")[-1, 0] < -0.5


def test_a_problem_without_options_is_a_surface():
    f, start, minimum, window = SURFACES["quadratic"]
    plain = explore.Problem("bowl", f, start, minimum, window)
    levels = np.geomspace(0.05, float(f(window[0], window[3])), 12)
    a = explore.explore(plain, {"SGDM": SGDM}, steps=30, levels=levels)
    b = explore.explore("quadratic", {"SGDM": SGDM}, steps=30)
    assert a["surface"] == "bowl"
    assert json.dumps(a["methods"]) == json.dumps(b["methods"])
    assert a["contours"] == b["contours"]


def test_path_at_reads_one_setting(data):
    m = data["methods"]["SGDM"]
    got = explore.path_at(data, "SGDM", lr=0.5, momentum=0.0)
    want = [[np.nan, np.nan] if q is None else q for q in m["paths"][2 * 2 + 0]]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))
    default = explore.path_at(data, "SGDM")  # lr 0.1, momentum 0.9: index 1 * 2 + 1
    np.testing.assert_array_equal(default, np.array(m["paths"][3], dtype=float))
    assert [k["default"] for k in m["knobs"]] == [1, 1]  # left as they were
    with pytest.raises(ValueError, match="method must be one of SGDM, got 'Adam'"):
        explore.path_at(data, "Adam")
    with pytest.raises(ValueError, match="SGDM has no knob 'beta2'"):
        explore.path_at(data, "SGDM", beta2=0.9)
    with pytest.raises(ValueError, match="lr = 0.2 is not one of the values"):
        explore.path_at(data, "SGDM", lr=0.2)


@pytest.mark.parametrize("periods", [(1, 21), (101, 0), (101, 2.5), (True, 21)])
def test_online_problem_rejects_bad_periods(periods):
    with pytest.raises(ValueError, match="period must be an integer >= 2"):
        explore.online_problem(periods)


def test_computing_contours_leaves_the_notebook_backend_alone():
    """A chapter draws its own figures after an explorer: computing the contour lines
    must neither switch pyplot's backend nor leave a figure open."""
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    try:
        plt.switch_backend("svg")
        figures = plt.get_fignums()
        explore.explore("quadratic", {"SGDM": SGDM}, steps=2)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == figures
    finally:
        plt.switch_backend(before)
