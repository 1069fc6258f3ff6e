"""`python -m benchmarks.digits_study`: how far lesson 06's DCGAN and its common variants get in a fixed time.

`time_to_digits` asks one question of the default settings: when are the samples recognizable digits? This study
asks what the usual knobs change. Each variant trains for `--seconds` of training time (scoring excluded) on this
machine's default torch threads, scored like `time_to_digits` (1,000 samples of fixed noise, every `--every`
seconds), and one row reports its steps, its best and last mean confidence, its last class-histogram KL and whether
the criterion of `image_metrics.recognizable` was met. Variants run one after another, so they share no cores.
The last two columns say where the missing confidence goes at the end (`image_metrics.undecided`): the share of
samples the classifier is unsure of (top class below 0.8), and how many of those lie between two digits (the two
top classes hold 0.9 or more).

Every variant is built from `DCGANConfig` and the trainer's own settings, what a student can set in lesson 06 or 08,
except the "noise pieces" variants: they give G a noise space in separate pieces (`PiecesNoise`), a remedy tried
for the samples between two digits that lesson 06 shows (it reports what came of it).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from gan_lessons.classifier import load_classifier, predict_proba
from gan_lessons.config import check_float
from gan_lessons.image_metrics import DigitClock, undecided
from gan_lessons.image_training import DCGANConfig, make_dcgan_trainer
from gan_lessons.latent import Noise
from gan_lessons.models import generate

from .records import write_json


@dataclass(frozen=True)
class Variant:
    """A change of DCGANConfig (`config`) and of the trainer's settings (`trainer`: loss, regularizer, ...)."""

    name: str
    config: dict = field(default_factory=dict)
    trainer: dict = field(default_factory=dict)
    ema: float = 0.0  # > 0: score the exponential moving average of G instead of G
    pieces: int = 0  # > 0: G's noise is PiecesNoise with this many pieces (z_dim counts the one-hot part too)


