r"""AdamW: Adam with decoupled weight decay (equals ``torch.optim.AdamW``)."""

from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW: Adam whose weight decay shrinks the parameters directly, not through the gradient.

    So the decay is not divided by :math:`\sqrt{\hat v_t}` like the rest of the step.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), :math:`\varepsilon`
    (``eps``) and decay :math:`\lambda` (``weight_decay``), step :math:`t = 1, 2, \dots` is

    .. math::

        \theta_t &\leftarrow \theta_t\,(1 - \eta\lambda) \\
        m_t &\leftarrow \beta_1\, m_{t-1} + (1-\beta_1)\, g_t, \qquad
            v_t \leftarrow \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \ \text{(AMSGrad)}
            \quad\text{or}\quad v_t \\
        \theta_{t+1} &\leftarrow \theta_t - \frac{\eta}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t / (1-\beta_2^t)} + \varepsilon}

    where :math:`g_t = \nabla L(\theta_t)` is taken *before* the decay. Everything after the first
    line is :class:`optlib.Adam`; this class is ``Adam(..., decoupled_weight_decay=True)`` with
    torch's AdamW signature and default ``weight_decay=1e-2``. With L2 regularisation
    (``Adam(weight_decay=...)``) a coordinate with a large :math:`\hat v_t` is barely decayed; here
    every coordinate shrinks by the same factor :math:`1-\eta\lambda`.

    .. note::
       In the paper (Loshchilov & Hutter, 2019, Algorithm 2) the decay is
       :math:`\eta_t \lambda\, \theta`, where :math:`\eta_t` is the *schedule multiplier* only, and
       the base step size :math:`\alpha` does not multiply :math:`\lambda`. torch (and optlib) use
       :math:`\text{lr}\cdot\lambda`, with the current (scheduled) learning rate: the same thing
       when :math:`\lambda_\text{torch} = \lambda_\text{paper}/\alpha`, but a change of ``lr`` also
       changes the decay. The paper's "normalised" weight decay
       :math:`\lambda = \lambda_\text{norm}\sqrt{b/(BT)}` is not implemented.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        weight_decay: decoupled decay :math:`\lambda \ge 0` (default 1e-2, as in torch).
        amsgrad: keep the running maximum of :math:`v_t` (default False).
        maximize: ascend the objective instead of descending it.
        foreach, capturable, differentiable, fused: torch's implementation switches,
            as in :class:`optlib.Adam`.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`) and,
    with AMSGrad, ``max_exp_avg_sq`` (:math:`\hat v`), as in torch. Sparse gradients raise torch's
    error (which names Adam, as torch's does); non-finite gradients propagate into the state and
    the parameters, as in ``torch.optim.AdamW``.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.AdamW([theta], lr=0.1, weight_decay=0.5)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.5750, -1.4310])
        >>> opt.param_groups[0]["decoupled_weight_decay"]
        True

    References:
        Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019;
        Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015.
    """

    twin = "torch.optim.AdamW({})"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        # As in torch: whatever was loaded, AdamW's decay stays decoupled.
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
