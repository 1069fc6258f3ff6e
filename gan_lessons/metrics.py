"""How well a generator covers a 2-D target, by the VEEGAN / PacGAN protocol (CURRICULUM.md).

A generated sample is *high quality* if it lies within 3 sigma of its nearest mode centre; a mode is
*captured* if it is the nearest centre of at least one high-quality sample; the reverse KL compares the
histogram of high-quality samples over the modes with the uniform distribution of the target.
Even perfect samples fall within 3 sigma only 1 - exp(-9/2) = 98.9% of the time (chi-square, 2 d.o.f.).
`grid_divergences` adds KL and JS between histograms on a grid, as GAN Lab shows them: for watching a run.
`paired_difference` compares two arms run on the same seeds (lesson 11).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .i18n import tr

EVAL_SAMPLES = 2500  # samples per evaluation, as in VEEGAN and PacGAN


def paired_difference(acc_with, acc_without) -> tuple[float, float]:
    """(mean, standard error) of the per-seed differences `acc_with - acc_without`: both arms of a seed share its
    data, so the differences, not the two arms apart, carry the noise (lesson 11 writes this out)."""
    diff = torch.as_tensor(acc_with, dtype=torch.float64) - torch.as_tensor(acc_without, dtype=torch.float64)
    if len(diff) < 2:
        raise ValueError(tr("paired_difference needs at least 2 seeds per arm, got {n}", n=len(diff)))
    return diff.mean().item(), diff.std().item() / math.sqrt(len(diff))


def nearest_mode(x: Tensor, centres: Tensor) -> tuple[Tensor, Tensor]:
    """For each sample (N, 2): the index of its nearest centre and the distance to it."""
    dist = torch.cdist(x.float(), centres.float())  # (N, K)
    return dist.min(dim=1).indices, dist.min(dim=1).values


def mode_coverage(x: Tensor, centres: Tensor, sigma: float) -> dict[str, float]:
    """{'modes': captured modes, 'hq': % high-quality samples, 'rkl': reverse KL to uniform over modes}.

    rkl = sum_k q_k log(q_k / (1/K)) over the modes with q_k > 0, where q is the histogram of the
    high-quality samples; it is 0 for perfect balance and log K when all of them sit on one mode.
    With no high-quality sample at all, the histogram does not exist and rkl is reported as inf.
    """
    idx, dist = nearest_mode(x, centres)
    good = dist <= 3 * sigma
    counts = torch.bincount(idx[good], minlength=len(centres)).double()
    n_good = int(good.sum())
    if n_good == 0:
        rkl = math.inf
    else:
        q = counts[counts > 0] / n_good
        rkl = float((q * (q * len(centres)).log()).sum())
    return {"modes": int((counts > 0).sum()), "hq": 100.0 * n_good / len(x), "rkl": rkl}


def evaluate_2d(sample: Tensor, target) -> dict[str, float]:
    """mode_coverage against a `Target2D` (its centres and sigma)."""
    return mode_coverage(sample, target.centres, target.sigma)


def grid_divergences(real, fake, extent: float, bins: int = 20, eps: float = 1e-5) -> dict[str, float]:
    r"""{'kl': KL(p_real || p_fake), 'js': JS(p_real, p_fake)} (natural log) between the histograms of two sample
    sets (N, 2) on a bins x bins grid over [-extent, extent]^2; samples outside it count in its border cells.

    JS = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2, from the raw histograms: in [0, log 2], log 2 for
    disjoint supports. KL would be infinite wherever G leaves a cell of real samples empty, so for it both
    histograms are smoothed alike, $\tilde p = (p + \epsilon) / (1 + \text{bins}^2 \epsilon)$ (eps: probability
    added to each cell): it is finite, and 0 for equal histograms. KL depends on bins and eps, JS on bins: they are
    estimates for watching a run, not metrics to report. Both are NaN when a sample is NaN.
    """
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name="bins",
                            value=repr(bins)))
    for name, value in (("extent", extent), ("eps", eps)):
        if not value > 0:
            raise ValueError(tr("{name}={value} is not allowed; it must be a positive number", name=name,
                                value=repr(value)))
    p, q = (_histogram(x, extent, bins) for x in (real, fake))
    if np.isnan(p).any() or np.isnan(q).any():
        return {"kl": math.nan, "js": math.nan}
    p_s, q_s = ((h + eps) / (1 + bins * bins * eps) for h in (p, q))
    kl = float(np.sum(p_s * np.log(p_s / q_s)))
    m = (p + q) / 2
    js = 0.5 * _kl_raw(p, m) + 0.5 * _kl_raw(q, m)
    return {"kl": kl, "js": js}


def _histogram(x, extent: float, bins: int) -> np.ndarray:
    """The share of the samples (N, 2) in each cell of the grid, (bins, bins) indexed by the cells of x and y;
    samples outside it counted in its border cells (NaN in every cell when a sample is NaN)."""
    x = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(tr("samples of shape {shape} are not allowed; expected (N, 2) with N >= 1", shape=x.shape))
    if np.isnan(x).any():
        return np.full((bins, bins), math.nan)
    cell = (np.clip(x, -extent, extent) + extent) * (bins / (2 * extent))  # in [0, bins]
    i, j = np.minimum(cell.astype(np.int64), bins - 1).T  # x = extent belongs to the last cell
    return np.bincount(i * bins + j, minlength=bins * bins).reshape(bins, bins) / len(x)


def _kl_raw(p: np.ndarray, m: np.ndarray) -> float:
    """KL(p || m) = sum of p log(p / m) over the cells where p > 0 (m > 0 there: m >= p / 2)."""
    held = p > 0
    return float(np.sum(p[held] * np.log(p[held] / m[held])))
