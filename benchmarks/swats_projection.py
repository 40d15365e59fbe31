"""What SWATS's projection costs, as a share of an Adam step (issue 16, item 10).

    .venv/bin/python benchmarks/swats_projection.py                 # eager, model and medium
    .venv/bin/python benchmarks/swats_projection.py --compiled      # torch.compile (minutes)

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
import random
import statistics
import time

import torch

import optlib
from optimizers import PARAM_SETS


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


def _build(cls, shapes, seed):
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.randn(shape, generator=gen))
        p.grad = torch.randn(shape, generator=gen) * 1e-2
        params.append(p)
    opt = cls(params, lr=1e-3)
    opt.step()                                      # the state exists before timing
    return opt


def time_set(shapes, rounds, repeats, compiled, seed=0):
    """Median seconds per step of each variant, one per round."""
    variants = dict(VARIANTS)
    if compiled:                                    # (rounding is not the question there)
        variants.pop("SWATS, float32 dots")
    medians = {name: [] for name in variants}
    rng = random.Random(seed)
    for r in range(rounds):
        if compiled:        # the variants share optlib's step code: each one's graphs
            torch._dynamo.reset()           # count towards dynamo's recompile limit
        steps = {}
        for name, cls in variants.items():
            opt = _build(cls, shapes, seed + r)
            steps[name] = torch.compile(opt.step) if compiled else opt.step
            for _ in range(3):                      # compiles, warms the caches
                steps[name]()
        times = {name: [] for name in steps}
        for _ in range(repeats):
            names = list(steps)
            rng.shuffle(names)
            for name in names:
                t0 = time.perf_counter()
                steps[name]()
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            medians[name].append(statistics.median(ts))
    return medians


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
    torch._dynamo.config.recompile_limit = 64       # (3 variants, each compiled anew)
    print(f"# torch {torch.__version__}, threads {args.threads}, "
          f"{'compiled (inductor)' if args.compiled else 'eager'}, "
          f"{args.rounds} rounds of {args.repeats} interleaved steps")
    for set_name in args.sets:
        medians = time_set(PARAM_SETS[set_name](), args.rounds, args.repeats,
                           args.compiled)
        report(set_name, medians)


if __name__ == "__main__":
    main()
