r"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner (equals ``SOAP`` of
pytorch_optimizer 4.1.0)."""

from __future__ import annotations

import math

import torch

from ._base import Optimizer, _require_real, check_bool

__all__ = ["SOAP"]

_FORMATS = ("channels_first", "channels_last")


def _merged_shape(shape, limit: int) -> list[int]:
    """Consecutive dimensions multiplied together while the product stays <= ``limit``
    (pytorch_optimizer's rule: a dimension that would overflow the run starts a new
    one, after a run of 1 if it is the first). A tensor that merges into a single
    dimension becomes a vector, as in the paper's code (pytorch_optimizer asks for a
    shape ``[1]`` there, which fails for more than one element)."""
    out, run = [], 1
    for n in shape:
        if run * n > limit:
            out.append(run)
            run = n
        else:
            run *= n
    out.append(run)
    return out if len(out) > 1 else [math.prod(shape)]


class SOAP(Optimizer):
    r"""SOAP (ShampoO with Adam in the Preconditioner's eigenbasis).

    For a matrix :math:`W` with gradient :math:`G`, :math:`\eta` (``lr``),
    :math:`(\beta_1, \beta_2)` (``betas``), :math:`\beta_s` (``shampoo_beta``, default
    :math:`\beta_2`), :math:`\varepsilon` (``eps``), decay :math:`\lambda`
    (``weight_decay``) and frequency :math:`f` (``precondition_frequency``), step
    :math:`t = 1, 2, \dots` (counted after the first call, which only builds the
    preconditioner) is

    .. math::

        G' &= Q_L^\top G\, Q_R, \qquad
        M \leftarrow \beta_1 M + (1-\beta_1)\, G, \qquad
        V \leftarrow \beta_2 V + (1-\beta_2)\, G' \odot G' \\
        N &= Q_L \left(\frac{Q_L^\top M Q_R}{\sqrt{V} + \varepsilon}\right) Q_R^\top \\
        W &\leftarrow W - \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\, N, \qquad
        W \leftarrow W\,(1 - \eta\lambda) \\
        L &\leftarrow \beta_s L + (1-\beta_s)\, G G^\top, \qquad
        R \leftarrow \beta_s R + (1-\beta_s)\, G^\top G

    :math:`Q_L, Q_R` are the eigenvectors of :math:`L, R` (``torch.linalg.eigh``, by
    decreasing eigenvalue) computed once, at the first call (where :math:`L, R` hold
    only the first gradient); then, whenever :math:`t` is a multiple of :math:`f`, each
    is refreshed by one step of power iteration and a QR decomposition,
    :math:`Q \leftarrow \mathrm{qr}(P\,Q)` with :math:`P = L` or :math:`R`, its columns
    first sorted by the estimated eigenvalues :math:`\mathrm{diag}(Q^\top P Q)`, and
    the axes of :math:`V` permuted to that order. A tensor of any rank has one such
    matrix per dimension (the gradient contracted with itself over all other
    dimensions); a dimension longer than ``max_precondition_dim``, and a vector unless
    ``precondition_1d``, keeps the identity (plain Adam along it). ``merge_dims``
    first merges consecutive small dimensions (products up to
    ``max_precondition_dim``; a 4-D tensor is read as NCHW, after a permutation when
    ``data_format='channels_last'``). ``normalize_gradient`` divides :math:`N` by its
    root mean square plus :math:`\varepsilon`; without ``correct_bias`` the factor of
    :math:`\eta` is 1.

    The step count is per group (the group's ``step``), as in pytorch_optimizer: the
    first call builds every preconditioner of the group and moves nothing. A parameter
    whose first gradient comes later is started and updated in the same call (its
    :math:`L, R` then count that gradient twice, and when the group's step count is a
    multiple of :math:`f` its basis is refreshed at once), as in pytorch_optimizer.

    Where pytorch_optimizer's SOAP (the reference here) departs from the authors' code
    (nikhilvyas/SOAP, ``soap.py``):

    * :math:`M` is kept in the original space and projected at every step; the
      authors keep it projected and rotate it back and forth when the basis changes
      (the same in exact arithmetic);
    * the step count is per group, not per parameter, so a late parameter is not
      skipped on its first gradient, the refresh can come at its start, and its bias
      correction counts the group's steps;
    * :math:`L, R` and the ``eigh`` are in the parameter's dtype (the authors: float32,
      ``float64`` only after a failure), and the QR always in float32 (the authors:
      the whole refresh in float32); :math:`\mathrm{diag}(Q^\top P Q)` is computed as
      :math:`\sum_i Q \odot PQ`, and the moments by ``lerp``, the decay by
      :math:`W(1-\eta\lambda)` (the authors: :math:`W - \eta\lambda W`), rounding
      differences only;
    * ``shampoo_beta=None`` (the authors: any negative value) means :math:`\beta_2`;
      ``max_precond_dim`` is called ``max_precondition_dim`` and ``normalize_grads``
      ``normalize_gradient``, which divides by :math:`\mathrm{rms}(N) + \varepsilon`
      (the authors: :math:`\mathrm{rms}(N) + 10^{-30}`);
    * ``merge_dims`` merges by another rule (a dimension that overflows the running
      product starts a new run, possibly after a run of 1; the authors put a large
      dimension alone without a 1), and fails on any tensor that merges into one
      dimension, vectors included (here: the authors' vector);
    * ``maximize`` (not in the authors' code) negates the gradient, in place in
      ``p.grad`` there (here ``p.grad`` is left alone); sparse gradients and complex
      parameters are refused; a closure runs with grad enabled (the authors' runs
      under ``no_grad``).

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: :math:`\eta \ge 0` (default 3e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.95, 0.95)).
        shampoo_beta: :math:`\beta_s` in [0, 1), or None for :math:`\beta_2`.
        weight_decay: :math:`\lambda \ge 0`, decoupled (default 1e-2).
        precondition_frequency: :math:`f`, an integer >= 1 (default 10).
        max_precondition_dim: an integer >= 1 (default 10000).
        merge_dims, precondition_1d, correct_bias (default True), normalize_gradient:
            as above.
        data_format: ``'channels_first'`` (NCHW, default) or ``'channels_last'``.
        eps: :math:`\varepsilon \ge 0` (default 1e-8).
        maximize: ascend the objective.

    State per parameter, with pytorch_optimizer's keys: ``exp_avg`` (:math:`M`),
    ``exp_avg_sq`` (:math:`V`, in the eigenbasis), ``GG`` (the list of :math:`L, R,
    \dots`; ``[]`` for an identity), ``Q`` (the eigenbases, alike),
    ``precondition_frequency`` and ``shampoo_beta`` (fixed at the start); the group
    holds ``step``. ``data_format`` and ``maximize`` are attributes of the optimiser,
    not of the groups, as there. State dicts move between the two both ways.

    .. note::
       pytorch_optimizer raises its own exception classes (``NegativeLRError``,
       ``NoSparseGradientError``, ``NoComplexParameterError``, subclasses of
       ``Exception``); optlib depends on torch alone and raises ``ValueError`` with the
       same message for a negative lr, and ``RuntimeError`` with the same messages for
       a sparse gradient or a complex parameter. Its other checks give the same
       ``ValueError`` and message here. What it lets through raises with torch's
       wording: NaN or infinite values, ``shampoo_beta >= 1``, a
       ``precondition_frequency`` or ``max_precondition_dim`` that is not an int, an
       unknown ``data_format``, flags that are not bools, a Tensor ``lr``, and unknown
       keyword arguments (pytorch_optimizer ignores them).

    Non-finite gradients propagate into :math:`L, R`, the bases, the moments and the
    parameters, as in pytorch_optimizer (``eigh`` of a non-finite matrix fails: only a
    first gradient reaches it).

    Example:
        >>> import torch
        >>> from optlib.soap import SOAP
        >>> w = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 3.0]]))
        >>> opt = SOAP([w], lr=0.1, weight_decay=0.0)
        >>> for _ in range(5):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> w.detach()
        tensor([[ 0.6926, -1.7219],
                [ 0.2377,  2.7032]])

    References:
        Vyas et al., *SOAP: Improving and Stabilizing Shampoo using Adam*, ICLR 2025
        (arXiv 2409.11321, 2024); nikhilvyas/SOAP; kozistr/pytorch_optimizer 4.1.0.
    """

    sparse_message = "{name} does not support sparse gradient."
    complex_message = "{name} does not support complex parameter."
    complex_as_real = False                 # refused, as by pytorch_optimizer
    scalar_state_keys = ()                  # no per-parameter step
    twin = None

    def __init__(self, params, lr=3e-3, betas=(0.95, 0.95), shampoo_beta=None,
                 weight_decay=1e-2, precondition_frequency=10,
                 max_precondition_dim=10000,
                 merge_dims=False, precondition_1d=False, correct_bias=True,
                 normalize_gradient=False, data_format="channels_first", eps=1e-8,
                 maximize=False):
        # pytorch_optimizer's checks and messages, in its order; then what it lets pass
        _require_real(lr, "lr")
        if lr < 0:
            raise ValueError(f"learning rate must be positive. ({lr} > 0)")
        if not lr < math.inf:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a tuple of two floats, got {betas!r}")
        for i, beta in enumerate(betas):
            _require_real(beta, f"betas[{i}]")
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"beta{i + 1} must be in the range [0.0, 1.0)")
        for value, name in ((shampoo_beta, "shampoo_beta"),
                            (weight_decay, "weight_decay")):
            if value is None and name == "shampoo_beta":
                continue
            _require_real(value, name)
            if value < 0:
                raise ValueError(f"{name} must be non-negative")
        for value, name in ((precondition_frequency, "precondition_frequency"),
                            (max_precondition_dim, "max_precondition_dim")):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        _require_real(eps, "eps")
        if eps < 0:
            raise ValueError("eps must be non-negative")
        if shampoo_beta is not None and not shampoo_beta < 1.0:
            raise ValueError(f"Invalid shampoo_beta value: {shampoo_beta} "
                             "(expected a value in [0, 1) or None)")
        if not weight_decay < math.inf:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not eps < math.inf:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for flag, name in ((merge_dims, "merge_dims"),
                           (precondition_1d, "precondition_1d"),
                           (correct_bias, "correct_bias"),
                           (normalize_gradient, "normalize_gradient"),
                           (maximize, "maximize")):
            check_bool(flag, name)
        if data_format not in _FORMATS:
            raise ValueError(f"Invalid data_format: {data_format!r} "
                             "(expected 'channels_first' or 'channels_last')")
        self.data_format = data_format
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta,
                        weight_decay=weight_decay,
                        precondition_frequency=precondition_frequency,
                        max_precondition_dim=max_precondition_dim,
                        merge_dims=merge_dims,
                        precondition_1d=precondition_1d, correct_bias=correct_bias,
                        normalize_gradient=normalize_gradient, eps=eps)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.defaults.pop("differentiable", None)  # torch's base adds it; no switch

    def __getstate__(self):
        return {**super().__getstate__(), "data_format": self.data_format,
                "maximize": self.maximize}

    def _state_keys(self, group):
        return {"exp_avg", "exp_avg_sq", "GG", "Q", "precondition_frequency",
                "shampoo_beta"}

    # ----------------------------------------------------------------- shapes
    def _channels_last(self, x: torch.Tensor) -> bool:
        return self.data_format == "channels_last" and x.dim() == 4

    def _merge(self, x: torch.Tensor, limit: int) -> torch.Tensor:
        """``x`` (NCHW order) with its small dimensions merged."""
        if self._channels_last(x):
            x = x.permute(0, 3, 1, 2)
        return x.reshape(_merged_shape(x.shape, limit))

    def _unmerge(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``x`` back in the shape (and layout) of ``like``."""
        if self._channels_last(like):
            n, h, w, c = like.shape
            return x.reshape(n, c, h, w).permute(0, 2, 3, 1)
        return x.reshape(like.shape)

    def _rotate(self, x: torch.Tensor, bases: list, group: dict, back: bool = False):
        """:math:`x` in the eigenbasis (:math:`Q^\\top` along every dimension), or back
        to the original space (:math:`Q`) with ``back``. An identity dimension is only
        moved to the end, as a contracted one is."""
        merge = group["merge_dims"]
        y = self._merge(x, group["max_precondition_dim"]) if merge else x
        for q in bases:
            if len(q) > 0:
                y = torch.tensordot(y, q, dims=[[0], [1 if back else 0]])
            else:
                y = y.permute([*range(1, y.dim()), 0])
        return self._unmerge(y, x) if merge else y

    # ----------------------------------------------------------------- preconditioner
    def _start(self, grad: torch.Tensor, state: dict, group: dict) -> None:
        """A parameter's state at its first gradient: zero moments, zero L, R, ...,
        then the first accumulation (with the eigendecomposition)."""
        state["exp_avg"] = torch.zeros_like(grad)
        state["exp_avg_sq"] = torch.zeros_like(grad)
        limit = group["max_precondition_dim"]
        if grad.dim() == 1:
            dims = [grad.shape[0]] if group["precondition_1d"] else [limit + 1]
        else:
            dims = (self._merge(grad, limit) if group["merge_dims"] else grad).shape
        state["GG"] = [[] if n > limit else
                       torch.zeros(n, n, dtype=grad.dtype, device=grad.device)
                       for n in dims]
        state["Q"] = None
        state["precondition_frequency"] = group["precondition_frequency"]
        beta_s = group["shampoo_beta"]
        state["shampoo_beta"] = group["betas"][1] if beta_s is None else beta_s
        self._accumulate(grad, state, group["step"], group)

    def _accumulate(self, grad, state, t: int, group: dict) -> None:
        """L, R, ... <- beta_s (.) + (1 - beta_s) G G^T ...; the bases at the start and
        every ``precondition_frequency`` steps."""
        weight = 1.0 - state["shampoo_beta"]
        stats = state["GG"]
        if grad.dim() == 1:
            if len(stats[0]) > 0:
                outer = grad.unsqueeze(1) @ grad.unsqueeze(0)
                stats[0].lerp_(outer.to(stats[0].dtype), weight=weight)
        else:
            g = grad
            if group["merge_dims"]:
                g = self._merge(grad, group["max_precondition_dim"])
            for i, stat in enumerate(stats):
                if len(stat) == 0:
                    continue
                others = [j for j in range(g.dim()) if j != i]
                outer = torch.tensordot(g, g, dims=[others, others])  # all dims but i
                stat.lerp_(outer.to(stat.dtype), weight=weight)
        if state["Q"] is None:
            state["Q"] = [self._eigenvectors(stat) for stat in stats]
        if t > 0 and t % state["precondition_frequency"] == 0:
            state["Q"] = self._power_step(state, group)

    @staticmethod
    def _eigenvectors(stat):
        """Eigenvectors by decreasing eigenvalue (``eigh`` of ``stat`` + 1e-30 I; in
        float64 if that fails)."""
        if len(stat) == 0:
            return []
        n = stat.shape[0]
        try:
            _, vectors = torch.linalg.eigh(
                stat + 1e-30 * torch.eye(n, dtype=stat.dtype, device=stat.device))
        except RuntimeError:                # (torch.linalg.LinAlgError is one)
            wide = stat.to(torch.float64)
            _, vectors = torch.linalg.eigh(
                wide + 1e-30 * torch.eye(n, dtype=torch.float64, device=stat.device))
            vectors = vectors.to(stat.dtype)
        return torch.flip(vectors, dims=[1])

    def _power_step(self, state: dict, group: dict) -> list:
        """New bases: sort each basis by its estimated eigenvalues diag(Q^T P Q) (and
        the matching axis of V alike), one power step P Q, QR in float32."""
        v = state["exp_avg_sq"]
        merge = group["merge_dims"]
        w = self._merge(v, group["max_precondition_dim"]) if merge else v
        bases = []
        for axis, (stat, q) in enumerate(zip(state["GG"], state["Q"])):
            if len(stat) == 0:
                bases.append([])
                continue
            pq = stat @ q
            order = torch.argsort((q * pq).sum(dim=0), descending=True)
            w = w.index_select(axis, order)
            z, _ = torch.linalg.qr(pq.index_select(1, order).to(torch.float32))
            bases.append(z.to(pq.dtype))
        state["exp_avg_sq"] = self._unmerge(w, v) if merge else w
        return bases

    # ----------------------------------------------------------------- the step
    def _step_group(self, group: dict, params: list) -> None:
        group.setdefault("step", 0)
        for p in params:                # start new parameters (t = the group's count)
            if p.grad is None:
                continue
            grad = self._checked_grad(p)
            if p.is_complex():
                raise RuntimeError(
                    self.complex_message.format(name=type(self).__name__))
            state = self.state[p]
            if len(state) == 0:
                self._start(grad, state, group)
        group["step"] += 1
        if group["step"] == 1:              # the first call only builds the bases
            return
        t = group["step"] - 1
        eta, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        size = eta
        if group["correct_bias"]:
            size *= math.sqrt(1.0 - math.pow(beta2, t)) / (1.0 - math.pow(beta1, t))
        lam = group["weight_decay"]
        for p in params:
            if p.grad is None:
                continue
            grad = -p.grad if self.maximize else p.grad
            state = self.state[p]
            bases = state["Q"]
            state["exp_avg"].lerp_(grad, weight=1.0 - beta1)             # M
            g_rot = self._rotate(grad, bases, group)                      # G'
            state["exp_avg_sq"].lerp_(g_rot.square(), weight=1.0 - beta2)  # V
            denom = state["exp_avg_sq"].sqrt().add_(eps)
            m_rot = self._rotate(state["exp_avg"], bases, group)
            n = self._rotate(m_rot / denom, bases, group, back=True)      # N
            if group["normalize_gradient"]:
                n.div_(torch.mean(n.square()).sqrt_().add_(eps))
            p.add_(n, alpha=-size)
            if lam != 0.0:
                p.mul_(1.0 - lam * eta)                                   # decoupled
            self._accumulate(grad, state, t, group)
