r"""The math behind lessons 01, 03 and 04, computed on 1-D densities by quadrature.

A density is a callable `p(x)` (for example `gan_lessons.data.gaussian_1d(0, 1).pdf`) or a tensor of its
values on the grid. Every integral is the trapezoidal rule on a uniform float64 grid, by default
`x = linspace(-15, 15, 30001)` (spacing h = 0.001): for smooth densities that vanish at both ends of the grid
this rule is accurate far beyond the 1e-6 the tests ask for. Logs are natural logs, and 0 log 0 = 0: a term
where the density vanishes contributes nothing (`torch.xlogy`).
"""
from __future__ import annotations

import math
from typing import Callable, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data.toy import Mixture1D
from .i18n import tr
from .losses import d_loss_standard
from .models import MLPDiscriminator

Density = Union[Callable[[Tensor], Tensor], Tensor]


# -- quadrature ---------------------------------------------------------------------------------------
def grid(lo: float = -15.0, hi: float = 15.0, n: int = 30001) -> Tensor:
    """A uniform float64 grid of n points on [lo, hi] (the default has spacing 0.001)."""
    if not (lo < hi) or n < 3:
        raise ValueError(tr("grid(lo={lo}, hi={hi}, n={n}) is not allowed; it needs lo < hi and n >= 3", lo=lo, hi=hi,
                            n=n))
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def values(p: Density, x: Tensor) -> Tensor:
    """p evaluated on the grid, float64: p(x) for a callable, p itself for a tensor of the grid's shape."""
    v = p(x) if callable(p) else p
    v = torch.as_tensor(v, dtype=torch.float64)
    if v.shape != x.shape:
        raise ValueError(tr("a density on a grid of shape {grid} has shape {shape}; they must agree",
                            grid=tuple(x.shape), shape=tuple(v.shape)))
    return v


def integrate(f: Tensor, x: Tensor) -> float:
    r"""$\int f\,dx$ by the trapezoidal rule on the grid x."""
    return torch.trapezoid(f, x).item()


def _grid(x: Tensor | None) -> Tensor:
    return grid() if x is None else torch.as_tensor(x, dtype=torch.float64)


# -- the optimal discriminator and the value function --------------------------------------------------
def optimal_discriminator(p_data: Density, p_g: Density) -> Callable[[Tensor], Tensor]:
    r"""$D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))$ (Goodfellow et al., 2014, Proposition 1).

    Where both densities vanish D* is 0/0; we define it as 1/2 there (no sample ever lands there, so any
    value maximizes V, and 1/2 says "no idea").
    """
    def d_star(x: Tensor) -> Tensor:
        pd, pg = values(p_data, x), values(p_g, x)
        total = pd + pg
        return torch.where(total > 0, pd / torch.where(total > 0, total, 1.0), 0.5)
    return d_star


def value_function(D: Density, p_data: Density, p_g: Density, x: Tensor | None = None) -> float:
    r"""$V(D, G) = E_{p_{data}}[\log D(x)] + E_{p_g}[\log(1 - D(x))] = \int p_{data} \log D + p_g \log(1 - D)\,dx$.

    D is a probability (a callable or its values). A D that is exactly 0 where p_data > 0, or 1 where
    p_g > 0, gives -inf, as it should; in float64, 1 - D*(x) rounds to 0 where p_g < 1e-16 p_data, so for
    D* on far-apart densities use `c_of_g`, which never forms 1 - D*.
    """
    x = _grid(x)
    d, pd, pg = values(D, x), values(p_data, x), values(p_g, x)
    return integrate(torch.xlogy(pd, d) + torch.xlogy(pg, 1 - d), x)


def c_of_g(p_data: Density, p_g: Density, x: Tensor | None = None) -> float:
    r"""$C(G) = \max_D V(D, G) = V(D^*, G) = \int p_{data}\log\frac{p_{data}}{p_{data}+p_g} + p_g \log\frac{p_g}{p_{data}+p_g}\,dx$.

    Goodfellow et al. (2014), Theorem 1: $C(G) = -\log 4 + 2\,\mathrm{JSD}(p_{data} \| p_g)$.
    """
    x = _grid(x)
    pd, pg = values(p_data, x), values(p_g, x)
    total = torch.where(pd + pg > 0, pd + pg, 1.0)  # where both vanish both terms are 0 log 0 = 0
    return integrate(torch.xlogy(pd, pd / total) + torch.xlogy(pg, pg / total), x)


