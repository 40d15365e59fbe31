r"""Lion: the sign of an interpolated momentum (equals ``Lion`` of lion-pytorch
0.2.5)."""

from __future__ import annotations

import torch

from ._base import Optimizer, _require_real, check_bool, check_lr, check_nonnegative

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum): every coordinate moves by exactly :math:`\pm\eta`.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``) and decay
    :math:`\lambda` (``weight_decay``), step :math:`t` is

    .. math::

        \theta &\leftarrow \theta_{t-1}\,(1 - \eta\lambda) \\
        c_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        \theta_t &\leftarrow \theta - \eta\, \mathrm{sign}(c_t) \\
        m_t &\leftarrow \beta_2 m_{t-1} + (1 - \beta_2)\, g_t

    :math:`m_0 = 0`. Two betas: the step looks at the current gradient through
    :math:`\beta_1` (0.9), while the momentum it keeps forgets through :math:`\beta_2`
    (0.99), so the step reacts faster than the memory. The decay is decoupled and
    applied first, to :math:`\theta_{t-1}`, as lion-pytorch does; it equals the paper's
    :math:`\theta_t = \theta_{t-1} - \eta(\mathrm{sign}(c_t) + \lambda\theta_{t-1})`.
    Because the sign has unit size, Lion wants an lr 3-10 times smaller than AdamW's and
    a :math:`\lambda` 3-10 times larger (the paper's advice).

    With ``decoupled_weight_decay=True`` the decay is
    :math:`\theta(1 - \eta\lambda/\eta_0)`, :math:`\eta_0` the ``lr`` given to the
    constructor (for every group, as in lion-pytorch), so a schedule scales it but the
    base lr does not. A complex parameter moves by
    :math:`\eta\, c/|c|` (``torch.sgn``), as in lion-pytorch.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate :math:`\eta \ge 0` (default 1e-4; > 0 with
            ``decoupled_weight_decay``).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1] (default (0.9, 0.99)).
        weight_decay: :math:`\lambda \ge 0` (default 0).
        use_triton: lion-pytorch's CUDA kernel; optlib has none, only False is accepted.
        decoupled_weight_decay: divide :math:`\lambda` by the initial lr (default
            False).

    State per parameter: ``exp_avg`` (:math:`m`), as in lion-pytorch, whose groups hold
    ``lr``, ``betas`` and ``weight_decay``, so a state_dict moves between the two.
    A non-finite gradient is not refused: ``torch.sign`` of NaN is 0, so a NaN
    coordinate stops moving (its :math:`m` stays NaN from then on), and an infinite one
    keeps moving by :math:`\pm\eta` while its :math:`m` stays infinite; as lion-pytorch.
    ``lr`` may be a one-element Tensor (read as its value), and sparse gradients are
    accepted, as by lion-pytorch.

    .. note::
       lion-pytorch checks its arguments with ``assert`` (``lr > 0``,
       :math:`0 \le \beta \le 1`); here they raise ``ValueError`` with torch's messages,
       ``lr = 0`` is allowed without ``decoupled_weight_decay``, and a negative
       ``weight_decay`` (unchecked there) is refused.

    Example:
        >>> import torch
        >>> from optlib.lion import Lion
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Lion([theta], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.7000, -1.7000])

    References:
        Chen et al., *Symbolic Discovery of Optimization Algorithms*, NeurIPS 2023
        (Algorithm 2); lucidrains/lion-pytorch 0.2.5.
    """

    supports_sparse = True
    complex_as_real = False                 # sign of a complex number, not of its parts
    scalar_state_keys = ()

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0,
                 use_triton=False, decoupled_weight_decay=False):
        check_lr(lr, tensor_ok=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a tuple of two floats, got {betas!r}")
        for i, beta in enumerate(betas):
            _require_real(beta, f"betas[{i}]")
            if not 0.0 <= beta <= 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_nonnegative(weight_decay, "Invalid weight_decay value: {}",
                          "weight_decay")
        check_bool(use_triton, "use_triton")
        check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        if use_triton:
            raise NotImplementedError("optlib.Lion has no Triton kernel; leave "
                                      "use_triton=False (or use lion_pytorch.Lion)")
        init_lr = lr.item() if isinstance(lr, torch.Tensor) else lr
        if decoupled_weight_decay and init_lr == 0:
            raise ValueError("decoupled_weight_decay divides weight_decay by the "
                             "initial lr, which must then be > 0")
        self._init_lr = init_lr
        self.decoupled_weight_decay = decoupled_weight_decay
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    def __setstate__(self, state):
        super().__setstate__(state)
        # torch's base class adds "differentiable" to the defaults here (for its own
        # optimisers); Lion has no such switch, and its groups never hold it
        self.defaults.pop("differentiable", None)

    def __getstate__(self):               # (torch's keeps only defaults, state, groups)
        return {**super().__getstate__(), "_init_lr": self._init_lr,
                "decoupled_weight_decay": self.decoupled_weight_decay}

    def _init_state(self, p, state, group):
        state["exp_avg"] = torch.zeros_like(p)

    def _update(self, theta, g, state, group):
        eta, (beta1, beta2), lam = group["lr"], group["betas"], group["weight_decay"]
        if self.decoupled_weight_decay:
            lam = lam / self._init_lr
        m = state["exp_avg"]
        theta.mul_(1.0 - eta * lam)                            # theta (1 - eta lambda)
        c = m.mul(beta1).add_(g, alpha=1.0 - beta1)            # c_t
        theta.add_(c.sgn_(), alpha=-eta)                       # - eta sign(c_t)
        m.mul_(beta2).add_(g, alpha=1.0 - beta2)               # m_t
