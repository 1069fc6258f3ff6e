"""Lesson 06's DCGAN on MNIST: training images per second on the CPU, against a tutorial-style loop.

What is measured: the lesson's trainer (`make_dcgan_trainer(DCGANConfig(device="cpu"))`: data resident as one
tensor with an index sampler, channels-last models and images, fused Adam, gradients set to None, no weight
gradients for D in G's step, G run by `DCGANGenerator.fast_cpu_forward` on a CPU) and, as the
baseline, the same model trained the way common tutorials write it: a DataLoader over a Dataset that scales each
uint8 image as it is fetched, G run as the tutorials' `nn.Sequential` (its first layer a ConvTranspose2d of a 1x1
input: the same arithmetic), a transfer per batch, `model.zero_grad()`, separate real and generated passes of D
with a backward each, BCE against label tensors, Adam with its default kernel, `.item()` of the losses every
step. Both do the same algorithm (one D update, then one G update with fresh noise), the same widths and batch
size, on the same number of torch threads: torch's default (every core, as a lesson and a tutorial run), and one.
The two are timed in alternating slices of the same run (slices keep the comparison fair when the load changes),
after a warm-up; a figure is training images per second of wall-clock time.

A busy laptop: the lesson's trainer again, on one and on two torch threads, while another process keeps one core
busy (a Python loop, as another notebook's kernel training would). Torch's threads wait for each other at every
operation, so a thread that shares its core with another process holds the rest back; the record compares the
lessons' setting (`config.LESSON_THREADS`) with the quiet one-thread figure, and torch's default is the baseline.

Not used: one D pass over real and generated images concatenated. D has batch norm, which would then normalize
both together, a different computation from separate passes (and a different training).
"""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from gan_lessons.data.mnist import load_mnist_for_training
from gan_lessons.image_training import DCGANConfig, make_dcgan_trainer
from gan_lessons.models import DCGANDiscriminator, DCGANGenerator, dcgan_init

from .records import record

LESSON_THREADS = 1  # what `make lab` gives the lessons' kernels (OMP_NUM_THREADS=1 in the Makefile)


class ScaledMNIST(Dataset):
    """As `ToTensor()` then `Normalize((0.5,), (0.5,))` would: each image scaled to [-1, 1] when fetched."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return (self.images[i].float().div(255.0).unsqueeze(0) - 0.5) / 0.5


def naive_step(cfg: DCGANConfig, images: torch.Tensor) -> Callable[[], None]:
    """One training step of the same DCGAN in the style of common tutorials."""
    torch.manual_seed(cfg.seed)
    device = torch.device("cpu")
    G, D = DCGANGenerator(cfg.z_dim, cfg.width).to(device), DCGANDiscriminator(cfg.width).to(device)
    G.apply(dcgan_init), D.apply(dcgan_init)
    G = G.net  # the tutorials' nn.Sequential: z enters as (N, z_dim, 1, 1)
    loader = DataLoader(ScaledMNIST(images), batch_size=cfg.batch_size, shuffle=True, drop_last=True)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    batches = iter(loader)

    def step() -> None:
        nonlocal batches
        try:
            real = next(batches)
        except StopIteration:  # a new epoch
            batches = iter(loader)
            real = next(batches)
        real = real.to(device)
        b = real.size(0)
        D.zero_grad()
        out = D(real)
        err_real = criterion(out, torch.full((b,), 1.0, device=device))
        err_real.backward()
        fake = G(torch.randn(b, cfg.z_dim, 1, 1, device=device))
        out = D(fake.detach())
        err_fake = criterion(out, torch.full((b,), 0.0, device=device))
        err_fake.backward()
        opt_d.step()
        G.zero_grad()
        out = D(G(torch.randn(b, cfg.z_dim, 1, 1, device=device)))
        err_g = criterion(out, torch.full((b,), 1.0, device=device))
        err_g.backward()
        opt_g.step()
        _ = (err_real + err_fake).item(), err_g.item(), torch.sigmoid(out).mean().item()  # logging

    return step


def lesson_step(cfg: DCGANConfig) -> Callable[[], None]:
    """One step of the lesson's trainer (the code lesson 06 runs)."""
    return make_dcgan_trainer(cfg).step


def generator_steps(cfg: DCGANConfig) -> dict[str, Callable[[], None]]:
    """A forward and backward pass of the lesson's G through `forward` (its Sequential) and through
    `fast_cpu_forward` (what the trainer runs on a CPU), on the same weights and noise."""
    torch.manual_seed(cfg.seed)
    G = DCGANGenerator(cfg.z_dim, cfg.width).apply(dcgan_init).to(memory_format=torch.channels_last)
    z = torch.randn(cfg.batch_size, cfg.z_dim)
    return {"plain": lambda: G(z).square().sum().backward(),
            "fast": lambda: G.fast_cpu_forward(z).square().sum().backward()}


