r"""SGDW: SGD (with momentum) and decoupled weight decay (Loshchilov & Hutter)."""

from __future__ import annotations

import torch

from .sgd import SGD

__all__ = ["SGDW"]


class SGDW(SGD):
    r"""SGDW: :class:`optlib.SGD` after shrinking :math:`\theta` by :math:`1-\eta\lambda`.

    With learning rate :math:`\eta` (``lr``), momentum :math:`\beta` (``momentum``), dampening
    :math:`\tau` (``dampening``) and decoupled decay :math:`\lambda` (``weight_decay``), one step is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) \\
        \theta_t &\leftarrow \theta_t\,(1 - \eta\lambda) \\
        m_{t+1} &\leftarrow \begin{cases} g_t & t = 0 \\
                           \beta\, m_t + (1-\tau)\, g_t & t > 0 \end{cases} \\
        d_t &\leftarrow \begin{cases} g_t + \beta\, m_{t+1} & \text{Nesterov} \\
                           m_{t+1} & \text{otherwise} \end{cases} \\
        \theta_{t+1} &\leftarrow \theta_t - \eta\, d_t

    The gradient is taken before the decay; the decay never enters :math:`g_t` or the momentum
    buffer, which is the whole difference from ``SGD(weight_decay=...)`` (L2): there
    :math:`\lambda\theta` is added to :math:`g_t` and so accumulates in :math:`m`. Without momentum
    the two coincide. With ``weight_decay=0`` this is exactly ``torch.optim.SGD``.

    .. note::
       The paper's Algorithm 1 (Loshchilov & Hutter, 2019) writes the momentum with the step size
       inside, :math:`m_t = \beta m_{t-1} + \eta_t \alpha g_t`, and the decay as
       :math:`\eta_t \lambda\,\theta_{t-1}`, where :math:`\eta_t` is the schedule multiplier alone.
       optlib follows torch's SGD for the momentum (:math:`\eta` outside the buffer) and torch's
       AdamW for the decay (:math:`\eta\lambda` with the current learning rate). torch itself has no
       SGDW.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        momentum: momentum factor :math:`\beta \ge 0` (default 0).
        dampening: dampening :math:`\tau` of the momentum (default 0).
        weight_decay: decoupled decay :math:`\lambda \ge 0` (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.
        foreach, differentiable, fused: torch's implementation switches, as in
            :class:`optlib.SGD`.

    State per parameter: ``momentum_buffer`` (:math:`m`) when ``momentum > 0``, as in
    ``torch.optim.SGD``. Arguments are validated with torch's SGD messages. Non-finite gradients
    propagate into the momentum and the parameters, as in SGD: nothing is clipped or skipped.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.SGDW([theta], lr=0.1, momentum=0.9, weight_decay=0.5)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([-0.0101,  0.0203])

    References:
        Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """

    twin = None         # torch has no SGDW (SGD's switches and checkpoints otherwise)

    def _step_group(self, group, params):
        eta, lam = group["lr"], group["weight_decay"]
        if lam != 0:
            # theta <- theta (1 - eta lambda) where there is a gradient (others stay)
            decayed = [theta for theta in params if theta.grad is not None]
            if decayed:
                torch._foreach_mul_(decayed, 1 - eta * lam)
        # then the SGD(M) step of optlib.SGD, with its L2 term switched off
        super()._step_group({**group, "weight_decay": 0.0}, params)
