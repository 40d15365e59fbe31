r"""Lookahead: slow weights that follow any optimiser's fast weights every k steps."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import torch

from ._base import Optimizer, check_in_range

__all__ = ["Lookahead"]

#: Lookahead's own numbers in its torch-shaped state_dict: the slow weights in the state
#: of each parameter; k, alpha and the step counter in every param group.
_SLOW = "slow_param"
_GROUP_KEYS = ("lookahead_k", "lookahead_alpha", "lookahead_step")
#: The keys of the state_dict that optlib's Lookahead wrote before (still loaded).
_OLD_KEYS = ("optimizer", "slow_params", "inner_steps", "k", "alpha")


class Lookahead(torch.optim.Optimizer):
    r"""Lookahead: every k inner steps, pull slow weights towards the fast ones.

    The inner optimiser takes :math:`k` steps; the slow weights then move a fraction
    :math:`\alpha` of the way towards where it got, and the inner optimiser restarts
    from there.

    With the inner optimiser :math:`A` (``optimizer``, any ``torch.optim.Optimizer``),
    the synchronisation period :math:`k` (``k``) and the slow step size :math:`\alpha`
    (``alpha``), starting from :math:`\phi = \theta_0`, step :math:`t = 1, 2, \dots` is

    .. math::

        \theta_t &\leftarrow A(\theta_{t-1})
            \quad\text{(one step of the inner optimiser)} \\
        \text{if } k \mid t: \quad
        \phi &\leftarrow \phi + \alpha\,(\theta_t - \phi),
            \qquad \theta_t \leftarrow \phi

    The fast weights :math:`\theta` explore for :math:`k` steps; the slow weights
    :math:`\phi` take one step of an exponential moving average along that exploration.
    :math:`\alpha = 1` recovers the inner optimiser, :math:`\alpha = 0` resets
    :math:`\theta` to :math:`\theta_0` every :math:`k` steps. The inner optimiser's own
    state (momentum, moments) is kept across synchronisations, as in the authors'
    default.

    ``param_groups`` *is* the inner optimiser's list (the same object), so learning-rate
    schedulers, ``add_param_group`` and hyper-parameter changes reach the inner
    optimiser. ``state`` holds the slow weights; the inner optimiser's state stays in
    ``optimizer.state``.

    .. note::
       :math:`\theta_0` is the parameters as they are at the first ``step()``, not when
       ``Lookahead`` is built: weights loaded into the model in between (a checkpoint,
       a pretrained network) are where the slow weights start, which is what the
       paper's Algorithm 1 and the authors' code mean by the start of training. Like a
       torch optimiser's state, the slow weights are created lazily. The authors compute
       the synchronisation as :math:`\alpha\theta + (1-\alpha)\phi` (equal up to
       rounding). Some re-implementations create :math:`\phi` at the first
       synchronisation instead, from the fast weights of that moment; their first
       synchronisation then does nothing. The authors' code also offers to reset or
       interpolate the inner momentum at a synchronisation ("pullback momentum"); its
       default, and optlib's only behaviour, leaves it alone.

    Args:
        optimizer: the inner optimiser (optlib or torch), already built on the
            parameters; not a ``Lookahead`` itself.
        k: synchronisation period :math:`k`, an integer :math:`\ge 1` (default 5).
        alpha: slow step size :math:`\alpha \in [0, 1]` (default 0.5).

    State: ``state[p]["slow_param"]`` (:math:`\phi`), created at the first step that
    ``p`` takes part in (for a group added by ``add_param_group``: the next step);
    ``inner_steps`` counts the inner steps.

    ``state_dict()`` has torch's shape, ``{"state": ..., "param_groups": ...}``, so that
    tools written for torch optimisers (``torch.distributed.checkpoint``, the state_dict
    hooks) work with it: the state of parameter :math:`i` is the inner optimiser's plus
    ``"slow_param"``, and every group is the inner optimiser's plus ``"lookahead_k"``,
    ``"lookahead_alpha"`` and ``"lookahead_step"`` (the counter). ``load_state_dict``
    restores all of them, so a run resumed between two synchronisations continues
    bit-identically; it also reads optlib's earlier format (``optimizer``,
    ``slow_params``, ``inner_steps``, ``k``, ``alpha``). The hooks registered with
    ``register_state_dict_pre_hook`` and its three siblings run as in torch.

    Non-finite gradients are the inner optimiser's business; a NaN that reaches the
    fast weights reaches the slow weights at the next synchronisation.

    Example:
        >>> import torch, optlib
        >>> theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = optlib.Lookahead(optlib.SGD([theta], lr=0.1), k=2, alpha=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (theta ** 2).sum().backward()
        ...     _ = opt.step()
        >>> theta.detach()  # SGD: 0.64 theta_0; phi = theta_0 + 0.5 (0.64 - 1) theta_0
        tensor([ 0.8200, -1.6400])

    References:
        Zhang, Lucas, Hinton & Ba, *Lookahead Optimizer: k steps forward, 1 step back*,
        NeurIPS 2019.
    """

    # optlib's wrapper of step(): torch's hooks and profiler label, without the cost of
    # torch's Python label
    profile_hook_step = staticmethod(Optimizer.profile_hook_step)

    def __init__(self, optimizer: torch.optim.Optimizer, k: int = 5,
                 alpha: float = 0.5):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("optimizer must be a torch.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        if isinstance(optimizer, Lookahead):
            raise TypeError("optimizer must not be a Lookahead itself (the two sets of "
                            "slow weights would collide in the state_dict)")
        _check_k_alpha(k, alpha)
        self.optimizer, self.k, self.alpha, self.inner_steps = optimizer, k, alpha, 0
        # torch's base class sets up the hooks and ``state`` and calls
        # ``add_param_group`` for each of the inner optimiser's groups (nothing to do).
        super().__init__(optimizer.param_groups, optimizer.defaults)

    # The groups belong to the inner optimiser: read through to its (current) list.
    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, groups) -> None:
        # torch.optim.Optimizer.__init__ starts from an empty list; nothing else may
        # replace them.
        if len(groups) != 0 and groups is not self.optimizer.param_groups:
            raise AttributeError("Lookahead.param_groups are the inner optimizer's; "
                                 "change optimizer.param_groups instead")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group to the inner optimiser; the slow weights of its parameters start
        where the parameters are at the next step."""
        if not any(param_group is group for group in self.optimizer.param_groups):
            self.optimizer.add_param_group(param_group)

    def step(self, closure: Callable[[], float] | None = None):
        """One inner step (its closure's loss is returned); after every k-th, a synchronisation."""
        self._start_slow_weights()                          # phi = theta_0, at first
        loss = self.optimizer.step(closure)                 # theta_t = A(theta_{t-1})
        self.inner_steps += 1
        if self.inner_steps % self.k == 0:
            self._synchronise()
        return loss

    @torch.no_grad()
    def _start_slow_weights(self) -> None:
        """phi = theta for every parameter that has no slow weights yet."""
        for group in self.param_groups:
            for theta in group["params"]:
                if theta not in self.state:
                    self.state[theta] = {_SLOW: theta.detach().clone()}

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
    def state_dict(self) -> dict:
        """The inner optimiser's state_dict with Lookahead's numbers added (see the
        class docstring); the hooks run as in torch's ``Optimizer.state_dict``."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        inner = self.optimizer.state_dict()
        state = {index: dict(s) for index, s in inner["state"].items()}
        for index, p in self._indexed_params(inner["param_groups"]):
            if p in self.state:
                state.setdefault(index, {})[_SLOW] = self.state[p][_SLOW]
        ours = dict(zip(_GROUP_KEYS, (self.k, self.alpha, self.inner_steps)))
        groups = [{**group, **ours} for group in inner["param_groups"]]
        state_dict = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load what :meth:`state_dict` wrote (or optlib's earlier Lookahead): the inner
        optimiser gets its part; the slow weights, k, alpha and the counter come back.
        The hooks run as in :meth:`torch.optim.Optimizer.load_state_dict`. A state_dict
        without Lookahead's part raises ``ValueError`` and changes nothing."""
        if not isinstance(state_dict, dict):
            raise TypeError("Lookahead.load_state_dict: state_dict must be a dict, "
                            f"got {type(state_dict).__name__}")
        state_dict = state_dict.copy()                  # shallow, as torch's
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        if "state" not in state_dict and any(key in state_dict for key in _OLD_KEYS):
            state_dict = _from_old_format(state_dict)
        inner, slow, (k, alpha, steps) = self._split(state_dict)
        _check_k_alpha(k, alpha)
        self.optimizer.load_state_dict(inner)
        self.state.clear()
        for index, p in self._indexed_params(inner["param_groups"]):
            if index in slow:
                self.state[p] = {_SLOW: slow[index].to(device=p.device, dtype=p.dtype,
                                                       copy=True)}
        self.k, self.alpha, self.inner_steps = k, alpha, int(steps)
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def _indexed_params(self, saved_groups) -> list[tuple[object, torch.Tensor]]:
        """(key in a state_dict, parameter) pairs: saved and current groups side by
        side, as torch matches them."""
        pairs = []
        for saved, group in zip(saved_groups, self.param_groups):
            pairs += zip(saved["params"], group["params"])
        return pairs

    def _split(self, state_dict: dict):
        """(the inner's state_dict, slow weights by key, (k, alpha, counter))."""
        missing = sorted({"state", "param_groups"} - set(state_dict))
        if missing:
            raise ValueError("Lookahead.load_state_dict: the state_dict lacks the "
                             f"keys {missing} (it has {sorted(state_dict)})")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("Lookahead.load_state_dict: loaded state dict has a "
                             "different number of parameter groups")
        values = []
        for i, group in enumerate(groups):
            missing = sorted(set(_GROUP_KEYS) - set(group))
            if missing:
                raise ValueError(
                    f"Lookahead.load_state_dict: param group {i} lacks the keys "
                    f"{missing} (was the state_dict saved by the inner optimiser, not "
                    "by Lookahead?)")
            values.append(tuple(group[key] for key in _GROUP_KEYS))
        if any(v != values[0] for v in values):
            raise ValueError("Lookahead.load_state_dict: the param groups disagree on "
                             f"{list(_GROUP_KEYS)}: {values}")
        slow, inner_state = {}, {}
        for key, saved in state_dict["state"].items():
            if _SLOW in saved:
                slow[key] = saved[_SLOW]
            rest = {name: v for name, v in saved.items() if name != _SLOW}
            if rest:
                inner_state[key] = rest
        inner_groups = [{name: v for name, v in group.items()
                         if name not in _GROUP_KEYS} for group in groups]
        return {"state": inner_state, "param_groups": inner_groups}, slow, values[0]

    # copy.deepcopy and pickle: keep the inner optimiser (torch's default keeps only the
    # groups)
    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state,
                "optimizer": self.optimizer, "k": self.k, "alpha": self.alpha,
                "inner_steps": self.inner_steps}

    def __repr__(self) -> str:
        return (f"optlib.Lookahead(k={self.k}, alpha={self.alpha}, "
                f"optimizer={self.optimizer!r})")


