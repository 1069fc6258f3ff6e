"""Every loss and penalty against an independent computation."""
import math

import pytest
import torch

from gan_lessons import losses, penalties
from gan_lessons.config import LOSS_NAMES

torch.manual_seed(0)
R, F = torch.randn(64, dtype=torch.float64) * 3, torch.randn(64, dtype=torch.float64) * 3


def sig(t):
    return 1 / (1 + torch.exp(-t))


def test_bce_losses_match_explicit_logs():
    d_expected = -(torch.log(sig(R)).mean() + torch.log(1 - sig(F)).mean())
    torch.testing.assert_close(losses.d_loss_standard(R, F), d_expected)
    torch.testing.assert_close(losses.g_loss_minimax(F), torch.log(1 - sig(F)).mean())
    torch.testing.assert_close(losses.g_loss_nonsaturating(F), -torch.log(sig(F)).mean())


def test_bce_is_stable_for_huge_logits():
    big = torch.tensor([200.0, -200.0])
    assert torch.isfinite(losses.d_loss_standard(big, -big))
    assert losses.d_loss_standard(big[:1], -big[:1]).item() < 1e-30  # D is right: no loss


def test_lsgan_wgan_hinge_match_their_formulas():
    torch.testing.assert_close(losses.d_loss_lsgan(R, F), ((R - 1) ** 2).mean() / 2 + (F ** 2).mean() / 2)
    torch.testing.assert_close(losses.g_loss_lsgan(F), ((F - 1) ** 2).mean() / 2)
    torch.testing.assert_close(losses.d_loss_wgan(R, F), F.mean() - R.mean())
    torch.testing.assert_close(losses.g_loss_wgan(F), -F.mean())
    hinge = sum(max(0.0, 1 - r) for r in R.tolist()) / 64 + sum(max(0.0, 1 + f) for f in F.tolist()) / 64
    assert losses.d_loss_hinge(R, F).item() == pytest.approx(hinge, rel=1e-12)


def test_loss_table_names_every_loss_once():
    assert tuple(losses.LOSSES) == LOSS_NAMES
    assert losses.get_loss("hinge").g is losses.g_loss_wgan


def test_unknown_loss_is_rejected_with_the_allowed_names():
    with pytest.raises(ValueError, match=r"loss='bce'.*nonsaturating"):
        losses.get_loss("bce")


def quadratic_critic(w):
    """D(x) = x.w + 0.5 |x|^2 : its gradient is w + x."""
    return lambda x: x @ w + 0.5 * (x ** 2).sum(dim=1)


def test_gradient_penalty_matches_finite_differences():
    torch.manual_seed(1)
    D = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    x_real, x_fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    torch.manual_seed(7)
    gp = penalties.gradient_penalty(D, x_real, x_fake)
    torch.manual_seed(7)  # the same interpolation coefficients
    eps = torch.rand(8, 1, dtype=torch.float32).double()
    x_hat = eps * x_real + (1 - eps) * x_fake
    h, norms = 1e-6, []
    for x in x_hat:
        grad = [(D((x + h * e)[None]) - D((x - h * e)[None])).item() / (2 * h) for e in torch.eye(2).double()]
        norms.append(math.hypot(*grad))
    expected = sum((n - 1) ** 2 for n in norms) / len(norms)
    assert gp.item() == pytest.approx(expected, rel=1e-6)


def test_r1_and_r2_match_a_hand_written_gradient():
    w = torch.tensor([0.5, -2.0], dtype=torch.float64)
    x = torch.randn(32, 2, dtype=torch.float64)
    expected = 0.5 * ((w + x) ** 2).sum(dim=1).mean()  # grad of x.w + |x|^2/2 is w + x
    torch.testing.assert_close(penalties.r1_penalty(quadratic_critic(w), x), expected)
    torch.testing.assert_close(penalties.r2_penalty(quadratic_critic(w), x), expected)


def test_penalties_can_be_trained_through():
    D = torch.nn.Linear(2, 1)
    penalties.r1_penalty(lambda x: D(x).squeeze(1), torch.randn(4, 2)).backward()
    torch.testing.assert_close(D.weight.grad, D.weight.detach() / 1.0)  # d/dw of 0.5|w|^2 is w


def test_unknown_regularizer_is_rejected():
    with pytest.raises(ValueError, match="regularizer='l2'"):
        penalties.make_penalty("l2", 1.0)
