"""optlab.sharpness: power iteration on Hessian-vector products, checked on quadratics."""

from __future__ import annotations

import doctest

import pytest
import torch

import optlab.sharpness
from optlab.sharpness import top_hessian_eigenvalue

F64 = torch.float64


def sum_squares(out, target):
    return ((out - target) ** 2).sum()


def linear_least_squares(seed=0, n=40, d=6):
    """A linear model (weight and bias) under a squared loss: Hessian 2 [X 1]^T [X 1], known exactly."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.2, 0.5, 1.0, 1.5, 2.0, 6.0], dtype=F64)[:d]      # one dominant direction
    X = torch.randn(n, d, generator=g, dtype=F64) * scales
    y = torch.randn(n, 1, generator=g, dtype=F64)
    model = torch.nn.Linear(d, 1).to(F64)
    A = torch.cat([X, torch.ones(n, 1, dtype=F64)], dim=1)
    eigenvalues = torch.linalg.eigvalsh(2 * A.T @ A)                  # ascending
    return model, X, y, eigenvalues


def test_matches_the_known_top_eigenvalue_of_a_quadratic():
    model, X, y, eig = linear_least_squares()
    assert eig[-1] / eig[-2] > 1.5                                    # a gap: power iteration converges
    got = top_hessian_eigenvalue(model, sum_squares, X, y, iters=60, seed=0)
    assert got == pytest.approx(eig[-1].item(), rel=1e-8)
    assert abs(got - eig[-2].item()) > 1.0                           # not the second one


def test_diagonal_quadratic_with_prescribed_spectrum():
    # loss = sum_i c_i w_i^2 has Hessian diag(2 c): eigenvalues chosen by hand
    c = torch.tensor([0.5, 4.0, 1.0, 2.5], dtype=F64)
    model = torch.nn.Linear(4, 1, bias=False).to(F64)
    loss = lambda out, target: (c * model.weight[0] ** 2).sum() + 0 * out.sum()  # noqa: E731
    X, y = torch.zeros(1, 4, dtype=F64), torch.zeros(1, 1, dtype=F64)
    assert top_hessian_eigenvalue(model, loss, X, y, iters=100) == pytest.approx(8.0, rel=1e-10)


def test_few_iterations_are_less_accurate_than_many():
    model, X, y, eig = linear_least_squares(seed=3)
    err = lambda k: abs(top_hessian_eigenvalue(model, sum_squares, X, y, iters=k) - eig[-1].item())  # noqa: E731
    assert err(60) < err(1)


def test_negative_eigenvalue_of_largest_magnitude_is_returned_with_its_sign():
    # loss = -3 w0^2 + w1^2: Hessian diag(-6, 2); the dominant eigenvalue is -6
    model = torch.nn.Linear(2, 1, bias=False).to(F64)
    loss = lambda out, target: -3 * model.weight[0, 0] ** 2 + model.weight[0, 1] ** 2 + 0 * out.sum()  # noqa: E731
    X, y = torch.zeros(1, 2, dtype=F64), torch.zeros(1, 1, dtype=F64)
    assert top_hessian_eigenvalue(model, loss, X, y, iters=80) == pytest.approx(-6.0, rel=1e-10)


def test_model_parameters_grads_and_global_rng_are_untouched():
    model, X, y, _ = linear_least_squares()
    before = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    top_hessian_eigenvalue(model, sum_squares, X, y, iters=5, seed=7)
    assert torch.equal(torch.rand(3), expected_next)
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p.detach(), b)
        assert p.grad is None


def test_deterministic_for_a_seed_and_seed_matters_after_few_iterations():
    model, X, y, _ = linear_least_squares()
    a = top_hessian_eigenvalue(model, sum_squares, X, y, iters=2, seed=1)
    b = top_hessian_eigenvalue(model, sum_squares, X, y, iters=2, seed=1)
    c = top_hessian_eigenvalue(model, sum_squares, X, y, iters=2, seed=2)
    assert a == b
    assert a != c


def test_works_on_a_float32_network():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    X, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    lam = top_hessian_eigenvalue(model, torch.nn.functional.cross_entropy, X, y, iters=150)
    # compare with the dense Hessian of the same loss as a function of the flat parameter vector
    shapes = [p.shape for p in model.parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()

    def loss_of(flat):
        out, k, h = X.double(), 0, None
        ws = []
        for s in shapes:
            n = s.numel()
            ws.append(flat[k:k + n].reshape(s))
            k += n
        h = torch.tanh(out @ ws[0].T + ws[1])
        return torch.nn.functional.cross_entropy(h @ ws[2].T + ws[3], y)

    H = torch.autograd.functional.hessian(loss_of, flat0)
    eig = torch.linalg.eigvalsh(H)
    dominant = eig[eig.abs().argmax()].item()
    assert lam == pytest.approx(dominant, rel=1e-4)


@pytest.mark.parametrize("iters", [0, -1, 2.5, True])
def test_bad_iters_is_rejected_with_its_name(iters):
    model, X, y, _ = linear_least_squares()
    with pytest.raises(ValueError, match="Invalid iters"):
        top_hessian_eigenvalue(model, sum_squares, X, y, iters=iters)


def test_non_scalar_loss_is_rejected():
    model, X, y, _ = linear_least_squares()
    with pytest.raises(ValueError, match="scalar"):
        top_hessian_eigenvalue(model, lambda out, t: (out - t) ** 2, X, y)


def test_model_without_trainable_parameters_is_rejected():
    model, X, y, _ = linear_least_squares()
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter"):
        top_hessian_eigenvalue(model, sum_squares, X, y)


def test_docstring_example():
    assert doctest.testmod(optlab.sharpness).failed == 0