# -- divergences --------------------------------------------------------------------------------------
def kl(p: Density, q: Density, x: Tensor | None = None) -> float:
    r"""$\mathrm{KL}(p \| q) = \int p \log(p / q)\,dx$: 0 log 0 = 0, and +inf where q = 0 < p (also by float64 underflow)."""
    x = _grid(x)
    pv, qv = values(p, x), values(q, x)
    return integrate(torch.xlogy(pv, pv) - torch.xlogy(pv, qv), x)


def jsd(p: Density, q: Density, x: Tensor | None = None) -> float:
    r"""$\mathrm{JSD}(p \| q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m)$, $m = (p + q)/2$; $0 \le \mathrm{JSD} \le \log 2$."""
    x = _grid(x)
    pv, qv = values(p, x), values(q, x)
    m = (pv + qv) / 2  # m > 0 wherever p or q is, so KL(p || m) is always finite
    return 0.5 * kl(pv, m, x) + 0.5 * kl(qv, m, x)


def kl_gaussians(mu1: float, s1: float, mu2: float, s2: float) -> float:
    r"""Closed form $\mathrm{KL}(\mathcal N(\mu_1, s_1^2) \| \mathcal N(\mu_2, s_2^2)) = \log\frac{s_2}{s_1} + \frac{s_1^2 + (\mu_1-\mu_2)^2}{2 s_2^2} - \frac12$."""
    return math.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5


# -- training D alone in 1-D --------------------------------------------------------------------------
def train_discriminator_1d(p_data: Mixture1D, p_g: Mixture1D, steps: int = 2000, batch_size: int = 512,
                           hidden: int = 32, lr: float = 5e-3, seed: int = 0) -> nn.Module:
    r"""A 1 -> hidden -> hidden -> 1 MLP D (logits) trained alone with BCE on fresh samples of p_data and p_g.

    Loss $L_D = \mathrm{softplus}(-D(x_{real})) + \mathrm{softplus}(D(x_{fake}))$ (`d_loss_standard`), Adam with
    a learning rate that decays to 0 along a cosine, so that the last steps average out the sampling noise.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name="steps",
                            value=repr(steps)))
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the initial weights depend on `seed` only
        torch.manual_seed(seed)
        D = MLPDiscriminator(1, (hidden, hidden))
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.9, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for _ in range(steps):
        x_real, x_fake = p_data.sample(batch_size, gen)[:, None], p_g.sample(batch_size, gen)[:, None]  # (B, 1)
        loss_d = d_loss_standard(D(x_real), D(x_fake))
        opt.zero_grad(set_to_none=True)
        loss_d.backward()
        opt.step()
        schedule.step()
    return D.eval()


@torch.no_grad()
def probability_1d(D: nn.Module, x: Tensor) -> Tensor:
    """sigma(D(x)) of a 1-D discriminator on the points x (shape (N,)), as float64."""
    param = next(D.parameters())
    return torch.sigmoid(D(x[:, None].to(param.dtype).to(param.device))).double().cpu()


def discriminator_error(D: Density, p_data: Density, p_g: Density, x: Tensor | None = None) -> float:
    r"""$E_{x \sim m} |D(x) - D^*(x)| = \int |D - D^*|\, \frac{p_{data} + p_g}{2}\, dx$: the error where samples land.

    D is a probability (a callable or its values); m = (p_data + p_g)/2 is the distribution D is trained on.
    """
    x = _grid(x)
    d, d_star = values(D, x), optimal_discriminator(p_data, p_g)(x)
    return integrate((d - d_star).abs() * (values(p_data, x) + values(p_g, x)) / 2, x)


# -- the generator's gradient as D(G(z)) -> 0 -----------------------------------------------------------
def logit_gradient(loss: Callable[[Tensor], Tensor], logits: Tensor) -> Tensor:
    r"""$\partial L / \partial \ell$ for each logit on its own, by autograd of `loss` applied to a batch of one."""
    return torch.func.vmap(torch.func.grad(lambda l: loss(l.reshape(1))))(logits)


def saturating_gradient(d: Tensor) -> Tensor:
    r"""$\frac{d}{d\ell} \log(1 - \sigma(\ell)) = -\sigma(\ell) = -D$: vanishes as D(G(z)) -> 0."""
    return -d


def nonsaturating_gradient(d: Tensor) -> Tensor:
    r"""$\frac{d}{d\ell} [-\log \sigma(\ell)] = -(1 - \sigma(\ell)) = -(1 - D)$: tends to -1 as D(G(z)) -> 0."""
    return -(1 - d)


# -- LSGAN (Mao et al., 2017) -------------------------------------------------------------------------
def lsgan_optimal_discriminator(p_data: Density, p_g: Density, a: float = -1.0, b: float = 1.0) -> Callable[[Tensor], Tensor]:
    r"""$D^*_{LS} = (b\,p_{data} + a\,p_g)/(p_{data} + p_g)$, the minimizer of $\tfrac12 E_{p_{data}}[(D-b)^2] + \tfrac12 E_{p_g}[(D-a)^2]$.

    Where both densities vanish any D is optimal; we define it as (a + b)/2 there.
    """
    def d_star(x: Tensor) -> Tensor:
        pd, pg = values(p_data, x), values(p_g, x)
        total = pd + pg
        return torch.where(total > 0, (b * pd + a * pg) / torch.where(total > 0, total, 1.0), (a + b) / 2)
    return d_star


def lsgan_d_objective(D: Density, p_data: Density, p_g: Density, a: float = -1.0, b: float = 1.0,
                      x: Tensor | None = None) -> float:
    r"""The LSGAN discriminator's loss $\tfrac12 \int p_{data} (D - b)^2 + p_g (D - a)^2\,dx$ (D minimizes it)."""
    x = _grid(x)
    d = values(D, x)
    return integrate(0.5 * values(p_data, x) * (d - b) ** 2 + 0.5 * values(p_g, x) * (d - a) ** 2, x)


