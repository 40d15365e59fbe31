r"""RMSprop, plain or centered, with optional momentum (equals ``torch.optim.RMSprop``)."""

from __future__ import annotations

import torch

from ._base import (Optimizer, check_bool, check_in_range, check_lr, check_nonnegative,
                    check_torch_flags)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSProp: divide the gradient by a running root-mean-square of recent gradients.

    With learning rate :math:`\eta` (``lr``), smoothing :math:`\alpha` (``alpha``), momentum
    :math:`\lambda`, L2 coefficient :math:`\mu` and :math:`\varepsilon`, one step is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        v_t &\leftarrow \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\
        \bar g_t &\leftarrow \alpha\, \bar g_{t-1} + (1-\alpha)\, g_t
            \quad\text{(centered only)} \\
        \sigma_t &\leftarrow \sqrt{v_t - \bar g_t^2} + \varepsilon
            \ \text{(centered)} \quad\text{or}\quad \sqrt{v_t} + \varepsilon \\
        b_t &\leftarrow \lambda\, b_{t-1} + g_t / \sigma_t, \qquad
        \theta_{t+1} \leftarrow \theta_t - \eta\, b_t
            \quad\text{(}\lambda > 0\text{; else } \theta_{t+1} \leftarrow \theta_t - \eta\, g_t/\sigma_t\text{)}

    All buffers start at zero and there is no bias correction, as in torch. (The lecture starts
    RMSProp with :math:`v_1 = g_0^2`; with :math:`v_0 = 0` the first steps are larger by
    :math:`1/\sqrt{1-\alpha}`.)

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-2).
        alpha: smoothing constant :math:`\alpha \in [0, 1]` (default 0.99).
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: L2 coefficient :math:`\mu \ge 0` (default 0).
        momentum: :math:`\lambda \ge 0` (default 0).
        centered: normalise by the variance estimate instead of the raw second moment.
        capturable, foreach, differentiable: torch's implementation switches, kept in
            the groups as in torch; ``foreach`` may take any value (optlib has one
            implementation), the other two must stay off.
        maximize: ascend the objective instead of descending it.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`).

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (:math:`b`,
    when ``momentum > 0``), ``grad_avg`` (:math:`\bar g`, when centered). Sparse gradients raise
    torch's error; non-finite gradients propagate as in ``torch.optim.RMSprop``.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.RMSprop([theta], lr=0.01)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.7800, -1.7753])

    References:
        Hinton, Srivastava & Swersky, *Neural Networks for Machine Learning*, lecture 6e (2012,
        on Coursera; the lecture dates it 2013).
    """

    sparse_message = "RMSprop does not support sparse gradients"

    twin = "torch.optim.RMSprop({})"
    late_group_keys = dict(momentum=0, centered=False, foreach=None, maximize=False,
                           differentiable=False,
                           capturable=False)    # torch's RMSprop.__setstate__

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr, tensor_ok=True)
        check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
        check_nonnegative(momentum, "Invalid momentum value: {}", "momentum")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")
        check_bool(centered, "centered")
        check_bool(maximize, "maximize")
        check_nonnegative(alpha, "Invalid alpha value: {}", "alpha")
        check_in_range(alpha, "alpha", 0.0, 1.0, high_inclusive=True)
        check_torch_flags(type(self).__name__, self.twin, capturable=capturable,
                          foreach=foreach, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable,
                        foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, state, group):
        zeros = lambda: torch.zeros_like(p, memory_format=torch.preserve_format)  # noqa: E731
        state["step"] = self._new_step()
        state["square_avg"] = zeros()
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros()
        if group["centered"]:
            state["grad_avg"] = zeros()

    def _update(self, theta, g, state, group):
        self._advance(state)
        alpha, eps = group["alpha"], group["eps"]
        if group["weight_decay"] != 0:
            g = g.add(theta, alpha=group["weight_decay"])          # g_t + mu theta_t
        v = state["square_avg"]
        v.mul_(self._const(alpha, v)).addcmul_(g, g, value=1 - alpha)  # v_t
        sigma = self._scratch_like(v)                              # a reused buffer
        if group["centered"]:
            g_bar = state["grad_avg"]
            g_bar.lerp_(g, 1 - alpha)                              # running mean of g
            torch.addcmul(v, g_bar, g_bar, value=-1, out=sigma).sqrt_()  # sqrt(v_t - g_bar^2)
        else:
            torch.sqrt(v, out=sigma)                               # sqrt(v_t)
        sigma.add_(self._const(eps, v))                            # + eps
        if group["momentum"] > 0:
            b = state["momentum_buffer"]
            b.mul_(group["momentum"]).addcdiv_(g, sigma)           # b_t = lam b + g / sigma
            theta.add_(b, alpha=-group["lr"])
        else:
            theta.addcdiv_(g, sigma, value=-group["lr"])
