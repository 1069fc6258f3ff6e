r"""Stability fixes of lesson 08 that are neither losses nor penalties: they change D's weights, D's input or
keep a copy of G.

- `clip_weights`: WGAN's weight clipping, $w \leftarrow \mathrm{clamp}(w, -c, c)$ after each critic update
  (Arjovsky et al., 2017): a crude way to keep the critic K-Lipschitz.
- `add_instance_noise`: $\tilde x = x + \sigma\epsilon$, $\epsilon \sim N(0, I)$, on real and generated inputs of D
  alike (Sønderby et al., 2017), so that the two distributions overlap; `annealed_sigma` lets $\sigma$ fall to 0.
- `pack`: PacGAN (Lin et al., 2018): D judges $m$ samples at once; a batch (N, d) becomes (N/m, m·d), so D's first
  layer takes m·d numbers and a collapsed G, whose m samples look alike, is easy to spot.
- `EMA`: an exponential moving average of G's weights, $w_{ema} \leftarrow \beta w_{ema} + (1-\beta) w$
  (Yazıcı et al., 2019); the average sits near the centre of G's late oscillation, where samples are sharper.
- `top_singular_value`: the power iteration that spectral normalization runs (Miyato et al., 2018).
- `LinearDecay`: a finishing schedule of both learning rates.

The trainer builds what it needs once from its configuration: `DInput` (what D is shown) and `weight_constraint`
(what happens to D's weights after its update), so that its steps hold no branches on settings.
"""
from __future__ import annotations

import copy
import functools
from typing import Callable

import torch
from torch import Tensor, nn

from .i18n import tr
from .models import generate


@torch.no_grad()
def clip_weights(model: nn.Module, c: float) -> None:
    """Clamp every parameter of `model` into [-c, c] in place (WGAN's critic after each update)."""
    for p in model.parameters():
        p.clamp_(-c, c)


def add_instance_noise(x: Tensor, sigma: float) -> Tensor:
    r"""$x + \sigma\epsilon$ with $\epsilon \sim N(0, I)$; the same $\sigma$ for real and generated samples."""
    return x + sigma * torch.randn_like(x)


def annealed_sigma(sigma: float, step: int, anneal_steps: int) -> float:
    r"""$\sigma_t = \sigma \max(0, 1 - t/T)$ for T = anneal_steps > 0; the constant $\sigma$ when T = 0."""
    if anneal_steps <= 0:
        return sigma
    return sigma * max(0.0, 1.0 - step / anneal_steps)


def no_constraint(model: nn.Module) -> None:
    """Leave D's weights as its optimizer left them."""


