"""Checks for lesson 06: the output size of a strided convolution, and DCGAN's weight initialization; and the
lesson's questions (inpainting a digit, and a shifted copy of a training digit).

The size check compares the student's formula with what `nn.Conv2d` really produces; the initialization
check applies the student's function to a small DCGAN and compares the statistics of every weight with
those DCGAN prescribes (conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0). Both run the
student's function with the ready-made answers made to raise: nn.Conv2d (and this module's `conv_size`) for the
size, `models.dcgan_init` for the initialization.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..i18n import tr
from ..models import dcgan_init
from .verdict import CheckResult, Question, call_own, failed, passed

# (size, kernel, stride, padding): D's layers, odd sizes where the floor matters, and a few others
CONV_CASES = ((28, 4, 2, 1), (14, 4, 2, 1), (7, 7, 1, 0), (28, 3, 1, 1), (28, 5, 2, 2), (7, 4, 2, 1),
              (13, 3, 2, 0), (9, 4, 3, 1), (64, 4, 2, 1), (5, 5, 1, 0), (27, 4, 2, 1))


def conv_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """What nn.Conv2d gives, measured on an empty tensor: floor((n + 2p - k) / s) + 1."""
    conv = nn.Conv2d(1, 1, kernel, stride, padding)
    with torch.no_grad():
        return conv(torch.zeros(1, 1, size, size)).shape[-1]


MISTAKES = (  # (the slip, its formula, what to say: said when needed, in the language in use)
    ("ceil", lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1,
     lambda: tr("the last window must fit inside the padded input, so round down (//), not up")),
    ("no + 1", lambda n, k, s, p: (n + 2 * p - k) // s, lambda: tr("you forgot the + 1 (the first window)")),
    ("one-sided padding", lambda n, k, s, p: (n + p - k) // s + 1,
     lambda: tr("padding is added on both sides, so it counts twice (2p)")),
    ("transposed", lambda n, k, s, p: (n - 1) * s - 2 * p + k,
     lambda: tr("that is the transposed convolution's formula (lesson 02), which grows the image; a strided "
                "convolution shrinks it")),
)


def _diagnose_sizes(answers: list) -> str:
    """Name the usual slip that reproduces all the student's answers, or show the first wrong one."""
    for _, formula, advice in MISTAKES:
        if all(got == formula(*case) for got, case in zip(answers, CONV_CASES)):
            n, k, s, p = next(c for c, got in zip(CONV_CASES, answers) if got != conv_size(*c))
            right = conv_size(n, k, s, p)
            return tr("got {got} for n={n}, k={k}, s={s}, p={p}, expected {right}: {advice}",
                      got=formula(n, k, s, p), n=n, k=k, s=s, p=p, right=right, advice=advice())
    for got, (n, k, s, p) in zip(answers, CONV_CASES):
        if isinstance(got, float) and not float(got).is_integer():
            return tr("got {got} for n={n}, k={k}, s={s}, p={p}: a size is a whole number; round down with // "
                      "(floor)", got=got, n=n, k=k, s=s, p=p)
        if got != conv_size(n, k, s, p):
            right = conv_size(n, k, s, p)
            return tr("got {got!r} for n={n}, k={k}, s={s}, p={p}, expected {right} (what nn.Conv2d gives)",
                      got=got, n=n, k=k, s=s, p=p, right=right)
    return tr("the answers differ from nn.Conv2d's")


def check_conv_output_size(conv_output_size) -> CheckResult:
    """`conv_output_size(n, kernel, stride, padding)` must give the side of nn.Conv2d's output for an n x n input."""
    answers = []
    for case in CONV_CASES:  # nn.Conv2d would measure the size instead of computing it
        got, error = call_own(conv_output_size, (conv_size, nn.Conv2d.forward), *case)
        if error is not None:
            return error
        if got is None:
            return failed(tr("the function returned None: did you forget `return`?"))
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return failed(tr("the function returned a {kind}; return the size as an int", kind=type(got).__name__))
        answers.append(got)
    if any(got != conv_size(*case) for got, case in zip(answers, CONV_CASES)):
        return failed(_diagnose_sizes(answers))
    if any(isinstance(got, float) for got in answers):
        return failed(tr("the sizes are right but some are floats ({first!r} for n=28): a size is a whole "
                         "number, return an int (use // for the division)", first=answers[0]))
    return passed(tr("floor((n + 2p - k) / s) + 1 matches nn.Conv2d on {count} cases, "
                     "e.g. 28 -> 14 -> 7 in D with k=4, s=2, p=1", count=len(CONV_CASES)))


# -- DCGAN's initialization -------------------------------------------------------------------------
def _model() -> nn.Sequential:
    """A small DCGAN-like stack with every kind of layer the init must treat (about 40,000 conv weights)."""
    return nn.Sequential(
        nn.ConvTranspose2d(64, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),  # never run
        nn.Conv2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 1, 3, 1, 1), nn.Linear(4, 4))


def _stats(t: torch.Tensor) -> tuple[float, float]:
    return t.mean().item(), t.std().item()


