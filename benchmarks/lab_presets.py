"""Each preset of the live lab tells its story: `python -m benchmarks.lab_presets [--seeds 3] [NAME ...]`.

Every preset of gan_lessons.lab_presets trains as the lab trains it (make_2d_trainer with the hand-written backward
pass where it applies, one torch thread, on the CPU, no drawing), from seeds 0, 1 and 2, for 4,000 steps. At each
checkpoint it records what the lab shows: the coverage line (its 2,500 generated samples: modes captured, % high
quality) and the arrows pane's longest arrow, with the training seconds so far and how far the arrows' 64 points
moved in the last 50 steps. For the losses with D's probability it also records D(G(z)) and the norm of the
gradient on G's weights from the saturating and from the non-saturating loss against the same D. Every 50 steps a
look at 500 samples finds the mode nearest to most of them and their share (lesson 07's look at where the samples
are); looking never touches the training's random numbers (`fork_rng`), as the lab's frames never do. Each claim
of CLAIMS is checked on these figures, and the report, with the settings measured beside the presets (VARIANTS),
is written to benchmarks/lab_presets.md. It takes about 20 minutes on one core, so `make bench` does not run it.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gan_lessons.config import BCE_LOSSES, TrainConfig, replace, seed_everything
from gan_lessons.lab_frames import FRAME_SEED, Curves, frame_of
from gan_lessons.lab_presets import PRESETS
from gan_lessons.losses import g_loss_minimax, g_loss_nonsaturating
from gan_lessons.metrics import EVAL_SAMPLES, nearest_mode
from gan_lessons.models import generate
from gan_lessons.training import make_2d_trainer

HERE = Path(__file__).parent
CHECKPOINTS = (250, 500, 1000, 2000, 4000)
LOOK_EVERY, LOOK_SAMPLES = 50, 500  # lesson 07 looks every 25 steps at 500 samples
Switch = tuple[int, dict] | None  # (step, changes): a control moved in the lab at that step

# Settings measured beside the presets: the lab's next move in a story, and what was tried before choosing.
# name: (preset, changes to it from step 0, a switch or None)
VARIANTS: dict[str, tuple[str, dict, Switch]] = {
    "vanishing gradients, loss switched to nonsaturating at step 2,000":
        ("vanishing gradients", {}, (2000, {"loss": "nonsaturating"})),
    "vanishing gradients with the nonsaturating loss from step 0":
        ("vanishing gradients", {"loss": "nonsaturating"}, None),
    # Mescheder et al. (2018), as lesson 08's table runs R1: gamma = 10, RMSProp 1e-4 (GAN_stability's default.yaml)
    "R1 at lesson 08's paper settings": ("R1", {"reg_weight": 10.0, "optimizer": "rmsprop", "lr_d": 1e-4,
                                                "lr_g": 1e-4}, None),
    "the saturating loss alone": ("mode collapse", {"loss": "minimax"}, None),
}
# Why a preset is set as it is, when the tables below are the reason.
NOTES = {
    "vanishing gradients": "The saturating loss alone, at lesson 07's plain settings (the variant 'the saturating "
                           "loss alone' below), leaves D unsure (D(G(z)) near 0.5) and G's gradient alive; a D that "
                           "learns ten times as fast as G and takes five steps per G step wins and silences it.",
    "R1": "The same plain GAN and seed as 'mode collapse', with the light R1 penalty that lesson 07 sets against the "
          "collapse. R1 at lesson 08's paper settings (the variant below) was measured too: it covers the ring later "
          "and less surely, so it tells the story less plainly.",
    "LSGAN": "The first claim tried, 8/8 modes at step 4,000 in every seed, does not hold on seed 0; the story "
             "tells what seed 0 shows, which is lesson 08's finding for LSGAN (precise samples, modes dropped in "
             "some seeds).",
}


# -- measuring --------------------------------------------------------------------------------------------------------
def arrow_noise(z_dim: int) -> torch.Tensor:
    """The noise of the 64 generated points that carry the lab's arrows (as lab_frames.frame_of draws it)."""
    return torch.randn(EVAL_SAMPLES, z_dim, generator=torch.Generator().manual_seed(FRAME_SEED))[:64]


