r"""Learning-rate schedules: pure functions of the step, and the schedulers built on them.

Every schedule exists twice, once as a plain function of the step :math:`t` (what the book plots)
and once as a :class:`torch.optim.lr_scheduler.LRScheduler` whose ``get_lr()`` calls that same
function for each parameter group, so the curve in a figure and the learning rate an optimiser
receives cannot disagree. Each scheduler equals its ``torch.optim.lr_scheduler`` twin (same
arguments, defaults, errors and values):

=================  =======================================  ===============================
optlib             pure function(s)                         torch twin
=================  =======================================  ===============================
``CyclicLR``       ``cyclic_lr``, ``cyclic_momentum``,       ``CyclicLR``
                   ``triangular``
``SGDR``           ``cosine_restarts``, ``cosine_annealing``  ``CosineAnnealingWarmRestarts``
``OneCycleLR``     ``one_cycle``, ``one_cycle_momentum``     ``OneCycleLR``
``LinearWarmup``   ``linear_warmup``                         ``LinearLR``
``WarmupThen``     ``with_warmup``                           ``SequentialLR([LinearLR, X])``
=================  =======================================  ===============================

The schedulers work with any ``torch.optim.Optimizer``: optlib's and torch's alike.
They combine with torch's schedulers as their twins do: ``LinearWarmup`` is chainable
(it multiplies the current lr, by the ratio of :func:`linear_warmup` at two successive
steps), so it works in a ``ChainedScheduler`` or beside another scheduler, while
``CyclicLR``, ``OneCycleLR`` and ``SGDR`` set the lr from their own bases, as in torch.
A group's lr may be a one-element Tensor, and the states are torch's, so a scheduler's
state_dict loads into its twin and back.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from functools import partial

import torch
from torch.optim.lr_scheduler import LRScheduler

from ._base import _require_real, check_bool, check_in_range

__all__ = [
    "triangular", "cyclic_lr", "cyclic_momentum", "cosine_annealing", "restart_position",
    "cosine_restarts", "one_cycle", "one_cycle_momentum", "linear_warmup", "with_warmup",
    "CyclicLR", "SGDR", "OneCycleLR", "LinearWarmup", "WarmupThen",
]


# --------------------------------------------------------------------------- shared helpers
def _per_group(name: str, optimizer, value) -> list:
    """One value per param group: a list/tuple is checked for length, a scalar is
    repeated. A Tensor is copied, as torch copies it, so that changing the caller's
    tensor later changes nothing here."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}.")
        values = list(value)
    else:
        values = [value] * n
    return [v.clone() if isinstance(v, torch.Tensor) else v for v in values]


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _set_group(group: dict, key: str, value) -> None:
    """Write ``group[key]`` as torch does: in place when the group holds a tensor (a
    one-element value squeezed to 0-d), else by assignment (which may store a
    tensor)."""
    if isinstance(group[key], torch.Tensor):
        if isinstance(value, torch.Tensor) and value.dim() != 0:
            value = value.squeeze()
        group[key].fill_(value)
    else:
        group[key] = value


def _copy(value):
    """A value read from a group, never aliasing it (what ``get_last_lr`` returns)."""
    return value.clone() if isinstance(value, torch.Tensor) else value


def _momentum_key(scheduler, optimizer) -> None:
    """Cycled momentum lives in ``momentum`` (SGD) or in ``betas[0]`` (Adam family)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    scheduler.use_beta1 = "betas" in optimizer.defaults


def _write_momentum(group: dict, momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _real_value(value, name: str):
    """``value`` itself, or the number in a one-element real Tensor (a bound, a momentum
    or a group's lr may be a Tensor, as torch allows), for the checks below."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number or a one-element real "
                            f"Tensor, got a Tensor of shape {tuple(value.shape)}, "
                            f"{value.dtype}")
        return value.item()
    return value


def _check_step(t, name: str = "t") -> None:
    """A step (or epoch) of a schedule: a finite real number >= 0."""
    _require_real(t, name)
    if not 0 <= t < math.inf:
        raise ValueError(f"Invalid {name}: {t} (expected a finite step >= 0)")


def _check_value(value, name: str, *, strict: bool = False) -> None:
    """A finite real ``value`` >= 0 (> 0 when ``strict``); a one-element Tensor is read
    as its number."""
    value = _real_value(value, name)
    _require_real(value, name)
    if not ((value > 0 if strict else value >= 0) and value < math.inf):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"Invalid {name}: {value} (expected a finite value {bound})")


def _check_momenta(values, name: str, use_beta1: bool) -> None:
    """Cycled momenta: real numbers in [0, inf) for SGD's momentum. For Adam's beta1,
    torch's scheduler takes any number (its own tests write beta1 = 22); optlib takes it
    too, as a twin must, but warns outside [0, 1), where Adam's moment grows without
    bound."""
    for v in values:
        value = _real_value(v, name)
        if not use_beta1:
            check_in_range(value, name, 0.0, math.inf)
        elif not 0.0 <= value < 1.0:
            warnings.warn(f"{name} {value!r} is outside [0, 1): written into Adam's "
                          f"beta1, it makes the first moment grow without bound",
                          UserWarning, stacklevel=4)


