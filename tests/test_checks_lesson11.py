"""The checks of lesson 11 accept right answers and name the usual mistakes."""
import math

import torch
import torch.nn.functional as F

from gan_lessons.checks import lesson11


def paired_right(a, b):
    d = a - b
    return d.mean().item(), d.std().item() / math.sqrt(len(d))


def test_paired_difference_check():
    assert lesson11.check_paired_difference(paired_right).ok
    wrong = {
        "sign is flipped": lambda a, b: paired_right(b, a),
        "independent": lambda a, b: ((a - b).mean().item(), math.sqrt((a.var() + b.var()).item() / len(a))),
        "n - 1": lambda a, b: ((a - b).mean().item(), (a - b).std(unbiased=False).item() / math.sqrt(len(a))),
        "divides it by sqrt(n)": lambda a, b: ((a - b).mean().item(), (a - b).std().item()),
        "two numbers": lambda a, b: (a - b).mean().item(),
        "NotImplementedError": lambda a, b: (_ for _ in ()).throw(NotImplementedError),
    }
    for phrase, fn in wrong.items():
        result = lesson11.check_paired_difference(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def pix2pix_right(d_fake, fake, target, lam):
    return F.softplus(-d_fake).mean() + lam * F.l1_loss(fake, target)


def test_pix2pix_loss_check():
    assert lesson11.check_pix2pix_loss(pix2pix_right).ok
    wrong = {
        "L2": lambda d, f, t, lam: F.softplus(-d).mean() + lam * F.mse_loss(f, t),
        "lam is missing": lambda d, f, t, lam: F.softplus(-d).mean() + F.l1_loss(f, t),
        "saturating": lambda d, f, t, lam: -F.softplus(d).mean() + lam * F.l1_loss(f, t),
        "adversarial term is missing": lambda d, f, t, lam: lam * F.l1_loss(f, t),
        "differs": lambda d, f, t, lam: F.softplus(-d).mean() + lam * (f - t).abs().sum(),
    }
    for phrase, fn in wrong.items():
        result = lesson11.check_pix2pix_loss(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_paired_difference_refuses_a_library_shortcut():
    from gan_lessons import metrics
    from gan_lessons.metrics import paired_difference  # imported before the check, as a student would

    for shortcut in (lambda a, b: metrics.paired_difference(a, b), lambda a, b: paired_difference(a, b)):
        result = lesson11.check_paired_difference(shortcut)
        assert not result.ok and "gan_lessons.metrics.paired_difference" in result.message, result.message
    assert paired_difference([1.0, 2.0], [0.0, 0.0]) == (1.5, 0.5)  # the library works again after the check


def test_pix2pix_loss_refuses_a_library_shortcut():
    from gan_lessons import losses

    shortcut = lambda d, f, t, lam: losses.g_loss_nonsaturating(d) + lam * F.l1_loss(f, t)
    result = lesson11.check_pix2pix_loss(shortcut)
    assert not result.ok and "gan_lessons.losses.g_loss_nonsaturating" in result.message, result.message
    assert losses.g_loss_nonsaturating(torch.zeros(3)).item() > 0  # the library works again after the check
