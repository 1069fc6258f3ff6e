"""The checks of lesson 07 accept right answers and name the usual mistakes."""
import cmath
import math

import numpy as np
import torch

from gan_lessons.checks import lesson07


# -- one alternating step -------------------------------------------------------------------------------
def step_right(x, y, lr):
    x = x - lr * y
    return x, y + lr * x


def step_as_array(x, y, lr):
    return np.array(step_right(x, y, lr))


def step_simultaneous(x, y, lr):
    return x - lr * y, y + lr * x


def step_y_first(x, y, lr):
    y = y + lr * x
    return x - lr * y, y


def step_signs_flipped(x, y, lr):
    x = x + lr * y
    return x, y - lr * x


def step_no_lr(x, y, lr):
    x = x - y
    return x, y + x


def step_one_number(x, y, lr):
    return x - lr * y


def step_unfinished(x, y, lr):
    raise NotImplementedError


def test_alternating_step_check():
    assert lesson07.check_alternating_step(step_right).ok
    assert lesson07.check_alternating_step(step_as_array).ok
    for fn, phrase in ((step_simultaneous, "simultaneous"), (step_y_first, "y moved first"),
                       (step_signs_flipped, "x climbed"), (step_no_lr, "ignores lr"), (step_one_number, "two numbers"),
                       (step_unfinished, "NotImplementedError"), (lambda x, y, lr: (x, y), "expected (")):
        result = lesson07.check_alternating_step(fn)
        assert not result.ok and phrase in result.message, (fn, result.message)
        assert repr(result).startswith("Not yet: ")


# -- eigenvalues of simultaneous descent-ascent ---------------------------------------------------------------
def gda_right(lr):
    return np.linalg.eigvals(np.array([[1.0, -lr], [lr, 1.0]]))


def test_gda_eigenvalues_check():
    assert lesson07.check_gda_eigenvalues(gda_right).ok
    assert lesson07.check_gda_eigenvalues(lambda lr: (1 - 1j * lr, 1 + 1j * lr)).ok  # either order
    assert lesson07.check_gda_eigenvalues(lambda lr: torch.tensor([1 + 1j * lr, 1 - 1j * lr])).ok
    wrong = ((lambda lr: (1j, -1j), "field's matrix"), (lambda lr: (1j * lr, -1j * lr), "identity is missing"),
             (lambda lr: (1 + lr, 1 - lr), "real"),
             (lambda lr: np.linalg.eigvals(np.array([[1, -lr], [lr, 1 - lr ** 2]])), "alternating"),
             (lambda lr: (math.sqrt(1 + lr ** 2),) * 2, "right modulus"), (lambda lr: 1 + 1j * lr, "two eigenvalues"),
             (lambda lr: (2, 3), "expected 1 +"))
    for fn, phrase in wrong:
        result = lesson07.check_gda_eigenvalues(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


# -- eigenvalues of the Dirac-GAN with R1 ----------------------------------------------------------------------
def r1_right(gamma):
    root = cmath.sqrt(gamma ** 2 / 4 - 0.25)
    return -gamma / 2 + root, -gamma / 2 - root


def r1_math_sqrt(gamma):
    root = math.sqrt(gamma ** 2 / 4 - 0.25)
    return -gamma / 2 + root, -gamma / 2 - root


def r1_gamma_not_halved(gamma):
    root = cmath.sqrt(gamma ** 2 - 0.25)
    return -gamma + root, -gamma - root


def r1_fprime_one(gamma):
    root = cmath.sqrt(gamma ** 2 / 4 - 1)
    return -gamma / 2 + root, -gamma / 2 - root


def r1_sign(gamma):
    return tuple(-v.conjugate() for v in r1_right(gamma))


def r1_real_only(gamma):
    return tuple(v.real for v in r1_right(gamma))


def test_r1_eigenvalues_check():
    assert lesson07.check_r1_eigenvalues(r1_right).ok
    assert lesson07.check_r1_eigenvalues(lambda g: np.linalg.eigvals(np.array([[0, 0.5], [-0.5, -g]]))).ok
    for fn, phrase in ((r1_math_sqrt, "cmath.sqrt"), (r1_gamma_not_halved, "-gamma/2"), (r1_fprime_one, "f'(0)"),
                       (r1_sign, "real part must be"), (r1_real_only, "imaginary parts"),
                       (lambda g: (0, 0), "expected")):
        result = lesson07.check_r1_eigenvalues(fn)
        assert not result.ok and phrase in result.message, (fn, result.message)


# -- library shortcuts: dynamics.py computes each exercise's numbers -----------------------------------------------
def test_check_alternating_step_refuses_a_library_shortcut():
    from gan_lessons import dynamics

    shortcuts = {
        "gan_lessons.dynamics.bilinear_trajectory":
            lambda x, y, lr: tuple(dynamics.bilinear_trajectory("alternating", (x, y), lr, 1)[1]),
        "gan_lessons.dynamics.bilinear_update_matrix":
            lambda x, y, lr: tuple(dynamics.bilinear_update_matrix("alternating", lr) @ np.array([x, y])),
    }
    for name, fn in shortcuts.items():
        result = lesson07.check_alternating_step(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert lesson07.check_alternating_step(step_right).ok


def test_check_gda_eigenvalues_refuses_a_library_shortcut():
    from gan_lessons import dynamics

    result = lesson07.check_gda_eigenvalues(
        lambda lr: np.linalg.eigvals(dynamics.bilinear_update_matrix("simultaneous", lr)))
    assert not result.ok and "gan_lessons.dynamics.bilinear_update_matrix" in result.message, result.message
    assert lesson07.check_gda_eigenvalues(gda_right).ok


def test_check_r1_eigenvalues_refuses_a_library_shortcut():
    from gan_lessons import dynamics

    settings = lambda gamma: dynamics.DiracSettings(gamma=gamma)
    shortcuts = {
        "gan_lessons.dynamics.dirac_eigenvalues": lambda g: dynamics.dirac_eigenvalues("r1", settings(g)),
        "gan_lessons.dynamics.dirac_jacobian": lambda g: np.linalg.eigvals(dynamics.dirac_jacobian("r1", settings(g))),
        "gan_lessons.dynamics.dirac_field":
            lambda g: np.linalg.eigvals(dynamics.numerical_jacobian(
                lambda z: dynamics.dirac_field("r1", z[0], z[1], settings(g)), (0.0, 0.0))),
    }
    for name, fn in shortcuts.items():
        result = lesson07.check_r1_eigenvalues(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert lesson07.check_r1_eigenvalues(r1_right).ok