def _check_clr_shape(step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode) -> None:
    """The arguments shared by ``cyclic_lr``, ``cyclic_momentum`` and ``CyclicLR``."""
    for name, v in (("step_size_up", step_size_up), ("step_size_down", step_size_down)):
        if v is None and name == "step_size_down":
            continue
        _require_real(v, name)
        low_ok = v > 0 if name == "step_size_up" else v >= 0
        if not (low_ok and v < math.inf):
            rng = "> 0" if name == "step_size_up" else ">= 0"
            raise ValueError(f"Invalid {name}: {v} (expected a finite number {rng})")
    if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
        raise ValueError("mode is invalid and scale_fn is None")
    if scale_fn is not None and not callable(scale_fn):
        raise TypeError(f"scale_fn must be callable or None, got {type(scale_fn).__name__}")
    if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
        raise ValueError(
            f"Invalid scale_mode: {scale_mode!r} (expected 'cycle' or 'iterations')")
    _require_real(gamma, "gamma")
    if not 0.0 < gamma < math.inf:
        raise ValueError(f"Invalid gamma: {gamma} (expected a finite value > 0)")


# --------------------------------------------------------------------------- cyclical
def triangular(t, base_lr, max_lr, step_size):
    r"""Smith's triangular policy, written exactly as in the paper.

    .. math::

        c = \left\lfloor 1 + \frac{t}{2s} \right\rfloor,\quad
        x = \left| \frac{t}{s} - 2c + 1 \right|,\quad
        \eta_t = \eta_{\text{base}} + (\eta_{\max} - \eta_{\text{base}})\,\max(0, 1 - x)

    It equals ``cyclic_lr(t, base_lr, max_lr, step_size)`` (the form torch uses) to rounding.

    >>> [round(triangular(t, 0.1, 0.5, step_size=2), 3) for t in range(6)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
    """
    _check_step(t)
    _check_value(base_lr, "base_lr")
    _check_value(max_lr, "max_lr")
    _check_value(step_size, "step_size", strict=True)
    cycle = math.floor(1 + t / (2 * step_size))
    x = abs(t / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


# The amplitude of each built-in mode, as a function of the cycle or of the step. They
# are module-level functions (not lambdas or bound methods) so that a scheduler holding
# one has no reference cycle and pickles.
def _triangular_scale(x):
    return 1.0


def _triangular2_scale(x):
    return 1 / (2.0 ** (x - 1))


def _exp_range_scale(gamma, x):
    return gamma ** x


def _mode_scale(mode, gamma):
    """(amplitude function, what it is a function of) of a built-in ``mode``."""
    if mode == "triangular":
        return _triangular_scale, "cycle"
    if mode == "triangular2":
        return _triangular2_scale, "cycle"
    return partial(_exp_range_scale, gamma), "iterations"


def _clr_position(t, total_size, step_ratio):
    """(cycle c, triangle height h in [0, 1]) at step t; a cycle is ``total_size``
    steps, of which the fraction ``step_ratio`` rises."""
    cycle = math.floor(1 + t / total_size)
    x = 1.0 + t / total_size - cycle                    # where in the cycle, in [0, 1)
    height = x / step_ratio if x <= step_ratio else (x - 1) / (step_ratio - 1)
    return cycle, height


def _clr_amplitude(t, cycle, scale_fn, scale_mode):
    return scale_fn(cycle if scale_mode == "cycle" else t)


def _clr_shape(t, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode):
    """(height, amplitude) at step t, from the arguments of :func:`cyclic_lr`."""
    up = float(step_size_up)
    total = up + (up if step_size_down is None else float(step_size_down))
    cycle, height = _clr_position(t, total, up / total)
    if scale_fn is None:
        scale_fn, scale_mode = _mode_scale(mode, gamma)
    return height, _clr_amplitude(t, cycle, scale_fn, scale_mode)


def _rise(low, high, height, amplitude):
    """The lr of CLR: up from ``low`` by the triangle's height times the amplitude."""
    return low + (high - low) * height * amplitude


def _fall(low, high, height, amplitude):
    """The momentum of CLR: the mirror image, down from ``high``."""
    return high - (high - low) * height * amplitude


def cyclic_lr(t, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
              gamma=1.0, scale_fn=None, scale_mode="cycle"):
    r"""The learning rate of ``CyclicLR`` at step ``t`` (Smith 2017).

    With :math:`s_\uparrow` = ``step_size_up``, :math:`s_\downarrow` = ``step_size_down``,
    :math:`S = s_\uparrow + s_\downarrow`, :math:`c = \lfloor 1 + t/S \rfloor` (the cycle) and
    :math:`x = 1 + t/S - c \in [0, 1)` (the position in it),

    .. math::

        h(x) = \begin{cases} x S / s_\uparrow & x \le s_\uparrow/S \\
                             (1 - x) S / s_\downarrow & \text{otherwise} \end{cases},\qquad
        \eta_t = \eta_{\text{base}} + (\eta_{\max} - \eta_{\text{base}})\, h(x)\, a

    with amplitude :math:`a = 1` (``triangular``), :math:`a = 2^{1-c}` (``triangular2``),
    :math:`a = \gamma^t` (``exp_range``) or :math:`a` = ``scale_fn(c)`` / ``scale_fn(t)``
    (``scale_mode`` ``'cycle'`` / ``'iterations'``). The bounds may be one-element
    Tensors (the result is then a Tensor).

    >>> [round(cyclic_lr(t, 0.1, 0.5, step_size_up=2, mode="triangular2"), 3) for t in range(9)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.2, 0.3, 0.2, 0.1]
    """
    _check_step(t)
    _check_value(base_lr, "base_lr")
    _check_value(max_lr, "max_lr")
    _check_clr_shape(step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    height, amp = _clr_shape(t, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    return _rise(base_lr, max_lr, height, amp)


def cyclic_momentum(t, base_momentum=0.8, max_momentum=0.9, step_size_up=2000,
                    step_size_down=None, mode="triangular", gamma=1.0, scale_fn=None,
                    scale_mode="cycle"):
    r"""The momentum of ``CyclicLR`` at step ``t``: the mirror image of :func:`cyclic_lr`,
    :math:`m_t = m_{\max} - (m_{\max} - m_{\text{base}})\, h(x)\, a` (high momentum at low lr).

    >>> [round(cyclic_momentum(t, 0.8, 0.9, step_size_up=2), 3) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
    """
    _check_step(t)
    _check_value(base_momentum, "base_momentum")
    _check_value(max_momentum, "max_momentum")
    _check_clr_shape(step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    height, amp = _clr_shape(t, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
    return _fall(base_momentum, max_momentum, height, amp)


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates (CLR): :math:`\eta` bounces between ``base_lr`` and ``max_lr``.

    Step :math:`t` (``last_epoch``, counted in mini-batches) gets :func:`cyclic_lr`; with
    ``cycle_momentum`` the momentum (``momentum``, or :math:`\beta_1` in ``betas``) gets
    :func:`cyclic_momentum`, falling while the learning rate rises. Equals
    ``torch.optim.lr_scheduler.CyclicLR``: same arguments and defaults; the scheduler
    overwrites each group's ``lr`` with ``base_lr`` at construction (and its momentum
    with ``max_momentum``). The schedule has no end: it keeps cycling for as many steps
    as it is given, as torch's does.

    Like torch's, it computes the lr from its own bounds, not from the group's current
    lr: stepped beside another scheduler (or in a ``ChainedScheduler``) it overrides
    it. A group's ``lr`` and the bounds and momenta may be one-element Tensors (a Tensor
    lr is updated in place). The state, ``state_dict()`` and ``load_state_dict()`` are
    torch's (``total_size``, ``step_ratio``, ``_scale_fn_ref``, ...), so a checkpoint
    moves between the two classes; optlib's earlier state_dicts (with ``step_size_up``
    and ``step_size_down``) load too.

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        base_lr, max_lr: lower and upper bound (a float, or one per param group).
        step_size_up, step_size_down: iterations in the rising and falling half
            (``step_size_down=None`` means symmetric).
        mode: ``'triangular'``, ``'triangular2'`` (amplitude halves each cycle) or
            ``'exp_range'`` (amplitude :math:`\gamma^t`).
        gamma: the base of ``exp_range``. scale_fn, scale_mode: a custom amplitude
            :math:`a(c)` or :math:`a(t)`, overriding ``mode``.
        cycle_momentum, base_momentum, max_momentum: cycle the momentum inversely to
            :math:`\eta`.
        last_epoch: index of the last batch (``-1`` starts the schedule).

    Example:
        >>> import torch, optlib
        >>> opt = optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        >>> sched = CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)
        >>> for _ in range(5):
        ...     g = opt.param_groups[0]
        ...     print(round(g["lr"], 3), round(g["momentum"], 3))
        ...     opt.step(); sched.step()
        0.1 0.9
        0.3 0.85
        0.5 0.8
        0.3 0.85
        0.1 0.9

    References:
        Smith, *Cyclical Learning Rates for Training Neural Networks*, WACV 2017
        (arXiv 1506.01186).
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for name, values in (("base_lr", base_lrs), ("max_lr", max_lrs)):
            for v in values:
                _check_value(v, name)
        _check_clr_shape(step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
        check_bool(cycle_momentum, "cycle_momentum")

        self.optimizer = optimizer
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _set_group(group, "lr", lr)
        self.max_lrs = max_lrs
        up = float(step_size_up)
        self.total_size = up + (up if step_size_down is None else float(step_size_down))
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom, self.scale_mode = scale_fn, scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _momentum_key(self, optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            _check_momenta(self.base_momentums, "base_momentum", self.use_beta1)
            _check_momenta(self.max_momentums, "max_momentum", self.use_beta1)
            if last_epoch == -1:
                for m_max, m_base, group in zip(self.max_momentums, self.base_momentums,
                                                optimizer.param_groups):
                    _write_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = m_max, m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs   # as torch: the bounds given here, not the groups' initial_lr

    def _init_scale_fn(self) -> None:
        """A built-in ``mode`` fixes the amplitude function and what it is a function of
        (as torch does, whatever ``scale_mode`` says); a custom ``scale_fn`` is kept."""
        if self._scale_fn_custom is None:
            self._scale_fn_ref, self.scale_mode = _mode_scale(self.mode, self.gamma)

    def scale_fn(self, x):
        """The amplitude at ``x``, the cycle (or the step, with ``'iterations'``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    def get_lr(self):
        t = self.last_epoch
        cycle, height = _clr_position(t, self.total_size, self.step_ratio)
        amp = _clr_amplitude(t, cycle, self.scale_fn, self.scale_mode)
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums,
                                            self.max_momentums):
                m = _fall(m_base, m_max, height, amp)
                _write_momentum(group, m, self.use_beta1)
        return [_rise(b, m, height, amp) for b, m in zip(self.base_lrs, self.max_lrs)]

    def state_dict(self):
        """As torch: the amplitude function is not saved (``_scale_fn_ref``, rebuilt
        from ``mode`` on loading); a custom ``scale_fn`` is saved only when it is a
        callable object (its ``__dict__``), a plain function or lambda must be passed
        again."""
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = fn.__dict__.copy()
        return state

    def load_state_dict(self, state_dict):
        """torch's state_dict (of this or an older release, which may hold
        ``_scale_fn_ref``) or optlib's earlier one; the caller's dict is not changed."""
        state_dict = dict(state_dict)
        fn_state = state_dict.pop("_scale_fn_custom", None)
        state_dict.pop("_scale_fn_ref", None)         # rebuilt below, never loaded
        if "total_size" not in state_dict and "step_size_up" in state_dict:
            up, down = state_dict.pop("step_size_up"), state_dict.pop("step_size_down")
            state_dict["total_size"] = up + down
            state_dict["step_ratio"] = up / state_dict["total_size"]
        super().load_state_dict(state_dict)
        if fn_state is not None:
            self._scale_fn_custom.__dict__.update(fn_state)
        self._init_scale_fn()


# --------------------------------------------------------------------------- SGDR
def cosine_annealing(T_cur, T_i, base_lr, eta_min=0.0):
    r"""One cosine period: :math:`\eta = \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})
    (1 + \cos(\pi T_{cur}/T_i))`, SGDR's equation (5), with :math:`\eta_{\max}` = ``base_lr``.

    >>> [round(cosine_annealing(t, 4, 1.0), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    _check_step(T_cur, "T_cur")
    _check_value(T_i, "T_i", strict=True)        # (base_lr may be a tensor, as a group's lr)
    _require_real(eta_min, "eta_min")
    if not math.isfinite(eta_min):
        raise ValueError(f"Invalid eta_min: {eta_min} (expected a finite value)")
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def restart_position(epoch, T_0, T_mult=1):
    r"""``(T_cur, T_i)`` at (possibly fractional) ``epoch``: the time since the last restart and
    the length of the current period. Period :math:`k` lasts :math:`T_0 T_{mult}^k` and starts at
    :math:`T_0 (T_{mult}^k - 1)/(T_{mult} - 1)`; the period index is found exactly (integer
    arithmetic), not by a rounded logarithm.

    >>> [restart_position(e, T_0=2, T_mult=2) for e in (0, 1.5, 2, 5.5, 6)]
    [(0, 2), (1.5, 2), (0, 4), (3.5, 4), (0, 8)]
    """
    _require_real(epoch, "epoch")
    if not 0 <= epoch < math.inf:
        raise ValueError(f"Expected non-negative epoch, but got {epoch}")
    if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
        raise ValueError(f"Expected positive integer T_0, but got {T_0}")
    if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
        raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
    if epoch < T_0:
        return epoch, T_0
    if T_mult == 1:
        return epoch % T_0, T_0

    def start(k):  # first epoch of period k
        return T_0 * (T_mult ** k - 1) // (T_mult - 1)

    k = int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult))
    while k > 0 and epoch < start(k):
        k -= 1
    while epoch >= start(k + 1):
        k += 1
    return epoch - start(k), T_0 * T_mult ** k


def cosine_restarts(t, base_lr, T_0, T_mult=1, eta_min=0.0):
    r"""The learning rate of ``SGDR`` at (possibly fractional) epoch ``t``:
    :func:`cosine_annealing` of :func:`restart_position`, i.e.

    .. math::

        \eta_t = \eta_{\min} + \tfrac12 (\eta_{\max} - \eta_{\min})
                 \left(1 + \cos\frac{\pi T_{cur}}{T_i}\right)

    >>> [round(cosine_restarts(t, 1.0, T_0=2, T_mult=2), 3) for t in range(7)]
    [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0]
    """
    T_cur, T_i = restart_position(t, T_0, T_mult)
    return cosine_annealing(T_cur, T_i, base_lr, eta_min)


class SGDR(LRScheduler):
    r"""Stochastic gradient descent with warm restarts: cosine annealing, restarted every period.

    :math:`\eta_{\max}` is each group's initial ``lr``; after each restart the period
    :math:`T_i` is multiplied by ``T_mult``:

    .. math::

        \eta_t = \eta_{\min} + \tfrac12 (\eta_{\max} - \eta_{\min})
                 \left(1 + \cos\frac{\pi T_{cur}}{T_i}\right)

    ``step()`` advances one epoch (or call it per batch with ``T_0`` in batches);
    ``step(epoch)`` jumps to a fractional epoch such as ``epoch + i / iters``, as in the paper.
    Equals ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` (attributes ``T_cur``, ``T_i``
    as in torch; ``get_lr`` calls :func:`cosine_annealing` on them, and the tests check it against
    :func:`cosine_restarts`). The schedule has no end: the restarts go on, as in torch.

    .. note::
       torch finds the period of ``step(epoch)`` with a rounded logarithm; optlib corrects it with
       exact integer arithmetic, so the two could differ only where torch's logarithm lands on the
       wrong side of a restart.

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        T_0: length of the first period (positive int). T_mult: period growth factor (int >= 1).
        eta_min: :math:`\eta_{\min}` (default 0). last_epoch: index of the last epoch.

    Example:
        >>> import torch, optlib
        >>> opt = optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = SGDR(opt, T_0=2, T_mult=2)
        >>> lrs = []
        >>> for _ in range(7):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 3)); opt.step(); sched.step()
        >>> lrs
        [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0]

    References:
        Loshchilov & Hutter, *SGDR: Stochastic Gradient Descent with Warm Restarts*, ICLR 2017.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        if not math.isfinite(eta_min):
            raise ValueError(f"Invalid eta_min: {eta_min} (expected a finite value)")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [cosine_annealing(self.T_cur, self.T_i, b, self.eta_min) for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or jump to ``epoch`` (a float >= 0)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:                                   # one more epoch: T_cur += 1
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:                      # restart, next period T_mult longer
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            self.T_cur, self.T_i = restart_position(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True      # torch's step sets (and saves) it
        try:
            lrs = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, lrs):
            _set_group(group, "lr", lr)
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                         for g in self.optimizer.param_groups]


# --------------------------------------------------------------------------- one-cycle
def _anneal_cos(start, end, pct):
    """Half a cosine from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start, end, pct):
    """A straight line from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return (end - start) * pct + start


_ANNEAL = {"cos": _anneal_cos, "linear": _anneal_linear}


def _phases(total_steps, pct_start, three_phase):
    """The phases of the 1cycle policy, in torch's form (the ``_schedule_phases`` of
    its state): the step each phase ends at and the group keys of the values it goes
    between."""
    ends = [float(pct_start * total_steps) - 1]
    lrs = ["initial_lr", "max_lr"]
    momenta = ["max_momentum", "base_momentum"]
    if three_phase:                     # back down to the start, then the final anneal
        ends.append(float(2 * pct_start * total_steps) - 2)
        lrs.append("initial_lr")
        momenta.append("max_momentum")
    ends.append(total_steps - 1)
    lrs.append("min_lr")
    momenta.append("max_momentum")
    return [{"end_step": end, "start_lr": lrs[i], "end_lr": lrs[i + 1],
             "start_momentum": momenta[i], "end_momentum": momenta[i + 1]}
            for i, end in enumerate(ends)]


def _through_phases(t, phases, values, kind, anneal):
    """The value at step t: ``anneal`` between ``values[phase["start_" + kind]]`` and
    ``values[phase["end_" + kind]]`` in the phase that holds t (the last one past its
    end), with the fraction of that phase done."""
    start = 0.0
    for i, phase in enumerate(phases):
        end = phase["end_step"]
        if t <= end or i == len(phases) - 1:
            pct = (t - start) / (end - start)
            low, high = values[phase["start_" + kind]], values[phase["end_" + kind]]
            return anneal(low, high, pct)
        start = end


def _past_the_end(t, total_steps):
    return ValueError(f"Tried to step {t} times. The specified number of total steps "
                      f"is {total_steps}")


def _one_cycle(t, total_steps, pct_start, three_phase, strategy, values, kind):
    """Check the arguments, then :func:`_through_phases` of torch's phases."""
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
        raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
    _require_real(pct_start, "pct_start")
    if not 0 <= pct_start <= 1:
        raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
    if strategy not in _ANNEAL:
        raise ValueError(
            f"anneal_strategy must be one of 'cos' or 'linear', instead got {strategy}")
    _require_real(t, "t")
    if t > total_steps:
        raise _past_the_end(t, total_steps)
    _check_step(t)
    phases = _phases(total_steps, pct_start, three_phase)
    return _through_phases(t, phases, values, kind, _ANNEAL[strategy])


