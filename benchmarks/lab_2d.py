"""The live lab's 2-D GAN: steps per second with and without redrawing, frames per second, slider latency,
seconds to a covered ring.

What is measured: the lessons' 2-D GAN (TrainConfig(): MLP 2-128-128-2, batch 256, ring of 8, non-saturating
loss, R1 with gamma = 0.1, Adam 1e-3) trained by the lab's own training thread; the same without the regularizer
(which the lab trains with its hand-written backward pass, fast_mlp.py); and, as the baseline of each, a
straightforward PyTorch loop of the same model written here from scratch, on as many torch threads as the lab's
training thread (one), in the same run. Each number is steps (one D update and one G update) per second of
wall-clock time over `seconds`, after a warm-up. `lab_2d.matmul_bound_steps_per_s_*` is a ceiling, not a
training: the float32 matrix products of one lab step (their shapes recorded during a real step) replayed back to
back with nothing else, so a step that computes those products cannot run faster on this machine and thread
count. The redraw figures, the latency and `lab_2d.seconds_to_ring` use the lab as shipped: its defaults
(lab.LAB_DEFAULTS), fps = 6. The latency is the time from setting the lr-of-D slider's value (what a drag does)
while the lab trains and redraws, until the trainer's optimizer holds that learning rate: the worst of several
tries.
"""
from __future__ import annotations

import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from gan_lessons.config import TrainConfig, replace
from gan_lessons.lab import LAB_DEFAULTS, GANLab

from .records import record


