"""Checks for lesson 02: a generator module and the output size of a transposed convolution."""
from __future__ import annotations

import torch
from torch import nn

from .verdict import CheckResult, call, failed, passed


def check_generator(make_generator) -> CheckResult:
    """`make_generator(z_dim)` must return an nn.Module mapping (N, z_dim) noise to (N, 2) points."""
    for z_dim in (1, 2, 5):
        G, error = call(make_generator, z_dim)
        if error:
            return error
        if not isinstance(G, nn.Module):
            return failed(f"make_generator({z_dim}) returned {type(G).__name__}, expected an nn.Module")
        verdict = _check_one(G, z_dim)
        if verdict:
            return verdict
    return passed("noise of any dimension and batch size becomes (N, 2) points, and the weights can learn")


def _check_one(G: nn.Module, z_dim: int) -> CheckResult | None:
    try:
        x = G(torch.randn(7, z_dim))
    except Exception as error:
        return failed(f"with z_dim={z_dim}, G(torch.randn(7, {z_dim})) raised {type(error).__name__}: {error}; "
                      "does the first layer take z_dim inputs?")
    if not isinstance(x, torch.Tensor) or x.shape != (7, 2):
        return failed(f"G(z) for 7 noise vectors should have shape (7, 2), got {getattr(x, 'shape', None)}")
    if sum(p.numel() for p in G.parameters() if p.requires_grad) == 0:
        return failed("G has no trainable parameters: build it from nn.Linear layers")
    if torch.allclose(x[0], x[1]):
        return failed("different noise vectors give the same point: G ignores z")
    if not x.requires_grad:
        return failed("G's output carries no gradient: don't wrap the forward pass in torch.no_grad()")
    linear = [m for m in G.modules() if isinstance(m, nn.Linear)]
    if len(linear) < 2 or _last_linear_input_is_affine(G, z_dim):
        return failed("G needs a nonlinearity between its linear layers (e.g. nn.ReLU() after each hidden "
                      "nn.Linear); linear layers stacked without one are a single linear map, which can only "
                      "stretch and rotate the Gaussian, never make a ring")
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
        got, error = call(fn, size, kernel, stride, padding)
        if error:
            return error
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        if got != expected:
            return failed(f"size={size}, kernel={kernel}, stride={stride}, padding={padding}: you say {got}, "
                          f"PyTorch gives {expected}. {_hint(got, size, kernel, stride, padding)}")
    return passed("your formula agrees with nn.ConvTranspose2d on every case, including DCGAN's 7 -> 14 -> 28")


def _hint(got, size, kernel, stride, padding) -> str:
    if got == (size - 1) * stride + kernel:
        return "You forgot the padding: it removes `padding` pixels on each side."
    if got == (size - 1) * stride - 2 * padding + kernel - 1 or got == size * stride - 2 * padding + kernel:
        return "Check the (size - 1): the kernel is placed size times, stride apart, so the last copy starts at (size - 1) * stride."
    if got == (size + 2 * padding - kernel) // stride + 1:
        return "That is the formula of an ordinary convolution; a transposed convolution runs it backwards."
    return "Think of it as the inverse of a strided convolution: out = (in - 1) * stride - 2 * padding + kernel."
