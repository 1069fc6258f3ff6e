r"""Checks for lesson 07: one alternating update of the bilinear game, two sets of eigenvalues, and the lesson's
two questions.

Each check compares the student's numbers with the closed forms of `dynamics.py` on several inputs, and when
they differ, with the usual mistakes, so that the message names the one the student made. The functions of
`dynamics.py` that compute the same numbers are made to raise meanwhile (`call_own`): the student works them out.
"""
from __future__ import annotations

import cmath
import math
from typing import Callable

import numpy as np
import torch

from .. import dynamics
from ..i18n import tr
from .verdict import CheckResult, Question, call_own, failed, passed

_CASES = ((1.0, 1.0, 0.1), (0.3, -2.0, 0.5), (-1.5, 0.7, 1.2))  # (x, y, lr)
# The library's versions of each exercise.
STEP_LIBRARY = (dynamics.bilinear_trajectory, dynamics.bilinear_update_matrix)
GDA_LIBRARY = (dynamics.bilinear_update_matrix,)
R1_LIBRARY = (dynamics.dirac_eigenvalues, dynamics.dirac_jacobian, dynamics.dirac_field)


def _pair(value) -> tuple[complex, ...] | None:
    """Two numbers (real or complex) from a tuple, list, NumPy array or tensor; None for anything else."""
    try:
        items = value.tolist() if isinstance(value, (np.ndarray, torch.Tensor)) else list(value)
        return tuple(complex(v) for v in items)
    except (TypeError, ValueError):
        return None


def _close(got: tuple, expected: tuple, tol: float = 1e-6) -> bool:
    """Same numbers in the same order (for updates) within tol."""
    return len(got) == len(expected) and all(abs(g - e) <= tol * (1 + abs(e)) for g, e in zip(got, expected))


def _same_set(got: tuple, expected: tuple, tol: float = 1e-6) -> bool:
    """The same two eigenvalues in either order."""
    return len(got) == 2 and (_close(got, expected, tol) or _close(got[::-1], expected, tol))


# -- exercise 1: one alternating step ------------------------------------------------------------------
def _step_mistakes() -> dict[str, tuple[Callable, str]]:
    return {
        "simultaneous": (lambda x, y, h: (x - h * y, y + h * x),
                         tr("y used the old x: that is the simultaneous update. Move x first, then compute y's step "
                            "from the new x")),
        "y first": (lambda x, y, h: (x - h * (y + h * x), y + h * x),
                    tr("y moved first and x answered the new y; in this lesson x (the minimizer) moves first")),
        "signs flipped": (lambda x, y, h: (x + h * y, y - h * (x + h * y)),
                          tr("x climbed and y descended: x minimizes xy, so x <- x - lr * y; y maximizes it, "
                             "y <- y + lr * x")),
        "no learning rate": (lambda x, y, h: (x - y, y + (x - y)),
                             tr("the step ignores lr: multiply each gradient by lr")),
    }


def _alternating(x: float, y: float, lr: float) -> tuple[float, float]:
    x_new = x - lr * y  # x descends on xy; the gradient of xy in x is y
    return x_new, y + lr * x_new  # y ascends, reading the new x


def check_alternating_step(step: Callable) -> CheckResult:
    """`step(x, y, lr)` -> (x_new, y_new): x descends on xy first, then y ascends at the new x."""
    for x, y, lr in _CASES:
        got, error = call_own(step, STEP_LIBRARY, x, y, lr)
        if error:
            return error
        pair = _pair(got)
        if pair is None or len(pair) != 2:
            return failed(tr("expected two numbers (x_new, y_new), got {got!r}", got=got))
        expected = _alternating(x, y, lr)
        if _close(pair, expected):
            continue
        for mistake, message in _step_mistakes().values():
            if _close(pair, mistake(x, y, lr)):
                return failed(message)
        return failed(tr("for x={x}, y={y}, lr={lr} expected ({x_new:.4f}, {y_new:.4f}), got ({got_x:.4f}, "
                         "{got_y:.4f})", x=x, y=y, lr=lr, x_new=expected[0], y_new=expected[1],
                         got_x=pair[0].real, got_y=pair[1].real))
    return passed(tr("x <- x - lr*y, then y <- y + lr*x_new; it keeps x^2 + y^2 - lr*x*y constant, so the players "
                     "cycle"))


# -- exercise 2: eigenvalues of simultaneous descent-ascent ------------------------------------------------
def _gda_mistakes(lr: float) -> dict[str, tuple[tuple, str]]:
    return {
        "field": ((1j, -1j), tr("those are the eigenvalues of the field's matrix A, not of the step "
                                "z <- (I + lr A) z; add the identity and scale A by lr")),
        "no identity": ((lr * 1j, -lr * 1j), tr("the step is z <- z + lr A z: the identity is missing")),
        "real": ((1 + lr, 1 - lr), tr("1 + lr and 1 - lr are real, but A is a rotation: its eigenvalues are +-i, so "
                                      "the step's are 1 +- i lr (use complex numbers, e.g. np.linalg.eigvals)")),
        "alternating": (tuple(np.linalg.eigvals(dynamics.bilinear_update_matrix("alternating", lr))),
                        tr("those belong to the alternating update; the simultaneous one is I + lr A")),
    }


