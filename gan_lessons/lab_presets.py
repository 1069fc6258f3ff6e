"""The live lab's presets: one whole TrainConfig for each story the lessons tell, chosen from a dropdown.

A preset sets every control at once (and what lies behind them: the networks' depth and width, the optimizer,
Adam's betas, the seed), and the lab starts fresh G and D from it. Each story and each thing to watch states only
what `python -m benchmarks.lab_presets` measures, training as the lab trains (benchmarks/lab_presets.md).
This module imports no widgets and not lab.py (which imports it).
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig, replace


@dataclass(frozen=True)
class Preset:
    """A lesson's story in the lab: what the class will see, the lesson that tells it, the configuration the lab
    restarts from, and what to look at in the panes."""

    story: str  # one or two sentences: what the class will see, and which lesson tells it
    lesson: str  # "05", "07", "08", ...
    config: TrainConfig  # the whole configuration the lab restarts from, not only the controls
    watch: str  # what to look at in the panes


# Lesson 07's plain GAN (non-saturating loss, no regularizer, 2-128-128-2 MLPs, batch 256, Adam 1e-3, betas (0.5,
# 0.999)): the one that collapses, and the one every fix of lesson 08 starts from. The unused reg_weight keeps its
# default, 0.1, which the lab's weight slider offers.
PLAIN = TrainConfig(regularizer="none")

PRESETS: dict[str, Preset] = {
    # gan_lessons.lab.LAB_DEFAULTS, built again here because lab.py imports this module (a test holds them equal)
    "fast ring": Preset(
        story="draft", lesson="05",
        config=TrainConfig(depth=3, hidden=64, lr_d=3e-3, lr_g=3e-3, regularizer="none"),
        watch="draft"),
    "mode collapse": Preset(story="draft", lesson="07", config=PLAIN, watch="draft"),
    "vanishing gradients": Preset(
        story="draft", lesson="07",
        config=replace(PLAIN, loss="minimax", d_steps=5, lr_d=3e-2, lr_g=3e-3),
        watch="draft"),
    "R1": Preset(story="draft", lesson="07", config=replace(PLAIN, regularizer="r1", reg_weight=0.1), watch="draft"),
    # Gulrajani et al. (2017), their code gan_toy.py: LAMBDA = .1 on toy data, CRITIC_ITERS = 5, Adam(1e-4, 0.5, 0.9)
    "WGAN-GP": Preset(
        story="draft", lesson="08",
        config=replace(PLAIN, loss="wgan", regularizer="gp", reg_weight=0.1, d_steps=5, lr_d=1e-4, lr_g=1e-4,
                       beta1=0.5, beta2=0.9),
        watch="draft"),
    # The hinge loss as Miyato et al. (2018) train it (n_dis = 5, Adam 2e-4, betas (0, 0.9)), without spectral norm
    "hinge": Preset(
        story="draft", lesson="08",
        config=replace(PLAIN, loss="hinge", d_steps=5, lr_d=2e-4, lr_g=2e-4, beta1=0.0, beta2=0.9),
        watch="draft"),
    # Mao et al. (2017), section 4: Adam with beta1 = 0.5, learning rates 1e-3 (D) and 2e-4 (G)
    "LSGAN": Preset(story="draft", lesson="08", config=replace(PLAIN, loss="lsgan", lr_d=1e-3, lr_g=2e-4),
                    watch="draft"),
}
