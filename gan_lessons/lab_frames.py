"""The live lab's numbers and rules, with no widgets and no drawing: its frames, its controls' domains, one guarded
update.

`frame_of` copies what the panes need out of the trainer, between two steps, into a `Frame` of numpy arrays
and floats (D's output on a grid, where G's update pushes its samples, G's image of a grid of the noise plane,
the mode coverage and KL and JS on a grid), so the panes never touch the trainer. `Meter` decides how often the
costlier numbers are measured. `Curves` and `thin_history` keep what a long session records bounded.
`control_domains` says which values each control offers (lab.py builds the widgets from it) and `check_setting`
which it takes; `guarded_update` is step D and step G under the guard.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .config import BCE_LOSSES, LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig, replace
from .data.toy import Target2D
from .fixes import pack
from .guard import DivergenceError, Snapshot, diverged_message, finite_weights, likely_cause
from .i18n import tr
from .metrics import EVAL_SAMPLES, evaluate_2d, grid_divergences

FRAME_SEED = 1234  # every frame shows G at the same z: points move smoothly, and training's own RNG is left alone
DIVERGENCE_BINS = 20  # frames estimate KL and JS on a DIVERGENCE_BINS x DIVERGENCE_BINS grid


@dataclass
class Frame:
    """One picture of the training: samples, D on a grid, G's push on its samples, G's manifold, the curves, the
    status."""

    step: int
    steps_per_s: float
    lr_d: float
    lr_g: float
    loss: str  # the loss pair's name: says how to read D's output
    pack: int  # PacGAN's m: D judges packs of m samples (the heatmap shows packs of m copies of a point)
    extent: float  # the panes show [-extent, extent]^2
    real: np.ndarray  # (n, 2) real samples
    fake: np.ndarray  # (n, 2) generated samples
    centres: np.ndarray  # (K, 2) mode centres of the target
    heat: np.ndarray  # (R, R) D's output over the grid, row 0 at y = -extent
    arrow_from: np.ndarray  # (m, 2) generated points ...
    arrow_dir: np.ndarray  # (m, 2) ... and -grad_x of G's loss there: where G's update pushes them
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # "step", "loss_d", "loss_g", "d_real", "d_fake"
    coverage: dict[str, float] = field(default_factory=dict)  # evaluate_2d of 2,500 samples, kl_grid and js_grid
    manifold: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2)))  # G's image of a grid of z: `manifold`
    z_dim: int = 2  # the noise dimension: says which slice of the noise space `manifold` shows


@torch.no_grad()
def d_grid(D, extent: float, loss: str, resolution: int, device: torch.device, m: int = 1) -> np.ndarray:
    """D's output on a resolution x resolution grid over [-extent, extent]^2 (a probability for BCE losses).

    A packed D (PacGAN, m > 1) judges m samples at once: each grid point is shown to it as a pack of m copies of
    itself, so the heatmap reads "how real D finds m samples that all sit at x".
    """
    axis = torch.linspace(-extent, extent, resolution, device=device)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")  # row i is y = axis[i]: imshow with origin="lower"
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    out = D(points.repeat(1, m)).view(resolution, resolution)  # (R^2, 2m): m copies side by side, as `pack` lays them
    return (torch.sigmoid(out) if loss in BCE_LOSSES else out).cpu().numpy()


@torch.no_grad()
def manifold(G, z_dim: int, device: torch.device, lines: int = 11, points: int = 41,
             half_width: float = 2.5) -> np.ndarray:
    """G's image of a grid of the noise plane, (2 * lines, points, 2): how G warps the plane of (z1, z2).

    Rows 0 .. lines-1 are lines of constant z1 (z2 runs over [-half_width, half_width] at `points` points), the
    next `lines` rows lines of constant z2. With z_dim > 2 the other coordinates are 0: a 2-D slice of the noise
    space. With z_dim = 1 it is the image of the noise line, (1, points, 2). G stays in the mode it is in.
    """
    for name, value, low in (("z_dim", z_dim, 1), ("lines", lines, 1), ("points", points, 2)):
        if not isinstance(value, int) or value < low:
            raise ValueError(tr("{name}={value} is not allowed; it must be an integer >= {low}", name=name,
                                value=repr(value), low=low))
    along = torch.linspace(-half_width, half_width, points, device=device)
    if z_dim == 1:
        return G(along[:, None]).reshape(1, points, 2).cpu().numpy()
    fixed, running = torch.meshgrid(torch.linspace(-half_width, half_width, lines, device=device), along,
                                    indexing="ij")  # (lines, points): `fixed` is constant along a line
    z = torch.zeros(2, lines, points, z_dim, device=device)
    z[0, ..., 0], z[0, ..., 1] = fixed, running  # z1 fixed on each line
    z[1, ..., 0], z[1, ..., 1] = running, fixed  # z2 fixed on each line
    return G(z.view(-1, z_dim)).reshape(2 * lines, points, 2).cpu().numpy()


def g_push(trainer, x: Tensor) -> Tensor:
    """-grad_x of G's loss at generated points x, per sample: where G's update moves each of them.

    D sees x packed as in training (PacGAN: m samples to a row, len(x) a multiple of m), without instance noise.
    G's loss is a mean over the rows; times the number of rows it is the sum, whose gradient at x_i is that of
    the term of x_i's own row. Only x is differentiated: D's and G's weights get no gradient.
    """
    x = x.detach().requires_grad_(True)
    rows = pack(x, trainer.config.pack)  # (len(x)/m, 2m); x itself when m = 1
    loss = trainer.loss.g(trainer.discriminator(rows)) * len(rows)
    (grad,) = torch.autograd.grad(loss, x)
    return -grad


def frame_of(trainer, target: Target2D, loss: str, curves: Curves, steps_per_s: float,
             coverage: dict | None = None, n_show: int = 512, n_arrows: int = 64, resolution: int = 64) -> Frame:
    """Everything the panes draw, copied out of the trainer into numpy arrays.

    coverage: the last measure of the modes covered, or None to measure it now on 2,500 samples, with KL and JS
    against 2,500 real samples on a grid (metrics.grid_divergences, "kl_grid" and "js_grid"). The arrows are
    drawn on n_arrows samples, fewer when a pack of m does not divide them (at least m).
    """
    G, D, m = trainer.generator, trainer.discriminator, trainer.config.pack
    device = next(G.parameters()).device
    z = torch.randn(EVAL_SAMPLES, trainer.z_dim, generator=torch.Generator().manual_seed(FRAME_SEED))
    real = target.sample(n_show, generator=torch.Generator().manual_seed(FRAME_SEED))
    with torch.no_grad():
        fake = G((z[:n_show] if coverage is not None else z).to(device))
    n_arrows = max(n_arrows - n_arrows % m, m)  # whole packs
    arrows = g_push(trainer, fake[:n_arrows])
    fake = fake.cpu()
    coverage = measure_coverage(fake, target) if coverage is None else coverage
    return Frame(
        step=trainer.step_count, steps_per_s=steps_per_s, lr_d=trainer.lr_d, lr_g=trainer.lr_g, loss=loss, pack=m,
        extent=target.extent, real=real.numpy(), fake=fake[:n_show].numpy(),
        centres=target.centres.numpy(), heat=d_grid(D, target.extent, loss, resolution, device, m),
        arrow_from=fake[:n_arrows].numpy(), arrow_dir=arrows.cpu().numpy(), curves=curves.arrays(),
        coverage=coverage, manifold=manifold(G, trainer.z_dim, device), z_dim=trainer.z_dim)


def measure_coverage(fake: Tensor, target: Target2D) -> dict[str, float]:
    """evaluate_2d of the generated samples, with "kl_grid" and "js_grid": KL(real || G) and JS against as many
    real samples (drawn at FRAME_SEED) on a DIVERGENCE_BINS x DIVERGENCE_BINS grid over the panes' square."""
    real = target.sample(len(fake), generator=torch.Generator().manual_seed(FRAME_SEED))
    grid = grid_divergences(real, fake, target.extent, bins=DIVERGENCE_BINS)
    return {**evaluate_2d(fake, target), "kl_grid": grid["kl"], "js_grid": grid["js"]}


