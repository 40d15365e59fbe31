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
- ``lookahead-adam``: Lookahead (k=5, alpha=0.5) around Adam;
- ``adam-l2``: Adam with L2 regularisation 0.01 added to the gradient (coupled), the
  counterpart of ``adamw``'s decoupled 0.01 (chapter 13).

After the lecture (Part III of the book):

- ``lion``: Lion, betas (0.9, 0.99), decoupled weight decay 0.1 (the paper's advice: a
  lr 3-10 times below AdamW's, a decay 3-10 times above; 0.1 here against AdamW's 0.01);
- ``sgd-sf``, ``adamw-sf``: schedule-free SGD (momentum 0.9) and AdamW (decay 0.01),
  warm-up over the first 5 % of T; evaluation happens at the averaged point x
  (``opt.eval()`` before, ``opt.train()`` after). BatchNorm's running statistics are
  those collected at y during training (the package's default behaviour; its README
  recommends recomputing them at x, which optlab does not do);
- ``adafactor``: Adafactor as ``torch.optim.Adafactor`` (defaults: beta2_decay -0.8,
  eps (None, 1e-3), d 1);
- ``prodigy``: Prodigy with decay 0.01 (decoupled), its ``lr`` a factor on the
  estimated step (1 is the authors' default);
- ``muon``: Muon (momentum 0.95, Nesterov, lr matched to AdamW's RMS as in Moonshot's
  recipe) on the hidden weight matrices of a model (:func:`hidden_matrices`: linear
  layers and attention projections, not the head), and AdamW (decay 0.01) at the same
  ``lr`` on everything else (embeddings, convolutions, norms, biases, the head). A
  model without hidden matrices (``mnist-cnn``: convolutions and a head) is refused;
- ``soap``: SOAP (pytorch_optimizer's hyper-parameters: betas (0.95, 0.95), the basis
  refreshed every 10 steps, decay 0.01).

Schedules, over the trial's step budget ``T`` (all from ``optlib.schedules``):

- ``onecycle``: ``OneCycleLR``, peak ``lr`` at 30 % of T, momentum (or beta1) cycled
  between 0.95 and 0.85;
- ``cyclic``: ``CyclicLR``, triangular between lr/10 and lr, 4 cycles in T, momentum
  fixed;
- ``sgdr``: ``SGDR``, cosine with warm restarts, T_0 = T/7, T_mult = 2 (3 cycles fill
  T);
- ``warmup``: ``LinearWarmup``, linear from lr/100 to lr over the first 10 % of T, then
  constant;
- ``wsd``: ``WSD``, warm-up from 0 over the first 10 % of T, stable, then a "1-sqrt"
  cool-down to 0 over the last 20 % (Hägele et al. 2024).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import optlib

__all__ = ["BASES", "SCHEDULES", "build", "check", "describe", "names"]

_Factory = Callable[..., torch.optim.Optimizer]

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
    "adam-l2": (
        lambda p, lr: optlib.Adam(p, lr=lr, weight_decay=0.01),
        {"weight_decay": 0.01, "decay": "L2 (coupled)"},
    ),
    "lion": (
        lambda p, lr: optlib.Lion(p, lr=lr, weight_decay=0.1),
        {"betas": [0.9, 0.99], "weight_decay": 0.1},
    ),
    "adafactor": (lambda p, lr: optlib.Adafactor(p, lr=lr), {}),
    "prodigy": (
        lambda p, lr: optlib.Prodigy(p, lr=lr, weight_decay=0.01),
        {"weight_decay": 0.01},
    ),
    "soap": (
        lambda p, lr: optlib.SOAP(p, lr=lr, weight_decay=0.01),
        {"betas": [0.95, 0.95], "precondition_frequency": 10, "weight_decay": 0.01},
    ),
}
# bases whose factory also takes the step budget T (their warm-up is a share of it)
BUDGETED: dict[str, tuple[Callable, dict]] = {
    "sgd-sf": (
        lambda p, lr, T: optlib.SGDScheduleFree(
            p, lr=lr, momentum=0.9, warmup_steps=T // 20
        ),
        {"momentum": 0.9, "warmup_fraction": 0.05},
    ),
    "adamw-sf": (
        lambda p, lr, T: optlib.AdamWScheduleFree(
            p, lr=lr, weight_decay=0.01, warmup_steps=T // 20
        ),
        {"betas": [0.9, 0.999], "weight_decay": 0.01, "warmup_fraction": 0.05},
    ),
}
#: Muon: its matrices and AdamW for the rest (built from a model, see ``build``)
MUON_HYPER = {"momentum": 0.95, "nesterov": True, "adjust_lr_fn": "match_rms_adamw",
              "weight_decay": 0.01, "rest": "adamw"}
