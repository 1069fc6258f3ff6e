"""Checks for lesson 01: sampling by the inverse CDF, a hand-made generator, and the lesson's questions."""
from __future__ import annotations

import math

import torch

from ..i18n import tr
from .verdict import CheckResult, Question, call, call_own, compare_tensor, failed, passed

# PyTorch's own inverse CDF of the exponential (gan_lessons has none): the exercise is to derive it
EXPONENTIAL_LIBRARY = (torch.distributions.Exponential.icdf,)


def check_sample_exponential(fn) -> CheckResult:
    """`fn(u, rate)` must be the inverse CDF of Exp(rate): x = -log(1 - u) / rate."""
    u = torch.tensor([0.0, 0.1, 0.5, 0.9, 0.99], dtype=torch.float64)
    x, error = call_own(fn, EXPONENTIAL_LIBRARY, u, 2.0)
    if error:
        return error
    if isinstance(x, torch.Tensor) and x.shape == u.shape and (x.diff() < 0).all():
        return failed(tr("your x decreases as u grows. -log(u) also gives exponential samples, but it is not the "
                         "inverse of F(x) = 1 - exp(-rate x); solve u = F(x) for x"))
    expected = -torch.log1p(-u) / 2.0
    mismatch = compare_tensor("x", x, expected)
    if mismatch and isinstance(x, torch.Tensor) and x.shape == u.shape:
        if torch.allclose(x.double(), expected * 2.0 ** 2):
            return failed(tr("x is rate^2 times too large: divide by the rate, don't multiply"))
        if torch.allclose(x.double(), expected * 2.0):
            return failed(tr("x ignores the rate: with rate 2 the mean should be 1/2"))
    if mismatch:
        return mismatch
    return passed(tr("F(x) = 1 - exp(-rate x) gives back u for every u, so x = F^-1(u) has density rate exp(-rate x)"))


def check_uniform_generator(fn) -> CheckResult:
    """`fn(z, a, b)` must turn z ~ N(0, 1) into samples of Uniform(a, b) (and be increasing in z).

    The library has no version of it to refuse; `normal_cdf` below is the lesson's given helper."""
    z = torch.randn(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64).sort().values
    x, error = call(fn, z, -1.0, 3.0)
    if error:
        return error
    if not isinstance(x, torch.Tensor) or x.shape != z.shape:
        return failed(tr("expected a tensor of shape {shape}, got {got}", shape=tuple(z.shape),
                         got=getattr(x, "shape", type(x).__name__)))
    if x.min() < -1.0 - 1e-9 or x.max() > 3.0 + 1e-9:
        return failed(tr("samples must lie in [a, b] = [-1, 3]; yours span [{low:.3f}, {high:.3f}]",
                         low=x.min(), high=x.max()))
    ks = (torch.sort(x.double()).values - torch.linspace(-1, 3, len(x), dtype=torch.float64)).abs().max() / 4
    if ks > 0.02:
        return failed(tr("the samples are in range but not uniform (largest CDF gap {gap:.3f}); "
                         "first make z uniform on (0, 1) with the normal CDF Phi(z) = (1 + erf(z / sqrt 2)) / 2",
                         gap=ks))
    return passed(tr("the samples fill [-1, 3] evenly (largest CDF gap {gap:.4f} with 20,000 samples)", gap=ks))


def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    """Phi(z) = (1 + erf(z / sqrt(2))) / 2."""
    return 0.5 * (1 + torch.erf(z / math.sqrt(2)))


QUESTIONS: dict[str, Question] = {
    "sqrt_histogram": Question(
        text="u is uniform on (0, 1). What does the histogram of x = sqrt(u) look like on [0, 1]?",
        choices={"a": "flat, like the histogram of u",
                 "b": "rising: fewer samples near 0, more near 1",
                 "c": "falling: more samples near 0, fewer near 1",
                 "d": "a bump in the middle, around 0.5"},
        answer="b",
        why="x <= t exactly when u <= t^2, so P(x <= t) = t^2: the CDF of x is F(t) = t^2 and its density is 2t. "
            "The square root lifts small u the most (sqrt(0.01) = 0.1), so it thins out the samples near 0; "
            "sqrt is the inverse CDF of F(t) = t^2",
        hints={"a": "a function that is not a straight line moves some samples more than others: which u does "
                    "sqrt move the most, and in which direction?",
               "c": "sqrt(u) is never smaller than u on (0, 1): every sample moves up. Where do the samples "
                    "near 0 go?",
               "d": "sqrt is increasing, so the order of the samples is kept: P(sqrt(u) <= t) = P(u <= t^2). "
                    "Which t gets the most samples per unit length?"}),
    "steep": Question(
        text="The hand-made generator G(z) = F^-1(Phi(z)) turns Gaussian noise into the two-bump mixture. "
             "Where is G steepest (the largest slope dG/dz)?",
        choices={"a": "over the two bumps, where most samples land",
                 "b": "between the bumps, where few samples land",
                 "c": "nowhere in particular: G is close to a straight line"},
        answer="b",
        why="a stretch of z of length dz holds a fixed share of the noise, p_z(z) dz, and G spreads it over "
            "G'(z) dz of x: the steeper G, the thinner the samples (p_x = p_z / G'). G rushes across the gap "
            "between the bumps, where the target has almost no mass, and lingers over the bumps",
        hints={"a": "think of a stretch of z as a fixed share of the samples: if G is steep there, is that share "
                    "spread over a wide or a narrow range of x?",
               "c": "a straight G(z) = a z + b turns a Gaussian into a Gaussian: one bump, never two"}),
}