def lsgan_c_of_g(p_data: Density, p_g: Density, a: float = -1.0, b: float = 1.0, c: float = 0.0,
                 x: Tensor | None = None) -> float:
    r"""$C_{LS}(G) = \tfrac12 E_{p_{data}}[(D^*_{LS} - c)^2] + \tfrac12 E_{p_g}[(D^*_{LS} - c)^2]$.

    (The first term does not depend on G; Mao et al. add it so that, when b - c = 1 and b - a = 2,
    $2 C_{LS}(G) = \int \frac{(2p_g - (p_{data} + p_g))^2}{p_{data} + p_g} dx$, a Pearson chi-square divergence.)
    """
    x = _grid(x)
    d = lsgan_optimal_discriminator(p_data, p_g, a, b)(x)
    return integrate(0.5 * (values(p_data, x) + values(p_g, x)) * (d - c) ** 2, x)


def pearson_chi2(p: Density, q: Density, x: Tensor | None = None) -> float:
    r"""$\chi^2_{Pearson}(p \| q) = \int (p - q)^2 / q\,dx$ (0 where both vanish, +inf where q = 0 < p)."""
    x = _grid(x)
    pv, qv = values(p, x), values(q, x)
    ratio = torch.where(qv > 0, (pv - qv) ** 2 / torch.where(qv > 0, qv, 1.0), torch.where(pv > 0, math.inf, 0.0))
    return integrate(ratio, x)


# -- a first look at Wasserstein ---------------------------------------------------------------------
def cdf(p: Density, x: Tensor | None = None) -> Tensor:
    r"""$F(x) = \int_{-\infty}^x p(t)\,dt$ on the grid (cumulative trapezoid, starting at 0 at the grid's left end)."""
    x = _grid(x)
    return F.pad(torch.cumulative_trapezoid(values(p, x), x), (1, 0))


def wasserstein1(p: Density, q: Density, x: Tensor | None = None) -> float:
    r"""$W_1(p, q) = \int |F_p(x) - F_q(x)|\,dx$, the earth mover's distance in 1-D (CDF formula)."""
    x = _grid(x)
    return integrate((cdf(p, x) - cdf(q, x)).abs(), x)


def wasserstein1_samples(a: Tensor, b: Tensor) -> float:
    r"""$W_1$ between two equal-size samples: $\frac1N \sum_i |a_{(i)} - b_{(i)}|$ (match the sorted values)."""
    if a.shape != b.shape or a.dim() != 1:
        raise ValueError(tr("samples must be 1-D and of equal size; got shapes {a} and {b}", a=tuple(a.shape),
                            b=tuple(b.shape)))
    return (a.sort().values - b.sort().values).abs().mean().item()
