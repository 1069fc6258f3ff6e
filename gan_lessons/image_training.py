"""Training the DCGAN of lesson 06 on MNIST: its settings, a trainer built from them, and a stopwatch that
measures the training time until the samples are recognizable digits.

Speed comes from the data path and memory layout, not from changing the algorithm: the whole training set
sits on the training device as one tensor and batches are drawn there by index (`data.BatchSampler`: no
DataLoader, no per-batch copies); the models and images use the channels-last layout (convolutions on a
CPU ran about 1.25x faster with it here); the trainer zeroes gradients with `set_to_none`, runs a fused Adam and
skips D's weight gradients in G's step. On CUDA only, the forward passes may run in bfloat16 (autocast)
and the models may be compiled (`nn.Module.compile`, which keeps the checkpoint's parameter names).
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import DEVICE_NAMES, _check_choice, check_float, check_int, get_device, seed_everything
from .data.images import BatchSampler, to_unit_range
from .data.mnist import load_mnist_for_training
from .models import DCGANDiscriminator, DCGANGenerator, dcgan_init
from .training import GANTrainer

AMP_NAMES = ("auto", "bf16", "none")  # "auto": bfloat16 autocast on a CUDA GPU that supports it, else none


@dataclass(frozen=True)
class DCGANConfig:
    """Settings of lesson 06's DCGAN; change them with `dataclasses.replace(cfg, width=32)`."""

    z_dim: int = 100  # noise dimension, as in Radford et al. (2016)
    width: int = 16  # channels: G has 4w -> 2w -> 1, D has w -> 2w -> 1; 16 trains to digits fastest on a CPU
    batch_size: int = 64  # real images (and as many generated) per step, PyTorch's DCGAN example's choice
    lr_d: float = 5e-4  # Adam learning rate of D; DCGAN's 2e-4 works too, but slower per second of CPU
    lr_g: float = 5e-4  # Adam learning rate of G
    beta1: float = 0.5  # DCGAN's Adam momentum: 0.5 instead of 0.9 damps the oscillation of the game
    beta2: float = 0.999  # Adam's second-moment decay, the usual default
    seed: int = 0  # seeds the weights, the noise and the batches
    device: str = "auto"  # one of DEVICE_NAMES; "auto" picks cuda, then mps, then cpu
    amp: str = "auto"  # one of AMP_NAMES: bfloat16 forward passes on CUDA only (CPUs stay in float32)
    compile: bool = False  # torch.compile the models on CUDA (a minute of compiling, then faster steps)

    def __post_init__(self) -> None:
        for name, high in (("z_dim", 1024), ("width", 512), ("batch_size", 65536)):
            check_int(name, getattr(self, name), 1, high)
        for name in ("lr_d", "lr_g"):
            check_float(name, getattr(self, name), 0.0, 1.0)
        for name in ("beta1", "beta2"):
            check_float(name, getattr(self, name), 0.0, 0.9999, include_low=True)
        check_int("seed", self.seed, 0, 2**32 - 1)
        _check_choice("device", self.device, DEVICE_NAMES)
        _check_choice("amp", self.amp, AMP_NAMES)
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile={self.compile!r} is not allowed; it must be True or False")

    def arch(self) -> dict:
        """What `python -m gan_lessons evaluate` needs to rebuild G from a checkpoint: the "arch" entry."""
        return {"generator": "dcgan", "z_dim": self.z_dim, "width": self.width}


class ImageGANTrainer(GANTrainer):
    """A GANTrainer whose steps run under bfloat16 autocast when `autocast_dtype` is set (CUDA only)."""

    autocast_dtype: torch.dtype | None = None

    def step(self) -> dict[str, float]:
        if self.autocast_dtype is None:
            return super().step()
        with torch.autocast("cuda", dtype=self.autocast_dtype):  # matmuls and convs in bf16, sums in fp32
            return super().step()


