r"""Muon: momentum orthogonalised by a Newton–Schulz iteration (equals
``torch.optim.Muon``)."""

from __future__ import annotations

import math

import torch

from ._base import Optimizer, _require_real, check_bool, check_nonnegative

__all__ = ["Muon", "newton_schulz", "adjusted_lr"]

#: the quintic's coefficients and step count of Keller Jordan's Muon (torch's defaults)
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def newton_schulz(M: torch.Tensor, coefficients=NS_COEFFICIENTS, steps: int = NS_STEPS,
                  eps: float = 1e-7) -> torch.Tensor:
    r"""An approximate orthogonalisation :math:`O \approx UV^\top` of
    :math:`M = USV^\top`.

    The matrix is scaled to Frobenius norm 1 (so every singular value is at most 1),
    then
    ``steps`` times

    .. math::

        A = X X^\top, \qquad X \leftarrow aX + (bA + cA^2)\,X

    which maps each singular value :math:`\sigma` to
    :math:`a\sigma + b\sigma^3 + c\sigma^5`. The coefficients push small singular
    values up fast; they end near, not at, 1 (roughly
    in [0.7, 1.2]), which is what Muon wants. As torch does, the iteration runs in
    bfloat16 on the wide orientation (:math:`X X^\top` the smaller Gram matrix), and the
    result is bfloat16.

    >>> O = newton_schulz(torch.tensor([[3.0, 0.0], [0.0, 0.1]]))
    >>> [round(s, 1) for s in torch.linalg.svdvals(O.float()).tolist()]
    [1.1, 0.7]
    """
    if steps >= 100:
        raise ValueError(
            "Number of steps must be less than 100 for computational efficiency")
    if M.dim() != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = M.size(0) > M.size(1)
    X = M.bfloat16()
    if tall:
        X = X.T
    X.div_(X.norm().clamp(min=eps))                    # ||X||_F <= 1, so sigma_max <= 1
    for _ in range(steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)      # b A + c A^2
        X = torch.addmm(X, B, X, beta=a)               # a X + B X
    return X.T if tall else X


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    r"""The step size of an :math:`A \times B` matrix, torch's two rules.

    ``None``/``"original"`` (Keller Jordan's): :math:`\eta\sqrt{\max(1, A/B)}`;
    ``"match_rms_adamw"`` (Moonshot's, Liu et al. 2025):
    :math:`0.2\,\eta\sqrt{\max(A, B)}`, which gives the update the RMS of a typical
    AdamW update, so AdamW's lr and decay carry over.

    >>> adjusted_lr(0.02, None, (256, 64))
    0.04
    >>> adjusted_lr(0.02, "match_rms_adamw", (256, 64))
    0.064
    """
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr * 1.0