def weight_gradient(generator, discriminator, z: torch.Tensor, loss_g: Callable) -> float:
    """|grad of loss_g(D(G(z))) w.r.t. G's weights| (D's weights get no gradient, nothing is stepped)."""
    grads = torch.autograd.grad(loss_g(discriminator(generator(z))), list(generator.parameters()))
    return torch.cat([g.flatten() for g in grads]).norm().item()


def measure(trainer, target) -> dict[str, float]:
    """What the lab shows, as its frames compute it (lab_frames.frame_of): the coverage line and the longest arrow.
    For the losses with D's probability, also D(G(z)) and the gradient G's weights get from each of lesson 04's
    two G losses against the same D, at the arrows' points."""
    frame = frame_of(trainer, target, trainer.config.loss, Curves(), steps_per_s=0.0)
    point = {**frame.coverage, "arrow": float(np.linalg.norm(frame.arrow_dir, axis=1).max())}
    if trainer.config.loss in BCE_LOSSES:
        G, D, z = trainer.generator, trainer.discriminator, arrow_noise(trainer.z_dim)
        with torch.no_grad():
            point["d_fake"] = torch.sigmoid(D(G(z))).mean().item()
        point["saturating"] = weight_gradient(G, D, z, g_loss_minimax)
        point["nonsaturating"] = weight_gradient(G, D, z, g_loss_nonsaturating)
    return point


def look(trainer, target) -> tuple[int, float]:
    """The mode nearest to most of LOOK_SAMPLES samples, and their share."""
    idx, _ = nearest_mode(trainer.sample(LOOK_SAMPLES), target.centres)
    counts = torch.bincount(idx, minlength=len(target.centres))
    return int(counts.argmax()), counts.max().item() / LOOK_SAMPLES


def follow(cfg: TrainConfig, checkpoints=CHECKPOINTS, switch: Switch = None) -> dict:
    """Train `cfg` as the lab does: `measure` at each checkpoint, with the training seconds so far and the mean
    distance the arrows' points moved in the last LOOK_EVERY steps; a `look` every LOOK_EVERY steps."""
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg, hand_written_backward=True)
    z = arrow_noise(cfg.z_dim)
    seconds, points, looks, before = 0.0, {}, [], generate(trainer.generator, z)
    while trainer.step_count < checkpoints[-1]:
        if switch is not None and trainer.step_count == switch[0]:
            trainer.configure(**switch[1])  # what the lab does when a control moves
        start = time.perf_counter()
        trainer.run(LOOK_EVERY, progress=False)
        seconds += time.perf_counter() - start
        with torch.random.fork_rng():  # looking must not change the training's random numbers
            looks.append((trainer.step_count, *look(trainer, target)))
        after = generate(trainer.generator, z)
        if trainer.step_count in checkpoints:
            moved = (after - before).norm(dim=1).mean().item()
            points[trainer.step_count] = {**measure(trainer, target), "moved": moved, "seconds": seconds}
        before = after
    return {"points": points, "looks": looks}


# -- the claims -------------------------------------------------------------------------------------------------------
Runs = dict[int, dict]  # seed: follow(...)


def at(runs: Runs, seed: int, step: int) -> dict:
    """What `measure` recorded at `step` of the run from `seed`."""
    return runs[seed]["points"][step]


def everywhere(runs: Runs, steps, holds: Callable[[dict], bool], seeds=None) -> bool:
    """`holds(point)` at each of `steps` in each of `seeds` (all of them by default)."""
    return all(holds(at(runs, seed, step)) for seed in (runs if seeds is None else seeds) for step in steps)