def _from_old_format(old: dict) -> dict:
    """optlib's earlier Lookahead state_dict, rewritten in today's shape."""
    missing = sorted(set(_OLD_KEYS) - set(old))
    if missing:
        raise ValueError("Lookahead.load_state_dict: the state_dict lacks the keys "
                         f"{missing} (was it saved by another optimiser, not by "
                         "Lookahead?)")
    inner, slow = old["optimizer"], old["slow_params"]
    keys = [key for group in inner["param_groups"] for key in group["params"]]
    if len(slow) != len(keys):
        raise ValueError(f"loaded state dict has {len(slow)} slow weights, "
                         f"but the optimizer has {len(keys)} parameters")
    state = {key: dict(s) for key, s in inner["state"].items()}
    for position, key in enumerate(keys):          # slow_params were numbered 0, 1, ...
        state.setdefault(key, {})[_SLOW] = slow[position]
    ours = dict(zip(_GROUP_KEYS, (old["k"], old["alpha"], old["inner_steps"])))
    return {"state": state,
            "param_groups": [{**group, **ours} for group in inner["param_groups"]]}


def _check_k_alpha(k, alpha) -> None:
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"Invalid k: {k!r} (expected an integer >= 1)")
    if k < 1:
        raise ValueError(f"Invalid k: {k} (expected an integer >= 1)")
    check_in_range(alpha, "alpha", 0, 1, high_inclusive=True)