def interleaved_rates(steps: dict[str, Callable[[], None]], seconds: float, rounds: int,
                      warmup: float) -> dict[str, float]:
    """Steps per second of each step function, timed in `rounds` alternating slices of seconds / rounds each."""
    for step in steps.values():
        end = time.perf_counter() + warmup
        while time.perf_counter() < end:
            step()
    counts, elapsed = dict.fromkeys(steps, 0), dict.fromkeys(steps, 0.0)
    for r in range(rounds):
        names = list(steps) if r % 2 == 0 else list(steps)[::-1]  # neither always goes first
        for name in names:
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                steps[name]()
                counts[name] += 1
            elapsed[name] += time.perf_counter() - start
    return {name: counts[name] / elapsed[name] for name in steps}


def rates_on(threads: int, cfg: DCGANConfig, images: torch.Tensor, seconds: float, rounds: int,
             warmup: float) -> tuple[float, float]:
    """Images per second of the lesson's trainer and of the naive loop, both on `threads` torch threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rates = interleaved_rates({"lesson": lesson_step(cfg), "naive": naive_step(cfg, images)},
                                  seconds, rounds, warmup)
    finally:
        torch.set_num_threads(previous)
    return cfg.batch_size * rates["lesson"], cfg.batch_size * rates["naive"]


def busy_core_rates(cfg: DCGANConfig, thread_counts: tuple[int, ...], seconds: float, rounds: int,
                    warmup: float) -> dict[int, float]:
    """Images per second of the lesson's trainer on each number of torch threads while another process spins on one
    core; the spinning process is stopped afterwards, whatever happens."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    previous = torch.get_num_threads()
    try:
        time.sleep(0.5)  # the spinner is running
        rates = {}
        for threads in thread_counts:
            torch.set_num_threads(threads)
            rates[threads] = cfg.batch_size * interleaved_rates({"lesson": lesson_step(cfg)}, seconds, rounds,
                                                                warmup)["lesson"]
        return rates
    finally:
        torch.set_num_threads(previous)
        spinner.kill()
        spinner.wait()


def run(quick: bool = False) -> list[dict]:
    seconds, rounds, warmup = (0.3, 2, 0.05) if quick else (30.0, 10, 3.0)
    cfg = DCGANConfig(device="cpu")
    images = load_mnist_for_training()[0]
    threads = torch.get_num_threads()  # torch's default, what a lesson and a tutorial both run on
    lesson, naive = rates_on(threads, cfg, images, seconds, rounds, warmup)
    lesson_1, naive_1 = rates_on(1, cfg, images, seconds, rounds, warmup)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = interleaved_rates(generator_steps(cfg), seconds, rounds, warmup)
    finally:
        torch.set_num_threads(previous)
    setup = (f"DCGAN width {cfg.width}, batch {cfg.batch_size}, CPU; {seconds:g} s each in {rounds} alternating "
             f"slices; baseline: a tutorial-style loop of the same model (DataLoader, per-batch transfer, G as a "
             f"Sequential from a 1x1 input, model.zero_grad, separate real/fake D passes), same algorithm")
    busy = busy_core_rates(cfg, (LESSON_THREADS, threads), seconds, rounds, warmup)
    return [
        record("dcgan_mnist.images_per_s", lesson, "images/s", round(1.3 * naive, 1), "higher", naive,
               f"{setup}; {threads} torch threads (torch's default here); target 1.3x the baseline; "
               f"ratio {lesson / naive:.2f}x"),
        record("dcgan_mnist.images_per_s_1_thread", lesson_1, "images/s", None, "higher", naive_1,
               f"the same on 1 torch thread; ratio {lesson_1 / naive_1:.2f}x"),
        record("dcgan_mnist.g_fast_cpu_forward_images_per_s", cfg.batch_size * g["fast"], "images/s",
               round(1.2 * cfg.batch_size * g["plain"], 1), "higher", cfg.batch_size * g["plain"],
               f"G alone, forward and backward, 1 torch thread: DCGANGenerator.fast_cpu_forward against its plain "
               f"forward (the baseline); ratio {g['fast'] / g['plain']:.2f}x; target 1.2x"),
        record("dcgan_mnist.busy_core_slowdown", lesson_1 / busy[LESSON_THREADS], "x", 1.5, "lower",
               lesson_1 / busy[threads],
               f"the lesson's trainer while another process keeps one core busy, on the lessons' {LESSON_THREADS} "
               f"torch thread ({busy[LESSON_THREADS]:.0f} images/s), against the quiet one-thread figure "
               f"({lesson_1:.0f} images/s); baseline: on torch's default {threads} threads ({busy[threads]:.0f} "
               f"images/s, {lesson / busy[threads]:.2f}x slower than quiet on {threads})"),
    ]
