"""The noise a generator reads: z ~ N(0, I), with a class label y beside it for a conditional GAN, and paths
between two noise vectors (lesson 06's interpolations).

A trainer draws its noise through one of these objects, chosen once from its configuration (n_classes = 0 or
K): `Noise` for G(z), `LabelledNoise` for G(z, y); lesson 06's MLP GAN reads `PiecesNoise`. Each also says how a
real batch splits into the samples and their condition, so that the trainer's steps read the same for both.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import check_int


class Noise:
    """z ~ N(0, I) of shape (n, z_dim) for an unconditional G(z); real batches are plain tensors x."""

    def __init__(self, z_dim: int):
        self.z_dim = z_dim

    def __call__(self, n: int, device: torch.device) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(z, ()) for a training step: no condition."""
        return torch.randn(n, self.z_dim, device=device), ()

    def for_samples(self, n: int, device: torch.device) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(z, ()) for n samples to look at."""
        check_int("n", n, 1, 10**8)
        return self(n, device)

    def split(self, batch: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """A real batch as (x, condition): (x, ())."""
        return batch, ()

    def draw(self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Tensor:
        """z (n, z_dim) from `generator` (e.g. a seeded one, for fixed noise to watch G by)."""
        return torch.randn(n, self.z_dim, generator=generator).to(device)


class PiecesNoise(Noise):
    """z = [g, scale * onehot(c)] with g ~ N(0, I) (`gaussian` numbers) and c uniform over `pieces`: a noise space
    made of `pieces` separate Gaussian clouds, `scale` apart on their own axes, so that a continuous G can give each
    piece its own digits without drawing in-between images on the way from one piece to the next."""

    def __init__(self, gaussian: int, pieces: int, scale: float = 4.0):
        check_int("gaussian", gaussian, 1, 10**6)
        check_int("pieces", pieces, 1, 10**4)
        super().__init__(gaussian + pieces)
        self.gaussian, self.pieces, self.scale = gaussian, pieces, float(scale)

    def __call__(self, n: int, device: torch.device | str = "cpu") -> tuple[Tensor, tuple[Tensor, ...]]:
        """(z, ()): the trainer's noise, without a condition."""
        return self.draw(n, device), ()

    def draw(self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Tensor:
        """z (n, gaussian + pieces)."""
        g = torch.randn(n, self.gaussian, generator=generator).to(device)
        c = torch.randint(0, self.pieces, (n,), generator=generator).to(device)
        return torch.cat([g, self.scale * F.one_hot(c, self.pieces).float()], dim=1)

    def code(self, z: Tensor) -> Tensor:
        """The piece c (n,) each z was drawn from."""
        return z[:, self.gaussian:].argmax(dim=1)


class LabelledNoise(Noise):
    """z ~ N(0, I) (n, z_dim) and labels y ~ Uniform{0, ..., n_classes - 1} (n,) for G(z, y); real batches are
    pairs (x, y)."""

    def __init__(self, z_dim: int, n_classes: int):
        super().__init__(z_dim)
        self.n_classes = n_classes

    def __call__(self, n: int, device: torch.device) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(z, (y,)) with uniform labels, for a training step."""
        return torch.randn(n, self.z_dim, device=device), (torch.randint(self.n_classes, (n,), device=device),)

    def for_samples(self, labels: Tensor | int, device: torch.device) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(z, (y,)) for the requested labels, or for n: labels 0, 1, ..., n_classes - 1, 0, 1, ... in order."""
        if isinstance(labels, int):
            check_int("n", labels, 1, 10**8)
            labels = torch.arange(labels) % self.n_classes
        return torch.randn(len(labels), self.z_dim, device=device), (labels.to(device),)

    def split(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """A real batch (x, y) as (x, (y,))."""
        x, y = batch
        return x, (y,)


def interpolate(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    r"""`steps` points on the straight line from z0 to z1: $z_t = (1 - t) z_0 + t z_1$, t = 0, ..., 1."""
    check_int("steps", steps, 2, 10**6)
    t = torch.linspace(0.0, 1.0, steps, device=z0.device)[:, None]
    return (1 - t) * z0.flatten()[None] + t * z1.flatten()[None]


def slerp(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    r"""Spherical interpolation (White, 2016): $z_t = \frac{\sin((1-t)\Omega)}{\sin\Omega} z_0
    + \frac{\sin(t\Omega)}{\sin\Omega} z_1$ with $\cos\Omega = \hat z_0 \cdot \hat z_1$; it keeps $\lVert z_t \rVert$
    near $\sqrt{d}$, where Gaussian noise lives, while the straight line passes closer to 0."""
    check_int("steps", steps, 2, 10**6)
    a, b = z0.flatten(), z1.flatten()
    omega = torch.arccos((a / a.norm()).dot(b / b.norm()).clamp(-1.0, 1.0))
    t = torch.linspace(0.0, 1.0, steps, device=z0.device)[:, None]
    if omega.abs() < 1e-6:  # parallel vectors: the straight line is the arc
        return interpolate(z0, z1, steps)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / math.sin(omega.item())
