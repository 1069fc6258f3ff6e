"""The exercise checks of lessons 01 and 02 accept right answers and explain wrong ones."""
import math

import torch
from torch import nn

from gan_lessons.checks import lesson01, lesson02


def test_exponential_check():
    assert lesson01.check_sample_exponential(lambda u, rate: -torch.log(1 - u) / rate).ok
    wrong = {
        "decreases": lambda u, rate: -torch.log(u) / rate,
        "ignores the rate": lambda u, rate: -torch.log(1 - u),
        "rate^2": lambda u, rate: -torch.log(1 - u) * rate,
        "NotImplementedError": lambda u, rate: (_ for _ in ()).throw(NotImplementedError),
        "forget `return`": lambda u, rate: None,
    }
    for phrase, fn in wrong.items():
        result = lesson01.check_sample_exponential(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_uniform_generator_check():
    right = lambda z, a, b: a + (b - a) * 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    assert lesson01.check_uniform_generator(right).ok
    assert "lie in [a, b]" in lesson01.check_uniform_generator(lambda z, a, b: z).message
    assert "not uniform" in lesson01.check_uniform_generator(lambda z, a, b: (a + b) / 2 + torch.tanh(z) * 2).message


def test_generator_check():
    good = lambda z_dim: nn.Sequential(nn.Linear(z_dim, 16), nn.ReLU(), nn.Linear(16, 2))
    assert lesson02.check_generator(good).ok
    fixed_input = lambda z_dim: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    assert "z_dim inputs" in lesson02.check_generator(fixed_input).message
    linear = lambda z_dim: nn.Sequential(nn.Linear(z_dim, 16), nn.Linear(16, 2))
    assert "nonlinearity" in lesson02.check_generator(linear).message
    at_the_end = lambda z_dim: nn.Sequential(nn.Linear(z_dim, 16), nn.Linear(16, 2), nn.Tanh())
    assert "nonlinearity between its linear layers" in lesson02.check_generator(at_the_end).message

    class Functional(nn.Module):  # a nonlinearity written as a function in forward, not as a module, is fine
        def __init__(self, z_dim):
            super().__init__()
            self.hidden, self.out = nn.Linear(z_dim, 16), nn.Linear(16, 2)

        def forward(self, z):
            return self.out(torch.relu(self.hidden(z)))

    assert lesson02.check_generator(Functional).ok
    deep = lambda z_dim: nn.Sequential(nn.Linear(z_dim, 8), nn.Tanh(), nn.Linear(8, 8), nn.Linear(8, 2))
    assert lesson02.check_generator(deep).ok  # a bend before the last layer is enough
    three_d = lambda z_dim: nn.Sequential(nn.Linear(z_dim, 16), nn.ReLU(), nn.Linear(16, 3))
    assert "shape (7, 2)" in lesson02.check_generator(three_d).message
    assert "nn.Module" in lesson02.check_generator(lambda z_dim: "G").message


def test_conv_transpose_check():
    assert lesson02.check_conv_transpose_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k).ok
    assert "forgot the padding" in lesson02.check_conv_transpose_size(lambda n, k, s, p: (n - 1) * s + k).message
    assert "ordinary convolution" in lesson02.check_conv_transpose_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1).message


# -- library shortcuts: a library's version of the exercise, called instead of writing it -------------------------
def test_check_sample_exponential_refuses_a_library_shortcut():
    result = lesson01.check_sample_exponential(lambda u, rate: torch.distributions.Exponential(rate).icdf(u))
    assert not result.ok and "torch.distributions.exponential.Exponential.icdf" in result.message, result.message
    assert torch.distributions.Exponential(2.0).icdf(torch.tensor(0.5)) > 0  # restored after the check


# check_uniform_generator: no library version to refuse (normal_cdf is given); wrong answers: test_uniform_generator_check


def test_check_generator_refuses_a_library_shortcut():
    import gan_lessons as gl

    shortcuts = (
        ("gan_lessons.models.mlp_gan_2d", lambda z_dim: gl.models.mlp_gan_2d(z_dim)[0]),
        ("gan_lessons.models.MLPGenerator", lambda z_dim: gl.models.MLPGenerator(z_dim, (64,), 2)),
        ("gan_lessons.models.MLPGenerator", lambda z_dim: nn.Sequential(gl.models.MLPGenerator(z_dim), nn.Identity())),
    )
    for name, fn in shortcuts:
        result = lesson02.check_generator(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert gl.models.mlp_gan_2d(2)[0](torch.randn(3, 2)).shape == (3, 2)  # restored after the check


def test_check_conv_transpose_size_refuses_a_library_shortcut():
    def by_layer(n, k, s, p):  # run the layer instead of the formula
        return nn.ConvTranspose2d(1, 1, k, s, p)(torch.zeros(1, 1, n, n)).shape[-1]

    result = lesson02.check_conv_transpose_size(by_layer)
    assert not result.ok and "torch.nn.modules.conv.ConvTranspose2d.forward" in result.message, result.message
    assert by_layer(7, 4, 2, 1) == 14  # restored after the check
