"""Checks for lesson 00: a first exercise (the reverse KL of a mode histogram), and its question."""
from __future__ import annotations

import math

import torch

from ..i18n import tr
from ..image_metrics import class_kl
from ..metrics import mode_coverage
from .verdict import CheckResult, Question, call_own, failed, passed

# the library's reverse KLs: mode_coverage's "rkl" (evaluate_2d calls it) and lesson 10's class_kl
REVERSE_KL_LIBRARY = (mode_coverage, class_kl)

def _zero_hint() -> str:
    return tr("a mode with no sample has q_k = 0, and 0 * log 0 is NaN in floating point; the sum runs over the "
              "modes with q_k > 0 only (keep them with counts[counts > 0])")


def _reverse_kl(counts: torch.Tensor) -> float:
    q = counts[counts > 0].double() / counts.sum()
    return float((q * (q * len(counts)).log()).sum())


def _as_float(value) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return float(value) if isinstance(value, (int, float)) else None


def check_reverse_kl(fn) -> CheckResult:
    r"""`fn(counts)` (samples per mode, an integer tensor of K entries) must be $\sum_{q_k > 0} q_k \log(q_k K)$
    with $q = $ counts / counts.sum(): 0 for a perfect balance, log K when every sample sits on one mode."""
    cases = [(tr("8 equal counts"), [50] * 8), (tr("all samples on one of 8 modes"), [0, 0, 0, 120, 0, 0, 0, 0]),
             (tr("samples on 2 of 8 modes"), [30, 10, 0, 0, 0, 0, 0, 0]),
             (tr("8 unequal counts"), [1, 2, 3, 4, 5, 6, 7, 8]),
             (tr("25 modes (the grid of lesson 07), 5 of them empty"), [4] * 20 + [0] * 5)]
    for name, values in cases:
        counts = torch.tensor(values)
        got, error = call_own(fn, REVERSE_KL_LIBRARY, counts.clone())
        if error:
            return error
        value = _as_float(got)
        if value is None:
            return failed(tr("expected a number (a float or a one-element tensor), got {kind}",
                             kind=type(got).__name__))
        expected = _reverse_kl(counts)
        if math.isnan(value):
            return failed(tr("NaN for {name}: {hint}", name=name, hint=_zero_hint()))
        if abs(value - expected) > 1e-6 + 1e-6 * expected:
            return failed(tr("for {name} ({values}) the reverse KL is {expected:.4f}, yours is {value:.4f}. {hint}",
                             name=name, values=values, expected=expected, value=value,
                             hint=_diagnose(value, counts)))
    return passed(tr("0 when every mode gets the same share, log K when one mode gets everything, and modes with "
                     "no sample add nothing"))


def _diagnose(value: float, counts: torch.Tensor) -> str:
    c, k = counts[counts > 0].double(), len(counts)
    q = c / c.sum()
    hints = [
        ((c * (c * k).log()).sum(), tr("Turn the counts into shares first: q = counts / counts.sum().")),
        (-_reverse_kl(counts), tr("The sign is flipped: KL(q || u) = sum q_k log(q_k / u_k) is never negative.")),
        ((q * (q * 8).log()).sum(), tr("You used 1/8 for the uniform share; with K = {k} modes it is 1/K, "
                                       "K = len(counts).", k=k)),
        (_reverse_kl(counts) / math.log(2), tr("You used log base 2; the course uses natural logs (log 8 = 2.08).")),
        ((q * q.log()).sum(), tr("You left out the uniform distribution: KL(q || u) = sum q_k log(q_k / (1/K)).")),
    ]
    if (counts == 0).any() and math.isinf(value):
        return tr("Infinite: that is KL(u || q), which blows up when a mode is missing; the lesson's reverse KL "
                  "weights by q, the generator's shares: sum q_k log(q_k / (1/K)).")
    for wrong, hint in hints:
        if abs(value - float(wrong)) <= 1e-6 + 1e-5 * abs(float(wrong)):  # a float32 answer rounds
            return hint
    return tr("Compute q = counts / counts.sum(), then sum q_k * log(q_k * K) over the modes with q_k > 0.")


QUESTIONS: dict[str, Question] = {
    "equilibrium": Question(
        text="The discriminator outputs D(x), its probability that a point x is real. After the training below, "
             "when G's points have found the ring, what will D answer on real samples, on average?",
        choices={"a": "close to 1: the points are real, and D has trained for thousands of steps to recognize them",
                 "b": "close to 1/2",
                 "c": "close to 0"},
        answer="b",
        why="G's points now land where the real ones do, so a point there is as likely generated as real: the best "
            "D can say is 1/2. Any surer answer costs it loss on the other kind of point (lesson 04 proves that "
            "1/2 is the equilibrium)",
        hints={"a": "D is trained on both kinds of points; where G's points sit among the real ones, what does "
                    "an answer of 1 cost it on G's points?",
               "c": "D is trained to say 'real' on real points, so what would push it below 1/2 on them?"}),
}