def one_mode_at_a_time(looks: list, after: int, until: int) -> tuple[float, int]:
    """Over the looks in (after, until]: the share of looks where one mode holds >= 90% of the samples, and how
    often the mode that holds most of them changed (from the look at `after`, where there is one)."""
    window = [(mode, share) for step, mode, share in looks if after < step <= until]
    held = sum(share >= 0.9 for _, share in window) / len(window)
    fullest = [mode for step, mode, _ in looks if after <= step <= until]
    return held, sum(a != b for a, b in zip(fullest, fullest[1:]))


def hopping(runs: Runs) -> bool:
    """Seed 0, steps 50 to 500: one mode holds >= 90% of the samples at >= 70% of the looks, and the fullest mode
    changes >= 5 times (lesson 07 asks the same of its looks: >= 70% and >= 5 changes)."""
    held, hops = one_mode_at_a_time(runs[0]["looks"], 0, 500)
    return held >= 0.7 and hops >= 5


def vanished(point: dict) -> bool:
    """D(G(z)) < 1e-6, G's gradient from the saturating loss < 1e-6 of the non-saturating one's, 0 modes."""
    return point["d_fake"] < 1e-6 and point["saturating"] < 1e-6 * point["nonsaturating"] and point["modes"] == 0


ALL = CHECKPOINTS
CLAIMS: dict[str, list[tuple[str, Callable[[Runs], bool]]]] = {
    "fast ring": [("8/8 modes and >= 80% high quality at step 4,000 in every seed",
                   lambda runs: everywhere(runs, [4000], lambda p: p["modes"] == 8 and p["hq"] >= 80))],
    "mode collapse": [
        ("seed 0: at most 3 modes at steps 500, 1,000 and 2,000",
         lambda runs: everywhere(runs, [500, 1000, 2000], lambda p: p["modes"] <= 3, seeds=[0])),
        ("seed 0, steps 50 to 500: one mode holds >= 90% of the samples at >= 70% of the looks, and the fullest mode "
         "changes >= 5 times", hopping)],
    "vanishing gradients": [
        ("at steps 2,000 and 4,000 in every seed: D(G(z)) < 1e-6, G's gradient < 1e-6 of what the non-saturating "
         "loss gives against the same D, 0 modes", lambda runs: everywhere(runs, [2000, 4000], vanished)),
        ("at steps 2,000 and 4,000 in every seed: longest arrow < 1e-5, and the arrows' points moved < 1e-3 in the "
         "last 50 steps", lambda runs: everywhere(runs, [2000, 4000],
                                                    lambda p: p["arrow"] < 1e-5 and p["moved"] < 1e-3))],
    "R1": [("8/8 modes at step 250 in every seed, and at every step measured on seed 0",
            lambda runs: everywhere(runs, [250], lambda p: p["modes"] == 8)
            and everywhere(runs, ALL, lambda p: p["modes"] == 8, seeds=[0])),
           ("D(G(z)) within 0.45 to 0.55 at every step measured, in every seed",
            lambda runs: everywhere(runs, ALL, lambda p: 0.45 <= p["d_fake"] <= 0.55))],
    "WGAN-GP": [("8/8 modes at steps 500 to 4,000 in every seed, and >= 50% high quality at 4,000",
                 lambda runs: everywhere(runs, ALL[1:], lambda p: p["modes"] == 8)
                 and everywhere(runs, [4000], lambda p: p["hq"] >= 50))],
    "hinge": [("8/8 modes at steps 1,000 to 4,000 in every seed",
               lambda runs: everywhere(runs, ALL[2:], lambda p: p["modes"] == 8))],
    "LSGAN": [("seed 0: 5 or 6 modes at every step measured, and >= 50% high quality at 4,000",
               lambda runs: everywhere(runs, ALL, lambda p: p["modes"] in (5, 6), seeds=[0])
               and at(runs, 0, 4000)["hq"] >= 50),
              ("seeds 1 and 2: 8/8 modes at step 4,000",
               lambda runs: everywhere(runs, [4000], lambda p: p["modes"] == 8, seeds=[1, 2]))],
    "vanishing gradients, loss switched to nonsaturating at step 2,000": [
        ("at step 4,000 in every seed: D(G(z)) > 0.1, at least 1 mode, and the arrows' points moving (> 1e-3 in the "
         "last 50 steps)", lambda runs: everywhere(runs, [4000], lambda p: p["d_fake"] > 0.1 and p["modes"] >= 1
                                                    and p["moved"] > 1e-3))],
    "vanishing gradients with the nonsaturating loss from step 0": [
        ("8/8 modes at step 4,000 in every seed", lambda runs: everywhere(runs, [4000], lambda p: p["modes"] == 8))],
    "R1 at lesson 08's paper settings": [
        ("seed 0: fewer than 8 modes at steps 250, 500, 1,000 and 4,000",
         lambda runs: everywhere(runs, [250, 500, 1000, 4000], lambda p: p["modes"] < 8, seeds=[0]))],
    "the saturating loss alone": [
        ("at every step measured, in every seed: D(G(z)) > 0.2, and G's gradient from the saturating loss > 0.2 of "
         "the non-saturating one's", lambda runs: everywhere(
             runs, ALL, lambda p: p["d_fake"] > 0.2 and p["saturating"] > 0.2 * p["nonsaturating"]))],
}