class Muon(Optimizer):
    r"""Muon: SGD momentum whose update matrix is replaced by a nearly orthogonal one.

    With :math:`\eta` (``lr``), :math:`\lambda` (``weight_decay``), :math:`\mu`
    (``momentum``), :math:`(a, b, c)` (``ns_coefficients``) and :math:`k`
    (``ns_steps``), step :math:`t` of a weight matrix :math:`\theta` with gradient
    :math:`g_t` is

    .. math::

        B_t &\leftarrow \mu B_{t-1} + (1 - \mu)\, g_t \\
        M_t &= (1 - \mu)\, g_t + \mu B_t \ \text{(Nesterov)} \quad\text{or}\quad B_t \\
        O_t &= \mathrm{NS}_k^{(a,b,c)}(M_t) \approx U V^\top
            \quad (M_t = U S V^\top,\ \text{see } :func:`newton_schulz`) \\
        \theta_t &\leftarrow \theta_{t-1}(1 - \eta\lambda) - \eta' O_t, \qquad
        \eta' = \text{adjusted\_lr}(\eta, A \times B)

    :math:`B_0 = 0`. The buffer is an average (torch's ``lerp``), not the sum
    :math:`\mu B + g` that torch's docstring writes: the two differ by the factor
    :math:`1-\mu`, which the orthogonalisation removes anyway (it ignores the scale of
    :math:`M_t`). The decay is decoupled and uses the unadjusted
    :math:`\eta`. Every singular value of the step is close to :math:`\eta'`: the update
    moves all directions of the matrix alike, however ill-conditioned the gradient.

    Muon is meant for the hidden weight matrices only. Embeddings, the output head,
    biases and gains are trained by AdamW beside it, two optimisers stepped together::

        hidden = [p for n, p in model.named_parameters()
                  if p.ndim == 2 and "embed" not in n and "head" not in n]
        rest = [p for p in model.parameters() if all(p is not q for q in hidden)]
        muon = Muon(hidden, lr=0.02, momentum=0.95, weight_decay=0.01)
        adamw = optlib.AdamW(rest, lr=3e-4, betas=(0.9, 0.95), weight_decay=0.01)
        ...
        loss.backward(); muon.step(); adamw.step()
        muon.zero_grad(); adamw.zero_grad()

    A parameter that is not 2-D raises torch's ``ValueError`` (here also in a group
    added later with ``add_param_group``, which torch lets through until the step
    fails); a convolution kernel must be reshaped to a matrix by the caller.

    Args:
        params: iterable of 2-D parameters or of dicts defining parameter groups.
        lr: :math:`\eta \ge 0` (default 1e-3).
        weight_decay: decoupled decay :math:`\lambda \ge 0` (default 0.1).
        momentum: :math:`\mu \ge 0` (default 0.95).
        nesterov: use :math:`M_t = (1-\mu) g_t + \mu B_t` (default True).
        ns_coefficients: :math:`(a, b, c)` (default (3.4445, -4.7750, 2.0315)).
        eps: floor of the norm that scales :math:`M_t` (default 1e-7).
        ns_steps: Newton–Schulz steps :math:`k`, an integer in [0, 100) (default 5).
        adjust_lr_fn: ``None``/``"original"`` or ``"match_rms_adamw"`` (see
            :func:`adjusted_lr`).

    ``lr`` may be a one-element Tensor (read as its value). State per parameter:
    ``momentum_buffer`` (:math:`B`), as in torch. Complex parameters and sparse
    gradients raise torch's errors. The orthogonalisation is in bfloat16 (as in torch),
    so the steps are bfloat16 numbers whatever the parameter's dtype.

    Example:
        >>> import torch
        >>> from optlib.muon import Muon
        >>> W = torch.nn.Parameter(torch.eye(3) * torch.tensor([4.0, 1.0, 0.1]))
        >>> opt = Muon([W], lr=0.1, weight_decay=0.0, momentum=0.0, nesterov=False)
        >>> (W ** 2).sum().backward()
        >>> _ = opt.step()
        >>> W.detach().diagonal()    # gradients 8, 2 and 0.2: each moved by 0.07-0.09
        tensor([3.9270, 0.9270, 0.0113])

    References:
        Jordan et al., *Muon: An optimizer for hidden layers in neural networks*, 2024
        (kellerjordan.github.io/posts/muon); Liu et al., *Muon is Scalable for LLM
        Training*, arXiv 2502.16982, 2025.
    """

    twin = "torch.optim.Muon({})"
    complex_as_real = False                         # torch refuses complex parameters

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=NS_STEPS,
                 adjust_lr_fn=None):
        value = lr                          # torch's checks, order and messages
        if isinstance(lr, torch.Tensor):
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
            value = lr.item()
        _require_real(value, "lr")
        if not 0.0 <= value:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        _require_real(momentum, "momentum")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        _require_real(weight_decay, "weight_decay")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(
                f"Adjust learning rate function {adjust_lr_fn} is not supported")
        # checked here, not at the first step as torch does: same errors, sooner
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"Invalid ns_steps: {ns_steps} (expected an integer >= 0)")
        if ns_steps >= 100:
            raise ValueError(
                "Number of steps must be less than 100 for computational efficiency")
        if len(ns_coefficients) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        for i, coef in enumerate(ns_coefficients):
            _require_real(coef, f"ns_coefficients[{i}]")
        check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
        check_bool(nesterov, "nesterov")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps,
                        ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        # torch's base class adds "differentiable" to the defaults here (for its own
        # optimisers); Muon has no such switch, and its groups never hold it
        self.defaults.pop("differentiable", None)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                self.param_groups.pop()
                raise ValueError("Muon only supports 2D parameters whereas we found a "
                                 f"parameter with size: {p.size()}")

    def _init_state(self, p, state, group):
        state["momentum_buffer"] = torch.zeros_like(
            p, memory_format=torch.preserve_format)

    def _step_group(self, group, params):
        with_grad = [p for p in params if p.grad is not None]
        for p in with_grad:                 # torch looks at all before any update
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if p.grad.is_sparse:
                raise RuntimeError("Muon does not support sparse gradients")
        for p in with_grad:
            self._update(p, p.grad, self._state_for(p, group), group)

    def _update(self, theta, g, state, group):
        eta, lam, mu = group["lr"], group["weight_decay"], group["momentum"]
        B = state["momentum_buffer"]
        B.lerp_(g, 1 - mu)                                     # B_t = mu B + (1-mu) g_t
        M = g.lerp(B, mu) if group["nesterov"] else B          # M_t
        O = newton_schulz(M, group["ns_coefficients"], group["ns_steps"], group["eps"])
        eta_adj = adjusted_lr(eta, group["adjust_lr_fn"], theta.shape)
        theta.mul_(1 - eta * lam)                              # theta (1 - eta lambda)
        theta.add_(O, alpha=-eta_adj)                          # - eta' O_t
