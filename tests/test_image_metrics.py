"""The image metrics against independent computations, and on real MNIST against what they must show."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from gan_lessons import classifier, image_metrics as im
from gan_lessons.data import load_mnist_for_training, to_unit_range
from classifier_cache import needs_mnist, shared_classifier

# Fast-mode training of the conditional GAN (300 steps) reaches about 0.36 requested-digit accuracy (chance: 0.10);
# 4,000 steps reach about 0.85 (lesson 09).
CONDITIONAL_FAST_STEPS, CONDITIONAL_FAST_THRESHOLD = 300, 0.2


def frechet_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The FID formula with scipy's general matrix square root (as in the reference implementation)."""
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_matches_scipy_is_zero_on_itself_and_grows_with_noise():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(500, 8, generator=gen) @ torch.randn(8, 8, generator=gen)
    b = torch.randn(400, 8, generator=gen) * 2 + 1
    assert im.frechet_distance(a, b) == pytest.approx(frechet_reference(a.numpy(), b.numpy()), rel=1e-6)
    assert abs(im.frechet_distance(a, a)) < 1e-6
    noise = torch.randn(a.shape, generator=gen)
    distances = [im.frechet_distance(a, a + s * noise) for s in (0.1, 0.3, 1.0, 3.0)]
    assert all(x < y for x, y in zip(distances, distances[1:])), distances


def test_frechet_distance_of_gaussians_is_the_closed_form():
    """N(0, I) vs N(m, 4I) in 3-D: |m|^2 + Tr(I + 4I - 2*2I) = |m|^2 + 3."""
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(200_000, 3, generator=gen), 2 * torch.randn(200_000, 3, generator=gen) + 1
    assert im.frechet_distance(a, b) == pytest.approx(3 + 3, abs=0.05)


def test_classifier_score_extremes_and_formula():
    assert im.classifier_score(torch.eye(10).repeat(5, 1)) == pytest.approx(10)  # confident, all classes
    assert im.classifier_score(torch.eye(10)[[3] * 50]) == pytest.approx(1)  # every image the same digit
    assert im.classifier_score(torch.full((20, 10), 0.1)) == pytest.approx(1)  # unsure about every image
    p = torch.softmax(torch.randn(50, 10, generator=torch.Generator().manual_seed(2)), 1).double().numpy()
    kl = (p * (np.log(p) - np.log(p.mean(0)))).sum(1).mean()
    assert im.classifier_score(torch.tensor(p)) == pytest.approx(math.exp(kl), rel=1e-9)


def test_class_histogram_metrics():
    balanced, one = torch.eye(10).repeat(10, 1), torch.eye(10)[[7] * 100]
    assert im.class_kl(balanced) == pytest.approx(0, abs=1e-12)
    assert im.class_kl(one) == pytest.approx(math.log(10))
    assert im.class_coverage(balanced) == 10 and im.class_coverage(one) == 1
    few = torch.eye(10)[[0] * 99 + [1]]  # one digit drawn once in a hundred: not covered
    assert im.class_coverage(few) == 1
    assert im.confidence(torch.full((4, 10), 0.1)) == pytest.approx(0.1)


def test_precision_recall_on_points():
    gen = torch.Generator().manual_seed(3)
    real, other = torch.randn(600, 4, generator=gen), torch.randn(600, 4, generator=gen)
    precision, recall = im.precision_recall(real, other)
    assert precision > 0.8 and recall > 0.8
    collapsed = real[:1] + 0.01 * torch.randn(600, 4, generator=gen)
    precision, recall = im.precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.05
    with pytest.raises(ValueError, match="k=0"):
        im.knn_radii(real, 0)


@pytest.fixture(scope="module")
def mnist():
    images, labels, _ = load_mnist_for_training()
    return to_unit_range(images), labels


@needs_mnist
def test_classifier_accuracy_is_at_least_98_5_percent():
    clf = shared_classifier()
    accuracy = classifier.held_out_accuracy(clf)  # measured afresh on the held-out images
    assert accuracy >= 0.985, accuracy
    assert classifier.classifier_accuracy(clf) == pytest.approx(accuracy, abs=1e-6)
    x = torch.zeros(3, 1, 28, 28)
    assert classifier.predict_proba(clf, x).sum(1).allclose(torch.ones(3))
    assert classifier.features(clf, x).shape == (3, classifier.FEATURE_DIM)
    with pytest.raises(ValueError, match="images"):
        classifier.predict_proba(clf, torch.zeros(3, 28, 28))


@needs_mnist
def test_real_vs_real_is_high_and_a_collapsed_set_has_low_recall(mnist):
    images, labels = mnist
    collapsed = images[labels == 1][:1].repeat(1000, 1, 1, 1)  # one digit repeated
    result = im.evaluate_images(collapsed, n=1000, real=images, classifier=shared_classifier())
    assert result["precision_real"] > 0.8 and result["recall_real"] > 0.8, result
    assert result["classifier_score_real"] > 9.0  # the maximum is 10
    assert result["class_coverage_real"] == 10 and result["class_kl_real"] < 0.02
    assert result["recall"] < 0.05 and result["class_coverage"] == 1 and result["classifier_score"] < 1.1
    assert result["frechet_distance"] > 20 * result["frechet_distance_real"]


@needs_mnist
def test_conditional_generator_draws_the_requested_digits_after_fast_training(mnist):
    from gan_lessons.image_training import train_conditional_mnist

    trainer = train_conditional_mnist(*mnist, n_steps=CONDITIONAL_FAST_STEPS)
    labels = torch.arange(1000) % 10
    accuracy = im.requested_digit_accuracy(shared_classifier(), trainer.sample(labels), labels)
    assert accuracy > CONDITIONAL_FAST_THRESHOLD, accuracy
