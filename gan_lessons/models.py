"""Generators and discriminators: small MLPs for 2-D targets and MNIST, DCGAN for 28x28 images, conditional
variants; how to sample a generator (`evaluating`, `generate`) and how to rebuild one from a checkpoint's "arch".

Every discriminator returns one raw logit (or critic score) per sample, shape (N,); the losses decide
what it means. `spectral_norm=True` wraps each weight layer in spectral normalization (Miyato et al., 2018).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .i18n import tr


def _linear(n_in: int, n_out: int, spectral: bool = False) -> nn.Module:
    layer = nn.Linear(n_in, n_out)
    return _sn(layer) if spectral else layer


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name=name,
                                value=repr(value)))


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> x (N, out_dim): Linear-ReLU layers of the given widths, then a linear (or tanh) output."""

    def __init__(self, z_dim: int = 2, widths: tuple[int, ...] = (128, 128), out_dim: int = 2, tanh: bool = False):
        super().__init__()
        _check_sizes(z_dim=z_dim, out_dim=out_dim, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        self.z_dim, sizes, layers = z_dim, (z_dim, *widths), []
        for n_in, n_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], out_dim))
        if tanh:
            layers.append(nn.Tanh())  # images live in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """z (N, z_dim) -> x (N, out_dim)."""
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N, ...) -> logit (N,): flatten, Linear-LeakyReLU(0.2) layers, one linear output."""

    def __init__(self, in_dim: int = 2, widths: tuple[int, ...] = (128, 128), spectral_norm: bool = False):
        super().__init__()
        _check_sizes(in_dim=in_dim, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        sizes, layers = (in_dim, *widths), []
        for n_in, n_out in zip(sizes, sizes[1:]):
            layers += [_linear(n_in, n_out, spectral_norm), nn.LeakyReLU(0.2)]
        layers.append(_linear(sizes[-1], 1, spectral_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, ...) -> logit (N,)."""
        return self.net(x.flatten(1)).squeeze(1)

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer's activations, (N, widths[-1]): what feature matching compares (lesson 08)."""
        return self.net[:-1](x.flatten(1))


def mlp_gan_2d(z_dim: int = 2, hidden: int = 128, spectral_norm: bool = False, pack: int = 1,
               depth: int = 2) -> tuple[nn.Module, nn.Module]:
    """The lab's 2-D GAN: G is z_dim-hidden-hidden-2, D is 2m-hidden-hidden-1 (m = pack: PacGAN's D sees m samples);
    `depth` hidden layers in each instead of two."""
    _check_sizes(hidden=hidden, pack=pack, depth=depth)
    widths = (hidden,) * depth
    return MLPGenerator(z_dim, widths, 2), MLPDiscriminator(2 * pack, widths, spectral_norm)


class ImageMLPGenerator(MLPGenerator):
    """The classic MNIST MLP generator: 100 -> 128 -> 256 -> 784 with tanh, reshaped to (N, 1, 28, 28).

    Lessons 02 and 05 write this class out (a module of its own around the same `net`, with the same parameter
    names and shapes); tests/test_lessons_write_the_code.py keeps them equal.
    """

    def __init__(self, z_dim: int = 100, widths: tuple[int, ...] = (128, 256)):
        super().__init__(z_dim, widths, 28 * 28, tanh=True)

    def forward(self, z: Tensor) -> Tensor:
        """z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1]."""
        return self.net(z).view(-1, 1, 28, 28)


def image_mlp_discriminator(spectral_norm: bool = False) -> MLPDiscriminator:
    """Its discriminator: 784 -> 256 -> 128 -> 1.

    Lessons 03 and 05 write this function out (it returns a module of their own with the same `net` and the same
    output, one logit per image); tests/test_lessons_write_the_code.py keeps them equal.
    """
    return MLPDiscriminator(28 * 28, (256, 128), spectral_norm)


