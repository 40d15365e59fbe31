"""Time ``step()`` of every optlib optimiser against what a user would pick instead.

    .venv/bin/python benchmarks/optimizers.py            # the full run (about 2.5 minutes on 2 cores)
    .venv/bin/python benchmarks/optimizers.py --quick    # a short, noisier run (about 40 seconds)
    .venv/bin/python benchmarks/optimizers.py --compiled --only Adam  # compiled steps

For every optimiser exported by ``optlib`` that has a row in ``SPECS`` below, the script builds one
copy of the same parameters (and of the same fixed gradients) per implementation (optlib's, torch's
default, torch's ``foreach`` and ``fused`` paths where torch has them, or the reference package) and
times their ``step()`` interleaved: every sweep visits all implementations in a shuffled order, so
that the load of a shared machine hits them alike. This is repeated in several rounds, each with
all tensors allocated anew, because where the tensors land in memory moves a memory-bound step by
several per cent. It prints the median time per step, the ratio optlib / implementation (the median
over rounds, with its range), and the achieved memory bandwidth: the bytes the update must at least
read and write (``passes`` tensor-sized reads and writes per parameter) divided by the median time.
Optimisers without a row, and rows whose optimiser does not exist (yet), are skipped with a note.

With ``--compiled`` the optlib step is ``torch.compile(opt.step)`` (inductor by
default), timed in its steady state against torch's ``fused=True`` kernel where torch
has one (target: at most 1.25x its time) and against ``torch.compile`` of torch's own
optimiser (target otherwise: no slower), with optlib's eager step for scale. Every
round compiles anew: on two cores a round of one optimiser on the model set takes
minutes.

Four parameter sets: ``model`` (about 160 tensors of mixed sizes, about 3M parameters, like a
small convolutional network), ``medium`` (300 tensors of 10k-50k parameters, 9M in all),
``large`` (one tensor of 10M parameters) and ``matrices`` (16 weight matrices of a small
Transformer, 0.79M parameters), which only Muon's and SOAP's rows run on (it takes matrices only, and the
others have their three sets). float32 throughout. A target holds on every set a row runs on.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

import optlib

# One inductor cache per ATen CPU capability: torch 2.13's cache does not tell apart CPU
# kernels generated for AVX2 (ATEN_CPU_CAPABILITY=avx2) and for AVX512, and loading one
# under the other crashed or gave wrong numbers (see tests/conftest.py).
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(
    tempfile.gettempdir(),
    f"torchinductor_{getpass.getuser()}_{torch.backends.cpu.get_cpu_capability()}"))

try:  # the authors' AdaBound (PyPI adabound 0.0.5)
    import adabound
except ImportError:  # pragma: no cover
    adabound = None
try:  # pytorch-optimizer (SWATS, SGDW, Lookahead)
    import pytorch_optimizer
except ImportError:  # pragma: no cover
    pytorch_optimizer = None
try:  # schedule-free SGD and AdamW (PyPI schedulefree 1.4.1)
    import schedulefree
except ImportError:  # pragma: no cover
    schedulefree = None
try:  # Prodigy's reference (PyPI prodigyopt 1.1.2)
    import prodigyopt
except ImportError:  # pragma: no cover
    prodigyopt = None
try:  # Lion's reference (PyPI lion-pytorch 0.2.5)
    import lion_pytorch
except ImportError:  # pragma: no cover
    lion_pytorch = None


# --------------------------------------------------------------------------- what is compared
def _torch(name, **fixed):
    """A factory for ``torch.optim.<name>`` with ``fixed`` arguments added."""
    return lambda params, **kw: getattr(torch.optim, name)(params, **{**kw, **fixed})


def _torch_variants(name, fused=True, **fixed):
    """torch's default implementation (a for-loop over tensors on the CPU), foreach, and fused."""
    out = {"torch": _torch(name, **fixed), "torch foreach": _torch(name, foreach=True, **fixed)}
    if fused:
        out["torch fused"] = _torch(name, fused=True, **fixed)
    return out


