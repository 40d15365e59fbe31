r"""Smith's learning-rate range test (fastai's ``lr_find``), for any optimiser."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from ._base import _require_real

__all__ = ["lr_range_test", "LRRangeTestResult"]

#: base_lr is where the smoothed loss has covered this fraction of its total fall
_BASE_DROP = 0.1


@dataclass
class LRRangeTestResult:
    """What :func:`lr_range_test` measured: one entry per mini-batch that was run.

    Attributes:
        lrs: the learning rate used at each step.
        losses: the raw mini-batch loss at each step (before that step's update).
        smoothed_losses: the bias-corrected exponential moving average of ``losses``.
        suggestion: ``(base_lr, max_lr)`` for :class:`optlib.CyclicLR`, or ``None`` when the
            smoothed loss never fell below its first value.
        best_lr: the learning rate at the minimum of the smoothed loss (``max_lr``); ``None``
            when no loss was finite.
        steepest_lr: where, between ``base_lr`` and ``max_lr``, the smoothed loss falls fastest
            per unit of :math:`\\log \\eta` (``None`` without a suggestion).
        stopped_early: whether the sweep stopped because the loss diverged.
    """

    lrs: list[float]
    losses: list[float]
    smoothed_losses: list[float]
    suggestion: tuple[float, float] | None
    best_lr: float | None
    steepest_lr: float | None
    stopped_early: bool


def _sweep(start_lr, end_lr, num_iter, step_mode):
    """The learning rates of the sweep: geometric (``'exp'``) or arithmetic (``'linear'``)."""
    if step_mode == "exp":
        return [start_lr * (end_lr / start_lr) ** (i / (num_iter - 1)) for i in range(num_iter)]
    return [start_lr + (end_lr - start_lr) * i / (num_iter - 1) for i in range(num_iter)]


def _batches_forever(batches):
    """Yield from ``batches`` without end: re-iterate it (a DataLoader reshuffles), or replay
    what a one-shot iterator (a generator) yielded."""
    source = batches
    if iter(batches) is batches:                 # one-shot: remember its items as they come
        source = []
        for item in batches:
            source.append(item)
            yield item
    while True:
        empty = True
        for item in source:
            empty = False
            yield item
        if empty:
            raise ValueError("batches is empty: it must yield at least one (x, y) pair")


def _suggest(lrs, smooth):
    """Smith's reading of the curve: max_lr where the loss stops falling (its minimum), base_lr
    where it has started to fall (covered ``_BASE_DROP`` of its total fall); steepest_lr where it
    falls fastest in between. Returns (suggestion, best_lr, steepest_lr)."""
    finite = [i for i, s in enumerate(smooth) if math.isfinite(s)]
    if not finite:
        return None, None, None
    i_min = min(finite, key=lambda i: smooth[i])
    fall = smooth[0] - smooth[i_min]
    if i_min == 0 or fall <= 0:
        return None, lrs[i_min], None
    i_base = next(i for i in range(i_min + 1) if smooth[0] - smooth[i] >= _BASE_DROP * fall)
    i_base = min(i_base, i_min - 1)
    # slope of the smoothed loss against log(lr), between base and max
    slopes = {i: (smooth[i + 1] - smooth[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
              for i in range(i_base, i_min)}
    i_steep = min(slopes, key=slopes.__getitem__)
    return (lrs[i_base], lrs[i_min]), lrs[i_min], lrs[i_steep]


def lr_range_test(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                  batches: Iterable, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_iter: int = 100, step_mode: str = "exp", beta: float = 0.95,
                  diverge_th: float = 4.0) -> LRRangeTestResult:
    r"""Smith's learning-rate range test: train briefly while the lr grows, watch the loss.

    Step :math:`i = 0, \dots, N-1` (:math:`N` = ``num_iter``) trains on one mini-batch with
    every group's learning rate set to

    .. math::

        \eta_i = \eta_{\text{start}} \left(\frac{\eta_{\text{end}}}{\eta_{\text{start}}}
                 \right)^{i/(N-1)} \ (\text{'exp'})
        \quad\text{or}\quad
        \eta_i = \eta_{\text{start}} + (\eta_{\text{end}} - \eta_{\text{start}})\,\frac{i}{N-1}
                 \ (\text{'linear'}),

    records the loss :math:`\ell_i` and its smoothed value :math:`\bar\ell_i = a_i/(1-\beta^{i+1})`,
    :math:`a_i = \beta a_{i-1} + (1-\beta)\ell_i` (fastai's debiased moving average), and stops
    early once :math:`\bar\ell_i >` ``diverge_th`` :math:`\cdot \min_{j \le i} \bar\ell_j` or
    the loss is not finite. Afterwards the model (parameters, buffers, gradients, train/eval
    mode), the optimiser (its whole ``state_dict``, whatever its state holds) and torch's CPU
    random generator are exactly as before the call.

    The suggestion follows Smith (2017, section 3.3): ``max_lr`` is where the smoothed loss stops
    falling (its minimum, also ``best_lr``); ``base_lr`` where it has clearly started to fall
    (the first step at which it has covered 10 % of its total fall). Because the average lags,
    ``max_lr`` sits at the edge of divergence; a cautious ``max_lr`` is a few times smaller.

    Args:
        model: the network; ``loss_fn(model(x), y)`` must return a scalar tensor.
        optimizer: any ``torch.optim.Optimizer`` over the model's parameters (optlib or torch).
        loss_fn: e.g. ``torch.nn.functional.mse_loss``.
        batches: an iterable of ``(x, y)`` pairs, started again when shorter than ``num_iter``.
        start_lr, end_lr: the sweep's range, ``0 < start_lr < end_lr`` (defaults 1e-7 and 10).
        num_iter: number of mini-batches (an integer >= 2, default 100).
        step_mode: ``'exp'`` (default) or ``'linear'``.
        beta: smoothing factor in [0, 1) (default 0.95, as torch-lr-finder; fastai uses 0.98,
            whose longer memory moves the minimum further right; 0 means no smoothing).
        diverge_th: divergence threshold > 1 (default 4).

    Returns:
        an :class:`LRRangeTestResult`.

    Example:
        Estimate a mean with mini-batch SGD: the loss :math:`(w - y)^2` has curvature 2, so
        gradient descent diverges for :math:`\eta > 1`.

        >>> import torch, optlib
        >>> _ = torch.manual_seed(0)
        >>> y = 3.0 + torch.randn(256, 1)
        >>> batches = [(torch.ones(16, 1), y[i:i + 16]) for i in range(0, 256, 16)]
        >>> model = torch.nn.Linear(1, 1, bias=False)
        >>> opt = optlib.SGD(model.parameters(), lr=0.01)
        >>> res = optlib.lr_range_test(model, opt, torch.nn.functional.mse_loss, batches,
        ...                            start_lr=1e-4, end_lr=100.0, num_iter=100)
        >>> res.stopped_early, len(res.lrs), [round(lr, 3) for lr in res.suggestion]
        (True, 73, [0.023, 1.52])

    References:
        Smith, *Cyclical Learning Rates for Training Neural Networks*, WACV 2017, section 3.3;
        Howard & Gugger, *fastai: A Layered API for Deep Learning*, 2020 (``lr_find``).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(batches, Iterable) and not hasattr(batches, "__getitem__"):
        raise TypeError(f"batches must be an iterable of (x, y) pairs, got {type(batches).__name__}")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        _require_real(value, name)
        if not 0.0 < value < math.inf:
            raise ValueError(f"Invalid {name}: {value} (expected a finite value > 0)")
    if not end_lr > start_lr:
        raise ValueError(f"Invalid end_lr: {end_lr} (expected a value > start_lr = {start_lr})")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise ValueError(f"Invalid num_iter: {num_iter} (expected an integer >= 2)")
    if step_mode not in ("exp", "linear"):
        raise ValueError(f"Invalid step_mode: {step_mode!r} (expected 'exp' or 'linear')")
    _require_real(beta, "beta")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Invalid beta: {beta} (expected a value in [0, 1))")
    _require_real(diverge_th, "diverge_th")
    if not 1.0 < diverge_th < math.inf:
        raise ValueError(f"Invalid diverge_th: {diverge_th} (expected a finite value > 1)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")

    # snapshot everything the sweep touches, to put it back bit for bit afterwards
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    # torch's load_state_dict re-creates containers in the state (and would turn a tuple into a
    # generator); keep an exact copy of the state itself too, keyed by the same parameters
    params = [p for group in optimizer.param_groups for p in group["params"]]
    raw_state = copy.deepcopy(optimizer.state, memo={id(p): p for p in params})
    grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    was_training = model.training

    lrs, losses, smooth = [], [], []
    stopped_early, avg, best = False, 0.0, math.inf
    try:
        with torch.random.fork_rng(devices=[]):
            model.train()
            data = _batches_forever(batches)
            for i, lr in enumerate(_sweep(start_lr, end_lr, num_iter, step_mode)):
                item = next(data)
                if not isinstance(item, (tuple, list)) or len(item) != 2:
                    what = type(item).__name__
                    if isinstance(item, (tuple, list)):
                        what += f" of {len(item)} items"
                    raise TypeError(f"batches must yield (x, y) pairs, got a {what}")
                x, y = item
                for group in optimizer.param_groups:
                    if isinstance(group["lr"], torch.Tensor):
                        group["lr"].fill_(lr)
                    else:
                        group["lr"] = lr
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
                avg = beta * avg + (1 - beta) * value
                smoothed = avg / (1 - beta ** (i + 1))
                lrs.append(lr), losses.append(value), smooth.append(smoothed)
                if not math.isfinite(smoothed) or smoothed > diverge_th * best:
                    stopped_early = i < num_iter - 1
                    break
                best = min(best, smoothed)
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        optimizer.state.clear()
        optimizer.state.update(raw_state)
        for p, g in zip(model.parameters(), grads):
            p.grad = g
        model.train(was_training)

    suggestion, best_lr, steepest_lr = _suggest(lrs, smooth)
    return LRRangeTestResult(lrs=lrs, losses=losses, smoothed_losses=smooth, suggestion=suggestion,
                             best_lr=best_lr, steepest_lr=steepest_lr, stopped_early=stopped_early)
