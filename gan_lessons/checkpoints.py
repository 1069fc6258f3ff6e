"""Checkpoint files: written atomically, read without ever running code, with the random state that makes a
resumed training repeat an uninterrupted one bit for bit (on the CPU).

A checkpoint is a dict of tensors and plain values (numbers, strings, lists, dicts) saved by `torch.save`.
`read_checkpoint`, the one reader of every checkpoint and cache, checks the zip archive's checksums and loads it
with `torch.load(weights_only=True)`: torch's restricted unpickler, which builds tensors and plain containers only,
so a file carrying a pickled object that would run code is refused. Whatever is wrong with a file (a folder,
truncated, damaged, carrying code) becomes a CheckpointError that names the file and says what to do.

A trainer's checkpoint (`trainer_state`, `restore_trainer`) holds "generator", "discriminator", "opt_g", "opt_d",
"step", "history", "rng", "loss", "z_dim", "settings", "config" and, with an EMA of G, "ema"; `load_generator`
rebuilds the generator of any checkpoint with an "arch" entry (models.ARCHS).
"""
from __future__ import annotations

import dataclasses
import errno
import os
import pickle
import random
import re
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from torch import nn

from .config import KNOB, fields_of_kind
from .files import atomic_write
from .guard import Snapshot
from .i18n import tr
from .models import arch_help, build_generator


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
        raise CheckpointError(tr("cannot write a checkpoint in {folder}: {why}; choose a folder you can write to "
                                 "(path=...)", folder=path.parent, why=error.strerror)) from error
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The dict saved at `path`, loaded with weights_only=True once every entry of the file matches its checksum.

    Every reader of a checkpoint goes through here: `GANTrainer.load`, `load_generator` (the evaluate command) and
    the classifier's cache. A CheckpointError names the file, says what is wrong with it (a folder, missing,
    unreadable, empty, truncated, damaged, not a checkpoint, written by a newer PyTorch, carrying code) and what to
    do. The file is read twice, once for the checksums and once by torch.load: milliseconds for these models.
    """
    path = Path(path)
    with _open_checkpoint(path) as file:
        state = _load(file, path)
    if not isinstance(state, dict):
        raise CheckpointError(tr("checkpoint {path} holds a {kind}, not the dict trainer.save writes; pass a file "
                                 "written by trainer.save", path=path, kind=type(state).__name__))
    return state


def _open_checkpoint(path: Path) -> BinaryIO:
    """`path` opened for reading, or a CheckpointError that says why it cannot be."""
    if path.is_dir():
        raise CheckpointError(tr("checkpoint {path} is a folder, not a file; pass the checkpoint file inside it "
                                 "(such as {inside})", path=path, inside=path / "checkpoint.pt"))
    if path.exists() and not path.is_file():
        raise CheckpointError(tr("checkpoint {path} is not a regular file (a device or a pipe?); pass a checkpoint "
                                 "file", path=path))
    try:
        return open(path, "rb")
    except OSError as error:
        if error.errno == errno.ELOOP:
            message = tr("checkpoint {path} is a symbolic link that loops back on itself; point the link at a "
                         "checkpoint file", path=path)
        elif path.is_symlink():
            message = tr("checkpoint {path} is a symbolic link to {target}, which does not exist; point it at a "
                         "checkpoint file", path=path, target=os.readlink(path))
        elif isinstance(error, FileNotFoundError):
            message = tr("checkpoint {path} does not exist; save one first with trainer.save({name})", path=path,
                         name=repr(str(path)))
        elif isinstance(error, PermissionError):
            message = tr("checkpoint {path} cannot be read: you have no permission to read it; ask its owner, or copy "
                         "it where you can read it", path=path)
        else:
            message = tr("checkpoint {path} cannot be opened ({why})", path=path, why=error.strerror or error)
        raise CheckpointError(message) from error


def _load(file: BinaryIO, path: Path):
    """torch.load(weights_only=True) of an open checkpoint, its failures turned into CheckpointErrors."""
    try:
        _check_archive(file, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's notes on an unusual file: the error says enough
            return torch.load(file, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as error:
        wanted = re.search(r"GLOBAL (\S+)", str(error))  # the restricted unpickler met a class or a function
        if wanted is None:  # torch's own first line is advice about weights_only; the reason is in its context
            raise CheckpointError(tr(
                "checkpoint {path} is not a checkpoint, or a damaged one: its bytes are not a pickle of tensors and "
                "plain values ({why}); pass a file written by trainer.save", path=path,
                why=_first_line(error.__context__ or error))) from error
        raise CheckpointError(tr(
            "checkpoint {path} was refused: it holds a Python object ({what}) other than tensors and plain values, "
            "and loading it could run code on this computer. Load only checkpoints written by trainer.save; never "
            "weaken this by passing weights_only=False to a file you did not make.", path=path,
            what=wanted.group(1))) from error
    except Exception as error:  # whatever torch.load raises on bytes it cannot parse: the file is at fault
        newer = re.search(r"version (\d+), but the maximum supported version for reading is (\d+)", str(error))
        if newer:
            raise CheckpointError(tr(
                "checkpoint {path} was written by a newer PyTorch (file format {written}; torch {torch} reads up to "
                "{readable}); upgrade torch, or save it again with this version", path=path, written=newer.group(1),
                torch=torch.__version__, readable=newer.group(2))) from error
        raise CheckpointError(tr("checkpoint {path} cannot be read (truncated or corrupted?): {why}. Save it again, "
                                 "or copy it again from where it came.", path=path, why=_first_line(error))) from error


def _check_archive(file: BinaryIO, path: Path) -> None:
    """A CheckpointError if `file` is empty, or is a zip archive (what torch.save writes) that is truncated, not laid
    out like torch.save's, or has an entry that does not match its CRC-32. torch.load checks no checksum: without
    this, a flipped bit in a tensor would load as a wrong weight. A file that is no zip archive is left to torch.load
    (it may be torch's legacy format)."""
    if os.fstat(file.fileno()).st_size == 0:
        raise CheckpointError(tr("checkpoint {path} is empty (0 bytes): not a checkpoint, or an interrupted copy; "
                                 "save or copy it again", path=path))
    starts_like_a_zip = b"PK\x03\x04".startswith(file.read(4))
    if not zipfile.is_zipfile(file):
        if starts_like_a_zip:
            raise CheckpointError(tr("checkpoint {path} cannot be read (truncated or corrupted?): it begins like a "
                                     "checkpoint but its end is missing (an interrupted save, copy or download?); "
                                     "save or copy it again", path=path))
        file.seek(0)
        return
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        if not any(name.endswith("/data.pkl") for name in names):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") or tr("nothing")
            raise CheckpointError(tr("checkpoint {path} is a zip archive but not a checkpoint (it holds {shown}); "
                                     "pass a file written by trainer.save", path=path, shown=shown))
        for entry in archive.infolist():
            if entry.CRC:  # 0: written with torch.serialization.set_crc32_options(False), nothing to check
                with archive.open(entry) as data:
                    while data.read(1 << 20):  # zipfile raises BadZipFile at the end if the CRC-32 differs
                        pass
    file.seek(0)


def _first_line(error: BaseException) -> str:
    """The first line of an error's message (or its type), cut at 160 characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


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
        raise CheckpointError(tr("checkpoint {path} has no {missing}: it was not written by trainer.save", path=path,
                                 missing=", ".join(missing)))
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
        raise CheckpointError(tr(
            "checkpoint {path} does not fit this trainer ({why}); build the trainer with the settings it was saved "
            "with (its 'config' entry)", path=path, why=str(error).splitlines()[0])) from error
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
    knobs = fields_of_kind(type(config), KNOB)
    return {name: value for name, value in saved.items() if name in knobs}


def load_generator(path: str | os.PathLike) -> nn.Module:
    """The generator saved in a checkpoint that has "generator" weights and an "arch" entry, in eval mode; a
    CheckpointError (a ValueError) says what is missing or does not fit."""
    state = read_checkpoint(path)
    if "generator" not in state:
        raise CheckpointError(tr("checkpoint {path} has no 'generator' weights; pass a file written by trainer.save",
                                 path=path))
    if "arch" not in state:
        raise CheckpointError(tr("checkpoint {path} has no 'arch' entry, so the generator it holds is unknown; {help}",
                                 path=path, help=arch_help()))
    try:
        generator = build_generator(state["arch"])
    except ValueError as error:  # an unknown generator: the message lists the known ones
        raise CheckpointError(tr("checkpoint {path}: {error}", path=path, error=error)) from error
    except (TypeError, RuntimeError) as error:  # arguments that the generator cannot take
        raise CheckpointError(tr("checkpoint {path}: its 'arch' entry {arch} builds no generator ({why}); {help}",
                                 path=path, arch=repr(state["arch"]), why=_first_line(error),
                                 help=arch_help())) from error
    try:
        generator.load_state_dict(state["generator"])
    except (RuntimeError, TypeError, AttributeError, KeyError) as error:
        raise CheckpointError(tr("checkpoint {path}: its weights do not fit arch={arch}: {why}; save the checkpoint "
                                 "with the 'arch' of its generator", path=path, arch=repr(state["arch"]),
                                 why=_first_line(error))) from error
    return generator.eval()