@dataclass
class Spec:
    """One optimiser: its hyper-parameters, the implementations it is timed against, its target."""

    name: str                    #: the name in ``optlib.__all__``
    kwargs: dict                 #: hyper-parameters given to every implementation
    refs: dict                   #: label -> factory(params, **kwargs)
    passes: float                #: tensor-sized reads + writes the update needs at least
    target: tuple | None = None  #: (label, largest allowed ratio optlib / label)
    make: Callable | None = None  #: builds the optlib optimiser (default: the class itself)
    note: str = ""
    #: the parameter sets it runs on (Muon takes matrices only: the ``matrices`` set)
    sets: tuple = ("model", "medium", "large")


def _train_mode(factory):
    """``factory`` whose optimiser is switched to train mode (schedule-free optimisers
    refuse to step before ``train()``)."""
    def make(params, **kw):
        opt = factory(params, **kw)
        opt.train()
        return opt
    return make


def _adabound(**fixed):
    return lambda params, **kw: adabound.AdaBound(params, **{**kw, **fixed})


def _lookahead_optlib(params, **kw):
    return optlib.Lookahead(optlib.Adam(params, **kw), k=5, alpha=0.5)


def _lookahead_po(params, **kw):
    return pytorch_optimizer.Lookahead(torch.optim.Adam(params, **kw), k=5, alpha=0.5)


def _specs() -> list[Spec]:
    s = [
        Spec("SGD", dict(lr=0.01, momentum=0.9), _torch_variants("SGD"), 5, ("torch", 0.7)),
        Spec("Adagrad", dict(lr=0.01), _torch_variants("Adagrad"), 5, ("torch", 0.95)),
        Spec("RMSprop", dict(lr=0.01), _torch_variants("RMSprop", fused=False), 5, ("torch", 0.95)),
        Spec("Adam", dict(lr=1e-3), _torch_variants("Adam"), 7, ("torch", 0.95)),
        Spec("AMSGrad", dict(lr=1e-3), _torch_variants("Adam", amsgrad=True), 9, ("torch", 0.95)),
        Spec("AdamW", dict(lr=1e-3, weight_decay=1e-2), _torch_variants("AdamW"), 7, ("torch", 0.95)),
        Spec("NAdam", dict(lr=2e-3), _torch_variants("NAdam", fused=False), 7, ("torch", 0.95)),
        Spec("RAdam", dict(lr=1e-3), _torch_variants("RAdam", fused=False), 7, ("torch", 0.95)),
        # Adafactor: read g, p; write p; the factored moments are rows and columns only,
        # but the update needs g^2 and the normalised update as tensor-sized temporaries
        Spec("Adafactor", dict(lr=1e-2), {"torch": _torch("Adafactor"),
                                          "torch foreach": _torch("Adafactor", foreach=True)},
             4, ("torch", 1.0)),
        Spec("Muon", dict(lr=1e-3), {"torch": _torch("Muon")}, 5, ("torch", 1.1),
             sets=("matrices",),
             note="five Newton-Schulz iterations per matrix: matrix products, not traffic"),
    ]
    if lion_pytorch is not None:
        s.append(Spec("Lion", dict(lr=1e-4), {"lion-pytorch 0.2.5":
                                              lambda p, **kw: lion_pytorch.Lion(p, **kw)},
                      5, ("lion-pytorch 0.2.5", 1.0)))
    if prodigyopt is not None:
        # read g, p, m, v, s, p0; write p, m, v, s
        s.append(Spec("Prodigy", dict(lr=1.0),
                      {"prodigyopt 1.1.2": lambda p, **kw: prodigyopt.Prodigy(p, **kw)},
                      10, ("prodigyopt 1.1.2", 1.1),
                      note="two .item() per tensor per step (the estimate d), as there"))
    if pytorch_optimizer is not None:
        s.append(Spec("SOAP", dict(lr=3e-3),
                      {"pytorch-optimizer": lambda p, **kw: pytorch_optimizer.SOAP(p, **kw)},
                      7, ("pytorch-optimizer", 1.1), sets=("model", "matrices"),
                      note="a rotation per dimension and its statistics every step, a QR "
                           "every 10: matrix products, not traffic; vectors (medium, "
                           "large) are not preconditioned"))
    if schedulefree is not None:
        sf = "schedulefree 1.4.1"
        s += [Spec("SGDScheduleFree", dict(lr=0.01),
                   {sf: _train_mode(schedulefree.SGDScheduleFree)}, 5, (sf, 1.0),
                   make=_train_mode(optlib.SGDScheduleFree), note="read g, y, z; write y, z"),
              Spec("AdamWScheduleFree", dict(lr=1e-3),
                   {sf: _train_mode(schedulefree.AdamWScheduleFree)}, 7, (sf, 1.0),
                   make=_train_mode(optlib.AdamWScheduleFree),
                   note="the package also divides the gradients in place, optlib does not")]
    if adabound is not None:
        s += [Spec("AdaBound", dict(lr=1e-3), {"adabound 0.0.5": _adabound()}, 7,
                   ("adabound 0.0.5", 0.95)),
              Spec("AMSBound", dict(lr=1e-3), {"adabound 0.0.5": _adabound(amsbound=True)}, 9)]
    if pytorch_optimizer is not None:
        po = pytorch_optimizer
        s += [Spec("SWATS", dict(lr=1e-3),
                   {"pytorch-optimizer": lambda p, **kw: po.SWATS(p, **kw),
                    "pytorch-optimizer foreach": lambda p, **kw: po.SWATS(p, foreach=True, **kw)},
                   7, ("pytorch-optimizer", 0.8),
                   note="both stay in the Adam phase on fixed gradients"),
              Spec("SGDW", dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
                   {"pytorch-optimizer": lambda p, **kw: po.SGDW(p, **kw),
                    "torch SGD (L2)": _torch("SGD")}, 5,
                   note="torch's SGD couples the decay (L2): a different rule, the same traffic"),
              Spec("Lookahead", dict(lr=1e-3), {"pytorch-optimizer": _lookahead_po}, 7 + 4 / 5,
                   make=_lookahead_optlib, note="around Adam (optlib's / torch's), k=5")]
    return s


