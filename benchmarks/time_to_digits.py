"""Seconds of CPU training until lesson 06's GAN draws recognizable digits, against a tutorial-sized DCGAN; and
until lesson 09's conditional GAN does, asked for every digit in turn.

"Recognizable" is the bar of `gan_lessons.image_metrics.recognizable`, judged by the package's MNIST classifier on
2,000 samples of G (fixed noise): a classifier score of at least 8.0 (10 at most; the real digits' score is reported
beside it), all 10 classes present, and the class histogram within KL 0.05 of uniform. The conditional GAN, given
uniform labels, must reach a score of 9.0. Samples are scored every `EVERY` seconds of training; the time spent
scoring is not counted, so a figure is seconds of training (resolution: EVERY). The mean confidence, the bar of
earlier versions, is kept in the notes.

The lesson: `make_mlp_digits_trainer(MLPDigitsConfig(device="cpu"))`, lesson 06's model for digits within a minute
(chosen by `benchmarks/digits_study`), its default settings, scored on the average of G's weights it samples; its
steps run with the backward pass written by hand (fast_mlp.py), and their rate against autograd's is a record of its
own. Lesson 06's DCGAN (`DCGANConfig`) is measured beside it. Everything trains on one torch thread, as `make lab`
runs the lessons (LAB_THREADS in the Makefile). The baseline: PyTorch's DCGAN example with its defaults (images
resized to 64x64, ngf = ndf = 64, batch 64, Adam 2e-4 with beta1 0.5, a sigmoid D with BCELoss, G's step reusing the
G(z) of D's step), its 64x64 samples shrunk to 28x28 to be scored. Both get the same time budget; one that never
gets there is recorded as the budget, and the note says so. The lesson's last 2,000 samples go to `SAMPLES` (N x 1 x
28 x 28 in [-1, 1]), so that anyone can score them with a classifier of their own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from gan_lessons.classifier import load_classifier, predict_proba
from gan_lessons.data.images import to_unit_range
from gan_lessons.data.mnist import load_mnist_for_training
from gan_lessons.image_metrics import MIN_SAMPLES, DigitClock, digit_scores
from gan_lessons.image_training import (DCGANConfig, MLPDigitsConfig, conditional_mnist_trainer, make_dcgan_trainer,
                                       make_mlp_digits_trainer)
from gan_lessons.models import dcgan_init

from .dcgan_mnist import interleaved_rates
from .records import record

EVERY = 3.0  # seconds of training between two scorings
THREADS = 1  # torch threads, as `make lab` runs the lessons
TARGET = 60.0  # seconds to recognizable digits, unconditional (the conditional GAN's target is 30)
CONDITIONAL_SCORE = 9.0  # the conditional GAN's bar: it is told which digit to draw
SAMPLES = Path(__file__).resolve().parent / "time_to_digits_samples.pt"


def train_until_digits(step: Callable[[], None], clock, budget: float) -> float | None:
    """Call `step` until the clock says the digits are recognizable or `budget` seconds of training are spent."""
    clock.start()
    steps = 0
    while clock.reached is None and clock.seconds < budget:
        step()
        steps += 1
        clock(steps)
    return clock.reached


# -- the baseline: PyTorch's DCGAN example (github.com/pytorch/examples, dcgan/main.py), its defaults ----------
def example_generator(nz: int = 100, ngf: int = 64, nc: int = 1) -> nn.Sequential:
    """z (N, nz, 1, 1) -> (N, nc, 64, 64): 4 -> 8 -> 16 -> 32 -> 64."""
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def example_discriminator(ndf: int = 64, nc: int = 1) -> nn.Sequential:
    """(N, nc, 64, 64) -> probability (N, 1, 1, 1): 64 -> 32 -> 16 -> 8 -> 4 -> 1."""
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


class ExampleGAN:
    """The example's training loop, one batch per `step()`; `generator` maps z (N, 100) to 28x28 images."""

    def __init__(self, images_uint8: Tensor, batch_size: int = 64, nz: int = 100, seed: int = 0):
        torch.manual_seed(seed)
        x64 = F.interpolate(to_unit_range(images_uint8), size=64, mode="bilinear", antialias=True)  # Resize(64)
        self.loader = DataLoader(TensorDataset(x64), batch_size=batch_size, shuffle=True, drop_last=True)
        self.batches, self.nz = iter(self.loader), nz
        self.netG, self.netD = example_generator(nz), example_discriminator()
        self.netG.apply(dcgan_init), self.netD.apply(dcgan_init)
        self.criterion = nn.BCELoss()
        self.opt_d = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.z_dim, self.generator = nz, _Shrunk(self.netG)

    def step(self) -> None:
        try:
            (real,) = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            (real,) = next(self.batches)
        b = real.size(0)
        self.netD.zero_grad()
        err_real = self.criterion(self.netD(real).view(-1), torch.full((b,), 1.0))
        err_real.backward()
        fake = self.netG(torch.randn(b, self.nz, 1, 1))
        err_fake = self.criterion(self.netD(fake.detach()).view(-1), torch.full((b,), 0.0))
        err_fake.backward()
        self.opt_d.step()
        self.netG.zero_grad()
        err_g = self.criterion(self.netD(fake).view(-1), torch.full((b,), 1.0))  # the example reuses G(z)
        err_g.backward()
        self.opt_g.step()
        _ = (err_real + err_fake).item(), err_g.item()


