"""Training a class-conditional GAN (lesson 09): Algorithm 1 with a label beside every sample.

D learns to tell real pairs (x, y) from generated pairs (G(z, y), y), with y drawn uniformly over the classes
for generated samples; G learns to make G(z, y) pass as a real image *of class y*. The steps mirror
`training.GANTrainer.d_step` and `g_step` line by line, with the label added.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .config import _check_positive
from .losses import get_loss
from .training import History, adam, frozen


class ConditionalGANTrainer:
    """Trains G(z, y) against D(x, y); `sample_real()` returns a batch (x, y) (e.g. a BatchSampler with labels)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, sample_real: Callable[[], tuple[Tensor, Tensor]],
                 *, z_dim: int, n_classes: int = 10, loss: str = "nonsaturating", lr_d: float = 2e-4,
                 lr_g: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)):
        _check_positive("z_dim", z_dim, int)
        _check_positive("n_classes", n_classes, int)
        self.generator, self.discriminator, self.sample_real = generator, discriminator, sample_real
        self.z_dim, self.n_classes, self.loss = z_dim, n_classes, get_loss(loss)
        self.opt_d = adam(discriminator.parameters(), lr_d, betas)
        self.opt_g = adam(generator.parameters(), lr_g, betas)
        self.step_count, self.history = 0, History()

    def noise(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """z ~ N(0, I) (n, z_dim) and labels y ~ Uniform{0, ..., n_classes - 1} (n,)."""
        return torch.randn(n, self.z_dim, device=device), torch.randint(self.n_classes, (n,), device=device)

    def d_step(self, x_real: Tensor, y_real: Tensor) -> dict[str, float]:
        """One update of D on real pairs (x, y) and generated pairs (G(z, y), y)."""
        G, D = self.generator, self.discriminator
        z, y_fake = self.noise(len(x_real), x_real.device)
        with torch.no_grad():
            x_fake = G(z, y_fake)  # D's update must not reach G
        d_real, d_fake = D(x_real, y_real), D(x_fake, y_fake)
        loss_d = self.loss.d(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return {"loss_d": loss_d.item(), "d_real": torch.sigmoid(d_real).mean().item(),
                "d_fake": torch.sigmoid(d_fake).mean().item()}

    def g_step(self, n: int, device: torch.device) -> dict[str, float]:
        """One update of G: make G(z, y) pass as a real image of class y."""
        G, D = self.generator, self.discriminator
        z, y = self.noise(n, device)
        with frozen(D):  # the gradient flows through D into G, but D's weights get none
            loss_g = self.loss.g(D(G(z, y), y))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return {"loss_g": loss_g.item()}

    def step(self) -> dict[str, float]:
        x_real, y_real = self.sample_real()
        metrics = self.d_step(x_real, y_real)
        metrics.update(self.g_step(len(x_real), x_real.device))
        self.step_count += 1
        return metrics

    def run(self, n_steps: int, progress: bool = True) -> History:
        """n_steps steps (one D and one G update each) with a progress bar; metrics go to `history`."""
        _check_positive("n_steps", n_steps, int)
        for _ in tqdm(range(n_steps), desc="training", disable=not progress, mininterval=0.5):
            self.history(self.step_count + 1, self.step())
        return self.history

    @torch.no_grad()
    def sample(self, labels: Tensor | int) -> Tensor:
        """Images of the requested labels (a tensor of class indices, or n for n // n_classes of each class
        in order 0, 1, ..., 9, 0, 1, ...), on the CPU, without gradients."""
        return sample_conditional(self.generator, labels, self.z_dim, self.n_classes)

    def save(self, path: str | os.PathLike, arch: dict) -> Path:
        """A checkpoint that `python -m gan_lessons evaluate` reads: {"generator", "discriminator", "arch", "step"}."""
        from .evaluate import write_checkpoint

        return write_checkpoint(path, {"generator": self.generator.state_dict(), "arch": dict(arch),
                                       "discriminator": self.discriminator.state_dict(), "step": self.step_count})


@torch.no_grad()
def sample_conditional(generator: nn.Module, labels: Tensor | int, z_dim: int, n_classes: int = 10) -> Tensor:
    """G(z, y) for the requested labels (or n: labels 0, 1, ..., n_classes - 1 repeated), on the CPU."""
    device = next(generator.parameters()).device
    if isinstance(labels, int):
        labels = torch.arange(labels) % n_classes
    was_training = generator.training
    generator.eval()
    x = generator(torch.randn(len(labels), z_dim, device=device), labels.to(device)).cpu()
    generator.train(was_training)
    return x


def train_conditional_mnist(images: Tensor, labels: Tensor, n_steps: int, seed: int = 0,
                            projection: bool = True, progress: bool = False) -> ConditionalGANTrainer:
    """The conditional GAN of lesson 09 on images (N, 1, 28, 28) in [-1, 1]: G 110-128-256-784, a projection
    (or, with projection=False, a concatenation) discriminator 784-256-128, Adam 1e-3, batch 64."""
    from .config import seed_everything
    from .data.images import BatchSampler
    from .models import ConditionalMLPDiscriminator, ConditionalMLPGenerator, ProjectionDiscriminator

    seed_everything(seed)
    generator = ConditionalMLPGenerator(100, 10, (128, 256)).to(images.device)
    discriminator = (ProjectionDiscriminator if projection else ConditionalMLPDiscriminator)(10, (256, 128))
    trainer = ConditionalGANTrainer(generator, discriminator.to(images.device),
                                    BatchSampler(images, 64, seed=seed, labels=labels), z_dim=100,
                                    lr_d=1e-3, lr_g=1e-3)
    trainer.run(n_steps, progress=progress)
    return trainer


ARCH = {"generator": "conditional_mlp", "z_dim": 100, "n_classes": 10, "widths": [128, 256]}  # of the G above