# ------------------------------------------------------------------- compiled steps
class CompiledStep:
    """An optimiser whose ``step()`` is ``torch.compile(opt.step)``. One eager step
    comes first, so that the state exists when the step is traced: one compilation
    instead of two (the first would trace the creation of the state)."""

    def __init__(self, opt, backend):
        opt.step()
        self.opt = opt
        self.step = torch.compile(opt.step, backend=backend)


def _compiled(factory, backend):
    def make(params, **kw):
        torch._dynamo.reset()   # every round's optimisers are new objects: fresh caches
        return CompiledStep(factory(params, **kw), backend)
    return make


def _compiled_specs(backend: str = "inductor") -> list[Spec]:
    """``--compiled``: ``torch.compile`` of optlib's step against torch's ``fused=True``
    kernel where torch has one, and against ``torch.compile`` of torch's own optimiser;
    optlib's eager step for scale. The targets: within 1.25x of the fused kernel, else
    no slower than compiled torch (optimisers without a torch twin have none)."""
    out = []
    for spec in _specs():
        ours = spec.make or getattr(optlib, spec.name)
        refs = {"optlib eager": ours}
        target = None
        if "torch" in spec.refs:
            refs["torch compiled"] = _compiled(spec.refs["torch"], backend)
            target = ("torch compiled", 1.0)
        if "torch fused" in spec.refs:
            refs["torch fused"] = spec.refs["torch fused"]
            target = ("torch fused", 1.25)
        out.append(Spec(spec.name, spec.kwargs, refs, spec.passes, target,
                        make=_compiled(ours, backend), note=spec.note, sets=spec.sets))
    return out


# --------------------------------------------------------------------------- the parameter sets
def model_shapes() -> list[tuple[int, ...]]:
    """163 tensors, 2.9M parameters: the mix of shapes of a small convolutional network."""
    shapes: list[tuple[int, ...]] = [(32, 3, 3, 3), (32,), (32,)]
    c_in = 32
    for c_out in [32] * 16 + [64] * 16 + [96] * 10 + [128] * 8:
        shapes += [(c_out, c_in, 3, 3), (c_out,), (c_out,)]   # 3x3 conv, batch-norm weight and bias
        c_in = c_out
    for _ in range(4):                                         # fully connected layers with biases
        shapes += [(256, c_in), (256,)]
        c_in = 256
    return shapes + [(10, 256), (10,)]


