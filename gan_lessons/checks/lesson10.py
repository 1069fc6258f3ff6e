r"""Checks for lesson 10: the classifier score and the Frechet distance, against the library's versions (which the
student's function may not call), and the lesson's questions."""
from __future__ import annotations

import math

import torch

from .. import image_metrics
from ..i18n import tr
from .verdict import CheckResult, Question, call_own, failed, passed


def _number(value) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _score_cases():
    gen = torch.Generator().manual_seed(0)
    soft = torch.softmax(3 * torch.randn(40, 10, generator=gen), dim=1)
    return [(tr("confident predictions of all ten digits"), torch.eye(10).repeat(4, 1)),
            (tr("one digit for every image"), torch.eye(10)[[2] * 30]), (tr("random soft predictions"), soft)]


def check_classifier_score(fn) -> CheckResult:
    r"""`fn(probs)` for probs (N, C) must return $\exp(E_x KL(p(y|x) \| p(y)))$ as a number."""
    for name, probs in _score_cases():
        got, error = call_own(fn, (image_metrics.classifier_score,), probs.clone())
        if error:
            return error
        value, expected = _number(got), image_metrics.classifier_score(probs)
        if value is None:
            return failed(tr("expected a number (float or one-element tensor), got {kind} {shape}: average the KL "
                             "over the images, then take exp", kind=type(got).__name__,
                             shape=tuple(getattr(got, "shape", ()))))
        if math.isnan(value):
            return failed(tr("NaN for {name}: 0 * log 0 must count as 0; clamp the probabilities "
                             "(p.clamp_min(1e-12)) or use torch.xlogy", name=name))
        if abs(value - expected) <= 1e-4 * max(1.0, expected):
            continue
        if abs(value - math.log(expected)) <= 1e-4:
            return failed(tr("for {name} you return {value:.4f} = log of the score: take exp of the mean KL",
                             name=name, value=value))
        if abs(value - 1 / expected) <= 1e-4 or abs(value - math.exp(-math.log(expected))) <= 1e-4:
            return failed(tr("for {name} you return {value:.4f} = 1 / score: the KL is KL(p(y|x) || p(y)), "
                             "sum p(y|x) (log p(y|x) - log p(y)); the sign is flipped", name=name, value=value))
        return failed(tr("for {name} the score should be {expected:.4f}, yours is {value:.4f}; p(y) is the mean of "
                         "the rows of probs (the marginal over the generated images), not the uniform distribution",
                         name=name, expected=expected, value=value))
    return passed(tr("exp(mean KL(p(y|x) || p(y))): 10 for confident, balanced predictions, 1 for a single digit"))


def _fd_cases():
    gen = torch.Generator().manual_seed(1)
    mix = torch.randn(4, 4, generator=gen)
    a = torch.randn(300, 4, generator=gen) @ mix
    b = torch.randn(250, 4, generator=gen) @ torch.randn(4, 4, generator=gen) + 0.5
    return a, b


def check_frechet_distance(fn) -> CheckResult:
    r"""`fn(feat_a, feat_b)` must return
    $\lVert\mu_a-\mu_b\rVert^2 + \mathrm{Tr}(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2})$."""
    a, b = _fd_cases()
    got, error = call_own(fn, (image_metrics.frechet_distance,), a.clone(), b.clone())
    if error:
        return error
    value, expected = _number(got), image_metrics.frechet_distance(a, b)
    if value is None:
        return failed(tr("expected a number, got {kind} {shape}", kind=type(got).__name__,
                         shape=tuple(getattr(got, "shape", ()))))
    if abs(value - expected) <= 1e-2 * expected:  # 1%: N or N - 1 in the covariance are both fine
        self_distance = _number(call_own(fn, (image_metrics.frechet_distance,), a.clone(), a.clone())[0])
        if self_distance is not None and abs(self_distance) < 1e-3:
            return passed(tr("{value:.4f}, and 0 for a set against itself", value=value))
        return failed(tr("a set against itself should give 0, yours gives {distance}", distance=self_distance))
    mean_term = (a.mean(0) - b.mean(0)).pow(2).sum().item()
    diagonal = mean_term + (a.var(0).sqrt() - b.var(0).sqrt()).pow(2).sum().item()
    if abs(value - diagonal) <= 1e-2 * expected:
        return failed(tr("that is the distance with only the variances (the diagonal); features are correlated: "
                         "use the full covariance matrices torch.cov(feat.T) and the matrix square root of their "
                         "product"))
    if abs(value - (expected - mean_term)) <= 1e-2 * expected:
        return failed(tr("the mean term ||mu_a - mu_b||^2 is missing"))
    if abs(value - mean_term) <= 1e-2 * expected:
        return failed(tr("only the mean term: add Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for the covariances"))
    return failed(tr("expected {expected:.4f}, got {value:.4f}. Check the factor 2 in front of the square-root term "
                     "and that the square root is the matrix one (eigenvalues), not elementwise", expected=expected,
                     value=value))


QUESTIONS: dict[str, Question] = {
    "one_clear_digit": Question(
        text="A generator draws one very clear digit (the same 3, moved by at most a pixel), whatever its noise. "
             "Is its mean confidence, the average of max_y p(y|x), high or low? And its class KL, the KL of the "
             "predicted-digit histogram from uniform?",
        choices={"a": "confidence high, class KL low (near 0)",
                 "b": "confidence high, class KL high (near log 10 = 2.30)",
                 "c": "confidence low, class KL high",
                 "d": "confidence low, class KL low"},
        answer="b",
        why="each image is a crisp 3, so the classifier is sure of every one (confidence near 1, the best value), "
            "while the histogram of predicted digits puts all its mass on one digit (KL = log 10, the worst). "
            "Confidence looks at one image at a time and cannot see that the other nine digits are missing.",
        hints={"a": "the class KL compares the histogram of predicted digits with the uniform one: what is that "
                    "histogram when every image is the same 3?",
               "c": "confidence is max_y p(y|x) for each image on its own: how sure is a good classifier of a "
                    "crisp, real 3?",
               "d": "look at each metric on its own: one image at a time (confidence), then the histogram over "
                    "all images (class KL)"}),
    "real_fd_size": Question(
        text="Two disjoint sets of real digits come from the same distribution: their true Frechet distance is 0. "
             "We estimate it from n = 100 images per set, and again from the largest n below. Which estimate is "
             "larger?",
        choices={"a": "about equal: both are close to 0",
                 "b": "the one from n = 100, clearly",
                 "c": "the one from the largest n"},
        answer="b",
        why="the means and the 128 x 128 covariances are estimated from n images; their noise does not cancel in "
            "the formula but adds to the distance, about a + b/n, so the same distribution looks farther from "
            "itself with fewer samples. Compare Frechet distances only at equal n, beside real vs real.",
        hints={"a": "the true distance is 0, but each set's mean and covariance are estimated from n samples: "
                    "does their noise cancel in the formula, or add to it?",
               "c": "more samples make the estimated means and covariances closer to the true ones: which way "
                    "does that move a distance whose true value is 0?"}),
}
