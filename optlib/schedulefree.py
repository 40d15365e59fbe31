r"""Schedule-free SGD and AdamW (equal ``SGDScheduleFree`` and ``AdamWScheduleFree`` of
the ``schedulefree`` package 1.4.1, Defazio et al. 2024).

Both keep two sequences besides the parameters: ``z``, where the plain SGD or AdamW
steps go, and ``x``, a running average of ``z`` that replaces the learning-rate
schedule. The gradient is taken at ``y``, a point between the two. During training the
parameters hold ``y``; ``eval()`` moves them to ``x`` (the point to evaluate and to
keep) and ``train()`` moves them back. ``x`` itself is never stored: it is recovered
from ``y`` and ``z``.
"""

from __future__ import annotations

from numbers import Integral

import torch

from ._base import (Optimizer, _require_real, batches, check_betas, check_lr,
                    check_nonnegative, check_torch_flags)

__all__ = ["SGDScheduleFree", "AdamWScheduleFree"]

#: what the package raises (as a plain ``Exception``) for a step outside train mode
NOT_IN_TRAIN_MODE = ("Optimizer was not in train mode when step is called. Please "
                     "insert .train() and .eval() calls on the optimizer. See "
                     "documentation for details.")


def _check_schedule_args(warmup_steps, r, weight_lr_power) -> None:
    """The package takes these unchecked; here: an integer warm-up length >= 0 and
    finite exponents >= 0."""
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, Integral):
        raise TypeError("warmup_steps must be an int, got "
                        f"{type(warmup_steps).__name__}")
    if warmup_steps < 0:
        raise ValueError(f"Invalid warmup_steps value: {warmup_steps} "
                         "(expected an integer >= 0)")
    check_nonnegative(r, "Invalid r value: {}", "r")
    check_nonnegative(weight_lr_power, "Invalid weight_lr_power value: {}",
                      "weight_lr_power")