def medium_shapes() -> list[tuple[int, ...]]:
    """300 tensors of 10k to 50k parameters (9M in all): many medium tensors, the mix where
    a per-tensor cost (SWATS's float64 projection, say) shows most."""
    sizes = [10_000 + 40_000 * k // 299 for k in range(300)]
    return [(n,) for n in sizes]


def matrix_shapes() -> list[tuple[int, ...]]:
    """16 matrices, 0.79M parameters: the hidden weights of a small Transformer, the
    parameters Muon is for (per block: attention 384x128 and 128x128, MLP 512x128 and
    128x512; four blocks). Small, because Muon's five Newton-Schulz iterations cost
    about ten times the parameters' count in multiply-adds per row of the matrix."""
    return [(384, 128), (128, 128), (512, 128), (128, 512)] * 4


PARAM_SETS = {"model": model_shapes, "medium": medium_shapes,
              "large": lambda: [(10_000_000,)], "matrices": matrix_shapes}


# --------------------------------------------------------------------------- timing
@dataclass
class Candidate:
    label: str
    opt: torch.optim.Optimizer
    params: list = field(default_factory=list)
    times: list = field(default_factory=list)


def _build(factory, shapes, kwargs, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.randn(shape, generator=gen))
        p.grad = torch.randn(shape, generator=gen) * 1e-2   # fixed gradients: step() only is timed
        params.append(p)
    return params, factory(params, **kwargs)


def time_spec(spec: Spec, shapes, repeats: int, warmup: int, clock=time.perf_counter,
              seed: int = 0, rounds: int = 1) -> dict[str, list[float]]:
    """Seconds per ``step()`` of every implementation: one median per round, sampled round-robin.

    Every round builds all implementations anew, in a shuffled order, so that each round sees
    another placement of the tensors in memory (which alone moves a memory-bound step by ±10 %),
    then times ``repeats`` steps of each, interleaved."""
    optlib_make = spec.make or getattr(optlib, spec.name)
    factories = {"optlib": optlib_make, **spec.refs}
    medians: dict[str, list[float]] = {label: [] for label in factories}
    rng = random.Random(seed)
    for r in range(rounds):
        labels = list(factories)
        rng.shuffle(labels)
        cands = []
        for label in labels:
            params, opt = _build(factories[label], shapes, spec.kwargs, seed=seed + r)
            cands.append(Candidate(label, opt, params))
        for _ in range(warmup):
            for c in cands:
                c.opt.step()
        gc.collect()
        gc.disable()
        try:
            for _ in range(repeats):
                rng.shuffle(cands)
                for c in cands:
                    t0 = clock()
                    c.opt.step()
                    c.times.append(clock() - t0)
        finally:
            gc.enable()
        for c in cands:
            medians[c.label].append(statistics.median(c.times))
        del cands
    return medians


# --------------------------------------------------------------------------- report
def _rows(spec, set_name, numel, medians):
    """One table row per implementation: the median over rounds of its per-round median step time,
    and the median (and range) over rounds of optlib's time / its time in the same round."""
    bytes_moved = spec.passes * numel * 4
    mine = medians["optlib"]
    rows = []
    for label, times in medians.items():
        sec = statistics.median(times)
        ratios = [a / b for a, b in zip(mine, times)]
        ratio = statistics.median(ratios)
        verdict = ""
        if spec.target is not None and label == spec.target[0]:  # on every set
            limit = spec.target[1]
            verdict = f"≤ {limit:.2f} " + ("met" if ratio <= limit else "MISSED")
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
        rows.append((spec.name, set_name, label, f"{sec * 1e3:.2f}",
                     "" if label == "optlib" else f"{ratio:.2f}",
                     "" if label == "optlib" else spread,
                     f"{bytes_moved / sec / 1e9:.1f}", verdict))
    return rows


HEADER = ("optimiser", "params", "implementation", "ms / step", "optlib / this", "range", "GB/s",
          "target")


def print_table(rows, file=None):
    file = sys.stdout if file is None else file
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    fmt = lambda r: "| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths)) + " |"  # noqa: E731
    print(fmt(HEADER), file=file)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)
    for r in rows:
        print(fmt(r), file=file)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repeats: a short, noisier run")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds per optimiser, each with freshly allocated tensors (default 5 for "
                         "model, 3 for large; --quick: 2 and 1)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed steps per implementation and round (default 30 for model, 10 for "
                         "large; --quick: 10 and 6)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall: elapsed time (default); cpu: the process's CPU time, which does not "
                         "count the time other processes hold the cores (steadier on a shared "
                         "machine, meaningful with --threads 1)")
    ap.add_argument("--only", nargs="*", default=None, metavar="NAME",
                    help="optimisers to time (default: all with a row)")
    ap.add_argument("--sets", nargs="*", default=list(PARAM_SETS), choices=list(PARAM_SETS),
                    help="parameter sets (default: all four; a row runs only on "
                         "its own sets, Muon on matrices)")
    ap.add_argument("--compiled", action="store_true",
                    help="time torch.compile(optlib step) against torch's fused "
                         "kernel and torch.compile of torch's optimiser (each "
                         "compiles once per round: slow to start)")
    ap.add_argument("--backend", default="inductor",
                    help="torch.compile backend for --compiled (default inductor)")
    args = ap.parse_args(argv)
    for flag in ("threads", "rounds", "repeats"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            ap.error(f"--{flag} must be >= 1, got {value}")

    torch.set_num_threads(args.threads)
    specs = {s.name: s for s in (_compiled_specs(args.backend) if args.compiled
                                 else _specs())}
    exported = [n for n in optlib.__all__ if isinstance(getattr(optlib, n, None), type)
                and issubclass(getattr(optlib, n), torch.optim.Optimizer)]
    print(f"# optlib {optlib.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
          f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, clock {args.clock}"
          + (f"; optlib compiled (torch.compile, backend {args.backend})"
             if args.compiled else ""))
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    for name in exported:
        if name not in specs:
            print(f"# note: optlib.{name} has no reference row in SPECS: skipped")
    for name in specs:
        if name not in exported:
            print(f"# note: {name} is not in optlib.__all__ (yet): skipped")
    unknown = sorted(set(args.only or ()) - set(specs))
    if unknown:
        ap.error(f"--only: no benchmark row for {unknown}; rows: {sorted(specs)}")
    names = [n for n in exported if n in specs and (args.only is None or n in args.only)]

    rows = []
    for set_name in args.sets:
        shapes = PARAM_SETS[set_name]()
        numel = sum(torch.Size(s).numel() for s in shapes)
        default_rounds, default_repeats = {"model": ((5, 2), (30, 10)),
                                           "medium": ((3, 1), (10, 6)),
                                           "large": ((3, 1), (10, 6)),
                                           "matrices": ((3, 1), (10, 6))}[set_name]
        rounds = args.rounds or default_rounds[args.quick]
        repeats = args.repeats or default_repeats[args.quick]
        print(f"# set {set_name!r}: {len(shapes)} tensors, {numel / 1e6:.2f}M parameters (float32), "
              f"{rounds} rounds of {repeats} interleaved steps, median per round", flush=True)
        for name in names:
            spec = specs[name]
            if set_name not in spec.sets:
                continue
            t0 = time.perf_counter()
            med = time_spec(spec, shapes, repeats, warmup=3 if args.quick else 5, clock=clock,
                            rounds=rounds)
            new = _rows(spec, set_name, numel, med)
            rows += new
            print(f"#   {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    notes = [f"- {s.name}: {s.note}" for s in specs.values() if s.note and s.name in names]
    print("\nms / step: the median over rounds of each round's median. optlib / this: the median over "
          "rounds of the ratio within a round; range: its smallest and largest value.")
    print("GB/s: the bytes the update must read and write (passes x parameters x 4 B; passes = "
          + ", ".join(f"{n} {specs[n].passes:g}" for n in names) + ") over the median time.")
    if notes:
        print("\n".join(["Notes:", *notes]))
    missed = [r for r in rows if r[-1].endswith("MISSED")]
    print(f"\nTargets (every set): {sum(r[-1].endswith('met') for r in rows)} met, "
          f"{len(missed)} missed.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
