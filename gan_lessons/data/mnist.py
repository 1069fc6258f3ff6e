"""MNIST for users' machines and offline classrooms: find, verify, download (on request) and parse.

The loader never downloads anything at import, and never silently: only `load_mnist(..., download=True)`
or an explicit `download(...)` call touches the network. Files are looked for in this order:

1. the `root=` folder passed by the caller,
2. the folder in the environment variable `GAN_LESSONS_DATA`,
3. the repository's `data/` folder (the package is installed editable),
4. `~/.cache/gan_lessons` (where downloads go when neither of the two above exists),

each folder also with a `mnist/` subfolder. Every file is checked against its published MD5 before it
is parsed, and a download lands at its final path only after its checksum has matched.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np
import torch

from ..files import atomic_write
from ..i18n import tr

ENV_VAR = "GAN_LESSONS_DATA"
REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
CACHE_DIR = Path("~/.cache/gan_lessons").expanduser()

MNIST_FILES: dict[str, str] = {  # the published MD5 of each official file
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
SPLITS: dict[str, tuple[str, str]] = {  # split -> (images file, labels file)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MIRRORS: tuple[str, ...] = (  # the original site comes last: it often answers 403 to scripts
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CHUNK = 1 << 16


class ChecksumError(ValueError):
    """A file's MD5 differs from the published one: it is truncated, corrupted or not the MNIST file."""


class MNISTNotFoundError(FileNotFoundError):
    """The MNIST files are neither on this machine nor downloadable from any mirror."""


class DataDirError(OSError):
    """The folder meant to receive downloads cannot be created or written to."""


