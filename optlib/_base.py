"""Machinery shared by every optlib optimiser.

A concrete optimiser only says how one parameter is updated (``_update``) and which state it keeps
(``_init_state``). Everything else lives here, once:

* the closure protocol of ``torch.optim`` (``step(closure)`` re-evaluates the loss with grad enabled);
* skipping parameters whose ``grad`` is ``None``;
* lazy state: a parameter's state is created the first time it has a gradient;
* step counting in ``state["step"]``, stored as torch does (a float32 scalar tensor on the CPU) so
  that state dicts move freely between an optlib optimiser and its ``torch.optim`` twin;
* argument validation with torch's messages (``check_*`` helpers below).

Parameter groups, ``state_dict``/``load_state_dict``, hooks and ``zero_grad`` come from
:class:`torch.optim.Optimizer` unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

import torch

__all__ = ["Optimizer", "check_lr", "check_nonnegative", "check_betas", "check_in_range"]


# --------------------------------------------------------------------------- validation helpers
def _is_real(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def _require_real(value, name: str) -> None:
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a Python float, not a Tensor (optlib keeps step sizes as floats)")
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")


def check_lr(lr) -> None:
    """``lr`` must be a finite float ≥ 0 (torch's message; NaN is rejected too)."""
    _require_real(lr, "lr")
    if not 0.0 <= lr < math.inf:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_nonnegative(value, message: str, name: str) -> None:
    """A finite ``value`` ≥ 0, else ``ValueError(message.format(value))`` (torch's wording)."""
    _require_real(value, name)
    if not 0.0 <= value < math.inf:
        raise ValueError(message.format(value))


def check_in_range(value, name: str, low: float, high: float, *, high_inclusive: bool = False) -> None:
    """``low <= value < high`` (or ``<= high``), else an error that names the argument and the range."""
    _require_real(value, name)
    ok = low <= value <= high if high_inclusive else low <= value < high
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"Invalid {name}: {value} (expected a value in [{low}, {high}{bracket})")


def check_betas(betas) -> None:
    """Two coefficients in [0, 1), with torch's message for each index."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a tuple of two floats, got {betas!r}")
    for i, beta in enumerate(betas):
        _require_real(beta, f"betas[{i}]")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


# --------------------------------------------------------------------------- base class
class Optimizer(torch.optim.Optimizer):
    """Base class: a subclass implements ``_init_state`` and ``_update`` for one parameter.

    Subclasses that need the whole group at once (SWATS projects over all of a group's
    parameters) override ``_step_group`` instead of ``_update``.
    """

    #: whether sparse gradients are accepted; torch's own error is raised otherwise
    supports_sparse: bool = False
    #: the message torch raises for a sparse gradient (subclasses copy their twin's)
    sparse_message: str = "{name} does not support sparse gradients"

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._step_group(group, params)
        return loss

    # The default group step: one parameter at a time, state created lazily.
    def _step_group(self, group: dict, params: list[torch.Tensor]) -> None:
        maximize = group.get("maximize", False)
        for p in params:
            grad = self._checked_grad(p)
            if maximize:
                grad = -grad
            self._update(p, grad, self._state_for(p, group), group)

    def _checked_grad(self, p: torch.Tensor) -> torch.Tensor:
        grad = p.grad
        if grad.is_sparse and not self.supports_sparse:
            raise RuntimeError(self.sparse_message.format(name=type(self).__name__))
        return grad

    def _state_for(self, p: torch.Tensor, group: dict) -> dict:
        state = self.state[p]
        if len(state) == 0:
            self._init_state(p, state, group)
        return state

    @staticmethod
    def _new_step() -> torch.Tensor:
        """The step counter as torch stores it: a scalar tensor on the CPU (float64 only when
        that is torch's default dtype, as in ``torch.optim``)."""
        dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
        return torch.tensor(0.0, dtype=dtype)

    @staticmethod
    def _advance(state: dict) -> int:
        """Increment ``state["step"]`` and return the new value as a Python int (t in the lecture)."""
        step = state["step"]
        if isinstance(step, torch.Tensor):
            step += 1
            return int(step.item())
        state["step"] = Optimizer._new_step() + (float(step) + 1.0)
        return int(state["step"].item())

    def _init_state(self, p: torch.Tensor, state: dict, group: dict) -> None:  # pragma: no cover
        """Fill ``state`` for parameter ``p`` before its first update."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:  # torch's repr lists every group; keep it, but name optlib
        return "optlib." + super().__repr__()
