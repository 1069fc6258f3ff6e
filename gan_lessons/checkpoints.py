"""Checkpoint files: written atomically, read without ever running code, with the random state that makes a
resumed training repeat an uninterrupted one bit for bit (on the CPU).

A checkpoint is a dict of tensors and plain values (numbers, strings, lists, dicts) saved by `torch.save`.
`read_checkpoint` loads it with `torch.load(weights_only=True)`: torch's restricted unpickler, which builds
tensors and plain containers only, so a file carrying a pickled object that would run code is refused.
"""
from __future__ import annotations

import os
import pickle
import random
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, unsafe, or made for another model."""


def write_atomic(path: str | os.PathLike, state: dict) -> Path:
    """torch.save into a temporary file beside `path`, then a rename: a reader sees the old file or the new one,
    never half of one, and an interrupted write leaves nothing at `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise CheckpointError(f"cannot write a checkpoint in {path.parent}: {error.strerror}; "
                              "choose a folder you can write to (path=...)") from error
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
