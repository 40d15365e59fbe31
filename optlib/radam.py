r"""RAdam: Adam with a rectified adaptive step (equals ``torch.optim.RAdam``)."""

from __future__ import annotations

import torch

from ._base import Optimizer, check_adam_hyper, check_bool, check_torch_flags

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam: Adam with a rectified adaptive step, and plain momentum steps until it is reliable.

    The adaptive step is switched on only once the variance of :math:`1/\sqrt{v_t}` is tractable,
    and is then scaled by a rectification term :math:`r_t`.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), :math:`\varepsilon`
    (``eps``) and weight decay :math:`\mu` (``weight_decay``), step :math:`t = 1, 2, \dots` is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        m_t &\leftarrow \beta_1\, m_{t-1} + (1-\beta_1)\, g_t, \qquad
            \hat m_t \leftarrow m_t / (1-\beta_1^t) \\
        v_t &\leftarrow \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
            \rho_t = \rho_\infty - \frac{2\,t\,\beta_2^t}{1-\beta_2^t} \\
        \theta_{t+1} &\leftarrow \begin{cases}
            \theta_t - \eta\, r_t\, \hat m_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \varepsilon}
                & \rho_t > 5, \quad
                r_t = \sqrt{\dfrac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}
                                  {(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}} \\
            \theta_t - \eta\, \hat m_t & \text{otherwise (SGD with momentum)}
        \end{cases}

    :math:`\rho_t` approximates the length of the simple moving average that :math:`v_t` stands for;
    while it is short the adaptive step would have an unbounded variance, so RAdam takes a plain
    momentum step instead, with no learning-rate warm-up needed. Note that :math:`\varepsilon` is
    added to :math:`\sqrt{v_t}` *before* the bias correction :math:`\sqrt{1-\beta_2^t}` (as in
    torch).
    With ``decoupled_weight_decay=True`` the decay is applied to :math:`\theta` directly,
    :math:`\theta \leftarrow \theta(1 - \eta\mu)`, instead of through :math:`g_t`.

    .. note::
       The paper (Liu et al., 2020, Algorithm 2) rectifies when :math:`\rho_t > 4`; the authors'
       code uses :math:`\rho_t \ge 5` ("more conservative since it's an approximated value") and
       ``torch.optim.RAdam`` uses :math:`\rho_t > 5`. optlib uses torch's :math:`\rho_t > 5`. The
       choice matters for one step: with :math:`\beta_2 = 0.999`, :math:`\rho_5 \approx 4.996`, so
       the paper's rule rectifies from step 5 and torch's (and optlib's) from step 6.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: :math:`\mu \ge 0` (default 0).
        decoupled_weight_decay: decay :math:`\theta` directly, as AdamW does (default False).
        maximize: ascend the objective instead of descending it.
        foreach, capturable, differentiable: torch's implementation switches, kept in
            the groups as in torch; ``foreach`` may take any value (optlib has one
            implementation), the other two must stay off.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`).

    State per parameter: ``step`` (:math:`t`), ``exp_avg`` (:math:`m`), ``exp_avg_sq``
    (:math:`v`), as in torch. Sparse gradients raise torch's error. Non-finite gradients
    propagate into the state and the parameters, as in ``torch.optim.RAdam``.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.RAdam([theta], lr=0.1)
        >>> for _ in range(7):  # steps 1-5: momentum steps; 6 and 7: rectified
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.1970, -0.3986])

    References:
        Liu, Jiang, He, Chen, Liu, Gao & Han, *On the Variance of the Adaptive Learning Rate and
        Beyond*, ICLR 2020.
    """

    sparse_message = "RAdam does not support sparse gradients"
    twin = "torch.optim.RAdam({})"
    late_group_keys = dict(foreach=None, maximize=False, differentiable=False,
                           decoupled_weight_decay=False,
                           capturable=False)    # torch's RAdam.__setstate__

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        check_adam_hyper(lr, betas, eps, weight_decay, tensor_lr=True)
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach,
                          capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, theta, g, state, group):
        t = self._advance(state)
        eta, (beta1, beta2), eps, mu = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if mu != 0:
            if group["decoupled_weight_decay"]:
                theta.mul_(1 - eta * mu)                          # theta <- theta (1 - eta mu)
            else:
                g = g.add(theta, alpha=mu)                        # g_t + mu theta_t
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)                                     # m_t
        v.mul_(self._const(beta2, v)).addcmul_(g, g, value=1 - beta2)  # v_t
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t                 # m_hat_t = m_t / bc1
        rho_inf = 2 / (1 - beta2) - 1                             # rho_inf
        rho_t = rho_inf - 2 * t * beta2 ** t / bc2                # rho_t
        if self._compiling:                 # t is a tensor: the graph picks the branch
            self._traced_update(theta, m, v, eta, eps, bc1, bc2, rho_inf, rho_t)
        elif rho_t > 5:                             # variance tractable: rectify
            r_t = ((rho_t - 4) * (rho_t - 2) * rho_inf
                   / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5    # r_t
            denom = torch.sqrt(v, out=self._scratch_like(v)).add_(self._const(eps, v))
            # l_t = sqrt(bc2) / (sqrt(v_t) + eps);  theta -= eta r_t m_hat_t l_t
            theta.addcdiv_(m, denom, value=-eta * r_t * bc2 ** 0.5 / bc1)
        else:
            theta.add_(m, alpha=-eta / bc1)                       # theta -= eta m_hat (momentum)

    def _traced_update(self, theta, m, v, eta, eps, bc1, bc2, rho_inf, rho_t):
        """The two branches above under ``torch.compile``, where ``t`` and so ``rho_t``
        are tensors of the graph: both are computed, and ``torch.where`` picks one, as
        torch's RAdam does when compiled (a Python ``if`` would make a graph per
        branch, chosen by guarding on the step's value)."""
        r_t = ((rho_t - 4) * (rho_t - 2) * rho_inf
               / ((rho_inf - 4) * (rho_inf - 2) * rho_t)).sqrt()  # NaN if 2 < rho_t < 4
        rectify, scale = self._once(rho_t > 5), self._once(r_t * bc2 ** 0.5)
        rectified = m / (v.sqrt() + eps) * scale                  # r_t l_t m_t
        theta.add_(torch.where(rectify, rectified, m), alpha=self._once(-eta / bc1))
