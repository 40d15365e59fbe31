r"""The shape of the loss around a trained network: the measures chapter 3 compares.

:func:`optlab.sharpness.top_hessian_eigenvalue` gives the curvature of the sharpest
direction. This module adds what a fair comparison of two minima needs besides it:

- :func:`hessian_trace`, the sum of all curvatures, by Hutchinson's estimator
  :math:`\operatorname{tr} H = \mathbb{E}[v^\top H v]` over random sign vectors
  :math:`v` (entries :math:`\pm 1`), each term one Hessian-vector product;
- :func:`filter_normalized_direction`, a random direction scaled filter by filter to the
  norms of the weights it perturbs (Li et al. 2018), so that profiles of networks whose
  weights have different scales can be set side by side; one-dimensional parameters
  (biases, normalisation gains) are not perturbed, as in the paper;
- :func:`loss_along`, the loss at :math:`\theta + \alpha d` for a list of
  :math:`\alpha`, the weights put back afterwards;
- :func:`train_to_loss`, training that stops once the full training loss reaches a
  target, so that two optimisers are compared at the same training loss instead of at
  the same step (sharpness grows as the loss falls for cross-entropy, so points of
  different losses cannot be compared); :func:`train_workload_to_loss` does the same
  for a problem built from one of optlab's workloads, measured on its fixed training
  subset (:func:`split_loss`).

Hessian-vector products differentiate the gradient once more. The fused CPU kernels
of ``scaled_dot_product_attention`` have no such second derivative, so the products
here run under :func:`hvp_context` (from :mod:`optlab.sharpness`), which selects its
plain (math) kernel.

References:
    Hutchinson, *A stochastic estimator of the trace of the influence matrix for
    Laplacian smoothing splines*, 1989. Li, Xu, Taylor, Studer and Goldstein,
    *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018.
"""

from __future__ import annotations

import json
import math
from numbers import Integral
from pathlib import Path

import numpy as np
import torch

from . import data as data_mod
from .sharpness import hvp_context

__all__ = [
    "STUDY",
    "filter_normalized_direction",
    "hessian_trace",
    "load_study",
    "loss_along",
    "study_profiles",
    "summarise_study",
    "hvp_context",
    "split_loss",
    "train_to_loss",
    "train_workload_to_loss",
]

#: where ``scripts/geometry_study.py`` writes its measurements (chapter 3 reads them)
STUDY = Path(__file__).resolve().parents[1] / "results" / "geometry.json"


def _params(model: torch.nn.Module) -> list[torch.Tensor]:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameter that requires a gradient")
    return params


def _check_count(value, name: str) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (expected an int >= 1)")


def _generator(seed) -> torch.Generator:
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return torch.Generator().manual_seed(int(seed))


def hessian_trace(model, loss_fn, X, y, samples: int = 20, seed: int = 0) -> float:
    r"""Hutchinson's estimate of :math:`\operatorname{tr}\nabla^2 L` for
    ``L = loss_fn(model(X), y)``: the mean of :math:`v^\top H v` over ``samples``
    random sign vectors (seeded by ``seed``; the global random state is not touched).

    The estimate is unbiased; its standard error falls as
    :math:`1/\sqrt{\text{samples}}`. The model's parameters, gradients and mode are
    left as they were.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 1, bias=False).double()
        >>> X = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
        >>> sq = lambda out, target: ((out - target) ** 2).sum()  # H = diag(18, 2)
        >>> hessian_trace(model, sq, X, torch.zeros(2, 1, dtype=torch.float64))
        20.0
    """
    params = _params(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    _check_count(samples, "samples")
    gen = _generator(seed)
    with torch.enable_grad(), hvp_context():
        loss = loss_fn(model(X), y)
        if loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar, got {tuple(loss.shape)}")
        grads = torch.autograd.grad(loss, params, create_graph=True)
        total = 0.0
        for k in range(samples):
            signs = [
                (torch.randint(0, 2, p.shape, generator=gen) * 2 - 1).to(p)
                for p in params
            ]
            hv = torch.autograd.grad(grads, params, grad_outputs=signs,
                                     retain_graph=k < samples - 1)
            total += sum(float((s * h).sum()) for s, h in zip(signs, hv))
    return total / samples


def filter_normalized_direction(model, seed: int = 0) -> list[torch.Tensor]:
    """A random direction for ``model``'s parameters, one tensor per parameter.

    Each tensor of two or more dimensions is drawn from a standard normal and rescaled
    so that every filter (the slice along dimension 0: an output channel of a
    convolution, an output unit of a linear layer) has the norm of the weights it
    perturbs; one-dimensional parameters get zeros (Li et al. 2018, section 4)."""
    gen = _generator(seed)
    out = []
    for p in _params(model):
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p)
        d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        w_norm = p.detach().flatten(1).norm(dim=1)
        shape = (-1,) + (1,) * (p.dim() - 1)
        out.append(d * (w_norm / d_norm).reshape(shape))
    return out


@torch.no_grad()
def loss_along(model, loss_fn, X, y, direction, alphas) -> np.ndarray:
    r"""``loss_fn(model(X), y)`` at :math:`\theta + \alpha d` for each ``alpha``, in
    evaluation mode; the weights and the mode are restored afterwards."""
    params = _params(model)
    direction = list(direction)
    if len(direction) != len(params) or any(
        d.shape != p.shape for d, p in zip(direction, params)
    ):
        raise ValueError("direction must hold one tensor of each parameter's shape")
    start = [p.detach().clone() for p in params]
    was_training = model.training
    model.eval()
    losses = []
    try:
        for alpha in alphas:
            for p, p0, d in zip(params, start, direction):
                p.copy_(p0 + float(alpha) * d)
            losses.append(float(loss_fn(model(X), y)))
    finally:
        for p, p0 in zip(params, start):
            p.copy_(p0)
        model.train(was_training)
    return np.array(losses)


