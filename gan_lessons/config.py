"""One place for settings: the configurations of a training, the device, seeds and fast mode.

A configuration is a frozen dataclass; each field is declared once, with its default, what it means, and the
values it may take (`setting`). From that one declaration come the checks (`validate`), the limits (`LIMITS`)
and the command line's options (cli.py). Everything else in the package takes its device from its inputs;
only `get_device` decides it.
"""
from __future__ import annotations

import dataclasses
import os
import random
import unicodedata
from dataclasses import dataclass

import numpy as np
import torch

from .i18n import tr

LOSS_NAMES = ("minimax", "nonsaturating", "lsgan", "wgan", "hinge")
BCE_LOSSES = ("minimax", "nonsaturating")  # D's output is a logit of P(real): labels that can be smoothed
TARGET_NAMES = ("ring8", "grid25", "spiral", "moons")
REGULARIZER_NAMES = ("none", "gp", "r1", "r2")
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
OPTIMIZER_NAMES = ("adam", "rmsprop")
AMP_NAMES = ("auto", "bf16", "none")  # "auto": bfloat16 autocast on a CUDA GPU that supports it, else none
MAX_STEPS = 10**9  # the most steps one `run` may be asked for
# What changing a field means for a trainer that is already built (GANTrainer.configure):
KNOB = "knob"  # used by the next step: learning rates, the loss pair, the regularizer, ...
MODEL = "model"  # the networks' shapes: a new generator (replace_generator) or a new trainer
DATA = "data"  # where real batches come from: a new sampler (replace_data)
RUN = "run"  # read once, when the run is built (seed, device, a schedule)


class _Later:
    """`later.tr(text)` is `text` itself: an English template kept as it is where it is defined (a field's help, a
    preset's story, a label in a table) and said with `tr(text)` where a student reads it, so that it speaks the
    language in use then (gettext's N_). tests/test_i18n.py finds it as it finds every literal passed to tr."""

    @staticmethod
    def tr(text: str) -> str:
        """`text`, unchanged."""
        return text


later = _Later()


