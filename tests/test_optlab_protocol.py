"""optlab.protocol: interval maths against hand-computed values, bracketing, targets."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("scipy")

from optlab import protocol  # noqa: E402


def test_t_interval_matches_hand_computation():
    # values 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764451, half =
    # 2.7764451*s/sqrt(5)
    mean, lo, hi = protocol.t_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert mean == 3.0
    assert lo == pytest.approx(3 - half, abs=1e-9)
    assert hi == pytest.approx(3 + half, abs=1e-9)
    assert half == pytest.approx(1.963243, abs=1e-6)  # the number by hand


def test_t_interval_ten_seeds():
    # ten values 0.90, 0.91, ..., 0.99: mean 0.945, s = 0.0302765, t(0.975, 9) =
    # 2.2621572
    vals = [0.90 + 0.01 * k for k in range(10)]
    mean, lo, hi = protocol.t_interval(vals)
    assert mean == pytest.approx(0.945)
    assert hi - mean == pytest.approx(2.2621572 * 0.0302765 / math.sqrt(10), rel=1e-5)
    assert mean - lo == pytest.approx(hi - mean)


def test_t_interval_edge_cases():
    mean, lo, hi = protocol.t_interval([0.7])
    assert mean == 0.7 and math.isnan(lo) and math.isnan(hi)
    assert protocol.t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="at least one value"):
        protocol.t_interval([])
    with pytest.raises(ValueError, match="confidence"):
        protocol.t_interval([1, 2], confidence=1.5)


def test_indistinguishable_is_overlap():
    assert protocol.indistinguishable((0.1, 0.3), (0.25, 0.4))
    assert protocol.indistinguishable((0.1, 0.3), (0.3, 0.4))  # touching
    assert not protocol.indistinguishable((0.1, 0.2), (0.25, 0.4))
    assert not protocol.indistinguishable((0.5, 0.6), (0.1, 0.4))
    assert protocol.indistinguishable((math.nan, math.nan), (0.1, 0.2))


def test_extend_grid_only_at_an_edge():
    grid = [1e-3, 1e-2, 1e-1]
    assert protocol.extend_grid(grid, 1e-1) == [pytest.approx(1.0)]
    assert protocol.extend_grid(grid, 1e-3) == [pytest.approx(1e-4)]
    assert protocol.extend_grid(grid, 1e-2) == []
    assert protocol.extend_grid([0.1], 0.1) == [pytest.approx(0.01), pytest.approx(1.0)]
    assert protocol.extend_grid(grid, 1e-1, factor=2) == [pytest.approx(0.2)]
    with pytest.raises(ValueError, match="not in the grid"):
        protocol.extend_grid(grid, 0.5)


def _result(opt, lr, seed, val, higher=True, curve=None, diverged=False):
    return {
        "config": {
            "optimizer": opt,
            "lr": lr,
            "steps": 100,
            "higher_is_better": higher,
            "metric": "accuracy",
        },
        "seed": seed,
        "val_metric": None if diverged else val,
        "test_metric": None if diverged else val - 0.01,
        "gap": None if diverged else 0.01,
        "diverged": diverged,
        "val_curve": curve or {"step": [50, 100], "val_metric": [val / 2, val]},
    }


def test_best_lr_uses_the_median_and_counts_divergence_as_worst():
    rs = [
        _result("a", 0.1, 0, 0.9),
        _result("a", 0.1, 1, 0.1, diverged=True),
        _result("a", 0.1, 2, 0.9),
        _result("a", 0.01, 0, 0.8),
        _result("a", 0.01, 1, 0.8),
        _result("a", 0.01, 2, 0.8),
    ]
    assert protocol.best_lr(rs, higher_is_better=True) == 0.1  # median 0.9 > 0.8
    rs[2] = _result("a", 0.1, 2, 0.1, diverged=True)
    assert protocol.best_lr(rs, higher_is_better=True) == 0.01  # median now -inf
    low = [
        _result("b", 0.1, 0, 2.0, higher=False),
        _result("b", 1.0, 0, 1.5, higher=False),
    ]
    assert protocol.best_lr(low, higher_is_better=False) == 1.0


def test_steps_to_target():
    r = _result(
        "a", 0.1, 0, 0.9, curve={"step": [10, 20, 30], "val_metric": [0.5, 0.8, 0.9]}
    )
    assert protocol.steps_to_target(r, 0.8, True) == 20
    assert protocol.steps_to_target(r, 0.95, True) is None
    r = _result(
        "a",
        0.1,
        0,
        1.0,
        higher=False,
        curve={"step": [10, 20, 30], "val_metric": [3.0, 2.0, 1.0]},
    )
    assert protocol.steps_to_target(r, 2.0, False) == 20


def test_run_protocol_brackets_an_edge_and_runs_finals():
    """A fake objective peaked at lr = 1: the grid 1e-3..1e-1 has its best at the top
    edge,
    so the protocol must extend it to 1 and 10, then run 10 seeds at lr = 1."""
    calls = []

    def fake_sweep(workload, optimizers, lrs, seeds, steps, **kw):
        calls.append((tuple(lrs), tuple(seeds)))
        return [
            _result(optimizers[0], lr, s, 1.0 - abs(math.log10(lr)) / 10 + s * 1e-4)
            for lr in lrs
            for s in seeds
        ]

    summary = protocol.run_protocol(
        "w",
        ["sgd"],
        [1e-3, 1e-2, 1e-1],
        tune_seeds=[0, 1],
        final_seeds=10,
        sweep_fn=fake_sweep,
    )
    assert summary["grids"]["sgd"] == pytest.approx([1e-3, 1e-2, 1e-1, 1.0, 10.0])
    assert calls[1][0] == pytest.approx((1.0,)) and calls[2][0] == pytest.approx(
        (10.0,)
    )
    assert calls[-1] == ((pytest.approx(1.0),), tuple(range(10)))
    (row,) = summary["rows"]
    assert row["best_lr"] == pytest.approx(1.0) and row["bracketed"]
    assert row["seeds"] == list(range(10))  # tuning seeds 0, 1 are not counted twice
    with pytest.raises(ValueError, match="final_seeds"):
        protocol.run_protocol("w", ["sgd"], [0.1], final_seeds=3, sweep_fn=fake_sweep)


def test_summarize_target_and_indistinguishable():
    rs = [_result("a", 0.1, s, 0.90 + 0.001 * s) for s in range(10)]
    rs += [_result("b", 0.1, s, 0.80 + 0.001 * s) for s in range(10)]
    rs += [_result("c", 0.1, s, 0.899 + 0.001 * s) for s in range(10)]
    s = protocol.summarize(rs)
    assert s["target_from"] == "a"
    assert s["target"] == pytest.approx(0.9045)
    rows = {r["optimizer"]: r for r in s["rows"]}
    assert rows["c"]["indistinguishable_from_best"]
    assert not rows["b"]["indistinguishable_from_best"]
    assert rows["b"]["steps_to_target"] is None and rows["a"]["steps_to_target"] == 100


def test_summarize_reports_the_lr_that_ran_the_finals():
    """Tuned on seed 0, lr 0.3 won and got ten seeds, four of which diverged; lr 0.01
    ran one seed only. The row is the finals' lr, not a one-seed lr whose median
    looks better than a median that counts divergences as worst (gan-2d, SGDM)."""
    low = dict(higher=False)
    rs = [_result("sgdm", 0.01, 0, 0.15, **low), _result("sgdm", 1.0, 0, 0, **low)]
    rs[-1] = _result("sgdm", 1.0, 0, 0, diverged=True, **low)
    rs += [_result("sgdm", 0.3, s, 0.11 + 0.01 * s, **low) for s in range(6)]
    rs += [_result("sgdm", 0.3, s, 0, diverged=True, **low) for s in range(6, 10)]
    (row,) = protocol.summarize(rs)["rows"]
    assert row["best_lr"] == 0.3 and row["diverged"] == 4 and len(row["seeds"]) == 10
    assert row["bracketed"]
    # a plain grid (the same seeds at every lr) still picks the best median
    even = [_result("a", lr, s, v) for lr, v in ((0.1, 0.9), (0.01, 0.8)) for s in (0, 1)]
    assert protocol.summarize(even)["rows"][0]["best_lr"] == 0.1
