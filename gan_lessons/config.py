"""One place for settings: the training configuration, the device, seeds and fast mode.

Everything else in the package takes its device from its inputs; only `get_device` decides it.
"""
from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

LOSS_NAMES = ("minimax", "nonsaturating", "lsgan", "wgan", "hinge")
TARGET_NAMES = ("ring8", "grid25", "spiral", "moons")
REGULARIZER_NAMES = ("none", "gp", "r1", "r2")
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a 2-D GAN training; change them with `dataclasses.replace(cfg, lr_d=1e-4)`."""

    target: str = "ring8"  # one of TARGET_NAMES: what the generator must learn to imitate
    loss: str = "nonsaturating"  # one of LOSS_NAMES: the (D, G) loss pair of lessons 04 and 08
    z_dim: int = 2  # noise dimension; 2 lets us draw how G warps the noise plane
    hidden: int = 128  # width of the two hidden layers of G and D (the lab's 2-128-128-2 MLP)
    batch_size: int = 256  # real and generated samples per step; bigger batches see every mode more often
    lr_d: float = 1e-3  # Adam learning rate of D; 1e-3 trains a small 2-D GAN in a few hundred steps
    lr_g: float = 1e-3  # Adam learning rate of G; equal to lr_d unless you try TTUR (lesson 08)
    beta1: float = 0.5  # Adam's momentum; 0.5 rather than 0.9, as DCGAN found, damps the game's oscillation
    beta2: float = 0.999  # Adam's second-moment decay, the usual default
    d_steps: int = 1  # D updates per G update (k in Goodfellow et al., 2014; WGAN uses 5)
    regularizer: str = "r1"  # one of REGULARIZER_NAMES; a light R1 (lesson 08) stops the ring collapsing, "none" shows it (lesson 07)
    reg_weight: float = 0.1  # weight of the regularizer: gamma for R1/R2 (0.1 here), lambda for GP (10 is usual)
    seed: int = 0  # seeds torch, numpy and random so that a run can be repeated exactly
    device: str = "auto"  # one of DEVICE_NAMES; "auto" picks cuda, then mps, then cpu

    def __post_init__(self) -> None:
        validate_config(self)


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not known; allowed values: {', '.join(allowed)}")


def _check_positive(name: str, value: object, kind: type) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool) and value > 0
    if kind is float:  # ints are fine where a float is asked for, NaN and inf are not
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")
    if not ok:
        what = "a positive integer (1, 2, ...)" if kind is int else "a positive finite number"
        raise ValueError(f"{name}={value!r} is not allowed; it must be {what}")


def validate_config(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first bad field, its value and what is allowed."""
    _check_choice("target", cfg.target, TARGET_NAMES)
    _check_choice("loss", cfg.loss, LOSS_NAMES)
    _check_choice("regularizer", cfg.regularizer, REGULARIZER_NAMES)
    _check_choice("device", cfg.device, DEVICE_NAMES)
    for name in ("z_dim", "hidden", "batch_size", "d_steps"):
        _check_positive(name, getattr(cfg, name), int)
    for name in ("lr_d", "lr_g"):
        _check_positive(name, getattr(cfg, name), float)
    for name in ("beta1", "beta2"):
        value = getattr(cfg, name)
        if not (isinstance(value, (int, float)) and 0 <= value < 1):
            raise ValueError(f"{name}={value!r} is not allowed; it must lie in [0, 1)")
    if not (isinstance(cfg.reg_weight, (int, float)) and 0 <= cfg.reg_weight < float("inf")):
        raise ValueError(f"reg_weight={cfg.reg_weight!r} is not allowed; it must be a finite number >= 0")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or cfg.seed < 0:
        raise ValueError(f"seed={cfg.seed!r} is not allowed; it must be an integer >= 0")


def replace(cfg: TrainConfig, **changes: object) -> TrainConfig:
    """`dataclasses.replace` that validates the new values (it runs __post_init__)."""
    return dataclasses.replace(cfg, **changes)


def get_device(name: str = "auto") -> torch.device:
    """The device to train on: "auto" picks CUDA, then Apple's MPS, then the CPU."""
    _check_choice("device", name, DEVICE_NAMES)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so that a run repeats exactly on the CPU."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed; it must be an integer >= 0")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fast_mode() -> bool:
    """True when GAN_LESSONS_FAST=1: tests shrink the work of every lesson (never skip a cell)."""
    return os.environ.get("GAN_LESSONS_FAST", "0") not in ("", "0", "false", "False")


def steps(full: int, fast: int) -> int:
    """The number of steps (or epochs, samples...) to use: `full` for a lesson, `fast` under tests."""
    for name, value in (("full", full), ("fast", fast)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} is not allowed; it must be a positive integer")
    return fast if fast_mode() else full
