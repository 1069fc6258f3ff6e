"""Lesson 06's DCGAN training: it trains on the CPU, checkpoints round-trip, batches come from the device-resident
sampler, the digit criterion and the interpolations compute what their docstrings say, and the benchmarks run."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from gan_lessons import image_training, latent
from gan_lessons.data import mnist
from gan_lessons.image_metrics import DigitClock, classifier_score, digit_scores, recognizable, undecided, unsure_masks
from gan_lessons.image_training import DCGANConfig, make_dcgan_trainer
from gan_lessons.models import generate

ROOT = Path(__file__).resolve().parents[1]
HAS_MNIST = mnist.mnist_available("test")
needs_mnist = pytest.mark.skipif(not HAS_MNIST, reason="MNIST test split not found: set GAN_LESSONS_DATA")
SMALL = DCGANConfig(width=4, batch_size=16, device="cpu")


def _digits() -> torch.Tensor:
    """64 fake 'images' in [-1, 1]: enough to train a few steps without MNIST."""
    return torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_config_rejects_bad_values_with_the_parameter_name():
    for field, value in (("width", 0), ("batch_size", 1.5), ("lr_d", -1.0), ("amp", "fp8"), ("device", "tpu"),
                         ("compile", "yes")):
        with pytest.raises(ValueError, match=field):
            DCGANConfig(**{field: value})
    assert DCGANConfig().arch() == {"generator": "dcgan", "z_dim": 100, "width": DCGANConfig().width}


def test_dcgan_trains_on_cpu_and_the_loss_changes():
    trainer = make_dcgan_trainer(SMALL, images=_digits())
    assert trainer.autocast_dtype is None  # the CPU stays in float32
    G0 = [p.detach().clone() for p in trainer.generator.parameters()]
    history = trainer.run(6, progress=False)
    assert all(math.isfinite(v) for v in history["loss_d"] + history["loss_g"])
    assert history["loss_d"][0] != history["loss_d"][-1] and history["loss_g"][0] != history["loss_g"][-1]
    assert any(not torch.equal(a, b) for a, b in zip(G0, trainer.generator.parameters()))


def test_models_are_channels_last_and_dcgan_initialized():
    G, D = image_training.dcgan_models(SMALL, torch.device("cpu"))
    conv = G.net[3].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert abs(torch.cat([p.flatten() for p in G.parameters() if p.dim() == 4]).std().item() - 0.02) < 0.003


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_project_and_reshape_product_is_the_first_transposed_convolution(layout):
    """G computes its first layer as a matrix product: same outputs and same weight gradients as net[0]."""
    from gan_lessons.models import DCGANGenerator, dcgan_init

    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=10, width=3).apply(dcgan_init).to(memory_format=layout)
    z, upstream = torch.randn(5, 10), torch.randn(5, 12, 7, 7)
    by_conv = G.net[0](z.view(5, 10, 1, 1))
    (grad_conv,) = torch.autograd.grad((by_conv * upstream).sum(), G.net[0].weight)
    by_product = G.project(z)
    (grad_product,) = torch.autograd.grad((by_product * upstream).sum(), G.net[0].weight)
    assert by_product.shape == (5, 12, 7, 7)
    torch.testing.assert_close(by_product, by_conv, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_product, grad_conv, rtol=1e-5, atol=1e-6)
    out, reference = G.fast_cpu_forward(z), G(z)  # the whole G too, by its faster path
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-6)
    weights = list(G.parameters())
    for a, b in zip(torch.autograd.grad(out.square().sum(), weights), torch.autograd.grad(reference.square().sum(), weights)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_g_reads_as_its_sequential_and_the_trainer_runs_the_fast_path_on_a_cpu():
    from gan_lessons.models import DCGANGenerator
    from gan_lessons.training import step_forward

    G = DCGANGenerator(z_dim=10, width=3)
    z = torch.randn(4, 10)
    assert torch.equal(G(z), G.net(z.view(4, 10, 1, 1)))  # forward is the Sequential, nothing else
    assert step_forward(G) == G.fast_cpu_forward and step_forward(G.double()) is G  # float64: the plain path
    trainer = make_dcgan_trainer(SMALL, images=_digits())
    assert trainer.forward_g == trainer.generator.fast_cpu_forward


def test_checkpoint_round_trip_gives_identical_generator_outputs(tmp_path):
    trainer = make_dcgan_trainer(SMALL, images=_digits())
    trainer.run(3, progress=False)
    path = trainer.save(tmp_path / "dcgan.pt", extra={"arch": SMALL.arch()})
    fresh = make_dcgan_trainer(DCGANConfig(width=4, batch_size=16, device="cpu", seed=5), images=_digits())
    z = torch.randn(8, SMALL.z_dim)
    assert not torch.equal(generate(fresh.generator, z), generate(trainer.generator, z))
    state = fresh.load(path)
    assert torch.equal(generate(fresh.generator, z), generate(trainer.generator, z))
    assert state["arch"] == {"generator": "dcgan", "z_dim": 100, "width": 4} and fresh.step_count == 3
    saved = torch.load(path, weights_only=True)  # the file is plain tensors and values
    assert set(saved["arch"]) == {"generator", "z_dim", "width"}


def test_generate_keeps_the_generator_mode_and_uses_running_statistics():
    G, _ = image_training.dcgan_models(SMALL, torch.device("cpu"))
    z = torch.randn(4, SMALL.z_dim)
    one_by_one = torch.cat([generate(G, z[i:i + 1]) for i in range(4)])  # eval mode: no batch dependence
    torch.testing.assert_close(one_by_one, generate(G, z), atol=1e-5, rtol=1e-4)
    assert G.training


@needs_mnist
def test_sampler_gives_device_batches_of_the_right_shape_and_range():
    trainer = make_dcgan_trainer(DCGANConfig(batch_size=32, device="cpu"))
    data = trainer.sample_real.data
    assert data.shape[1:] == (1, 28, 28) and data.dtype == torch.float32 and len(data) >= 10_000
    batch = trainer.sample_real()
    assert batch.shape == (32, 1, 28, 28) and batch.device == data.device
    assert batch.min() >= -1 and batch.max() <= 1 and batch.min() == -1  # the background is -1
    assert not torch.equal(batch, trainer.sample_real())  # a fresh draw each call


def test_digit_scores_match_their_formulas():
    probs = torch.zeros(20, 10)
    probs[torch.arange(20), torch.arange(20) % 5] = 0.8  # 5 classes, 4 samples each
    probs[:, 9] += 0.2
    scores = digit_scores(probs)
    hist = torch.tensor([0.2] * 5 + [0.0] * 5)
    kl = sum(h * math.log(10 * h) for h in hist.tolist() if h > 0)
    assert scores["classes"] == 5 and scores["confidence"] == pytest.approx(0.8)
    assert scores["kl"] == pytest.approx(kl) == pytest.approx(math.log(2))
    assert scores["score"] == pytest.approx(classifier_score(probs))
    uniform = torch.eye(10).repeat(10, 1)
    assert digit_scores(uniform) == pytest.approx({"score": 10.0, "classes": 10, "confidence": 1.0, "kl": 0.0})
    assert recognizable(digit_scores(uniform)) and not recognizable(scores)
    assert not recognizable({"score": 7.99, "classes": 10, "confidence": 1.0, "kl": 0.0})
    assert not recognizable({"score": 9.0, "classes": 10, "confidence": 1.0, "kl": 0.051})
    assert not recognizable({"score": 9.0, "classes": 9, "confidence": 1.0, "kl": 0.0})


def test_one_clear_digit_is_confident_but_not_recognizable():
    """Why the bar is the score and the class KL: a generator that draws one very clear digit has a mean confidence
    of 0.99 but a score of 1 and a KL of log 10."""
    one_digit = torch.full((2000, 10), 0.01 / 9)
    one_digit[:, 3] = 0.99
    scores = digit_scores(one_digit)
    assert scores["confidence"] == pytest.approx(0.99) and scores["kl"] == pytest.approx(math.log(10))
    assert scores["score"] == pytest.approx(1.0) and not recognizable(scores)


def test_undecided_counts_the_unsure_samples_and_those_between_two_digits():
    probs = torch.zeros(10, 10)
    probs[:6, 0] = 1.0  # six sure zeros
    probs[6:8, 4], probs[6:8, 9] = 0.55, 0.45  # two halfway between 4 and 9
    probs[8, 9], probs[8, 4] = 0.5, 0.5  # the same pair, the other way round
    probs[9, :] = 0.1  # one that is no digit at all
    split = undecided(probs)
    assert split["unsure"] == pytest.approx(0.4) and split["between_two"] == pytest.approx(0.75)
    assert split["pairs"] == {"4|9": 3}
    unsure, between = unsure_masks(probs)
    assert unsure.nonzero().flatten().tolist() == [6, 7, 8, 9] and between.nonzero().flatten().tolist() == [6, 7, 8]
    assert undecided(probs, unsure_below=0.5)["unsure"] == pytest.approx(0.1)  # only the flat one is below 0.5
    assert undecided(probs[:6]) == {"unsure": 0.0, "between_two": 0.0, "pairs": {}}
    with pytest.raises(ValueError, match="pair_mass"):
        undecided(probs, pair_mass=1.5)


def test_interpolations_end_at_their_endpoints_and_slerp_keeps_the_length():
    torch.manual_seed(0)
    z0, z1 = torch.randn(100), torch.randn(100)
    line, arc = latent.interpolate(z0, z1, 7), latent.slerp(z0, z1, 7)
    for path in (line, arc):
        torch.testing.assert_close(path[0], z0, atol=1e-5, rtol=0)
        torch.testing.assert_close(path[-1], z1, atol=1e-5, rtol=0)
    torch.testing.assert_close(line[3], (z0 + z1) / 2)
    u0, u1 = z0 / z0.norm(), z1 / z1.norm()
    unit_arc = latent.slerp(u0, u1, 7)  # between unit vectors: on the sphere, at equal angles
    torch.testing.assert_close(unit_arc.norm(dim=1), torch.ones(7))
    cos = torch.nn.functional.cosine_similarity(unit_arc[:-1], unit_arc[1:], dim=1)
    assert (cos.max() - cos.min()).abs() < 1e-5
    assert line.norm(dim=1)[3] < arc.norm(dim=1)[3]  # the straight line sags towards 0 in the middle
    torch.testing.assert_close(latent.slerp(z0, 2 * z0, 3), latent.interpolate(z0, 2 * z0, 3))


@needs_mnist
def test_benchmarks_run_in_quick_mode_and_write_records(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "dcgan_mnist", "time_to_digits", "--out", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    records = {r["name"]: r for r in json.loads(out.read_text())}
    assert set(records) == {"dcgan_mnist.images_per_s", "dcgan_mnist.images_per_s_1_thread",
                            "dcgan_mnist.g_fast_cpu_forward_images_per_s", "dcgan_mnist.busy_core_slowdown",
                            "time_to_digits.seconds", "time_to_digits.mlp_steps_per_s",
                            "time_to_digits_conditional.seconds"}
    for r in records.values():
        assert set(r) == {"name", "value", "unit", "target", "better", "baseline", "note"}
        assert math.isfinite(r["value"]) and r["value"] > 0 and r["better"] in ("higher", "lower")
        assert r["baseline"] is not None
        assert (r["target"] is None) == r["name"].endswith("_1_thread")  # the one-thread row is for reference
    assert records["dcgan_mnist.images_per_s"]["unit"] == "images/s"
    assert records["time_to_digits.seconds"]["unit"] == "s"


def test_make_lab_runs_the_kernels_on_the_benchmarked_thread_count():
    from benchmarks.dcgan_mnist import LESSON_THREADS

    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "OMP_NUM_THREADS=$(LAB_THREADS) " in recipe and f"\nLAB_THREADS ?= {LESSON_THREADS}\n" in makefile, \
        "make lab must give the kernels the benchmarked number of threads"


class _DrawsTheLabel(torch.nn.Module):
    """A conditional G whose image of label y lights pixel (0, y); with no label it always draws 3."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z, y=None):
        y = torch.full((len(z),), 3) if y is None else y
        x = -torch.ones(len(z), 1, 28, 28)
        x[torch.arange(len(z)), 0, 0, y] = 1.0
        return x * self.scale


