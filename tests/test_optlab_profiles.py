"""optlab.profiles: the flat table and Dolan-More performance profiles."""

from __future__ import annotations

import math

import pytest

from optlab import profiles, protocol


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



# compare / winner / check_claim / format_rows: the verdicts the chapters glue


def _rows(study="w", higher=True, **tests):
    """Rows of profiles.table for one study: name=(mean, low, high, seeds)."""
    return [
        {"study": study, "optimizer": name, "best_lr": 0.003, "seeds": seeds,
         "test": (mean, low, high), "higher_is_better": higher, "steps": 300}
        for name, (mean, low, high, seeds) in tests.items()
    ]


def test_winner_reads_the_direction_of_the_metric():
    apart = {"a": (0.95, 0.94, 0.96, 10), "b": (0.90, 0.89, 0.91, 10)}
    up = _rows(higher=True, **apart)
    assert profiles.winner(up, "w", "a", "b") == "a"
    assert profiles.winner(up, "w", "b", "a") == "a"
    down = _rows(higher=False, **apart)  # bits per char: lower is better
    assert profiles.winner(down, "w", "a", "b") == "b"
    assert profiles.compare(down, "w", "a", "b") == "b ahead"
    assert profiles.compare(up, "w", "a", "b", labels={"a": "Adam"}) == "Adam ahead"


def test_overlap_is_a_tie_and_names_the_seeds():
    rows = _rows(a=(0.95, 0.93, 0.97, 12), b=(0.94, 0.92, 0.93, 10))  # touch at 0.93
    assert profiles.winner(rows, "w", "a", "b") == ""
    assert profiles.compare(rows, "w", "a", "b") == "indistinguishable at 10 seeds"
    rows = _rows(a=(0.95, 0.931, 0.97, 12), b=(0.92, 0.91, 0.93, 10))
    assert profiles.compare(rows, "w", "a", "b") == "a ahead"


def test_missing_or_unfinished_rows_are_not_compared():
    rows = _rows(a=(0.95, 0.94, 0.96, 10), b=(0.90, 0.89, 0.91, 9))
    assert profiles.winner(rows, "w", "a", "b") is None  # b has 9 of 10 seeds
    assert profiles.compare(rows, "w", "a", "b") == profiles.NOT_YET
    assert profiles.compare(rows, "w", "a", "b", min_seeds=9) == "a ahead"
    assert profiles.compare(rows, "w", "a", "c") == "not in the store yet"
    assert profiles.compare(rows, "other", "a", "b") == profiles.NOT_YET
    assert not profiles.finished(None) and profiles.finished(rows[0])


def test_a_row_without_a_mean_loses_and_a_nan_bound_ties():
    nan = math.nan
    rows = _rows(a=(nan, nan, nan, 10), b=(0.5, 0.4, 0.6, 10), c=(0.7, nan, nan, 10))
    assert profiles.winner(rows, "w", "a", "b") == "b"  # every seed of a diverged
    assert profiles.winner(rows, "w", "b", "c") == ""  # the protocol's NaN rule
    both = _rows(a=(nan, nan, nan, 10), b=(nan, nan, nan, 10))
    assert profiles.winner(both, "w", "a", "b") == ""


def test_compare_refuses_a_pair_of_one():
    rows = _rows(a=(0.95, 0.94, 0.96, 10))
    with pytest.raises(ValueError, match="two different optimisers"):
        profiles.compare(rows, "w", "a", "a")
    with pytest.raises(TypeError, match="sequence of optimiser names"):
        profiles.rows_for(rows, "w", "a")


def test_check_claim_has_four_answers():
    rows = _rows(a=(0.95, 0.94, 0.96, 10), b=(0.90, 0.89, 0.91, 10),
                 c=(0.945, 0.93, 0.955, 10), d=(0.9, 0.8, 1.0, 3))
    assert profiles.check_claim(rows, "w", "a", "b", "a") == "confirmed"
    assert profiles.check_claim(rows, "w", "a", "b", "b") == "contradicted"
    assert profiles.check_claim(rows, "w", "a", "b", None) == "contradicted"
    assert profiles.check_claim(rows, "w", "a", "c", "a") == "not confirmed"
    assert profiles.check_claim(rows, "w", "a", "c", None) == "confirmed"
    assert profiles.check_claim(rows, "w", "a", "d", "a") == profiles.NOT_YET
    with pytest.raises(ValueError, match="expected must be"):
        profiles.check_claim(rows, "w", "a", "b", "c")


