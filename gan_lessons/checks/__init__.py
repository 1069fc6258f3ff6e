"""Checks for the lessons' exercises: each says what is right, or what is wrong and why.

A check takes the student's function (or value), runs it on cases with known answers and returns a
`CheckResult`. It never raises for a wrong answer, so an unfinished exercise does not stop the notebook;
the solution cells use `assert result.ok, result.message` to hold the solutions to the same checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: `ok` and a sentence for the student."""

    ok: bool
    message: str

    def __repr__(self) -> str:
        return ("Correct: " if self.ok else "Not yet: ") + self.message


def passed(message: str) -> CheckResult:
    return CheckResult(True, message)


def failed(message: str) -> CheckResult:
    return CheckResult(False, message)


def call(fn: Callable, *args: Any) -> tuple[Any, CheckResult | None]:
    """Run the student's function; turn an exception into a verdict that names it."""
    if not callable(fn):
        return None, failed(f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, failed("the function still raises NotImplementedError: replace that line with your code")
    except Exception as error:  # the student's code may fail in any way; say how
        return None, failed(f"the function raised {type(error).__name__}: {error}")


def compare_tensor(name: str, got: Any, expected: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> CheckResult | None:
    """None when `got` matches `expected` in type, shape and value; otherwise a verdict that says which differs."""
    if got is None:
        return failed(f"{name} is None: did you forget `return`?")
    if not isinstance(got, torch.Tensor):
        return failed(f"{name} should be a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        return failed(f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    if not torch.isfinite(got).all():
        return failed(f"{name} holds inf or NaN; compute logs of probabilities stably (softplus, logsigmoid)")
    if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol):
        diff = (got.double() - expected.double()).abs().max().item()
        return failed(f"{name} differs from the expected value by up to {diff:.3g} "
                      f"(got {_preview(got)}, expected {_preview(expected)})")
    return None


def _preview(x: torch.Tensor) -> str:
    return f"{x.item():.4g}" if x.numel() == 1 else f"{x.flatten()[:3].tolist()}..."


from . import lesson01, lesson02  # noqa: E402  (the lesson modules use the helpers above)
from .lesson01 import check_sample_exponential, check_uniform_generator  # noqa: E402
from .lesson02 import check_conv_transpose_size, check_generator  # noqa: E402
from . import lesson05  # noqa: E402
from .lesson05 import check_d_step, check_g_step  # noqa: E402
from . import lesson03  # noqa: E402
from .lesson03 import check_d_loss, check_optimal_discriminator  # noqa: E402
from . import lesson04  # noqa: E402
from .lesson04 import check_jsd, check_nonsaturating_loss, check_value_function  # noqa: E402
from .lesson07 import check_alternating_step, check_gda_eigenvalues, check_r1_eigenvalues  # noqa: E402
from . import lesson09  # noqa: E402
from .lesson09 import check_concat_condition, check_projection_logit  # noqa: E402
from . import lesson10  # noqa: E402
from .lesson10 import check_classifier_score, check_frechet_distance  # noqa: E402
from . import lesson08  # noqa: E402
from .lesson08 import check_ema_update, check_hinge_d_loss, check_weight_clipping  # noqa: E402
from . import lesson06  # noqa: E402
from .lesson06 import check_conv_output_size, check_dcgan_init  # noqa: E402
from . import lesson11  # noqa: E402
from .lesson11 import check_paired_difference, check_pix2pix_loss  # noqa: E402