class PiecesNoise(Noise):
    """z = [g, s * onehot(c)] with g ~ N(0, I) (`gaussian` numbers) and c uniform over `pieces`: a noise space made of
    `pieces` separate Gaussian clouds, `scale` apart on their own axes (a continuous G can map each to its own digits
    without drawing in-between images on the way from one to the next)."""

    def __init__(self, gaussian: int, pieces: int, scale: float = 4.0):
        super().__init__(gaussian + pieces)
        self.gaussian, self.pieces, self.scale = gaussian, pieces, scale

    def __call__(self, n: int, device: torch.device | str = "cpu") -> tuple[Tensor, tuple]:
        """(z, ()): the trainer's noise, without a condition."""
        return self.draw(n, device), ()

    def draw(self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Tensor:
        """z (n, gaussian + pieces)."""
        g = torch.randn(n, self.gaussian, generator=generator).to(device)
        c = torch.randint(0, self.pieces, (n,), generator=generator).to(device)
        return torch.cat([g, self.scale * torch.nn.functional.one_hot(c, self.pieces).float()], dim=1)


VARIANTS = (
    Variant("default"),
    Variant("width 32", {"width": 32}),
    Variant("z_dim 16", {"z_dim": 16}),
    Variant("batch 32", {"batch_size": 32}),
    Variant("batch 256 lr 1e-3", {"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3}),
    Variant("lr 2e-4", {"lr_d": 2e-4, "lr_g": 2e-4}),
    Variant("lsgan loss", trainer={"loss": "lsgan"}),
    Variant("hinge loss", trainer={"loss": "hinge"}),
    Variant("r1 gamma 1", trainer={"regularizer": "r1", "reg_weight": 1.0}),
    Variant("instance noise 0.1", trainer={"instance_noise": 0.1}),
    Variant("ema 0.999", ema=0.999),
    Variant("z_dim 16 hinge loss", {"z_dim": 16}, {"loss": "hinge"}),  # the two best above, together
    Variant("10 noise pieces", {"z_dim": 110}, pieces=10),  # 100 Gaussian numbers and a one-hot of 10, times 4
    Variant("10 noise pieces hinge loss", {"z_dim": 110}, {"loss": "hinge"}, pieces=10),
)


class _EMAClock(DigitClock):
    """Scores the trainer's EMA of G."""

    def images(self):
        return generate(self.trainer.ema.generator, self.z)


def build_trainer(variant: Variant, images=None):
    """Lesson 06's trainer on the CPU with the variant's changes (`images`: default MNIST)."""
    cfg = DCGANConfig(device="cpu", ema=variant.ema, **variant.config, **variant.trainer)
    trainer = make_dcgan_trainer(cfg, images)
    if variant.pieces:
        trainer.latent = PiecesNoise(trainer.z_dim - variant.pieces, variant.pieces)
    return trainer


def run_variant(variant: Variant, classifier, seconds: float, every: float, n: int = 1000) -> dict:
    """Train one variant for `seconds` of training time, scoring every `every` seconds; its row."""
    trainer = build_trainer(variant)
    clock = (_EMAClock if variant.ema else DigitClock)(trainer, classifier, every=every, n=n)
    if variant.pieces:  # the clock's fixed noise, drawn like the trainer's
        clock.z = trainer.latent.draw(n, "cpu", torch.Generator().manual_seed(1))
    clock.start()
    while clock.seconds < seconds:  # on past the first recognizable scoring (`clock.reached`)
        trainer.step()
        clock(trainer.step_count)
    split = undecided(predict_proba(classifier, clock.images()))
    diverse = [r for r in clock.log if r["classes"] == 10]  # an early G that draws one blob can score 1.0
    best, last = max(diverse, key=lambda r: r["confidence"], default=None), clock.log[-1]
    return {"variant": variant.name, "steps": trainer.step_count, "seconds": round(clock.seconds, 1),
            "best_confidence": None if best is None else round(best["confidence"], 3),
            "best_at_s": None if best is None else round(best["seconds"], 1),
            "last_confidence": round(last["confidence"], 3), "last_kl": round(last["kl"], 3),
            "unsure": round(split["unsure"], 3), "between_two": round(split["between_two"], 3),
            "reached_s": None if clock.reached is None else round(clock.reached, 1)}


def table(rows: list[dict], seconds: float) -> str:
    """The rows as a Markdown table."""
    def fmt(value, spec: str = "") -> str:
        return "-" if value is None else format(value, spec)

    lines = [f"| variant | steps in {seconds:g} s | best confidence (at s) | last confidence | last KL "
             "| recognizable at | unsure | of those, between two digits |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['steps']:,} | {fmt(r['best_confidence'], '.3f')} "
                     f"({fmt(r['best_at_s'], '.0f')}) | {r['last_confidence']:.3f} | {r['last_kl']:.3f} "
                     f"| {'not reached' if r['reached_s'] is None else format(r['reached_s'], '.0f') + ' s'} "
                     f"| {fmt(r.get('unsure'), '.0%')} | {fmt(r.get('between_two'), '.0%')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.digits_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per variant (default 60)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds of training between scorings (default 5)")
    parser.add_argument("--variants", default="", help="comma-separated subset of: "
                        + ", ".join(v.name for v in VARIANTS) + " (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here as JSON")
    args = parser.parse_args(argv)
    for name in ("seconds", "every"):
        try:
            check_float(name, getattr(args, name), 0.0, 1e5)
        except ValueError as error:
            parser.error(str(error))
    by_name = {v.name: v for v in VARIANTS}
    wanted = [name.strip() for name in args.variants.split(",") if name.strip()] or list(by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; known: {', '.join(by_name)}")
    if args.json is not None and (args.json.is_dir() or not args.json.parent.is_dir()):
        parser.error(f"--json: {str(args.json)!r} must be a file in an existing folder")
    classifier = load_classifier(verbose=False)
    print(f"{torch.get_num_threads()} torch threads, {args.seconds:g} s of training per variant", file=sys.stderr)
    rows = []
    for name in wanted:
        rows.append(run_variant(by_name[name], classifier, args.seconds, args.every))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(table(rows, args.seconds))
    if args.json is not None:
        write_json(args.json, rows)
    return rows


if __name__ == "__main__":
    main()
