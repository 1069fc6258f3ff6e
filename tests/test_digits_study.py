"""benchmarks/digits_study.py: its clock, its candidates and its report, on random images (no MNIST needed)."""
from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from benchmarks.digits_study import (CANDIDATES, CHOSEN, LESSON_06, MLP, SCHEDULES, Candidate, PiecesNoise,
                                     build_trainer, by_seed_table, main, markdown, settings, summarize, table,
                                     train_for, write_outputs)
from gan_lessons.classifier import predict_proba
from gan_lessons.image_metrics import DigitClock, digit_scores
from gan_lessons.image_training import DCGANConfig, MLPDigitsConfig, make_dcgan_trainer, make_mlp_digits_trainer
from gan_lessons.latent import Noise
from gan_lessons.models import ImageMLPGenerator, generate


def _images(n: int = 64) -> torch.Tensor:
    """n random 'images' in [-1, 1]: enough to build and step every candidate."""
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


class SlowClassifier(nn.Module):
    """Ten logits from a linear layer, after `delay` seconds per call: scoring that takes time."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.linear, self.delay = nn.Linear(28 * 28, 10), delay

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.delay)
        return 30 * self.linear(x.flatten(1))  # sharp predictions, so that classes and scores vary


class SleepyTrainer:
    """A trainer whose steps each take 10 ms and change nothing."""

    def __init__(self):
        self.generator = ImageMLPGenerator(8, (16,))
        self.z_dim, self.ema, self.latent, self.step_count = 8, None, Noise(8), 0
        self.opt_d, self.opt_g = (SimpleNamespace(param_groups=[{"lr": 0.1}]) for _ in range(2))  # what train_for sets
        self.lr_d = self.lr_g = 0.1

    def step(self) -> None:
        time.sleep(0.01)
        self.step_count += 1


def test_the_curve_counts_training_time_and_leaves_scoring_out():
    trainer, start = SleepyTrainer(), time.perf_counter()
    clock = DigitClock(trainer, SlowClassifier(delay=0.1), every=0.05, n=10)
    train_for(trainer, clock, seconds=0.3)
    wall = time.perf_counter() - start
    scoring = 0.1 * len(clock.log)
    assert len(clock.log) >= 4 and wall >= 0.3 + scoring  # it scored, and scoring took its time ...
    assert 0.3 <= clock.seconds < 0.36  # ... which the clock left out
    assert trainer.step_count >= 24  # 0.3 s of 10-ms steps: scoring did not eat the budget
    seconds = [r["seconds"] for r in clock.log]
    assert seconds == sorted(seconds) and clock.log[-1]["step"] == trainer.step_count  # the last step is scored


def test_the_linear_schedule_brings_the_learning_rates_down_to_zero():
    trainer = SleepyTrainer()
    train_for(trainer, DigitClock(trainer, SlowClassifier(), every=1.0, n=10), 0.2, SCHEDULES["linear"])
    lr_g, lr_d = trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]
    assert 0 < lr_g < 0.01 and 0 < lr_d < 0.01  # the last step ran at (1 - t/T) of 0.1, t within 12 ms of T


def test_every_candidate_builds_and_trains_one_step():
    images = _images()
    assert len({c.name for c in CANDIDATES}) == len(CANDIDATES) and all("," not in c.name for c in CANDIDATES)
    for c in CANDIDATES:
        trainer = build_trainer(c, images)
        before = [p.detach().clone() for p in trainer.generator.parameters()]
        trainer.step()
        assert trainer.step_count == 1, c.name
        assert any(not torch.equal(a, p) for a, p in zip(before, trainer.generator.parameters())), c.name
        assert (trainer.lr_d, trainer.lr_g, trainer.config.batch_size) == (c.lr_d, c.lr_g, c.batch_size), c.name
        assert all(group["betas"][0] == c.beta1 for opt in (trainer.opt_d, trainer.opt_g)
                   for group in opt.param_groups), c.name
        assert (0.0 if trainer.ema is None else trainer.ema.beta) == c.ema, c.name
        assert isinstance(trainer.latent, PiecesNoise) == bool(c.pieces), c.name
        z, _ = trainer.latent(5, "cpu")
        assert generate(trainer.generator, z).shape == (5, 1, 28, 28), c.name


def test_the_lesson_06_candidate_trains_as_lesson_06s_trainer():
    images, trainers = _images(), []
    for build in (lambda: build_trainer(LESSON_06, images), lambda: make_dcgan_trainer(DCGANConfig(device="cpu"),
                                                                                         images)):
        trainers.append(build())
        trainers[-1].step()  # before the next one is built: the step's noise comes from torch's global generator
    ours, lesson = trainers
    for a, b in zip(ours.generator.parameters(), lesson.generator.parameters()):
        torch.testing.assert_close(a, b)


def test_the_ema_candidate_is_scored_on_the_averaged_generator():
    classifier = SlowClassifier()
    for c in CANDIDATES:
        if c.ema:
            trainer = build_trainer(c, _images())
            for _ in range(3):
                trainer.step()
            clock = DigitClock(trainer, classifier, n=50)
            averaged, live = generate(trainer.ema.generator, clock.z), generate(trainer.generator, clock.z)
            assert not torch.allclose(averaged, live)
            assert torch.equal(clock.images(), averaged), c.name
            expected = digit_scores(predict_proba(classifier, averaged))["score"]
            assert clock.evaluate(3)["score"] == pytest.approx(expected), c.name


def test_infogan_trains_its_head_with_g_and_leaves_d_alone():
    trainer = build_trainer(next(c for c in CANDIDATES if c.info_weight), _images())
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    q_before = [p.detach().clone() for p in trainer.q_head.parameters()]
    metrics = trainer.g_step(16, torch.device("cpu"))
    assert metrics["loss_info"] > 0
    assert all(torch.equal(a, p) for a, p in zip(d_before, trainer.discriminator.parameters()))
    assert all(not torch.equal(a, p) for a, p in zip(q_before, trainer.q_head.parameters()))


def test_candidates_refuse_settings_they_cannot_build():
    for changes, name in (({"generator": "resnet"}, "generator"), ({"schedule": "cosine"}, "schedule"),
                          ({"info_weight": 1.0}, "info_weight")):
        with pytest.raises(ValueError, match=name):
            Candidate("bad", **changes)
    with pytest.raises(SystemExit):  # refused before the classifier or MNIST are loaded
        main(["--candidates", "dcgan (lesson 06),wide"])


def _log(scores: list[float], kl: float = 0.02) -> list[dict]:
    """A clock's log: a scoring every 5 s with these scores, all 10 classes."""
    return [{"step": 100 * (i + 1), "seconds": 5.0 * (i + 1), "score": s, "classes": 10, "confidence": 0.9, "kl": kl}
            for i, s in enumerate(scores)]