def _check_conv(name: str, weight: torch.Tensor, bias: torch.Tensor | None, before: torch.Tensor) -> CheckResult | None:
    if torch.equal(weight, before):
        if name == "ConvTranspose2d":
            return failed(tr("{name}'s weights were not changed: they still have PyTorch's default init "
                             "(isinstance(m, nn.Conv2d) is False for nn.ConvTranspose2d: test both)", name=name))
        return failed(tr("{name}'s weights were not changed: they still have PyTorch's default init", name=name))
    mean, std = _stats(weight)
    if abs(std - 0.141) < 0.02:
        return failed(tr("{name}'s weights have std {std:.3f}: 0.02 is the standard deviation, not the variance "
                         "(sqrt(0.02) = 0.141); use nn.init.normal_(w, 0.0, 0.02)", name=name, std=std))
    if abs(mean) > 0.005 or abs(std - 0.02) > 0.003:
        return failed(tr("{name}'s weights have mean {mean:.4f} and std {std:.4f}; expected N(0, 0.02): mean 0, "
                         "std 0.02", name=name, mean=mean, std=std))
    if bias is not None and bias.abs().max() > 0:
        return failed(tr("{name}'s bias is not 0: DCGAN starts every bias at 0 (nn.init.zeros_)", name=name))
    return None


def _check_norm(name: str, norm: nn.BatchNorm2d) -> CheckResult | None:
    mean, std = _stats(norm.weight)
    if abs(mean) < 0.1:
        return failed(tr("{name}'s scales (weight) have mean {mean:.3f}: near 0 they multiply every activation by "
                         "about 0 and the signal dies; DCGAN draws them from N(1, 0.02)", name=name, mean=mean))
    if mean == 1.0 and std == 0.0:
        return failed(tr("{name}'s scales are all exactly 1 (PyTorch's default): DCGAN draws them from N(1, 0.02); "
                         "did your function skip nn.BatchNorm2d?", name=name))
    if abs(mean - 1.0) > 0.01 or abs(std - 0.02) > 0.01:
        return failed(tr("{name}'s scales have mean {mean:.3f} and std {std:.3f}; expected N(1, 0.02)", name=name,
                         mean=mean, std=std))
    if norm.bias.abs().max() > 0:
        return failed(tr("{name}'s shift (bias) is not 0: DCGAN starts it at 0", name=name))
    return None


def check_dcgan_init(init_fn) -> CheckResult:
    """`init_fn(module)`, used as `model.apply(init_fn)`, must set DCGAN's initial weights."""
    torch.manual_seed(0)
    model = _model()
    before = [p.detach().clone() for p in (model[0].weight, model[3].weight, model[6].weight, model[7].weight)]
    if not callable(init_fn):
        return failed(tr("expected a function, got {kind}", kind=type(init_fn).__name__))
    _, error = call_own(lambda m: m.apply(init_fn), (dcgan_init,), model)  # as model.apply(your_function)
    if error is not None:
        return error
    for j, (i, name) in enumerate(((0, "ConvTranspose2d"), (3, "Conv2d"), (6, tr("the last Conv2d")))):
        verdict = _check_conv(name, model[i].weight, model[i].bias, before[j])
        if verdict is not None:
            return verdict
    for i, name in ((1, tr("the first BatchNorm2d")), (4, tr("the second BatchNorm2d"))):
        verdict = _check_norm(name, model[i])
        if verdict is not None:
            return verdict
    if not torch.equal(model[7].weight, before[3]):
        return failed(tr("a Linear layer was changed too; the DCGAN rule is for conv and batch-norm layers "
                         "(test the module's type before touching it)"))
    return passed(tr("conv and transposed-conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0"))


QUESTIONS: dict[str, Question] = {
    "inpaint": Question(
        text="We hide the central 12 x 12 square of digits that G never trained on and fill the hole two ways: "
             "with the background (-1), as the damaged image shows it, and with G(z) for the z whose image best "
             "matches the visible pixels. Which fill will be closer to the true hidden pixels (mean squared error)?",
        choices={"a": "the background: these digits were held out, so G knows nothing about them",
                 "b": "G's fill: the visible pixels pin down z, and G draws whole digits, so the hidden strokes "
                      "continue the visible ones",
                 "c": "a tie: the loss looks only at the visible pixels, so nothing steers the hidden ones"},
        answer="b",
        why="G never saw these digits, but it learned what digits look like as a whole: the z that reproduces the "
            "visible strokes gives a digit whose hidden part continues them, closer to the truth than a blank",
        hints={"a": "G need not have seen a digit to draw one like it: it learned the shapes digits share, and "
                    "the visible strokes say which shape this is",
               "c": "the hidden pixels are not free: they are pixels of the same image G(z), and one z sets all "
                    "784 of them at once"}),
    "shifted_copy": Question(
        text="Take 200 training digits and move each two pixels to the right: copies, to any reader. Measure "
             "(L2 in pixel space) how far each copy is from its nearest training image, and compare with held-out "
             "real digits, which are not copies of anything. What will the medians show?",
        choices={"a": "the shifted copies are much closer to the training set than the held-out digits",
                 "b": "the shifted copies are farther from the training set than the held-out digits",
                 "c": "the shifted copies are at distance 0: they are the training digits"},
        answer="b",
        why="a shift moves every stroke off the pixels it covered: the copy differs from its original on both "
            "edges of each stroke, more than another writer's similar digit does. Pixel distances catch exact "
            "copies, not copies moved, so a large nearest-neighbour distance is evidence against copying, not "
            "proof (Theis et al., 2016)",
        hints={"a": "compare pixel by pixel: after a two-pixel shift, which pixels of a thin stroke still "
                    "overlap the original's?",
               "c": "the distance compares pixel values at the same positions, and every ink pixel moved"}),
}
