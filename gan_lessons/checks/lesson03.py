r"""Checks for lesson 03: a numerically stable discriminator loss, the optimal discriminator D*, and the lesson's
questions."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..i18n import tr
from ..losses import d_loss_smoothed, d_loss_standard
from ..theory import lsgan_optimal_discriminator, optimal_discriminator
from .verdict import CheckResult, Question, call_own, compare_tensor, failed, passed

D_LOSS_LIBRARY = (d_loss_standard, d_loss_smoothed)  # d_loss_smoothed with smoothing 0 is d_loss_standard
# D* itself, and LSGAN's D* (b p_data + a p_g) / (p_data + p_g), which is D* for a = 0, b = 1
OPTIMAL_D_LIBRARY = (optimal_discriminator, lsgan_optimal_discriminator)

def _stable_hint() -> str:
    return tr("use the logit form: -log sigma(l) = softplus(-l) and -log(1 - sigma(l)) = softplus(l) "
              "(F.softplus, or F.binary_cross_entropy_with_logits)")


def check_d_loss(fn) -> CheckResult:
    r"""`fn(d_real, d_fake)` (logits) must be $L_D = E[\mathrm{softplus}(-d_{real})] + E[\mathrm{softplus}(d_{fake})]$, stable and differentiable."""
    gen = torch.Generator().manual_seed(3)
    d_real, d_fake = 2 * torch.randn(6, generator=gen), 2 * torch.randn(5, generator=gen)  # unequal sizes on purpose
    loss, error = call_own(fn, D_LOSS_LIBRARY, d_real, d_fake)
    if error:
        return error
    if isinstance(loss, torch.Tensor) and loss.dim() == 1:
        return failed(tr("the loss has shape {shape}: one value per sample; average each term over its batch",
                         shape=tuple(loss.shape)))
    verdict = compare_tensor(tr("the loss"), loss, d_loss_standard(d_real, d_fake))
    if verdict and isinstance(loss, torch.Tensor) and loss.dim() == 0:
        return _diagnose_d_loss(loss, d_real, d_fake) or verdict
    if verdict:
        return verdict
    return _check_large_logits(fn) or passed(tr(
        "your loss equals softplus(-d_real).mean() + softplus(d_fake).mean(), stays finite with a gradient that "
        "does not vanish for logits of +-200, where log(sigmoid(l)) gives inf in float32"))


def _diagnose_d_loss(loss: torch.Tensor, d_real: torch.Tensor, d_fake: torch.Tensor) -> CheckResult | None:
    real_term, fake_term = F.softplus(-d_real), F.softplus(d_fake)  # -log D(x), -log(1 - D(G(z)))
    wrong = {
        tr("real and fake are swapped: real samples must get label 1 (their term is -log D(x)) and generated "
           "ones label 0 (their term is -log(1 - D(G(z))))"): F.softplus(d_real).mean() + F.softplus(-d_fake).mean(),
        tr("the sign is flipped: D *minimizes* the cross-entropy -log D(x) - log(1 - D(G(z))), which is >= 0"):
            -(real_term.mean() + fake_term.mean()),
        tr("you summed over the batch: take the mean of each term, so that the loss does not grow with the batch "
           "size"): real_term.sum() + fake_term.sum(),
        tr("you took one mean over real and fake samples together; L_D is the *sum* of two means, "
           "E_x[-log D(x)] + E_z[-log(1 - D(G(z)))] (as gl.losses.d_loss_standard)"):
            (real_term.sum() + fake_term.sum()) / (len(d_real) + len(d_fake)),
        tr("the term of the generated samples, -log(1 - D(G(z))) = softplus(d_fake), is missing"): real_term.mean(),
        tr("the term of the real samples, -log D(x) = softplus(-d_real), is missing"): fake_term.mean(),
    }
    for message, value in wrong.items():
        if torch.allclose(loss.double(), value.double(), atol=1e-5, rtol=1e-4):
            return failed(message)
    return None


def _check_large_logits(fn) -> CheckResult | None:
    # D is sure and wrong on some samples (-200 on a real one, +200 on a fake one) and sure and right on others
    d_real = torch.tensor([-200.0, 40.0, 0.5], requires_grad=True)
    d_fake = torch.tensor([200.0, -40.0, -0.5], requires_grad=True)
    loss, error = call_own(fn, D_LOSS_LIBRARY, d_real, d_fake)
    if error:
        return error
    expected = d_loss_standard(d_real.detach(), d_fake.detach())
    if not isinstance(loss, torch.Tensor):
        return failed(tr("the loss should be a torch.Tensor, got {kind}", kind=type(loss).__name__))
    if not torch.isfinite(loss).all():
        return failed(tr("unstable for large logits: with d_real = -200 and d_fake = 200 your loss is {loss} "
                         "(expected {expected:.1f}). In float32 sigmoid(-200) rounds to 0 and sigmoid(200) to 1, "
                         "so log gives -inf; {hint}", loss=loss.item(), expected=expected.item(),
                         hint=_stable_hint()))
    if not torch.allclose(loss.double(), expected.double(), rtol=1e-4):
        return failed(tr("wrong for large logits: with d_real = -200 and d_fake = 200 your loss is {loss:.4g}, "
                         "expected {expected:.4g}. Clamping or adding a small epsilon inside the log hides the inf "
                         "but caps the loss (F.binary_cross_entropy caps each log at -100); {hint}",
                         loss=loss.item(), expected=expected.item(), hint=_stable_hint()))
    if not loss.requires_grad:
        return failed(tr("the loss carries no gradient: don't call .item(), .detach() or go through numpy inside it"))
    grad_real, grad_fake = torch.autograd.grad(loss, (d_real, d_fake))
    if not (torch.isfinite(grad_real).all() and torch.isfinite(grad_fake).all()):
        return failed(tr("the loss is right but its gradient holds inf or NaN for large logits; {hint}",
                         hint=_stable_hint()))
    if abs(grad_real[0].item() + 1 / 3) > 1e-4 or abs(grad_fake[0].item() - 1 / 3) > 1e-4:
        return failed(tr("for d_real = -200 (D sure and wrong) the gradient should be -1/3 (batch of 3); yours is "
                         "{grad:.3g}: a clamped log has zero gradient exactly where D most needs to learn",
                         grad=grad_real[0].item()))
    return None


def check_optimal_discriminator(fn) -> CheckResult:
    r"""`fn(p_data, p_g)` (density values, tensors) must return $D^* = p_{data} / (p_{data} + p_g)$, and 1/2 where both are 0."""
    p_data = torch.tensor([0.4, 0.1, 0.0, 0.0, 0.2, 0.3, 1e-30], dtype=torch.float64)
    p_g = torch.tensor([0.1, 0.3, 0.5, 0.0, 0.2, 0.0, 3e-30], dtype=torch.float64)
    expected = torch.tensor([0.8, 0.25, 0.0, 0.5, 0.5, 1.0, 0.25], dtype=torch.float64)
    d, error = call_own(fn, OPTIMAL_D_LIBRARY, p_data.clone(), p_g.clone())
    if error:
        return error
    if isinstance(d, torch.Tensor) and d.shape == expected.shape:
        both_zero = (p_data == 0) & (p_g == 0)
        if torch.isnan(d[~both_zero]).any():
            return failed(tr("NaN where only one density is 0: D* is 0 where p_data = 0 < p_g and 1 where "
                             "p_g = 0 < p_data"))
        if torch.isnan(d[both_zero]).any():
            return failed(tr("NaN where both densities are 0 (0/0): no sample lands there, so any value is optimal; "
                             "define D* = 1/2 there, with torch.where(p_data + p_g > 0, ..., 0.5)"))
        good = torch.isclose(d, expected, atol=1e-6)
        if good[~both_zero].all() and not good[both_zero].all():
            return failed(tr("right wherever a density is positive, but where both are 0 you return {values}; "
                             "the lesson's convention is 1/2 there ('no idea')", values=d[both_zero].tolist()))
        if torch.allclose(d, 1 - expected, atol=1e-6):
            return failed(tr("that is p_g / (p_data + p_g), the probability that x is *generated*; D outputs P(real)"))
        if (d > 1 + 1e-9).any():
            return failed(tr("D* must be a probability in [0, 1], yours reaches {largest:.3g}: p_data / p_g is "
                             "the density ratio; divide by the sum p_data + p_g", largest=d.max().item()))
        if not good[-1]:
            return failed(tr("for p_data = 1e-30, p_g = 3e-30 D* is 1/4 (only the ratio matters), yours is "
                             "{value:.3g}: an epsilon added to the denominator changes D* where the densities are "
                             "small", value=d[-1].item()))
    return compare_tensor("D*", d, expected, atol=1e-6) or passed(tr(
        "D* = p_data / (p_data + p_g), 1 where only data lands, 0 where only generated samples land, 1/2 where "
        "nothing does"))


QUESTIONS: dict[str, Question] = {
    "corner": Question(
        text="D is trained alone, for a few hundred steps, to tell the ring of eight Gaussians (radius 1) from the "
             "blob of the frozen generator (standard deviation 0.25 at the centre). What will sigma(D(x)) be at "
             "the empty corner x = (1.5, 1.5), where neither kind of sample ever lands?",
        choices={"a": "close to 0: nothing real was ever seen there",
                 "b": "close to 1/2: with no sample there, D has no idea",
                 "c": "close to 1: D calls it real"},
        answer="c",
        why="D learns to tell two sets of samples apart, not what real data looks like: it draws a boundary "
            "around the blob and everything outside it, the empty corners included, lands on the 'real' side. "
            "The loss says nothing about points where no sample lands, and the network simply extends its "
            "boundary there",
        hints={"a": "the loss only ever sees samples of the ring and of the blob; nothing in it pushes D down at "
                    "a point no sample reaches. On which side of the boundary D draws between the two sets does "
                    "the corner lie?",
               "b": "1/2 would need D to know that it has no information there; a network instead extends the "
                    "boundary it drew between the two sets. On which side of it does the corner lie?"}),
    "crossing": Question(
        text="D is trained on p_data = N(0, 1) against p_g = N(2, 0.6^2). At x = 1.10 the two densities are "
             "equal. What probability sigma(D(x)) will the trained D give at x = 1.10 (a number)?",
        answer=0.5,
        tolerance=0.05,
        why="D* = p_data / (p_data + p_g) = 1/2 wherever the densities are equal: of the samples that land near "
            "x = 1.10, half are real and half generated, so the best D can say is 'no idea'",
        hints={"number": "of the samples that land near x = 1.10, what fraction is real? D* is that fraction"}),
}
