"""Optimiser names -> optlib optimisers, with optional learning-rate schedules.

A name is a base optimiser, optionally followed by ``+`` and a schedule: ``adam``,
``sgdm+onecycle``, ``adam+warmup``. The learning rate ``lr`` of a trial is the base
optimiser's learning rate, and for a schedule its peak. Every other hyper-parameter is
fixed here (and recorded with the trial through :func:`describe`):

- ``sgd``: plain SGD;
- ``sgdm``: SGD with heavy-ball momentum 0.9;
- ``adam``: Adam, betas (0.9, 0.999), eps 1e-8;
- ``adamw``: AdamW, decoupled weight decay 0.01;
- ``nadam``, ``radam``, ``amsgrad``: optlib's defaults;
- ``adabound``: AdaBound, final_lr 0.1, gamma 1e-3;
- ``swats``: SWATS, switching tolerance 1e-5 (the paper's 1e-9 rarely switches on real
  data);
- ``lookahead-adam``: Lookahead (k=5, alpha=0.5) around Adam.

Schedules, over the trial's step budget ``T`` (all from ``optlib.schedules``):

- ``onecycle``: ``OneCycleLR``, peak ``lr`` at 30 % of T, momentum (or beta1) cycled
  between 0.95 and 0.85;
- ``cyclic``: ``CyclicLR``, triangular between lr/10 and lr, 4 cycles in T, momentum
  fixed;
- ``sgdr``: ``SGDR``, cosine with warm restarts, T_0 = T/7, T_mult = 2 (3 cycles fill
  T);
- ``warmup``: ``LinearWarmup``, linear from lr/100 to lr over the first 10 % of T, then
  constant.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import optlib

__all__ = ["BASES", "SCHEDULES", "build", "check", "describe", "names"]

_Factory = Callable[[list, float], torch.optim.Optimizer]

BASES: dict[str, tuple[_Factory, dict]] = {
    "sgd": (lambda p, lr: optlib.SGD(p, lr=lr), {}),
    "sgdm": (lambda p, lr: optlib.SGD(p, lr=lr, momentum=0.9), {"momentum": 0.9}),
    "adam": (lambda p, lr: optlib.Adam(p, lr=lr), {"betas": [0.9, 0.999], "eps": 1e-8}),
    "adamw": (
        lambda p, lr: optlib.AdamW(p, lr=lr, weight_decay=0.01),
        {"weight_decay": 0.01},
    ),
    "nadam": (lambda p, lr: optlib.NAdam(p, lr=lr), {}),
    "radam": (lambda p, lr: optlib.RAdam(p, lr=lr), {}),
    "amsgrad": (lambda p, lr: optlib.AMSGrad(p, lr=lr), {}),
    "adabound": (
        lambda p, lr: optlib.AdaBound(p, lr=lr, final_lr=0.1, gamma=1e-3),
        {"final_lr": 0.1, "gamma": 1e-3},
    ),
    "swats": (
        lambda p, lr: optlib.SWATS(p, lr=lr, switch_tol=1e-5),
        {"switch_tol": 1e-5},
    ),
    "lookahead-adam": (
        lambda p, lr: optlib.Lookahead(optlib.Adam(p, lr=lr), k=5, alpha=0.5),
        {"k": 5, "alpha": 0.5},
    ),
}


def _onecycle(opt, lr, steps):
    # momentum is cycled only where there is one (SGD without momentum keeps none)
    cycle = "betas" in opt.defaults or opt.defaults.get("momentum", 0) > 0
    return optlib.OneCycleLR(
        opt,
        max_lr=lr,
        total_steps=steps,
        pct_start=0.3,
        cycle_momentum=cycle,
        base_momentum=0.85,
        max_momentum=0.95,
    )


def _cyclic(opt, lr, steps):
    return optlib.CyclicLR(
        opt,
        base_lr=lr / 10,
        max_lr=lr,
        step_size_up=max(1, steps // 8),
        cycle_momentum=False,
    )


def _sgdr(opt, lr, steps):
    return optlib.SGDR(opt, T_0=max(1, steps // 7), T_mult=2)


def _warmup(opt, lr, steps):
    return optlib.LinearWarmup(opt, start_factor=0.01, total_iters=max(1, steps // 10))


SCHEDULES: dict[str, Callable] = {
    "onecycle": _onecycle,
    "cyclic": _cyclic,
    "sgdr": _sgdr,
    "warmup": _warmup,
}
# : bases whose learning rate a schedule can drive (after its switch SWATS ignores
# ``lr``)
_SCHEDULABLE = tuple(b for b in BASES if b != "swats")


def names() -> list[str]:
    """Every valid name: the bases, then each schedulable base with each schedule."""
    return list(BASES) + [f"{b}+{s}" for b in _SCHEDULABLE for s in SCHEDULES]


def allowed() -> str:
    return (
        f"one of {', '.join(BASES)}, optionally followed by "
        f"+{'|+'.join(SCHEDULES)} (not for swats)"
    )


def check(name: str) -> tuple[str, str | None]:
    """Split ``name`` into (base, schedule or None); a ValueError says what is
    allowed."""
    base, plus, schedule = str(name).partition("+")
    if base not in BASES or (
        plus and (schedule not in SCHEDULES or base not in _SCHEDULABLE)
    ):
        raise ValueError(f"unknown optimizer {name!r}: {allowed()}")
    return base, schedule or None


def build(name: str, params, lr: float, steps: int):
    """(optimiser, scheduler or None) for ``params``; the scheduler steps once a
    step."""
    base, schedule = check(name)
    opt = BASES[base][0](list(params), lr)
    sched = SCHEDULES[schedule](opt, lr, steps) if schedule else None
    return opt, sched


def describe(name: str) -> dict:
    """The fixed hyper-parameters that ``name`` stands for (stored with every trial)."""
    base, schedule = check(name)
    return {"base": base, "schedule": schedule, "hyper": dict(BASES[base][1])}
