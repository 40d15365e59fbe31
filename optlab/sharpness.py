r"""Sharpness of a minimum: the top eigenvalue of the training loss's Hessian.

A flat minimum has small curvature in every direction, a sharp one has at least one direction of
large curvature. The largest eigenvalue :math:`\lambda_{\max}` of the Hessian
:math:`H = \nabla^2 L(\theta)` measures the sharpest direction. It is found here by power iteration,

.. math::

    u_{k+1} = \frac{H u_k}{\lVert H u_k \rVert}, \qquad \lambda \approx u_k^\top H u_k ,

and :math:`H u` is computed without ever forming :math:`H`, by differentiating
:math:`\nabla L(\theta)^\top u` once more (a Hessian-vector product, Pearlmutter 1994).
"""

from __future__ import annotations

from numbers import Integral

import torch

__all__ = ["hvp_context", "top_hessian_eigenvalue"]


def hvp_context():
    """A context in which Hessian-vector products work for attention layers too: it
    restricts ``scaled_dot_product_attention`` to its math kernel, the one with a
    second derivative (its fused CPU kernels have none). Other layers are unaffected."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.MATH])


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def top_hessian_eigenvalue(model: torch.nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor,
                           iters: int = 20, seed: int = 0) -> float:
    r"""The eigenvalue of largest magnitude of the Hessian of ``loss_fn(model(X), y)``.

    Power iteration on Hessian-vector products over all parameters of ``model`` that require a
    gradient (viewed as one vector). At a minimum the Hessian is positive semi-definite and the
    result is :math:`\lambda_{\max}`; elsewhere, if a negative eigenvalue has the largest
    magnitude, that (negative) eigenvalue is returned. Power iteration converges at the rate
    :math:`|\lambda_2/\lambda_1|` per iteration, so a few tens of iterations give a sharpness
    figure, not the eigenvalue to many digits when the top two are close.

    Args:
        model: the network; its parameters, gradients and training mode are left unchanged.
        loss_fn: ``loss_fn(model(X), y)`` must return a scalar tensor (e.g. ``cross_entropy``).
        X, y: the data the loss is measured on (for instance the whole training set).
        iters: number of power iterations, an int >= 1 (default 20).
        seed: seed of the random start vector (the global random state is not touched).

    Returns:
        The Rayleigh quotient :math:`u^\top H u` of the last unit vector :math:`u`, as a float.

    Example:
        >>> import torch
        >>> from optlab.sharpness import top_hessian_eigenvalue
        >>> model = torch.nn.Linear(2, 1, bias=False).double()
        >>> X = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
        >>> y = torch.zeros(2, 1, dtype=torch.float64)
        >>> mse = lambda out, target: ((out - target) ** 2).sum()   # Hessian 2 X^T X = diag(18, 2)
        >>> round(top_hessian_eigenvalue(model, mse, X, y, iters=30), 6)
        18.0

    References:
        Pearlmutter, *Fast Exact Multiplication by the Hessian*, Neural Computation 1994.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(iters, Integral) or isinstance(iters, bool) or iters < 1:
        raise ValueError(f"Invalid iters: {iters} (expected an int >= 1)")
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameter that requires a gradient")

    with torch.enable_grad(), hvp_context():
        loss = loss_fn(model(X), y)
        if loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
        grads = torch.autograd.grad(loss, params, create_graph=True)   # grad L, kept differentiable
    g = _flat(grads)

    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(g.numel(), generator=gen, dtype=torch.float64).to(g.dtype)
    u /= u.norm()
    eigenvalue = 0.0
    for k in range(iters):
        # H u = d/dtheta (grad L . u); keep the graph of grad L for the next iteration
        Hu = _flat(torch.autograd.grad(g, params, grad_outputs=u, retain_graph=k < iters - 1))
        eigenvalue = torch.dot(u, Hu).item()                             # Rayleigh quotient u^T H u
        norm = Hu.norm()
        if norm == 0:                                                    # H u = 0: u is in the kernel
            break
        u = Hu / norm
    return eigenvalue
