"""Image data that needs no download, and an on-device batch sampler for any in-memory set."""
from __future__ import annotations

import torch
from torch import Tensor

from ..i18n import tr


def load_digits_8x8() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled 8x8 digits (1,797 images): images in [-1, 1], shape (N, 1, 8, 8), and labels.

    The pixel values 0..16 are scaled to [-1, 1] to match a tanh generator.
    """
    from sklearn.datasets import load_digits  # imported here: only this loader needs scikit-learn

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    return x, torch.tensor(digits.target, dtype=torch.int64)


def to_unit_range(images_uint8: Tensor) -> Tensor:
    """uint8 images (N, 28, 28) -> float (N, 1, 28, 28) in [-1, 1], the range of a tanh generator."""
    return images_uint8.float().div(127.5).sub(1.0).unsqueeze(1)


class BatchSampler:
    """Random batches of a tensor that already sits on the training device (no DataLoader, no copies).

    Indices are drawn with a generator of its own, so the batches repeat for the same seed.
    """

    def __init__(self, data: Tensor, batch_size: int, seed: int = 0, labels: Tensor | None = None):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name="batch_size",
                                value=repr(batch_size)))
        self.data, self.labels, self.batch_size = data, labels, batch_size
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def __call__(self) -> Tensor | tuple[Tensor, Tensor]:
        idx = torch.randint(len(self.data), (self.batch_size,), generator=self.generator)
        idx = idx.to(self.data.device)
        if self.labels is None:
            return self.data[idx]
        return self.data[idx], self.labels[idx]
