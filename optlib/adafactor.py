r"""Adafactor: a factored second moment and steps relative to the parameters' size
(equals ``torch.optim.Adafactor``)."""

from __future__ import annotations

import torch

from ._base import Optimizer, _require_real, check_bool, check_torch_flags

__all__ = ["Adafactor"]


def _check_adafactor_hyper(lr, beta2_decay, eps, d, weight_decay) -> None:
    """torch's checks for Adafactor, in its order and with its messages."""
    value = lr
    if isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        value = lr.item()
    _require_real(value, "lr")
    if not 0.0 <= value:                     # (torch accepts lr = inf: no cap on rho)
        raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
    _require_real(beta2_decay, "beta2_decay")
    if not 0.0 >= beta2_decay:
        raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        raise TypeError(f"eps must be a pair (eps1 or None, eps2), got {eps!r}")
    if eps[0] is not None:
        _require_real(eps[0], "eps[0]")
        if not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
    _require_real(eps[1], "eps[1]")
    if not 0.0 <= eps[1]:
        raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
    _require_real(d, "d")
    if not 1.0 <= d:
        raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
    _require_real(weight_decay, "weight_decay")
    if not 0.0 <= weight_decay:
        raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")


class Adafactor(Optimizer):
    r"""Adafactor: Adam's second moment kept as row and column averages; no momentum.

    With :math:`\gamma` (``lr``), :math:`\tau` (``beta2_decay``),
    :math:`(\epsilon_1, \epsilon_2)` (``eps``), clipping threshold :math:`d` (``d``)
    and decoupled decay :math:`\lambda` (``weight_decay``), step
    :math:`t = 1, 2, \dots` of a parameter :math:`\theta` with gradient :math:`G_t` is

    .. math::

        1 - \hat\beta_{2,t} &= t^{\tau}, \qquad
        \rho_t = \min(\gamma, 1/\sqrt{t}), \qquad
        \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t \\
        \theta &\leftarrow \theta_{t-1}(1 - \gamma\lambda) \\
        R_t &\leftarrow \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\,
            \mathrm{mean}_\text{cols}(G_t^2), \qquad
        C_t \leftarrow \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\,
            \mathrm{mean}_\text{rows}(G_t^2) \\
        \hat V_t &= \frac{R_t C_t}{\max(\mathrm{mean}(R_t), \epsilon_1)}
            \quad\text{(a matrix: rank one)}, \qquad
        \hat V_t = \hat\beta_{2,t}\hat V_{t-1} + (1-\hat\beta_{2,t}) G_t^2
            \quad\text{(a vector)} \\
        U_t &= \frac{G_t}{\sqrt{\max(\hat V_t, \epsilon_1^2)}}, \qquad
        \hat U_t = \frac{U_t}{\max(1, \mathrm{RMS}(U_t)/d)} \\
        \theta_t &\leftarrow \theta - \alpha_t \hat U_t

    where :math:`\mathrm{RMS}(x) = \|x\|_2/\sqrt{\text{numel}}`. A tensor of two or more
    dimensions is factored over its *last two* (a 4-D convolution kernel keeps one
    :math:`R` and one :math:`C` per leading index); a vector or a scalar keeps the full
    :math:`\hat V`. :math:`\alpha_t` is measured on :math:`\theta_{t-1}`, before the
    decay. ``eps=(None, ...)`` takes :math:`\epsilon_1` as the machine epsilon of the
    group's first parameter that has a gradient, as torch does.

    .. note::
       How this (torch's) Adafactor differs from the paper (Shazeer & Stern, 2018,
       Algorithm 4 with update clipping):

       * the cap of the relative step size is ``lr``: the paper's
         :math:`\rho_t = \min(10^{-2}, 1/\sqrt t)` is the default ``lr=1e-2``;
         ``lr`` also scales the decoupled weight decay, which the paper does not have;
       * :math:`\epsilon_1` is applied to :math:`\hat V_t` (and to the row mean)
         instead of being added to :math:`G_t^2` before the averages, and averages
         replace the paper's sums (the same :math:`\hat V_t`, better scaled);
       * the decay schedule :math:`\hat\beta_{2,t} = 1 - t^{-0.8}` and the clipping
         :math:`d = 1` are the paper's; there is no first moment (the paper's
         :math:`\beta_1 = 0` setting).

       Other common implementations (``transformers.optimization.Adafactor``,
       fairseq's) follow the paper more closely and add switches this class does not
       have: ``relative_step=True`` (the :math:`\rho_t` above; with ``False`` an
       absolute ``lr`` is the step), ``scale_parameter=True`` (the factor
       :math:`\max(\epsilon_2, \mathrm{RMS}(\theta))`), ``warmup_init``
       (:math:`\rho_t = \min(10^{-6} t, 1/\sqrt t)`), an optional first moment
       ``beta1``, :math:`\epsilon_1 = 10^{-30}` added to :math:`G_t^2`, and
       ``clip_threshold`` for :math:`d`; their weight decay is ``weight_decay * lr``
       with their own lr. Here both switches are always on, warm-up is a scheduler's
       job, and the numbers are torch's.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: :math:`\gamma`, the cap of the relative step size and the decay's scale
            (default 1e-2).
        beta2_decay: :math:`\tau \le 0` (default -0.8).
        eps: :math:`(\epsilon_1, \epsilon_2)`, :math:`\epsilon_1` None (machine epsilon)
            or :math:`\ge 0` (default (None, 1e-3)).
        d: update clipping threshold :math:`d \ge 1` (default 1).
        weight_decay: decoupled decay :math:`\lambda \ge 0` (default 0).
        foreach: torch's implementation switch, kept in the groups; any value gives
            the same numbers here.
        maximize: ascend the objective instead of descending it.

    ``lr`` may be a one-element Tensor (read as its value). State per parameter, torch's
    keys: ``step``, and ``row_var`` and ``col_var`` (:math:`R`, :math:`C`, of shapes
    ``(..., n, 1)`` and ``(..., 1, m)``) or ``variance`` (:math:`\hat V`). Complex
    parameters and sparse gradients raise torch's errors. A non-finite gradient is not
    refused: it enters the row and column factors, and through them every coordinate of
    its matrix (the whole parameter turns NaN), as in torch.

    Example:
        >>> import torch, optlib
        >>> from optlib.adafactor import Adafactor
        >>> w = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 3.0]]))
        >>> opt = Adafactor([w])
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> sorted(opt.state[w])
        ['col_var', 'row_var', 'step']

    References:
        Shazeer & Stern, *Adafactor: Adaptive Learning Rates with Sublinear Memory
        Cost*, ICML 2018; Loshchilov & Hutter, *Decoupled Weight Decay Regularization*,
        ICLR 2019.
    """

    twin = "torch.optim.Adafactor({})"
    late_group_keys = dict(foreach=None)            # torch's Adafactor.__setstate__
    #: the second-moment keys depend on the parameter's shape, so none is required
    lazy_state_keys = ("row_var", "col_var", "variance")
    complex_as_real = False                         # torch refuses complex parameters

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        _check_adafactor_hyper(lr, beta2_decay, eps, d, weight_decay)
        check_torch_flags(type(self).__name__, self.twin, foreach=foreach)
        check_bool(maximize, "maximize")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        # torch's base class adds "differentiable" to the defaults here (for its own
        # optimisers); Adafactor has no such switch, and its groups never hold it
        self.defaults.pop("differentiable", None)

    def _state_keys(self, group):
        return {"step"}

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        if p.dim() > 1:                     # factored: R (..., n, 1), C (..., 1, m)
            state["row_var"] = p.new_zeros((*p.shape[:-1], 1))
            state["col_var"] = p.new_zeros((*p.shape[:-2], 1, p.shape[-1]))
        else:
            state["variance"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _step_group(self, group, params):
        with_grad = [p for p in params if p.grad is not None]
        for p in with_grad:                 # torch looks at all before any update
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            if p.grad.is_sparse:
                raise RuntimeError("Adafactor does not support sparse gradients")
        eps1, eps2 = group["eps"]
        if eps1 is None and with_grad:      # the first parameter's dtype decides
            eps1 = torch.finfo(with_grad[0].dtype).eps
        for p in with_grad:
            g = -p.grad if group["maximize"] else p.grad
            self._adafactor_update(p, g, self._state_for(p, group), group, eps1, eps2)

    def _adafactor_update(self, theta, G, state, group, eps1, eps2):
        t = self._advance(state)
        gamma, tau, d = group["lr"], group["beta2_decay"], group["d"]
        lam = group["weight_decay"]
        one_minus_beta2 = t ** tau                             # 1 - beta2_t = t^tau
        rho = min(gamma, 1 / (t ** 0.5))                       # rho_t
        rms_theta = theta.norm(2).item() / (theta.numel() ** 0.5)
        alpha = max(eps2, rms_theta) * rho                     # alpha_t, on theta_{t-1}
        if lam != 0:
            theta.mul_(1 - gamma * lam)                   # theta (1 - gamma lambda)
        if G.dim() > 1:
            R, C = state["row_var"], state["col_var"]
            # mean of G^2 over a row (the last dim) and over a column (dim -2), written
            # as a squared norm so that G^2 is never stored
            R.lerp_(torch.norm(G, dim=-1, keepdim=True).square_().div_(G.size(-1)),
                    one_minus_beta2)                           # R_t
            C.lerp_(torch.norm(G, dim=-2, keepdim=True).square_().div_(G.size(-2)),
                    one_minus_beta2)                           # C_t
            V = R @ C                                     # V_t = R_t C_t / mean(R_t)
            V.div_(R.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            v = state["variance"]
            v.lerp_(G * G, one_minus_beta2)                    # V_t
            V = v.clone()
        U = V.clamp_(min=eps1 * eps1).rsqrt_().mul_(G)         # U_t = G_t / sqrt(V_t)
        clip = max(1.0, U.norm(2).item() / ((U.numel() ** 0.5) * d))  # max(1, RMS(U)/d)
        theta.add_(U, alpha=-alpha / clip)                # theta - alpha_t U_hat_t
