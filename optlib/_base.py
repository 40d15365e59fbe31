"""Machinery shared by every optlib optimiser.

A concrete optimiser only says how one parameter is updated (``_update``) and which state it keeps
(``_init_state``). Everything else lives here, once:

* the closure protocol of ``torch.optim`` (``step(closure)`` re-evaluates the loss with grad enabled);
* skipping parameters whose ``grad`` is ``None``;
* lazy state: a parameter's state is created the first time it has a gradient;
* step counting in ``state["step"]``, stored as torch does (a float32 scalar tensor on the CPU) so
  that state dicts move freely between an optlib optimiser and its ``torch.optim`` twin;
* argument validation with torch's messages (``check_*`` helpers below), including
  torch's implementation switches (``foreach``, ``fused``, ``capturable``,
  ``differentiable``);
* complex parameters, updated as pairs of reals (``torch.view_as_real``) as torch does,
  and a Tensor ``lr``, read as its value at each step (see :meth:`Optimizer.step`);
* checkpoints of older torch releases: group keys added since then get torch's defaults,
  and a step counter saved as a Python number becomes a tensor
  (:meth:`Optimizer.__setstate__`).

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

__all__ = ["Optimizer", "batches", "check_adam_hyper", "check_lr", "check_nonnegative",
           "check_betas", "check_in_range", "check_bool", "check_torch_flags"]


# --------------------------------------------------------------------------- validation helpers
def _is_real(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def _require_real(value, name: str) -> None:
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a Python float, not a Tensor (optlib keeps step sizes as floats)")
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")


def check_lr(lr, *, tensor_ok: bool = False) -> None:
    """``lr`` must be a finite float ≥ 0 (torch's message; NaN is rejected too).

    With ``tensor_ok`` (the torch twins) a one-element Tensor is accepted too, as
    torch accepts it, with torch's message for a larger one; its value is checked as
    a float."""
    value = lr
    if tensor_ok and isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        value = lr.item()
    _require_real(value, "lr")
    if not 0.0 <= value < math.inf:
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


def check_adam_hyper(lr, betas, eps, weight_decay, *, tensor_lr: bool = False) -> None:
    """The checks torch's Adam makes, in its order, shared by the optimisers of the Adam
    family (``tensor_lr``: a one-element Tensor ``lr`` is accepted, as by the twins)."""
    check_lr(lr, tensor_ok=tensor_lr)
    check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
    check_betas(betas)
    check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")


def check_bool(value, name: str) -> None:
    """A flag must be a bool: ``maximize="no"`` would otherwise be true and silently maximise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


#: what each of torch's implementation switches asks for, when it is True
_FLAG_MEANING = {"fused": "one fused kernel per step",
                 "capturable": "steps that a CUDA graph can capture",
                 "differentiable": "autograd through step()"}


def check_torch_flags(owner: str, twin: str | None, **flags) -> None:
    """torch's implementation switches, as the torch twin's constructor takes them.

    ``foreach`` may be None or a bool: it picks one of torch's implementations, and
    optlib has only one, which gives the same numbers, so any choice is honoured.

    ``fused``, ``capturable`` and ``differentiable`` are accepted switched off (False,
    or None for ``fused``). Switched on, they ask for something optlib does not do, and
    the error names ``twin`` (the torch call that does it, ``{}`` where the flag goes)
    if there is one. Where torch refuses a combination (``fused`` with ``foreach`` or
    ``differentiable``), its error comes first."""
    foreach, fused = flags.get("foreach"), flags.get("fused")
    for name, value in flags.items():
        may_be_none = name in ("foreach", "fused")
        if not (isinstance(value, bool) or (value is None and may_be_none)):
            allowed = "a bool or None" if may_be_none else "a bool"
            raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    if fused and flags.get("differentiable"):
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    for name, meaning in _FLAG_MEANING.items():
        if flags.get(name):
            instead = f"use {twin.format(f'{name}=True')} or leave" if twin else "leave"
            raise NotImplementedError(
                f"optlib.{owner} does not implement {name}=True ({meaning}); "
                f"{instead} {name}=False")


# --------------------------------------------------------------------------- batching
def batches(tensors, elements: int = 2**18):
    """Split ``tensors`` into consecutive runs of at least ``elements`` elements in all (the last
    run may be smaller; a large tensor makes a run of its own).

    A ``torch._foreach_*`` call over one run replaces a Python call per tensor, which on a small
    tensor costs more than the arithmetic, while the run (about a megabyte of float32 by default)
    is small enough that the tensors just written are still in the cache when the call reads them.
    ``elements=0`` makes every tensor a run of its own.
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
#: the label under ``torch.compile``, which traces the Python one (not the C++ one)
_traced_label = torch.autograd.profiler.record_function
#: torch's implementation switches with their defaults, for the optimisers without a
#: torch twin (what a checkpoint saved without them gets)
TORCH_FLAG_DEFAULTS = {"foreach": None, "capturable": False, "differentiable": False,
                       "fused": None}


class Optimizer(torch.optim.Optimizer):
    """Base class: a subclass implements ``_init_state`` and ``_update`` for one parameter.

    Subclasses that need the whole group at once (SWATS projects over all of a group's
    parameters), or that are faster with one call per batch of tensors (SGD, see :func:`batches`),
    override ``_step_group(group, params)`` instead of ``_update``. It gets every parameter of the
    group and must skip those whose ``grad`` is ``None``.

    Neither ``_update`` nor ``_step_group`` sees a complex parameter or a Tensor ``lr``:
    :meth:`step` hands them the real view of the one and the value of the other.
    """

    #: whether sparse gradients are accepted; torch's own error is raised otherwise
    supports_sparse: bool = False
    #: the message torch raises for a sparse gradient (subclasses copy their twin's)
    sparse_message: str = "{name} does not support sparse gradients"
    #: the torch call that does what optlib does not (``fused=True``...), with ``{}``
    #: where the flag goes
    twin: str | None = None
    #: group keys that a checkpoint of an older release may lack, with the value that
    #: torch's ``__setstate__`` gives them (not always the constructor's default)
    late_group_keys: dict = {}
    #: state entries kept as 0-dim tensors, which old checkpoints hold as Python numbers
    scalar_state_keys: tuple[str, ...] = ("step",)
    #: whether :meth:`step` hands a complex parameter to the update as its real view; an
    #: update that only adds and scales by real numbers (SGD) gives the same numbers on
    #: the complex tensor itself, and skips the look
    complex_as_real: bool = True

    @staticmethod
    def profile_hook_step(func):
        """Wrap ``step`` as :class:`torch.optim.Optimizer` does (torch calls this once per class).

        Global and per-optimiser step pre-hooks run first (a pre-hook may return new
        ``(args, kwargs)``), then ``step`` inside the profiler label ``Optimizer.step#<class>.step``,
        then ``_optimizer_step_code`` (where torch's Python tracer hooks in) and the post-hooks."""

        @functools.wraps(func)
        def stepped(*args, **kwargs):       # as in torch, args[0] is the optimiser, hooks see it
            self = args[0]
            label = _label
            if torch.compiler.is_compiling():
                # As torch's optimisers do, a step starts a graph of its own, also when
                # another optimiser's step calls it (Lookahead's: traced as one graph
                # with it, dynamo loses the changes to the outer optimiser's attributes)
                torch._dynamo.graph_break()
                label = _traced_label
            with label(f"Optimizer.step#{type(self).__name__}.step"):
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
        """Perform one update of every parameter that has a gradient; return the
        closure's loss.

        Two things torch accepts are translated here, so that no update has to know
        them:

        * a complex parameter is a pair of reals, as in torch: the update runs on
          ``torch.view_as_real`` of the parameter, its gradient and its state (views:
          the complex tensors change in place), and state that the update creates is
          kept complex;
        * a Tensor ``lr`` (or Tensor ``betas``, where the class takes them) is read
          as its value (``lr.item()``) for the step, then put back. torch computes
          some step sizes in the tensor's dtype instead: with a float32 tensor the two
          agree to float32 rounding, with a float64 one to float64 rounding.

        Under ``torch.compile`` a Tensor ``lr`` stays a tensor, so that one graph
        serves every value a scheduler gives it (as with torch's optimisers), and the
        step counters are tensors of the graph too (see :meth:`_advance`).
        """
        self._compiling = compiling = torch.compiler.is_compiling()  # (see _advance)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if compiling:
                self._init_group(group)
            lr, betas = group["lr"], group.get("betas")
            tensor_betas = isinstance(betas, tuple) and any(
                isinstance(beta, torch.Tensor) for beta in betas)
            if compiling or not (isinstance(lr, torch.Tensor) or tensor_betas):
                self._step_any_group(group)     # (the group is not written to: under
                continue                        # torch.compile that would cost guards)
            saved = {"lr": lr, "betas": betas} if tensor_betas else {"lr": lr}
            group["lr"] = float(lr)
            if tensor_betas:
                group["betas"] = tuple(float(beta) for beta in betas)
            try:
                self._step_any_group(group)
            finally:
                group.update(saved)
        return loss

    def _init_group(self, group: dict) -> None:
        """Nothing: a parameter's state is created by the step that first updates it.

        The name is torch's. While ``torch.compile`` traces a step, dynamo calls an
        optimiser's ``_init_group`` itself, eagerly, and then treats every tensor of
        ``state`` as a fixed address of the graph, checked by identity (as it does for
        torch's own optimisers). Without that, each state tensor is an input of the
        graph: collected and checked for shape, strides and dtype at every call, which
        cost a compiled Adam about a tenth of its step on 300 tensors. :meth:`step`
        calls this once per group, under ``torch.compile`` only."""

    def _step_any_group(self, group: dict) -> None:
        """One group's step: on the real views of complex parameters, if it has any."""
        params = group["params"]
        if self.complex_as_real and any(map(torch.Tensor.is_complex, params)):
            self._step_complex_group(group, params)
        else:
            self._step_group(group, params)

    def _step_complex_group(self, group: dict, params: list[torch.Tensor]) -> None:
        """``_step_group`` with every complex parameter replaced by its real view.

        For the length of the step the view stands in for the parameter: it carries
        the real view of the gradient, and it keys the parameter's state, in which every
        complex tensor is replaced by its real view. Afterwards the state goes back to
        the parameter with its own tensors, and a real tensor shaped like the view (a
        buffer that the update created) becomes the complex tensor it stands for. A
        sparse gradient is left as it is."""
        views: dict = {}  # parameter -> (its real view, {key: (view, complex tensor)})
        for p in params:
            sparse = p.grad is not None and p.grad.is_sparse
            if not p.is_complex() or p in views or sparse:
                continue
            real = torch.view_as_real(p)
            real.grad = None if p.grad is None else torch.view_as_real(p.grad)
            swapped = {}
            if p in self.state:
                state = self.state[real] = self.state.pop(p)
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and value.is_complex():
                        state[key] = torch.view_as_real(value)
                        swapped[key] = state[key], value
            views[p] = real, swapped
        try:
            self._step_group(group, [views[p][0] if p in views else p for p in params])
        finally:
            for p, (real, swapped) in views.items():
                if real not in self.state:
                    continue
                state = self.state[p] = self.state.pop(real)
                for key, value in state.items():
                    if key in swapped and value is swapped[key][0]:
                        state[key] = swapped[key][1]    # the complex tensor, updated
                    elif isinstance(value, torch.Tensor) and value.shape == real.shape:
                        state[key] = torch.view_as_complex(value.contiguous())

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

    def _listed_twice(self, params: list[torch.Tensor]) -> bool:
        """Whether a tensor appears twice in ``params`` (torch warns of such a group,
        then updates the tensor at each of its places). Remembered per list and
        length, so that a step does not pay for the look."""
        try:
            seen = self._duplicates
        except AttributeError:                      # first use (or after unpickling)
            seen = self._duplicates = {}
        entry = seen.get(id(params))
        if entry is None or entry[0] is not params or entry[1] != len(params):
            if len(seen) > 64:                      # lists made for one step only
                seen.clear()
            twice = len(set(map(id, params))) < len(params)
            entry = seen[id(params)] = params, len(params), twice  # keeps params alive
        return entry[2]

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
    def _new_step(value: float = 0.0) -> torch.Tensor:
        """The step counter as torch stores it: a scalar tensor on the CPU (float64 only when
        that is torch's default dtype, as in ``torch.optim``)."""
        dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
        return torch.tensor(float(value), dtype=dtype)

    #: whether the step being taken is traced by ``torch.compile``: set once per step
    #: by :meth:`step` for the helpers below, which an eager step calls for every tensor
    #: (reading the flag costs a fifth of calling ``torch.compiler.is_compiling()``)
    _compiling: bool = False

    def _advance(self, state: dict):
        """Increment ``state["step"]`` and return the new value as a Python int (t in the lecture).

        ``fill_`` with the Python value is bit-identical to torch's ``step += 1`` (the sum of two
        floats below 2**53 is exact in Python, so both round once to the tensor's dtype) and cheaper
        than an in-place add of a Python scalar, which is wrapped into a tensor first.

        Under ``torch.compile`` the value is not read: the counter is incremented in
        the graph and returned as a float64 scalar tensor, so that the scalars that
        depend on the step (bias corrections...) are tensor ops of the graph, and one
        graph serves every step. Read as a Python number, the step would be a constant
        of the graph, and a new step a new graph."""
        step = state["step"]
        if self._compiling:
            step.add_(1)
            return step.to(torch.float64)
        if isinstance(step, torch.Tensor):
            t = step.item() + 1
            step.fill_(t)
            return int(t)
        state["step"] = Optimizer._new_step(float(step) + 1.0)
        return int(state["step"].item())

    def _value(self, x: torch.Tensor):
        """``x.item()``, except under ``torch.compile``, where ``x`` stays a tensor (as
        ``torch.optim``'s ``_get_value`` does): a graph computes with it instead of
        depending on its value."""
        return x if self._compiling else x.item()

    def _scratch_like(self, x: torch.Tensor, dtype: torch.dtype | None = None,
                      slot: int = 0) -> torch.Tensor:
        """An uninitialised tensor shaped like ``x`` (of ``x``'s dtype unless ``dtype`` is given),
        for a temporary such as Adam's denominator.

        One flat buffer per dtype, device and ``slot``, as large as the largest parameter, is reused
        by every parameter and every step, so a step allocates nothing and the temporary stays in
        cache; temporaries alive at the same time take different slots. It is not optimiser state:
        not in ``state_dict``, rebuilt on demand after unpickling.

        Under ``torch.compile`` it is a new tensor of the graph, which the compiler may
        keep out of memory."""
        dtype = x.dtype if dtype is None else dtype
        if self._compiling:
            return torch.empty_like(x, dtype=dtype)
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
        """``value`` as a cached 0-dim tensor of ``like``'s dtype and device, for
        ``x.add_(c)`` and ``x.mul_(c)``: a Python float there is first wrapped into a
        new tensor and converted, which costs twice the op itself on a small tensor.
        Same result bit for bit (float32 and float64; other dtypes get the float back,
        since torch computes their scalar ops in float32).

        Under ``torch.compile`` nothing is cached (a look-up keyed by a value would
        make the graph depend on that value): ``value``, a number or a scalar tensor of
        the graph (see :meth:`_advance`), becomes a 0-dim tensor of ``like``'s dtype,
        rounded as the cached one would be (and computed once, see :meth:`_once`)."""
        if like.dtype not in (torch.float32, torch.float64):
            return value
        if self._compiling:
            if isinstance(value, torch.Tensor):     # a value of the step
                return self._once(value.to(like.dtype))
            return torch.as_tensor(value, dtype=like.dtype, device=like.device)
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

    def _once(self, x):
        """``x`` itself. Under ``torch.compile``, where ``x`` is a scalar tensor of the
        graph computed from the step (a bias correction...), it is computed once per
        step: inductor would otherwise inline its formula into the loop over the
        tensor that uses it, and compute its ``pow`` for every eight elements (on the
        CPU, many times the cost of the update itself). A view with explicit strides
        needs stored data, so ``x`` is stored before the loop."""
        return x.as_strided(x.shape, x.stride()) if self._compiling else x

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

        A group key that torch fills in for checkpoints of older releases (``maximize``,
        ``foreach``... see ``late_group_keys``) is not required, so a state_dict with
        Adam's state (``step``, ``exp_avg``, ``exp_avg_sq``: RAdam, AdaBound, SWATS)
        also loads into Adam, AMSGrad, AdamW and RAdam, as into their torch twins.
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

    def __setstate__(self, state: dict) -> None:
        """torch's, then what torch's optimisers add for checkpoints of older releases
        (torch calls this from ``load_state_dict`` too): the keys of
        ``late_group_keys`` that a group lacks get torch's value, and entries of
        ``scalar_state_keys`` saved as Python numbers become scalar tensors of the step
        counter's dtype."""
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self.late_group_keys.items():
                group.setdefault(key, value)
        for param_state in self.state.values():
            for key in self.scalar_state_keys:
                value = param_state.get(key)
                if value is not None and not isinstance(value, torch.Tensor):
                    param_state[key] = self._new_step(value)

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
        hyper = set(self.defaults) | set(self.extra_group_keys)
        for i, group in enumerate(self.param_groups):  # then the groups' hyper-parameters
            if hyper - set(group):
                raise ValueError(f"{name}.load_state_dict: param group {i} lacks the keys "
                                 f"{sorted(hyper - set(group))} (was the state_dict saved by "
                                 "another optimiser?)")

    def __repr__(self) -> str:  # torch's repr lists every group; keep it, but name optlib
        return "optlib." + super().__repr__()