def test_format_rows_prints_what_the_chapters_read():
    rows = _rows(study="char-transformer", higher=False,
                 adam=(3.02617, 2.99631, 3.05602, 10),
                 radam=(2.98561, 2.95917, 3.01206, 7))
    text = profiles.format_rows(rows, "char-transformer", ["radam", "swats", "adam"])
    lines = text.split("\n")
    assert lines[0] == ("char-transformer: test bits per char (lower is better), "
                        "300 steps")
    assert lines[1].split() == ["optimizer", "tuned", "lr", "test", "mean", "[95",
                                "%", "interval]", "seeds"]
    assert lines[2].split() == ["radam", "0.003", "2.986", "[2.959,", "3.012]", "7",
                                "(unfinished)"]
    assert lines[3].split() == ["swats", "not", "in", "the", "store", "yet"]
    assert lines[4].split() == ["adam", "0.003", "3.026", "[2.996,", "3.056]", "10"]
    assert profiles.format_rows(rows, "nowhere", ["adam"]).startswith(
        "nowhere: not in the store yet")


def test_verdicts_on_the_committed_store_follow_its_intervals():
    # every pair of finished rows: the verdict agrees with the protocol's own test
    rows = profiles.table(profiles.summaries())
    checked = 0
    for study in ("mnist-cnn", "char-transformer"):
        done = [r for r in rows if r["study"] == study and profiles.finished(r)]
        for ra in done:
            for rb in done:
                if ra is rb:
                    continue
                tie = protocol.indistinguishable(ra["test"][1:], rb["test"][1:])
                won = profiles.winner(rows, study, ra["optimizer"], rb["optimizer"])
                assert (won == "") == tie
                if not tie:
                    better = max if ra["higher_is_better"] else min
                    best = better((ra, rb), key=lambda r: r["test"][0])
                    assert won == best["optimizer"]
                checked += 1
    assert checked > 0


def test_claims_in_words():
    rows = _rows(a=(0.95, 0.94, 0.96, 10), b=(0.90, 0.89, 0.91, 10),
                 c=(0.945, 0.93, 0.955, 10))
    answers = {"A": profiles.check_claim(rows, "w", "a", "b", "a"),
               "C": profiles.check_claim(rows, "w", "c", "b", "c"),
               "B": profiles.check_claim(rows, "w", "a", "b", "b"),
               "D": profiles.check_claim(rows, "w", "a", "d", "a"),
               "E": profiles.check_claim(rows, "w", "a", "c", "a")}
    assert profiles.group_claims(answers) == (
        "confirmed for A and C, not confirmed for E, contradicted for B, "
        "not in the store yet for D")
    assert profiles.group_claims({"x": "confirmed", "y": "confirmed",
                                  "z": "confirmed"}) == "confirmed for x, y and z"
    assert profiles.CLAIM_VERBS[answers["B"]] == "contradicts"
    with pytest.raises(ValueError, match="not an answer"):
        profiles.group_claims({"x": "maybe"})
    with pytest.raises(ValueError, match="at least one"):
        profiles.group_claims({})


def _trial(name, lr, seed, val, higher=True, diverged=False):
    return {"config": {"optimizer": name, "lr": lr, "higher_is_better": higher},
            "seed": seed, "val_metric": None if diverged else val,
            "diverged": diverged}


def test_tuning_points_take_the_protocols_median():
    results = [
        _trial("adam", 1e-3, 0, 0.90), _trial("adam", 1e-2, 0, 0.80),
        *(_trial("adam", 3e-3, s, 0.91 + s / 100) for s in range(4)),
        _trial("adam", 3e-2, 0, None, diverged=True),
        _trial("sgdm", 0.1, 0, 0.5),                      # not asked for
    ]
    points = profiles.tuning_points(results, ["adam", "radam"])
    assert points["radam"] == {}
    assert points["adam"][3e-3] == (pytest.approx(0.925), 4)  # median of 4 seeds
    assert points["adam"][3e-2] == (-math.inf, 1)             # diverged: the worst
    assert list(points["adam"]) == [1e-3, 3e-3, 1e-2, 3e-2]
    # the lr the protocol tunes to is the best median of these points
    best = max(points["adam"], key=lambda lr: points["adam"][lr][0])
    assert best == protocol.best_lr(results[:-1], higher_is_better=True)
    lower = [_trial("a", 0.1, 0, None, higher=False, diverged=True)]
    assert profiles.tuning_points(lower, ["a"])["a"][0.1] == (math.inf, 1)
    with pytest.raises(TypeError, match="sequence of optimiser names"):
        profiles.tuning_points(results, "adam")


def test_format_tuning_shows_every_lr_of_either_grid():
    results = [_trial("adam", 1e-3, 0, 0.9), _trial("adam", 1e-2, 0, None,
                                                    diverged=True),
               *(_trial("radam", 3e-3, s, 0.95) for s in range(10))]
    text = profiles.format_tuning(results, "mnist-cnn", ["adam", "radam"])
    lines = text.split("\n")
    assert lines[0] == ("mnist-cnn: final validation accuracy at each lr "
                        "(median [seeds])")
    assert [line.split() for line in lines[1:]] == [
        ["lr", "adam", "radam"],
        ["0.001", "0.900", "[1]", "-"],
        ["0.003", "-", "0.950", "[10]"],
        ["0.01", "diverged", "[1]", "-"],
    ]
