r"""AdaBound and AMSBound (equal ``adabound.AdaBound`` of the PyPI package ``adabound`` 0.0.5)."""

from __future__ import annotations

import copy
import math

import torch

from ._base import (TORCH_FLAG_DEFAULTS, Optimizer, _require_real, check_betas,
                    check_lr, check_nonnegative, check_torch_flags)

__all__ = ["AdaBound", "AMSBound"]


def _check_hyper(lr, betas, final_lr, gamma, eps, weight_decay, amsbound) -> None:
    """The reference's checks, in its order and with its messages, plus what it lets through."""
    check_lr(lr)                                         # also rejects NaN, inf and non-numbers
    check_nonnegative(eps, "Invalid epsilon value: {}", "eps")
    check_betas(betas)
    check_nonnegative(final_lr, "Invalid final learning rate: {}", "final_lr")
    _require_real(gamma, "gamma")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"Invalid gamma parameter: {gamma}")
    check_nonnegative(weight_decay, "Invalid weight_decay value: {}", "weight_decay")
    if not isinstance(amsbound, bool):
        raise TypeError(f"amsbound must be a bool, got {type(amsbound).__name__}")


def _check_initial_lr(lr) -> None:
    if lr == 0:  # the reference accepts it, then divides by zero at the first step
        raise ValueError(f"Invalid learning rate: {lr} (AdaBound needs an initial lr > 0: the "
                         "bounds scale final_lr by lr / initial lr)")