BASES.update(BUDGETED)
BASES["muon"] = (None, MUON_HYPER)


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


def _wsd(opt, lr, steps):
    return optlib.WSD(opt, warmup_steps=steps // 10, stable_steps=steps - steps // 10
                      - steps // 5, decay_steps=steps // 5, decay_shape="1-sqrt")


SCHEDULES: dict[str, Callable] = {
    "onecycle": _onecycle,
    "cyclic": _cyclic,
    "sgdr": _sgdr,
    "warmup": _warmup,
    "wsd": _wsd,
}
# bases whose learning rate a schedule can drive: not SWATS (after its switch it ignores
# ``lr``), not the schedule-free ones (their point is to need none), not the adaptive-lr
# Prodigy, not Muon (two optimisers)
_SCHEDULABLE = tuple(
    b for b in BASES if b not in ("swats", "sgd-sf", "adamw-sf", "prodigy", "muon")
)


def names() -> list[str]:
    """Every valid name: the bases, then each schedulable base with each schedule."""
    return list(BASES) + [f"{b}+{s}" for b in _SCHEDULABLE for s in SCHEDULES]


def allowed() -> str:
    fixed = ", ".join(b for b in BASES if b not in _SCHEDULABLE)
    return (
        f"one of {', '.join(BASES)}, optionally followed by "
        f"+{'|+'.join(SCHEDULES)} (not for {fixed})"
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
    """(optimiser, scheduler or None) for ``params`` (a model, or its parameters); the
    scheduler steps once a step. ``muon`` needs the model, to tell its hidden matrices
    from the rest. A schedule-free optimiser is returned in train mode."""
    base, schedule = check(name)
    if base == "muon":
        if not isinstance(params, torch.nn.Module):
            raise ValueError("optimizer 'muon' needs the model (to find its hidden "
                             "weight matrices), not a list of parameters")
        return MuonWithAdamW(params, lr), None
    if isinstance(params, torch.nn.Module):
        params = params.parameters()
    if base in BUDGETED:
        opt = BUDGETED[base][0](list(params), lr, steps)
        opt.train()
    else:
        opt = BASES[base][0](list(params), lr)
    sched = SCHEDULES[schedule](opt, lr, steps) if schedule else None
    return opt, sched


def hidden_matrices(model: torch.nn.Module) -> tuple[list, list]:
    """(the hidden weight matrices, every other parameter): Muon's usual split.

    Hidden: the weights of ``nn.Linear`` layers and the input projection of
    ``nn.MultiheadAttention``, unless the linear layer is the model's last module (its
    output head). The rest: embeddings, positional tables, convolutions (not 2-D), norms,
    biases and the head."""
    modules = list(model.modules())
    hidden = []
    for m in modules:
        if isinstance(m, torch.nn.Linear) and m is not modules[-1]:
            hidden.append(m.weight)
        elif isinstance(m, torch.nn.MultiheadAttention) and m.in_proj_weight is not None:
            hidden.append(m.in_proj_weight)
    ids = {id(p) for p in hidden}
    return hidden, [p for p in model.parameters() if id(p) not in ids]


class MuonWithAdamW(torch.optim.Optimizer):
    """Muon on a model's hidden matrices, AdamW on the rest, stepped together: one
    optimiser to the training loop. ``param_groups`` are Muon's then AdamW's, so a
    scheduler sets both."""

    def __init__(self, model: torch.nn.Module, lr: float):
        hidden, rest = hidden_matrices(model)
        if not hidden:
            raise ValueError("optimizer 'muon': the model has no hidden weight matrix "
                             "(linear layers or attention projections before its head)")
        self.muon = optlib.Muon(hidden, lr=lr, momentum=0.95, nesterov=True,
                                weight_decay=0.01, adjust_lr_fn="match_rms_adamw")
        self.adamw = optlib.AdamW(rest, lr=lr, weight_decay=0.01)
        super().__init__(hidden + rest, {"lr": lr})
        self.param_groups = self.muon.param_groups + self.adamw.param_groups
        self.state = {}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.muon.step()
        self.adamw.step()
        return loss

    def zero_grad(self, set_to_none: bool = True):
        self.muon.zero_grad(set_to_none)
        self.adamw.zero_grad(set_to_none)

    def state_dict(self):
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state_dict):
        self.muon.load_state_dict(state_dict["muon"])
        self.adamw.load_state_dict(state_dict["adamw"])


def describe(name: str) -> dict:
    """The fixed hyper-parameters that ``name`` stands for (stored with every trial)."""
    base, schedule = check(name)
    return {"base": base, "schedule": schedule, "hyper": dict(BASES[base][1])}