def display_width(text: str) -> int:
    """The columns `text` takes in a terminal: 2 for a wide character (Chinese), 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """`text` padded with spaces to `width` terminal columns, on the right ("<") or the left (">"): what
    f"{text:<width}" does for Latin text, with Chinese characters counted twice."""
    fill = " " * max(width - display_width(text), 0)
    return text + fill if align == "<" else fill + text


def setting(default, help: str, *, kind: str = KNOB, choices: tuple | None = None, low: float | None = None,
            high: float | None = None, include_low: bool = True) -> dataclasses.Field:
    """A configuration field: its default, its help text, and what it may be (choices, or [low, high] for a number:
    (low, high] with include_low=False)."""
    return dataclasses.field(default=default, metadata={"help": help, "kind": kind, "choices": choices, "low": low,
                                                        "high": high, "include_low": include_low})


@dataclass(frozen=True)
class GANConfig:
    """What the adversarial loop reads: the noise, the loss pair, both optimizers, and the fixes of lesson 08.

    Change a copy with `dataclasses.replace(cfg, lr_d=1e-4)`; every value is checked when the copy is made.
    """

    z_dim: int = setting(2, later.tr("noise dimension; 2 lets us draw how G warps the noise plane"), kind=MODEL,
                         low=1, high=1024)
    n_classes: int = setting(0, later.tr("labels y in 0..n_classes-1 beside every sample (a conditional GAN, lesson "
                                         "09); 0 = unconditional"), kind=MODEL, low=0, high=1000)
    loss: str = setting("nonsaturating", later.tr("the (D, G) loss pair of lessons 04 and 08"), choices=LOSS_NAMES)
    optimizer: str = setting("adam", later.tr("the optimizer of both players: Adam, or RMSProp as WGAN (Arjovsky et "
                                              "al., 2017) and R1 (Mescheder et al., 2018) were published with"),
                             kind=RUN, choices=OPTIMIZER_NAMES)
    lr_d: float = setting(1e-3, later.tr("Adam learning rate of D; 1e-3 trains a small 2-D GAN in a few hundred "
                                         "steps"), low=0.0, high=1.0, include_low=False)
    lr_g: float = setting(1e-3, later.tr("Adam learning rate of G; equal to lr_d unless you try TTUR (lesson 08)"),
                          low=0.0, high=1.0, include_low=False)
    beta1: float = setting(0.5, later.tr("Adam's momentum (unused by RMSProp); 0.5 rather than 0.9, as DCGAN found, "
                                         "damps the game's oscillation"), low=0.0, high=0.9999)
    beta2: float = setting(0.999, later.tr("Adam's second-moment decay, the usual default"), low=0.0, high=0.9999)
    d_steps: int = setting(1, later.tr("D updates per G update (k in Goodfellow et al., 2014; WGAN uses 5)"), low=1,
                           high=100)
    regularizer: str = setting("none", later.tr("penalty on D's input gradient: gp (Gulrajani et al., 2017), r1 or r2 "
                                                "(Mescheder et al., 2018)"), choices=REGULARIZER_NAMES)
    reg_weight: float = setting(10.0, later.tr("weight of the regularizer: gamma for R1/R2, lambda for GP (10 is "
                                               "usual)"), low=0.0, high=1e4)
    # -- stability fixes of lesson 08 (fixes.py, penalties.py); each default leaves the fix off --------------
    clip: float = setting(0.0, later.tr("WGAN weight clipping: after each D update every weight of D is clamped to "
                                        "[-clip, clip] (0.01 in Arjovsky et al.); 0 = off"), low=0.0, high=10.0)
    feature_matching: float = setting(0.0, later.tr("weight of G's feature-matching term ||E f(x) - E f(G(z))||^2 "
                                                    "(Salimans et al., 2016); 0 = off"), low=0.0, high=1e4)
    label_smoothing: float = setting(0.0, later.tr("one-sided: D's target for real samples is 1 - label_smoothing "
                                                   "(0.1 is usual); BCE losses only"), low=0.0, high=0.5)
    instance_noise: float = setting(0.0, later.tr("std of Gaussian noise added to every input of D, real and "
                                                  "generated (Sonderby et al., 2017); 0 = off"), low=0.0, high=10.0)
    noise_anneal: int = setting(0, later.tr("steps over which the instance noise decays linearly to 0; 0 keeps it "
                                            "constant"), low=0, high=MAX_STEPS)
    ema: float = setting(0.0, later.tr("beta of the exponential moving average of G's weights, w_ema <- beta w_ema + "
                                       "(1 - beta) w; 0 = off"), low=0.0, high=0.99999)
    ema_start: int = setting(0, later.tr("steps during which the average of G's weights (ema) copies G instead of "
                                         "averaging it, so that it starts from a trained G; 0 = from the first step"),
                             low=0, high=MAX_STEPS)
    pack: int = setting(1, later.tr("PacGAN degree m: D judges m samples concatenated; 1 = the plain D"), kind=MODEL,
                        low=1, high=64)

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class TrainConfig(GANConfig):
    """A whole 2-D GAN run of the lab and the CLI: the loop's settings (GANConfig), the target, the MLPs, the batch,
    the seed and the device. Change a copy with `dataclasses.replace(cfg, lr_d=1e-4)`."""

    regularizer: str = setting("r1", later.tr("penalty on D's input gradient; a light R1 (lesson 08) stops the ring "
                                              "collapsing, none shows it (lesson 07)"), choices=REGULARIZER_NAMES)
    reg_weight: float = setting(0.1, later.tr("weight of the regularizer: gamma for R1/R2 (0.1 here), lambda for GP "
                                              "(10 is usual)"), low=0.0, high=1e4)
    target: str = setting("ring8", later.tr("what the generator must learn to imitate"), kind=DATA,
                          choices=TARGET_NAMES)
    batch_size: int = setting(256, later.tr("real and generated samples per step; bigger batches see every mode more "
                                            "often"), kind=DATA, low=1, high=65536)
    hidden: int = setting(128, later.tr("width of the hidden layers of G and D (the lab's 2-128-128-2 MLP)"),
                          kind=MODEL, low=1, high=4096)
    depth: int = setting(2, later.tr("hidden layers of G and of D; a deeper G bends the noise plane more sharply "
                                     "between modes"), kind=MODEL, low=1, high=8)
    spectral_norm: bool = setting(False, later.tr("divide each weight matrix of D by its top singular value (Miyato "
                                                  "et al., 2018)"), kind=MODEL)
    seed: int = setting(0, later.tr("seeds torch, numpy and random so that a run can be repeated exactly"), kind=RUN,
                        low=0, high=2**32 - 1)
    device: str = setting("auto", later.tr("auto picks cuda, then mps, then cpu"), kind=RUN, choices=DEVICE_NAMES)
    lr_decay: float = setting(0.0, later.tr("last fraction of a run over which both learning rates fall linearly to 0 "
                                            "(a finishing polish); 0 = off"), kind=RUN, low=0.0, high=1.0)
    standardize: bool = setting(False, later.tr("train on the target divided by its root-mean-square coordinate, as "
                                                "Gulrajani et al.'s toy code does (the grid / 2.83, the ring x 1.41); "
                                                "modes, % high quality and reverse KL do not depend on the scale"),
                                kind=DATA)


def check_choice(name: str, value: object, allowed: tuple) -> None:
    """ValueError unless `value` is one of `allowed`."""
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(tr("{name}={value} is not known; allowed values: {allowed}", name=name, value=repr(value),
                            allowed=", ".join(map(str, allowed))))


def _is_number(value: object) -> bool:
    """int or float, but not bool (True would pass as 1) and not NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_int(name: str, value: object, low: int, high: int) -> None:
    """ValueError unless `value` is an integer in [low, high]."""
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ValueError(tr("{name}={value} is not allowed; it must be an integer from {low} to {high}", name=name,
                            value=repr(value), low=low, high=high))