class DCGANGenerator(nn.Module):
    r"""DCGAN generator for 28x28 (Radford et al., 2016): transposed convs, batch norm, ReLU, tanh output.

    Shapes: z (N, z_dim) -> (N, 4w, 7, 7) -> (N, 2w, 14, 14) -> (N, 1, 28, 28); a transposed conv with
    kernel 4, stride 2, padding 1 doubles the size: out = (in - 1) * 2 - 2 * 1 + 4 = 2 * in.

    The first layer, a 7x7 transposed conv of a 1x1 input, is DCGAN's "project and reshape": every output value
    is $\sum_k z_k W_{k,c,i,j}$, one matrix product of z with W seen as a (z_dim, 4w*7*7) matrix.

    Lesson 06 writes this class out (all but `fast_cpu_forward` and `project`); tests/test_lessons_write_the_code.py
    keeps the two equal.
    """

    def __init__(self, z_dim: int = 100, width: int = 32, channels: int = 1):
        super().__init__()
        _check_sizes(z_dim=z_dim, width=width, channels=channels)
        self.z_dim, w = z_dim, width
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 4 * w, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True),  # 1 -> 7
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(True),  # 7 -> 14
            nn.ConvTranspose2d(2 * w, channels, 4, 2, 1), nn.Tanh(),  # 14 -> 28, in [-1, 1]
        )

    def forward(self, z: Tensor) -> Tensor:
        """z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1], through `net`."""
        return self.net(z.view(len(z), self.z_dim, 1, 1))  # z as a 1x1 image with z_dim channels

    def fast_cpu_forward(self, z: Tensor) -> Tensor:
        """`forward` computed faster on a CPU, with the same weights (equal up to float rounding, ~1e-7).

        Two layers take another route: the first as the one matrix product it is (`project`), and the last by
        torch's direct transposed convolution (`slow_conv_transpose2d`, despite its name), since for so few output
        channels the oneDNN routine that nn.ConvTranspose2d picks is slow. Measured by `make bench`
        (dcgan_mnist.g_fast_cpu_forward_images_per_s; width 16, batch 64, one thread, a 2-core CPU): G's forward and
        backward at 3,851 images/s against 2,476 by `forward`, 1.56x. The trainer uses it on a CPU in float32.
        """
        last = self.net[6]
        x = self.net[1:6](self.project(z))
        x = torch.ops.aten.slow_conv_transpose2d(x, last.weight, list(last.kernel_size), last.bias,
                                                 list(last.stride), list(last.padding))
        return self.net[7](x)

    def project(self, z: Tensor) -> Tensor:
        """The first layer, `net[0](z.view(N, z_dim, 1, 1))`, as one matrix product: (N, 4w, 7, 7)."""
        w = self.net[0].weight  # (z_dim, 4w, 7, 7)
        hwc = w.permute(0, 2, 3, 1).reshape(len(w), -1)  # (z_dim, 7*7*4w): a view of a channels-last weight
        return (z.reshape(len(z), -1) @ hwc).view(len(z), *w.shape[2:], w.shape[1]).permute(0, 3, 1, 2)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28x28: strided convs, LeakyReLU(0.2), batch norm (left out under spectral norm).

    Lesson 06 writes this class out (without the `spectral_norm` option, which lesson 08 adds);
    tests/test_lessons_write_the_code.py keeps the two equal.
    """

    def __init__(self, width: int = 32, channels: int = 1, spectral_norm: bool = False):
        super().__init__()
        _check_sizes(width=width, channels=channels)
        w, sn = width, (_sn if spectral_norm else (lambda m: m))
        norm = nn.Identity() if spectral_norm else nn.BatchNorm2d(2 * w)
        self.net = nn.Sequential(
            sn(nn.Conv2d(channels, w, 4, 2, 1)), nn.LeakyReLU(0.2, True),  # 28 -> 14
            sn(nn.Conv2d(w, 2 * w, 4, 2, 1, bias=spectral_norm)), norm, nn.LeakyReLU(0.2, True),  # 14 -> 7
            sn(nn.Conv2d(2 * w, 1, 7, 1, 0)),  # 7 -> 1: one logit
        )

    def forward(self, x: Tensor) -> Tensor:
        """images (N, 1, 28, 28) -> logit (N,)."""
        return self.net(x).flatten()


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialization: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.

    Use as `model.apply(dcgan_init)`.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = getattr(module, "parametrizations", None)
        target = module.parametrizations.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -- conditional models (lesson 09): G(z, y) and D(x, y) for a class label y --------------------------------------
class ConditionalMLPGenerator(nn.Module):
    """(z, y) -> x (N, 1, 28, 28) in [-1, 1]: a learned embedding of the label y, concatenated to z (Mirza &
    Osindero, 2014), then Linear-LeakyReLU(0.2) layers and a tanh output.

    Shapes: z (N, z_dim), y (N,) int64 -> [z, e(y)] (N, z_dim + n_classes) -> ... -> (N, 784) -> (N, 1, 28, 28).
    """

    def __init__(self, z_dim: int = 100, n_classes: int = 10, widths: tuple[int, ...] = (256, 512)):
        super().__init__()
        _check_sizes(z_dim=z_dim, n_classes=n_classes, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        self.z_dim, self.n_classes = z_dim, n_classes
        self.embed = nn.Embedding(n_classes, n_classes)  # starts random; one-hot would be a fixed identity table
        sizes, layers = (z_dim + n_classes, *widths), []
        for n_in, n_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], 28 * 28), nn.Tanh())

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        """z (N, z_dim), labels y (N,) -> images (N, 1, 28, 28)."""
        return self.net(torch.cat([z, self.embed(y)], dim=1)).view(-1, 1, 28, 28)


class ConditionalMLPDiscriminator(nn.Module):
    """(x, y) -> logit (N,): the one-hot label concatenated to the flattened image, then an MLP.

    Shapes: x (N, 1, 28, 28), y (N,) -> [x, onehot(y)] (N, 784 + n_classes) -> widths -> 1.
    """

    def __init__(self, n_classes: int = 10, widths: tuple[int, ...] = (512, 256), spectral_norm: bool = False):
        super().__init__()
        _check_sizes(n_classes=n_classes, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        self.n_classes = n_classes
        self.net = MLPDiscriminator(28 * 28 + n_classes, widths, spectral_norm).net

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """images (N, 1, 28, 28), labels y (N,) -> logit (N,)."""
        onehot = nn.functional.one_hot(y, self.n_classes).to(x.dtype)
        return self.net(torch.cat([x.flatten(1), onehot], dim=1)).squeeze(1)


class ProjectionDiscriminator(nn.Module):
    r"""(x, y) -> logit (N,) of Miyato & Koyama (2018): $D(x, y) = \psi(\phi(x)) + e_y^\top \phi(x)$.

    $\phi$ is an MLP feature extractor (N, widths[-1]), $\psi$ a linear unconditional score, $e_y$ a learned
    embedding of the label (a row of an n_classes x widths[-1] table): the label enters as an inner product
    with the features instead of as an extra input, which is what the optimal D's log-density ratio looks like
    when p(y | x) is a softmax of the features.
    """

    def __init__(self, n_classes: int = 10, widths: tuple[int, ...] = (512, 256), spectral_norm: bool = False):
        super().__init__()
        _check_sizes(n_classes=n_classes, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        self.n_classes = n_classes
        self.phi = MLPDiscriminator(28 * 28, widths, spectral_norm).net[:-1]  # (N, widths[-1])
        self.psi = _linear(widths[-1], 1, spectral_norm)
        self.embed = nn.Embedding(n_classes, widths[-1])
        nn.init.normal_(self.embed.weight, 0.0, 0.02)  # start close to an unconditional D

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """images (N, 1, 28, 28), labels y (N,) -> psi(phi(x)) + e_y . phi(x), (N,)."""
        h = self.phi(x.flatten(1))
        return self.psi(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


# -- sampling a generator -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """`model` in eval mode inside the block (batch norm uses its running statistics), its mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def generate(generator: nn.Module, z: Tensor, *condition: Tensor) -> Tensor:
    """G(z, *condition) without gradients, in eval mode, as a float32 tensor on the CPU; inputs go to G's device."""
    device = next(generator.parameters()).device
    with evaluating(generator):
        x = generator(z.to(device), *(c.to(device) for c in condition))
    return x.float().cpu().contiguous()


