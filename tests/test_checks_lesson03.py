"""The exercise checks of lesson 03 accept right answers and explain typical wrong ones."""
import torch
import torch.nn.functional as F

from gan_lessons.checks import lesson03


def _raise(*args):
    raise NotImplementedError


def test_d_loss_check_accepts_stable_answers():
    assert lesson03.check_d_loss(lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean()).ok
    bce = lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                        + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    assert lesson03.check_d_loss(bce).ok
    logsig = lambda r, f: -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean())
    assert lesson03.check_d_loss(logsig).ok


def test_d_loss_check_explains_wrong_answers():
    sp = F.softplus
    wrong = {
        "unstable for large logits": lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
        "caps the loss": lambda r, f: -(torch.log(torch.sigmoid(r) + 1e-8).mean() + torch.log(1 - torch.sigmoid(f) + 1e-8).mean()),
        "binary_cross_entropy caps": lambda r, f: (F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                                                   + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))),
        "swapped": lambda r, f: sp(r).mean() + sp(-f).mean(),
        "sign is flipped": lambda r, f: -(sp(-r).mean() + sp(f).mean()),
        "summed over the batch": lambda r, f: sp(-r).sum() + sp(f).sum(),
        "one mean over real and fake": lambda r, f: F.binary_cross_entropy_with_logits(
            torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])),
        "generated samples, -log(1 - D(G(z)))": lambda r, f: sp(-r).mean(),
        "one value per sample": lambda r, f: sp(-r) + sp(f[:1]),
        "no gradient": lambda r, f: torch.tensor((sp(-r).mean() + sp(f).mean()).item()),
        "NotImplementedError": _raise,
        "forget `return`": lambda r, f: None,
    }
    for phrase, fn in wrong.items():
        result = lesson03.check_d_loss(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_d_loss_check_catches_a_gradient_that_dies_at_large_logits():
    def clamped(r, f):  # right value, but the clamp cuts the gradient where D is sure and wrong
        return sp_clamped(-r).mean() + sp_clamped(f).mean()

    def sp_clamped(t):
        return F.softplus(t.clamp(max=30)) + (t - t.clamp(max=30)).detach()

    result = lesson03.check_d_loss(clamped)
    assert not result.ok and "gradient should be -1/3" in result.message, result.message


def test_optimal_discriminator_check():
    right = lambda p, q: torch.where(p + q > 0, p / torch.where(p + q > 0, p + q, 1.0), 0.5)
    assert lesson03.check_optimal_discriminator(right).ok
    wrong = {
        "0/0": lambda p, q: p / (p + q),
        "probability that x is *generated*": lambda p, q: torch.where(p + q > 0, q / (p + q), 0.5),
        "density ratio": lambda p, q: torch.where(q > 0, p / q, 0.5),
        "convention is 1/2": lambda p, q: torch.where(p + q > 0, p / (p + q), 0.0),
        "epsilon": lambda p, q: torch.where(p + q > 0, p / (p + q + 1e-12), 0.5),
        "NotImplementedError": _raise,
        "shape": lambda p, q: (p / (p + q + 1e-9))[:3],
    }
    for phrase, fn in wrong.items():
        result = lesson03.check_optimal_discriminator(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


# -- library shortcuts: the library's version of the exercise, called instead of the formula ----------------------
def test_check_d_loss_refuses_a_library_shortcut():
    from gan_lessons import losses
    from gan_lessons.losses import d_loss_standard  # bound before the check, as a student's import would be

    shortcuts = (
        ("gan_lessons.losses.d_loss_standard", lambda r, f: losses.d_loss_standard(r, f)),
        ("gan_lessons.losses.d_loss_standard", lambda r, f: d_loss_standard(r, f)),
        ("gan_lessons.losses.d_loss_standard", lambda r, f: losses.get_loss("nonsaturating").d(r, f)),
        ("gan_lessons.losses.d_loss_smoothed", lambda r, f: losses.d_loss_smoothed(r, f, 0.0)),
    )
    for name, fn in shortcuts:
        result = lesson03.check_d_loss(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert lesson03.check_d_loss(lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean()).ok  # restored


def test_check_optimal_discriminator_refuses_a_library_shortcut():
    from gan_lessons import theory

    shortcuts = (
        ("gan_lessons.theory.optimal_discriminator", lambda p, q: theory.optimal_discriminator(p, q)(p)),
        ("gan_lessons.theory.lsgan_optimal_discriminator",
         lambda p, q: theory.lsgan_optimal_discriminator(p, q, a=0.0, b=1.0)(p)),
    )
    for name, fn in shortcuts:
        result = lesson03.check_optimal_discriminator(fn)
        assert not result.ok and name in result.message, (name, result.message)
    p = torch.tensor([0.3, 0.0], dtype=torch.float64)
    assert theory.optimal_discriminator(p, p)(p).tolist() == [0.5, 0.5]  # restored after the check