class AdaBound(Optimizer):
    r"""AdaBound: Adam whose per-coordinate step size is clipped into bounds that close in on SGD's.

    With :math:`\eta` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), final SGD rate
    :math:`\eta^\star` (``final_lr``), bound speed :math:`\gamma` (``gamma``), :math:`\varepsilon`
    (``eps``) and L2 coefficient :math:`\mu` (``weight_decay``), step :math:`t = 1, 2, \dots` is

    .. math::

        g_t &\leftarrow \nabla L(\theta_t) + \mu\,\theta_t \\
        m_t &\leftarrow \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &\leftarrow \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
            \hat v_t \leftarrow \max(\hat v_{t-1}, v_t) \ \text{(AMSBound)}
            \quad\text{or}\quad v_t \\
        \eta^\star_t &\leftarrow \eta^\star\, \eta_t / \eta_0 \\
        \ell_t &\leftarrow \eta^\star_t \Big(1 - \frac{1}{\gamma t + 1}\Big), \qquad
        u_t \leftarrow \eta^\star_t \Big(1 + \frac{1}{\gamma t}\Big) \\
        \hat\eta_t &\leftarrow \operatorname{clip}\Big(\frac{\eta_t \sqrt{1-\beta_2^t}}{1-\beta_1^t}
            \cdot \frac{1}{\sqrt{\hat v_t} + \varepsilon},\ \ell_t,\ u_t\Big) \\
        \theta_{t+1} &\leftarrow \theta_t - \hat\eta_t \odot m_t

    with :math:`m_0 = v_0 = \hat v_0 = 0`. Early on the bounds are wide (:math:`\ell_1 \approx 0`,
    :math:`u_1 \approx \eta^\star/\gamma`) and the method is Adam; as :math:`t \to \infty` both
    tend to :math:`\eta^\star_t`, and the method becomes SGD with momentum and learning rate
    :math:`\eta^\star_t`. :math:`\eta_0` is the group's *initial* learning rate, kept in the group
    key ``base_lr``, so a scheduler that scales :math:`\eta_t` scales the bounds the same way.
    With ``gamma=0`` the bounds never close (:math:`\ell_t = 0`, :math:`u_t = \infty`), which the
    reference cannot run (it divides by zero); here nothing is clipped and the method is Adam with
    :math:`\varepsilon` on the raw :math:`\sqrt{\hat v_t}`.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: Adam learning rate :math:`\eta > 0` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        final_lr: the SGD rate :math:`\eta^\star \ge 0` the bounds converge to (default 0.1).
        gamma: convergence speed :math:`\gamma \in [0, 1)` of the bounds (default 1e-3).
        eps: :math:`\varepsilon \ge 0`, added to :math:`\sqrt{\hat v_t}` (default 1e-8).
        weight_decay: L2 coefficient :math:`\mu \ge 0`, added to the gradient (default 0).
        amsbound: keep the running maximum :math:`\hat v_t` of :math:`v_t` (default False).
        foreach, capturable, differentiable, fused: torch's implementation switches,
            taken as ``torch.optim.Adam`` takes them and kept in the groups;
            ``foreach`` may take any value (there is one implementation), the others
            must stay off.

    Parameters may be complex: each is updated as the pair of reals of
    ``torch.view_as_real``, as torch's optimisers do.

    State per parameter: ``step`` (a Python int, as in the reference), ``exp_avg`` (:math:`m`),
    ``exp_avg_sq`` (:math:`v`) and, with AMSBound, ``max_exp_avg_sq`` (:math:`\hat v`). Each group
    also holds ``base_lr`` (:math:`\eta_0`); ``add_param_group`` sets it to the new group's ``lr``
    unless the group gives one. A state dict of ``adabound.AdaBound`` loads here (groups without
    ``base_lr`` keep this optimiser's, as the reference keeps its ``base_lrs``) and continues
    identically; so does ours in the reference. Non-finite gradients propagate into the state and
    the parameters as in the reference: nothing is clipped or skipped.

    Under ``torch.compile`` the step counter is a scalar tensor instead (torch's form):
    a graph that read a Python int would be compiled again for each value. An eager
    step makes it an int again.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.AdaBound([theta], lr=0.1, final_lr=0.05, gamma=0.5)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()
        tensor([ 0.8890, -1.7780])
        >>> opt.state[theta]["step"], opt.param_groups[0]["base_lr"]
        (3, 0.1)

    References:
        Luo, Xiong, Liu & Sun, *Adaptive Gradient Methods with Dynamic Bound of Learning Rate*,
        ICLR 2019; the authors' code, PyPI package ``adabound`` 0.0.5.

    .. note::
       This class equals the authors' code, which differs from the paper. The paper's experiments
       use the bounds :math:`0.1 - 0.1/((1-\beta_2)t+1)` and :math:`0.1 + 0.1/((1-\beta_2)t)`; the
       code has a separate :math:`\gamma` where the paper has :math:`1-\beta_2` (both default to
       1e-3), and scales :math:`\eta^\star` by :math:`\eta_t/\eta_0` so that schedulers move the
       bounds. The paper clips :math:`\alpha/\sqrt{V_t}` and divides by :math:`\sqrt t`, without
       bias corrections; the code folds both bias corrections into the clipped rate, adds
       :math:`\varepsilon` to the raw :math:`\sqrt{\hat v_t}` (torch's Adam adds it after the bias
       correction) and multiplies the clipped rate by the *raw* :math:`m_t`. Weight decay is L2
       (through :math:`g`), not decoupled. One deliberate difference from the code: it zips the
       groups with the learning rates recorded at construction, so a group added later with
       ``add_param_group`` is silently never updated; here every group is updated.
    """

    sparse_message = "Adam does not support sparse gradients, please consider SparseAdam instead"
    late_group_keys = TORCH_FLAG_DEFAULTS  # the reference's checkpoints lack them all
    scalar_state_keys = ()      # the step stays a Python int, as in the reference

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                 weight_decay=0, amsbound=False, *, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        _check_hyper(lr, betas, final_lr, gamma, eps, weight_decay, amsbound)
        _check_initial_lr(lr)
        check_torch_flags(type(self).__name__, None, foreach=foreach,
                          capturable=capturable, differentiable=differentiable,
                          fused=fused)
        defaults = dict(lr=lr, betas=tuple(betas), final_lr=final_lr, gamma=gamma, eps=eps,
                        weight_decay=weight_decay, amsbound=amsbound, foreach=foreach,
                        capturable=capturable, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (torch's checks), validate its hyper-parameters, record its ``base_lr``."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            _check_hyper(*(group[k] for k in ("lr", "betas", "final_lr", "gamma", "eps",
                                              "weight_decay", "amsbound")))
            if "base_lr" not in group:
                _check_initial_lr(group["lr"])
                group["base_lr"] = group["lr"]
            _require_real(group["base_lr"], "base_lr")
            if not 0.0 < group["base_lr"] < math.inf:
                raise ValueError(f"Invalid base_lr: {group['base_lr']} (expected a value in "
                                 "(0, inf): the lr the group started with)")
        except (TypeError, ValueError):
            self.param_groups.pop()  # leave the optimiser as it was
            raise

    def load_state_dict(self, state_dict: dict) -> None:
        """torch's loading; a group saved without ``base_lr`` (by the reference) keeps ours."""
        groups = state_dict.get("param_groups", []) if isinstance(state_dict, dict) else []
        if any("base_lr" not in g for g in groups) and len(groups) == len(self.param_groups):
            state_dict = copy.copy(state_dict)
            state_dict["param_groups"] = [g if "base_lr" in g else {**g, "base_lr": ours["base_lr"]}
                                          for g, ours in zip(groups, self.param_groups)]
        super().load_state_dict(state_dict)

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsbound"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, theta, g, state, group):
        if self._compiling:                 # a tensor in a graph (see the class notes)
            if not isinstance(state["step"], torch.Tensor):
                state["step"] = self._new_step(state["step"])
            t, root = self._advance(state), torch.sqrt
        else:
            t = state["step"] = int(state["step"]) + 1   # an int, as in the reference
            root = math.sqrt
        eta, (beta1, beta2), mu = group["lr"], group["betas"], group["weight_decay"]
        if mu != 0:
            g = g.add(theta, alpha=mu)                    # g_t + mu theta_t
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(self._const(beta1, m)).add_(g, alpha=1 - beta1)          # m_t
        v.mul_(self._const(beta2, v)).addcmul_(g, g, value=1 - beta2)   # v_t
        if group["amsbound"]:
            v_hat = state["max_exp_avg_sq"]
            torch.maximum(v_hat, v, out=v_hat)            # v_hat_t = max(v_hat_{t-1}, v_t)
            v = v_hat
        denom = torch.sqrt(v, out=self._scratch_like(v))  # sqrt(v_hat_t)
        denom.add_(self._const(group["eps"], v))          #   + eps
        step = eta * root(1 - beta2 ** t) / (1 - beta1 ** t) # eta sqrt(1-b2^t)/(1-b1^t)
        final = group["final_lr"] * eta / group["base_lr"]          # eta*_t = eta* eta_t / eta_0
        gamma = group["gamma"]
        lower = self._once(final * (1 - 1 / (gamma * t + 1)))       # l_t
        upper = (self._once(final * (1 + 1 / (gamma * t)))       # u_t (none: infinite)
                 if gamma else None)
        eta_hat = torch.div(self._const(step, denom), denom, out=denom)  # step / denom,
        eta_hat.clamp_(lower, upper)                                #   clipped into [l_t, u_t]
        theta.sub_(eta_hat.mul_(m))                                 # theta -= eta_hat * m_t


