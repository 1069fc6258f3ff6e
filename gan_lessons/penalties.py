r"""Regularizers of the discriminator. Each returns the unweighted term; the caller multiplies by its weight.

Conventions (stated because papers differ):
- `gradient_penalty`: $E_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]$ (Gulrajani et al., 2017),
  used as $\lambda \cdot$ gp with $\lambda = 10$.
- `r1_penalty` / `r2_penalty`: $\tfrac12 E[\lVert\nabla_x D(x)\rVert^2]$ on real / generated samples, so that
  $\gamma \cdot$ r1 is Mescheder et al.'s (2018) $\tfrac{\gamma}{2} E\lVert\nabla D\rVert^2$.
All of them need the discriminator itself (not only its outputs) because they differentiate it.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Discriminator = Callable[[Tensor], Tensor]


def input_gradient(D: Discriminator, x: Tensor) -> Tensor:
    """d(sum D(x))/dx, kept in the graph (create_graph) so that a penalty on it can be trained through."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1)  # (N, features)


def gradient_penalty(D: Discriminator, x_real: Tensor, x_fake: Tensor) -> Tensor:
    r"""WGAN-GP: $E[(\lVert\nabla D(\hat x)\rVert - 1)^2]$ at $\hat x = \epsilon x + (1-\epsilon)\tilde x$, $\epsilon \sim U[0,1]$."""
    eps = torch.rand(len(x_real), *([1] * (x_real.dim() - 1)), device=x_real.device)
    x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
    return (input_gradient(D, x_hat).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(D: Discriminator, x_real: Tensor) -> Tensor:
    r"""R1: $\tfrac12 E_{x \sim p_{data}}[\lVert\nabla_x D(x)\rVert^2]$ (Mescheder et al., 2018)."""
    return 0.5 * input_gradient(D, x_real).pow(2).sum(dim=1).mean()


def r2_penalty(D: Discriminator, x_fake: Tensor) -> Tensor:
    r"""R2: $\tfrac12 E_{x \sim p_g}[\lVert\nabla_x D(x)\rVert^2]$, the same on generated samples."""
    return 0.5 * input_gradient(D, x_fake).pow(2).sum(dim=1).mean()


def penalty_term(name: str, D: Discriminator, x_real: Tensor, x_fake: Tensor) -> Tensor:
    """The named regularizer ("gp", "r1", "r2") for one discriminator step."""
    if name == "gp":
        return gradient_penalty(D, x_real, x_fake)
    if name == "r1":
        return r1_penalty(D, x_real)
    if name == "r2":
        return r2_penalty(D, x_fake)
    raise ValueError(f"regularizer={name!r} is not known; allowed values: gp, r1, r2")
