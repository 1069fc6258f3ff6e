"""Datasets: 2-D and 1-D toy targets, bundled 8x8 digits, MNIST (downloaded or from a folder)."""
from .images import BatchSampler, load_digits_8x8, to_unit_range
from .mnist import ChecksumError, MNISTNotFoundError, load_mnist, load_mnist_for_training, mnist_available
from .toy import Mixture1D, Target2D, gaussian_1d, make_target

__all__ = [
    "BatchSampler", "ChecksumError", "MNISTNotFoundError", "Mixture1D", "Target2D", "gaussian_1d",
    "load_digits_8x8", "load_mnist", "load_mnist_for_training", "make_target", "mnist_available", "to_unit_range",
]
