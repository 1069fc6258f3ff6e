"""How well a generator covers a 2-D target, by the VEEGAN / PacGAN protocol (CURRICULUM.md).

A generated sample is *high quality* if it lies within 3 sigma of its nearest mode centre; a mode is
*captured* if it is the nearest centre of at least one high-quality sample; the reverse KL compares the
histogram of high-quality samples over the modes with the uniform distribution of the target.
Even perfect samples fall within 3 sigma only 1 - exp(-9/2) = 98.9% of the time (chi-square, 2 d.o.f.).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

EVAL_SAMPLES = 2500  # samples per evaluation, as in VEEGAN and PacGAN


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