class _ScheduleFree(Optimizer):
    """What the two schedule-free optimisers share: the train/eval switch, the
    interpolation weight c_{t+1} of each step, and the group keys of the package."""

    scalar_state_keys = ()        # no per-parameter step counter: the groups count (k)

    def _beta(self, group: dict) -> float:
        """The interpolation coefficient beta of the group (momentum or betas[0])."""
        raise NotImplementedError  # pragma: no cover

    def __setstate__(self, state):
        super().__setstate__(state)
        # torch's base class adds "differentiable" to the defaults here (for its own
        # optimisers); the package has no such switch, and its groups never hold it
        self.defaults.pop("differentiable", None)

    # ------------------------------------------------------------------ train / eval
    def _move(self, to_train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == to_train:          # already there: nothing moves
                continue
            beta = self._beta(group)
            # y = x + (1 - beta)(z - x)  and back:  x = y + (1 - 1/beta)(z - y)
            weight = 1.0 - beta if to_train else 1.0 - 1.0 / beta
            for p in group["params"]:
                state = self.state.get(p)
                if state and "z" in state:               # (no z yet: x = y = z)
                    p.lerp_(state["z"].to(p.device), weight)
            group["train_mode"] = to_train

    @torch.no_grad()
    def train(self) -> None:
        """Put the parameters at ``y``, where gradients are taken: call before training
        (and before the first step). Groups already in train mode are left alone."""
        self._move(True)

    @torch.no_grad()
    def eval(self) -> None:
        """Put the parameters at ``x``, the average to evaluate and to save: call before
        evaluating the model. Groups already in eval mode are left alone."""
        self._move(False)

    def step(self, closure=None):
        """One step of every group (see the class); raises the package's ``Exception``
        when the first group is not in train mode, before the closure runs."""
        if not self.param_groups[0]["train_mode"]:
            raise Exception(NOT_IN_TRAIN_MODE)  # noqa: TRY002  (the package's type)
        return super().step(closure)

    # ------------------------------------------------------------------ one step
    def _averaging(self, group: dict) -> tuple[float, float, int]:
        """Advance the group's running sums by one step; return (gamma_t, c_{t+1}, t).

        gamma_t = lr min(1, t / warmup_steps) is the step size of z; the average x takes
        z_{t+1} with weight c_{t+1} = w_t / (w_1 + ... + w_t), where
        w_t = t^r (max_{i<=t} gamma_i)^weight_lr_power (t = 1, 2, ...)."""
        t = group["k"] + 1
        warmup = group["warmup_steps"]
        gamma = group["lr"] * (t / warmup if t - 1 < warmup else 1.0)
        group["scheduled_lr"] = gamma                                # (for logging)
        lr_max = group["lr_max"] = max(gamma, float(group["lr_max"]))
        w = (t ** group["r"]) * (lr_max ** group["weight_lr_power"])  # w_t
        total = group["weight_sum"] = float(group["weight_sum"]) + w
        c = w / total if total != 0 else 0.0                           # c_{t+1}
        return gamma, c, t

    def _step_group(self, group, params):
        gamma, c, t = self._averaging(group)
        beta, state = self._beta(group), self.state
        # y_{t+1} = (1 - c) y_t + c z_t - gamma (1 - beta + beta c) u_t, which is
        # beta x_{t+1} + (1 - beta) z_{t+1} written without x
        y_step = gamma * (beta * (1.0 - c) - 1.0)
        for batch in batches(params, 0 if self._listed_twice(params) else 2**18):
            ys, gs, zs = [], [], []
            for p in batch:
                if p.grad is None:                          # no gradient: p stays
                    continue
                gs.append(self._checked_grad(p))
                zs.append(self._state_for(p, group)["z"])
                ys.append(p)
            if ys:
                us = self._directions(group, ys, gs, [state[p] for p in ys], t)
                torch._foreach_lerp_(ys, zs, c)                  # (1 - c) y_t + c z_t
                torch._foreach_add_(ys, us, alpha=y_step)        # - gamma (...) u_t
                torch._foreach_sub_(zs, us, alpha=gamma)         # z_t - gamma u_t
        group["k"] = t

    def _directions(self, group, ys, gs, states, t):
        """u_t of every parameter of a batch (which the step may keep as it likes)."""
        raise NotImplementedError  # pragma: no cover


class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-free SGD: SGD steps on :math:`z`, the parameters evaluated at an
    average of them, and no learning-rate schedule.

    With :math:`\eta` (``lr``), :math:`\beta` (``momentum``), :math:`\lambda`
    (``weight_decay``), warm-up length :math:`T` (``warmup_steps``) and exponents
    :math:`r` and :math:`p` (``weight_lr_power``), step :math:`t = 1, 2, \dots` is

    .. math::

        y_t &= (1 - \beta)\, z_t + \beta\, x_t
            \quad\text{(the parameters in train mode)} \\
        u_t &= \nabla L(y_t) + \lambda\, y_t \\
        \gamma_t &= \eta \min(1, t / T) \\
        z_{t+1} &= z_t - \gamma_t\, u_t \\
        c_{t+1} &= \frac{w_t}{\sum_{i=1}^{t} w_i}, \qquad
            w_t = t^r \bigl(\max_{i \le t} \gamma_i\bigr)^p \\
        x_{t+1} &= (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1}

    from :math:`x_1 = z_1 = y_1` (the initial parameters). :math:`x_t` is the weighted
    average of :math:`z_1 \dots z_t` that takes the place of a decaying schedule;
    :math:`\beta` interpolates between it and the SGD sequence :math:`z_t` (the paper's
    "momentum"). Only :math:`y` (in the parameters) and :math:`z` (in the state) are
    stored: the step moves :math:`y` directly,
    :math:`y_{t+1} = (1 - c_{t+1})\, y_t + c_{t+1} z_t - \gamma_t(1 - \beta + \beta
    c_{t+1})\, u_t`, and :meth:`eval` recovers
    :math:`x = (y - (1 - \beta) z) / \beta`. The first step gives :math:`c_2 = 1`.
    With :math:`r = 0` and a constant :math:`\eta` the weights are equal after the
    warm-up (:math:`x` is the plain average of the :math:`z_t`); during a warm-up the
    small early steps count less (the more, the larger :math:`p`).

    .. warning::
       Call :meth:`train` before the first step and after every evaluation, and
       :meth:`eval` before evaluating or saving the model: ``step()`` in eval mode
       raises (as the package does, with its plain ``Exception`` and message). Only
       the first group's mode is checked, as in the package; a group added later
       starts in eval mode, so call :meth:`train` again after ``add_param_group``.
       A model with BatchNorm: its running statistics were gathered at :math:`y`, not
       at :math:`x`; after :meth:`eval`, run a few training batches through the model
       in ``model.train()`` mode without stepping (``torch.no_grad()``) to recompute
       them, then ``model.eval()``.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta \ge 0` (default 1.0, as in the package).
        momentum: interpolation :math:`\beta`, strictly between 0 and 1 (default 0.9).
        weight_decay: :math:`\lambda \ge 0`, taken at :math:`y` (default 0).
        warmup_steps: linear warm-up length :math:`T`, an integer >= 0 (default 0).
        r: power :math:`r \ge 0` of the step count in the weights (default 0).
        weight_lr_power: power :math:`p \ge 0` of the largest step size so far in the
            weights (default 2).
        foreach: the package's implementation switch, kept in the groups; optlib has
            one implementation (a bool or None, default True as in the package).

    The groups hold the package's keys: the hyper-parameters and ``k`` (steps taken),
    ``train_mode``, ``weight_sum``, ``lr_max`` and ``scheduled_lr``
    (:math:`\gamma_t`, for logging). State per parameter: ``z``, as in the package, so
    a state_dict moves between the two either way, in train or eval mode (save the
    model's parameters with it: in eval mode they hold :math:`x`).

    A scheduler may still change ``lr``: each step reads it, and the warm-up multiplies
    it. ``lr`` may be a one-element Tensor (read as its value), and parameters may be
    complex (as in the package: the update only adds and scales). Sparse gradients are
    accepted without weight decay, as in the package; with weight decay, where the
    package fails, the direction :math:`u_t` is made dense. A non-finite gradient
    propagates into :math:`z` and the parameters, as in the package. Unlike the
    package, ``step()`` leaves ``p.grad`` as it is (the package adds the decay to it in
    place).

    .. note::
       The package checks ``lr`` and ``weight_decay`` for negative values and
       ``momentum`` for (0, 1); here NaN and infinite values are refused too, and
       ``warmup_steps`` must be an integer >= 0, ``r`` and ``weight_lr_power`` finite
       and >= 0 (the package takes anything there).

    Example:
        >>> import torch
        >>> from optlib.schedulefree import SGDScheduleFree
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = SGDScheduleFree([theta], lr=0.1, momentum=0.9)
        >>> opt.train()
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()                        # y, where the gradients are taken
        tensor([ 0.6310, -1.2621])
        >>> opt.eval()
        >>> theta.detach()                        # x, the average
        tensor([ 0.6459, -1.2917])
        >>> opt.train()

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, *The Road Less Scheduled*,
        NeurIPS 2024; facebookresearch/schedule_free, PyPI ``schedulefree`` 1.4.1.
    """

    supports_sparse = True
    complex_as_real = False         # u_t is only added and scaled by reals

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0, warmup_steps=0,
                 r=0.0, weight_lr_power=2, foreach=True):
        check_lr(lr, tensor_ok=True)                 # the package's order: lr, decay,
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}",  # momentum
                          "weight_decay")
        _require_real(momentum, "momentum")
        if not 0 < momentum < 1:
            raise ValueError(f"Momentum must be between 0 and 1 exclusive: {momentum}")
        _check_schedule_args(warmup_steps, r, weight_lr_power)
        check_torch_flags(type(self).__name__, None, foreach=foreach)
        defaults = dict(lr=lr, momentum=momentum, r=r, k=0, warmup_steps=warmup_steps,
                        train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group):
        return group["momentum"]

    def _init_state(self, p, state, group):
        state["z"] = p.detach().clone(memory_format=torch.preserve_format)  # z_1 = y_1

    def _directions(self, group, ys, gs, states, t):
        lam = group["weight_decay"]
        if lam == 0:
            return gs                                           # u_t = g_t
        # u_t = g_t + lambda y_t (a sparse g_t: lambda y_t + g_t, which is dense)
        return [y.mul(lam).add_(g) if g.is_sparse else g.add(y, alpha=lam)
                for y, g in zip(ys, gs)]


class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-free AdamW: the AdamW-normalised gradient steps :math:`z`, the
    parameters are evaluated at an average of it, and no learning-rate schedule.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``),
    :math:`\varepsilon` (``eps``), :math:`\lambda` (``weight_decay``), warm-up length
    :math:`T` (``warmup_steps``) and exponents :math:`r` and :math:`p`
    (``weight_lr_power``), step :math:`t = 1, 2, \dots` is

    .. math::

        y_t &= (1 - \beta_1)\, z_t + \beta_1\, x_t
            \quad\text{(the parameters in train mode)} \\
        g_t &= \nabla L(y_t), \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        u_t &= \frac{g_t}{\sqrt{v_t / (1 - \beta_2^t)} + \varepsilon} + \lambda\, y_t \\
        \gamma_t &= \eta \min(1, t / T) \\
        z_{t+1} &= z_t - \gamma_t\, u_t \\
        c_{t+1} &= \frac{w_t}{\sum_{i=1}^{t} w_i}, \qquad
            w_t = t^r \bigl(\max_{i \le t} \gamma_i\bigr)^p \\
        x_{t+1} &= (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1}

    from :math:`x_1 = z_1 = y_1` (the initial parameters) and :math:`v_0 = 0`. There
    is no first moment: :math:`\beta_1` interpolates between the average
    :math:`x_t` and the sequence :math:`z_t`, which is where the momentum of Adam went.
    The second moment is bias-corrected, and :math:`\varepsilon` is added after the
    root. The decay is taken at :math:`y_t` and added after the normalisation, so
    :math:`z` decays by :math:`\gamma_t\lambda y_t` per step (decoupled, as in AdamW).
    Only :math:`y` (the parameters), :math:`z` and :math:`v` are stored; the step moves
    :math:`y` directly (see :class:`SGDScheduleFree`) and :meth:`eval` recovers
    :math:`x = (y - (1 - \beta_1) z) / \beta_1`.

    .. warning::
       Call :meth:`train` before the first step and after every evaluation, and
       :meth:`eval` before evaluating or saving the model: ``step()`` in eval mode
       raises (as the package does, with its plain ``Exception`` and message). Only
       the first group's mode is checked, as in the package; a group added later
       starts in eval mode, so call :meth:`train` again after ``add_param_group``.
       A model with BatchNorm: its running statistics were gathered at :math:`y`, not
       at :math:`x`; after :meth:`eval`, run a few training batches through the model
       in ``model.train()`` mode without stepping (``torch.no_grad()``) to recompute
       them, then ``model.eval()``.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta \ge 0` (default 0.0025, as in the package).
        betas: :math:`(\beta_1, \beta_2)`, :math:`\beta_1` in (0, 1) and
            :math:`\beta_2` in [0, 1) (default (0.9, 0.999)).
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: :math:`\lambda \ge 0`, taken at :math:`y` (default 0).
        warmup_steps: linear warm-up length :math:`T`, an integer >= 0 (default 0).
        r: power :math:`r \ge 0` of the step count in the weights (default 0).
        weight_lr_power: power :math:`p \ge 0` of the largest step size so far in the
            weights (default 2).
        foreach: the package's implementation switch, kept in the groups; optlib has
            one implementation (a bool or None, default True as in the package).

    The groups hold the package's keys (see :class:`SGDScheduleFree`). State per
    parameter: ``z`` and ``exp_avg_sq`` (:math:`v`), as in the package, so a
    state_dict moves between the two either way, in train or eval mode.

    A scheduler may still change ``lr``: each step reads it, and the warm-up multiplies
    it. ``lr`` may be a one-element Tensor (read as its value). A complex parameter is
    updated as the pair of reals it is (``torch.view_as_real``, as torch's Adam does);
    the package squares the complex gradient instead, so the two differ there. Sparse
    gradients raise a ``RuntimeError`` (the package fails with a ``NotImplementedError``
    of torch's sparse kernels). A non-finite gradient propagates into :math:`v`,
    :math:`z` and the parameters, as in the package. Unlike the package, ``step()``
    leaves ``p.grad`` as it is (the package divides it in place).

    .. note::
       The package checks none of its arguments; here they get torch's AdamW checks and
       messages (``Invalid learning rate: -1.0``...), and also: :math:`\beta_1 > 0`
       (:meth:`eval` divides by it), ``warmup_steps`` an integer >= 0, ``r`` and
       ``weight_lr_power`` finite and >= 0.

    Example:
        >>> import torch
        >>> from optlib.schedulefree import AdamWScheduleFree
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = AdamWScheduleFree([theta], lr=0.1)
        >>> opt.train()
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> opt.eval()
        >>> theta.detach()                        # x, the average
        tensor([ 0.8061, -1.8029])
        >>> opt.train()

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, *The Road Less Scheduled*,
        NeurIPS 2024; facebookresearch/schedule_free, PyPI ``schedulefree`` 1.4.1.
    """

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 warmup_steps=0, r=0.0, weight_lr_power=2.0, foreach=True):
        check_lr(lr, tensor_ok=True)              # torch's AdamW checks, in its order
        check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
        check_betas(betas)
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}",
                          "weight_decay")
        if betas[0] == 0:
            raise ValueError("Invalid beta parameter at index 0: 0.0 (schedule-free "
                             "needs beta1 > 0: eval() divides by it)")
        _check_schedule_args(warmup_steps, r, weight_lr_power)
        check_torch_flags(type(self).__name__, None, foreach=foreach)
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0,
                        warmup_steps=warmup_steps, train_mode=False, weight_sum=0.0,
                        lr_max=-1.0, scheduled_lr=0.0, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay, foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group):
        return group["betas"][0]

    def _init_state(self, p, state, group):
        state["z"] = p.detach().clone(memory_format=torch.preserve_format)  # z_1 = y_1
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _directions(self, group, ys, gs, states, t):
        beta2, eps, lam = group["betas"][1], group["eps"], group["weight_decay"]
        vs = [s["exp_avg_sq"] for s in states]
        torch._foreach_mul_(vs, beta2)                             # v_t = beta2 v_{t-1}
        torch._foreach_addcmul_(vs, gs, gs, value=1 - beta2)       #   + (1 - beta2) g^2
        denom = torch._foreach_div(vs, 1 - beta2 ** t)             # v_t / (1 - beta2^t)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, eps)                            # sqrt(...) + eps
        us = torch._foreach_div(gs, denom)                         # g_t / (...)
        if lam != 0:
            torch._foreach_add_(us, ys, alpha=lam)                 # + lambda y_t
        return us

