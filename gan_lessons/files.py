"""Writing a file so that nothing is ever half-written: the one atomic writer of the package, and the check that a
command runs before it works for minutes: can its output be written at all?

Checkpoints, the cached classifier, downloaded MNIST files and benchmark results all go through
`atomic_write`: the bytes go into a temporary file in the target's folder, which is renamed onto the target
only when everything was written. A reader sees the old file or the new one, never half of one; an error or a
Ctrl-C while writing leaves the old file (or nothing) and no temporary file behind.

`check_writable` answers, without creating anything, whether a file or a folder can be made at a path, with a
ValueError that names the argument and the path when it cannot.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .i18n import tr


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """`with atomic_write(path) as f: ...` writes into a temporary file beside `path` and renames it onto `path`
    when the block ends without an error; an error (or Ctrl-C) removes the temporary file and is raised.

    mode: "wb" for bytes (torch.save, downloads) or "w" for text (JSON). The folder must exist: an OSError from
    creating the temporary file is raised before the block runs.
    """
    if mode not in ("wb", "w"):
        raise ValueError(tr("{name}={value} is not allowed; allowed values: {allowed}", name="mode", value=repr(mode),
                            allowed="wb, w"))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)  # atomic on one file system: readers see the whole new file or the old one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(name: str, path: str | os.PathLike, kind: str) -> Path:
    """`path` as a Path, once it is clear that a file (kind="file") or a folder (kind="folder") can be written there:
    what exists of it is of the right kind, and its nearest existing folder accepts a new file. Nothing is created
    (the test file is gone when this returns); a ValueError names the argument `name`, the path and what is wrong."""
    if kind not in ("file", "folder"):
        raise ValueError(tr("{name}={value} is not allowed; allowed values: {allowed}", name="kind", value=repr(kind),
                            allowed="file, folder"))
    path, given = Path(path), f"{name}={str(path)!r}"
    if kind == "file" and path.is_dir():
        raise ValueError(tr("{given} is a folder; give the path of a file to write", given=given))
    if kind == "file" and path.exists() and not path.is_file():
        raise ValueError(tr("{given} is not a regular file (a device or a pipe?); give the path of a file to write",
                            given=given))
    if kind == "file" and path.is_symlink() and not path.exists():
        _refuse_link(path, given)
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ValueError(tr("{given} is a file, not a folder; give a folder to write the results into", given=given))
    folder = _nearest_existing(path if kind == "folder" else path.parent, given)
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise ValueError(tr("{given} cannot be written: the folder {folder} does not accept new files ({why}); "
                            "choose a folder you can write to", given=given, folder=folder,
                            why=error.strerror or error)) from error
    return path


def _nearest_existing(folder: Path, given: str) -> Path:
    """The first of `folder` and its parents that exists; a ValueError if it is not a folder (then nothing can be
    created below it)."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            break
    if candidate.is_dir():
        return candidate
    if candidate.is_symlink() and not candidate.exists():
        _refuse_link(candidate, given)
    raise ValueError(tr("{given} cannot be created: {candidate} is a file, not a folder; choose another path",
                        given=given, candidate=candidate))


def _refuse_link(link: Path, given: str) -> None:
    """A ValueError for a symbolic link that leads to no file: it loops, or its target is missing."""
    try:
        link.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            message = tr("{given} cannot be created: {link} is a symbolic link that loops back on itself; remove the "
                         "link or choose another path", given=given, link=link)
        else:
            message = tr("{given} cannot be created: {link} is a symbolic link that points to nothing; remove the "
                         "link or choose another path", given=given, link=link)
        raise ValueError(message) from error