def one_cycle(t, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False, *, initial_lr=None, min_lr=None):
    r"""The learning rate of ``OneCycleLR`` at step ``t`` (Smith 2018; Smith & Topin 2019).

    With :math:`\eta_0 = \eta_{\max}/` ``div_factor`` and :math:`\eta_{\min} = \eta_0/`
    ``final_div_factor``, the rate anneals :math:`\eta_0 \to \eta_{\max}` over the first
    ``pct_start`` of the steps, then :math:`\eta_{\max} \to \eta_{\min}` (two phases, fastai's
    default) or :math:`\eta_{\max} \to \eta_0 \to \eta_{\min}` (``three_phase``, the paper). Each
    phase from :math:`a` to :math:`b` with progress :math:`p \in [0, 1]` is
    :math:`b + \tfrac{a-b}{2}(1 + \cos \pi p)` (``'cos'``) or :math:`a + (b-a)p` (``'linear'``).
    Phase :math:`k` ends at step ``pct_start*total_steps - 1`` (twice that ``- 2`` for the second
    of three) and the last at ``total_steps - 1``; a step beyond ``total_steps`` raises.

    >>> [round(one_cycle(t, 1.0, 10, pct_start=0.4, anneal_strategy="linear"), 3)
    ...  for t in range(10)]
    [0.04, 0.36, 0.68, 1.0, 0.833, 0.667, 0.5, 0.333, 0.167, 0.0]
    """
    _check_value(max_lr, "max_lr")
    _check_value(div_factor, "div_factor", strict=True)
    _check_value(final_div_factor, "final_div_factor", strict=True)
    initial_lr = max_lr / div_factor if initial_lr is None else initial_lr
    min_lr = initial_lr / final_div_factor if min_lr is None else min_lr
    values = {"initial_lr": initial_lr, "max_lr": max_lr, "min_lr": min_lr}
    return _one_cycle(t, total_steps, pct_start, three_phase, anneal_strategy, values,
                      "lr")