def test_summary_reads_the_curve_at_half_time_and_finds_the_bar():
    row = summarize(MLP, _log([3.0, 7.0, 8.5, 8.2]), seconds=20)
    assert (row["score_half"], row["score_end"], row["best_score"], row["best_at_s"]) == (7.0, 8.2, 8.5, 15.0)
    assert row["reached_s"] == 15.0 and row["steps"] == 400 and row["settings"]["generator"] == "mlp"
    assert summarize(MLP, _log([3.0, 8.5], kl=0.2), seconds=10)["reached_s"] is None  # classes too uneven


def test_the_report_starts_with_the_command(tmp_path):
    rows = [summarize(LESSON_06, _log([4.0, 6.0]), 10), summarize(MLP, _log([5.0, 8.1]), 10)]
    real = {"n": 2000, "score": 9.6, "kl": 0.001, "classes": 10, "confidence": 0.99}
    command = "python -m benchmarks.digits_study --seconds 10"
    text = markdown(command, "a test machine", rows, real, 10, 5)
    assert text.splitlines()[0] == f"# `{command}`"
    assert "| mlp lr 1e-3 | 200 | 5.00 | 8.10 | 8.10 (10) | 0.020 | 10 | 0.900 | 10 s |" in text
    assert "+2.10 over lesson 06's DCGAN" in text and "score 9.60" in text
    write_outputs(tmp_path, {"command": command, "machine": "a test machine", "seconds": 10, "every": 5,
                             "samples": 2000, "real": real, "candidates": rows})
    assert (tmp_path / "digits_study.md").read_text().startswith(f"# `{command}`\n")
    assert (tmp_path / "digits_study.png").stat().st_size > 0 and (tmp_path / "digits_study.json").exists()


def test_seeds_change_the_run_and_the_report_gives_their_spread():
    a, b = (settings(replace(MLP, seed=seed)) for seed in (0, 1))
    assert a == b and "seed" not in a  # a seed is not a setting of the model
    rows = [summarize(replace(MLP, seed=seed), _log(scores), 10) for seed, scores in ((0, [5.0, 8.1]), (1, [5.0, 7.1]))]
    assert [r["seed"] for r in rows] == [0, 1]
    text = by_seed_table(rows, 10)
    assert "| mlp lr 1e-3 | 2 | 7.60 ± 0.71 | 7.10 | 1 of 2 | 10, - |" in text
    assert "| mlp lr 1e-3 (seed 1) |" in table(rows, 10)


def test_lesson_06s_mlp_default_trains_as_the_candidate_the_study_chose():
    chosen = next(c for c in CANDIDATES if c.name == CHOSEN)
    images, trainers = _images(), []
    for build in (lambda: build_trainer(chosen, images),
                  lambda: make_mlp_digits_trainer(MLPDigitsConfig(device="cpu"), images, hand_written_backward=False)):
        trainers.append(build())
        for _ in range(3):
            trainers[-1].step()  # before the next one is built: the steps' noise comes from torch's global generator
    ours, library = trainers
    assert library.config.ema == chosen.ema > 0 and library.config.beta1 == chosen.beta1
    for a, b in zip((*ours.ema.generator.parameters(), *ours.discriminator.parameters()),
                    (*library.ema.generator.parameters(), *library.discriminator.parameters()), strict=True):
        assert torch.equal(a, b)
    report = markdown("c", "m", [summarize(chosen, _log([5.0, 8.1]), 10)],
                      {"n": 2000, "score": 9.6, "kl": 0.001, "classes": 10, "confidence": 0.99}, 10, 5)
    assert f"(`image_training.MLPDigitsConfig`): {CHOSEN}; score at 10 s: 8.10." in report
