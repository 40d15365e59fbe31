"""What SWATS's projection costs, as a share of an Adam step (issue 16, item 10).

    .venv/bin/python benchmarks/swats_projection.py             # eager, model, medium
    .venv/bin/python benchmarks/swats_projection.py --compiled  # compiled (minutes)

SWATS takes Adam's step and, for its switching test, two dot products over the whole
group: p_k·p_k and p_k·g_k. optlib sums float64 products of the float32 numbers (exact
products, so that the test against eps = 1e-9 is not decided by rounding). Timed
interleaved on the parameter sets of ``optimizers.py``, with fixed gradients:

* ``Adam``: optlib's Adam, the yardstick;
* ``SWATS``: optlib's SWATS as it is;
* ``SWATS, float32 dots``: the same, with the two dot products taken by ``torch.dot``
  on the float32 tensors (rounded sums: the cheapest form of the same two calls);
* ``SWATS without dots``: the same, with the projection left out (never switches).

The projection's share is (SWATS - SWATS without dots) / Adam, per round; the script
prints its median and range over the rounds. The target of item 10 is at most 0.10.
"""

from __future__ import annotations

import argparse
import statistics

import torch

import optlib
from optimizers import PARAM_SETS, Spec, _compiled, time_spec


class SWATSWithoutDots(optlib.SWATS):
    """SWATS with the projection left out."""

    def _dots(self, p, g, chunk=2**18):
        return 0.0, 0.0


class SWATSFloat32Dots(optlib.SWATS):
    """SWATS with the projection's dot products rounded in float32."""

    def _dots(self, p, g, chunk=2**18):
        p, g = p.reshape(-1), g.reshape(-1)
        return torch.dot(p, p).item(), torch.dot(p, g).item()


VARIANTS = {"Adam": optlib.Adam, "SWATS": optlib.SWATS,
            "SWATS, float32 dots": SWATSFloat32Dots,
            "SWATS without dots": SWATSWithoutDots}


def time_set(shapes, rounds, repeats, compiled, seed=0):
    """Median seconds per step of each variant, one per round (``optimizers.time_spec``:
    every round builds all variants anew and times them interleaved)."""
    variants = dict(VARIANTS)
    if compiled:                        # (rounding is not the question there)
        variants.pop("SWATS, float32 dots")
        variants = {name: _compiled(cls, "inductor") for name, cls in variants.items()}
    adam = variants.pop("Adam")
    spec = Spec("Adam", dict(lr=1e-3), variants, passes=7, make=adam)
    medians = time_spec(spec, shapes, repeats, warmup=3, seed=seed, rounds=rounds)
    return {"Adam": medians.pop("optlib"), **medians}


def report(set_name, medians):
    adam, bare = medians["Adam"], medians["SWATS without dots"]
    for name in medians:
        ms = statistics.median(medians[name]) * 1e3
        line = f"{set_name:7s} {name:22s} {ms:8.2f} ms"
        if name.startswith("SWATS") and name != "SWATS without dots":
            shares = [(a - b) / c for a, b, c in zip(medians[name], bare, adam)]
            line += (f"   projection / Adam step {statistics.median(shares):.2f}"
                     f" ({min(shares):.2f}-{max(shares):.2f})")
        print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["model", "medium"],
                        choices=["model", "medium", "large"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compiled", action="store_true",
                        help="torch.compile(opt.step) of every variant")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, threads {args.threads}, "
          f"{'compiled (inductor)' if args.compiled else 'eager'}, "
          f"{args.rounds} rounds of {args.repeats} interleaved steps")
    for set_name in args.sets:
        medians = time_set(PARAM_SETS[set_name](), args.rounds, args.repeats,
                           args.compiled)
        report(set_name, medians)


if __name__ == "__main__":
    main()
