"""Checks for lesson 01: sampling by the inverse CDF, and a hand-made generator."""
from __future__ import annotations

import math

import torch

from .verdict import CheckResult, call, compare_tensor, failed, passed


def check_sample_exponential(fn) -> CheckResult:
    """`fn(u, rate)` must be the inverse CDF of Exp(rate): x = -log(1 - u) / rate."""
    u = torch.tensor([0.0, 0.1, 0.5, 0.9, 0.99], dtype=torch.float64)
    x, error = call(fn, u, 2.0)
    if error:
        return error
    if isinstance(x, torch.Tensor) and x.shape == u.shape and (x.diff() < 0).all():
        return failed("your x decreases as u grows. -log(u) also gives exponential samples, but it is not the "
                      "inverse of F(x) = 1 - exp(-rate x); solve u = F(x) for x")
    expected = -torch.log1p(-u) / 2.0
    mismatch = compare_tensor("x", x, expected)
    if mismatch and isinstance(x, torch.Tensor) and x.shape == u.shape:
        if torch.allclose(x.double(), expected * 2.0 ** 2):
            return failed("x is rate^2 times too large: divide by the rate, don't multiply")
        if torch.allclose(x.double(), expected * 2.0):
            return failed("x ignores the rate: with rate 2 the mean should be 1/2")
    if mismatch:
        return mismatch
    return passed("F(x) = 1 - exp(-rate x) gives back u for every u, so x = F^-1(u) has density rate exp(-rate x)")


def check_uniform_generator(fn) -> CheckResult:
    """`fn(z, a, b)` must turn z ~ N(0, 1) into samples of Uniform(a, b) (and be increasing in z)."""
    z = torch.randn(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64).sort().values
    x, error = call(fn, z, -1.0, 3.0)
    if error:
        return error
    if not isinstance(x, torch.Tensor) or x.shape != z.shape:
        return failed(f"expected a tensor of shape {tuple(z.shape)}, got {getattr(x, 'shape', type(x).__name__)}")
    if x.min() < -1.0 - 1e-9 or x.max() > 3.0 + 1e-9:
        return failed(f"samples must lie in [a, b] = [-1, 3]; yours span [{x.min():.3f}, {x.max():.3f}]")
    ks = (torch.sort(x.double()).values - torch.linspace(-1, 3, len(x), dtype=torch.float64)).abs().max() / 4
    if ks > 0.02:
        return failed(f"the samples are in range but not uniform (largest CDF gap {ks:.3f}); "
                      "first make z uniform on (0, 1) with the normal CDF Phi(z) = (1 + erf(z / sqrt 2)) / 2")
    return passed(f"the samples fill [-1, 3] evenly (largest CDF gap {ks:.4f} with 20,000 samples)")


def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    """Phi(z) = (1 + erf(z / sqrt(2))) / 2."""
    return 0.5 * (1 + torch.erf(z / math.sqrt(2)))