def mnist_images(device: torch.device | str = "cpu") -> tuple[Tensor, str]:
    """The MNIST split to train on as one (N, 1, 28, 28) tensor in [-1, 1] on `device`, channels-last, and its name."""
    images, _, split = load_mnist_for_training()
    return to_channels_last(to_unit_range(images).to(device)), split


def to_channels_last(x: Tensor) -> Tensor:
    """(N, C, H, W) stored as N, H, W, C: the layout the CPU's (oneDNN) and GPU's convolutions prefer."""
    return x.contiguous(memory_format=torch.channels_last)


def dcgan_models(cfg: DCGANConfig, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """G and D of the given width, DCGAN-initialized (N(0, 0.02)), channels-last, on `device`."""
    generator, discriminator = DCGANGenerator(cfg.z_dim, cfg.width), DCGANDiscriminator(cfg.width)
    for model in (generator, discriminator):
        model.apply(dcgan_init)
        model.to(device=device, memory_format=torch.channels_last)
    return generator, discriminator


def _autocast_dtype(cfg: DCGANConfig, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or cfg.amp == "none":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else None


def make_dcgan_trainer(cfg: DCGANConfig = DCGANConfig(), images: Tensor | None = None) -> ImageGANTrainer:
    """A trainer for the DCGAN of `cfg` on `images` (default: MNIST), everything on the device `cfg` names."""
    device = get_device(cfg.device)
    seed_everything(cfg.seed)
    x = mnist_images(device)[0] if images is None else to_channels_last(images.to(device))
    generator, discriminator = dcgan_models(cfg, device)
    if cfg.compile and device.type == "cuda":
        generator.compile()  # in place: the state_dict keeps its names, so checkpoints stay portable
        discriminator.compile()
    trainer = ImageGANTrainer(generator, discriminator, BatchSampler(x, cfg.batch_size, seed=cfg.seed),
                              z_dim=cfg.z_dim, lr_d=cfg.lr_d, lr_g=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    trainer.autocast_dtype = _autocast_dtype(cfg, device)
    return trainer


# -- when are the samples digits? -------------------------------------------------------------------
CLASSES_NEEDED, MIN_CONFIDENCE, MAX_KL = 10, 0.9, 0.05  # the criterion of "recognizable digits"


def digit_scores(probs: Tensor) -> dict[str, float]:
    r"""From a classifier's p(y | x) (N, 10) of generated images: classes present (argmax), mean confidence
    $\frac1N \sum_i \max_y p(y | x_i)$, and $KL(h \,\|\, U) = \sum_y h_y \log(10 h_y)$ of the class histogram h."""
    hist = torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1]).double() / len(probs)
    kl = (hist[hist > 0] * (hist[hist > 0] * probs.shape[1]).log()).sum().item()
    return {"classes": int((hist > 0).sum()), "confidence": probs.max(dim=1).values.mean().item(), "kl": kl}


def unsure_masks(probs: Tensor, unsure_below: float = 0.8, pair_mass: float = 0.9) -> tuple[Tensor, Tensor]:
    """Two boolean masks (N,) over p(y | x) (N, 10): the samples whose top class has p < `unsure_below`, and those
    of them whose two top classes together hold at least `pair_mass` (an image halfway between two digits)."""
    check_float("unsure_below", unsure_below, 0.0, 1.0)
    check_float("pair_mass", pair_mass, 0.0, 1.0)
    top = probs.topk(2, dim=1).values
    unsure = top[:, 0] < unsure_below
    return unsure, unsure & (top.sum(dim=1) >= pair_mass)


def undecided(probs: Tensor, unsure_below: float = 0.8, pair_mass: float = 0.9) -> dict:
    """Where the missing confidence goes (see `unsure_masks`): `unsure` is the fraction of the samples the classifier
    is unsure of, `between_two` the fraction of those between two digits (a 4 that is also a 9), and `pairs` counts
    those by class pair, commonest first."""
    unsure, between = unsure_masks(probs, unsure_below, pair_mass)
    pairs = Counter(f"{a}|{b}" for a, b in probs.topk(2, dim=1).indices[between].sort(dim=1).values.tolist())
    n_unsure = int(unsure.sum())
    return {"unsure": n_unsure / len(probs), "between_two": int(between.sum()) / max(n_unsure, 1),
            "pairs": dict(pairs.most_common())}


def recognizable(scores: dict[str, float]) -> bool:
    """All 10 classes present, mean confidence >= 0.9 and the class histogram within KL 0.05 of uniform."""
    return (scores["classes"] >= CLASSES_NEEDED and scores["confidence"] >= MIN_CONFIDENCE
            and scores["kl"] < MAX_KL)


class DigitClock:
    """A callback that measures training time and, every `every` seconds of it, scores `n` samples of G
    (fixed noise, G in eval mode) with the classifier. The time spent scoring is not counted.

    `reached` is the training time (seconds) of the first evaluation that met `recognizable`, or None.
    """

    def __init__(self, trainer: GANTrainer, classifier: nn.Module, every: float = 5.0, n: int = 1000, seed: int = 1):
        check_float("every", every, 0.0, 1e6)
        check_int("n", n, 10, 10**6)
        self.trainer, self.classifier, self.every = trainer, classifier, every
        self.z = torch.randn(n, trainer.z_dim, generator=torch.Generator().manual_seed(seed))
        self.seconds, self.reached, self.log = 0.0, None, []
        self._last, self._next = time.perf_counter(), every

    def start(self) -> None:
        """Restart the stopwatch now (call before training, after any set-up)."""
        self._last = time.perf_counter()

    def __call__(self, step: int, metrics: dict | None = None) -> None:
        now = time.perf_counter()
        self.seconds += now - self._last
        if self.seconds >= self._next:
            self.evaluate(step)
            self._next = self.seconds + self.every
        self._last = time.perf_counter()  # the evaluation's own time is left out

    def evaluate(self, step: int) -> dict:
        from .classifier import predict_proba  # the classifier belongs to the metrics, further down the flow

        scores = {"step": step, "seconds": self.seconds, **digit_scores(predict_proba(self.classifier, self.images()))}
        self.log.append(scores)
        if self.reached is None and recognizable(scores):
            self.reached = self.seconds
        return scores

    def images(self) -> Tensor:
        """G(z) for the clock's fixed z (see `generate`)."""
        return generate(self.trainer.generator, self.z)


@torch.no_grad()
def generate(generator: nn.Module, z: Tensor) -> Tensor:
    """G(z) on the CPU, float32, in eval mode (batch norm uses its running statistics), G's mode then restored."""
    was_training = generator.training
    generator.eval()
    x = generator(z.to(next(generator.parameters()).device)).float().cpu().contiguous()
    generator.train(was_training)
    return x


def interpolate(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    r"""`steps` points on the straight line from z0 to z1: $z_t = (1 - t) z_0 + t z_1$, t = 0, ..., 1."""
    check_int("steps", steps, 2, 10**6)
    t = torch.linspace(0.0, 1.0, steps, device=z0.device)[:, None]
    return (1 - t) * z0.flatten()[None] + t * z1.flatten()[None]


def slerp(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    r"""Spherical interpolation (White, 2016): $z_t = \frac{\sin((1-t)\Omega)}{\sin\Omega} z_0
    + \frac{\sin(t\Omega)}{\sin\Omega} z_1$ with $\cos\Omega = \hat z_0 \cdot \hat z_1$; it keeps $\lVert z_t \rVert$
    near $\sqrt{d}$, where Gaussian noise lives, while the straight line passes closer to 0."""
    check_int("steps", steps, 2, 10**6)
    a, b = z0.flatten(), z1.flatten()
    omega = torch.arccos((a / a.norm()).dot(b / b.norm()).clamp(-1.0, 1.0))
    t = torch.linspace(0.0, 1.0, steps, device=z0.device)[:, None]
    if omega.abs() < 1e-6:  # parallel vectors: the straight line is the arc
        return interpolate(z0, z1, steps)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / math.sin(omega.item())
