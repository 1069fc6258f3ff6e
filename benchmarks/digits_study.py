"""`python -m benchmarks.digits_study`: which model draws digits a student recognizes within a minute on a CPU?

The bar is lesson 06's (`image_metrics.recognizable`): on 2,000 samples, a classifier score of at least 8.0 on the
project's MNIST classifier (held-out real digits score about 9.6, 10 is the maximum), all 10 classes present and a
class histogram within KL 0.05 of uniform. Each candidate trains for `--seconds` of training time, one after another,
on one torch thread unless it says otherwise. Every `--every` seconds of training its samples of fixed noise are
scored (`DigitClock`, whose stopwatch leaves the scoring time out); a candidate with an EMA of G is scored on the
averaged G, the one a student would sample. The curves go to digits_study.json, the table to digits_study.md and
the plot of score over training seconds to digits_study.png, in `--out` (default: benchmarks/). Every candidate
trains with autograd (GANTrainer's own step); `image_training.make_mlp_digits_trainer` trains the chosen one on a
CPU with the same updates and a backward pass written by hand (fast_mlp.py), whose gain `make bench` records
(time_to_digits.mlp_steps_per_s).

The candidates: lesson 06's DCGAN and a wider one; the source articles' MLP GAN (G 100-128-256-784 with tanh, D
784-256-128, Adam, batch 64) at two learning rates; hybrids of the two; a wider and a deeper MLP; an EMA of G at
three betas; learning-rate schedules and TTUR; two torch threads against one; noise spaces made of pieces, without
and with InfoGAN's term (Chen et al., 2016); Adam without momentum (beta1 = 0) with an EMA, and a wider G.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lessons.classifier import load_classifier, predict_proba, training_split
from gan_lessons.config import check_float, seed_everything
from gan_lessons.data.images import BatchSampler
from gan_lessons.image_metrics import MIN_SAMPLES, DigitClock, digit_scores, recognizable
from gan_lessons.image_training import DCGANConfig, mnist_images, to_channels_last
from gan_lessons.latent import PiecesNoise
from gan_lessons.models import (DCGANDiscriminator, DCGANGenerator, ImageMLPGenerator, MLPDiscriminator,
                                dcgan_init)
from gan_lessons.training import GANTrainer, frozen

from .records import write_json

NETWORKS = ("dcgan", "mlp")
# The factor on both learning rates at fraction f of the budget (of training seconds, since the budget is time).
SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": lambda f: 1.0,
    "linear": lambda f: 1.0 - f,  # down to 0 at the end of the budget
    "step": lambda f: 1.0 if f < 2 / 3 else 0.1,  # a tenth for the last third
}


@dataclass(frozen=True)
class Candidate:
    """A model and its training settings; the defaults are lesson 06's DCGAN (DCGANConfig on the CPU)."""

    name: str
    generator: str = "dcgan"  # "dcgan": DCGANGenerator of `width`; "mlp": ImageMLPGenerator of `g_widths`
    discriminator: str = "dcgan"  # "dcgan": DCGANDiscriminator of `width`; "mlp": MLPDiscriminator of `d_widths`
    width: int = 16  # DCGAN's channels: G 4w -> 2w -> 1, D w -> 2w -> 1
    g_widths: tuple[int, ...] = (128, 256)  # the MLP G's hidden layers
    d_widths: tuple[int, ...] = (256, 128)  # the MLP D's hidden layers
    lr_d: float = 5e-4  # Adam's learning rates (beta1 0.5, as DCGAN)
    lr_g: float = 5e-4
    beta1: float = 0.5  # Adam's momentum (DCGAN's 0.5; 0 as in the spectral-normalization and hinge papers)
    batch_size: int = 64
    ema: float = 0.0  # > 0: beta of an EMA of G's weights; the EMA is what gets scored
    schedule: str = "constant"  # how both learning rates change over the budget: a key of SCHEDULES
    threads: int = 1  # torch threads while this candidate trains
    pieces: int = 0  # > 0: G reads z = [100 Gaussian numbers, piece_scale * onehot(c)], c uniform over `pieces`
    piece_scale: float = 4.0
    info_weight: float = 0.0  # > 0: InfoGAN's lambda: a head on D learns c from G(z), and G helps it (MLP D only)
    seed: int = 0  # seeds the weights, the noise and the batches (DCGANConfig.seed)

    def __post_init__(self) -> None:
        for name, allowed in (("generator", NETWORKS), ("discriminator", NETWORKS), ("schedule", tuple(SCHEDULES))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not allowed; it must be one of {allowed}")
        if self.info_weight and not (self.pieces and self.discriminator == "mlp"):
            raise ValueError(f"info_weight={self.info_weight} needs pieces > 0 (the code c) and "
                             "discriminator='mlp' (its last hidden layer feeds the head that recognizes c)")


LESSON_06 = Candidate("dcgan (lesson 06)")
MLP = Candidate("mlp lr 1e-3", generator="mlp", discriminator="mlp", lr_d=1e-3, lr_g=1e-3)
CANDIDATES = (
    LESSON_06,
    replace(LESSON_06, name="dcgan width 32", width=32),
    replace(MLP, name="mlp lr 2e-4", lr_d=2e-4, lr_g=2e-4),  # the source articles' rate
    MLP,
    replace(MLP, name="mlp G + dcgan D lr 5e-4", discriminator="dcgan", lr_d=5e-4, lr_g=5e-4),
    replace(MLP, name="dcgan G + mlp D lr 5e-4", generator="dcgan", lr_d=5e-4, lr_g=5e-4),
    replace(MLP, name="mlp wide 256-512", g_widths=(256, 512), d_widths=(512, 256)),
    replace(MLP, name="mlp deep 128-256-512", g_widths=(128, 256, 512), d_widths=(512, 256, 128)),
    replace(MLP, name="mlp ema 0.99", ema=0.99),
    replace(MLP, name="mlp ema 0.999", ema=0.999),
    replace(MLP, name="mlp ema 0.9999", ema=0.9999),
    replace(MLP, name="mlp linear decay", schedule="linear"),
    replace(MLP, name="mlp step decay", schedule="step"),
    replace(MLP, name="mlp ema 0.999 linear decay", ema=0.999, schedule="linear"),
    replace(MLP, name="mlp ttur d 4e-4 g 1e-4", lr_d=4e-4, lr_g=1e-4),
    replace(MLP, name="mlp ttur d 2e-3 g 1e-3", lr_d=2e-3, lr_g=1e-3),
    replace(MLP, name="mlp two threads", threads=2),
    replace(LESSON_06, name="dcgan 10 noise pieces", pieces=10),
    replace(MLP, name="mlp 10 noise pieces", pieces=10),
    replace(MLP, name="infogan mlp", pieces=10, piece_scale=1.0, info_weight=1.0),  # the paper's one-hot, lambda 1
    # Adam without momentum (beta1 = 0, as Miyato et al., 2018, train spectral normalization and the hinge loss)
    replace(MLP, name="mlp ema 0.99 beta1 0", ema=0.99, beta1=0.0),
    replace(MLP, name="mlp ema 0.999 beta1 0", ema=0.999, beta1=0.0),
    replace(MLP, name="mlp wide G ema 0.999 beta1 0", g_widths=(256, 512), ema=0.999, beta1=0.0),
    replace(MLP, name="mlp wide G ttur d 2e-3 ema 0.999 beta1 0", g_widths=(256, 512), lr_d=2e-3, ema=0.999, beta1=0.0),
    replace(MLP, name="mlp wide G lr 2e-3 ema 0.999 beta1 0", g_widths=(256, 512), lr_d=2e-3, lr_g=2e-3, ema=0.999,
            beta1=0.0),
    replace(MLP, name="mlp wide G 10 noise pieces ema 0.999 beta1 0", g_widths=(256, 512), pieces=10, ema=0.999,
            beta1=0.0),
    replace(MLP, name="mlp wide G batch 32 ema 0.999 beta1 0", g_widths=(256, 512), batch_size=32, ema=0.999,
            beta1=0.0),
    replace(MLP, name="mlp wide G 10 noise pieces batch 32 ema 0.999 beta1 0", g_widths=(256, 512), pieces=10,
            batch_size=32, ema=0.999, beta1=0.0),
    replace(MLP, name="mlp wide G batch 128 ema 0.999 beta1 0", g_widths=(256, 512), batch_size=128, ema=0.999,
            beta1=0.0),
    replace(MLP, name="mlp wide G batch 256 ema 0.999 beta1 0", g_widths=(256, 512), batch_size=256, ema=0.999,
            beta1=0.0),
    replace(MLP, name="mlp wide G 10 noise pieces D 256 ema 0.999 beta1 0", g_widths=(256, 512), d_widths=(256,),
            pieces=10, ema=0.999, beta1=0.0),
)

# Lesson 06's model for digits within a minute (image_training.MLPDigitsConfig, which a test keeps equal to it)
CHOSEN = "mlp wide G 10 noise pieces ema 0.999 beta1 0"


def settings(candidate: Candidate) -> dict:
    """The settings in which the candidate differs from lesson 06's DCGAN."""
    return {f.name: getattr(candidate, f.name) for f in fields(Candidate)
            if f.name not in ("name", "seed") and getattr(candidate, f.name) != getattr(LESSON_06, f.name)}


# -- building a candidate ------------------------------------------------------------------------------------------
class PiecesTrainer(GANTrainer):
    r"""A GANTrainer whose G reads PiecesNoise and, when `info_weight` $\lambda > 0$, InfoGAN's term (Chen et al.,
    2016): a linear head Q on D's last hidden layer learns the piece c from G(z), and G helps it:
    $L_G + \lambda\, CE(Q(G(z)), c)$, where $-CE$ is a lower bound of the mutual information $I(c; G(z))$ up to the
    constant $H(c)$. Q is trained with G (same optimizer); D's own update is the plain GAN's."""

    def __init__(self, generator: nn.Module, discriminator: MLPDiscriminator, sample_real, config: DCGANConfig,
                 pieces: int, scale: float = 4.0, info_weight: float = 0.0):
        self.pieces_noise = PiecesNoise(config.z_dim - pieces, pieces, scale)
        super().__init__(generator, discriminator, sample_real, config)
        self.info_weight = info_weight
        if info_weight:
            self.q_head = nn.Linear(discriminator.net[-1].in_features, pieces)
            self.opt_g.add_param_group({"params": list(self.q_head.parameters())})

    def _use(self, config: DCGANConfig) -> None:
        super()._use(config)
        self.latent = self.pieces_noise  # the configuration would draw plain Gaussian noise

    def g_step(self, n: int, device: torch.device) -> dict[str, float]:
        """GANTrainer's G step, plus lambda CE(Q(G(z)), c) when info_weight > 0."""
        if not self.info_weight:
            return super().g_step(n, device)
        G, D = self.forward_g, self.discriminator
        z, _ = self.latent(n, device)
        with frozen(D):  # gradients reach G (and Q), not D
            h = D.features(G(z))  # (n, d_widths[-1])
            loss_g = self.loss.g(D.net[-1](h).squeeze(1))  # D(G(z)) from the same features
        loss_info = F.cross_entropy(self.q_head(h), self.latent.code(z))
        self.opt_g.zero_grad(set_to_none=True)
        (loss_g + self.info_weight * loss_info).backward()
        self.opt_g.step()  # G's and Q's weights
        if self.ema is not None:
            self.ema.update(self.generator)
        return {"loss_g": loss_g.item(), "loss_info": loss_info.item()}


def networks(candidate: Candidate, z_dim: int) -> tuple[nn.Module, nn.Module]:
    """G and D as the candidate names them, built and initialized in lesson 06's order (image_training.dcgan_models)."""
    c = candidate
    G = DCGANGenerator(z_dim, c.width) if c.generator == "dcgan" else ImageMLPGenerator(z_dim, c.g_widths)
    D = DCGANDiscriminator(c.width) if c.discriminator == "dcgan" else MLPDiscriminator(28 * 28, c.d_widths)
    for model in (G, D):
        model.apply(dcgan_init)  # conv and batch-norm layers only: MLP layers keep torch's initialization
        model.to(memory_format=torch.channels_last)  # 4-D weights only
    return G, D


def build_trainer(candidate: Candidate, images: Tensor) -> GANTrainer:
    """The candidate's trainer on `images` (N, 1, 28, 28) in [-1, 1], on the CPU, seeded as lesson 06."""
    c = candidate
    cfg = DCGANConfig(device="cpu", z_dim=100 + c.pieces, width=c.width, lr_d=c.lr_d, lr_g=c.lr_g,
                      beta1=c.beta1, batch_size=c.batch_size, ema=c.ema, seed=c.seed)
    seed_everything(cfg.seed)
    generator, discriminator = networks(c, cfg.z_dim)
    sample_real = BatchSampler(to_channels_last(images), cfg.batch_size, seed=cfg.seed)
    if not c.pieces:
        return GANTrainer(generator, discriminator, sample_real, cfg)
    return PiecesTrainer(generator, discriminator, sample_real, cfg, c.pieces, c.piece_scale, c.info_weight)


# -- training on the clock -----------------------------------------------------------------------------------------
def train_for(trainer: GANTrainer, clock: DigitClock, seconds: float,
              schedule: Callable[[float], float] = SCHEDULES["constant"]) -> None:
    """Train until the clock has counted `seconds` of training, the learning rates times schedule(fraction of the
    budget); then score once more unless the last scoring was of the last step."""
    lrs = trainer.lr_d, trainer.lr_g
    clock.start()
    while clock.seconds < seconds:
        factor = schedule(clock.seconds / seconds)
        for optimizer, lr in zip((trainer.opt_d, trainer.opt_g), lrs):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
        trainer.step()
        clock(trainer.step_count)
    if not clock.log or clock.log[-1]["step"] != trainer.step_count:
        clock.evaluate(trainer.step_count)


def run_candidate(candidate: Candidate, classifier: nn.Module, images: Tensor, seconds: float,
                  every: float) -> dict:
    """Train one candidate for `seconds` on its threads, scoring every `every` seconds; its result."""
    threads = torch.get_num_threads()
    torch.set_num_threads(candidate.threads)
    try:
        trainer = build_trainer(candidate, images)
        clock = DigitClock(trainer, classifier, every)  # scores the EMA of G where there is one
        train_for(trainer, clock, seconds, SCHEDULES[candidate.schedule])
    finally:
        torch.set_num_threads(threads)
    return summarize(candidate, clock.log, seconds)


def summarize(candidate: Candidate, log: list[dict], seconds: float) -> dict:
    """The curve (a point per scoring) and the table's numbers, from a clock's log."""
    curve = [{"seconds": round(r["seconds"], 2), "steps": r["step"], "score": round(r["score"], 3),
              "kl": round(r["kl"], 4), "classes": r["classes"], "confidence": round(r["confidence"], 4)} for r in log]
    best, last = max(curve, key=lambda p: p["score"]), curve[-1]
    half = next((p for p in curve if p["seconds"] >= seconds / 2), last)  # the first scoring from half-time on
    reached = next((round(r["seconds"], 2) for r in log if recognizable(r)), None)
    return {"candidate": candidate.name, "seed": candidate.seed, "settings": settings(candidate),
            "steps": last["steps"],
            "score_half": half["score"], "score_end": last["score"], "best_score": best["score"],
            "best_at_s": best["seconds"], "kl_end": last["kl"], "classes_end": last["classes"],
            "confidence_end": last["confidence"], "reached_s": reached, "curve": curve}


def real_scores(classifier: nn.Module, n: int = MIN_SAMPLES) -> dict:
    """digit_scores of n real digits the classifier did not train on (classifier.training_split's held-out ones)."""
    held_out = training_split()[2][:n]
    scores = digit_scores(predict_proba(classifier, held_out))
    return {"n": len(held_out), **{name: round(value, 4) for name, value in scores.items()}}


# -- the report ----------------------------------------------------------------------------------------------------
def machine() -> str:
    """CPU model, cores, torch version and the load when the study starts."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
               platform.processor() or platform.machine())
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"1-minute load average {os.getloadavg()[0]:.2f} at the start")


def command_line(argv: list[str]) -> str:
    """The command as typed, with the environment variables that change the run."""
    env = [f"{name}={shlex.quote(os.environ[name])}" for name in ("OMP_NUM_THREADS", "GAN_LESSONS_DATA")
           if name in os.environ]
    return " ".join([*env, "python -m benchmarks.digits_study", *map(shlex.quote, argv)])


def table(rows: list[dict], seconds: float) -> str:
    """The rows as a Markdown table; a candidate trained on several seeds has a row per seed."""
    seeded = len({r.get("seed", 0) for r in rows}) > 1
    lines = [f"| candidate | steps in {seconds:g} s | score at {seconds / 2:g} s | score at {seconds:g} s "
             "| best score (at s) | KL at end | classes at end | confidence at end | recognizable at |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reached = "not reached" if r["reached_s"] is None else f"{r['reached_s']:.0f} s"
        name = f"{r['candidate']} (seed {r.get('seed', 0)})" if seeded else r["candidate"]
        lines.append(f"| {name} | {r['steps']:,} | {r['score_half']:.2f} | {r['score_end']:.2f} "
                     f"| {r['best_score']:.2f} ({r['best_at_s']:.0f}) | {r['kl_end']:.3f} | {r['classes_end']} "
                     f"| {r['confidence_end']:.3f} | {reached} |")
    return "\n".join(lines)


def by_seed_table(rows: list[dict], seconds: float) -> str:
    """A row per candidate over its seeds: mean and spread of the score at the end, and each seed's time to the bar."""
    lines = [f"| candidate | seeds | score at {seconds:g} s, mean ± std | lowest | reached the bar "
             "| at (s, each seed) |", "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == name]
        scores = torch.tensor([r["score_end"] for r in mine], dtype=torch.float64)
        std = scores.std().item() if len(mine) > 1 else 0.0
        times = ", ".join("-" if r["reached_s"] is None else f"{r['reached_s']:.0f}" for r in mine)
        reached = sum(r["reached_s"] is not None for r in mine)
        lines.append(f"| {name} | {len(mine)} | {scores.mean().item():.2f} ± {std:.2f} | {scores.min().item():.2f} "
                     f"| {reached} of {len(mine)} | {times} |")
    return "\n".join(lines)


def findings(rows: list[dict], seconds: float) -> list[str]:
    """Sentences computed from the rows: the best at the end against lesson 06's DCGAN, and who met the bar."""
    best = max(rows, key=lambda r: r["score_end"])
    out = [f"Best at {seconds:g} s: {best['candidate']}, score {best['score_end']:.2f}"]
    lesson = next((r for r in rows if r["candidate"] == LESSON_06.name), None)
    if lesson is not None:
        gain = best["score_end"] - lesson["score_end"]
        ratio = best["score_end"] / lesson["score_end"]
        out[0] += f", {gain:+.2f} over lesson 06's DCGAN ({lesson['score_end']:.2f}; x{ratio:.2f})"
    out[0] += "."
    chosen = [r for r in rows if r["candidate"] == CHOSEN]
    if chosen:
        scores = ", ".join(f"{r['score_end']:.2f}" for r in chosen)
        out.append(f"Lesson 06's model for digits within a minute (`image_training.MLPDigitsConfig`): {CHOSEN}; "
                   f"score at {seconds:g} s: {scores}.")
    met = [r for r in rows if r["reached_s"] is not None]
    out.append("Met the bar within the budget: " + (", ".join(f"{r['candidate']} at {r['reached_s']:.0f} s"
                                                                 for r in met) if met else "none."))
    return out


def markdown(command: str, machine_line: str, rows: list[dict], real: dict, seconds: float, every: float) -> str:
    """digits_study.md: the command first, then the machine, the real-data score, the table and the findings."""
    seeded = len({r.get("seed", 0) for r in rows}) > 1
    return "\n".join([
        f"# `{command}`", "",
        f"Machine: {machine_line}. Each candidate trained for {seconds:g} s of training time (scoring excluded), "
        f"one after another; its samples of fixed noise were scored every {every:g} s on {MIN_SAMPLES:,} samples "
        "(an EMA candidate: the averaged G). The bar (`image_metrics.recognizable`): score >= 8.0, 10 classes, "
        "class KL <= 0.05.", "",
        f"Real digits ({real['n']:,} held out from the classifier's training): score {real['score']:.2f}, "
        f"KL {real['kl']:.3f}, {real['classes']} classes, confidence {real['confidence']:.3f}.", "",
        table(rows, seconds), "",
        *([by_seed_table(rows, seconds), ""] if seeded else []),
        *[f"- {line}" for line in findings(rows, seconds)], "",
        *(["Runs made by different commands (joined by &&) may have met the machine faster or slower: compare their "
           "steps, not only their scores.", ""] if " && " in command else []),
        *(["Three seeds of the chosen candidate and of each step between lesson 05's MLP GAN and it: "
           "[`digits_study_seeds/digits_study.md`](digits_study_seeds/digits_study.md).", ""] if not seeded else []),
        "Settings of each candidate (where it differs from lesson 06's DCGAN) and its whole curve: "
        "[`digits_study.json`](digits_study.json). Score over training time: [`digits_study.png`](digits_study.png).",
        "", *(["This study replaces the earlier tables of this file, which ranked lesson 06's variants by mean "
               "confidence (the old bar).", ""] if not seeded else [])])


TRAINING_KNOBS = ("lr_d", "lr_g", "batch_size", "ema", "schedule", "threads")


def trains_the_mlp(name: str) -> bool:
    """Whether a candidate is the MLP GAN with only its training changed (the plot's right panel)."""
    c = next((c for c in CANDIDATES if c.name == name), None)
    return c is not None and replace(c, name=MLP.name, **{k: getattr(MLP, k) for k in TRAINING_KNOBS}) == MLP


def plot_curves(rows: list[dict], real_score: float, ax=None, title: str = "Score over training time"):
    """Score over training seconds, a line per candidate, with the bar (8.0) and the real-data score; the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots(figsize=(8, 6))[1]
    seeded = len({r.get("seed", 0) for r in rows}) > 1
    for i, r in enumerate(rows):
        seconds, scores = zip(*[(p["seconds"], p["score"]) for p in r["curve"]])
        ax.plot(seconds, scores, color=f"C{i % 10}", linestyle=("-", "--", ":")[i // 10 % 3], marker=".",
                label=f"{r['candidate']} (seed {r.get('seed', 0)})" if seeded else r["candidate"])
    ax.axhline(8.0, color="black", linestyle="--", linewidth=1, label="the bar: 8.0")
    ax.axhline(real_score, color="gray", linestyle=":", linewidth=2, label=f"real digits: {real_score:.2f}")
    ax.set(xlabel="training seconds (scoring excluded)", ylabel="classifier score (2,000 samples)", title=title,
           ylim=(1, 10))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=9)
    return ax


def write_outputs(folder: Path, report: dict) -> None:
    """digits_study.json, .md and .png in `folder`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_json(folder / "digits_study.json", report)
    text = markdown(report["command"], report["machine"], report["candidates"], report["real"], report["seconds"],
                    report["every"])
    (folder / "digits_study.md").write_text(text)
    rows, real = report["candidates"], report["real"]["score"]
    references = [r for r in rows if r["candidate"] in (LESSON_06.name, MLP.name)]  # first in both panels
    others = [r for r in rows if r not in references]
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 8.5), sharey=True)
    plot_curves(references + [r for r in others if not trains_the_mlp(r["candidate"])], real, left,
                "Models and noise spaces")
    plot_curves(references + [r for r in others if trains_the_mlp(r["candidate"])], real, right,
                "Training the MLP GAN (mlp lr 1e-3)")
    fig.tight_layout()
    fig.savefig(folder / "digits_study.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.digits_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per candidate (default 60)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds of training between scorings (default 5)")
    parser.add_argument("--candidates", default="", help="comma-separated subset of: "
                        + ", ".join(c.name for c in CANDIDATES) + " (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; each candidate trains once per seed "
                        "(default 0)")
    parser.add_argument("--merge", action="store_true", help="add these runs to the report already in --out (a "
                        "candidate's run on a seed replaces the one there), and this command to its commands")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="folder of the outputs")
    args = parser.parse_args(argv)
    for name in ("seconds", "every"):
        try:
            check_float(name, getattr(args, name), 0.0, 1e5)
        except ValueError as error:
            parser.error(str(error))
    by_name = {c.name: c for c in CANDIDATES}
    wanted = [name.strip() for name in args.candidates.split(",") if name.strip()] or list(by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        parser.error(f"--candidates: unknown {', '.join(unknown)}; known: {', '.join(by_name)}")
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds: {args.seeds!r} is not a comma-separated list of whole numbers, e.g. 0,1,2")
    if not seeds or min(seeds) < 0:
        parser.error(f"--seeds: {args.seeds!r}: give one or more seeds >= 0, e.g. 0,1,2")
    if not args.out.is_dir():
        parser.error(f"--out: {str(args.out)!r} is not an existing folder")
    torch.set_num_threads(1)
    report = {"command": command_line(argv), "machine": machine(), "seconds": args.seconds, "every": args.every,
              "samples": MIN_SAMPLES}
    classifier = load_classifier(verbose=False)
    report["real"] = real_scores(classifier)
    images = mnist_images("cpu")[0]
    report["candidates"] = []
    for name in wanted:
        for seed in seeds:
            candidate = replace(by_name[name], seed=seed)
            report["candidates"].append(run_candidate(candidate, classifier, images, args.seconds, args.every))
            print(json.dumps({k: v for k, v in report["candidates"][-1].items() if k != "curve"}), file=sys.stderr)
    if args.merge:
        report = merged(args.out / "digits_study.json", report)
    write_outputs(args.out, report)
    print(table(report["candidates"], args.seconds))
    return report


def merged(path: Path, new: dict) -> dict:
    """The report in `path` with the runs of `new` added: a candidate's run on a seed replaces the one there; the
    commands are joined with && (together they make the report again), the machines with ; ."""
    if not path.is_file():
        return new
    old = json.loads(path.read_text())
    for name in ("seconds", "every", "samples"):
        if old[name] != new[name]:
            raise SystemExit(f"--merge: {path} was made with {name}={old[name]}, this run has {new[name]}; "
                             f"use the same --{name}, or another --out")
    fresh = {(r["candidate"], r.get("seed", 0)) for r in new["candidates"]}
    rows = [r for r in old["candidates"] if (r["candidate"], r.get("seed", 0)) not in fresh] + new["candidates"]
    first = {name: i for i, name in reversed(list(enumerate(r["candidate"] for r in rows)))}
    rows.sort(key=lambda r: (first[r["candidate"]], r.get("seed", 0)))  # a candidate's seeds together, in order
    machines = old["machine"] if new["machine"] == old["machine"] else f"{old['machine']}; then {new['machine']}"
    return {**new, "command": f"{old['command']} && {new['command']}", "machine": machines, "candidates": rows}


if __name__ == "__main__":
    main()