class _ReadsThePixel(torch.nn.Module):
    """A 'classifier' that reads the digit from pixel (0, y), very sure of it."""

    def __init__(self, sharpness: float = 20.0):
        super().__init__()
        self.sharpness = torch.nn.Parameter(torch.tensor(sharpness))

    def forward(self, x):
        return self.sharpness * x[:, 0, 0, :10]


def test_digit_clock_scores_the_average_of_g_when_the_trainer_keeps_one():
    config = types.SimpleNamespace(n_classes=10)
    live, averaged = _DrawsTheLabel(), _DrawsTheLabel()
    with torch.no_grad():
        live.scale.fill_(-1.0)  # G itself lights every pixel but the label's: no digit can be read from it
    trainer = types.SimpleNamespace(generator=live, ema=types.SimpleNamespace(generator=averaged), z_dim=4,
                                    config=config)
    clock = DigitClock(trainer, _ReadsThePixel(), n=2000, min_score=9.0)
    assert torch.equal(clock.images(), generate(averaged, clock.z, *clock.condition))
    assert clock.evaluate(0)["score"] > 9.9 and clock.reached == 0.0
    trainer.ema = None  # no average: G's own images
    assert torch.equal(clock.images(), generate(live, clock.z, *clock.condition))


def test_digit_clock_asks_a_conditional_generator_for_every_digit_and_uses_its_bar():
    config = types.SimpleNamespace(n_classes=10)
    conditional = types.SimpleNamespace(generator=_DrawsTheLabel(), z_dim=4, config=config)
    clock = DigitClock(conditional, _ReadsThePixel(), n=2000, min_score=9.0)
    scores = clock.evaluate(0)
    assert scores["classes"] == 10 and scores["kl"] == pytest.approx(0.0) and scores["score"] > 9.9
    assert clock.reached == 0.0
    unconditional = types.SimpleNamespace(generator=_DrawsTheLabel(), z_dim=4, config=types.SimpleNamespace())
    one_digit = DigitClock(unconditional, _ReadsThePixel(), n=2000).evaluate(0)
    assert one_digit["classes"] == 1 and one_digit["confidence"] > 0.99 and one_digit["score"] < 1.01
    unsure = _ReadsThePixel(sharpness=3.0)  # p = 0.978 for the digit drawn: a score of 8.58
    lenient, strict = DigitClock(conditional, unsure, n=2000), DigitClock(conditional, unsure, n=2000, min_score=9.0)
    assert lenient.evaluate(0)["score"] == pytest.approx(8.58, abs=0.01) and strict.evaluate(0)["score"] < 9.0
    assert lenient.reached == 0.0 and strict.reached is None
    with pytest.raises(ValueError, match="min_score"):
        DigitClock(conditional, _ReadsThePixel(), min_score=11.0)
