"""The checks of lesson 10 accept right answers and name the usual mistakes."""
import math

import torch

from gan_lessons.checks import lesson10


def score_right(p):
    p_y = p.mean(0, keepdim=True)
    return math.exp((torch.xlogy(p, p) - torch.xlogy(p, p_y)).sum(1).mean().item())


def test_classifier_score_check():
    assert lesson10.check_classifier_score(score_right).ok
    wrong = {
        "log of the score": lambda p: math.log(score_right(p)),
        "sign is flipped": lambda p: 1 / score_right(p),
        "NaN": lambda p: math.exp((p * (p.log() - p.mean(0).log())).sum(1).mean().item()),
        "not the uniform": lambda p: math.exp((torch.xlogy(p, p) - torch.xlogy(p, torch.full_like(p, 0.1)))
                                              .sum(1).mean().item()),
        "expected a number": lambda p: (torch.xlogy(p, p) - torch.xlogy(p, p.mean(0))).sum(1),
    }
    for phrase, fn in wrong.items():
        result = lesson10.check_classifier_score(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def _sqrtm(m):
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def fd_right(a, b):
    ca, cb = torch.cov(a.T.double()), torch.cov(b.T.double())
    root = _sqrtm(ca)
    cross = torch.linalg.eigvalsh(root @ cb @ root).clamp_min(0).sqrt().sum()
    return ((a.mean(0) - b.mean(0)).pow(2).sum() + ca.trace() + cb.trace() - 2 * cross).item()


def test_frechet_distance_check():
    assert lesson10.check_frechet_distance(fd_right).ok
    mean = lambda a, b: (a.mean(0) - b.mean(0)).pow(2).sum().item()
    wrong = {
        "diagonal": lambda a, b: mean(a, b) + (a.var(0).sqrt() - b.var(0).sqrt()).pow(2).sum().item(),
        "mean term": lambda a, b: fd_right(a, b) - mean(a, b),
        "only the mean": mean,
        "factor 2": lambda a, b: fd_right(a, b) + 1.0,
        "against itself": lambda a, b: fd_right(a, b) + 0.0 if a is not b and not torch.equal(a, b) else 5.0,
    }
    for phrase, fn in wrong.items():
        result = lesson10.check_frechet_distance(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_classifier_score_refuses_a_library_shortcut():
    from gan_lessons import image_metrics
    from gan_lessons.image_metrics import classifier_score  # imported before the check, as a student would

    for shortcut in (lambda p: image_metrics.classifier_score(p), lambda p: classifier_score(p)):
        result = lesson10.check_classifier_score(shortcut)
        assert not result.ok and "gan_lessons.image_metrics.classifier_score" in result.message, result.message
    assert abs(classifier_score(torch.eye(10)) - 10) < 1e-6  # the library works again after the check


def test_frechet_distance_refuses_a_library_shortcut():
    from gan_lessons import image_metrics

    result = lesson10.check_frechet_distance(lambda a, b: image_metrics.frechet_distance(a, b))
    assert not result.ok and "gan_lessons.image_metrics.frechet_distance" in result.message, result.message
    a = torch.randn(50, 3)
    assert abs(image_metrics.frechet_distance(a, a)) < 1e-6
