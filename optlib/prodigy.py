r"""Prodigy: Adam whose step size is an estimate of the distance to the solution
(equals ``Prodigy`` of prodigyopt 1.1.2)."""

from __future__ import annotations

import math

import torch

from ._base import Optimizer, _require_real, check_betas, check_bool

__all__ = ["Prodigy"]

_LR_MISMATCH = ("Setting different lr values in different parameter groups is only "
                "supported for values of 0")


def _positive(value, message: str, name: str) -> None:
    """``0 < value < inf``, else ``ValueError(message.format(value))``."""
    _require_real(value, name)
    if not 0.0 < value < math.inf:
        raise ValueError(message.format(value))


class Prodigy(Optimizer):
    r"""Prodigy: Adam with the learning rate :math:`d\,\eta`, where :math:`d` estimates
    the distance from the start :math:`\theta_0` to a solution and only grows.

    With :math:`\eta` (``lr``, a multiplier, 1 by default), :math:`(\beta_1, \beta_2)`
    (``betas``), :math:`\beta_3` (``beta3``, default :math:`\sqrt{\beta_2}`),
    :math:`\varepsilon` (``eps``), decay :math:`\mu` (``weight_decay``), :math:`c`
    (``d_coef``), growth limit :math:`\gamma` (``growth_rate``) and :math:`d_0`
    (``d0``), step :math:`k = 0, 1, \dots` computes, with the estimate :math:`d_k` of
    the previous step and :math:`\rho_k = \sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`
    (1 without ``use_bias_correction``),

    .. math::

        \lambda_k &= d_k\,\eta\,\rho_k \\
        g &\leftarrow g + \mu\,\theta \quad \text{(coupled decay only)} \\
        m &\leftarrow \beta_1 m + (1-\beta_1)\, d_k\, g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2)\, d_k^2\, g^2 \\
        s &\leftarrow \beta_3 s + \tfrac{d_k}{d_0}\lambda_k\, g, \qquad
        r_{k+1} = \beta_3 r_k + \tfrac{d_k}{d_0}\lambda_k
            \textstyle\sum \langle g, \theta_0 - \theta\rangle \\
        \hat d &= c\, r_{k+1} \big/ \textstyle\sum \lVert s\rVert_1, \qquad
        d^{\max} \leftarrow \max(d^{\max}, \hat d), \qquad
        d_{k+1} = \min(d^{\max}, \gamma\, d_k) \\
        \theta &\leftarrow \theta\,(1 - \mu\lambda_k)
            \quad \text{(with \texttt{decouple})} \\
        \theta &\leftarrow \theta - \lambda_k\, \frac{m}{\sqrt{v} + d_{k+1}\varepsilon}

    where the sums run over every parameter of every group with a gradient (and a
    nonzero lr). While :math:`d` still equals :math:`d_0` (of the last group), it first
    jumps to :math:`\max(d, \hat d)`, past the growth limit. :math:`d^{\max}` never
    falls, so with :math:`\gamma \ge 1` neither does :math:`d`. With :math:`\beta_1 = 0`
    there is no :math:`m` and the step is :math:`\lambda_k d_{k+1} g/(\sqrt v +
    d_{k+1}\varepsilon)`. ``safeguard_warmup`` drops :math:`\eta\rho_k` from the
    increment of :math:`s` (it uses :math:`\frac{d_k}{d_0} d_k\, g`), and ``slice_p``
    computes :math:`s`, :math:`\theta_0` and the inner product on every ``slice_p``-th
    entry of each flattened tensor only.

    Everything about :math:`d` is one set of numbers for the whole optimiser, kept in
    every group as prodigyopt keeps it (``d``, ``d_max``, ``d_numerator`` for
    :math:`r`, ``k``, and after a step ``d_denom``, ``d_hat``). As in prodigyopt, the
    *first* group's ``betas``, ``beta3``, ``d_coef``, ``growth_rate``,
    ``use_bias_correction`` and ``decouple`` hold for all groups, as does the largest
    ``lr``; every group's ``lr`` must be that value or 0 (else torch's ``RuntimeError``
    of prodigyopt). ``eps``, ``weight_decay``, ``d0`` (in :math:`d_k/d_0`),
    ``safeguard_warmup`` and ``slice_p`` are per group. A group whose lr is 0 adds
    nothing to :math:`m, v, s, r`, but is still moved by :math:`\lambda_k` with the
    moments it has, as in prodigyopt.

    Differences from the paper (Mishchenko & Defazio 2024, Section 5, the Adam version),
    as in prodigyopt: the :math:`(1-\beta_3)` factors of :math:`r` and :math:`s` are
    left out and both are scaled by :math:`d_k/d_0` (they cancel in :math:`\hat d`);
    :math:`\beta_1` and :math:`\beta_2` moments carry :math:`d_k` inside; the growth
    limit, ``d_coef``, ``safeguard_warmup``, ``slice_p`` and the decoupled decay are
    the package's additions; bias correction is off by default.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: :math:`\eta > 0`, a multiplier of :math:`d` (default 1.0).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        beta3: :math:`\beta_3` in [0, 1], or None for :math:`\sqrt{\beta_2}`.
        eps: :math:`\varepsilon > 0` (default 1e-8), multiplied by :math:`d`.
        weight_decay: :math:`\mu \ge 0` (default 0).
        decouple: decay :math:`\theta` directly (AdamW style, the default) instead of
            adding :math:`\mu\theta` to the gradient.
        use_bias_correction: Adam's bias correction :math:`\rho_k` (default False).
        safeguard_warmup: leave :math:`\eta\rho_k` out of :math:`s` (default False).
        d0: :math:`d_0 > 0`, the first estimate (default 1e-6).
        d_coef: :math:`c > 0` (default 1.0).
        growth_rate: :math:`\gamma \ge 1` (default inf: no limit).
        fsdp_in_use: prodigyopt's sums across FSDP shards; optlib runs in one process,
            only False is accepted.
        slice_p: an integer :math:`\ge 1` (default 1).

    State per parameter, with prodigyopt's keys and types: ``step`` (a Python int),
    ``s``, ``p0`` (:math:`\theta_0`, sliced; a 0-dim zero when the parameter starts
    at zero), ``exp_avg`` (:math:`m`, only when :math:`\beta_1 > 0`) and
    ``exp_avg_sq`` (:math:`v`). State dicts move between the two both ways.

    .. note::
       prodigyopt adds the coupled decay to ``p.grad`` in place (the caller's gradient
       changes); optlib leaves ``p.grad`` alone, with the same numbers. prodigyopt
       checks the groups' lrs while it updates (a mismatch in a later group leaves the
       earlier ones half updated); optlib checks before it changes anything. Bad
       arguments that prodigyopt lets through raise here with torch's wording: a
       negative ``weight_decay``, ``d_coef <= 0``, ``growth_rate < 1``, an infinite
       ``lr``, ``eps`` or ``d0``, ``beta3`` outside [0, 1], a ``slice_p`` that is not
       an integer >= 1, flags that are not bools, a Tensor ``lr``. Sparse gradients
       raise a ``RuntimeError`` (prodigyopt fails in ``reshape``). A complex parameter
       is updated as its real view (pairs of reals); prodigyopt fails on one.

    Non-finite gradients propagate into the moments and the parameters; a NaN in the
    sums leaves :math:`d` where it was from then on (a comparison with NaN is false),
    as in prodigyopt.

    Example:
        >>> import torch
        >>> from optlib.prodigy import Prodigy
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Prodigy([theta], d0=1e-2)
        >>> for _ in range(20):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> round(opt.param_groups[0]["d"], 4), theta.detach()
        (0.7989, tensor([0.6306, 0.1863]))

    References:
        Mishchenko & Defazio, *Prodigy: An Expeditiously Adaptive Parameter-Free
        Learner*, ICML 2024 (Section 5); konstmish/prodigy, PyPI prodigyopt 1.1.2.
    """

    sparse_message = "{name} does not support sparse gradients"
    twin = None
    scalar_state_keys = ()                  # the step is a Python int, as in prodigyopt

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8,
                 weight_decay=0.0, decouple=True, use_bias_correction=False,
                 safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf"),
                 fsdp_in_use=False, slice_p=1):
        # prodigyopt's checks and messages, in its order, then the ones it lacks
        _positive(d0, "Invalid d0 value: {}", "d0")
        _positive(lr, "Invalid learning rate: {}", "lr")
        _positive(eps, "Invalid epsilon value: {}", "eps")
        check_betas(betas)
        if beta3 is not None:
            _require_real(beta3, "beta3")
            if not 0.0 <= beta3 <= 1.0:
                raise ValueError(f"Invalid beta3 value: {beta3}")
        _require_real(weight_decay, "weight_decay")
        if not 0.0 <= weight_decay < math.inf:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _positive(d_coef, "Invalid d_coef value: {}", "d_coef")
        _require_real(growth_rate, "growth_rate")
        if not growth_rate >= 1.0:
            raise ValueError(f"Invalid growth_rate value: {growth_rate} "
                             "(expected a value >= 1, so that d never falls)")
        if not isinstance(slice_p, int) or isinstance(slice_p, bool):
            raise TypeError(f"slice_p must be an int, got {type(slice_p).__name__}")
        if slice_p < 1:
            raise ValueError(f"Invalid slice_p value: {slice_p} "
                             "(expected an integer >= 1)")
        for flag, name in ((decouple, "decouple"),
                           (use_bias_correction, "use_bias_correction"),
                           (safeguard_warmup, "safeguard_warmup"),
                           (fsdp_in_use, "fsdp_in_use")):
            check_bool(flag, name)
        if fsdp_in_use:
            raise NotImplementedError(
                "optlib.Prodigy runs in one process and has no sums across FSDP "
                "shards; use prodigyopt.Prodigy(fsdp_in_use=True) or leave "
                "fsdp_in_use=False")
        defaults = dict(lr=lr, betas=tuple(betas), beta3=beta3, eps=eps,
                        weight_decay=weight_decay, d=d0, d0=d0, d_max=d0,
                        d_numerator=0.0, d_coef=d_coef, k=0, growth_rate=growth_rate,
                        use_bias_correction=use_bias_correction, decouple=decouple,
                        safeguard_warmup=safeguard_warmup, fsdp_in_use=fsdp_in_use,
                        slice_p=slice_p)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.defaults.pop("differentiable", None)  # torch's base adds it; no switch

    def _state_keys(self, group):
        keys = {"step", "s", "p0", "exp_avg_sq"}
        first = {**self.defaults, **self.param_groups[0]}   # its beta1 holds for all
        return keys | {"exp_avg"} if first["betas"][0] > 0 else keys

    @staticmethod
    def _real(t: torch.Tensor) -> torch.Tensor:
        return torch.view_as_real(t) if t.is_complex() else t

    @torch.no_grad()
    def step(self, closure=None):
        """One Prodigy step over all groups (one shared estimate :math:`d`); returns the
        closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = self.param_groups
        first = groups[0]
        eta = max(group["lr"] for group in groups)
        if any(group["lr"] not in (eta, 0.0) for group in groups):
            raise RuntimeError(_LR_MISMATCH)
        beta1, beta2 = first["betas"]
        beta3 = math.sqrt(beta2) if first["beta3"] is None else first["beta3"]
        k, d, d_max = first["k"], first["d"], first["d_max"]
        rho = 1
        if first["use_bias_correction"]:
            rho = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1))
        lam = d * eta * rho                                 # lambda_k = d_k eta rho_k
        decouple = first["decouple"]

        # pass 1: the moments, s, and the two sums of the estimate
        r = first["d_numerator"] * beta3                        # beta3 r_k
        r_increment, s_norm = 0.0, 0.0
        todo = []                                           # (theta, g, state, group)
        for group in groups:
            mu, d0 = group["weight_decay"], group["d0"]
            every = group["slice_p"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if hasattr(p, "_fsdp_flattened"):
                    raise NotImplementedError("optlib.Prodigy does not sum across FSDP "
                                              "shards; use prodigyopt.Prodigy")
                theta, g = self._real(p), self._real(self._checked_grad(p))
                if mu != 0 and not decouple:
                    g = g.add(theta, alpha=mu)                  # g + mu theta
                state = self.state[p]
                if "step" not in state:
                    self._start(theta, state, every, beta1)
                todo.append((theta, g, state, group))
                if group["lr"] <= 0.0:
                    continue
                g_sliced = g.flatten()[::every]
                inner = torch.dot(g_sliced, state["p0"] - theta.flatten()[::every])
                r_increment += (d / d0) * lam * inner.item()    # <g, theta_0 - theta>
                if beta1 > 0:
                    state["exp_avg"].mul_(beta1).add_(g, alpha=d * (1 - beta1))
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g,
                                                         value=d * d * (1 - beta2))
                scale = (d / d0) * (d if group["safeguard_warmup"] else lam)
                s = state["s"]
                s.mul_(beta3).add_(g_sliced, alpha=scale)
                s_norm += s.abs().sum().item()                  # sum ||s||_1

        if s_norm == 0:                                     # no gradient, or all zero
            return loss
        # the estimate (eta > 0 here: a zero lr everywhere leaves s_norm at 0)
        r = r + r_increment
        d_hat = first["d_coef"] * r / s_norm
        if d == groups[-1]["d0"]:                               # the first jump
            d = max(d, d_hat)
        d_max = max(d_max, d_hat)
        d = min(d_max, d * first["growth_rate"])               # d_{k+1}
        for group in groups:
            group.update(d_numerator=r, d_denom=s_norm, d=d, d_max=d_max, d_hat=d_hat)

        # pass 2: the parameters, with lambda_k and d_{k+1}
        for theta, g, state, group in todo:
            state["step"] += 1
            denom = state["exp_avg_sq"].sqrt().add_(d * group["eps"])
            mu = group["weight_decay"]
            if mu != 0 and decouple:
                theta.add_(theta, alpha=-mu * lam)          # theta (1 - mu lambda_k)
            if beta1 > 0:
                theta.addcdiv_(state["exp_avg"], denom, value=-lam)
            else:
                theta.addcdiv_(g, denom, value=-lam * d)
        for group in groups:
            group["k"] += 1
        return loss

    @staticmethod
    def _start(theta, state, every, beta1):
        """A parameter's state at its first gradient (prodigyopt's keys)."""
        state["step"] = 0
        sliced = theta.flatten()[::every]
        state["s"] = torch.zeros_like(sliced)
        if theta.any():
            state["p0"] = sliced.clone()                        # theta_0
        else:                                                   # all zero: one number
            state["p0"] = torch.tensor(0, dtype=theta.dtype, device=theta.device)
        if beta1 > 0:
            state["exp_avg"] = torch.zeros_like(theta)
        state["exp_avg_sq"] = torch.zeros_like(theta)
