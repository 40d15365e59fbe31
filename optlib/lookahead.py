r"""Lookahead: slow weights that follow any optimiser's fast weights every k steps."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import torch

from ._base import Optimizer, check_in_range

__all__ = ["Lookahead"]


class Lookahead(torch.optim.Optimizer):
    r"""Lookahead: every k steps of an inner optimiser, pull slow weights towards the fast ones.

    The inner optimiser takes :math:`k` steps; the slow weights then move a fraction
    :math:`\alpha` of the way towards where it got, and the inner optimiser restarts from there.

    With the inner optimiser :math:`A` (``optimizer``, any ``torch.optim.Optimizer``), the
    synchronisation period :math:`k` (``k``) and the slow step size :math:`\alpha` (``alpha``),
    starting from :math:`\phi = \theta_0`, step :math:`t = 1, 2, \dots` is

    .. math::

        \theta_t &\leftarrow A(\theta_{t-1}) \quad\text{(one step of the inner optimiser)} \\
        \text{if } k \mid t: \quad
        \phi &\leftarrow \phi + \alpha\,(\theta_t - \phi), \qquad \theta_t \leftarrow \phi

    The fast weights :math:`\theta` explore for :math:`k` steps; the slow weights :math:`\phi` take
    one step of an exponential moving average along that exploration. :math:`\alpha = 1` recovers
    the inner optimiser, :math:`\alpha = 0` resets :math:`\theta` to :math:`\theta_0` every
    :math:`k` steps. The inner optimiser's own state (momentum, moments) is kept across
    synchronisations, as in the authors' default.

    ``param_groups`` *is* the inner optimiser's list (the same object), so learning-rate
    schedulers, ``add_param_group`` and hyper-parameter changes reach the inner optimiser.
    ``state`` holds the slow weights; the inner optimiser's state stays in ``optimizer.state``.

    .. note::
       The slow weights start at the parameters as they are when ``Lookahead`` is constructed,
       as in the paper's Algorithm 1 and the authors' code, which computes the synchronisation as
       :math:`\alpha\theta + (1-\alpha)\phi` (equal up to rounding). Some re-implementations create
       :math:`\phi` lazily at the first synchronisation, from the fast weights of that moment;
       their first synchronisation then does nothing. The authors' code also offers to reset or
       interpolate the inner momentum at a synchronisation ("pullback momentum"); its default, and
       optlib's only behaviour, leaves it alone.

    Args:
        optimizer: the inner optimiser (optlib or torch), already built on the parameters.
        k: synchronisation period :math:`k`, an integer :math:`\ge 1` (default 5).
        alpha: slow step size :math:`\alpha \in [0, 1]` (default 0.5).

    State: ``state[p]["slow_param"]`` (:math:`\phi`) for every parameter, created at
    construction (or by ``add_param_group``); ``inner_steps`` counts the inner steps.
    ``state_dict()`` holds the slow weights, the counter, :math:`k`, :math:`\alpha` and the inner
    optimiser's ``state_dict()``; ``load_state_dict`` restores all of them, so a run resumed
    between two synchronisations continues bit-identically. Non-finite gradients are the inner
    optimiser's business; a NaN that reaches the fast weights reaches the slow weights at the next
    synchronisation.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.Lookahead(optlib.SGD([theta], lr=0.1), k=2, alpha=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()  # SGD reached 0.64 * theta_0; phi = theta_0 + 0.5 (0.64 - 1) theta_0
        tensor([ 0.8200, -1.6400])

    References:
        Zhang, Lucas, Hinton & Ba, *Lookahead Optimizer: k steps forward, 1 step back*,
        NeurIPS 2019.
    """

    # optlib's wrapper of step(): torch's hooks and profiler label, without the Python label's cost
    profile_hook_step = staticmethod(Optimizer.profile_hook_step)

    def __init__(self, optimizer: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("optimizer must be a torch.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        _check_k_alpha(k, alpha)
        self.optimizer, self.k, self.alpha, self.inner_steps = optimizer, k, alpha, 0
        # torch's base class sets up the hooks and ``state`` and calls ``add_param_group`` for each
        # of the inner optimiser's groups, which here only creates their slow weights.
        super().__init__(optimizer.param_groups, optimizer.defaults)

    # The groups belong to the inner optimiser: read through to its (current) list.
    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, groups) -> None:
        # torch.optim.Optimizer.__init__ starts from an empty list; nothing else may replace them.
        if len(groups) != 0 and groups is not self.optimizer.param_groups:
            raise AttributeError("Lookahead.param_groups are the inner optimizer's; "
                                 "change optimizer.param_groups instead")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group to the inner optimiser; the slow weights of its parameters start at their
        current values."""
        if not any(param_group is group for group in self.optimizer.param_groups):
            self.optimizer.add_param_group(param_group)
        with torch.no_grad():
            for p in param_group["params"]:
                if p not in self.state:
                    self.state[p] = {"slow_param": p.detach().clone()}  # phi = theta

    def step(self, closure: Callable[[], float] | None = None):
        """One inner step (its closure's loss is returned); after every k-th, a synchronisation."""
        loss = self.optimizer.step(closure)                 # theta_t = A(theta_{t-1})
        self.inner_steps += 1
        if self.inner_steps % self.k == 0:
            self._synchronise()
        return loss

    @torch.no_grad()
    def _synchronise(self) -> None:
        for group in self.param_groups:
            for theta in group["params"]:
                phi = self.state[theta]["slow_param"]
                phi.add_(theta - phi, alpha=self.alpha)     # phi <- phi + alpha (theta - phi)
                theta.copy_(phi)                            # theta <- phi

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    # ----------------------------------------------------------------- checkpoints
    def _params(self) -> list[torch.Tensor]:
        """Every parameter once, numbered as torch numbers them in a state_dict."""
        seen, ordered = set(), []
        for group in self.param_groups:
            for p in group["params"]:
                if id(p) not in seen:
                    seen.add(id(p))
                    ordered.append(p)
        return ordered

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "slow_params": {i: self.state[p]["slow_param"] for i, p in enumerate(self._params())},
            "inner_steps": self.inner_steps,
            "k": self.k,
            "alpha": self.alpha,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        missing = sorted({"optimizer", "slow_params", "inner_steps", "k", "alpha"} - set(state_dict))
        if missing:
            raise ValueError(f"Lookahead.load_state_dict: the state_dict lacks the keys {missing} "
                             "(was it saved by another optimiser, not by Lookahead?)")
        params, slow = self._params(), state_dict["slow_params"]
        if len(slow) != len(params):
            raise ValueError(f"loaded state dict has {len(slow)} slow weights, "
                             f"but the optimizer has {len(params)} parameters")
        _check_k_alpha(state_dict["k"], state_dict["alpha"])
        self.optimizer.load_state_dict(state_dict["optimizer"])
        for i, p in enumerate(params):
            self.state[p] = {"slow_param": slow[i].to(device=p.device, dtype=p.dtype, copy=True)}
        self.inner_steps = int(state_dict["inner_steps"])
        self.k, self.alpha = state_dict["k"], state_dict["alpha"]

    # copy.deepcopy and pickle: keep the inner optimiser (torch's default keeps only the groups)
    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "optimizer": self.optimizer,
                "k": self.k, "alpha": self.alpha, "inner_steps": self.inner_steps}

    def __repr__(self) -> str:
        return f"optlib.Lookahead(k={self.k}, alpha={self.alpha}, optimizer={self.optimizer!r})"


def _check_k_alpha(k, alpha) -> None:
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"Invalid k: {k!r} (expected an integer >= 1)")
    if k < 1:
        raise ValueError(f"Invalid k: {k} (expected an integer >= 1)")
    check_in_range(alpha, "alpha", 0, 1, high_inclusive=True)
