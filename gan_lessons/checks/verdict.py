"""What every check returns (`CheckResult`) and the helpers that build verdicts: run the student's function and
turn an exception into a sentence (`call`), compare a tensor with the expected one and say what differs."""
from __future__ import annotations

import contextlib
import inspect
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..i18n import tr


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: `ok` and a sentence for the student."""

    ok: bool
    message: str

    def __repr__(self) -> str:
        return (tr("Correct: ") if self.ok else tr("Not yet: ")) + self.message


def passed(message: str) -> CheckResult:
    """A verdict of success."""
    return CheckResult(True, message)


def failed(message: str) -> CheckResult:
    """A verdict that says what is wrong."""
    return CheckResult(False, message)


def call(fn: Callable, *args: Any) -> tuple[Any, CheckResult | None]:
    """Run the student's function; turn an exception into a verdict that names it."""
    if not callable(fn):
        return None, failed(tr("expected a function, got {kind}", kind=type(fn).__name__))
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, failed(tr("the function still raises NotImplementedError: replace that line with your code"))
    except LibraryShortcut as shortcut:
        return None, failed(tr("your function calls {shortcut}, the library's version of this exercise: write it "
                               "yourself from the formula above (calling the library teaches nothing)",
                               shortcut=shortcut))
    except Exception as error:  # the student's code may fail in any way; say how
        return None, failed(tr("the function raised {kind}: {error}", kind=type(error).__name__, error=error))


def compare_tensor(name: str, got: Any, expected: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> CheckResult | None:
    """None when `got` matches `expected` in type, shape and value; otherwise a verdict that says which differs."""
    if got is None:
        return failed(tr("{name} is None: did you forget `return`?", name=name))
    if not isinstance(got, torch.Tensor):
        return failed(tr("{name} should be a torch.Tensor, got {kind}", name=name, kind=type(got).__name__))
    if got.shape != expected.shape:
        return failed(tr("{name} has shape {shape}, expected {expected}", name=name, shape=tuple(got.shape),
                         expected=tuple(expected.shape)))
    if not torch.isfinite(got).all():
        return failed(tr("{name} holds inf or NaN; compute logs of probabilities stably (softplus, logsigmoid)",
                         name=name))
    if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol):
        diff = (got.double() - expected.double()).abs().max().item()
        return failed(tr("{name} differs from the expected value by up to {diff:.3g} (got {got}, expected {expected})",
                         name=name, diff=diff, got=_preview(got), expected=_preview(expected)))
    return None


def _preview(x: torch.Tensor) -> str:
    return f"{x.item():.4g}" if x.numel() == 1 else f"{x.flatten()[:3].tolist()}..."



class LibraryShortcut(Exception):
    """Raised when an exercise's function calls the library's version of what it asks the student to write."""


# While a check runs: the library functions it forbids, by qualified name -> (the thread running the check, a copy of
# the function with its own code). Other threads (the live lab's training thread) keep calling the real code.
_FORBIDDEN: dict[str, tuple[int, Callable]] = {}


@contextlib.contextmanager
def forbidding(*functions: Callable):
    """Inside the block, each of `functions` (the library's own versions of an exercise: plain functions) raises
    LibraryShortcut when the thread running the block calls it, however it was imported (its code is swapped for
    a stand-in); any other thread, such as a live lab training meanwhile, still gets the function's own work."""
    saved = []
    try:
        for fn in map(inspect.unwrap, functions):
            if not inspect.isfunction(fn) or fn.__code__.co_freevars:
                raise TypeError(f"forbidding takes plain functions, not {fn!r}")
            name = f"{fn.__module__}.{fn.__qualname__}"
            if name in _FORBIDDEN:  # named twice, or already forbidden by an enclosing block: that one restores it
                continue
            own = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
            own.__kwdefaults__ = fn.__kwdefaults__
            _FORBIDDEN[name] = (threading.get_ident(), own)
            saved.append((fn, fn.__code__, name))
            fn.__code__ = _stand_in(name).__code__
        yield
    finally:
        for fn, code, name in reversed(saved):
            fn.__code__ = code
            _FORBIDDEN.pop(name, None)


def forbidden_call(name: str, args: tuple, kwargs: dict) -> Any:
    """What a forbidden function does when called: raise in the checking thread, its own work in any other."""
    thread, own = _FORBIDDEN[name]
    if threading.get_ident() == thread:
        raise LibraryShortcut(name)
    return own(*args, **kwargs)


def _stand_in(name: str) -> Callable:
    """A function whose code calls forbidden_call(name, ...) from any module's globals: its code names no global
    (this module is reached through the builtin __import__), so it can replace a library function's code."""
    source = ("def stand_in(*args, **kwargs):\n"
              "    return __import__('gan_lessons.checks.verdict', fromlist=['_']).forbidden_call("
              f"{name!r}, args, kwargs)")
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 (fixed text; name is a function's qualified name)
    return namespace["stand_in"]


def call_own(fn: Callable, library: tuple[Callable, ...], *args: Any) -> tuple[Any, CheckResult | None]:
    """`call` with the library's versions of the exercise (`library`) made to raise: the student writes it."""
    with forbidding(*library):
        return call(fn, *args)


@dataclass(frozen=True)
class Question:
    """A predict-then-run or "why" question: multiple choice (`choices` maps a letter to its text) or a number
    (`choices` empty; `answer` a float, right within `tolerance`). `why` is said once the answer is right; `hints`
    maps a wrong choice to what it would mean, so a wrong answer teaches too. The texts are English; `check` says
    them through `tr` (their translations are in locale/<language>/checks.json), as must anything that shows them."""

    text: str
    answer: str | float
    why: str
    choices: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    tolerance: float = 0.0

    def check(self, given: Any) -> CheckResult:
        """The verdict on the student's answer."""
        if given is None:
            return failed(tr("make your prediction first: set the answer before you run the cell below"))
        if self.choices:
            letter = str(given).strip().lower().strip("()")
            if letter not in self.choices:
                return failed(tr("answer with one of {letters} (got {given!r})", letters=", ".join(self.choices),
                                 given=given))
            if letter != self.answer:
                if letter in self.hints:
                    return failed(tr(self.hints[letter]))
                return failed(tr("not ({letter}): run the next cell and look again", letter=letter))
            return passed(tr(self.why))
        try:
            number = float(given)
        except (TypeError, ValueError):
            return failed(tr("answer with a number (got {given!r})", given=given))
        if not abs(number - float(self.answer)) <= self.tolerance:
            if "number" in self.hints:
                return failed(tr(self.hints["number"]))
            return failed(tr("not quite: run the next cell and compare"))
        return passed(tr(self.why))