# -- the report -------------------------------------------------------------------------------------------------------
def changes_text(cfg: TrainConfig) -> str:
    """The fields in which `cfg` differs from TrainConfig()."""
    base = TrainConfig()
    changed = {name: value for name, value in vars(cfg).items() if getattr(base, name) != value}
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "TrainConfig()"


def per_seed(values, spec: str) -> str:
    """One table cell: the values of the seeds, in order."""
    return ", ".join(format(v, spec) for v in values)


def coverage_table(runs: Runs) -> list[str]:
    """Per checkpoint and seed: modes, % high quality, the looks since the last checkpoint, the median seconds."""
    seeds, steps = sorted(runs), list(runs[min(runs)]["points"])
    lines = [f"| step | modes (seeds {', '.join(map(str, seeds))}) | % high quality | one mode holds >= 90% (share of "
             "the looks since the last step shown) | changes of the fullest mode | training seconds (median) |",
             "|---|---|---|---|---|---|"]
    for before, step in zip([0, *steps], steps):
        points = [at(runs, s, step) for s in seeds]
        held, hops = zip(*(one_mode_at_a_time(runs[s]["looks"], before, step) for s in seeds))
        lines.append(f"| {step:,} | {per_seed((p['modes'] for p in points), 'd')} | "
                     f"{per_seed((p['hq'] for p in points), '.1f')} | {per_seed(held, '.0%')} | "
                     f"{per_seed(hops, 'd')} | "
                     f"{statistics.median(p['seconds'] for p in points):.1f} |")
    return lines


GRADIENT_COLUMNS = {"arrow": "longest arrow", "moved": "points moved in the last 50 steps", "d_fake": "D(G(z))",
                    "saturating": "G's gradient, saturating loss", "nonsaturating": "G's gradient, non-saturating loss"}


