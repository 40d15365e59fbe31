"""Small, offline data sets and models for the book's experiments.

Everything here is deterministic for a given ``seed`` and needs no download: the handwritten digits
ship inside scikit-learn (1,797 images of 8×8 pixels, 10 classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Digits", "load_digits", "mlp", "logistic_regression", "batches", "train", "evaluate"]


@dataclass(frozen=True)
class Digits:
    """The digits split into a training and a test part, as float tensors (pixels scaled to [0, 1])."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return 10


def load_digits(test_fraction: float = 0.25, seed: int = 0, dtype=torch.float32) -> Digits:
    """scikit-learn's digits, shuffled with ``seed`` and split; pixels divided by 16.

    Args:
        test_fraction: share of the 1,797 examples kept for testing, in (0, 1).
        seed: seed of the shuffle.
        dtype: floating dtype of the inputs.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Invalid test_fraction: {test_fraction} (expected a value in (0, 1))")
    from sklearn.datasets import load_digits as _sk_digits

    X, y = _sk_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order] / 16.0, y[order]
    n_test = int(round(test_fraction * len(y)))
    to_x = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    to_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return Digits(to_x(X[n_test:]), to_y(y[n_test:]), to_x(X[:n_test]), to_y(y[:n_test]))


def logistic_regression(n_features: int = 64, n_classes: int = 10, seed: int = 0) -> torch.nn.Module:
    """Multinomial logistic regression (one linear layer), initialised from ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Linear(n_features, n_classes)


def mlp(n_features: int = 64, hidden: int = 64, n_classes: int = 10, seed: int = 0,
        depth: int = 1) -> torch.nn.Module:
    """A small ReLU network with ``depth`` hidden layers of width ``hidden``, initialised from ``seed``."""
    if depth < 1 or hidden < 1:
        raise ValueError(f"Invalid depth/hidden: {depth}/{hidden} (both must be >= 1)")
    torch.manual_seed(seed)
    layers, width = [], n_features
    for _ in range(depth):
        layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    layers.append(torch.nn.Linear(width, n_classes))
    return torch.nn.Sequential(*layers)


def batches(n: int, batch_size: int, epochs: int, seed: int = 0, shuffle: bool = True):
    """Yield index tensors of mini-batches: ``epochs`` passes over ``range(n)``, reshuffled each pass."""
    if batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size} (must be >= 1)")
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
        yield from order.split(batch_size)


def train(model, optimizer, X, y, *, epochs: int, batch_size: int, seed: int = 0, scheduler=None,
          loss_fn=None, record_every: int = 1, shuffle: bool = True):
    """Mini-batch training; returns the mini-batch loss of every ``record_every``-th step.

    ``scheduler.step()`` (when given) is called after every optimiser step, so schedules here are
    counted in steps, not epochs.
    """
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    losses = []
    model.train()
    for k, idx in enumerate(batches(len(y), batch_size, epochs, seed, shuffle)):
        optimizer.zero_grad()
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if k % record_every == 0:
            losses.append(loss.item())
    return losses


@torch.no_grad()
def evaluate(model, X, y, loss_fn=None) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on ``X, y``."""
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    model.eval()
    out = model(X)
    return loss_fn(out, y).item(), (out.argmax(dim=1) == y).double().mean().item()
