"""The live lab's presets: one whole TrainConfig for each story the lessons tell, chosen from a dropdown.

A preset sets every control at once (and what lies behind them: the networks' depth and width, the optimizer,
Adam's betas, the seed), and the lab starts fresh G and D from it. Each story and each thing to watch states only
what `python -m benchmarks.lab_presets` measures, training as the lab trains (benchmarks/lab_presets.md).
This module imports no widgets and not lab.py (which imports it). A story and what to watch are kept in English
(the benchmark's report quotes them); the lab says them in the language in use (`tr(preset.story)`), and names a
preset in it with `preset_label`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig, later, replace
from .i18n import tr


@dataclass(frozen=True)
class Preset:
    """A lesson's story in the lab: what the class will see, the lesson that tells it, the configuration the lab
    restarts from, and what to look at in the panes."""

    story: str  # one or two sentences: what the class will see, and which lesson tells it
    lesson: str  # "05", "07", "08", ...
    config: TrainConfig  # the whole configuration the lab restarts from, not only the controls
    watch: str  # what to look at in the panes

    @property
    def told(self) -> str:
        """The story in the language in use (`story` itself stays English: the benchmark's report quotes it)."""
        return tr(self.story)


# Lesson 07's plain GAN (non-saturating loss, no regularizer, 2-128-128-2 MLPs, batch 256, Adam 1e-3, betas (0.5,
# 0.999)): the one that collapses, and the one every fix of lesson 08 starts from (comparison.BASE). The unused
# reg_weight keeps its default, 0.1, which the lab's weight slider offers.
PLAIN = TrainConfig(regularizer="none")

PRESETS: dict[str, Preset] = {
    "fast ring": Preset(
        story=later.tr("The lab's own starting point: a plain GAN with three hidden layers of 64 units that learns at "
                       "3e-3. By step 4,000 (about 8 s of training on one core) it covers all 8 modes with at least "
                       "80% of its samples within 3σ of one, in each of the 3 seeds measured."),
        lesson="05",
        # gan_lessons.lab.LAB_DEFAULTS: lab.py takes its defaults from here
        config=TrainConfig(depth=3, hidden=64, lr_d=3e-3, lr_g=3e-3, regularizer="none"),
        watch=later.tr("the coverage line jumps about before it settles (7 or 8 modes at step 500, 3 to 7 at step "
                       "1,000), then reads 8 of 8 with at least 80% high quality by step 4,000")),
    "mode collapse": Preset(
        story=later.tr("Lesson 07's plain GAN (non-saturating loss, no regularizer) on the ring, seed 0: its samples "
                       "crowd onto one mode at a time, and the coverage line counts at most 3 of the 8 modes until "
                       "step 2,000. How long a collapse lasts depends on the seed: seed 1 covers all 8 by step 2,000, "
                       "and seed 2 never crowds onto one mode."),
        lesson="07",
        config=PLAIN,
        watch=later.tr("for the first 500 steps the orange cloud sits on one blue mode at a time and jumps to another "
                       "every 50 steps or so")),
    "vanishing gradients": Preset(
        story=later.tr("The saturating (minimax) loss of G, log(1 − D(G(z))), against a D that learns ten times as "
                       "fast as G and takes 5 steps per G step: by step 2,000, in every seed measured, D calls every "
                       "fake a fake (D(G(z)) < 1e-6), G's gradient is under a millionth of what the non-saturating "
                       "loss would get from the same D, and G stops moving, on none of the modes. Lesson 07 measures "
                       "the same with D trained alone."),
        lesson="07",
        config=replace(PLAIN, loss="minimax", d_steps=5, lr_d=3e-2, lr_g=3e-3),
        watch=later.tr("the note under the arrows pane (longest arrow: |∇|) falls from tens to below 1e-5 and the "
                       "orange points freeze; then switch the loss to nonsaturating: D(G(z)) climbs back above 0.1 and "
                       "G is on the ring again 2,000 steps later (1 to 4 modes)")),
    "R1": Preset(
        story=later.tr("Lesson 07's plain GAN and seed again, with the light R1 penalty (γ = 0.1) that lesson 08 "
                       "explains: all 8 modes by step 250 in every seed measured, and no collapse. Its samples stay "
                       "blurred around the modes: 13% to 40% high quality at step 4,000."),
        lesson="07",
        config=replace(PLAIN, regularizer="r1", reg_weight=0.1),
        watch=later.tr("the coverage line reads 8 of 8 from step 250 on, and D answers about ½ on the orange points "
                       "all along (D(G(z)) between 0.45 and 0.55), yet the cloud around each mode stays wide")),
    "WGAN-GP": Preset(
        story=later.tr("WGAN with a gradient penalty at Gulrajani et al.'s settings for toy data: all 8 modes by step "
                       "500 in every seed measured, then the samples gather onto them slowly (56% to 59% high quality "
                       "at step 4,000). Each step trains the critic 5 times: 4,000 steps took about 100 s of training "
                       "on one core, 8 times as long as lesson 07's plain GAN."),
        lesson="08",
        # Gulrajani et al. (2017), their code gan_toy.py: LAMBDA = .1 on toy data, CRITIC_ITERS = 5,
        # Adam(lr=1e-4, beta1=0.5, beta2=0.9) (comparison.paper_changes("wgan-gp"), lesson 08's table). The data stay
        # as they are (gan_toy.py and the table standardize them), so that the collapse pinned beside this preset is
        # drawn at the same scale.
        config=replace(PLAIN, loss="wgan", regularizer="gp", reg_weight=0.1, d_steps=5, lr_d=1e-4, lr_g=1e-4,
                       beta1=0.5, beta2=0.9),
        watch=later.tr("the heatmap shows the critic's raw score, not a probability; the coverage line reaches 8 of 8 "
                       "by step 500 while the share of high-quality samples climbs slowly (11% to 16% at step 1,000)")),
    "hinge": Preset(
        story=later.tr("The hinge loss at the settings Miyato et al. train it with, here without spectral "
                       "normalization: all 8 modes by step 1,000 in every seed measured, and 43% to 50% high quality "
                       "at step 4,000."),
        lesson="08",
        # Miyato et al. (2018): n_dis = 5, Adam alpha = 2e-4, beta1 = 0, beta2 = 0.9 (comparison.paper_changes("hinge"))
        config=replace(PLAIN, loss="hinge", d_steps=5, lr_d=2e-4, lr_g=2e-4, beta1=0.0, beta2=0.9),
        watch=later.tr("the note under the arrows pane grows steadily, from about 5 at step 250 to 40 to 50 at step "
                       "4,000, while the coverage line holds 8 of 8")),
    "LSGAN": Preset(
        story=later.tr("The least-squares loss at Mao et al.'s settings, seed 0: G settles on 5 of the 8 modes and "
                       "stays (6 at step 4,000), while its samples there sharpen to 58% high quality. Seeds 1 and 2 "
                       "cover all 8: as lesson 08's table shows for LSGAN, precise samples, and modes dropped in some "
                       "seeds."),
        lesson="08",
        # Mao et al. (2017), section 4: Adam with beta1 = 0.5, learning rates 1e-3 (D) and 2e-4 (G)
        config=replace(PLAIN, loss="lsgan", lr_d=1e-3, lr_g=2e-4),
        watch=later.tr("the coverage line stays at 5 of 8 through step 2,000 while the share of high-quality samples "
                       "climbs (3% at step 1,000, 25% at 2,000, 58% at 4,000); the samples never crowd onto one mode")),
}


def preset_label(name: str) -> str:
    """How the lab names the preset `name` to a student, in the language in use: the name itself in English (what
    `lab.preset(name)` takes), its words translated in another language; names of methods stay as they are."""
    labels = {"fast ring": tr("fast ring"), "mode collapse": tr("mode collapse"),
              "vanishing gradients": tr("vanishing gradients"), "hinge": tr("hinge")}
    return labels.get(name, name)