def gradient_table(runs: Runs) -> list[str]:
    """Per checkpoint and seed: the gradients that `measure` records."""
    seeds, steps = sorted(runs), list(runs[min(runs)]["points"])
    keys = [k for k in GRADIENT_COLUMNS if k in at(runs, seeds[0], steps[0])]
    lines = ["| step | " + " | ".join(GRADIENT_COLUMNS[k] for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for step in steps:
        lines.append(f"| {step:,} | " + " | ".join(per_seed((at(runs, s, step)[k] for s in seeds), '.1e')
                                                   for k in keys) + " |")
    return lines


def section(title: str, cfg: TrainConfig, runs: Runs, verdicts: list[tuple[str, bool]], switch: Switch) -> list[str]:
    """A preset's or a variant's story (presets only), settings, claims and tables."""
    moved = f"; at step {switch[0]:,} the lab's control moves to {switch[1]}" if switch else ""
    lines = [f"## {title}", ""]
    if title in PRESETS:
        preset = PRESETS[title]
        lines += [f"Lesson {preset.lesson}. {preset.story} *Watch:* {preset.watch}.", ""]
    lines += [f"Settings: {changes_text(cfg)}{moved}.", ""]
    lines += [f"Note: {NOTES[title]}", ""] if title in NOTES else []
    lines += [f"- {'holds' if holds else 'DOES NOT HOLD'}: {text}" for text, holds in verdicts]
    lines += [""] * bool(verdicts) + coverage_table(runs) + [""]
    lines += ["At the arrows pane's 64 points, per seed: the longest arrow (|-grad_x of G's loss|), the mean "
              "distance the points moved in the last 50 steps and, for the losses with D's probability, D(G(z)) and "
              "the norm of the gradient on G's weights from each G loss against the same D:", ""] + gradient_table(runs)
    return lines + [""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lab_presets", description=__doc__)
    parser.add_argument("names", nargs="*", help="presets and variants to run (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 to SEEDS - 1 (the claims need 3)")
    parser.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)),
                        help=f"steps at which to measure, multiples of {LOOK_EVERY} (the claims need the default)")
    parser.add_argument("--out", type=Path, default=HERE / "lab_presets.md")
    args = parser.parse_args(argv)
    checkpoints = tuple(int(c) for c in args.checkpoints.split(","))
    if any(c <= 0 or c % LOOK_EVERY for c in checkpoints) or list(checkpoints) != sorted(set(checkpoints)):
        parser.error(f"--checkpoints {args.checkpoints}: increasing multiples of {LOOK_EVERY} are needed")
    torch.set_num_threads(1)
    jobs = {name: (p.config, None) for name, p in PRESETS.items()}
    jobs.update({name: (replace(PRESETS[p].config, **ch), sw) for name, (p, ch, sw) in VARIANTS.items()})
    unknown = [name for name in args.names if name not in jobs]
    if unknown:
        parser.error(f"unknown preset or variant {', '.join(unknown)}; known: {', '.join(jobs)}")
    judged = checkpoints == CHECKPOINTS and args.seeds >= 3
    start, sections, summary = time.perf_counter(), [], []
    for name in args.names or list(jobs):
        cfg, switch = jobs[name]
        runs = {seed: follow(replace(cfg, seed=seed, device="cpu"), checkpoints, switch) for seed in range(args.seeds)}
        print(name, {seed: [(p["modes"], round(p["hq"], 1)) for p in r["points"].values()] for seed, r in runs.items()},
              flush=True)
        verdicts = [(text, holds(runs)) for text, holds in CLAIMS.get(name, [])] if judged else []
        summary += [f"| {name} | {text} | {'yes' if holds else 'NO'} |" for text, holds in verdicts]
        sections += section(name, cfg, runs, verdicts, switch)
    minutes = (time.perf_counter() - start) / 60
    head = ["# The live lab's presets: does each story hold?", "",
            f"`python -m benchmarks.lab_presets` ({minutes:.0f} minutes): every preset of gan_lessons/lab_presets.py "
            "trained as the lab trains it (the hand-written backward pass where it applies, one torch thread, CPU), "
            f"seeds 0 to {args.seeds - 1}. Coverage as the lab's line under its panes measures it: its 2,500 generated "
            f"samples, modes captured of 8, % within 3 sigma of a mode. Every {LOOK_EVERY} steps a look at "
            f"{LOOK_SAMPLES} samples finds the mode nearest to most of them (the fullest mode) and their share. "
            "Seconds count training only.", ""]
    if summary:
        head += ["| preset or variant | claim | holds |", "|---|---|---|", *summary, ""]
    args.out.write_text("\n".join(head + sections))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
