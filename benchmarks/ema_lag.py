"""`python -m benchmarks.ema_lag`: how far an average of G's weights lags G early in training, in lesson 09's GAN.

Trains `image_training.conditional_mnist_trainer` on one torch thread with an exponential moving average of G's
weights (beta 0.99, updated after every step) and, at each of `--steps` (default 300, 1000, 4000: lesson 09's fast
run, a short run, its full run), reads 1,000 samples of fixed noise, 100 per digit, with the project's classifier:
the share drawn as requested (`image_metrics.requested_digit_accuracy`), of G, of its average, and of a second
average that starts as a copy of G only at step `--start` (default 150, half the fast run; `fixes.EMA(start=...)`), as
BigGAN's code starts its average late (`--ema_start`, Brock et al., 2019). The first average starts as a copy of G's first weights and forgets
them at a rate of 1% a step. Prints a Markdown table.
"""
from __future__ import annotations

import argparse

import torch

from gan_lessons.classifier import load_classifier
from gan_lessons.data.images import to_unit_range
from gan_lessons.data.mnist import load_mnist_for_training
from gan_lessons.fixes import EMA
from gan_lessons.image_metrics import requested_digit_accuracy
from gan_lessons.image_training import conditional_mnist_trainer
from gan_lessons.models import generate

BETA = 0.99


def rows(steps: list[int], start: int) -> list[dict]:
    """One row per step count: the requested-digit accuracy of G, of its average from step 0 and of an average that
    starts as a copy of G at step `start` (None before it), on the same 1,000 samples."""
    images, labels, _ = load_mnist_for_training()
    trainer = conditional_mnist_trainer(to_unit_range(images), labels)
    trainer.configure(ema=BETA, ema_start=0)  # an average from the first step (the trainer's own starts at 150)
    classifier = load_classifier(verbose=False)
    wanted = torch.arange(1000) % 10
    z = torch.randn(1000, 100, generator=torch.Generator().manual_seed(0))
    late, out = EMA(trainer.generator, BETA, start=start), []  # copies G for `start` updates, then averages
    for n in sorted(steps):
        while trainer.step_count < n:
            trainer.step()
            late.update(trainer.generator)
        read = {name: (None if g is None else requested_digit_accuracy(classifier, generate(g, z, wanted), wanted))
                for name, g in (("G", trainer.generator), ("EMA", trainer.ema.generator),
                                ("late", None if n < start else late.generator))}
        out.append({"steps": n, **read})
    return out


def table(results: list[dict], start: int) -> str:
    """The rows as Markdown ("–": the late average has not started yet)."""
    lines = [f"| steps | G | EMA of G ({BETA:g}) from step 0 | EMA of G ({BETA:g}) from step {start:,} |",
             "|---|---|---|---|"]
    cell = lambda v: "–" if v is None else f"{v:.1%}"
    return "\n".join(lines + [f"| {r['steps']:,} | {cell(r['G'])} | {cell(r['EMA'])} | {cell(r['late'])} |"
                              for r in results])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ema_lag", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="300,1000,4000", help="comma-separated step counts (default 300,1000,4000)")
    parser.add_argument("--start", type=int, default=150, help="the step at which the late average starts (default 150)")
    args = parser.parse_args(argv)
    try:
        steps = [int(s) for s in args.steps.split(",")]
    except ValueError:
        parser.error(f"steps={args.steps!r} is not allowed; it must be positive whole numbers separated by commas")
    if not steps or min(steps) < 1:
        parser.error(f"steps={args.steps!r} is not allowed; it must be positive whole numbers separated by commas")
    if args.start < 1:
        parser.error(f"start={args.start} is not allowed; it must be a positive whole number")
    torch.set_num_threads(1)
    text = table(rows(steps, args.start), args.start)
    print(text)
    return text


if __name__ == "__main__":
    main()
