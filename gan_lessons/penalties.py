r"""Regularizers: penalties on the discriminator's input gradient, and feature matching for the generator.

Conventions (stated because papers differ):
- `gradient_penalty`: $E_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]$ (Gulrajani et al., 2017),
  used as $\lambda \cdot$ gp with $\lambda = 10$.
- `r1_penalty` / `r2_penalty`: $\tfrac12 E[\lVert\nabla_x D(x)\rVert^2]$ on real / generated samples, so that
  $\gamma \cdot$ r1 is Mescheder et al.'s (2018) $\tfrac{\gamma}{2} E\lVert\nabla D\rVert^2$.
The functions return the unweighted term and need the discriminator itself, because they differentiate it.

The trainer uses them as objects built once from its configuration (`make_penalty`, `make_g_term`): a `Penalty`
knows its term, its weight and the samples it differentiates at, so a step never asks which one it has.
R1 and R2 then reuse D's outputs of the step instead of a second forward pass (the same number).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from .config import REGULARIZER_NAMES, check_choice
from .losses import feature_matching_loss

Discriminator = Callable[[Tensor], Tensor]


def input_gradient(D: Discriminator, x: Tensor) -> Tensor:
    """d(sum D(x))/dx, kept in the graph (create_graph) so that a penalty on it can be trained through."""
    x = x.detach().requires_grad_(True)
    return output_gradient(D(x), x)


def output_gradient(d_out: Tensor, x: Tensor) -> Tensor:
    """d(sum d_out)/dx for outputs `d_out = D(x)` of an `x` that requires grad, as (N, features), in the graph."""
    (grad,) = torch.autograd.grad(d_out.sum(), x, create_graph=True)
    return grad.flatten(1)


def half_squared_norm(grad: Tensor) -> Tensor:
    r"""$\tfrac12 E[\lVert g\rVert^2]$ over the rows of `grad` (N, features): the R1 / R2 term."""
    return 0.5 * grad.pow(2).sum(dim=1).mean()


def gradient_penalty(D: Discriminator, x_real: Tensor, x_fake: Tensor) -> Tensor:
    r"""WGAN-GP: $E[(\lVert\nabla D(\hat x)\rVert - 1)^2]$ at $\hat x = \epsilon x + (1-\epsilon)\tilde x$, $\epsilon \sim U[0,1]$."""
    eps = torch.rand(len(x_real), *([1] * (x_real.dim() - 1)), device=x_real.device)
    x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
    return (input_gradient(D, x_hat).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(D: Discriminator, x_real: Tensor) -> Tensor:
    r"""R1: $\tfrac12 E_{x \sim p_{data}}[\lVert\nabla_x D(x)\rVert^2]$ (Mescheder et al., 2018)."""
    return half_squared_norm(input_gradient(D, x_real))


def r2_penalty(D: Discriminator, x_fake: Tensor) -> Tensor:
    r"""R2: $\tfrac12 E_{x \sim p_g}[\lVert\nabla_x D(x)\rVert^2]$, the same on generated samples."""
    return half_squared_norm(input_gradient(D, x_fake))


class Penalty:
    """A regularizer of D's step: `weight` times its term. The plain Penalty is none at all (a term of 0).

    `track(x_real, x_fake)` returns the inputs that D is to see, made to require grad where the term
    differentiates D at them; `__call__(D, x_real, x_fake, d_real, d_fake)` returns the weighted term.
    """

    name = "none"

    def __init__(self, weight: float = 0.0):
        self.weight = weight

    def track(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, Tensor]:
        """The inputs D is to see, unchanged: no term differentiates D at them."""
        return x_real, x_fake

    def __call__(self, D: nn.Module, x_real: Tensor, x_fake: Tensor, d_real: Tensor, d_fake: Tensor) -> Tensor | float:
        return 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight:g})"


class GradientPenalty(Penalty):
    r"""$\lambda E[(\lVert\nabla D(\hat x)\rVert - 1)^2]$ on random interpolates of real and generated samples."""

    name = "gp"

    def __call__(self, D, x_real, x_fake, d_real, d_fake):
        return self.weight * gradient_penalty(D, x_real, x_fake)


class R1(Penalty):
    r"""$\gamma \cdot \tfrac12 E_{x \sim p_{data}}\lVert\nabla_x D(x)\rVert^2$, from D's outputs on the real batch."""

    name = "r1"

    def track(self, x_real, x_fake):
        """x_real made a leaf that requires grad, so that D's gradient there can be taken."""
        return x_real.detach().requires_grad_(True), x_fake  # R1 differentiates D(x_real) w.r.t. x_real

    def __call__(self, D, x_real, x_fake, d_real, d_fake):
        return self.weight * half_squared_norm(output_gradient(d_real, x_real))


class R2(Penalty):
    r"""$\gamma \cdot \tfrac12 E_{x \sim p_g}\lVert\nabla_x D(x)\rVert^2$, from D's outputs on the generated batch."""

    name = "r2"

    def track(self, x_real, x_fake):
        """x_fake made a leaf that requires grad, so that D's gradient there can be taken."""
        return x_real, x_fake.detach().requires_grad_(True)

    def __call__(self, D, x_real, x_fake, d_real, d_fake):
        return self.weight * half_squared_norm(output_gradient(d_fake, x_fake))


PENALTIES = {"none": Penalty, "gp": GradientPenalty, "r1": R1, "r2": R2}


def make_penalty(name: str, weight: float) -> Penalty:
    """The regularizer of a configuration ("none", "gp", "r1" or "r2") with its weight."""
    check_choice("regularizer", name, REGULARIZER_NAMES)
    return PENALTIES[name](weight)


class FeatureMatching:
    r"""G's extra term $w \lVert E_x f(x) - E_z f(G(z)) \rVert^2$ (Salimans et al., 2016), f = D's last hidden layer,
    on a fresh real batch; weight 0 adds nothing and draws no batch."""

    def __init__(self, weight: float = 0.0):
        self.weight = weight

    def __call__(self, D: nn.Module, x_fake: Tensor, real_batch: Callable[[], Tensor]) -> Tensor | float:
        """`x_fake` and `real_batch()` as D sees them (after instance noise and packing)."""
        if self.weight == 0:
            return 0.0
        with torch.no_grad():
            f_real = D.features(real_batch())
        return self.weight * feature_matching_loss(f_real, D.features(x_fake))
