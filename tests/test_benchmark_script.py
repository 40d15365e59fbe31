"""The benchmark script keeps working: its report arithmetic, and a tiny timing run (no speed checks).

Speed itself is not tested here (tests measure, benchmarks time): ``benchmarks/optimizers.py``
prints the ratios. These tests only make sure that the script runs and reports what it says.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import torch

import optlib

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "optimizers.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("optlib_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                 # (its dataclasses look their module up there)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_rows_report_the_median_ratio_its_range_and_the_verdict(bench):
    spec = bench.Spec("SGD", {}, {}, passes=5, target=("torch", 0.7))
    medians = {"optlib": [1.0, 1.2, 3.8], "torch": [2.0, 2.0, 2.0]}  # ratios 0.5, 0.6, 1.9
    mine, ref = bench._rows(spec, "model", numel=1000, medians=medians)
    assert mine[2] == "optlib" and mine[3] == "1200.00" and mine[4] == mine[5] == ""
    assert ref[3] == "2000.00"                        # ms per step: the median of the rounds
    assert ref[4] == "0.60" and ref[5] == "0.50-1.90"  # the median ratio (not the mean, 1.0)
    assert ref[6] == f"{5 * 1000 * 4 / 2.0 / 1e9:.1f}"  # GB/s at the median time
    assert ref[7] == "≤ 0.70 met"
    assert bench._rows(spec, "large", 1000, medians)[1][7] == "≤ 0.70 met"  # on every set
    slow = bench._rows(spec, "model", 1000, {"optlib": [1.5], "torch": [2.0]})[1]
    assert slow[4] == "0.75" and slow[5] == "" and slow[7] == "≤ 0.70 MISSED"


def test_time_spec_times_every_implementation_in_every_round(bench):
    spec = bench.Spec("SGD", dict(lr=0.1, momentum=0.9), {"torch": bench._torch("SGD")}, passes=5)
    medians = bench.time_spec(spec, [(3, 4), (5,)], repeats=3, warmup=1, rounds=2)
    assert set(medians) == {"optlib", "torch"}
    assert all(len(times) == 2 and all(t > 0 for t in times) for times in medians.values())


def test_every_optlib_optimiser_has_a_benchmark_row(bench):
    rows = {s.name for s in bench._specs()}
    exported = {n for n in optlib.__all__ if isinstance(getattr(optlib, n), type)
                and issubclass(getattr(optlib, n), torch.optim.Optimizer)}
    assert exported <= rows, f"optimisers without a benchmark row: {sorted(exported - rows)}"


def test_quick_run_of_one_optimiser_prints_the_table(bench, capsys):
    threads = torch.get_num_threads()                # main() sets torch's thread count
    try:
        assert bench.main(["--quick", "--only", "SGD", "--sets", "model", "--rounds", "1",
                           "--repeats", "2", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert re.search(r"^\| SGD +\| model +\| torch +\| [0-9.]+ +\| [0-9.]+ ", out, re.MULTILINE)
    assert "Targets (every set): 1 met, 0 missed." in out or "0 met, 1 missed." in out


def test_the_medium_set_is_many_medium_tensors(bench):
    shapes = bench.PARAM_SETS["medium"]()
    sizes = [torch.Size(s).numel() for s in shapes]
    assert len(shapes) == 300 and min(sizes) == 10_000 and max(sizes) == 50_000


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--repeats", "-1"], ["--threads", "0"],
                                  ["--only", "NoSuchOptimiser"]])
def test_bad_arguments_are_refused(bench, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


@pytest.mark.slow  # two workloads in a fresh process: about 15 s
def test_the_optlab_trial_benchmark_runs_and_reports_cold_and_warm_shares():
    import subprocess

    script = SCRIPT.parent / "optlab_trials.py"
    out = subprocess.run(
        [sys.executable, str(script), "--workloads", "digits-logreg,gan-2d",
         "--steps", "20", "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:4]]
    assert [r[0] for r in rows] == ["digits-logreg", "gan-2d"]
    assert all(r[1] == "20" and r[5].endswith("%") and r[6].endswith("%") for r in rows)
    assert "worst data+eval share in a sweep" in out.stdout
    bad = subprocess.run([sys.executable, str(script), "--workloads", "nope"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown workload 'nope'" in bad.stderr


# ---------------------------------------------------- benchmarks/swats_projection.py
@pytest.fixture(scope="module")
def projection(bench):
    path = SCRIPT.parent / "swats_projection.py"
    spec = importlib.util.spec_from_file_location("optlib_swats_projection", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))      # (it imports optimizers.py beside it)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(SCRIPT.parent))
        sys.modules.pop("optimizers", None)


def test_the_projection_variants_differ_only_in_the_dot_products(projection):
    gen = torch.Generator().manual_seed(3)
    p, g = torch.randn(40_000, generator=gen), torch.randn(40_000, generator=gen)
    exact = optlib.SWATS([torch.zeros(1, requires_grad=True)])._dots(p, g)
    rounded = projection.SWATSFloat32Dots(
        [torch.zeros(1, requires_grad=True)])._dots(p, g)
    assert rounded != exact and rounded == pytest.approx(exact, rel=1e-5)
    bare = projection.SWATSWithoutDots([torch.zeros(1, requires_grad=True)])
    assert bare._dots(p, g) == (0.0, 0.0)


def test_the_projection_benchmark_reports_each_share(projection, capsys):
    medians = projection.time_set([(30,), (4, 5)], rounds=2, repeats=2, compiled=False)
    assert set(medians) == set(projection.VARIANTS)
    assert all(len(times) == 2 and min(times) > 0 for times in medians.values())
    projection.report("tiny", medians)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert sum("projection / Adam step" in line for line in lines) == 2
