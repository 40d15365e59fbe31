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
:class:`torch.optim.Optimizer`. The one piece replaced is the wrapper torch puts around ``step``
(:meth:`Optimizer.profile_hook_step`): it runs the same hooks and writes the same profiler label,
but labels through torch's C++ ``RecordFunctionFast`` instead of the Python ``record_function``.
"""

from __future__ import annotations

import math
import functools
from collections.abc import Callable
from itertools import chain
from numbers import Real

import torch
import torch.optim.optimizer as _torch_optimizer  # the global step hooks live here

__all__ = ["Optimizer", "batches", "check_adam_hyper", "check_lr", "check_nonnegative", "check_betas", "check_in_range",
           "check_bool"]


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


def check_adam_hyper(lr, betas, eps, weight_decay) -> None:
    """The checks torch's Adam makes, in its order, shared by the optimisers of the Adam family."""
    check_lr(lr)
    check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
    check_betas(betas)
    check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")


def check_bool(value, name: str) -> None:
    """A flag must be a bool: ``maximize="no"`` would otherwise be true and silently maximise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


# --------------------------------------------------------------------------- batching
def batches(tensors, elements: int = 2**18):
    """Split ``tensors`` into consecutive runs of at least ``elements`` elements in all (the last
    run may be smaller; a large tensor makes a run of its own).

    A ``torch._foreach_*`` call over one run replaces a Python call per tensor, which on a small
    tensor costs more than the arithmetic, while the run (about a megabyte of float32 by default)
    is small enough that the tensors just written are still in the cache when the call reads them.
    """
    run, size = [], 0
    for t in tensors:
        run.append(t)
        size += t.numel()
        if size >= elements:
            yield run
            run, size = [], 0
    if run:
        yield run


# --------------------------------------------------------------------------- base class
#: labels a block for the profiler; the C++ class costs about 0.2 us per step when no profiler
#: listens, the Python ``record_function`` about 6 us (and far more with cold caches, as after a
#: forward and backward pass: 0.04 of SGD's step time on the benchmark's model set)
_label = getattr(torch._C._profiler, "_RecordFunctionFast", torch.autograd.profiler.record_function)
#: flags torch's base class may add to ``defaults`` (not hyper-parameters of a group)
_TORCH_FLAGS = frozenset({"differentiable", "foreach", "fused", "capturable"})


class Optimizer(torch.optim.Optimizer):
    """Base class: a subclass implements ``_init_state`` and ``_update`` for one parameter.

    Subclasses that need the whole group at once (SWATS projects over all of a group's
    parameters), or that are faster with one call per batch of tensors (SGD, see :func:`batches`),
    override ``_step_group(group, params)`` instead of ``_update``. It gets every parameter of the
    group and must skip those whose ``grad`` is ``None``.
    """

    #: whether sparse gradients are accepted; torch's own error is raised otherwise
    supports_sparse: bool = False
    #: the message torch raises for a sparse gradient (subclasses copy their twin's)
    sparse_message: str = "{name} does not support sparse gradients"

    @staticmethod
    def profile_hook_step(func):
        """Wrap ``step`` as :class:`torch.optim.Optimizer` does (torch calls this once per class).

        Global and per-optimiser step pre-hooks run first (a pre-hook may return new
        ``(args, kwargs)``), then ``step`` inside the profiler label ``Optimizer.step#<class>.step``,
        then ``_optimizer_step_code`` (where torch's Python tracer hooks in) and the post-hooks."""

        @functools.wraps(func)
        def stepped(*args, **kwargs):       # as in torch, args[0] is the optimiser, hooks see it
            self = args[0]
            with _label(f"Optimizer.step#{type(self).__name__}.step"):
                hooks = _torch_optimizer._global_optimizer_pre_hooks
                for hook in chain(hooks.values(), self._optimizer_step_pre_hooks.values()):
                    changed = hook(self, args, kwargs)
                    if changed is None:
                        continue
                    if not (isinstance(changed, tuple) and len(changed) == 2):
                        raise RuntimeError(f"{func} must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {changed}.")
                    args, kwargs = changed
                out = func(*args, **kwargs)
                self._optimizer_step_code()
                hooks = _torch_optimizer._global_optimizer_post_hooks
                for hook in chain(self._optimizer_step_post_hooks.values(), hooks.values()):
                    hook(self, args, kwargs)
                return out

        return stepped

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        """Perform one update of every parameter that has a gradient; return the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group, group["params"])
        return loss

    # A group step receives all of the group's parameters and leaves those without a gradient
    # alone: one look at ``p.grad`` per parameter (a separate filtering pass cost SGD about 2 %
    # of its step). The default: one parameter at a time, state created lazily.
    def _step_group(self, group: dict, params: list[torch.Tensor]) -> None:
        maximize = group.get("maximize", False)
        for p in params:
            if p.grad is None:
                continue
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
        """Increment ``state["step"]`` and return the new value as a Python int (t in the lecture).

        ``fill_`` with the Python value is bit-identical to torch's ``step += 1`` (the sum of two
        floats below 2**53 is exact in Python, so both round once to the tensor's dtype) and cheaper
        than an in-place add of a Python scalar, which is wrapped into a tensor first."""
        step = state["step"]
        if isinstance(step, torch.Tensor):
            t = step.item() + 1
            step.fill_(t)
            return int(t)
        state["step"] = Optimizer._new_step() + (float(step) + 1.0)
        return int(state["step"].item())

    def _scratch_like(self, x: torch.Tensor, dtype: torch.dtype | None = None,
                      slot: int = 0) -> torch.Tensor:
        """An uninitialised tensor shaped like ``x`` (of ``x``'s dtype unless ``dtype`` is given),
        for a temporary such as Adam's denominator.

        One flat buffer per dtype, device and ``slot``, as large as the largest parameter, is reused
        by every parameter and every step, so a step allocates nothing and the temporary stays in
        cache; temporaries alive at the same time take different slots. It is not optimiser state:
        not in ``state_dict``, rebuilt on demand after unpickling."""
        dtype = x.dtype if dtype is None else dtype
        try:
            views = self._scratch_views
        except AttributeError:                      # first use (or after unpickling)
            views = self._scratch_views = {}
            self._scratch_flat = {}
        key = (x.shape, dtype, x.device, slot)
        view = views.get(key)
        if view is None:
            flat = self._scratch_flat.get(key[1:])
            if flat is None or flat.numel() < x.numel():
                flat = self._scratch_flat[key[1:]] = torch.empty(x.numel(), dtype=dtype,
                                                                 device=x.device)
                views.clear()                       # views of the old, smaller buffer
            view = views[key] = flat[: x.numel()].view(x.shape)
        return view

    def _const(self, value: float, like: torch.Tensor):
        """``value`` as a cached 0-dim tensor of ``like``'s dtype and device, for ``x.add_(c)`` and
        ``x.mul_(c)``: a Python float there is first wrapped into a new tensor and converted, which
        costs twice the op itself on a small tensor. Same result bit for bit (float32 and float64;
        other dtypes get the float back, since torch computes their scalar ops in float32)."""
        if like.dtype not in (torch.float32, torch.float64):
            return value
        try:
            cache = self._consts
        except AttributeError:                      # first use (or after unpickling)
            cache = self._consts = {}
        key = (value, like.dtype, like.device)
        c = cache.get(key)
        if c is None:
            if len(cache) > 64:                     # values that change every step (Adam's eps c2)
                cache.clear()
            c = cache[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
        return c

    def _init_state(self, p: torch.Tensor, state: dict, group: dict) -> None:  # pragma: no cover
        """Fill ``state`` for parameter ``p`` before its first update."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    # ----------------------------------------------------------------- checkpoints
    #: state keys created after the first step, not by ``_init_state`` (SGD's momentum buffer)
    lazy_state_keys: tuple[str, ...] = ()
    #: group keys the optimiser writes itself, besides its defaults (SWATS's phase)
    extra_group_keys: tuple[str, ...] = ()

    def _state_keys(self, group: dict) -> set[str]:
        """The keys ``_init_state`` creates for a parameter of ``group`` (found by running it on a
        scalar): every parameter that has any state must have these."""
        probe: dict = {}
        self._init_state(torch.zeros(()), probe, group)
        return set(probe)

    def load_state_dict(self, state_dict: dict) -> None:
        """torch's loading, then a check that the state fits this optimiser.

        A parameter may have no state (it never had a gradient: state is created lazily), but a
        parameter with state must have every key this optimiser's ``_init_state`` creates, and no
        key it does not know; every group must have this optimiser's hyper-parameters. Otherwise
        (a state_dict of another optimiser, or one with missing keys) a ``ValueError`` names the
        optimiser, the parameter index and the keys, and the optimiser is left as it was.
        Variants that keep the same state and hyper-parameters (SGD and SGDW; Adam, AMSGrad and
        AdamW; AdaBound and AMSBound; Adam's state in RAdam) cannot be told apart and load into
        each other, as in torch.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: state_dict must be a dict, "
                            f"got {type(state_dict).__name__}")
        lacking = sorted({"state", "param_groups"} - set(state_dict))
        if lacking and not self._optimizer_load_state_dict_pre_hooks:  # (a hook may add them)
            raise ValueError(f"{name}.load_state_dict: the state_dict lacks the keys {lacking} "
                             f"(it has {sorted(state_dict)}: was it saved by another optimiser, "
                             "such as Lookahead?)")
        saved = self.state, self.param_groups
        super().load_state_dict(state_dict)
        try:
            self._check_loaded_state()
        except ValueError:
            self.state, self.param_groups = saved
            raise

    def _check_loaded_state(self) -> None:
        name, index = type(self).__name__, 0
        for group in self.param_groups:               # first the state of every parameter
            required = self._state_keys({**self.defaults, **group})
            known = required | set(self.lazy_state_keys)
            for p in group["params"]:
                keys = set(self.state.get(p, ()))
                if keys and required - keys:
                    raise ValueError(
                        f"{name}.load_state_dict: the state of parameter {index} lacks the keys "
                        f"{sorted(required - keys)} (it has {sorted(keys)}; was the state_dict "
                        "saved by another optimiser?)")
                if keys - known:
                    raise ValueError(
                        f"{name}.load_state_dict: the state of parameter {index} has the keys "
                        f"{sorted(keys - known)}, which {name} does not use (it uses "
                        f"{sorted(known)}; was the state_dict saved by another optimiser?)")
                index += 1
        hyper = (set(self.defaults) - _TORCH_FLAGS) | set(self.extra_group_keys)
        for i, group in enumerate(self.param_groups):  # then the groups' hyper-parameters
            if hyper - set(group):
                raise ValueError(f"{name}.load_state_dict: param group {i} lacks the keys "
                                 f"{sorted(hyper - set(group))} (was the state_dict saved by "
                                 "another optimiser?)")

    def __repr__(self) -> str:  # torch's repr lists every group; keep it, but name optlib
        return "optlib." + super().__repr__()
