"""Pictures for the lessons. Each function takes data and `ax=None`, draws, and returns the axes.

None of them calls `plt.show()`: a notebook shows the figure at the end of the cell.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from .i18n import tr

REAL_COLOUR, FAKE_COLOUR = "#1f77b4", "#ff7f0e"


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(4.5, 4.5))[1]


def scatter_2d(real: Tensor | None, fake: Tensor | None, ax=None, extent: float | None = None,
               centres: Tensor | None = None, title: str | None = None):
    """Real (blue) and generated (orange) 2-D samples, optional mode centres as black crosses."""
    ax = _axes(ax)
    for x, colour, label in ((fake, FAKE_COLOUR, tr("generated")), (real, REAL_COLOUR, tr("real"))):  # real on top
        if x is not None:
            x = torch.as_tensor(x).detach().cpu()
            ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.5, c=colour, label=label, linewidths=0)
    if centres is not None:
        ax.scatter(centres[:, 0], centres[:, 1], marker="+", c="k", s=12, lw=0.8, label=tr("mode centres"))
    if extent is not None:
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=2)
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def d_heatmap(discriminator, extent: float, ax=None, resolution: int = 120, device=None):
    """D's probability sigma(D(x)) that x is real, over the square [-extent, extent]^2."""
    ax = _axes(ax)
    device = device or next(discriminator.parameters()).device
    axis = torch.linspace(-extent, extent, resolution)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([xx.flatten(), yy.flatten()], dim=1).to(device)
    prob = torch.sigmoid(discriminator(grid)).view(resolution, resolution).cpu()
    image = ax.imshow(prob, origin="lower", extent=(-extent, extent, -extent, extent), cmap="RdBu",
                      vmin=0, vmax=1, alpha=0.6)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, label=tr("D(x) = P(real)"))
    return ax


def loss_curves(history, ax=None, keys: tuple[str, ...] = ("loss_d", "loss_g"), smooth: int = 1):
    """Losses over training steps from a `History`; `smooth` > 1 draws a moving average too."""
    ax = _axes(ax)
    for key in keys:
        values = np.asarray(history[key], dtype=float)
        ax.plot(history.steps, values, lw=0.8, alpha=0.4 if smooth > 1 else 1.0, label=key)
        if smooth > 1 and len(values) >= smooth:
            avg = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            label = tr("{key} (mean of {smooth})", key=key, smooth=smooth)
            ax.plot(history.steps[smooth - 1:], avg, lw=1.5, label=label)
    ax.set_xlabel(tr("step"))
    ax.legend(fontsize=7)
    return ax


def image_grid(images: Tensor, nrow: int = 8, ax=None, title: str | None = None):
    """A grid of (N, 1, H, W) images in [-1, 1], nrow per row, in grey."""
    ax = _axes(ax)
    x = torch.as_tensor(images).detach().cpu().float().clamp(-1, 1)
    n, _, h, w = x.shape
    rows = -(-n // nrow)
    canvas = torch.ones(rows * (h + 1) + 1, nrow * (w + 1) + 1)
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = x[i, 0]
    ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def coverage_title(metrics: dict) -> str:
    """'7/8 modes, 91.2% high quality, reverse KL 0.04' from a mode_coverage dict."""
    return tr("{modes} modes, {hq:.1f}% high quality, reverse KL {rkl:.2f}", **metrics)
