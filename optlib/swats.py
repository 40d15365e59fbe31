r"""SWATS: start with Adam, switch to SGD with momentum (Keskar & Socher 2017, Algorithm 1)."""

from __future__ import annotations

import math
import sys

import torch

from ._base import (TORCH_FLAG_DEFAULTS, Optimizer, check_adam_hyper, check_bool,
                    check_nonnegative, check_torch_flags)

__all__ = ["SWATS"]

#: group keys SWATS writes itself (the phase and the projection's running numbers)
_TRACKED = ("phase", "group_step", "lambda_avg", "proj_lr", "switch_step", "sgd_lr")


def _zero_process_group():
    """The process group over which a ``ZeroRedundancyOptimizer`` is building its
    caller, or None (also for a single process).

    ``torch.distributed.optim.ZeroRedundancyOptimizer`` builds one optimiser per rank on
    that rank's shard of every parameter group, and does not tell it so; its frame on
    the call stack does."""
    zero = sys.modules.get("torch.distributed.optim.zero_redundancy_optimizer")
    if zero is None:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, zero.ZeroRedundancyOptimizer):
            return owner.process_group if owner.world_size > 1 else None
        frame = frame.f_back
    return None


class SWATS(Optimizer):
    r"""SWATS: Adam until a projection says which SGD learning rate to use, then SGD with momentum.

    With :math:`\alpha` (``lr``), :math:`(\beta_1, \beta_2)` (``betas``), :math:`\varepsilon`
    (``eps``), switching tolerance :math:`\tau` (``switch_tol``, default :math:`\varepsilon`) and
    L2 coefficient :math:`\mu` (``weight_decay``), step :math:`k = 1, 2, \dots` of a parameter
    group, whose parameters are treated as *one* vector :math:`\theta`, is in the Adam phase

    .. math::

        g_k &\leftarrow \nabla L(\theta_{k-1}) + \mu\,\theta_{k-1} \\
        m_k &\leftarrow \beta_1 m_{k-1} + (1-\beta_1)\, g_k, \qquad
        a_k \leftarrow \beta_2 a_{k-1} + (1-\beta_2)\, g_k^2 \\
        p_k &\leftarrow -\alpha \frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k}
            \cdot \frac{m_k}{\sqrt{a_k} + \varepsilon}, \qquad
        \theta_k \leftarrow \theta_{k-1} + p_k \\
        \gamma_k &\leftarrow \frac{p_k^\top p_k}{-p_k^\top g_k}
        \quad (\text{if } p_k^\top g_k \ne 0),
        \qquad \lambda_k \leftarrow \beta_2 \lambda_{k-1} + (1-\beta_2)\, \gamma_k \\
        &\text{if } k > 1 \text{ and } \Big|\frac{\lambda_k}{1-\beta_2^k} - \gamma_k\Big| < \tau:
        \quad \text{switch, with } \Lambda \leftarrow \frac{\lambda_k}{1-\beta_2^k}

    and, from the step after the switch on, in the SGD phase (:math:`v` starts at 0)

    .. math::

        v_k \leftarrow \beta_1 v_{k-1} + g_k, \qquad
        \theta_k \leftarrow \theta_{k-1} - (1-\beta_1)\, \Lambda\, v_k

    :math:`\gamma_k` is the learning rate at which an SGD step along :math:`-g_k` has the same
    projection onto :math:`p_k` as the Adam step itself; :math:`\lambda_k` averages it, and the
    switch comes once the (bias-corrected) average agrees with the latest estimate. Each group
    decides on its own. Note that :math:`\varepsilon` is added to the raw :math:`\sqrt{a_k}`.
    A tensor that had no gradient at some steps uses its own step count in its bias corrections.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: Adam learning rate :math:`\alpha \ge 0` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)); :math:`\beta_1`
            is also the SGD momentum, :math:`\beta_2` also averages :math:`\gamma_k`.
        eps: :math:`\varepsilon \ge 0` of the Adam step (default 1e-9, the paper's).
        weight_decay: L2 coefficient :math:`\mu \ge 0`, added to the gradient (default 0).
        switch_tol: the tolerance :math:`\tau \ge 0` of the switching test; ``None`` (default)
            uses ``eps``, as the paper does. With :math:`\tau = 10^{-9}` the switch happens only
            when successive projections agree almost exactly, which on real (noisy) data may be
            never: use a looser value such as 1e-4 to see the switch.
        maximize: ascend the objective instead of descending it.
        foreach, capturable, differentiable, fused: torch's implementation switches,
            taken as ``torch.optim.Adam`` takes them and kept in the groups;
            ``foreach`` may take any value (there is one implementation), the others
            must stay off.

    Parameters may be complex: each is updated as the pair of reals of
    ``torch.view_as_real``, as torch's optimisers do (its real and imaginary parts are
    two coordinates of the projection).

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`a`)
    and, from the switch on, ``momentum_buffer`` (:math:`v`, zeros at the switch). Per
    group, written by SWATS and kept by ``state_dict``: ``phase`` (``"adam"`` or
    ``"sgd"``), ``group_step`` (:math:`k`), ``lambda_avg`` (:math:`\lambda_k`),
    ``proj_lr`` (the last :math:`\gamma_k`; NaN before the first, so that it is a float
    throughout and a compiled step is not compiled again when it gets its first value),
    ``switch_step`` (the :math:`k` of the switch, ``None`` before) and ``sgd_lr``
    (:math:`\Lambda`, ``None`` before). A param group passed in may not set them. After the
    switch the group's ``lr`` no longer acts (a scheduler changes nothing); to decay the SGD phase,
    scale ``group["sgd_lr"]``. Sparse gradients raise a RuntimeError. A non-finite gradient is not
    skipped: the entries it touches become NaN or infinite in the moments and the parameters; in
    the Adam phase it also makes :math:`\lambda_k` NaN, and that group then never switches.

    Under ``torch.compile`` the tensors' updates and the dot products are one graph;
    the group's bookkeeping (:math:`k`, :math:`\gamma_k`, :math:`\lambda_k`, the test)
    runs outside it, after every group is updated. The switch changes what a step does,
    so the SGD phase is compiled when it starts.

    Under ``torch.distributed.optim.ZeroRedundancyOptimizer`` each rank's SWATS holds a
    shard of every group. Its two dot products (and the count of tensors that had a
    gradient) are then summed over ZeRO's process group at every step before the
    switching test, so every rank makes the decision of the whole group, the one a
    single process makes (to the last bits of a sum in another order); the group's
    numbers are the same on every rank, so a consolidated checkpoint resumes exactly.
    Each rank takes part in every step's sum, even with no gradient in its shard.
    Other ways of sharding parameters (FSDP, DTensor) are not detected: there each
    rank would project its own shard only.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
        >>> opt = optlib.SWATS([theta], lr=0.03, switch_tol=1e-5)
        >>> for _ in range(100):
        ...     opt.zero_grad()
        ...     (theta[0] ** 2 + 3 * theta[1] ** 2).backward()
        ...     _ = opt.step()
        >>> group = opt.param_groups[0]
        >>> group["phase"], group["switch_step"], round(group["sgd_lr"], 4)
        ('sgd', 57, 0.0051)

    References:
        Keskar & Socher, *Improving Generalization Performance by Switching from Adam to SGD*,
        arXiv:1712.07628, 2017 (Algorithm 1).

    .. note::
       This class follows the paper's Algorithm 1; public implementations differ. In
       ``pytorch_optimizer`` (``SWATS``, as installed here), every tensor keeps its own running
       average of its *own* projection and is tested on its own, with a relative closeness test
       (``rtol=eps``) instead of :math:`|\cdot| < \varepsilon`, and only positive estimates count;
       if any tensor of a group passes, the whole group moves to SGD with the estimate of the last
       tensor that passed, written over the group's ``lr`` (so schedulers then act on it). Its
       default :math:`\varepsilon` is 1e-6, and it adds options the paper lacks (decoupled decay,
       an AMSGrad bound, Nesterov). Here the projection is the paper's: one vector per group, the
       absolute test against ``switch_tol``, and :math:`\Lambda` taken as it comes (it would be
       negative only if the Adam step were not a descent direction for :math:`g_k`).
    """

    sparse_message = "SWATS does not support sparse gradients"
    lazy_state_keys = ("momentum_buffer",)  # created at the switch
    extra_group_keys = _TRACKED
    #: the process group over which the parameters are sharded (ZeRO), or None
    _shards = None
    late_group_keys = TORCH_FLAG_DEFAULTS  # absent from checkpoints of earlier releases

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-9, weight_decay=0.0,
                 switch_tol=None, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        check_adam_hyper(lr, betas, eps, weight_decay)   # torch's Adam's checks, in its order
        check_bool(maximize, "maximize")
        check_torch_flags(type(self).__name__, None, foreach=foreach,
                          capturable=capturable, differentiable=differentiable,
                          fused=fused)
        if switch_tol is not None:
            check_nonnegative(switch_tol, "Invalid switch_tol value: {} (expected a value in "
                              "[0, inf) or None)", "switch_tol")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        switch_tol=switch_tol, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)
        self._shards = _zero_process_group()

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (torch's checks) and start it in the Adam phase."""
        given = [key for key in _TRACKED if key in param_group]
        if given:
            raise ValueError(f"SWATS sets the group keys {given} itself; do not pass them")
        super().add_param_group(param_group)
        self.param_groups[-1].update(phase="adam", group_step=0, lambda_avg=0.0,
                                     proj_lr=math.nan,
                                     switch_step=None, sgd_lr=None)

    def _init_state(self, p, state, group):
        state["step"] = self._new_step()
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _dots(self, p, g, chunk=2**18):
        """``(p·p, p·g)`` in float64: the product of two float32 numbers is exact in float64, so
        only the sums round. A tensor of more than ``chunk`` elements goes piece by piece, so that
        its float64 copies stay in the cache (a copy of a whole large tensor would cost more memory
        traffic than the Adam step itself).

        float64 tensors are read as they are, without copies. Under ``torch.compile``
        the two sums are 0-dim tensors of the graph: inductor computes them in a loop of
        their own that converts on the fly (nothing float64 is written to memory) but
        computes p_k there again, which costs about another Adam step (README,
        Performance, "SWATS's projection")."""
        if self._compiling:
            p64, g64 = p.to(torch.float64), g.to(torch.float64)
            return (p64 * p64).sum(), (p64 * g64).sum()
        if p.numel() > chunk:
            pp = pg = 0.0
            for p_part, g_part in zip(p.view(-1).split(chunk), g.reshape(-1).split(chunk)):
                part_pp, part_pg = self._dots(p_part, g_part, chunk)
                pp, pg = pp + part_pp, pg + part_pg
            return pp, pg
        if p.dtype == torch.float64:                # nothing to convert
            p64, g64 = p.reshape(-1), g.reshape(-1)
        else:
            p64 = self._scratch_like(p, torch.float64, slot=1).copy_(p).view(-1)
            g64 = self._scratch_like(g, torch.float64, slot=2).copy_(g).view(-1)
        return torch.dot(p64, p64).item(), torch.dot(p64, g64).item()

    def step(self, closure=None):
        """Update every group's parameters, then (outside a compiled graph, under
        ``torch.compile``) each Adam-phase group's projection and switching test; return
        the closure's loss."""
        self._projections = []                      # (tensors, pp, pg) per group
        loss = super().step(closure)
        projections, self._projections = self._projections, None
        if self._compiling:
            self._finish_eagerly(projections)
        else:
            self._finish(projections)
        return loss

    def _step_group(self, group, params):
        params = [theta for theta in params if theta.grad is not None]   # the others stay
        if not params and self._shards is None:     # (a shard always reports its sums)
            self._projections.append(None)
            return
        (beta1, beta2), mu = group["betas"], group["weight_decay"]
        grads = []
        for theta in params:
            g = self._checked_grad(theta)
            g = -g if group["maximize"] else g
            grads.append(g.add(theta, alpha=mu) if mu != 0 else g)        # g_k + mu theta

        if group["phase"] == "sgd":
            for theta, g in zip(params, grads):
                state = self._state_for(theta, group)
                self._advance(state)
                v = state.get("momentum_buffer")
                if v is None:                   # v_0 = 0 (else made at the switch)
                    v = state["momentum_buffer"] = torch.zeros_like(theta)
                v.mul_(self._const(beta1, v)).add_(g)                     # v_k = b1 v + g_k
                theta.add_(v, alpha=-(1 - beta1) * group["sgd_lr"])  # theta -= (1-b1) Lambda v_k
            self._projections.append((len(params), 0.0, 0.0))
            return

        root = torch.sqrt if self._compiling else math.sqrt  # (compiled: t, a tensor)
        pp = pg = 0.0                                   # p_k^T p_k and p_k^T g_k over the group
        for theta, g in zip(params, grads):
            state = self._state_for(theta, group)
            t = self._advance(state)                    # = k unless the tensor skipped steps
            m, a = state["exp_avg"], state["exp_avg_sq"]
            m.mul_(self._const(beta1, m)).add_(g, alpha=1 - beta1)        # m_k
            a.mul_(self._const(beta2, a)).addcmul_(g, g, value=1 - beta2)  # a_k
            step = -group["lr"] * root(1 - beta2 ** t) / (1 - beta1 ** t)
            p = torch.sqrt(a, out=self._scratch_like(a)).add_(self._const(group["eps"], a))
            torch.div(m, p, out=p).mul_(self._const(step, p))   # p_k = step m_k / (sqrt(a_k) + eps)
            theta.add_(p)                                                 # theta_k = theta + p_k
            p_dot_p, p_dot_g = self._dots(p, g)
            pp += p_dot_p
            pg += p_dot_g
        self._projections.append((len(params), pp, pg))

    def _finish(self, projections):
        """Each group's step after its tensors are updated: ``k`` and, in the Adam
        phase, gamma_k, lambda_k and the switching test, from ``pp`` = p_k^T p_k and
        ``pg`` = p_k^T g_k.

        ``projections`` holds, for each group in order, ``(tensors, pp, pg)``
        (``tensors``: how many had a gradient), or None for a group without gradients.
        Under ZeRO the numbers are first summed over the ranks, so that every rank sees
        the whole group's projection and makes the same decision."""
        if self._shards is not None and projections:
            sums = torch.tensor([list(map(float, numbers)) for numbers in projections],
                                dtype=torch.float64)
            torch.distributed.all_reduce(sums, group=self._shards)
            projections = sums.tolist()
        for group, numbers in zip(self.param_groups, projections):
            if numbers is None or numbers[0] == 0:  # no gradient (on any rank): no step
                continue
            _, pp, pg = numbers
            k = group["group_step"] = group["group_step"] + 1
            pp, pg = float(pp), float(pg)           # (tensors, under torch.compile)
            if group["phase"] == "sgd" or pg == 0:
                continue
            beta2 = group["betas"][1]
            gamma = group["proj_lr"] = pp / -pg                           # gamma_k
            lam = group["lambda_avg"] = beta2 * group["lambda_avg"] + (1 - beta2) * gamma
            estimate = lam / (1 - beta2 ** k)                             # lambda_k / (1 - b2^k)
            tol = group["eps"] if group["switch_tol"] is None else group["switch_tol"]
            if k > 1 and abs(estimate - gamma) < tol:
                group.update(phase="sgd", switch_step=k, sgd_lr=estimate)  # Lambda
                for theta in group["params"]:                             # v_0 = 0
                    state = self.state.get(theta)
                    if state and "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(theta)

    # Under torch.compile the bookkeeping runs outside the graph: it reads the dots'
    # values (a graph would have to stop there anyway) and changes the group's numbers
    # at every step (a graph that read them would be recompiled at every step).
    _finish_eagerly = torch.compiler.disable(_finish)
