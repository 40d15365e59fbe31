r"""Warmup–stable–decay (WSD): a learning-rate schedule as a function of the step,
and its ``LRScheduler``."""

from __future__ import annotations

import math

from torch.optim.lr_scheduler import LRScheduler

from ._base import _require_real

__all__ = ["wsd", "WSD", "DECAY_SHAPES"]

#: the decay phase's shape: how much of the way from 1 down to the final fraction the
#: factor has gone, as a function of the position x in [0, 1] in the decay phase
DECAY_SHAPES = {
    "linear": lambda x: x,
    "cosine": lambda x: (1.0 - math.cos(math.pi * x)) / 2.0,
    "1-sqrt": lambda x: math.sqrt(x),
}


def _check_wsd(warmup_steps, stable_steps, decay_steps, final_fraction, start_factor,
               decay_shape) -> None:
    for name, value in (("warmup_steps", warmup_steps), ("stable_steps", stable_steps),
                        ("decay_steps", decay_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"Invalid {name}: {value} (expected an integer >= 0)")
    for name, value in (("final_fraction", final_fraction),
                        ("start_factor", start_factor)):
        _require_real(value, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"Invalid {name}: {value} (expected a value in [0, 1])")
    if decay_shape not in DECAY_SHAPES:
        raise ValueError(f"Invalid decay_shape: {decay_shape!r} (expected one of "
                         f"{', '.join(map(repr, DECAY_SHAPES))})")


def _factor(t, w, s, d, final, start, shape) -> float:
    """:func:`wsd` without the checks (the scheduler checks once)."""
    if t < w:                                           # warm-up: start -> 1
        return start + (1.0 - start) * t / w
    if t < w + s:                                       # stable: 1
        return 1.0
    if t >= w + s + d:                                  # after the decay: final
        return final
    x = (t - w - s) / d                                 # decay: 1 -> final
    return 1.0 - (1.0 - final) * DECAY_SHAPES[shape](x)


def wsd(t, warmup_steps, stable_steps, decay_steps, final_fraction=0.0,
        start_factor=0.0, decay_shape="linear") -> float:
    r"""The factor of the base learning rate at step ``t`` of a warmup–stable–decay
    schedule.

    With :math:`W` (``warmup_steps``), :math:`S` (``stable_steps``), :math:`D`
    (``decay_steps``), :math:`f_0` (``start_factor``) and :math:`f_\infty`
    (``final_fraction``),

    .. math::

        f(t) = \begin{cases}
            f_0 + (1 - f_0)\, t/W & t < W \\
            1 & W \le t < W + S \\
            1 - (1 - f_\infty)\, s(x) & W + S \le t < W + S + D \\
            f_\infty & t \ge W + S + D
        \end{cases}

    with :math:`x = (t - W - S)/D` and the decay shape :math:`s(x) = x` (``"linear"``),
    :math:`(1 - \cos\pi x)/2` (``"cosine"``) or :math:`\sqrt{x}` (``"1-sqrt"``, the
    best cool-down of Hägele et al. 2024). The stable phase can run as long as wanted
    and the decay be started from any checkpoint of it, which is the point of WSD: one
    long run serves many budgets.

    :math:`f(W + S + D) = f_\infty` is reached exactly, and the linear pieces are those
    of torch's ``LinearLR``: with :math:`f_0 > 0` the linear schedule equals
    ``SequentialLR([LinearLR(f_0, 1, W), ConstantLR(1.0), LinearLR(1, f_\infty, D)],
    milestones=[W, W + S])``. The names of ``transformers.get_wsd_schedule`` map as
    ``num_warmup_steps`` = :math:`W`, ``num_stable_steps`` = :math:`S`,
    ``num_decay_steps`` = :math:`D`, ``min_lr_ratio`` = :math:`f_\infty`; there the
    warm-up starts at ``min_lr_ratio``, here at ``start_factor``.

    >>> [round(wsd(t, 2, 2, 4, final_fraction=0.2), 2) for t in range(10)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2]
    >>> [round(wsd(t, 0, 1, 4, decay_shape="1-sqrt"), 2) for t in range(6)]
    [1.0, 1.0, 0.5, 0.29, 0.13, 0.0]

    References:
        Hu et al., *MiniCPM: Unveiling the Potential of Small Language Models with
        Scalable Training Strategies*, 2024 (WSD); Hägele et al., *Scaling Laws and
        Compute-Optimal Training Beyond Fixed Training Durations*, NeurIPS 2024
        (cool-down shapes).
    """
    _require_real(t, "t")
    if not 0 <= t < math.inf:
        raise ValueError(f"Invalid t: {t} (expected a finite step >= 0)")
    _check_wsd(warmup_steps, stable_steps, decay_steps, final_fraction, start_factor,
               decay_shape)
    return _factor(t, warmup_steps, stable_steps, decay_steps, final_fraction,
                   start_factor, decay_shape)


class WSD(LRScheduler):
    r"""Warmup–stable–decay: each group's lr is its base lr times :func:`wsd`.

    Step :math:`t` (``last_epoch``) gets :math:`\eta_t = \eta_\text{base}\, f(t)`, with
    :math:`f` the factor of :func:`wsd`: a linear warm-up from ``start_factor`` over
    ``warmup_steps``, ``stable_steps`` at the base lr, then ``decay_steps`` down to
    ``final_fraction`` in the ``decay_shape``, which stays after.

    It is *chainable*, as torch's ``LinearLR``: at step 0 it multiplies each group's
    current lr by :math:`f(0)`, then at step :math:`t` by :math:`f(t)/f(t-1)`. Used
    alone, that is the closed form to rounding (1e-15 relative per step); beside another
    chainable scheduler (an ``ExponentialLR`` in a ``ChainedScheduler``) it scales what
    that one sets. Where :math:`f(t-1) = 0` (the first step of a warm-up from
    ``start_factor=0``, or past a decay to 0) no factor can do that, and the closed form
    :math:`\eta_\text{base} f(t)` is used. ``step(epoch)`` and ``SequentialLR``'s
    milestones use the closed form. A group's ``lr`` may be a one-element Tensor. The
    state is plain numbers and strings, so ``state_dict()`` round-trips through
    ``torch.save``/``torch.load(weights_only=True)``.

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        warmup_steps, stable_steps, decay_steps: lengths :math:`W, S, D` of the three
            phases (integers >= 0).
        final_fraction: :math:`f_\infty \in [0, 1]`, the factor at the end (default 0).
        start_factor: :math:`f_0 \in [0, 1]`, the factor at step 0 (default 0).
        decay_shape: ``"linear"`` (default), ``"cosine"`` or ``"1-sqrt"``.
        last_epoch: index of the last step (``-1`` starts the schedule).

    Example:
        >>> import torch, optlib
        >>> opt = optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = WSD(opt, warmup_steps=2, stable_steps=2, decay_steps=4,
        ...             final_fraction=0.2)
        >>> lrs = []
        >>> for _ in range(10):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 3))
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [0.0, 0.5, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2]

    References:
        Hu et al., *MiniCPM*, 2024; Hägele et al., NeurIPS 2024.
    """

    def __init__(self, optimizer, warmup_steps, stable_steps, decay_steps,
                 final_fraction=0.0, start_factor=0.0, decay_shape="linear",
                 last_epoch=-1):
        _check_wsd(warmup_steps, stable_steps, decay_steps, final_fraction,
                   start_factor, decay_shape)
        self.warmup_steps, self.stable_steps = warmup_steps, stable_steps
        self.decay_steps, self.final_fraction = decay_steps, final_fraction
        self.start_factor, self.decay_shape = start_factor, decay_shape
        super().__init__(optimizer, last_epoch)

    def factor(self, t) -> float:
        """:func:`wsd` with this scheduler's arguments."""
        return _factor(t, self.warmup_steps, self.stable_steps, self.decay_steps,
                       self.final_fraction, self.start_factor, self.decay_shape)

    def get_lr(self):
        t, groups = self.last_epoch, self.optimizer.param_groups
        if t == 0:                          # the first lr: f(0) times the current
            return [group["lr"] * self.factor(0) for group in groups]
        if self._is_initial:                # a resumed start: leave the lr alone
            return [_copy(group["lr"]) for group in groups]
        before, now = self.factor(t - 1), self.factor(t)
        if before == 0:                     # nothing to scale: the closed form
            return [base * now for base in self.base_lrs]
        ratio = now / before
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self):
        """The lrs at ``last_epoch`` from the base lrs."""
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]


def _copy(value):
    return value.clone() if hasattr(value, "clone") else value
