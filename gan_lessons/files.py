"""Writing a file so that nothing is ever half-written: the one atomic writer of the package.

Checkpoints, the cached classifier, downloaded MNIST files and benchmark results all go through
`atomic_write`: the bytes go into a temporary file in the target's folder, which is renamed onto the target
only when everything was written. A reader sees the old file or the new one, never half of one; an error or a
Ctrl-C while writing leaves the old file (or nothing) and no temporary file behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """`with atomic_write(path) as f: ...` writes into a temporary file beside `path` and renames it onto `path`
    when the block ends without an error; an error (or Ctrl-C) removes the temporary file and is raised.

    mode: "wb" for bytes (torch.save, downloads) or "w" for text (JSON). The folder must exist: an OSError from
    creating the temporary file is raised before the block runs.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode={mode!r} is not allowed; allowed values: wb, w")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)  # atomic on one file system: readers see the whole new file or the old one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
