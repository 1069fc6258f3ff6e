"""The checks of lesson 06 accept right answers and name the usual mistakes."""
import math

import torch
from torch import nn

from gan_lessons import checks
from gan_lessons.checks import lesson06
from gan_lessons.models import dcgan_init


def test_conv_size_reference_matches_the_formula():
    for n, k, s, p in lesson06.CONV_CASES:
        assert lesson06.conv_size(n, k, s, p) == math.floor((n + 2 * p - k) / s) + 1


def test_conv_output_size_check():
    assert lesson06.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1).ok
    wrong = (
        (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "floor"),  # no floor: 27 -> 13.5
        (lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1, "round down"),
        (lambda n, k, s, p: (n + 2 * p - k) // s, "+ 1"),
        (lambda n, k, s, p: (n + p - k) // s + 1, "2p"),
        (lambda n, k, s, p: (n - 1) * s - 2 * p + k, "transposed"),
        (lambda n, k, s, p: float((n + 2 * p - k) // s + 1), "float"),
        (lambda n, k, s, p: None, "return"),
    )
    for fn, phrase in wrong:
        result = lesson06.check_conv_output_size(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_conv_output_size_check_reports_exceptions():
    def stub(n, k, s, p):
        raise NotImplementedError

    assert "NotImplementedError" in lesson06.check_conv_output_size(stub).message
    assert "ZeroDivisionError" in lesson06.check_conv_output_size(lambda n, k, s, p: 1 // 0).message


def _init(conv_std=0.02, transposed=True, norm=True, norm_mean=1.0, zero_bias=True, linear=False):
    """An init function with one knob per typical mistake."""
    conv_types = (nn.Conv2d, nn.ConvTranspose2d) if transposed else (nn.Conv2d,)

    def init(m):
        if isinstance(m, conv_types):
            nn.init.normal_(m.weight, 0.0, conv_std)
            if m.bias is not None and zero_bias:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and norm:
            nn.init.normal_(m.weight, norm_mean, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear:
            nn.init.normal_(m.weight, 0.0, 0.02)
    return init


def test_dcgan_init_check_accepts_a_hand_written_init():
    assert lesson06.check_dcgan_init(_init()).ok


def test_dcgan_init_check_names_the_mistake():
    wrong = (
        (_init(conv_std=math.sqrt(0.02)), "variance"),
        (_init(conv_std=0.2), "std"),
        (_init(transposed=False), "ConvTranspose2d"),
        (_init(norm=False), "skip nn.BatchNorm2d"),
        (_init(norm_mean=0.0), "signal dies"),
        (_init(zero_bias=False), "bias"),
        (_init(linear=True), "Linear"),
    )
    for fn, phrase in wrong:
        result = lesson06.check_dcgan_init(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_dcgan_init_check_reports_exceptions():
    def stub(m):
        raise NotImplementedError

    assert "NotImplementedError" in lesson06.check_dcgan_init(stub).message
    assert "raised" in lesson06.check_dcgan_init(lambda m: m.missing_attribute).message
    assert "expected a function" in lesson06.check_dcgan_init(0.02).message


def test_conv_output_size_refuses_a_library_shortcut():
    shortcuts = (
        (lambda n, k, s, p: lesson06.conv_size(n, k, s, p), "gan_lessons.checks.lesson06.conv_size"),
        (lambda n, k, s, p: nn.Conv2d(1, 1, k, s, p)(torch.zeros(1, 1, n, n)).shape[-1], "Conv2d.forward"),
    )
    for fn, name in shortcuts:
        result = lesson06.check_conv_output_size(fn)
        assert not result.ok and name in result.message, result.message
    assert lesson06.conv_size(28, 4, 2, 1) == nn.Conv2d(1, 1, 4, 2, 1)(torch.zeros(1, 1, 28, 28)).shape[-1] == 14


def test_dcgan_init_refuses_a_library_shortcut():
    for fn in (dcgan_init, lambda m: dcgan_init(m)):  # passed as it is, or called from the student's function
        result = lesson06.check_dcgan_init(fn)
        assert not result.ok and "gan_lessons.models.dcgan_init" in result.message, result.message
    assert lesson06.check_dcgan_init(_init()).ok  # the library's function is restored after the check
    layer = nn.Conv2d(16, 16, 3).apply(dcgan_init)
    assert abs(layer.weight.std().item() - 0.02) < 0.003


def test_checks_are_exported():
    assert checks.check_conv_output_size is lesson06.check_conv_output_size
    assert checks.check_dcgan_init is lesson06.check_dcgan_init
    assert "Correct" in repr(checks.check_dcgan_init(_init()))
    torch.manual_seed(0)  # the checks seed torch themselves; leave a known state behind