class AMSBound(AdaBound):
    r"""AMSBound: AdaBound on the running maximum of the second moment, as AMSGrad is to Adam.

    Exactly ``AdaBound(..., amsbound=True)`` (and so ``adabound.AdaBound(amsbound=True)``). With
    :math:`m_t, v_t, \ell_t, u_t` as in :class:`AdaBound`,

    .. math::

        \hat v_t \leftarrow \max(\hat v_{t-1}, v_t), \qquad
        \theta_{t+1} \leftarrow \theta_t - \operatorname{clip}\Big(
            \frac{\eta_t \sqrt{1-\beta_2^t}}{1-\beta_1^t}
            \cdot \frac{1}{\sqrt{\hat v_t} + \varepsilon},
            \ \ell_t,\ u_t\Big) \odot m_t

    Args:
        params, lr, betas, final_lr, gamma, eps, weight_decay: as in :class:`AdaBound`.
        foreach, capturable, differentiable, fused: as in :class:`AdaBound`.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``. Non-finite
    gradients propagate as in the reference.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.AMSBound([theta], lr=0.1)
        >>> opt.param_groups[0]["amsbound"]
        True

    References:
        Luo, Xiong, Liu & Sun, *Adaptive Gradient Methods with Dynamic Bound of Learning Rate*,
        ICLR 2019.

    .. note::
       As in the reference (and in torch's AMSGrad), the maximum is taken over the raw
       :math:`v_t`; the paper's AMSBound (its Algorithm 3) has no bias correction.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                 weight_decay=0, *, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, final_lr=final_lr, gamma=gamma, eps=eps,
                         weight_decay=weight_decay, amsbound=True, foreach=foreach,
                         capturable=capturable, differentiable=differentiable,
                         fused=fused)