class _Shrunk(nn.Module):
    """G's 64x64 samples resized to 28x28, the classifier's input size."""

    def __init__(self, netG: nn.Module):
        super().__init__()
        self.netG = netG

    def forward(self, z: Tensor) -> Tensor:
        x = self.netG(z.view(len(z), -1, 1, 1))
        return F.interpolate(x, size=28, mode="bilinear", antialias=True)


def _last_scoring(clock: DigitClock) -> str:
    if not clock.log:
        return "no scoring yet"
    r = clock.log[-1]
    return (f"step {r['step']} ({len(clock.log)} scorings): score {r['score']:.2f}, {r['classes']} of 10 classes, "
            f"KL {r['kl']:.3f}, confidence {r['confidence']:.3f}")


def _outcome(seconds: float | None, clock: DigitClock, budget: float) -> str:
    return ((f"reached in {seconds:.0f} s" if seconds is not None else
             f"NOT reached in the {budget:g} s budget (value = budget)") + f"; last: {_last_scoring(clock)}")


def run(quick: bool = False) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(threads)


def step_rates(images: Tensor, seconds: float, rounds: int, warmup: float) -> dict[str, float]:
    """Steps per second of lesson 06's MLP GAN with the backward pass written by hand (the trainer's default on a
    CPU) and with autograd, in alternating slices."""
    cfg, x = MLPDigitsConfig(device="cpu"), to_unit_range(images)
    trainers = {"hand": make_mlp_digits_trainer(cfg, x),
                "autograd": make_mlp_digits_trainer(cfg, x, hand_written_backward=False)}
    assert trainers["hand"].step_without_autograd is not None and trainers["autograd"].step_without_autograd is None
    return interleaved_rates({name: t.step for name, t in trainers.items()}, seconds, rounds, warmup)


def _run(quick: bool) -> list[dict]:
    budget, every, n = (1.0, 0.5, 100) if quick else (180.0, EVERY, MIN_SAMPLES)
    classifier = load_classifier(verbose=False)
    images, labels, _ = load_mnist_for_training()
    rates = step_rates(images, *((0.2, 2, 0.05) if quick else (20.0, 10, 2.0)))
    real = digit_scores(predict_proba(classifier, to_unit_range(images[:n])))
    scored = (f"scored every {every:g} s on {n} samples (real digits: score {real['score']:.2f}, confidence "
              f"{real['confidence']:.3f}, KL {real['kl']:.3f})")

    trainer = make_mlp_digits_trainer(MLPDigitsConfig(device="cpu"))
    lesson_clock = DigitClock(trainer, classifier, every=every, n=n)
    lesson = train_until_digits(trainer.step, lesson_clock, budget)
    if not quick:
        torch.save(lesson_clock.images(), SAMPLES)
    dcgan = make_dcgan_trainer(DCGANConfig(device="cpu"))
    dcgan_clock = DigitClock(dcgan, classifier, every=every, n=n)
    dcgan_budget = min(budget, TARGET)  # whether it gets there within the target is all the comparison needs
    dcgan_seconds = train_until_digits(dcgan.step, dcgan_clock, dcgan_budget)

    conditional = conditional_mnist_trainer(to_unit_range(images), labels)
    conditional_clock = DigitClock(conditional, classifier, every=every, n=n, min_score=CONDITIONAL_SCORE)
    conditional_seconds = train_until_digits(conditional.step, conditional_clock, budget)

    example = ExampleGAN(images)
    # scored less often: one scoring of its big G costs seconds of wall time (not counted as training)
    example_clock = DigitClock(example, classifier, every=4 * every, n=n)
    baseline = train_until_digits(example.step, example_clock, budget)
    example_note = ("baseline: PyTorch's DCGAN example defaults (64x64, ngf=ndf=64, batch 64), "
                    + _outcome(baseline, example_clock, budget))
    return [
        record("time_to_digits.seconds", budget if lesson is None else lesson, "s", TARGET, "lower",
               budget if baseline is None else baseline,
               f"MLPDigitsConfig() on the CPU (the average of G's weights; the backward pass by hand), {THREADS} torch "
               f"thread, {scored}; "
               + _outcome(lesson, lesson_clock, budget)
               + (f"; its last {n} samples in {SAMPLES.relative_to(SAMPLES.parents[1])}" if not quick else "")
               + "; lesson 06's DCGAN (DCGANConfig()): " + _outcome(dcgan_seconds, dcgan_clock, dcgan_budget)
               + "; " + example_note),
        record("time_to_digits.mlp_steps_per_s", rates["hand"], "steps/s", round(1.2 * rates["autograd"], 1), "higher",
               rates["autograd"],
               f"MLPDigitsConfig() on the CPU, {THREADS} torch thread: training steps per second with the backward "
               f"pass written by hand (fast_mlp.py, make_mlp_digits_trainer's default on a CPU), against autograd "
               f"(the baseline: hand_written_backward=False, the same updates up to float rounding); ratio "
               f"{rates['hand'] / rates['autograd']:.2f}x; target 1.2x; alternating slices"),
        record("time_to_digits_conditional.seconds", budget if conditional_seconds is None else conditional_seconds,
               "s", 30, "lower", budget if baseline is None else baseline,
               f"lesson 09's conditional GAN (conditional_mnist_trainer), uniform labels, score >= "
               f"{CONDITIONAL_SCORE:g}, the average of G's weights, {THREADS} torch thread, {scored}; "
               + _outcome(conditional_seconds, conditional_clock, budget) + "; " + example_note),
    ]
