"""`python -m benchmarks.conditional_study`: which settings bring lesson 09's conditional GAN to the bar soonest?

The bar is `time_to_digits_conditional`'s: 2,000 samples, the ten digits asked for in turn, read by the project's
classifier at a classifier score of at least 9.0, with all 10 classes and a class histogram within KL 0.05 of uniform
(`image_metrics.DigitClock` with min_score 9.0, which scores the average of G's weights and leaves the scoring time
out). Each variant trains on one torch thread, one after another, on each seed, until it meets the bar or has spent
`--seconds` of training; its samples are scored every `--every` seconds. The variants change one thing at a time,
from lesson 09's earlier settings (a discriminator 784-256-128, Adam's beta1 0.5 as DCGAN, an EMA of 0.99) to
`image_training.conditional_mnist_trainer`'s. Prints a Markdown table and writes it to `--out` when given.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_lessons.classifier import load_classifier, predict_proba, training_split
from gan_lessons.config import check_float
from gan_lessons.data.images import to_unit_range
from gan_lessons.data.mnist import load_mnist_for_training
from gan_lessons.image_metrics import MIN_SAMPLES, DigitClock, digit_scores
from gan_lessons.image_training import conditional_mnist_trainer
from gan_lessons.training import GANTrainer

BAR = 9.0  # time_to_digits_conditional's score


@dataclass(frozen=True)
class Variant:
    """Lesson 09's projection GAN (G 110-128-256-784, Adam 1e-3, batch 64, an EMA of G from step 150) with these
    settings (`conditional_mnist_trainer`'s arguments)."""

    name: str
    d_widths: tuple[int, ...] = (256, 128)
    beta1: float = 0.5
    ema: float = 0.99


VARIANTS = (
    Variant("earlier: D 256-128, beta1 0.5, EMA 0.99"),
    Variant("beta1 0", beta1=0.0),
    Variant("beta1 0, EMA 0.995", beta1=0.0, ema=0.995),
    Variant("D 256", d_widths=(256,)),
    Variant("D 256, beta1 0, EMA 0.995 (lesson 09)", d_widths=(256,), beta1=0.0, ema=0.995),
)


def build(variant: Variant, images: torch.Tensor, labels: torch.Tensor, seed: int) -> GANTrainer:
    """The variant's trainer: lesson 09's (conditional_mnist_trainer) with the variant's settings."""
    return conditional_mnist_trainer(images, labels, seed, d_widths=variant.d_widths, beta1=variant.beta1,
                                     ema=variant.ema)


def run(variant: Variant, seed: int, classifier, images, labels, seconds: float, every: float) -> dict:
    """Train until the bar or `seconds` of training; when it was met, the steps, and the last scoring."""
    trainer = build(variant, images, labels, seed)
    clock = DigitClock(trainer, classifier, every=every, n=MIN_SAMPLES, min_score=BAR)
    clock.start()
    while clock.reached is None and clock.seconds < seconds:
        trainer.step()
        clock(trainer.step_count)
    last = clock.log[-1] if clock.log else clock.evaluate(trainer.step_count)
    return {"variant": variant.name, "seed": seed, "reached_s": clock.reached, "steps": trainer.step_count,
            "score": last["score"], "kl": last["kl"]}


def table(rows: list[dict], seconds: float) -> str:
    """A row per variant: each seed's seconds to the bar (- where it never got there), steps and last score."""
    lines = [f"| variant | seconds to score >= {BAR:g} (each seed; - = not within {seconds:g} s) | steps (each seed) "
             "| score at the end (each seed) |", "|---|---|---|---|"]
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        reached = ", ".join("-" if r["reached_s"] is None else f"{r['reached_s']:.0f}" for r in mine)
        lines.append(f"| {name} | {reached}"
                     + " | " + ", ".join(f"{r['steps']:,}" for r in mine)
                     + " | " + ", ".join(f"{r['score']:.2f}" for r in mine) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conditional_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=45.0, help="training time at most (default 45)")
    parser.add_argument("--every", type=float, default=3.0, help="seconds of training between scorings (default 3, "
                        "as time_to_digits)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="a Markdown file to write the table to")
    args = parser.parse_args(argv)
    try:
        check_float("seconds", args.seconds, 0.0, 1e5)
        check_float("every", args.every, 0.0, 1e5)
        if not 1 <= args.seeds <= 100:
            raise ValueError(f"seeds={args.seeds} is not allowed; it must be a whole number in [1, 100]")
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(1)
    classifier = load_classifier(verbose=False)
    images, labels, _ = load_mnist_for_training()
    x = to_unit_range(images)
    real = digit_scores(predict_proba(classifier, training_split()[2][:MIN_SAMPLES]))["score"]
    rows = [run(v, seed, classifier, x, labels, args.seconds, args.every)
            for v in VARIANTS for seed in range(args.seeds)]
    command = " ".join(["python -m benchmarks.conditional_study", *argv])
    text = "\n".join([f"# `{command}`", "",
                      "One torch thread, variants one after another; held-out real digits score "
                      f"{real:.2f}.", "", table(rows, args.seconds), ""])
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()
