r"""GAN losses as pure functions of the discriminator's raw outputs (logits or critic scores).

`d_real = D(x)` and `d_fake = D(G(z))` are unbounded numbers; where a probability is meant,
$D = \sigma(\text{logit})$ and every log is computed stably with softplus:
$-\log \sigma(t) = \mathrm{softplus}(-t)$ and $-\log(1 - \sigma(t)) = \mathrm{softplus}(t)$.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor

from .config import LOSS_NAMES, check_choice, check_float
from .i18n import tr


def d_loss_standard(d_real: Tensor, d_fake: Tensor) -> Tensor:
    r"""Discriminator loss of the original GAN (Goodfellow et al., 2014), binary cross-entropy.

    $L_D = -E_x[\log D(x)] - E_z[\log(1 - D(G(z)))]$, computed as softplus(-d_real) + softplus(d_fake).
    """
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def g_loss_minimax(d_fake: Tensor) -> Tensor:
    r"""The saturating generator loss: G minimizes the value function itself.

    $L_G = E_z[\log(1 - D(G(z)))] = -E_z[\mathrm{softplus}(d_{fake})]$; its gradient vanishes as D(G(z)) -> 0.
    """
    return -F.softplus(d_fake).mean()


def g_loss_nonsaturating(d_fake: Tensor) -> Tensor:
    r"""The non-saturating generator loss (Goodfellow et al., 2014, section 3).

    $L_G = -E_z[\log D(G(z))] = E_z[\mathrm{softplus}(-d_{fake})]$; strong gradients when D rejects the fakes.
    """
    return F.softplus(-d_fake).mean()


def d_loss_lsgan(d_real: Tensor, d_fake: Tensor) -> Tensor:
    r"""Least-squares discriminator loss (Mao et al., 2017) with targets a = 0 (fake), b = 1 (real).

    $L_D = \tfrac12 E_x[(D(x) - 1)^2] + \tfrac12 E_z[D(G(z))^2]$ on the raw output D (no sigmoid).
    """
    return 0.5 * (d_real - 1).pow(2).mean() + 0.5 * d_fake.pow(2).mean()


def g_loss_lsgan(d_fake: Tensor) -> Tensor:
    r"""Least-squares generator loss with target c = 1: $L_G = \tfrac12 E_z[(D(G(z)) - 1)^2]$."""
    return 0.5 * (d_fake - 1).pow(2).mean()


def d_loss_wgan(d_real: Tensor, d_fake: Tensor) -> Tensor:
    r"""Wasserstein critic loss (Arjovsky et al., 2017): $L_D = E_z[D(G(z))] - E_x[D(x)]$.

    Needs a Lipschitz critic: weight clipping, a gradient penalty or spectral norm.
    """
    return d_fake.mean() - d_real.mean()


def g_loss_wgan(d_fake: Tensor) -> Tensor:
    r"""Wasserstein generator loss, also used with the hinge loss: $L_G = -E_z[D(G(z))]$."""
    return -d_fake.mean()


def d_loss_hinge(d_real: Tensor, d_fake: Tensor) -> Tensor:
    r"""Hinge discriminator loss (Lim & Ye, 2017; Miyato et al., 2018).

    $L_D = E_x[\max(0, 1 - D(x))] + E_z[\max(0, 1 + D(G(z)))]$.
    """
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def d_loss_smoothed(d_real: Tensor, d_fake: Tensor, smoothing: float) -> Tensor:
    r"""One-sided label smoothing (Salimans et al., 2016): the BCE loss with target $1 - s$ for real samples, 0 for fakes.

    $L_D = -E_x[(1-s)\log D(x) + s\log(1 - D(x))] - E_z[\log(1 - D(G(z)))]$; the optimum on real data is
    $D(x) = 1 - s$ instead of 1, which curbs D's over-confidence on real data (the optimal D,
    $(1-s) p_{data}/(p_{data} + p_g)$, still goes to 0 on fakes far from the data). Fakes keep target 0
    (smoothing them too would reward G for staying where it is).
    """
    return ((1 - smoothing) * F.softplus(-d_real) + smoothing * F.softplus(d_real)).mean() + F.softplus(d_fake).mean()


def feature_matching_loss(f_real: Tensor, f_fake: Tensor) -> Tensor:
    r"""Feature matching (Salimans et al., 2016): $\lVert E_x f(x) - E_z f(G(z)) \rVert_2^2$, with $f$ D's last hidden layer.

    `f_real`, `f_fake`: (N, k) and (M, k). G matches the mean activations of real data instead of fooling D
    directly; in a GAN, pass `f_real` without gradients.
    """
    if f_real.dim() != 2 or f_fake.dim() != 2 or f_real.shape[1] != f_fake.shape[1]:
        raise ValueError(tr("features must have shapes (N, k) and (M, k); got {real} and {fake}",
                            real=tuple(f_real.shape), fake=tuple(f_fake.shape)))
    return (f_real.mean(dim=0) - f_fake.mean(dim=0)).pow(2).sum()


@dataclass(frozen=True)
class GANLoss:
    """A discriminator loss and the generator loss it is played with."""

    name: str
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]


LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss("minimax", d_loss_standard, g_loss_minimax),
    "nonsaturating": GANLoss("nonsaturating", d_loss_standard, g_loss_nonsaturating),
    "lsgan": GANLoss("lsgan", d_loss_lsgan, g_loss_lsgan),
    "wgan": GANLoss("wgan", d_loss_wgan, g_loss_wgan),
    "hinge": GANLoss("hinge", d_loss_hinge, g_loss_wgan),
}


def get_loss(name: str) -> GANLoss:
    """The (D, G) loss pair by name; ValueError lists the known names."""
    check_choice("loss", name, LOSS_NAMES)
    return LOSSES[name]


def smoothed(loss: GANLoss, smoothing: float) -> GANLoss:
    """The pair with D's loss replaced by one-sided label smoothing (`d_loss_smoothed`); G's loss is unchanged.

    Only the BCE pairs have labels to smooth (config.BCE_LOSSES); smoothing 0 returns `loss` itself.
    """
    check_float("label_smoothing", smoothing, 0.0, 0.5, include_low=True)
    if smoothing == 0:
        return loss
    if loss.d is not d_loss_standard:
        raise ValueError(tr("label_smoothing={smoothing} is not allowed with loss={loss}; smoothing needs a loss with "
                            "labels (minimax or nonsaturating)", smoothing=repr(smoothing), loss=repr(loss.name)))
    return GANLoss(loss.name, functools.partial(d_loss_smoothed, smoothing=smoothing), loss.g)
