"""What a frame of the live lab is made of, and the records that feed it: numbers only, no drawing.

`frame_of` copies what the panes need out of the trainer, between two steps, into a `Frame` of numpy arrays
and floats (D's output on a grid, where G's update pushes its samples, the mode coverage), so the panes never
touch the trainer. `Curves` and `thin_history` keep what a long session records bounded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .config import BCE_LOSSES
from .data.toy import Target2D
from .metrics import EVAL_SAMPLES, evaluate_2d

FRAME_SEED = 1234  # every frame shows G at the same z: points move smoothly, and training's own RNG is left alone


@dataclass
class Frame:
    """One picture of the training: samples, D on a grid, G's push on its samples, the curves, the status."""

    step: int
    steps_per_s: float
    lr_d: float
    lr_g: float
    loss: str  # the loss pair's name: says how to read D's output
    extent: float  # the panes show [-extent, extent]^2
    real: np.ndarray  # (n, 2) real samples
    fake: np.ndarray  # (n, 2) generated samples
    centres: np.ndarray  # (K, 2) mode centres of the target
    heat: np.ndarray  # (R, R) D's output over the grid, row 0 at y = -extent
    arrow_from: np.ndarray  # (m, 2) generated points ...
    arrow_dir: np.ndarray  # (m, 2) ... and -grad_x of G's loss there: where G's update pushes them
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # "step", "loss_d", "loss_g", "d_real", "d_fake"
    coverage: dict[str, float] = field(default_factory=dict)  # metrics.evaluate_2d of 2,500 samples


@torch.no_grad()
def d_grid(D, extent: float, loss: str, resolution: int, device: torch.device) -> np.ndarray:
    """D's output on a resolution x resolution grid over [-extent, extent]^2 (a probability for BCE losses)."""
    axis = torch.linspace(-extent, extent, resolution, device=device)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")  # row i is y = axis[i]: imshow with origin="lower"
    out = D(torch.stack([xx.flatten(), yy.flatten()], dim=1)).view(resolution, resolution)
    return (torch.sigmoid(out) if loss in BCE_LOSSES else out).cpu().numpy()


def g_push(trainer, x: Tensor) -> Tensor:
    """-grad_x of G's loss at generated points x, per sample: where G's update moves each of them.

    G's loss is a mean over the batch; times len(x) it is the sum, whose gradient at x_i is sample i's own.
    Only x is differentiated: D's and G's weights get no gradient.
    """
    x = x.detach().requires_grad_(True)
    loss = trainer.loss.g(trainer.discriminator(x)) * len(x)
    (grad,) = torch.autograd.grad(loss, x)
    return -grad


def frame_of(trainer, target: Target2D, loss: str, curves: Curves, steps_per_s: float,
             coverage: dict | None = None, n_show: int = 512, n_arrows: int = 64, resolution: int = 64) -> Frame:
    """Everything the panes draw, copied out of the trainer into numpy arrays.

    coverage: the last measure of the modes covered, or None to measure it now on 2,500 samples.
    """
    G, D = trainer.generator, trainer.discriminator
    device = next(G.parameters()).device
    z = torch.randn(EVAL_SAMPLES, trainer.z_dim, generator=torch.Generator().manual_seed(FRAME_SEED))
    real = target.sample(n_show, generator=torch.Generator().manual_seed(FRAME_SEED))
    with torch.no_grad():
        fake = G((z[:n_show] if coverage is not None else z).to(device))
    arrows = g_push(trainer, fake[:n_arrows])
    fake = fake.cpu()
    coverage = evaluate_2d(fake, target) if coverage is None else coverage
    return Frame(
        step=trainer.step_count, steps_per_s=steps_per_s, lr_d=trainer.lr_d, lr_g=trainer.lr_g, loss=loss,
        extent=target.extent, real=real.numpy(), fake=fake[:n_show].numpy(),
        centres=target.centres.numpy(), heat=d_grid(D, target.extent, loss, resolution, device),
        arrow_from=fake[:n_arrows].numpy(), arrow_dir=arrows.cpu().numpy(), curves=curves.arrays(),
        coverage=coverage)


class Curves:
    """A callback `(step, metrics)` that keeps the curves' running means in bins of `width` steps.

    When there are 2 * max_bins bins, neighbours merge and the width doubles: memory and drawing time stay
    bounded however long the lab trains.
    """

    KEYS = ("loss_d", "loss_g", "d_real", "d_fake")

    def __init__(self, max_bins: int = 250) -> None:
        self.max_bins, self.width = max_bins, 1
        self.steps: list[int] = []
        self.means: list[list[float]] = []  # one row of KEYS per bin
        self._sum, self._count = [0.0] * len(self.KEYS), 0

    def truncate(self, step: int) -> None:
        """Forget the bins after `step` (the trainer went back to it) and the partly filled bin."""
        keep = sum(1 for s in self.steps if s <= step)
        self.steps, self.means = self.steps[:keep], self.means[:keep]
        self._sum, self._count = [0.0] * len(self.KEYS), 0

    def __call__(self, step: int, metrics: dict) -> None:
        self._sum = [s + metrics[k] for s, k in zip(self._sum, self.KEYS)]
        self._count += 1
        if self._count == self.width:
            self.steps.append(step)
            self.means.append([s / self._count for s in self._sum])
            self._sum, self._count = [0.0] * len(self.KEYS), 0
            if len(self.steps) >= 2 * self.max_bins:
                self.steps = self.steps[1::2]
                pairs = zip(self.means[::2], self.means[1::2])
                self.means = [[(a + b) / 2 for a, b in zip(m0, m1)] for m0, m1 in pairs]
                self.width *= 2

    def arrays(self) -> dict[str, np.ndarray]:
        """The bins as arrays: "step" and one array of means per key of KEYS."""
        means = np.asarray(self.means, dtype=float).reshape(-1, len(self.KEYS))
        return {"step": np.asarray(self.steps, dtype=float), **{k: means[:, i] for i, k in enumerate(self.KEYS)}}


def thin_history(history, max_len: int = 100_000) -> None:
    """Keep a trainer's History bounded: past max_len entries, drop every other one of the older half."""
    n = len(history.steps)
    if n <= max_len:
        return
    half = n // 2
    history.steps[:half] = history.steps[:half:2]
    for values in history.records.values():
        values[:half] = values[:half:2]