def check_float(name: str, value: object, low: float, high: float, include_low: bool = False) -> None:
    """ValueError unless `value` is a number in (low, high] (or [low, high] with include_low)."""
    above = _is_number(value) and (value >= low if include_low else value > low)
    if not (above and value <= high):
        bracket = "[" if include_low else "("
        raise ValueError(tr("{name}={value} is not allowed; it must be a number in {bracket}{low:g}, {high:g}]",
                            name=name, value=repr(value), bracket=bracket, low=low, high=high))


def check_field(field: dataclasses.Field, value: object) -> None:
    """ValueError unless `value` is one that the configuration field allows."""
    m = field.metadata
    if m["choices"] is not None:
        check_choice(field.name, value, m["choices"])
    elif field.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(tr("{name}={value} is not allowed; it must be True or False", name=field.name,
                                value=repr(value)))
    elif field.type == "int":
        check_int(field.name, value, m["low"], m["high"])
    else:
        check_float(field.name, value, m["low"], m["high"], include_low=m["include_low"])


def validate(cfg: GANConfig) -> None:
    """Raise ValueError naming the first bad field, its value and what is allowed; then the combinations that have
    no meaning."""
    for field in dataclasses.fields(cfg):
        check_field(field, getattr(cfg, field.name))
    if cfg.label_smoothing > 0 and cfg.loss not in BCE_LOSSES:
        raise ValueError(tr("label_smoothing={smoothing} is not allowed with loss={loss}; smoothing needs a loss with "
                            "labels: {losses} (or label_smoothing=0)", smoothing=repr(cfg.label_smoothing),
                            loss=repr(cfg.loss), losses=", ".join(BCE_LOSSES)))
    if getattr(cfg, "batch_size", 0) % cfg.pack:
        raise ValueError(tr("pack={pack} is not allowed with batch_size={batch_size}; the batch must split into "
                            "packs: batch_size must be a multiple of pack", pack=repr(cfg.pack),
                            batch_size=cfg.batch_size))
    if cfg.n_classes and (cfg.pack > 1 or cfg.feature_matching > 0):
        raise ValueError(tr("n_classes={n_classes} (a conditional GAN) is not allowed with pack={pack} or "
                            "feature_matching={feature_matching}; use pack=1 and feature_matching=0",
                            n_classes=cfg.n_classes, pack=cfg.pack, feature_matching=cfg.feature_matching))


def fields_of_kind(cfg_type: type, kind: str) -> tuple[str, ...]:
    """The names of the fields of a configuration class that are of `kind` (KNOB, MODEL, DATA or RUN)."""
    return tuple(f.name for f in dataclasses.fields(cfg_type) if f.metadata["kind"] == kind)


def kind_of(cfg_type: type, name: str) -> str:
    """The kind (KNOB, MODEL, DATA or RUN) of the field `name` of a configuration class."""
    return next(f.metadata["kind"] for f in dataclasses.fields(cfg_type) if f.name == name)


# Upper bounds of the 2-D run's numeric fields, by field name: a value beyond them is almost surely a typo.
LIMITS = {f.name: f.metadata["high"] for f in dataclasses.fields(TrainConfig) if f.metadata["high"] is not None}


def replace(cfg: GANConfig, **changes: object) -> GANConfig:
    """`dataclasses.replace` that validates the new values (it runs __post_init__); an unknown name is a ValueError."""
    names = {f.name for f in dataclasses.fields(cfg)}
    unknown = [name for name in changes if name not in names]
    if unknown:
        raise ValueError(tr("{name} is not a setting of {config}; allowed: {allowed}", name=repr(unknown[0]),
                            config=type(cfg).__name__, allowed=", ".join(names)))
    return dataclasses.replace(cfg, **changes)


def get_device(name: str = "auto") -> torch.device:
    """The device to train on: "auto" picks CUDA, then Apple's MPS, then the CPU."""
    check_choice("device", name, DEVICE_NAMES)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(tr("device='cuda' was asked for but no CUDA GPU is visible; use device='auto' or 'cpu'"))
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
        check_int(name, value, 1, MAX_STEPS)
    return fast if fast_mode() else full
