"""Small, offline data sets and models for the book's experiments.

Everything here is deterministic for a given ``seed`` and needs no download: the handwritten digits
ship inside scikit-learn (1,797 images of 8×8 pixels, 10 classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch

from optlib._base import _require_real

__all__ = ["Digits", "load_digits", "mlp", "logistic_regression", "batches", "train", "evaluate"]


def _check_int(value, name: str, low: int) -> None:
    """An integer (not a bool) >= ``low``, else an error that names the argument."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"Invalid {name}: {value} (expected an integer >= {low})")


def _check_pair(X, y) -> None:
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")


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
    _require_real(test_fraction, "test_fraction")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Invalid test_fraction: {test_fraction} (expected a value in (0, 1))")
    _check_int(seed, "seed", 0)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    from sklearn.datasets import load_digits as _sk_digits

    X, y = _sk_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order] / 16.0, y[order]
    n_test = int(round(test_fraction * len(y)))
    if not 0 < n_test < len(y):
        raise ValueError(f"Invalid test_fraction: {test_fraction} (leaves {n_test} of {len(y)} "
                         "examples for testing; both parts must be non-empty)")
    to_x = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    to_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return Digits(to_x(X[n_test:]), to_y(y[n_test:]), to_x(X[:n_test]), to_y(y[:n_test]))


def logistic_regression(n_features: int = 64, n_classes: int = 10, seed: int = 0) -> torch.nn.Module:
    """Multinomial logistic regression (one linear layer), initialised from ``seed``."""
    _check_int(n_features, "n_features", 1)
    _check_int(n_classes, "n_classes", 1)
    _check_int(seed, "seed", 0)
    torch.manual_seed(seed)
    return torch.nn.Linear(n_features, n_classes)


def mlp(n_features: int = 64, hidden: int = 64, n_classes: int = 10, seed: int = 0,
        depth: int = 1) -> torch.nn.Module:
    """A small ReLU network with ``depth`` hidden layers of width ``hidden``, initialised from ``seed``."""
    for name, value in (("n_features", n_features), ("hidden", hidden), ("n_classes", n_classes),
                        ("depth", depth)):
        _check_int(value, name, 1)
    _check_int(seed, "seed", 0)
    torch.manual_seed(seed)
    layers, width = [], n_features
    for _ in range(depth):
        layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    layers.append(torch.nn.Linear(width, n_classes))
    return torch.nn.Sequential(*layers)


def batches(n: int, batch_size: int, epochs: int, seed: int = 0, shuffle: bool = True):
    """Yield index tensors of mini-batches: ``epochs`` passes over ``range(n)``, reshuffled each pass.

    The arguments are checked when this is called, before the first batch is asked for."""
    _check_int(n, "n", 0)
    _check_int(batch_size, "batch_size", 1)
    _check_int(epochs, "epochs", 0)
    _check_int(seed, "seed", 0)
    return _batches(n, batch_size, epochs, seed, shuffle)


def _batches(n, batch_size, epochs, seed, shuffle):
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
    if not all(callable(getattr(optimizer, m, None)) for m in ("step", "zero_grad")):
        raise TypeError("optimizer must have step() and zero_grad() (a torch.optim.Optimizer or a "
                        f"wrapper of one), got {type(optimizer).__name__}")
    _check_pair(X, y)
    _check_int(record_every, "record_every", 1)
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
    _check_pair(X, y)
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    model.eval()
    out = model(X)
    return loss_fn(out, y).item(), (out.argmax(dim=1) == y).double().mean().item()
