r"""Checks for lesson 11: the paired comparison over seeds, pix2pix's generator loss (which may not call the
library's non-saturating loss: writing that term is half the exercise), and the lesson's questions."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import losses, metrics
from ..i18n import tr
from .verdict import CheckResult, Question, call_own, compare_tensor, failed, passed


def _pair(value) -> tuple[float, float] | None:
    try:
        mean, se = value
        return float(mean), float(se)
    except (TypeError, ValueError):
        return None


def check_paired_difference(fn) -> CheckResult:
    """`fn(acc_with, acc_without)` (one accuracy per seed each) must return (mean difference, its standard error),
    computed by the student: the library's `metrics.paired_difference` is refused meanwhile."""
    acc_with = torch.tensor([0.71, 0.64, 0.69, 0.75, 0.66])
    acc_without = torch.tensor([0.70, 0.60, 0.70, 0.72, 0.63])
    got, error = call_own(fn, (metrics.paired_difference,), acc_with.clone(), acc_without.clone())
    if error:
        return error
    pair = _pair(got)
    if pair is None:
        return failed(tr("expected two numbers (mean difference, standard error), got {kind}",
                         kind=type(got).__name__))
    (mean, se), (mean_ref, se_ref) = pair, metrics.paired_difference(acc_with, acc_without)
    diff = (acc_with - acc_without).double()
    if abs(mean + mean_ref) < 1e-6 and abs(mean_ref) > 1e-6:
        return failed(tr("the sign is flipped: report with minus without, so that a gain is positive"))
    if abs(mean - mean_ref) > 1e-6:
        return failed(tr("the mean difference should be {expected:.4f}, yours is {value:.4f}", expected=mean_ref,
                         value=mean))
    unpaired = math.sqrt((acc_with.double().var() + acc_without.double().var()).item() / len(diff))
    if abs(se - unpaired) < 1e-6:
        return failed(tr("that standard error treats the two arms as independent; each seed gives both runs the "
                         "same labelled images, so use the differences: std(d) / sqrt(n)"))
    if abs(se - (diff.std(unbiased=False) / math.sqrt(len(diff))).item()) < 1e-6:
        return failed(tr("use the sample standard deviation (divide by n - 1: diff.std(), unbiased) for so few "
                         "seeds"))
    if abs(se - diff.std().item()) < 1e-6:
        return failed(tr("that is the standard deviation of the differences; the standard error divides it by "
                         "sqrt(n)"))
    if abs(se - se_ref) > 1e-6:
        return failed(tr("the standard error should be {expected:.4f}, yours is {value:.4f}: std(d) / sqrt(n)",
                         expected=se_ref, value=se))
    return passed(tr("mean of the paired differences and std(d) / sqrt(n)"))


def _pix2pix_reference(d_fake, fake, target, lam):
    return F.softplus(-d_fake).mean() + lam * (fake - target).abs().mean()


def check_pix2pix_loss(fn) -> CheckResult:
    r"""`fn(d_fake, fake, target, lam)` must be the non-saturating loss $E[\mathrm{softplus}(-D)]$ plus
    $\lambda\,E|G(x) - y|$ (Isola et al., 2017)."""
    gen = torch.Generator().manual_seed(0)
    d_fake = 4 * torch.randn(16, generator=gen)
    fake, target = torch.rand(16, 1, 8, 8, generator=gen), torch.rand(16, 1, 8, 8, generator=gen)
    lam = 100.0
    got, error = call_own(fn, (losses.g_loss_nonsaturating,), d_fake.clone(), fake.clone(), target.clone(), lam)
    if error:
        return error
    expected = _pix2pix_reference(d_fake, fake, target, lam)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        value = got.reshape(())
        adv, l1 = F.softplus(-d_fake).mean(), (fake - target).abs().mean()
        guesses = {
            tr("the reconstruction term is squared (L2): pix2pix uses L1, |G(x) - y|, which blurs less"):
                adv + lam * (fake - target).pow(2).mean(),
            tr("lam is missing: the L1 term is weighted by lam (100 in pix2pix)"): adv + l1,
            tr("the adversarial term is the saturating log(1 - D(G(x))); use softplus(-d_fake)"):
                -F.softplus(d_fake).mean() + lam * l1,
            tr("the adversarial term is missing: with L1 alone the output is the (blurry) median"): lam * l1,
        }
        for message, wrong in guesses.items():
            if torch.allclose(value, wrong, rtol=1e-5) and not torch.allclose(wrong, expected, rtol=1e-5):
                return failed(message)
        got = value
    verdict = compare_tensor(tr("the loss"), got, expected, rtol=1e-5)
    return verdict or passed(tr("softplus(-D(x, G(x))) + lam * |G(x) - y|: fool D, and stay close to the target"))


QUESTIONS: dict[str, Question] = {
    "augmentation": Question(
        text="A conditional GAN is trained on the 100 labelled digits, and its 1,000 samples are added to the "
             "classifier's training set. Will they raise the test accuracy clearly (by more than two standard "
             "errors of the paired difference)?",
        choices={"a": "yes: ten times more training images must help",
                 "b": "no clear gain: the GAN learned from the same 100 images, so its samples carry no "
                      "information those lack, and its smudged or wrong digits can hurt",
                 "c": "yes, and more than the shifted copies: GAN samples are new digits, not copies"},
        answer="b",
        why="a GAN trained on the labelled images can only recombine them: it adds no information about digits "
            "that the 100 labels did not carry, and its mistakes enter the training set with confident labels. "
            "The shift adds a fact we know (a digit moved by two pixels is the same digit). Generated data helps "
            "when the GAN learned from data the classifier lacks.",
        hints={"a": "more images are more information only if they tell the classifier something new: where did "
                    "the GAN learn what it draws?",
               "c": "a shifted copy encodes a true fact about digits; what does a GAN trained on the same 100 "
                    "images know that they do not?"}),
    "cycle_only": Question(
        text="We train the same G and F with the cycle loss alone (no discriminators, no adversarial term). "
             "What will G(x) look like?",
        choices={"a": "the inverted digit, as with the full CycleGAN: the cycle loss needs G to translate",
                 "b": "one grey image, the average of domain Y, whatever x is",
                 "c": "something F can turn back into x, but not the inverted digit: mostly x itself, a little "
                      "changed"},
        answer="c",
        why="the cycle loss is 0 for G = F = identity, and for any pair of maps that undo each other; only the "
            "adversarial term knows what domain Y looks like. From its random start G drifts to some map that F "
            "can undo; here, most often close to a copy of x.",
        hints={"a": "would G = F = identity make the cycle loss small? Which term of the loss knows what "
                    "inverted digits look like?",
               "b": "a G that returns the same image for every x throws x away: could F get x back from it, as "
                    "the cycle loss demands?"}),
}
