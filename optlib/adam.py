r"""Adam and its AMSGrad variant (equal ``torch.optim.Adam``, with and without ``amsgrad``)."""

from __future__ import annotations


import torch

from ._base import Optimizer, check_adam_hyper, check_bool, check_torch_flags

__all__ = ["Adam", "AMSGrad"]


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, divided by the root of a running second moment.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), :math:`\varepsilon`
    (``eps``) and L2 coefficient :math:`\mu` (``weight_decay``), step :math:`t = 1, 2, \dots` is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        m_t &\leftarrow \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &\leftarrow \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \ \text{(AMSGrad)}
            \quad\text{or}\quad v_t \\
        \theta_{t+1} &\leftarrow \theta_t - \frac{\eta}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t / (1-\beta_2^t)} + \varepsilon}

    :math:`m_0 = v_0 = 0`; :math:`\varepsilon` is added *after* the bias correction, as in torch.
    With ``decoupled_weight_decay=True`` the decay is applied to :math:`\theta` directly,
    :math:`\theta \leftarrow \theta(1 - \eta\mu)`, instead of through :math:`g` (that is AdamW).

    .. note::
       With ``amsgrad=True`` the maximum is taken over the *raw* :math:`v_t` and then bias-corrected,
       as in torch. The paper's Algorithm 2 (Reddi et al., 2018) has no bias correction at all.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
            Python numbers, or two one-element Tensors as torch takes them (read as
            their values at each step, like a Tensor ``lr``). Where torch refuses
            Tensor betas (a Tensor next to a float, or Tensors with
            ``foreach=True``), optlib raises torch's ValueError.
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: :math:`\mu \ge 0` (default 0).
        amsgrad: keep the running maximum of :math:`v_t` (default False).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay :math:`\theta` directly, as AdamW does (default False).
        foreach, capturable, differentiable, fused: torch's implementation switches,
            kept in the groups as in torch; ``foreach`` may take any value (optlib has
            one implementation), the others must stay off.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`) and,
    with AMSGrad, ``max_exp_avg_sq`` (:math:`\hat v`). Sparse gradients raise torch's error;
    non-finite gradients propagate into the state and the parameters, as in torch.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.Adam([theta], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.7016, -1.7006])

    References:
        Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015;
        Reddi, Kale & Kumar, *On the Convergence of Adam and Beyond*, ICLR 2018 (AMSGrad).
    """

    sparse_message = "Adam does not support sparse gradients, please consider SparseAdam instead"
    twin = "torch.optim.Adam({})"
    late_group_keys = dict(amsgrad=False, maximize=False, foreach=None,
                           capturable=False, differentiable=False,
                           decoupled_weight_decay=False,
                           fused=None)      # torch's Adam.__setstate__

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, torch.Tensor) and foreach:  # torch's refusal (capturable off)
            raise ValueError(
                "lr as a Tensor is not supported for capturable=False and foreach=True")
        values = betas
        if isinstance(betas, (tuple, list)) and any(
                isinstance(beta, torch.Tensor) for beta in betas[:2]):
            # Tensor betas as torch takes them (both, one element each) and refuses them
            if not all(isinstance(beta, torch.Tensor) for beta in betas[:2]):
                raise ValueError("betas must be either both floats or both Tensors")
            if foreach and not capturable:
                raise ValueError("betas[0] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
            for i, beta in enumerate(betas[:2]):
                if beta.numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
            values = tuple(beta.item() for beta in betas[:2]) + tuple(betas[2:])
        check_adam_hyper(lr, values, eps, weight_decay, tensor_lr=True)
        check_bool(amsgrad, "amsgrad")
        check_bool(maximize, "maximize")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach,
                          capturable=capturable, differentiable=differentiable,
                          fused=fused)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, theta, g, state, group):
        t = self._advance(state)
        eta, (beta1, beta2), eps, mu = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if mu != 0:
            if group.get("decoupled_weight_decay", False):
                theta.mul_(self._const(1 - eta * mu, theta))  # theta <- theta (1 - eta mu)
            else:
                g = g.add(theta, alpha=mu)                    # g_t + mu theta_t
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)                                 # m_t
        v.mul_(self._const(beta2, v)).addcmul_(g, g, value=1 - beta2)  # v_t
        if group["amsgrad"]:
            v_hat = state["max_exp_avg_sq"]
            torch.maximum(v_hat, v, out=v_hat)                # v_hat_t = max(v_hat_{t-1}, v_t)
            v = v_hat
        c2 = (1 - beta2 ** t) ** 0.5                          # c2 = sqrt(1 - b2^t)
        denom = torch.sqrt(v, out=self._scratch_like(v))      # D = sqrt(v_t) + c2 eps
        denom.add_(self._const(c2 * eps, v))                  #   = c2 (sqrt(v_t / (1-b2^t)) + eps)
        step = self._once(-eta * c2 / (1 - beta1 ** t))       # -eta c2 / (1-b1^t)
        theta.addcdiv_(m, denom, value=step)                  # theta += step m_t / D


class AMSGrad(Adam):
    r"""AMSGrad: Adam that divides by the running *maximum* of the second moment.

    Exactly ``Adam(..., amsgrad=True)`` (and so ``torch.optim.Adam(amsgrad=True)``), under its own
    name for the chapter on AMSGrad. With :math:`m_t, v_t` as in :class:`Adam`,

    .. math::

        \hat v_t \leftarrow \max(\hat v_{t-1}, v_t), \qquad
        \theta_{t+1} \leftarrow \theta_t - \frac{\eta}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t / (1-\beta_2^t)} + \varepsilon}

    so the effective learning rate :math:`\eta / \sqrt{\hat v_t}` of a coordinate can never grow,
    as in Adagrad.
    It takes :class:`Adam`'s arguments, less ``amsgrad``.
    Like torch, and unlike the paper's Algorithm 2, the maximum is bias-corrected by
    :math:`1-\beta_2^t` and :math:`m_t` by :math:`1-\beta_1^t`. Non-finite gradients propagate
    into the state and the parameters, as in torch.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.AMSGrad([theta], lr=0.1)
        >>> opt.param_groups[0]["amsgrad"]
        True

    References:
        Reddi, Kale & Kumar, *On the Convergence of Adam and Beyond*, ICLR 2018.
    """

    twin = "torch.optim.Adam(amsgrad=True, {})"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False,
                 fused=None, decoupled_weight_decay=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=True, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=decoupled_weight_decay)
