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


def test_dcgan_init_check_accepts_the_library_and_a_hand_written_init():
    assert lesson06.check_dcgan_init(dcgan_init).ok
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


def test_checks_are_exported():
    assert checks.check_conv_output_size is lesson06.check_conv_output_size
    assert checks.check_dcgan_init is lesson06.check_dcgan_init
    assert "Correct" in repr(checks.check_dcgan_init(dcgan_init))
    torch.manual_seed(0)  # the checks seed torch themselves; leave a known state behind
