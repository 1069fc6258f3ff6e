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
    depth: int = 2  # hidden layers of G and of D; a deeper G bends the noise plane more sharply between modes
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
    # -- stability fixes of lesson 08 (gan_lessons/fixes.py); each default leaves the fix off ---------------
    clip: float = 0.0  # WGAN weight clipping: after each D update every weight of D is clamped to [-clip, clip] (0.01 in Arjovsky et al.); 0 = off
    spectral_norm: bool = False  # divide each weight matrix of D by its top singular value (Miyato et al., 2018)
    feature_matching: float = 0.0  # weight of G's feature-matching term ||E f(x) - E f(G(z))||^2 (Salimans et al., 2016); 0 = off
    label_smoothing: float = 0.0  # one-sided: D's target for real samples is 1 - label_smoothing (0.1 is usual); BCE losses only
    instance_noise: float = 0.0  # std of Gaussian noise added to every input of D, real and generated (Sonderby et al., 2017); 0 = off
    noise_anneal: int = 0  # steps over which the instance noise decays linearly to 0; 0 keeps it constant
    ema: float = 0.0  # beta of the exponential moving average of G's weights, w_ema <- beta w_ema + (1 - beta) w; 0 = off
    pack: int = 1  # PacGAN degree m: D judges m samples concatenated (input 2m numbers); 1 = the plain D
    lr_decay: float = 0.0  # last fraction of a `run` over which both learning rates fall linearly to 0 (a finishing polish); 0 = off

    def __post_init__(self) -> None:
        validate_config(self)


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not known; allowed values: {', '.join(allowed)}")


def _is_number(value: object) -> bool:
    """int or float, but not bool (True would pass as 1) and not NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_int(name: str, value: object, low: int, high: int) -> None:
    """ValueError unless `value` is an integer in [low, high]."""
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer from {low} to {high}")


def check_float(name: str, value: object, low: float, high: float, include_low: bool = False) -> None:
    """ValueError unless `value` is a number in (low, high] (or [low, high] with include_low)."""
    above = _is_number(value) and (value >= low if include_low else value > low)
    if not (above and value <= high):
        bracket = "[" if include_low else "("
        raise ValueError(f"{name}={value!r} is not allowed; it must be a number in {bracket}{low:g}, {high:g}]")


def _check_positive(name: str, value: object, kind: type) -> None:
    """A positive integer (kind=int) or a positive finite number (kind=float)."""
    if kind is int:
        check_int(name, value, 1, LIMITS.get(name, 10**9))
    else:
        check_float(name, value, 0.0, LIMITS.get(name, 1e300))


# Upper bounds that keep a run on a laptop; a value beyond them is almost surely a typo.
LIMITS = {"z_dim": 1024, "hidden": 4096, "batch_size": 65536, "d_steps": 100, "depth": 8, "lr_d": 1.0, "lr_g": 1.0,
          "reg_weight": 1e4, "seed": 2**32 - 1, "n_steps": 10**9, "steps": 10**9,
          "clip": 10.0, "feature_matching": 1e4, "label_smoothing": 0.5, "instance_noise": 10.0, "noise_anneal": 10**9,
          "ema": 0.99999, "pack": 64, "lr_decay": 1.0, "seeds": 100}
BCE_LOSSES = ("minimax", "nonsaturating")  # the losses whose D has real/fake labels that can be smoothed


def validate_config(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first bad field, its value and what is allowed."""
    _check_choice("target", cfg.target, TARGET_NAMES)
    _check_choice("loss", cfg.loss, LOSS_NAMES)
    _check_choice("regularizer", cfg.regularizer, REGULARIZER_NAMES)
    _check_choice("device", cfg.device, DEVICE_NAMES)
    for name in ("z_dim", "hidden", "depth", "batch_size", "d_steps"):
        check_int(name, getattr(cfg, name), 1, LIMITS[name])
    for name in ("lr_d", "lr_g"):
        check_float(name, getattr(cfg, name), 0.0, LIMITS[name])
    for name in ("beta1", "beta2"):
        check_float(name, getattr(cfg, name), 0.0, 0.9999, include_low=True)
    check_float("reg_weight", cfg.reg_weight, 0.0, LIMITS["reg_weight"], include_low=True)
    check_int("seed", cfg.seed, 0, LIMITS["seed"])
    validate_fixes(cfg)


def validate_fixes(cfg: TrainConfig) -> None:
    """The fields of lesson 08's fixes: ranges, then the combinations that have no meaning."""
    for name in ("clip", "feature_matching", "label_smoothing", "instance_noise", "ema", "lr_decay"):
        check_float(name, getattr(cfg, name), 0.0, LIMITS[name], include_low=True)
    check_int("noise_anneal", cfg.noise_anneal, 0, LIMITS["noise_anneal"])
    check_int("pack", cfg.pack, 1, LIMITS["pack"])
    if not isinstance(cfg.spectral_norm, bool):
        raise ValueError(f"spectral_norm={cfg.spectral_norm!r} is not allowed; it must be True or False")
    if cfg.label_smoothing > 0 and cfg.loss not in BCE_LOSSES:
        raise ValueError(f"label_smoothing={cfg.label_smoothing!r} is not allowed with loss={cfg.loss!r}; "
                         f"smoothing needs a loss with labels: {', '.join(BCE_LOSSES)} (or label_smoothing=0)")
    if cfg.batch_size % cfg.pack:
        raise ValueError(f"pack={cfg.pack!r} is not allowed with batch_size={cfg.batch_size}; "
                         f"the batch must split into packs: batch_size must be a multiple of pack")


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
    check_int("seed", seed, 0, LIMITS["seed"])
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fast_mode() -> bool:
    """True when GAN_LESSONS_FAST=1: tests shrink the work of every lesson (never skip a cell)."""
    return os.environ.get("GAN_LESSONS_FAST", "0") not in ("", "0", "false", "False")


def steps(full: int, fast: int) -> int:
    """The number of steps (or epochs, samples...) to use: `full` for a lesson, `fast` under tests."""
    for name, value in (("full", full), ("fast", fast)):
        check_int(name, value, 1, 10**9)
    return fast if fast_mode() else full
