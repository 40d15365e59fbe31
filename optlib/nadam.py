r"""NAdam: Adam with Nesterov momentum and Dozat's momentum schedule (equals torch's NAdam)."""

from __future__ import annotations

import torch

from ._base import (Optimizer, check_adam_hyper, check_bool, check_nonnegative,
                    check_torch_flags)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam: Adam whose step looks one momentum step ahead (Nesterov), with a warming-up momentum.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), :math:`\varepsilon`
    (``eps``), weight decay :math:`\mu` (``weight_decay``) and momentum decay :math:`\psi`
    (``momentum_decay``), step :math:`t = 1, 2, \dots` is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        \mu_t &= \beta_1\bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
            \Pi_t = \textstyle\prod_{i=1}^{t} \mu_i \\
        m_t &\leftarrow \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &\leftarrow \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \theta_{t+1} &\leftarrow \theta_t - \eta\, \Bigl(
            \frac{(1-\mu_t)\, g_t}{1-\Pi_t} + \frac{\mu_{t+1}\, m_t}{1-\Pi_t\,\mu_{t+1}} \Bigr)
            \Big/ \Bigl(\sqrt{v_t / (1-\beta_2^t)} + \varepsilon\Bigr)

    The bracket is the Nesterov look-ahead: the fresh gradient with weight :math:`1-\mu_t` plus the
    momentum that the *next* step will apply, each divided by its own bias correction. With
    ``decoupled_weight_decay=True`` the decay is applied to :math:`\theta` directly,
    :math:`\theta \leftarrow \theta(1 - \eta\mu)`, instead of through :math:`g_t` (torch calls that
    variant NAdamW).

    .. note::
       "Adam with Nesterov momentum" usually means this update with a *constant*
       :math:`\mu_t \equiv \beta_1` (so :math:`\Pi_t = \beta_1^t`): that is optax's
       ``nadam`` / ``scale_by_adam(nesterov=True)``. torch's NAdam (and optlib's) follows Dozat
       (2016) instead and warms the momentum up: :math:`\mu_t` starts near :math:`\beta_1/2` and
       approaches :math:`\beta_1` as :math:`0.96^{t\psi} \to 0`; with the default
       :math:`\psi = 0.004` (Dozat's :math:`0.96^{t/250}`) it reaches :math:`0.75\,\beta_1` only
       after about 4245 steps. The moment :math:`m_t` itself always uses the constant
       :math:`\beta_1`. ``momentum_decay=0`` does *not* give the constant-:math:`\beta_1` variant:
       it freezes :math:`\mu_t` at :math:`\beta_1/2`.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 2e-3, as in torch).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: :math:`\mu \ge 0` (default 0).
        momentum_decay: :math:`\psi \ge 0` of the momentum schedule (default 4e-3).
        decoupled_weight_decay: decay :math:`\theta` directly, as AdamW does (default False).
        maximize: ascend the objective instead of descending it.
        foreach, capturable, differentiable: torch's implementation switches, kept in
            the groups as in torch; ``foreach`` may take any value (optlib has one
            implementation), the other two must stay off.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`).

    State per parameter: ``step`` (:math:`t`), ``mu_product`` (:math:`\Pi_t`, a scalar tensor of
    the same dtype as ``step``, as in torch), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    Sparse gradients raise torch's error; non-finite gradients propagate into the state and the
    parameters, as in torch. One deliberate difference: torch's ``load_state_dict``
    casts ``mu_product`` to the parameter's dtype (as it does every state tensor but ``step``);
    optlib keeps it in ``step``'s dtype, so that a resumed run is bit-identical to one that was
    never interrupted.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.NAdam([theta], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.7527, -1.7475])
        >>> round(opt.state[theta]["mu_product"].item(), 4)  # mu_1 mu_2 mu_3, each close to 0.45
        0.0912

    References:
        Dozat, *Incorporating Nesterov Momentum into Adam*, ICLR 2016 workshop;
        Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015.
    """

    sparse_message = "NAdam does not support sparse gradients"
    twin = "torch.optim.NAdam({})"
    late_group_keys = dict(maximize=False, foreach=None, capturable=False,
                           differentiable=False,
                           decoupled_weight_decay=False)  # torch's NAdam.__setstate__
    scalar_state_keys = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_adam_hyper(lr, betas, eps, weight_decay, tensor_lr=True)
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_bool(maximize, "maximize")
        check_nonnegative(momentum_decay, "Invalid momentum_decay value: {}", "momentum_decay")
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach,
                          capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for state in self.state.values():  # undo torch's cast of the scalar Pi_t (see above)
            if "mu_product" in state:
                state["mu_product"] = state["mu_product"].to(state["step"].dtype)

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        state["mu_product"] = torch.ones_like(state["step"])         # Pi_0 = 1
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, theta, g, state, group):
        t = self._advance(state)
        eta, (beta1, beta2), eps, mu = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        if mu != 0:
            if group["decoupled_weight_decay"]:
                theta.mul_(1 - eta * mu)                              # theta <- theta (1 - eta mu)
            else:
                g = g.add(theta, alpha=mu)                            # g_t + mu theta_t
        mu_t = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))                # mu_t
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))       # mu_{t+1}
        pi = state["mu_product"]
        pi.mul_(self._const(mu_t, pi))                                # Pi_t = Pi_{t-1} mu_t
        pi_t = self._value(pi)
        pi_next = pi_t * mu_next                                      # Pi_{t+1}
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)                                         # m_t
        v.mul_(self._const(beta2, v)).addcmul_(g, g, value=1 - beta2)  # v_t
        c2 = (1 - beta2 ** t) ** 0.5                                  # c2 = sqrt(1 - b2^t)
        denom = torch.sqrt(v, out=self._scratch_like(v))              # D = sqrt(v_t) + c2 eps
        denom.add_(self._const(c2 * eps, v))                          #   = c2 (sqrt(v_t/c2^2) + eps)
        step_g = self._once(-eta * c2 * (1 - mu_t) / (1 - pi_t))
        step_m = self._once(-eta * c2 * mu_next / (1 - pi_next))
        theta.addcdiv_(g, denom, value=step_g)                        # gradient part
        theta.addcdiv_(m, denom, value=step_m)                        # momentum part
