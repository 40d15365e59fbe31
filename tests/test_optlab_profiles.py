"""optlab.profiles: the flat table and Dolan-More performance profiles."""

from __future__ import annotations

import math

import pytest

from optlab import profiles


def test_profile_by_hand():
    # p1: a=10, b=20, c never; p2: a=30, b=15, c=60; p3: nobody (all fail)
    costs = {
        "p1": {"a": 10.0, "b": 20.0, "c": math.inf},
        "p2": {"a": 30.0, "b": 15.0, "c": 60.0},
        "p3": {"a": math.inf, "b": math.inf, "c": math.inf},
    }
    rho = profiles.performance_profile(costs, [1, 2, 4, 100])
    assert rho["a"] == pytest.approx([1 / 3, 2 / 3, 2 / 3, 2 / 3])  # ratios 1, 2
    assert rho["b"] == pytest.approx([1 / 3, 2 / 3, 2 / 3, 2 / 3])  # ratios 2, 1
    assert rho["c"] == pytest.approx([0, 0, 1 / 3, 1 / 3])  # ratios inf, 4


def test_profile_refuses_bad_input():
    with pytest.raises(ValueError, match="at least one problem"):
        profiles.performance_profile({}, [1])
    with pytest.raises(ValueError, match="lists optimisers"):
        profiles.performance_profile({"p": {"a": 1.0}, "q": {"b": 1.0}}, [1])
    with pytest.raises(ValueError, match="must be > 0"):
        profiles.performance_profile({"p": {"a": 0.0}}, [1])
    with pytest.raises(ValueError, match="must be > 0"):
        profiles.performance_profile({"p": {"a": math.nan}}, [1])
    with pytest.raises(ValueError, match="tau must be >= 1"):
        profiles.performance_profile({"p": {"a": 1.0}}, [0.5])


def _summary(rows, target=0.9):
    return {
        "target": target,
        "target_from": rows[0][0],
        "higher_is_better": True,
        "rows": [
            {
                "optimizer": o,
                "best_lr": 0.1,
                "grid": [0.01, 0.1, 1.0],
                "bracketed": True,
                "seeds": list(range(10)),
                "diverged": 0,
                "val_metric": (0.9, 0.89, 0.91),
                "test_metric": (0.9, 0.89, 0.91),
                "gap": (0.0, -0.01, 0.01),
                "steps": 100,
                "steps_to_target": s,
                "reached_target": "10/10" if s else "0/10",
                "indistinguishable_from_best": True,
            }
            for o, s in rows
        ],
    }


def test_costs_use_only_studies_that_ran_every_optimiser():
    summ = {
        "full": _summary([("adam", 40), ("sgdm", None), ("swats", 80)]),
        "small": _summary([("adam", 10), ("sgdm", 20)]),
    }
    assert profiles.steps_to_target_costs(summ) == {
        "full": {"adam": 40.0, "sgdm": math.inf},
        "small": {"adam": 10.0, "sgdm": 20.0},
    }
    every = profiles.steps_to_target_costs(summ, ["adam", "sgdm", "swats"])
    assert every == {"full": {"adam": 40.0, "sgdm": math.inf, "swats": 80.0}}
    rows = profiles.table(summ)
    assert [(r["study"], r["optimizer"]) for r in rows][:2] == [
        ("full", "adam"), ("full", "sgdm")]
    assert rows[0]["seeds"] == 10 and rows[0]["steps_to_target"] == 40


def test_the_committed_store_is_found_from_the_package():
    assert profiles.COMMITTED.endswith("/results/optlab.db")
    summ = profiles.summaries()
    assert {"digits-logreg", "mnist-cnn", "char-transformer"} <= set(summ)


def test_table_flags_ties_on_the_test_interval():
    summ = {"w": _summary([("adam", 40), ("sgdm", 50), ("sgd", None)])}
    rows = summ["w"]["rows"]
    rows[0]["test_metric"] = (0.95, 0.94, 0.96)
    rows[1]["test_metric"] = (0.93, 0.92, 0.945)  # overlaps adam's
    rows[2]["test_metric"] = (0.90, 0.89, 0.91)  # does not
    flat = {r["optimizer"]: r for r in profiles.table(summ)}
    assert {r["best_test"] for r in flat.values()} == {"adam"}
    assert flat["sgdm"]["test_tied_with_best"] and not flat["sgd"]["test_tied_with_best"]
    assert flat["adam"]["test_tied_with_best"]

