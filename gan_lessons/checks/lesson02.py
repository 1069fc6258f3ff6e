"""Checks for lesson 02: a generator module, the output size of a transposed convolution, and the lesson's questions."""
from __future__ import annotations

import torch
from torch import nn

from ..i18n import tr
from ..models import MLPGenerator, mlp_gan_2d
from .verdict import CheckResult, Question, call_own, failed, passed

GENERATOR_LIBRARY = (mlp_gan_2d,)  # and the class MLPGenerator, refused by type (any module inside G)
# what the check compares with: a layer built and run instead of the formula
CONV_TRANSPOSE_LIBRARY = (nn.ConvTranspose2d.forward,)


def check_generator(make_generator) -> CheckResult:
    """`make_generator(z_dim)` must return an nn.Module mapping (N, z_dim) noise to (N, 2) points."""
    for z_dim in (1, 2, 5):
        G, error = call_own(make_generator, GENERATOR_LIBRARY, z_dim)
        if error:
            return error
        if not isinstance(G, nn.Module):
            return failed(tr("make_generator({z_dim}) returned {kind}, expected an nn.Module", z_dim=z_dim,
                             kind=type(G).__name__))
        if any(isinstance(module, MLPGenerator) for module in G.modules()):
            return failed(tr("your generator is (or holds) the library's gan_lessons.models.MLPGenerator: build it "
                             "yourself from nn.Linear layers and a nonlinearity (calling the library teaches nothing)"))
        verdict = _check_one(G, z_dim)
        if verdict:
            return verdict
    return passed(tr("noise of any dimension and batch size becomes (N, 2) points, and the weights can learn"))


def _check_one(G: nn.Module, z_dim: int) -> CheckResult | None:
    try:
        x = G(torch.randn(7, z_dim))
    except Exception as error:
        return failed(tr("with z_dim={z_dim}, G(torch.randn(7, {z_dim})) raised {kind}: {error}; "
                         "does the first layer take z_dim inputs?", z_dim=z_dim, kind=type(error).__name__,
                         error=error))
    if not isinstance(x, torch.Tensor) or x.shape != (7, 2):
        return failed(tr("G(z) for 7 noise vectors should have shape (7, 2), got {shape}",
                         shape=getattr(x, "shape", None)))
    if sum(p.numel() for p in G.parameters() if p.requires_grad) == 0:
        return failed(tr("G has no trainable parameters: build it from nn.Linear layers"))
    if torch.allclose(x[0], x[1]):
        return failed(tr("different noise vectors give the same point: G ignores z"))
    if not x.requires_grad:
        return failed(tr("G's output carries no gradient: don't wrap the forward pass in torch.no_grad()"))
    linear = [m for m in G.modules() if isinstance(m, nn.Linear)]
    if len(linear) < 2 or _last_linear_input_is_affine(G, z_dim):
        return failed(tr("G needs a nonlinearity between its linear layers (e.g. nn.ReLU() after each hidden "
                         "nn.Linear); linear layers stacked without one are a single linear map, which can only "
                         "stretch and rotate the Gaussian, never make a ring"))
    return None


def _last_linear_input_is_affine(G: nn.Module, z_dim: int) -> bool:
    """True when what G feeds its last linear layer is an affine function of z (no bend before it): the input at
    the midpoint of two noise vectors is the mean of the inputs at the two ends, for several random pairs."""
    calls: list[tuple[nn.Module, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda m, args, out: calls.append((m, args[0])))
             for m in G.modules() if isinstance(m, nn.Linear)]
    try:
        a, b = torch.randn(16, z_dim, generator=torch.Generator().manual_seed(0)).chunk(2)
        with torch.no_grad():
            inputs = []
            for z in (a, b, (a + b) / 2):
                calls.clear()
                G(z)
                inputs.append(calls[-1][1])
    finally:
        for hook in hooks:
            hook.remove()
    ends, middle = (inputs[0] + inputs[1]) / 2, inputs[2]
    return bool(torch.allclose(middle, ends, rtol=1e-4, atol=1e-5 * (1 + ends.abs().max().item())))


def check_conv_transpose_size(fn) -> CheckResult:
    """`fn(size, kernel, stride, padding)` must give ConvTranspose2d's output size."""
    cases = [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1), (5, 3, 1, 1), (4, 5, 3, 2), (8, 3, 2, 0)]
    for size, kernel, stride, padding in cases:
        got, error = call_own(fn, CONV_TRANSPOSE_LIBRARY, size, kernel, stride, padding)
        if error:
            return error
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        if got != expected:
            return failed(tr("size={size}, kernel={kernel}, stride={stride}, padding={padding}: you say {got}, "
                             "PyTorch gives {expected}. {hint}", size=size, kernel=kernel, stride=stride,
                             padding=padding, got=got, expected=expected,
                             hint=_hint(got, size, kernel, stride, padding)))
    return passed(tr("your formula agrees with nn.ConvTranspose2d on every case, including DCGAN's 7 -> 14 -> 28"))


def _hint(got, size, kernel, stride, padding) -> str:
    if got == (size - 1) * stride + kernel:
        return tr("You forgot the padding: it removes `padding` pixels on each side.")
    if got == (size - 1) * stride - 2 * padding + kernel - 1 or got == size * stride - 2 * padding + kernel:
        return tr("Check the (size - 1): the kernel is placed size times, stride apart, so the last copy starts at "
                  "(size - 1) * stride.")
    if got == (size + 2 * padding - kernel) // stride + 1:
        return tr("That is the formula of an ordinary convolution; a transposed convolution runs it backwards.")
    return tr("Think of it as the inverse of a strided convolution: out = (in - 1) * stride - 2 * padding + kernel.")


QUESTIONS: dict[str, Question] = {
    "curve": Question(
        text="An untrained MLP generator from R^k to the plane (k -> 128 -> 128 -> 2, ReLU between the layers) "
             "receives 3,000 noise vectors. With noise dimension k = 1, where do its 3,000 samples lie?",
        choices={"a": "in a cloud that fills part of the plane",
                 "b": "on one curve",
                 "c": "on one straight line",
                 "d": "all on one point: an untrained G ignores its input"},
        answer="b",
        why="one number in means one direction to move in: as z runs along the real line, G(z) traces a path, "
            "and a smooth G cannot turn a line into an area. The ReLUs bend the path, so it is a curve, not a "
            "straight line. With k = 2 the samples fill an area",
        hints={"a": "the output is G(z) for a single number z: as z slides along the real line, how many "
                    "directions can G(z) move in?",
               "c": "a straight line would need G to be linear in z; what do the ReLUs between the layers do?",
               "d": "random weights are not zero: a different z gives a different G(z)"}),
    "stamps": Question(
        text="A transposed convolution with a 3x3 kernel of ones and stride 2 takes the 2x2 input [[1, 2], [3, 4]]. "
             "What number will the centre pixel of its output hold?",
        answer=10.0,
        why="each input pixel stamps a 3x3 block of its own value, the stamps 2 pixels apart: they overlap on the "
            "middle row and column, and all four overlap on the centre pixel, so it holds 1 + 2 + 3 + 4 = 10",
        hints={"number": "count the stamps that cover the centre: each input pixel stamps a 3x3 block, and the "
                         "blocks of neighbouring pixels start 2 pixels apart"}),
}