def train_to_loss(model, optimizer, X, y, target: float, *, batch_size: int,
                  max_epochs: int, seed: int = 0, loss_fn=None) -> dict:
    """Train epoch by epoch until the full training loss is at most ``target``.

    Each epoch draws its own order of mini-batches (from ``seed`` and the epoch).
    Returns ``{"reached": bool, "epochs": int, "steps": int, "loss": float}``: the
    training loss measured after the last epoch run, in evaluation mode."""
    if not isinstance(target, (int, float)) or isinstance(target, bool) or target <= 0:
        raise ValueError(f"Invalid target: {target!r} (expected a loss > 0)")
    _check_count(max_epochs, "max_epochs")
    _check_count(batch_size, "batch_size")
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    steps, loss = 0, float("inf")
    for epoch in range(1, max_epochs + 1):
        curve = data_mod.train(model, optimizer, X, y, epochs=1, batch_size=batch_size,
                               seed=seed * 100_003 + epoch, loss_fn=loss_fn)
        steps += len(curve)
        loss = data_mod.evaluate(model, X, y, loss_fn)[0]
        model.train()
        if not np.isfinite(loss) or loss <= target:
            break
    return {"reached": bool(loss <= target), "epochs": epoch, "steps": steps,
            "loss": float(loss)}


def _token_cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1))


def split_loss(problem, split: str = "train"):
    """``(loss_fn, X, y)`` with ``loss_fn(model(X), y)`` the mean cross-entropy (in
    nats) of a classification or language-model problem of :mod:`optlab.workloads` on
    one of its fixed evaluation sets: ``"train"`` (a fixed training subset of the test
    set's size), ``"val"`` or ``"test"``. For the language model, X holds the
    windows' first 64 characters and y the next character at each place."""
    splits = getattr(problem, "splits", None)
    if not isinstance(splits, dict) or split not in splits:
        raise ValueError(f"split must be one of {sorted(splits or [])} of a "
                         f"classification or language-model problem, got {split!r}")
    part = splits[split]
    if isinstance(part, tuple):
        return torch.nn.functional.cross_entropy, part[0], part[1]
    if torch.is_tensor(part) and part.dim() == 2:
        return _token_cross_entropy, part[:, :-1], part[:, 1:]
    raise ValueError("split_loss handles classification and language-model problems")


@torch.no_grad()
def _eval_loss(model, loss_fn, X, y) -> float:
    was_training = model.training
    model.eval()
    try:
        return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)


def train_workload_to_loss(problem, optimizer, target: float, *, every: int,
                           max_steps: int) -> dict:
    """Run ``problem.train_step`` until the loss on its fixed training subset
    (:func:`split_loss`, evaluation mode) is at most ``target``, checked every
    ``every`` steps, or until ``max_steps``. Returns ``{"reached": bool, "steps": int,
    "loss": float}``, the loss of the last check."""
    if not isinstance(target, (int, float)) or isinstance(target, bool) or target <= 0:
        raise ValueError(f"Invalid target: {target!r} (expected a loss > 0)")
    _check_count(every, "every")
    _check_count(max_steps, "max_steps")
    loss_fn, X, y = split_loss(problem, "train")
    model = problem.models[0]
    step, loss = 0, math.inf
    for step in range(1, max_steps + 1):
        problem.train_step([optimizer], step)
        if step % every == 0 or step == max_steps:
            loss = _eval_loss(model, loss_fn, X, y)
            if not math.isfinite(loss) or loss <= target:
                break
    return {"reached": bool(loss <= target), "steps": step, "loss": float(loss)}


def load_study(path=STUDY) -> dict:
    """The measurements of ``scripts/geometry_study.py``: ``settings``, ``code`` and
    ``runs`` (key ``"variant/optimiser/seed"`` -> what :func:`train_to_loss` returned
    and what was measured there)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not {"settings", "runs"} <= set(doc):
        raise ValueError(f"{path} is not a geometry study (no settings or runs)")
    return doc


def _grouped(doc: dict) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = {}
    for key, run in doc["runs"].items():
        variant, label, _seed = key.split("/")
        out.setdefault(variant, {}).setdefault(label, []).append(run)
    return out


def summarise_study(doc: dict, metrics) -> dict[str, dict[str, dict]]:
    """variant -> optimiser -> metric -> (mean, low, high), the 95 % Student-t interval
    over the seeds (:func:`optlab.protocol.t_interval`); ``n`` holds the seed count."""
    from .protocol import t_interval

    out = {}
    for variant, by_label in _grouped(doc).items():
        out[variant] = {}
        for label, runs in by_label.items():
            row = {m: tuple(float(x) for x in t_interval([r[m] for r in runs]))
                   for m in metrics}
            row["n"] = len(runs)
            out[variant][label] = row
    return out


def study_profiles(doc: dict) -> dict[str, dict[str, np.ndarray]]:
    """variant -> optimiser -> array (runs x directions, alphas) of the loss profiles."""
    return {
        variant: {label: np.array([r["profiles"] for r in runs])
                  for label, runs in by_label.items()}
        for variant, by_label in _grouped(doc).items()
    }
