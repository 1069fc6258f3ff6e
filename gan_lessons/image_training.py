"""Training on MNIST: lesson 06's DCGAN and its MLP GAN for digits within a minute on a CPU (their settings, a trainer
built from each) and lesson 09's conditional GAN.

Speed comes from the data path and memory layout, not from changing the algorithm: the whole training set
sits on the training device as one tensor and batches are drawn there by index (`data.BatchSampler`: no
DataLoader, no per-batch copies); the models and images use the channels-last layout (convolutions on a
CPU ran about 1.25x faster with it here); the trainer zeroes gradients with `set_to_none`, runs a fused Adam,
skips D's weight gradients in G's step and runs G by `DCGANGenerator.fast_cpu_forward` on a CPU. On CUDA only,
the forward passes may run in bfloat16 (autocast) and the models may be compiled (`nn.Module.compile`, which keeps
the checkpoint's parameter names).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .config import AMP_NAMES, DEVICE_NAMES, MODEL, RUN, GANConfig, get_device, seed_everything, setting
from .data.images import BatchSampler, to_unit_range
from .data.mnist import load_mnist_for_training
from .models import (ConditionalMLPDiscriminator, ConditionalMLPGenerator, DCGANDiscriminator, DCGANGenerator,
                     ImageMLPGenerator, ProjectionDiscriminator, dcgan_init, image_mlp_discriminator)
from .latent import PiecesNoise
from .training import GANTrainer


@dataclass(frozen=True)
class DCGANConfig(GANConfig):
    """Settings of lesson 06's DCGAN: the loop's (GANConfig, with DCGAN's defaults) and the model's, batch, seed,
    device and GPU options; change them with `dataclasses.replace(cfg, width=32)`."""

    z_dim: int = setting(100, "noise dimension, as in Radford et al. (2016)", kind=MODEL, low=1, high=1024)
    lr_d: float = setting(5e-4, "Adam learning rate of D; DCGAN's 2e-4 works too, but slower per second of CPU",
                          low=0.0, high=1.0, include_low=False)
    lr_g: float = setting(5e-4, "Adam learning rate of G", low=0.0, high=1.0, include_low=False)
    width: int = setting(16, "channels: G has 4w -> 2w -> 1, D has w -> 2w -> 1; 16 trains to digits fastest on a "
                             "CPU", kind=MODEL, low=1, high=512)
    batch_size: int = setting(64, "real images (and as many generated) per step, PyTorch's DCGAN example's choice",
                              kind="data", low=1, high=65536)
    seed: int = setting(0, "seeds the weights, the noise and the batches", kind=RUN, low=0, high=2**32 - 1)
    device: str = setting("auto", "auto picks cuda, then mps, then cpu", kind=RUN, choices=DEVICE_NAMES)
    amp: str = setting("auto", "bfloat16 forward passes on CUDA only (CPUs stay in float32)", kind=RUN,
                       choices=AMP_NAMES)
    compile: bool = setting(False, "torch.compile the models on CUDA (a minute of compiling, then faster steps)",
                            kind=RUN)

    def arch(self) -> dict:
        """What `python -m gan_lessons evaluate` needs to rebuild G from a checkpoint: the "arch" entry."""
        return {"generator": "dcgan", "z_dim": self.z_dim, "width": self.width}


@dataclass(frozen=True)
class MLPDigitsConfig(GANConfig):
    """Settings of lesson 06's model for recognizable digits within a minute on a laptop CPU: lesson 05's MLP GAN
    with a wider G (110 -> w -> 2w -> 784, tanh) reading noise made of 10 pieces, D 784 -> 256 -> 128 -> 1, Adam 1e-3
    without momentum, and samples drawn from an average of G's weights. `python -m benchmarks.digits_study` chose it
    over lesson 06's DCGAN and 29 other candidates, on the same clock and scorer (benchmarks/digits_study.md)."""

    z_dim: int = setting(110, "G's input: 100 Gaussian numbers, then the `pieces` numbers that name a piece",
                         kind=MODEL, low=2, high=1024)
    pieces: int = setting(10, "the noise is made of this many separate pieces (latent.PiecesNoise): z = [g, "
                              "scale * onehot(c)], c uniform", kind=MODEL, low=1, high=1000)
    piece_scale: float = setting(4.0, "how far apart the pieces lie (g has standard deviation 1)", kind=MODEL,
                                 low=0.0, high=100.0, include_low=False)
    width: int = setting(256, "G's first hidden layer; its second has 2w (the source articles' G has w = 128)",
                         kind=MODEL, low=1, high=4096)
    lr_d: float = setting(1e-3, "Adam learning rate of D", low=0.0, high=1.0, include_low=False)
    lr_g: float = setting(1e-3, "Adam learning rate of G", low=0.0, high=1.0, include_low=False)
    beta1: float = setting(0.0, "Adam's momentum: 0, as Miyato et al. (2018) train, scored higher than DCGAN's 0.5 "
                                "here", low=0.0, high=0.9999)
    ema: float = setting(0.999, "beta of the average of G's weights that draws the samples (lesson 08's EMA)",
                         low=0.0, high=0.99999)
    batch_size: int = setting(64, "real images (and as many generated) per step", kind="data", low=1, high=65536)
    seed: int = setting(0, "seeds the weights, the noise and the batches", kind=RUN, low=0, high=2**32 - 1)
    device: str = setting("auto", "auto picks cuda, then mps, then cpu", kind=RUN, choices=DEVICE_NAMES)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pieces >= self.z_dim:
            raise ValueError(f"pieces={self.pieces} is not allowed; it must be below z_dim={self.z_dim}, which counts "
                             "the Gaussian numbers and the pieces' numbers together")

    def arch(self) -> dict:
        """What `python -m gan_lessons evaluate` needs to rebuild G from a checkpoint: the "arch" entry."""
        return {"generator": "mlp", "z_dim": self.z_dim, "widths": [self.width, 2 * self.width]}


class PiecesGANTrainer(GANTrainer):
    """A GANTrainer whose G reads noise made of pieces (`latent.PiecesNoise`, as its MLPDigitsConfig says)."""

    def _use(self, config: MLPDigitsConfig) -> None:
        super()._use(config)
        self.latent = PiecesNoise(config.z_dim - config.pieces, config.pieces, config.piece_scale)


class ImageGANTrainer(GANTrainer):
    """A GANTrainer whose steps run under bfloat16 autocast when `autocast_dtype` is set (CUDA only)."""

    autocast_dtype: torch.dtype | None = None

    def step(self) -> dict[str, float]:
        """GANTrainer.step, under autocast when `autocast_dtype` is set."""
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
    trainer = ImageGANTrainer(generator, discriminator, BatchSampler(x, cfg.batch_size, seed=cfg.seed), cfg)
    trainer.autocast_dtype = _autocast_dtype(cfg, device)
    return trainer


def make_mlp_digits_trainer(cfg: MLPDigitsConfig = MLPDigitsConfig(), images: Tensor | None = None,
                            hand_written_backward: bool = True) -> GANTrainer:
    """A trainer for the MLP GAN of `cfg` on `images` (default: MNIST), everything on the device `cfg` names; sample
    the average of G's weights with `trainer.sample(n, average=True)`. On a CPU its steps run with the backward pass
    written by hand (fast_mlp.py: the same updates up to float rounding, about 1.25 times the steps a second; `make
    bench` measures both); `hand_written_backward=False` trains with autograd."""
    device = get_device(cfg.device)
    seed_everything(cfg.seed)
    x = mnist_images(device)[0] if images is None else to_channels_last(images.to(device))
    generator = ImageMLPGenerator(cfg.z_dim, (cfg.width, 2 * cfg.width)).to(device)
    discriminator = image_mlp_discriminator().to(device)
    return PiecesGANTrainer(generator, discriminator, BatchSampler(x, cfg.batch_size, seed=cfg.seed), cfg,
                            hand_written_backward=hand_written_backward)


# The seeded runs of benchmarks/digits_study that lesson 06 reads: what made its MLP GAN reach the bar
DIGITS_STUDY = Path(__file__).resolve().parents[1] / "benchmarks" / "digits_study_seeds" / "digits_study.json"


def digits_study(path: Path = DIGITS_STUDY) -> list[dict]:
    """The rows of the seeded digits study (a row per candidate and seed: its score at the end, time to the bar,
    steps and curve), as the commands at the top of the digits_study.md beside it wrote them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; make it with the commands at the top of "
                                f"{path.with_suffix('.md')} (git restores both: git checkout -- {path.parent})")
    return json.loads(path.read_text(encoding="utf-8"))["candidates"]


# -- lesson 09's conditional GAN ----------------------------------------------------------------------------------
def conditional_mnist_trainer(images: Tensor, labels: Tensor, seed: int = 0, projection: bool = True,
                              d_widths: tuple[int, ...] = (256,), beta1: float = 0.0,
                              ema: float = 0.995) -> GANTrainer:
    """The conditional GAN of lesson 09 on images (N, 1, 28, 28) in [-1, 1], before any step: G 110-128-256-784, a
    projection (or, with projection=False, a concatenation) discriminator with one hidden layer (784-256), Adam 1e-3
    without momentum (beta1 0), batch 64, and an average of G's weights (EMA, beta 0.995, averaging from step 150 on:
    `trainer.sample(n, average=True)`); `python -m benchmarks.conditional_study` measured these choices. Lessons 10
    and 11 pass their numbers' settings: d_widths=(256, 128), beta1=0.5 (lesson 09's earlier D and Adam)."""
    seed_everything(seed)
    generator = ConditionalMLPGenerator(100, 10, (128, 256)).to(images.device)
    discriminator = (ProjectionDiscriminator if projection else ConditionalMLPDiscriminator)(10, tuple(d_widths))
    return GANTrainer(generator, discriminator.to(images.device),
                      BatchSampler(images, 64, seed=seed, labels=labels), z_dim=100, n_classes=10,
                      lr_d=1e-3, lr_g=1e-3, beta1=beta1, ema=ema, ema_start=150)


def train_conditional_mnist(images: Tensor, labels: Tensor, n_steps: int, seed: int = 0,
                            projection: bool = True, progress: bool = False, **settings) -> GANTrainer:
    """`conditional_mnist_trainer` (its `settings`: d_widths, beta1, ema), trained `n_steps` steps."""
    trainer = conditional_mnist_trainer(images, labels, seed, projection, **settings)
    trainer.run(n_steps, progress=progress)
    return trainer

