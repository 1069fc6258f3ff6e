"""`python -m benchmarks.conditional_sampling`: what an EMA of G and truncated noise do to lesson 09's conditional GAN.

Trains `image_training.conditional_mnist_trainer` (uniform labels when sampling) for `--seconds` of training on one
torch thread, with and without an exponential moving average of G's weights (beta 0.99, updated after every step),
and with the average and Adam's beta1 = 0 instead of lesson 09's 0.5, then scores 2,000 samples of each G at noise
scales psi (z -> psi z, the "truncation trick" of Brock et al., 2019): the classifier score, the class KL from
uniform, and k-NN precision and recall (Kynkaanniemi et al., 2019) on the project classifier's features against
2,000 held-out real digits. Precision says how many samples look like real
digits, recall how much of the real digits' variety the samples cover: a higher score bought with lower recall is
variety traded for prototypes. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import time

import torch

from gan_lessons.classifier import features, load_classifier, predict_proba, training_split
from gan_lessons.config import check_float
from gan_lessons.data.mnist import load_mnist_for_training
from gan_lessons.data.images import to_unit_range
from gan_lessons.fixes import EMA
from gan_lessons.image_metrics import MIN_SAMPLES, digit_scores, precision_recall
from gan_lessons.image_training import conditional_mnist_trainer
from gan_lessons.models import generate

PSIS = (1.0, 0.8, 0.6)
# (row name, EMA beta, Adam's beta1): lesson 09's G, its EMA, and its EMA with Adam without momentum
GENERATORS = (("G", 0.0, 0.5), ("EMA of G (0.99)", 0.99, 0.5), ("EMA of G (0.99), Adam beta1 = 0", 0.99, 0.0))


def train(seconds: float, ema_beta: float, beta1: float = 0.5) -> tuple[object, EMA | None, int]:
    """Lesson 09's conditional GAN trained for `seconds` of training time (with an EMA of G when ema_beta > 0), with
    Adam's momentum beta1 (lesson 09's: 0.5)."""
    images, labels, _ = load_mnist_for_training()
    trainer = conditional_mnist_trainer(to_unit_range(images), labels)
    trainer.configure(beta1=beta1)
    ema = EMA(trainer.generator, ema_beta) if ema_beta else None
    spent = 0.0
    while spent < seconds:
        start = time.perf_counter()
        trainer.step()
        if ema is not None:
            ema.update(trainer.generator)
        spent += time.perf_counter() - start
    return trainer, ema, trainer.step_count


def rows(seconds: float) -> list[dict]:
    """One row per (G, psi): the scores of 2,000 samples, ten digits asked for in turn."""
    classifier = load_classifier(verbose=False)
    real = features(classifier, training_split()[2][:MIN_SAMPLES])
    z = torch.randn(MIN_SAMPLES, 100, generator=torch.Generator().manual_seed(1))
    y = torch.arange(MIN_SAMPLES) % 10
    out = []
    for name, beta, beta1 in GENERATORS:
        torch.manual_seed(0)
        trainer, ema, steps = train(seconds, beta, beta1)
        generator = trainer.generator if ema is None else ema.generator
        for psi in PSIS:
            images = generate(generator, psi * z, y)
            scores = digit_scores(predict_proba(classifier, images))
            precision, recall = precision_recall(real, features(classifier, images))
            out.append({"generator": name, "steps": steps, "psi": psi, "score": scores["score"], "kl": scores["kl"],
                        "precision": precision, "recall": recall})
    return out


def table(results: list[dict], real_score: float) -> str:
    """The rows as Markdown."""
    lines = ["| generator | steps | psi | score | class KL | precision | recall |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['generator']} | {r['steps']:,} | {r['psi']:g} | {r['score']:.2f} | {r['kl']:.4f} "
              f"| {r['precision']:.3f} | {r['recall']:.3f} |" for r in results]
    return "\n".join(lines + ["", f"Held-out real digits score {real_score:.2f}."])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conditional_sampling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="training time of each G (default 30)")
    args = parser.parse_args(argv)
    try:
        check_float("seconds", args.seconds, 0.0, 1e5)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(1)
    classifier = load_classifier(verbose=False)
    real_score = digit_scores(predict_proba(classifier, training_split()[2][:MIN_SAMPLES]))["score"]
    text = table(rows(args.seconds), real_score)
    print(text)
    return text


if __name__ == "__main__":
    main()
