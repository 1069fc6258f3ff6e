"""The exercise checks of lesson 04 accept right answers and explain typical wrong ones."""
import math

import torch
import torch.nn.functional as F

from gan_lessons.checks import lesson04


def _raise(*args):
    raise NotImplementedError


def v_right(d, p, q, x):
    return torch.trapezoid(torch.xlogy(p, d) + torch.xlogy(q, 1 - d), x)


def test_value_function_check_accepts_trapezoid_and_riemann_sums():
    assert lesson04.check_value_function(v_right).ok
    riemann = lambda d, p, q, x: ((torch.xlogy(p, d) + torch.xlogy(q, 1 - d)).sum() * (x[1] - x[0])).item()
    assert lesson04.check_value_function(riemann).ok


def test_value_function_check_explains_wrong_answers():
    naive = lambda d, p, q, x: torch.trapezoid(p * torch.log(d) + q * torch.log(1 - d), x)
    wrong = {
        "NaN for densities with gaps": naive,
        "without the grid spacing": lambda d, p, q, x: (torch.xlogy(p, d) + torch.xlogy(q, 1 - d)).sum(),
        "averaged the integrand": lambda d, p, q, x: (torch.xlogy(p, d) + torch.xlogy(q, 1 - d)).mean(),
        "sign is flipped": lambda d, p, q, x: -v_right(d, p, q, x),
        "roles are swapped": lambda d, p, q, x: torch.trapezoid(torch.xlogy(p, 1 - d) + torch.xlogy(q, d), x),
        "p_g log(1 - D), is missing": lambda d, p, q, x: torch.trapezoid(torch.xlogy(p, d), x),
        "expected a number": lambda d, p, q, x: torch.xlogy(p, d) + torch.xlogy(q, 1 - d),
        "NotImplementedError": _raise,
    }
    for phrase, fn in wrong.items():
        result = lesson04.check_value_function(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def kl(p, q, x):
    return torch.trapezoid(torch.xlogy(p, p) - torch.xlogy(p, q), x)


def jsd_right(p, q, x):
    m = (p + q) / 2
    return 0.5 * kl(p, m, x) + 0.5 * kl(q, m, x)


def test_jsd_check():
    assert lesson04.check_jsd(jsd_right).ok
    naive_kl = lambda p, q, x: torch.trapezoid(p * torch.log(p / q), x)
    wrong = {
        "NaN for two densities with disjoint supports": lambda p, q, x: 0.5 * naive_kl(p, (p + q) / 2, x) + 0.5 * naive_kl(q, (p + q) / 2, x),
        "log base 2": lambda p, q, x: jsd_right(p, q, x) / math.log(2),
        "forgot the 1/2": lambda p, q, x: 2 * jsd_right(p, q, x),
        "That is KL(p || q)": lambda p, q, x: kl(p, q, x),
        "the average m = (p + q) / 2": lambda p, q, x: 0.5 * kl(p, p + q, x) + 0.5 * kl(q, p + q, x),
        "only KL(p || m)": lambda p, q, x: kl(p, (p + q) / 2, x),
        "NotImplementedError": _raise,
    }
    for phrase, fn in wrong.items():
        result = lesson04.check_jsd(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_nonsaturating_loss_check():
    assert lesson04.check_nonsaturating_loss(lambda l: F.softplus(-l).mean()).ok
    assert lesson04.check_nonsaturating_loss(lambda l: -F.logsigmoid(l).mean()).ok
    wrong = {
        "saturating loss": lambda l: torch.log(1 - torch.sigmoid(l)).mean(),
        "sign is flipped": lambda l: -F.softplus(-l).mean(),
        "pushes D(G(z)) *down*": lambda l: F.softplus(l).mean(),
        "summed over the batch": lambda l: F.softplus(-l).sum(),
        "unstable as D(G(z)) -> 0": lambda l: -torch.log(torch.sigmoid(l)).mean(),
        "caps the loss": lambda l: -torch.log(torch.sigmoid(l) + 1e-8).mean(),
        "no gradient": lambda l: torch.tensor(F.softplus(-l).mean().item()),
        "forget `return`": lambda l: None,
    }
    for phrase, fn in wrong.items():
        result = lesson04.check_nonsaturating_loss(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


# -- library shortcuts: the library's version of the exercise, called instead of the formula ----------------------
def test_check_value_function_refuses_a_library_shortcut():
    from gan_lessons import theory
    from gan_lessons.theory import value_function  # bound before the check, as a student's import would be

    for fn in (lambda d, p, q, x: theory.value_function(d, p, q, x), lambda d, p, q, x: value_function(d, p, q, x)):
        result = lesson04.check_value_function(fn)
        assert not result.ok and "gan_lessons.theory.value_function" in result.message, result.message
    assert lesson04.check_value_function(v_right).ok  # the library is restored after the check


def test_check_jsd_refuses_a_library_shortcut():
    from gan_lessons import theory

    shortcuts = {
        "gan_lessons.theory.jsd": lambda p, q, x: theory.jsd(p, q, x),
        "gan_lessons.theory.kl": lambda p, q, x: 0.5 * theory.kl(p, (p + q) / 2, x) + 0.5 * theory.kl(q, (p + q) / 2, x),
        "gan_lessons.theory.c_of_g": lambda p, q, x: (theory.c_of_g(p, q, x) + math.log(4)) / 2,
    }
    for name, fn in shortcuts.items():
        result = lesson04.check_jsd(fn)
        assert not result.ok and name in result.message, (name, result.message)
    x = theory.grid(-3, 3, 101)
    assert theory.jsd(torch.exp(-x ** 2), torch.exp(-(x - 1) ** 2), x) > 0  # restored


def test_check_nonsaturating_loss_refuses_a_library_shortcut():
    from gan_lessons import losses

    shortcuts = (
        ("gan_lessons.losses.g_loss_nonsaturating", lambda l: losses.g_loss_nonsaturating(l)),
        ("gan_lessons.losses.g_loss_nonsaturating", lambda l: losses.get_loss("nonsaturating").g(l)),
        ("gan_lessons.losses.d_loss_standard", lambda l: losses.d_loss_standard(l, torch.full_like(l, -math.inf))),
    )
    for name, fn in shortcuts:
        result = lesson04.check_nonsaturating_loss(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert lesson04.check_nonsaturating_loss(lambda l: F.softplus(-l).mean()).ok
