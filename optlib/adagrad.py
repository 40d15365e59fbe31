r"""Adagrad (equals ``torch.optim.Adagrad`` on dense gradients)."""

from __future__ import annotations

import torch

from ._base import Optimizer, check_bool, check_lr, check_nonnegative, check_torch_flags

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: every coordinate's step is divided by the root of its summed squared gradients.

    With learning rate :math:`\eta` (``lr``), decay :math:`\kappa` (``lr_decay``), L2 coefficient
    :math:`\mu` (``weight_decay``) and :math:`\varepsilon` (``eps``), step :math:`t = 1, 2, \dots` is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        \tilde\eta_t &\leftarrow \eta \,/\, (1 + (t-1)\,\kappa) \\
        s_t &\leftarrow s_{t-1} + g_t^2 \\
        \theta_{t+1} &\leftarrow \theta_t - \tilde\eta_t\, g_t \,/\, (\sqrt{s_t} + \varepsilon)

    with :math:`s_0` = ``initial_accumulator_value``. Because :math:`s_t` only grows, the
    effective learning rate :math:`\eta/\sqrt{s_t}` only shrinks.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-2).
        lr_decay: :math:`\kappa \ge 0` (default 0).
        weight_decay: L2 coefficient :math:`\mu \ge 0` (default 0).
        initial_accumulator_value: :math:`s_0 \ge 0` (default 0).
        eps: :math:`\varepsilon \ge 0` added to :math:`\sqrt{s_t}` (default 1e-10).
        foreach, differentiable, fused: torch's implementation switches, kept in the
            groups as in torch; ``foreach`` may take any value (optlib has one
            implementation), the other two must stay off.
        maximize: ascend the objective instead of descending it.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`); as in torch, both halves of a complex
    :math:`s_0` start at ``initial_accumulator_value``.

    State per parameter: ``step`` and ``sum`` (:math:`s`), created in the constructor as torch
    does. Sparse gradients raise ``RuntimeError`` (torch's Adagrad has a separate sparse path; use
    it for embeddings). Non-finite gradients propagate as in ``torch.optim.Adagrad``.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.Adagrad([theta], lr=0.5)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.1564, -0.9836])

    References:
        Duchi, Hazan & Singer, *Adaptive Subgradient Methods for Online Learning and Stochastic
        Optimization*, JMLR 2011.
    """

    sparse_message = ("optlib.{name} does not support sparse gradients "
                      "(torch.optim.Adagrad has a sparse path)")

    twin = "torch.optim.Adagrad({})"
    late_group_keys = dict(foreach=None, maximize=False, differentiable=False,
                           fused=None)      # torch's Adagrad.__setstate__

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *,
                 maximize=False, differentiable=False, fused=None):
        check_lr(lr, tensor_ok=True)
        check_nonnegative(lr_decay, "Invalid lr_decay value: {}", "lr_decay")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")
        check_bool(maximize, "maximize")
        check_nonnegative(initial_accumulator_value, "Invalid initial_accumulator_value value: {}",
                          "initial_accumulator_value")
        check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach,
                          differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:          # torch creates Adagrad's state up front
            for p in group["params"]:
                self._init_state(p, self.state[p], group)

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        s_0 = group["initial_accumulator_value"]
        if p.is_complex():              # the real and imaginary sums, as in torch
            s_0 = complex(s_0, s_0)
        state["sum"] = torch.full_like(p, s_0, memory_format=torch.preserve_format)

    def _update(self, theta, g, state, group):
        t = self._advance(state)
        if group["weight_decay"] != 0:
            g = g.add(theta, alpha=group["weight_decay"])           # g_t + mu theta_t
        eta_t = group["lr"] / (1 + (t - 1) * group["lr_decay"])    # decayed learning rate
        s = state["sum"]
        s.addcmul_(g, g)                                            # s_t = s_{t-1} + g_t^2
        denom = torch.sqrt(s, out=self._scratch_like(s))           # sqrt(s_t)
        denom.add_(self._const(group["eps"], s))                    #   + eps
        theta.addcdiv_(g, denom, value=self._once(-eta_t))  # theta -= eta_t g / denom