# -- which generator a checkpoint holds: its "arch" entry -------------------------------------------------------------
ARCHS = {
    "mlp": lambda a: ImageMLPGenerator(a.get("z_dim", 100), tuple(a.get("widths", (128, 256)))),
    "dcgan": lambda a: DCGANGenerator(a.get("z_dim", 100), a.get("width", 32)),
    "conditional_mlp": lambda a: ConditionalMLPGenerator(a.get("z_dim", 100), a.get("n_classes", 10),
                                                         tuple(a.get("widths", (256, 512)))),
}
ARCH_HELP = ('save the checkpoint with trainer.save(path, extra={"arch": {"generator": "dcgan", "z_dim": 100, '
             '"width": 32}}); "generator" is one of: ' + ", ".join(ARCHS))  # in English; arch_help() is said


def arch_help() -> str:
    """ARCH_HELP in the language in use: how to save a checkpoint whose generator can be rebuilt."""
    return tr('save the checkpoint with trainer.save(path, extra={{"arch": {{"generator": "dcgan", "z_dim": 100, '
              '"width": 32}}}}); "generator" is one of: {archs}', archs=", ".join(ARCHS))


def build_generator(arch: dict) -> nn.Module:
    """The (untrained) generator that an "arch" entry describes: {"generator": one of ARCHS, and the constructor's
    arguments}, e.g. {"generator": "dcgan", "z_dim": 100, "width": 32}."""
    if not isinstance(arch, dict) or arch.get("generator") not in ARCHS:
        raise ValueError(tr("arch={arch} is not known: it must be a dict whose 'generator' is one of {archs}; "
                            "{help}", arch=repr(arch), archs=", ".join(ARCHS), help=arch_help()))
    return ARCHS[arch["generator"]](arch)