class Meter:
    """When a frame measures: steps per second over the last half second or more, and the mode coverage (2,500
    samples) at most once a second while training, at once otherwise."""

    def __init__(self) -> None:
        self.rate = (time.perf_counter(), 0, 0.0)  # (when, step, steps per second) of the last measure
        self.coverage: tuple[float, dict] = (-1.0, {})  # (when, mode coverage) of the last measure

    def frame(self, trainer, target: Target2D, loss: str, curves: Curves, training: bool) -> Frame:
        """The trainer's frame, with the rate and the coverage measured when they are due."""
        now, (then, step, rate) = time.perf_counter(), self.rate
        if now - then >= 0.5:
            self.rate = (now, trainer.step_count, max(trainer.step_count - step, 0) / (now - then))
        measure = now - self.coverage[0] >= 1.0 or trainer.step_count == 0 or not training
        frame = frame_of(trainer, target, loss, curves, self.rate[2], None if measure else self.coverage[1])
        self.coverage = (now, frame.coverage) if measure else self.coverage
        return frame


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


# -- the controls ----------------------------------------------------------------------------------------------------
SETTINGS = ("target", "loss", "lr_d", "lr_g", "z_dim", "batch_size", "d_steps", "regularizer", "reg_weight")
BATCH_SIZES = (32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class Domain:
    """The values a control takes: one of `options` (a dropdown), or a number from `low` to `high`, an integer
    (a slider) or not (a slider over powers of 10)."""

    options: tuple = ()
    low: float = 0.0
    high: float = 0.0
    integer: bool = False

    def check(self, name: str, value) -> None:
        """ValueError naming the control and what it takes, unless `value` is in the domain."""
        if self.options:
            if isinstance(value, bool) or value not in self.options:
                raise ValueError(tr("{name}={value} is not allowed; allowed values: {allowed}", name=name,
                                    value=repr(value), allowed=", ".join(map(str, self.options))))
            return
        kind = int if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or not self.low <= value <= self.high:
            if self.integer:
                raise ValueError(tr("{name}={value} is not allowed; the lab's control takes an integer from {low:g} "
                                    "to {high:g}", name=name, value=repr(value), low=self.low, high=self.high))
            raise ValueError(tr("{name}={value} is not allowed; the lab's control takes a number from {low:g} to "
                                "{high:g}", name=name, value=repr(value), low=self.low, high=self.high))


def powers_of_ten(*values: float) -> Domain:
    """Numbers from a power of 10 to another that hold every positive value given."""
    positive = [v for v in values if v > 0]
    return Domain(low=10.0 ** math.floor(math.log10(min(positive))), high=10.0 ** math.ceil(math.log10(max(positive))))


def control_domains(cfg: TrainConfig) -> dict[str, Domain]:
    """What each control offers in a lab that starts from `cfg`: the usual ranges, widened to hold cfg's values,
    and only the batch sizes that split into whole packs."""
    lrs = powers_of_ten(1e-5, 0.1, cfg.lr_d, cfg.lr_g)
    batch_sizes = sorted({*(b for b in BATCH_SIZES if b % cfg.pack == 0), cfg.batch_size})
    return {"target": Domain(TARGET_NAMES), "loss": Domain(LOSS_NAMES), "lr_d": lrs, "lr_g": lrs,
            "z_dim": Domain(low=1, high=max(16, cfg.z_dim), integer=True), "batch_size": Domain(tuple(batch_sizes)),
            "d_steps": Domain(low=1, high=max(5, cfg.d_steps), integer=True), "regularizer": Domain(REGULARIZER_NAMES),
            "reg_weight": powers_of_ten(1e-3, 100.0, cfg.reg_weight)}


def check_setting(cfg: TrainConfig, domains: dict[str, Domain], name: str, value) -> None:
    """ValueError naming the control `name` unless its domain holds `value` and the configuration `cfg` allows it."""
    if name not in domains:
        raise ValueError(tr("{name} is not a control of the lab; allowed: {allowed}", name=repr(name),
                            allowed=", ".join(domains)))
    domains[name].check(name, value)
    try:
        replace(cfg, **{name: value})  # the configuration's own checks (ValueError naming the parameter)
    except ValueError as error:  # one that names another setting (label_smoothing): name the control first
        if str(error).startswith(f"{name}="):
            raise
        raise ValueError(tr("{name}={value} is not allowed with these settings: {error}", name=name,
                            value=repr(value), error=error)) from None


def guarded_update(trainer, update: Callable[[], dict[str, float]]) -> tuple[dict[str, float], DivergenceError | None]:
    """`update()` (one update of D or of G alone) under the guard's rule: when it leaves a loss or a weight
    non-finite, the weights of before it are put back, and the error says what happened; else the error is None."""
    before = Snapshot.take(trainer)
    metrics = update()
    if all(map(math.isfinite, metrics.values())) and finite_weights(trainer.generator, trainer.discriminator):
        return metrics, None
    before.restore(trainer)
    message = diverged_message(trainer.step_count, metrics, before.step, likely_cause(trainer))
    return metrics, DivergenceError(message, trainer.step_count, before.step)
