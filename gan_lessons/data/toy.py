"""Small datasets made on the spot: 2-D Gaussian mixtures and 1-D mixtures with their densities.

Each 2-D target is a mixture of equal-weight Gaussians, so that mode coverage can be counted
(CURRICULUM.md, "Evaluation protocol"): its `centres` are the modes and `sigma` their spread.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..config import TARGET_NAMES, check_choice
from ..i18n import tr


@dataclass(frozen=True)
class Target2D:
    """An equal-weight mixture of isotropic Gaussians in the plane."""

    name: str
    centres: Tensor  # (K, 2) mode centres
    sigma: float  # standard deviation of every mode
    unit: float = 1.0  # this target is the named one times `unit` (standardized(): 1 / its rms coordinate)

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        """n points, shape (n, 2): pick a mode uniformly, add N(0, sigma^2 I)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name="n",
                                value=repr(n)))
        k = torch.randint(len(self.centres), (n,), generator=generator)
        x = torch.randn(n, 2, generator=generator).mul_(self.sigma).add_(self.centres[k])  # c_k + sigma * noise
        return x if device is None else x.to(device)

    def sampler(self, batch_size: int, device=None) -> Callable[[], Tensor]:
        """A trainer's source of real batches: each call returns `batch_size` fresh samples on `device`."""
        return lambda: self.sample(batch_size, device=device)

    @property
    def rms(self) -> float:
        """Root mean square of one coordinate of a sample, sqrt(mean c^2 + sigma^2): the standard deviation of a
        target centred on 0, as the ring and the grid are (0.71 and 2.83)."""
        return math.sqrt(self.centres.pow(2).mean().item() + self.sigma ** 2)

    def standardized(self) -> Target2D:
        """The same mixture divided by its rms coordinate, as Gulrajani et al.'s gan_toy.py feeds its critic (the grid
        / 2.828, the ring of radius 2 / 1.414): modes, % high quality and reverse KL do not change with the scale."""
        factor = 1.0 / self.rms
        return Target2D(self.name, self.centres * factor, self.sigma * factor, self.unit * factor)

    @property
    def extent(self) -> float:
        """Half-width of a square that holds the target with a margin, for plots."""
        return float(self.centres.abs().max()) * 1.25 + 4 * self.sigma


def ring_centres(k: int = 8, radius: float = 1.0) -> Tensor:
    """k centres at angles 2*pi*j/k; (not linspace(0, 2*pi, k), which repeats 0 = 2*pi and makes k-1)."""
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float32) / k
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> Tensor:
    """side x side centres on {-4, -2, 0, 2, 4}^2 for the default 5 x 2.0."""
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1)


def spiral_centres(k: int = 20, turns: float = 1.5, radius: float = 1.5) -> Tensor:
    """k centres along an Archimedean spiral r = radius * t, t in (0, 1], angle 2*pi*turns*t."""
    t = torch.linspace(1 / k, 1, k)
    angle = 2 * math.pi * turns * t
    return radius * t[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)


def moons_centres(per_moon: int = 8) -> Tensor:
    """Centres along two interleaved half circles (scikit-learn's two moons), shifted to be centred."""
    a = torch.linspace(0, math.pi, per_moon)
    upper = torch.stack([a.cos(), a.sin()], dim=1)
    lower = torch.stack([1 - a.cos(), 0.5 - a.sin()], dim=1)
    return torch.cat([upper, lower]) - torch.tensor([0.5, 0.25])


def make_target(name: str) -> Target2D:
    """A 2-D target by name: ring8 and grid25 follow PacGAN's setup (sigma 0.01 and 0.05)."""
    check_choice("target", name, TARGET_NAMES)
    if name == "ring8":
        return Target2D("ring8", ring_centres(8, 1.0), 0.01)
    if name == "grid25":
        return Target2D("grid25", grid_centres(5, 2.0), 0.05)
    if name == "spiral":
        return Target2D("spiral", spiral_centres(), 0.04)
    return Target2D("moons", moons_centres(), 0.05)


def target_for(name: str, standardize: bool = False) -> Target2D:
    """make_target(name), standardized() when asked: the target a run with TrainConfig.standardize trains on."""
    target = make_target(name)
    return target.standardized() if standardize else target


@dataclass(frozen=True)
class Mixture1D:
    """A 1-D Gaussian mixture with its density, for the derivation lessons."""

    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.means) == len(self.stds) == len(self.weights) >= 1):
            raise ValueError(tr("means, stds and weights must have the same, non-zero length"))
        if min(self.stds) <= 0 or min(self.weights) < 0 or abs(sum(self.weights) - 1) > 1e-6:
            raise ValueError(tr("stds must be > 0 and weights must be >= 0 and sum to 1"))

    def pdf(self, x: Tensor) -> Tensor:
        """p(x) = sum_k w_k N(x; mu_k, s_k^2)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        total = torch.zeros_like(x)
        for mu, s, w in zip(self.means, self.stds, self.weights):
            total = total + w * torch.exp(-0.5 * ((x - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        return total

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n draws, shape (n,)."""
        k = torch.multinomial(torch.tensor(self.weights), n, replacement=True, generator=generator)
        mu, s = torch.tensor(self.means)[k], torch.tensor(self.stds)[k]
        return mu + s * torch.randn(n, generator=generator)


def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> Mixture1D:
    """A single Gaussian as a one-component mixture."""
    return Mixture1D((mean,), (std,), (1.0,))
