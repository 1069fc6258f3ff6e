"""Checkpoint files: written atomically, read without ever running code, with the random state that makes a
resumed training repeat an uninterrupted one bit for bit (on the CPU).

A checkpoint is a dict of tensors and plain values (numbers, strings, lists, dicts) saved by `torch.save`.
`read_checkpoint` loads it with `torch.load(weights_only=True)`: torch's restricted unpickler, which builds
tensors and plain containers only, so a file carrying a pickled object that would run code is refused.

A trainer's checkpoint (`trainer_state`, `restore_trainer`) holds "generator", "discriminator", "opt_g", "opt_d",
"step", "history", "rng", "loss", "z_dim", "settings", "config" and, with an EMA of G, "ema"; `load_generator`
rebuilds the generator of any checkpoint with an "arch" entry (models.ARCHS).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .files import atomic_write
from .guard import Snapshot
from .models import ARCH_HELP, build_generator


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, unsafe, or made for another model."""


def write_atomic(path: str | os.PathLike, state: dict) -> Path:
    """torch.save into a temporary file beside `path`, then a rename: a reader sees the old file or the new one,
    never half of one, and an interrupted write leaves nothing at `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            torch.save(state, f)
    except OSError as error:
        raise CheckpointError(f"cannot write a checkpoint in {path.parent}: {error.strerror}; "
                              "choose a folder you can write to (path=...)") from error
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The dict saved at `path`, loaded with weights_only=True; CheckpointError says what is wrong and what to do."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; save one first with trainer.save({str(path)!r})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # the restricted unpickler met a class or a function
        raise CheckpointError(
            f"checkpoint {path} was refused: it holds Python objects other than tensors and plain values, and "
            f"loading those could run code on this computer ({str(error).splitlines()[0]}). Load only checkpoints "
            "written by trainer.save; never weaken this by passing weights_only=False to a file you did not make."
        ) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"checkpoint {path} cannot be read (truncated or corrupted?): {error}. "
                              "Delete it and save again.") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not the dict trainer.save writes")
    return state


def rng_state() -> dict:
    """Every random generator a training step may draw from: torch (CPU and each CUDA device), Python, NumPy."""
    version, keys, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
            "python": [version, list(keys), gauss],
            "numpy": [np_kind, torch.from_numpy(np_keys.astype(np.int64)), np_pos, np_has_gauss, np_gauss]}


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = state["numpy"]
    np.random.set_state((np_kind, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))


# -- a trainer's checkpoint ---------------------------------------------------------------------------------------
SETTINGS = ("d_steps", "regularizer", "reg_weight", "clip", "feature_matching", "label_smoothing",
            "instance_noise", "noise_anneal")  # the "settings" entry, kept for readers of the first format


def trainer_state(trainer) -> dict:
    """Everything a resumed training needs: models, optimizers, EMA, random states, step, configuration, history."""
    config = dataclasses.asdict(trainer.config)
    state = {"generator": trainer.generator.state_dict(), "discriminator": trainer.discriminator.state_dict(),
             "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(), "step": trainer.step_count,
             "history": {"steps": list(trainer.history.steps),
                         "records": {k: list(v) for k, v in trainer.history.records.items()}},
             "rng": rng_state(), "loss": trainer.config.loss, "z_dim": trainer.config.z_dim,
             "settings": {name: config[name] for name in SETTINGS}, "config": config}
    if trainer.ema is not None:
        state["ema"] = trainer.ema.state_dict()
    return state


def restore_trainer(trainer, path: str | os.PathLike) -> dict:
    """Load the checkpoint at `path` into `trainer` (see GANTrainer.load); the checkpoint's dict."""
    state = read_checkpoint(path)
    missing = [key for key in ("generator", "discriminator", "step") if key not in state]
    if missing:
        raise CheckpointError(f"checkpoint {path} has no {', '.join(missing)}: it was not written by trainer.save")
    before = Snapshot.take(trainer)
    try:
        trainer.generator.load_state_dict(state["generator"])
        trainer.discriminator.load_state_dict(state["discriminator"])
        for name in ("opt_g", "opt_d"):
            if name in state:
                getattr(trainer, name).load_state_dict(state[name])
        trainer.configure(**saved_settings(state, trainer.config))
        if state.get("ema") is not None and trainer.ema is not None:
            trainer.ema.load_state_dict(state["ema"])
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        before.restore(trainer)
        raise CheckpointError(
            f"checkpoint {path} does not fit this trainer ({str(error).splitlines()[0]}); build the trainer "
            "with the settings it was saved with (its 'config' entry)") from error
    trainer.step_count = state["step"]
    history = state.get("history", {"steps": [], "records": {}})
    trainer.history.steps, trainer.history.records = list(history["steps"]), dict(history["records"])
    if "rng" in state:
        set_rng_state(state["rng"])
    elif "rng_cpu" in state:  # checkpoints of the first format
        torch.set_rng_state(state["rng_cpu"])
    return state


def saved_settings(state: dict, config) -> dict:
    """The knobs a checkpoint was trained with, as changes to `config`: its "config" entry, or in checkpoints
    written without one, its "loss" and "settings"; fields that `config` lacks or that are not knobs are left out."""
    saved = state.get("config") or {**state.get("settings", {}), **({"loss": state["loss"]} if "loss" in state else {})}
    knobs = {f.name for f in dataclasses.fields(config) if f.metadata["kind"] == "knob"}
    return {name: value for name, value in saved.items() if name in knobs}


def load_generator(path: str | os.PathLike) -> nn.Module:
    """The generator saved in a checkpoint that has "generator" weights and an "arch" entry, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint={str(path)!r} does not exist; pass the path of a file written by trainer.save")
    state = read_checkpoint(path)
    if "generator" not in state:
        raise ValueError(f"checkpoint {path} has no 'generator' weights; pass a file written by trainer.save")
    if "arch" not in state:
        raise ValueError(f"checkpoint {path} has no 'arch' entry, so the generator it holds is unknown; {ARCH_HELP}")
    generator = build_generator(state["arch"])
    try:
        generator.load_state_dict(state["generator"])
    except RuntimeError as error:
        raise ValueError(f"checkpoint {path}: its weights do not fit arch={state['arch']!r}: "
                         f"{str(error).splitlines()[0]}") from error
    return generator.eval()
