r"""SGD, with optional momentum, Nesterov momentum and L2 weight decay (equals ``torch.optim.SGD``)."""

from __future__ import annotations

import math

import torch

from ._base import (Optimizer, _require_real, batches, check_bool, check_lr,
                    check_nonnegative, check_torch_flags)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (SGD), optionally with momentum (SGDM) or Nesterov momentum.

    With learning rate :math:`\eta` (``lr``), momentum :math:`\lambda` (``momentum``), dampening
    :math:`\tau` (``dampening``) and L2 coefficient :math:`\mu` (``weight_decay``), one step is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        m_{t+1} &\leftarrow \begin{cases} g_t & t = 0 \\
                           \lambda\, m_t + (1-\tau)\, g_t & t > 0 \end{cases} \\
        d_t &\leftarrow \begin{cases} g_t + \lambda\, m_{t+1} & \text{Nesterov} \\
                           m_{t+1} & \text{otherwise} \end{cases} \\
        \theta_{t+1} &\leftarrow \theta_t - \eta\, d_t

    Without momentum :math:`d_t = g_t`: plain gradient descent. The lecture writes momentum as
    :math:`v_t = \lambda v_{t-1} - \eta g_t`, with :math:`\eta` *inside* the buffer; PyTorch (and
    this class) keeps :math:`\eta` outside. The two agree while :math:`\eta` is constant and differ
    once a schedule changes it (chapter "The classic optimisers" shows both).

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3, as in torch).
        momentum: momentum factor :math:`\lambda \ge 0` (default 0: no momentum).
        dampening: dampening :math:`\tau` of the momentum (default 0).
        weight_decay: L2 coefficient :math:`\mu \ge 0`, added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.
        foreach, differentiable, fused: torch's implementation switches, kept in the
            groups as in torch; ``foreach`` may take any value (optlib has one
            implementation), the other two must stay off.

    ``lr`` may be a one-element Tensor, and parameters may be complex, as in torch (see
    :meth:`optlib._base.Optimizer.step`).

    State per parameter: ``momentum_buffer`` (:math:`m`), created on the first step when
    ``momentum > 0``. Sparse gradients are accepted, as in torch. A non-finite gradient propagates
    into the parameters, as in ``torch.optim.SGD``: nothing is clipped or skipped.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.SGD([theta], lr=0.1, momentum=0.9)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.0620, -0.1240])

    References:
        Robbins & Monro, *A Stochastic Approximation Method*, 1951;
        Rumelhart, Hinton & Williams, *Learning representations by back-propagating errors*, 1986;
        Sutskever et al., *On the importance of initialization and momentum in deep learning*, 2013.
    """

    supports_sparse = True
    lazy_state_keys = ("momentum_buffer",)  # created by the first step with momentum
    twin = "torch.optim.SGD({})"
    complex_as_real = False     # d_t: g_t added and scaled by reals (no view needed)
    late_group_keys = dict(nesterov=False, maximize=False, foreach=None,
                           differentiable=False, fused=False)  # SGD.__setstate__

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_lr(lr, tensor_ok=True)
        check_nonnegative(momentum, "Invalid momentum value: {}", "momentum")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")
        check_bool(nesterov, "nesterov")
        check_bool(maximize, "maximize")
        _require_real(dampening, "dampening")
        if not math.isfinite(dampening):
            raise ValueError(f"Invalid dampening value: {dampening}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach,
                          differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_group(self, group, params):
        # One loop over the group, not a call per parameter: the hyper-parameters are read once,
        # and theta moves by one call per batch of about a megabyte (a Python call costs as much
        # as the arithmetic on a small tensor; within a batch, d_t is still in the cache).
        eta, lam, tau, mu = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        nesterov, maximize, state = group["nesterov"], group["maximize"], self.state
        # A parameter listed twice is updated at each of its places, the second update
        # seeing the first, as in torch's loop: each tensor is then a batch of its own.
        # torch reads every momentum buffer before the step, so such a parameter whose
        # buffer this step creates gets a second one at its second place (the last one
        # stays).
        created = {}
        for batch in batches(params, 0 if self._listed_twice(params) else 2**18):
            thetas, directions = [], []
            for theta in batch:
                g = theta.grad                                  # g_t
                if g is None:                                   # no gradient: theta stays
                    continue
                if maximize:
                    g = -g
                if mu != 0:
                    g = g.add(theta, alpha=mu)                  # g_t + mu theta_t
                if lam != 0:
                    m = state[theta].get("momentum_buffer")
                    if m is None or (created and id(m) in created):   # m_1 = g_0
                        m = state[theta]["momentum_buffer"] = g.detach().clone()
                        created[id(m)] = m
                    elif tau == 0:                              # m_{t+1} = lam m_t + g_t, one pass
                        torch.add(g, m, alpha=lam, out=m)
                    else:                                       # m_{t+1} = lam m_t + (1 - tau) g_t
                        m.mul_(self._const(lam, m)).add_(g, alpha=1 - tau)
                    g = g.add(m, alpha=lam) if nesterov else m  # d_t (Nesterov or plain)
                thetas.append(theta)
                directions.append(g)
            if not thetas:
                continue
            if isinstance(eta, torch.Tensor):   # a Tensor lr (kept so by torch.compile)
                torch._foreach_add_(thetas, torch._foreach_mul(directions, -eta))
            else:
                torch._foreach_add_(thetas, directions, alpha=-eta)  # theta_{t+1} = theta_t - eta d_t