def check_gda_eigenvalues(eigenvalues: Callable) -> CheckResult:
    """`eigenvalues(lr)` -> the two eigenvalues of the simultaneous step z <- (I + lr A) z, i.e. 1 +- i lr."""
    for lr in (0.1, 0.5, 1.5):
        got, error = call_own(eigenvalues, GDA_LIBRARY, lr)
        if error:
            return error
        pair = _pair(got)
        if pair is None or len(pair) != 2:
            return failed(tr("expected the two eigenvalues (complex numbers), got {got!r}", got=got))
        expected = tuple(np.linalg.eigvals(dynamics.bilinear_update_matrix("simultaneous", lr)))
        if _same_set(pair, expected):
            continue
        for values, message in _gda_mistakes(lr).values():
            if _same_set(pair, values):
                return failed(message)
        if _close(tuple(abs(v) for v in pair), (math.sqrt(1 + lr ** 2),) * 2):
            return failed(tr("right modulus sqrt(1 + lr^2), but give the eigenvalues themselves, 1 + i lr and "
                             "1 - i lr"))
        return failed(tr("for lr={lr} expected 1 + {lr}i and 1 - {lr}i, got {pair}", lr=lr, pair=pair))
    return passed(tr("1 +- i*lr, of modulus sqrt(1 + lr^2) > 1: every simultaneous step moves away from the "
                     "equilibrium"))


# -- exercise 3: eigenvalues of the Dirac-GAN with R1 ------------------------------------------------------
def _r1_mistakes(gamma: float) -> dict[str, tuple[tuple, str]]:
    half = 0.5  # f'(0)
    root = lambda a, b: cmath.sqrt(a ** 2 - b ** 2)
    return {
        "gamma not halved": ((-gamma + root(gamma, half), -gamma - root(gamma, half)),
                             tr("the trace of J is -gamma, so the eigenvalues are -gamma/2 +- ..., not -gamma +- ...")),
        "f'(0) = 1": ((-gamma / 2 + root(gamma / 2, 1), -gamma / 2 - root(gamma / 2, 1)),
                      tr("for f(t) = log sigmoid(t), f'(0) = sigmoid(0) = 1/2, not 1")),
        "sign": ((gamma / 2 + root(gamma / 2, half), gamma / 2 - root(gamma / 2, half)),
                 tr("the real part must be -gamma/2: R1 damps D, it does not push it away")),
        "real part only": (tuple(complex((-gamma / 2 + sign * root(gamma / 2, half)).real) for sign in (1, -1)),
                           tr("the imaginary parts are missing: for gamma < 1 the square root is of a negative "
                              "number; use cmath.sqrt, which returns a complex root")),
    }


def check_r1_eigenvalues(eigenvalues: Callable) -> CheckResult:
    r"""`eigenvalues(gamma)` -> the eigenvalues of the Dirac-GAN's Jacobian with R1.

    They are $-\gamma/2 \pm \sqrt{\gamma^2/4 - f'(0)^2}$ with $f'(0) = \tfrac12$.
    """
    for gamma in (0.3, 2.0, 0.0):
        got, error = call_own(eigenvalues, R1_LIBRARY, gamma)
        if error:
            if "math domain error" in error.message:
                return failed(tr("math.sqrt of a negative number: for gamma < 1 the root is imaginary; use "
                                 "cmath.sqrt"))
            return error
        pair = _pair(got)
        if pair is None or len(pair) != 2:
            return failed(tr("expected the two eigenvalues (complex numbers), got {got!r}", got=got))
        expected = dynamics.dirac_eigenvalues("r1", dynamics.DiracSettings(gamma=gamma))
        if _same_set(pair, expected):
            continue
        for values, message in _r1_mistakes(gamma).values():
            if _same_set(pair, values):
                return failed(message)
        return failed(tr("for gamma={gamma} expected {first:.4f} and {second:.4f}, got {pair}", gamma=gamma,
                         first=expected[0], second=expected[1], pair=pair))
    return passed(tr("-gamma/2 +- sqrt(gamma^2/4 - 1/4): a negative real part for every gamma > 0, so R1 spirals in"))


QUESTIONS: dict[str, Question] = {
    "collapse": Question(
        text="The plain GAN (no regularizer) and the same GAN with R1 train on the ring of 8 from the same seed. "
             "Over the first 1,500 steps (the fast run: all 500), where will each run's samples be?",
        choices={"a": "both spread over all 8 modes",
                 "b": "the plain GAN's on one mode at a time, hopping from mode to mode; R1's over most modes",
                 "c": "the plain GAN's over most modes; R1's on one mode",
                 "d": "both on one mode, the same one throughout"},
        answer="b",
        why="against the current D, the plain G's best move is to put its samples where D scores highest; D then "
            "learns that place is fake and G follows D's new favourite. R1 damps the players' circling (section 4 "
            "shows how on the Dirac-GAN), and its G spreads over the ring",
        hints={"a": "what does the plain G's loss reward, against the D of the moment: spreading out, or "
                    "going where that D scores highest?",
               "c": "R1 only adds a penalty on D's gradient at real samples: would that make G chase D?",
               "d": "D learns where G's samples are: can G stay on one mode for 1,500 steps?"}),
    "losses": Question(
        text="Over steps 100 to 1,500 (fast run: 100 to 500), compare the average D loss of the plain GAN, which "
             "hops from mode to mode, with that of the R1 run, which covers 7 or 8 modes. What will you see?",
        choices={"a": "the plain GAN's D loss is much lower: D easily beats a G that draws one mode",
                 "b": "about the same, both near 2 log 2 = 1.386, the loss of a D that cannot tell real from fake",
                 "c": "the plain GAN's D loss is much higher"},
        answer="b",
        why="each loss measures one player against the other as it is now: a collapsed G that keeps moving keeps "
            "D near chance on the samples it sees, so D's loss sits near 2 log 2 just as for a good G. A loss is "
            "not a measure of G against the data",
        hints={"a": "D is trained on the samples G draws now: does a D that learned where G was last "
                    "step score the samples G draws now as fake?",
               "c": "a higher D loss means D is beaten more: would a collapsed G beat D more than a good one?"}),
}