def parse_idx(data: bytes) -> np.ndarray:
    """Parse IDX bytes (gzip-compressed or not) into an array of the shape its header gives."""
    if data[:2] == b"\x1f\x8b":  # gzip magic: accept the .gz files as they are published
        data = _gunzip(data)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise ValueError(tr("not an IDX file: the magic number must be 00 00 <type> <ndim> with type one of {types}, "
                            "got {got}; is this the right file, and was it fully downloaded?",
                            types=sorted(hex(t) for t in _IDX_TYPES), got=data[:4].hex(" ") or tr("nothing")))
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(tr("IDX header is truncated: {ndim} dimensions need {header} bytes, the data has {size}; "
                            "the file is incomplete, delete it and fetch it again", ndim=ndim, header=header,
                            size=len(data)))
    shape = tuple(int(s) for s in np.frombuffer(data, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(tr("IDX size mismatch: the header says shape {shape} ({expected} bytes of data), the file "
                            "holds {size}; it is truncated or corrupted, fetch it again", shape=shape,
                            expected=expected, size=len(data) - header))
    # astype copies into native byte order: a writable array that torch.from_numpy accepts without warning
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _gunzip(data: bytes) -> bytes:
    """Decompress gzip bytes, turning gzip's own errors into a ValueError that says what to do."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:  # BadGzipFile is an OSError; a cut-off stream is an EOFError
        raise ValueError(tr("damaged gzip data ({error}); the file is truncated or corrupted, fetch it again",
                            error=exc)) from exc


def md5sum(path: str | os.PathLike) -> str:
    """Hex MD5 of a file, read in chunks so that large files do not fill memory."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | os.PathLike, expected: str | None = None) -> Path:
    """Check a file against its published MD5 (looked up by file name); return its path or raise ChecksumError."""
    path = Path(path)
    expected = expected or _expected_md5(path.name)
    actual = md5sum(path)
    if actual != expected:
        raise ChecksumError(tr("{path} is damaged: its MD5 is {actual}, expected {expected}. Delete it and run again "
                               "to download it, or copy an intact copy from a machine that has one (or from {url}) "
                               "into {folder}", path=path, actual=actual, expected=expected,
                               url=f"{MIRRORS[0]}{path.name}", folder=path.parent))
    return path


def _expected_md5(name: str) -> str:
    """The published MD5 of an MNIST file name; a ValueError listing the names for any other file."""
    if name not in MNIST_FILES:
        raise ValueError(tr("{name} is not an MNIST file; known files: {known}", name=repr(name),
                            known=", ".join(MNIST_FILES)))
    return MNIST_FILES[name]


def default_data_dir() -> Path:
    """Where downloads go: $GAN_LESSONS_DATA, else the repository's data/ folder if it exists, else the cache."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return REPO_DATA_DIR if REPO_DATA_DIR.is_dir() else CACHE_DIR


def search_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders looked in, in order (each is also searched for a mnist/ subfolder)."""
    bases = [Path(root).expanduser()] if root is not None else []
    if os.environ.get(ENV_VAR):
        bases.append(Path(os.environ[ENV_VAR]).expanduser())
    bases += [REPO_DATA_DIR, CACHE_DIR]  # the cache too: downloads may have gone there
    return list(dict.fromkeys(bases))  # drop repeats, keep the order


def find_file(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first existing copy of `name` in the search folders (and their mnist/ subfolders), or None."""
    for base in search_dirs(root):
        for folder in (base, base / "mnist"):
            if (folder / name).is_file():
                return folder / name
    return None


def _open_url(url: str, timeout: float) -> BinaryIO:
    """Open a URL for reading; the one place that touches the network, so tests can replace it."""
    return urllib.request.urlopen(url, timeout=timeout)


def download(name: str, dest_dir: str | os.PathLike, mirrors: Sequence[str] = MIRRORS,
             timeout: float = 30.0) -> Path:
    """Fetch one MNIST file into dest_dir, trying each mirror in turn; return its verified path."""
    expected = _expected_md5(name)
    dest_dir = _writable_dir(Path(dest_dir))
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            return _fetch(url, dest_dir / name, expected, timeout)
        except (OSError, ValueError, HTTPException) as exc:  # URLError and timeouts are OSErrors
            errors.append(f"  {url}: {exc}")
    raise MNISTNotFoundError(tr("could not download {name}: every mirror failed:", name=name) + "\n" +
                             "\n".join(errors) + "\n" +
                             tr("Fetch it on a machine with internet and copy it into {folder}, or set "
                                "{variable}=/path/to/folder that holds it.", folder=dest_dir, variable=ENV_VAR))


def _writable_dir(folder: Path) -> Path:
    """Create folder if needed and check that a file can be written there (the check holds for root too)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise DataDirError(tr("cannot save MNIST into {folder} ({why}); choose a writable folder with "
                              "{variable}=/path/to/folder or pass root=", folder=folder, why=exc.strerror or exc,
                              variable=ENV_VAR)) from exc
    return folder


def _fetch(url: str, final: Path, expected: str, timeout: float) -> Path:
    """Stream url into a temporary file next to `final`, check its MD5, then move it into place in one step."""
    # whatever goes wrong (Ctrl-C, a bad checksum), no half file stays behind and nothing reaches `final`
    with atomic_write(final) as part, _open_url(url, timeout) as response:
        actual = _copy_hashing(response, part)
        if actual != expected:
            raise ChecksumError(tr("served data with MD5 {actual}, expected {expected} (corrupted or not MNIST)",
                                   actual=actual, expected=expected))
    return final


def _copy_hashing(src: BinaryIO, dst: BinaryIO) -> str:
    """Copy src to dst in chunks and return the MD5 of what was copied (saves re-reading the file)."""
    digest = hashlib.md5()
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        digest.update(chunk)
    return digest.hexdigest()


def _split_files(split: str) -> tuple[str, str]:
    """The (images, labels) file names of a split; a ValueError naming the allowed splits otherwise."""
    if split not in SPLITS:
        raise ValueError(tr("{name}={value} is not known; allowed values: {allowed}", name="split", value=repr(split),
                            allowed=", ".join(SPLITS)))
    return SPLITS[split]


def _locate(names: Sequence[str], root, allow_download: bool) -> list[Path]:
    """Paths of the named files, downloading missing ones if allowed; one MNISTNotFoundError otherwise."""
    found = {name: find_file(name, root) for name in names}
    failures = []  # the download errors, kept for the one message below
    for name in [n for n, path in found.items() if path is None and allow_download]:
        try:
            found[name] = download(name, default_data_dir())
        except MNISTNotFoundError as exc:
            failures.append(str(exc))
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise MNISTNotFoundError(_not_found_message(missing, root, failures))
    return [found[name] for name in names]


def _not_found_message(missing: list[str], root, failures: list[str]) -> str:
    """Say which files are needed, where they were looked for, and how to provide them."""
    folders = "\n".join("  " + tr("{folder}  (or {inside})", folder=d, inside=d / "mnist") for d in search_dirs(root))
    urls = "\n".join(f"  {m}{name}" for name in missing for m in MIRRORS[:2])
    tried = "\n" + tr("Download attempts:") + "\n" + "\n".join(failures) if failures else ""
    return (tr("MNIST files missing: {missing}.", missing=", ".join(missing)) + "\n" +
            tr("Searched these folders:") + f"\n{folders}\n" +
            tr("To fix: put the files into one of these folders, or set {variable}=/path/to/folder, or pass "
               "root=/path/to/folder. On a machine with internet you can fetch them from:", variable=ENV_VAR) +
            f"\n{urls}{tried}")


def load_mnist(split: str = "train", root: str | os.PathLike | None = None,
               download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of an MNIST split ("train" or "test"), MD5-checked."""
    image_path, label_path = _locate(_split_files(split), root, download)
    images = parse_idx(verify(image_path).read_bytes())
    labels = parse_idx(verify(label_path).read_bytes())
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(tr("{images} and {labels} do not match: images {image_shape}, labels {label_shape}; they "
                            "should be N x 28 x 28 and N", images=image_path, labels=label_path,
                            image_shape=images.shape, label_shape=labels.shape))
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def mnist_available(split: str = "test", root: str | os.PathLike | None = None) -> bool:
    """True when both files of the split are on this machine (no download, no network, no checksum)."""
    return all(find_file(name, root) is not None for name in _split_files(split))


def load_mnist_for_training(root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The split a lesson should train on: "train" when it is here, else "test" when only that is here
    (an offline classroom or a test machine), else "train" downloaded. Returns images, labels, split."""
    for split in ("train", "test"):
        if mnist_available(split, root):
            return (*load_mnist(split, root, download=False), split)
    return (*load_mnist("train", root, download=True), "train")
