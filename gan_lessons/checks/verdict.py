"""What every check returns (`CheckResult`) and the helpers that build verdicts: run the student's function and
turn an exception into a sentence (`call`), compare a tensor with the expected one and say what differs."""
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
    """A verdict of success."""
    return CheckResult(True, message)


def failed(message: str) -> CheckResult:
    """A verdict that says what is wrong."""
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

