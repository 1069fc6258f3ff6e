"""Checks of lesson 08 accept the right answers and name the usual mistakes."""
import torch
import torch.nn.functional as F
from torch import nn

from gan_lessons import checks, fixes


def test_hinge_check_accepts_the_loss_and_names_mistakes():
    assert checks.check_hinge_d_loss(lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean()).ok
    cases = {
        "max(0, .) is missing": lambda r, f: (1 - r).mean() + (1 + f).mean(),
        "signs are swapped": lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(),
        "margin is missing": lambda r, f: F.relu(-r).mean() + F.relu(f).mean(),
        "sums instead of means": lambda r, f: F.relu(1 - r).sum() + F.relu(1 + f).sum(),
        "shape": lambda r, f: F.relu(1 - r) + F.relu(1 + f),
        "NotImplementedError": lambda r, f: (_ for _ in ()).throw(NotImplementedError),
    }
    for words, wrong in cases.items():
        result = checks.check_hinge_d_loss(wrong)
        assert not result.ok and words in result.message, (words, result.message)


def test_ema_check_accepts_the_update_and_names_mistakes():
    assert checks.check_ema_update(lambda e, w, b: b * e + (1 - b) * w).ok
    assert checks.check_ema_update(lambda e, w, b: torch.lerp(e, w, 1 - b)).ok
    cases = {
        "swapped": lambda e, w, b: b * w + (1 - b) * e,
        "lack their factor": lambda e, w, b: b * e + w,
        "forgets its past": lambda e, w, b: w,
        "never moves": lambda e, w, b: e,
        "did you forget `return`": lambda e, w, b: None,
    }
    for words, wrong in cases.items():
        result = checks.check_ema_update(wrong)
        assert not result.ok and words in result.message, (words, result.message)


def clip_right(model, c):
    with torch.no_grad():
        for p in model.parameters():
            p.clamp_(-c, c)


def test_clipping_check_accepts_in_place_clamping_and_names_mistakes():
    assert checks.check_weight_clipping(clip_right).ok

    def copies(model, c):
        return [p.clamp(-c, c) for p in model.parameters()]

    def weights_only(model, c):
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("weight"):
                    p.clamp_(-c, c)

    def positive(model, c):
        with torch.no_grad():
            for p in model.parameters():
                p.clamp_(0, c)

    def rescale(model, c):
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(c / p.abs().max())

    cases = {"did not change": copies, "biases included": weights_only, "not [0, c]": positive,
             "only cut what lies outside": rescale}
    for words, wrong in cases.items():
        result = checks.check_weight_clipping(wrong)
        assert not result.ok and words in result.message, (words, result.message)


# A student's function that only calls the library's version of the exercise is refused, by the library's name; the
# same function would be right otherwise.
def test_check_hinge_d_loss_refuses_a_library_shortcut():
    from gan_lessons import losses
    from gan_lessons.losses import d_loss_hinge  # imported before the check, as a student would

    r, f = torch.randn(8), torch.randn(8)
    for shortcut in (lambda r, f: d_loss_hinge(r, f), lambda r, f: losses.get_loss("hinge").d(r, f)):
        torch.testing.assert_close(shortcut(r, f), F.relu(1 - r).mean() + F.relu(1 + f).mean())
        result = checks.check_hinge_d_loss(shortcut)
        assert not result.ok and "gan_lessons.losses.d_loss_hinge" in result.message, result.message


def ema_by_the_library(w_ema, w, beta):
    average = fixes.EMA(nn.ParameterList([nn.Parameter(w_ema.clone())]), beta)
    average.update(nn.ParameterList([nn.Parameter(w.clone())]))
    return next(average.generator.parameters()).detach()


def test_check_ema_update_refuses_a_library_shortcut():
    w_ema, w = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(ema_by_the_library(w_ema, w, 0.9), 0.9 * w_ema + 0.1 * w)
    result = checks.check_ema_update(ema_by_the_library)
    assert not result.ok and "gan_lessons.fixes.EMA.update" in result.message, result.message


def test_check_weight_clipping_refuses_a_library_shortcut():
    for shortcut in (lambda model, c: fixes.clip_weights(model, c), lambda model, c: fixes.weight_constraint(c)(model)):
        model = nn.Linear(3, 4)
        shortcut(model, 0.05)
        assert all(p.abs().max() <= 0.05 for p in model.parameters())
        result = checks.check_weight_clipping(shortcut)
        assert not result.ok and "gan_lessons.fixes.clip_weights" in result.message, result.message
    assert checks.check_weight_clipping(clip_right).ok  # the library's function works again after the check