def naive_steps_per_s(seconds: float, regularizer: str, warmup: float) -> float:
    """A plain loop: nn.Sequential models, Adam, BCE-with-logits, R1 by a second forward pass of D."""
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
    D = nn.Sequential(nn.Linear(2, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    angles = 2 * math.pi * torch.arange(8) / 8
    centres = torch.stack([angles.cos(), angles.sin()], dim=1)

    def step() -> None:
        x_real = centres[torch.randint(8, (256,))] + 0.01 * torch.randn(256, 2)
        x_fake = G(torch.randn(256, 2))
        loss_d = F.softplus(-D(x_real)).mean() + F.softplus(D(x_fake.detach())).mean()
        if regularizer == "r1":
            x = x_real.requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            loss_d = loss_d + 0.1 * 0.5 * grad.pow(2).sum(1).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(256, 2)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        loss_d.item(), loss_g.item()

    return _rate(step, seconds, warmup)


def _rate(step, seconds: float, warmup: float, threads: int = 1) -> float:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        end = time.perf_counter() + warmup
        while time.perf_counter() < end:
            step()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            n += 1
        return n / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)


def step_matmul_shapes(cfg: TrainConfig) -> list[tuple[str, list[list[int]]]]:
    """(op, input shapes) of every matrix product (aten::mm, aten::addmm) in one step of the lab's trainer,
    forward and backward, seen by a dispatch mode (the mechanism of torch.utils.flop_counter)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from gan_lessons.training import make_2d_trainer

    products = {torch.ops.aten.mm.default: "aten::mm", torch.ops.aten.addmm.default: "aten::addmm"}
    seen: list[tuple[str, list[list[int]]]] = []

    class Products(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in products:
                seen.append((products[func], [list(a.shape) for a in args if isinstance(a, torch.Tensor)]))
            return func(*args, **(kwargs or {}))

    trainer, _ = make_2d_trainer(cfg, hand_written_backward=True)  # as the lab builds it
    trainer.step()  # warm-up, outside the record
    with Products():
        trainer.step()
    return seen


def matmul_bound_steps_per_s(cfg: TrainConfig, seconds: float, warmup: float, threads: int = 1) -> tuple[float, int]:
    """Steps per second if a step did its matrix products alone; and how many products a step has."""
    products = []
    for name, shapes in step_matmul_shapes(cfg):
        tensors = [torch.randn(shape) for shape in shapes]
        products.append((torch.addmm, tensors[:3]) if name == "aten::addmm" else (torch.mm, tensors[:2]))

    def step() -> None:
        for op, args in products:
            op(*args)

    return _rate(step, seconds, warmup, threads), len(products)


def lab_steps_per_s(cfg: TrainConfig, seconds: float, warmup: float, **options) -> tuple[float, float, GANLab]:
    """Steps and frames per second of the lab's training thread; the lab is left running."""
    lab = GANLab(cfg, **options)
    lab.play()
    time.sleep(warmup)
    step0, frames0, start = lab.trainer.step_count, lab.frames_drawn, time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    return (lab.trainer.step_count - step0) / elapsed, (lab.frames_drawn - frames0) / elapsed, lab


def slider_latency_ms(lab: GANLab, tries: int) -> list[float]:
    """Set the lr-of-D slider while the lab trains; milliseconds until the optimizer holds the new rate."""
    latencies, values = [], (2e-3, 1e-3)
    for i in range(tries):
        value = values[i % 2]
        start = time.perf_counter()
        lab.controls["lr_d"].value = value  # fires the same callback as a drag in the browser
        while lab.trainer.opt_d.param_groups[0]["lr"] != value:
            if time.perf_counter() - start > 5:
                break
            time.sleep(0.0005)
        latencies.append(1e3 * (time.perf_counter() - start))
        time.sleep(0.2)
    return latencies


def seconds_to_ring(cfg: TrainConfig, limit: float) -> tuple[float, int]:
    """Seconds from play, in the lab as shipped (redraw on), until the coverage the lab shows (measured once a
    second on 2,500 samples) has every mode of the ring with >= 80% high-quality samples; and the step it shows.
    (limit, step) when that does not happen within `limit` seconds."""
    lab = GANLab(cfg)
    start = time.perf_counter()
    lab.play()
    try:
        while (elapsed := time.perf_counter() - start) < limit:
            frame = lab.frame
            if (frame is not None and frame.coverage.get("modes") == len(frame.centres)
                    and frame.coverage.get("hq", 0) >= 80):
                return elapsed, frame.step
            time.sleep(0.02)
        return limit, lab.trainer.step_count
    finally:
        lab.pause()


ROUNDS = 5  # turns of the plain rate and its ceiling
RING_RUNS = 3  # runs of the time to a covered ring


def run(quick: bool = False) -> list[dict]:
    seconds, warmup, tries = (0.2, 0.05, 2) if quick else (6.0, 2.0, 10)
    cfg = TrainConfig(device="cpu")
    plain = TrainConfig(device="cpu", regularizer="none")
    naive = naive_steps_per_s(seconds, "r1", warmup)
    naive_plain = naive_steps_per_s(seconds, "none", warmup)
    # The plain rate and its ceiling, measured in turns (a share of `seconds` each, ROUNDS times) and reported as
    # medians: on a shared machine the speed drifts, and the two are compared with each other.
    bounds, plain_rates = [], []
    for _ in range(ROUNDS):
        bound_plain, products = matmul_bound_steps_per_s(plain, seconds / ROUNDS, warmup / ROUNDS)
        rate_plain, _, lab_plain = lab_steps_per_s(plain, seconds / ROUNDS, warmup / ROUNDS, fps=0)
        lab_plain.pause()
        bounds.append(bound_plain)
        plain_rates.append(rate_plain)
    bound_plain, rate_plain = statistics.median(bounds), statistics.median(plain_rates)
    cores = os.cpu_count() or 1
    bound_all, _ = matmul_bound_steps_per_s(plain, seconds, warmup, threads=cores)
    rate, _, lab = lab_steps_per_s(cfg, seconds, warmup, fps=0)
    lab.pause()
    shipped = replace(LAB_DEFAULTS, device="cpu")
    rate_redraw, fps, lab = lab_steps_per_s(shipped, seconds, warmup)  # the lab as shipped: its defaults, fps=6
    latencies = slider_latency_ms(lab, tries)
    lab.pause()
    alive = lab.running or lab_plain.running
    rings = [seconds_to_ring(shipped, 2.0 if quick else 120.0) for _ in range(RING_RUNS)]
    ring_seconds = statistics.median(seconds for seconds, _ in rings)
    setup = "TrainConfig() (R1 gamma 0.1), 1 torch thread"
    return [
        record("lab_2d.steps_per_s", rate, "steps/s", 1000, "higher", naive,
               f"lab thread, no redraw, {setup}; baseline: a plain PyTorch loop of the same model"),
        record("lab_2d.steps_per_s_plain", rate_plain, "steps/s", 1000, "higher", naive_plain,
               f"as lab_2d.steps_per_s without the regularizer; median of {ROUNDS} turns with the ceiling below: "
               + ", ".join(f"{r:.0f}" for r in plain_rates)),
        record("lab_2d.matmul_bound_steps_per_s_plain", bound_plain, "steps/s", None, "higher", None,
               f"ceiling of lab_2d.steps_per_s_plain on this machine: the {products} matrix products of one step "
               "(shapes recorded in a real step), replayed alone on 1 torch thread; turns: "
               + ", ".join(f"{b:.0f}" for b in bounds)),
        record("lab_2d.matmul_bound_steps_per_s_all_cores", bound_all, "steps/s", None, "higher", None,
               f"the same ceiling with {cores} torch threads (every core of this machine)"),
        record("lab_2d.steps_per_s_redraw", rate_redraw, "steps/s", 500, "higher", None,
               f"lab thread training and redrawing {len(lab.panes)} panes (fps={lab.fps:g}), the lab's defaults "
               "(lab.LAB_DEFAULTS)"),
        record("lab_2d.frames_per_s", fps, "frames/s", 5, "higher", None, "frames drawn in that run"),
        record("lab_2d.seconds_to_ring", ring_seconds, "s", 10, "lower", None,
               "from play to 8/8 modes with >= 80% high-quality samples, as the lab shows it, the lab's defaults "
               f"(lab.LAB_DEFAULTS), seed 0, redraw on; median of {RING_RUNS} runs (seconds at step): "
               + ", ".join(f"{seconds:.1f} at {step}" for seconds, step in rings)),
        record("lab_2d.latency_ms", max(latencies), "ms", 250, "lower", None,
               f"worst of {tries} lr-slider changes while training and redrawing; median "
               f"{statistics.median(latencies):.1f} ms" + ("; a lab thread was left alive" if alive else "")),
    ]