def weight_constraint(clip: float) -> Callable[[nn.Module], None]:
    """What D's weights undergo after each update: clamping into [-clip, clip] for clip > 0, else nothing."""
    return functools.partial(clip_weights, c=clip) if clip > 0 else no_constraint


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN's packing: (N, d) -> (N/m, m*d); row j holds samples j*m, ..., j*m + m - 1 side by side."""
    if len(x) % m:
        raise ValueError(tr("pack={m} does not divide the batch of {n} samples; use a batch that is a multiple of "
                            "pack", m=m, n=len(x)))
    return x.flatten(1).reshape(len(x) // m, -1)


class DInput:
    r"""What D is shown, chosen once from the settings: $x + \sigma_t\epsilon$ (instance noise, annealed by step;
    none while $\sigma_t = 0$), then packed m samples to a row (PacGAN, m > 1). With both off, x itself."""

    def __init__(self, instance_noise: float = 0.0, noise_anneal: int = 0, pack: int = 1):
        self.sigma, self.anneal, self.m = instance_noise, noise_anneal, pack

    def __call__(self, x: Tensor, step: int) -> Tensor:
        sigma = annealed_sigma(self.sigma, step, self.anneal)
        if sigma > 0:  # sigma_t reaches 0 at the end of the annealing: no noise, and no random numbers drawn
            x = add_instance_noise(x, sigma)
        return pack(x, self.m) if self.m > 1 else x

    def __repr__(self) -> str:
        return f"DInput(instance_noise={self.sigma:g}, noise_anneal={self.anneal}, pack={self.m})"


class EMA:
    r"""An exponential moving average of a generator's weights: after each G update, `update(generator)` does
    $w_{ema} \leftarrow \beta w_{ema} + (1 - \beta) w$ for every parameter (buffers, e.g. batch-norm statistics,
    are copied). The average starts as a copy of G; `generator` is the averaged network and `sample(n)` draws from it.
    With `start` = s > 0 the first s updates copy G instead of averaging it, so that the average starts from G's
    weights after s steps, not from its untrained ones (BigGAN's code, `--ema_start`, Brock et al., 2019).
    """

    def __init__(self, generator: nn.Module, beta: float = 0.999, start: int = 0):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0.0 <= beta < 1.0:
            raise ValueError(tr("beta={beta} is not allowed; it must be a number in [0, 1)", beta=repr(beta)))
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(tr("start={start} is not allowed; it must be a whole number >= 0", start=repr(start)))
        self.beta, self.start = float(beta), start
        self.generator = copy.deepcopy(generator).requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """One step of the average towards `generator`'s weights (a copy of them during the first `start` updates);
        its buffers are copied."""
        beta = self.beta if self.updates >= self.start else 0.0
        for w_ema, w in zip(self.generator.parameters(), generator.parameters()):
            w_ema.mul_(beta).add_(w, alpha=1.0 - beta)
        for b_ema, b in zip(self.generator.buffers(), generator.buffers()):
            b_ema.copy_(b)
        self.updates += 1

    def sample(self, n: int, z_dim: int | None = None) -> Tensor:
        """n samples of the averaged generator, on the CPU; z ~ N(0, I) of G's noise dimension. A trainer whose noise
        is not plain N(0, I) (labels, or lesson 06's pieces) samples its average with
        `trainer.sample(n, average=True)`."""
        G = self.generator
        return generate(G, torch.randn(n, z_dim or G.z_dim, device=next(G.parameters()).device))

    def state_dict(self) -> dict:
        """beta, start, the number of updates and the averaged weights."""
        return {"beta": self.beta, "start": self.start, "updates": self.updates, "generator": self.generator.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned (a state saved before `start` existed starts at 0)."""
        self.beta, self.start, self.updates = float(state["beta"]), int(state.get("start", 0)), int(state["updates"])
        self.generator.load_state_dict(state["generator"])


@torch.no_grad()
def top_singular_value(weight: Tensor, iterations: int = 50, seed: int = 0) -> float:
    r"""$\sigma_1(W)$ by power iteration: $v \leftarrow W^\top u / \lVert W^\top u\rVert$,
    $u \leftarrow W v / \lVert W v\rVert$, then $\sigma_1 \approx u^\top W v$ (what spectral norm runs, one step per forward)."""
    W = weight.flatten(1)
    u = torch.randn(W.shape[0], generator=torch.Generator().manual_seed(seed)).to(W)
    for _ in range(iterations):
        v = nn.functional.normalize(W.T @ u, dim=0)
        u = nn.functional.normalize(W @ v, dim=0)
    return float(u @ W @ v)


def linear_weights(model: nn.Module) -> list[Tensor]:
    """The weight matrices that D's linear layers use in a forward pass (the normalized ones under spectral norm)."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


class LinearDecay:
    r"""A callback `(step, metrics)` that lowers both learning rates linearly to 0 over the last `fraction` of a run
    of `n_steps`: $\eta_t = \eta_0 \min(1, (n - t)/(f n))$. Late, small steps let G settle on the modes instead of
    jittering around them by a few $\sigma$. It sets the optimizers' rates; the trainer's configuration keeps $\eta_0$."""

    def __init__(self, trainer, n_steps: int, fraction: float):
        self.optimizers = (trainer.opt_d, trainer.opt_g)
        self.n_steps, self.fraction = n_steps, fraction
        self.lrs, self.start = (trainer.lr_d, trainer.lr_g), trainer.step_count

    def factor(self, step: int) -> float:
        r"""$\min(1, (n - t)/(f n))$, kept above 0.001 so that the last steps still move."""
        left = self.n_steps - (step - self.start)
        return min(1.0, max(left, 1e-3 * self.fraction * self.n_steps) / (self.fraction * self.n_steps))

    def __call__(self, step: int, metrics: dict) -> None:
        f = self.factor(step)
        for optimizer, lr in zip(self.optimizers, self.lrs):
            for group in optimizer.param_groups:
                group["lr"] = lr * f