def one_cycle_momentum(t, total_steps, base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
                       anneal_strategy="cos", three_phase=False):
    r"""The momentum of ``OneCycleLR`` at step ``t``: :math:`m_{\max} \to m_{\text{base}} \to
    m_{\max}` (then constant in a third phase), mirroring :func:`one_cycle`.

    >>> [round(one_cycle_momentum(t, 10, pct_start=0.4, anneal_strategy="linear"), 3)
    ...  for t in (0, 3, 9)]
    [0.95, 0.85, 0.95]
    """
    _check_value(base_momentum, "base_momentum")
    _check_value(max_momentum, "max_momentum")
    values = {"base_momentum": base_momentum, "max_momentum": max_momentum}
    return _one_cycle(t, total_steps, pct_start, three_phase, anneal_strategy, values,
                      "momentum")


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: one long warm-up to ``max_lr`` and one long anneal far below the start.

    Step :math:`t` (batches) gets :func:`one_cycle` with each group's ``initial_lr``, ``max_lr``
    and ``min_lr`` (group keys, written at construction as torch does:
    ``initial_lr = max_lr / div_factor``, ``min_lr = initial_lr / final_div_factor``); with
    ``cycle_momentum`` the momentum (or :math:`\beta_1`) gets :func:`one_cycle_momentum`.
    Equals ``torch.optim.lr_scheduler.OneCycleLR``, including its errors; stepping beyond
    ``total_steps`` raises ``ValueError``.

    Like torch's, it computes the lr from those group keys, not from the group's
    current lr, so it overrides a scheduler stepped beside it. A group's ``lr``,
    ``max_lr`` and the momenta may be one-element Tensors. The state is torch's
    (``total_steps``, ``_schedule_phases``, ``_anneal_func_type``, ...), so a
    state_dict moves between the two classes, including one of an older torch without
    ``_anneal_func_type`` (which saved the anneal function itself as ``anneal_func``)
    and optlib's earlier one (``pct_start``, ``three_phase``, ``anneal_strategy``).

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        max_lr: peak learning rate (a float or one per group).
        total_steps: number of steps, or give ``epochs`` and ``steps_per_epoch``.
        pct_start: fraction of the steps spent rising (a float in [0, 1], default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum, base_momentum, max_momentum: momentum between 0.85 and 0.95 by
            default.
        div_factor, final_div_factor: default 25 and 1e4.
        three_phase: the paper's symmetric rise and fall, then a final anneal (default
            False).
        last_epoch: index of the last batch.

    Example:
        >>> import torch, optlib
        >>> opt = optlib.Adam([torch.nn.Parameter(torch.zeros(1))])
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.4,
        ...                    anneal_strategy="linear")
        >>> for _ in range(10):
        ...     g = opt.param_groups[0]
        ...     print(round(g["lr"], 3), round(g["betas"][0], 3))
        ...     opt.step(); sched.step()
        0.04 0.95
        0.36 0.917
        0.68 0.883
        1.0 0.85
        0.833 0.867
        0.667 0.883
        0.5 0.9
        0.333 0.917
        0.167 0.933
        0.0 0.95

    References:
        Smith, *A disciplined approach to neural network hyper-parameters: Part 1*, 2018
        (arXiv 1803.09820); Smith & Topin, *Super-Convergence: Very Fast Training of Neural
        Networks Using Large Learning Rates*, 2019 (arXiv 1708.07120).
    """

    # the anneal functions under torch's names (an older torch checkpoint names one)
    _annealing_cos = staticmethod(_anneal_cos)
    _annealing_linear = staticmethod(_anneal_linear)

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:  # (and not NaN)
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in _ANNEAL:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        check_bool(three_phase, "three_phase")
        check_bool(cycle_momentum, "cycle_momentum")
        _check_value(div_factor, "div_factor", strict=True)
        _check_value(final_div_factor, "final_div_factor", strict=True)
        self._schedule_phases = _phases(self.total_steps, pct_start, three_phase)
        self._anneal_func_type = anneal_strategy

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for m in max_lrs:
            _check_value(m, "max_lr")
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _momentum_key(self, optimizer)
            maxs = _per_group("max_momentum", optimizer, max_momentum)
            bases = _per_group("base_momentum", optimizer, base_momentum)
            _check_momenta(maxs, "max_momentum", self.use_beta1)
            _check_momenta(bases, "base_momentum", self.use_beta1)
            if last_epoch == -1:
                for m_max, m_base, group in zip(maxs, bases, optimizer.param_groups):
                    _write_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = m_max, m_base
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start, end, pct):
        kind = getattr(self, "_anneal_func_type", None)
        if kind is None:              # loaded from an older torch: the function itself
            return self.anneal_func(start, end, pct)
        if kind not in _ANNEAL:
            raise ValueError(f"Unknown _anneal_func_type: {kind}")
        return _ANNEAL[kind](start, end, pct)

    def load_state_dict(self, state_dict):
        """torch's state_dict, or optlib's earlier one (which kept ``pct_start``,
        ``three_phase`` and ``anneal_strategy`` instead of torch's phases); the caller's
        dict is not changed."""
        state_dict = dict(state_dict)
        if "_schedule_phases" not in state_dict and "pct_start" in state_dict:
            state_dict["_schedule_phases"] = _phases(
                state_dict["total_steps"], state_dict.pop("pct_start"),
                state_dict.pop("three_phase"))
            state_dict["_anneal_func_type"] = state_dict.pop("anneal_strategy")
        super().load_state_dict(state_dict)

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise _past_the_end(t, self.total_steps)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(_through_phases(t, self._schedule_phases, group, "lr",
                                       self._anneal_func))
            if self.cycle_momentum:
                m = _through_phases(t, self._schedule_phases, group, "momentum",
                                    self._anneal_func)
                _write_momentum(group, m, self.use_beta1)
        return lrs


# --------------------------------------------------------------------------- linear warm-up
def _check_factors(start_factor, end_factor):
    _require_real(start_factor, "start_factor")
    _require_real(end_factor, "end_factor")
    if not 0 < start_factor <= 1.0:                # torch's messages (NaN is rejected too)
        raise ValueError(
            "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
    if not 0 <= end_factor <= 1.0:
        raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")


def _check_iters(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid {name}: {value} (expected an integer >= 1)")


def linear_warmup(t, base_lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    r"""The learning rate of ``LinearWarmup`` (torch's ``LinearLR``) at step ``t``:

    .. math::

        \eta_t = \eta_{\text{base}} \left(f_0 + (f_1 - f_0)\,
                 \frac{\min(t, T)}{T}\right)

    with :math:`f_0` = ``start_factor``, :math:`f_1` = ``end_factor``, :math:`T` = ``total_iters``.

    >>> [round(linear_warmup(t, 1.0, start_factor=0.25, total_iters=3), 3) for t in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    _check_step(t)                                # (base_lr may be a tensor, as a group's lr)
    _check_factors(start_factor, end_factor)
    _check_iters(total_iters, "total_iters")
    return base_lr * (start_factor
                      + (end_factor - start_factor) * min(total_iters, t) / total_iters)


def _linear_warmup_ratio(t, start_factor, end_factor, total_iters):
    r"""The factor that takes the lr of step :math:`t - 1` to the lr of step :math:`t`
    (:math:`1 \le t \le T`) in :func:`linear_warmup`:

    .. math::

        \frac{\eta_t}{\eta_{t-1}} = \frac{f(t)}{f(t-1)}
            = 1 + \frac{f_1 - f_0}{T f_0 + (t - 1)(f_1 - f_0)},
        \qquad f(t) = f_0 + (f_1 - f_0)\,\frac{t}{T}

    The product of the factors of steps 1 to :math:`t` is :math:`f(t)/f_0`, so a lr that
    starts at :math:`f_0\,\eta_{\text{base}}` and is multiplied by them follows
    :func:`linear_warmup` (to rounding), and a lr that another scheduler also changes
    keeps that change.

    >>> [round(_linear_warmup_ratio(t, 0.25, 1.0, 3), 4) for t in (1, 2, 3)]
    [2.0, 1.5, 1.3333]
    """
    change = end_factor - start_factor
    return 1.0 + change / (total_iters * start_factor + (t - 1) * change)


class LinearWarmup(LRScheduler):
    r"""Linear warm-up: scale each group's lr from ``start_factor`` to ``end_factor``.

    Step :math:`t` gets :func:`linear_warmup`,
    :math:`\eta_t = \eta_{\text{base}}(f_0 + (f_1 - f_0)\min(t, T)/T)`, constant
    after :math:`T` = ``total_iters`` (stepping past :math:`T` keeps ``end_factor``
    times the base lr, as torch does). Equals ``torch.optim.lr_scheduler.LinearLR``
    (same arguments, defaults and factor errors; ``total_iters`` must be an integer
    >= 1, which torch does not check).

    It is *chainable*, as torch's: at step 0 it multiplies each group's current lr by
    :math:`f_0`, then at step :math:`t \le T` by the factor :math:`f(t)/f(t-1)`
    (``_linear_warmup_ratio``), and past :math:`T` it leaves the lr alone. Used alone,
    that is the closed form above up to rounding (about 1e-14 relative at most);
    stepped beside another scheduler (an ``ExponentialLR``, in a ``ChainedScheduler``,
    after a milestone of a ``SequentialLR``) it scales what that scheduler set instead
    of overwriting it. ``step(epoch)`` (deprecated in torch) and ``SequentialLR``'s
    milestones use the closed form from the base lrs. A group's ``lr`` may be a
    one-element Tensor (updated in place). :class:`WarmupThen` puts a warm-up in front
    of a schedule that is not chainable (``SGDR``, ``CyclicLR``, ``OneCycleLR``).

    Example:
        >>> import torch, optlib
        >>> opt = optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = LinearWarmup(opt, start_factor=0.25, total_iters=3)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 3)); opt.step(); sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.0]

    References:
        Goyal et al., *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour*, 2017
        (gradual warm-up).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        _check_factors(start_factor, end_factor)
        _check_iters(total_iters, "total_iters")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, groups = self.last_epoch, self.optimizer.param_groups
        if t == 0:                              # the first lr: f_0 times the current
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or t > self.total_iters:
            return [_copy(group["lr"]) for group in groups]  # a resumed start; the end
        ratio = _linear_warmup_ratio(t, self.start_factor, self.end_factor,
                                     self.total_iters)
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self):
        """The lrs at ``last_epoch`` from the base lrs: :func:`linear_warmup`."""
        return [linear_warmup(self.last_epoch, b, self.start_factor, self.end_factor,
                              self.total_iters) for b in self.base_lrs]


def with_warmup(schedule: Callable, warmup_steps: int, start_factor: float = 1.0 / 3) -> Callable:
    r"""Put a linear warm-up in front of any schedule ``schedule(t)``.

    .. math::

        \tilde\eta_t = \begin{cases} \eta_0 \left(f_0 + (1 - f_0)\, t / w\right) & t < w \\
                                     \eta(t - w) & t \ge w \end{cases}
        \qquad \eta_0 = \eta(0)

    The warm-up climbs from ``start_factor`` times the schedule's first value to that value, and
    the schedule then runs from its own step 0: what ``SequentialLR([LinearLR(start_factor,
    total_iters=w), X], milestones=[w])`` does in torch.

    >>> from functools import partial
    >>> f = with_warmup(partial(cosine_restarts, base_lr=1.0, T_0=2), 2, start_factor=0.5)
    >>> [round(f(t), 3) for t in range(6)]
    [0.5, 0.75, 1.0, 0.5, 1.0, 0.5]
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be a function of the step, got {type(schedule).__name__}")
    _check_iters(warmup_steps, "warmup_steps")
    _check_factors(start_factor, 1.0)

    def warmed_up(t):
        if t < warmup_steps:
            return linear_warmup(t, schedule(0), start_factor, 1.0, warmup_steps)
        return schedule(t - warmup_steps)

    return warmed_up


class WarmupThen(LRScheduler):
    r"""A linear warm-up of ``warmup_iters`` steps in front of any schedule ``after``.

    ``after`` is either a scheduler already built on the same optimizer (optlib's or torch's:
    its values at steps :math:`0, 1, \dots` are used from step :math:`w` = ``warmup_iters`` on)
    or a function of the step (one, or one per param group) returning the learning rate; the
    lr at step :math:`t` is then :func:`with_warmup` of it. During the warm-up the lr climbs
    linearly from ``start_factor`` times the schedule's first lr to that lr:

    .. math::

        \tilde\eta_t = \eta_0 \left(f_0 + (1 - f_0)\, t / w\right)\ (t < w),\qquad
        \tilde\eta_t = \eta(t - w)\ (t \ge w)

    This equals torch's ``SequentialLR([LinearLR(opt, start_factor, total_iters=w), after],
    milestones=[w])`` wherever that is well defined (schedules that start at the group's lr,
    such as ``SGDR``). A momentum-cycling ``after`` keeps its step-0 momentum during the warm-up.
    With a scheduler ``after``, call ``step()`` without an epoch. ``state_dict()`` includes the
    state of ``after``. Past the warm-up the steps are ``after``'s: past its own end, it does what
    it does alone (a ``OneCycleLR`` raises, the others go on).

    Example:
        >>> import torch, optlib
        >>> opt = optlib.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = WarmupThen(opt, after=SGDR(opt, T_0=2), warmup_iters=2, start_factor=0.5)
        >>> lrs = []
        >>> for _ in range(6):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 3)); opt.step(); sched.step()
        >>> lrs
        [0.5, 0.75, 1.0, 0.5, 1.0, 0.5]

    References:
        Goyal et al., *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour*, 2017.
    """

    def __init__(self, optimizer, after, warmup_iters=5, start_factor=1.0 / 3, last_epoch=-1):
        _check_iters(warmup_iters, "warmup_iters")
        _check_factors(start_factor, 1.0)
        self.warmup_iters, self.start_factor = warmup_iters, start_factor
        self._after, self._fns = None, None
        if isinstance(after, LRScheduler):
            if after.optimizer is not optimizer:
                raise ValueError("after must be a scheduler of the same optimizer as WarmupThen")
            self._after = after
            self.after_lrs = [float(lr) for lr in after.get_last_lr()]   # its lrs at its step 0
        else:
            fns = _per_group("after", optimizer, after)
            if not all(callable(f) for f in fns):
                raise TypeError("after must be an LRScheduler, a function of the step, or a "
                                "list of such functions (one per param group)")
            self._fns = [with_warmup(f, warmup_iters, start_factor) for f in fns]
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t = self.last_epoch
        if self._fns is not None:
            return [f(t) for f in self._fns]
        return [linear_warmup(t, lr, self.start_factor, 1.0, self.warmup_iters)
                for lr in self.after_lrs]   # for t == w this is after's step-0 lr

    def step(self, epoch=None):
        if self._after is not None and epoch is not None:
            raise TypeError("WarmupThen.step(epoch) needs `after` to be a function of the step")
        if self._after is not None and self.last_epoch >= self.warmup_iters:
            self.last_epoch += 1                  # the warm-up is over: `after` takes its step
            self._after.step()
            self._last_lr = list(self._after.get_last_lr())
            return
        super().step(epoch)

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_after", "_fns")}
        if self._after is not None:
            state["after_state"] = self._after.state_dict()
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        after_state = state_dict.pop("after_state", None)
        self.__dict__.update(state_dict)
        if after_state is not None:
            self._after.load_state_dict(after_state)
