"""Tests for gan_lessons.data.mnist: parsing, checksums, search order, downloads (simulated) and errors.

No test touches the network: every test runs with the module's `_open_url` replaced, either by a fake
mirror or by a function that fails the test. Real-data tests read the MNIST test split from the folder
in GAN_LESSONS_DATA (CI sets it to ../shared/data/mnist) and skip when it is absent.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_lessons.data import mnist

TEST_FILES = mnist.SPLITS["test"]
SKIP_REASON = "MNIST test split not found: set GAN_LESSONS_DATA=/path/to/mnist (CI passes ../shared/data/mnist)"


def _real_dir() -> Path | None:
    """The folder with the real t10k files, taken from GAN_LESSONS_DATA before any test changes it."""
    folder = os.environ.get("GAN_LESSONS_DATA")
    if folder and all((Path(folder) / name).is_file() for name in TEST_FILES):
        return Path(folder)
    return None


REAL_DIR = _real_dir()
REPO_DATA_DIR = mnist.REPO_DATA_DIR  # the real value, before the autouse fixture replaces it


@pytest.fixture
def mnist_dir() -> Path:
    if REAL_DIR is None:
        pytest.skip(SKIP_REASON)
    return REAL_DIR


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Keep the repository's data/ and the user's cache out of the search, and forbid the network."""
    monkeypatch.setattr(mnist, "REPO_DATA_DIR", tmp_path / "no-repo-data")
    monkeypatch.setattr(mnist, "CACHE_DIR", tmp_path / "no-cache")

    def no_network(url, timeout):
        pytest.fail(f"a test tried to open {url}")
    monkeypatch.setattr(mnist, "_open_url", no_network)


def idx_bytes(array: np.ndarray) -> bytes:
    """Write an uint8 array in IDX format by hand (independently of the parser under test)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_split(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, bytes]]:
    """Random images and labels, and the two gzipped IDX files of the test split holding them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    files = {TEST_FILES[0]: gzip.compress(idx_bytes(images)), TEST_FILES[1]: gzip.compress(idx_bytes(labels))}
    return images, labels, files


def use_checksums_of(monkeypatch, files: dict[str, bytes]) -> None:
    """Make synthetic files pass verification by publishing their MD5 instead of the real one."""
    for name, data in files.items():
        monkeypatch.setitem(mnist.MNIST_FILES, name, hashlib.md5(data).hexdigest())


class FakeResponse(io.BytesIO):
    """A urlopen result serving bytes in small reads; optionally Ctrl-C after `interrupt_at` bytes."""

    def __init__(self, data: bytes, interrupt_at: int | None = None, on_interrupt=None):
        super().__init__(data)
        self.interrupt_at, self.on_interrupt = interrupt_at, on_interrupt

    def read(self, n: int = -1) -> bytes:
        if self.interrupt_at is not None and self.tell() >= self.interrupt_at:
            if self.on_interrupt:
                self.on_interrupt()
            raise KeyboardInterrupt
        return super().read(100)  # small reads, so an interruption falls in the middle of a file


def fake_mirrors(monkeypatch, behaviour: dict[str, object]) -> list[str]:
    """Serve each mirror by its behaviour: bytes, an exception to raise, or a callable(url) -> response."""
    opened = []

    def fake_open(url, timeout):
        opened.append(url)
        action = next(b for m, b in behaviour.items() if url.startswith(m))
        if isinstance(action, BaseException):
            raise action
        return action(url) if callable(action) else FakeResponse(action)
    monkeypatch.setattr(mnist, "_open_url", fake_open)
    return opened


def http_403(url: str = "https://m1/") -> urllib.error.HTTPError:
    return urllib.error.HTTPError(url, 403, "Forbidden", {}, None)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- real data (skip when absent)

def test_real_test_split_shapes_types_and_classes(mnist_dir):
    images, labels = mnist.load_mnist("test", root=mnist_dir, download=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10_000,) and labels.dtype == torch.int64
    assert int(labels.min()) == 0 and int(labels.max()) == 9
    assert set(labels.tolist()) == set(range(10))
    assert int(images.max()) == 255 and int(images.min()) == 0


def test_real_checksums_match_md5sums(mnist_dir):
    listed = dict(line.split()[::-1] for line in (mnist_dir / "MD5SUMS").read_text().splitlines() if line)
    for name in TEST_FILES:
        assert mnist.md5sum(mnist_dir / name) == listed[name] == mnist.MNIST_FILES[name]
        assert mnist.verify(mnist_dir / name) == mnist_dir / name


def test_real_data_found_through_env_var(mnist_dir, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_DATA", str(mnist_dir))
    assert mnist.find_file(TEST_FILES[0]) == mnist_dir / TEST_FILES[0]
    assert mnist.mnist_available("test") and not mnist.mnist_available("train", root=mnist_dir / "nowhere")


# ---------------------------------------------------------------- IDX parsing

@pytest.mark.parametrize("shape", [(5,), (3, 28, 28), (2, 3, 4, 5)])
def test_parse_idx_round_trip_plain_and_gzipped(shape):
    array = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    for data in (idx_bytes(array), gzip.compress(idx_bytes(array))):
        parsed = mnist.parse_idx(data)
        assert parsed.dtype == np.uint8 and parsed.shape == shape
        np.testing.assert_array_equal(parsed, array)
        assert parsed.flags.writeable  # torch.from_numpy warns on read-only arrays


def test_parse_idx_other_types_big_endian():
    values = np.array([[1, -2], [300, -40000]], dtype=">i4")
    data = bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") * 2 + values.tobytes()
    np.testing.assert_array_equal(mnist.parse_idx(data), values.astype(np.int32))


@pytest.mark.parametrize("data", [b"\x01\x00\x08\x01" + bytes(8), b"\x00\x00\x07\x01" + bytes(8), b"", b"\x00"])
def test_parse_idx_bad_magic(data):
    with pytest.raises(ValueError, match="magic number") as info:
        mnist.parse_idx(data)
    assert "not an IDX file" in str(info.value)


def test_parse_idx_truncated_data_says_size_mismatch():
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"size mismatch.*\(4, 28, 28\).*3136 bytes.*holds 3000"):
        mnist.parse_idx(data[: 16 + 3000])
    with pytest.raises(ValueError, match="size mismatch"):  # trailing junk is a mismatch too
        mnist.parse_idx(data + b"\x00")


def test_parse_idx_truncated_header_and_truncated_gzip():
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="header is truncated"):
        mnist.parse_idx(data[:9])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        mnist.parse_idx(gzip.compress(data)[:-20])


def test_parsing_10000_images_is_fast():
    import time
    data = idx_bytes(np.random.default_rng(0).integers(0, 256, (10_000, 28, 28), dtype=np.uint8))
    start = time.perf_counter()
    assert mnist.parse_idx(data).shape == (10_000, 28, 28)
    assert time.perf_counter() - start < 0.5


# ---------------------------------------------------------------- checksums

@pytest.fixture
def sample_file(tmp_path, monkeypatch) -> Path:
    """A copy of the real labels file, or (without real data) a synthetic one with its MD5 published."""
    name = TEST_FILES[1]
    if REAL_DIR is not None:
        data = (REAL_DIR / name).read_bytes()
    else:
        data = synthetic_split()[2][name]
        use_checksums_of(monkeypatch, {name: data})
    path = tmp_path / "copy" / name
    path.parent.mkdir()
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_file_raises_checksum_error_naming_it(sample_file, damage):
    mnist.verify(sample_file)  # intact first
    data = bytearray(sample_file.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    sample_file.write_bytes(bytes(data) if damage == "flip" else bytes(data[: len(data) // 2]))
    with pytest.raises(mnist.ChecksumError) as info:
        mnist.verify(sample_file)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(sample_file) in message and mnist.MNIST_FILES[sample_file.name] in message
    assert mnist.md5sum(sample_file) in message and "Delete it" in message


def test_load_mnist_verifies_before_parsing(tmp_path, monkeypatch):
    _, _, files = synthetic_split()
    use_checksums_of(monkeypatch, files)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / TEST_FILES[0]).write_bytes(files[TEST_FILES[0]][:-10])  # would also fail to parse
    with pytest.raises(mnist.ChecksumError, match=TEST_FILES[0]):
        mnist.load_mnist("test", root=tmp_path, download=False)


def test_verify_unknown_file_name(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="not an MNIST file.*t10k-images"):
        mnist.verify(tmp_path / "notes.txt")


# ---------------------------------------------------------------- search order and data dir

def test_load_synthetic_split_from_root_in_mnist_subfolder(tmp_path, monkeypatch):
    images, labels, files = synthetic_split()
    use_checksums_of(monkeypatch, files)
    (tmp_path / "mnist").mkdir()
    for name, data in files.items():
        (tmp_path / "mnist" / name).write_bytes(data)
    got_images, got_labels = mnist.load_mnist("test", root=tmp_path, download=False)
    np.testing.assert_array_equal(got_images.numpy(), images)
    np.testing.assert_array_equal(got_labels.numpy(), labels.astype(np.int64))
    assert got_labels.dtype == torch.int64 and mnist.mnist_available("test", root=tmp_path)


def test_find_file_search_order(tmp_path, monkeypatch):
    name = TEST_FILES[1]
    folders = {key: tmp_path / key for key in ("root", "env", "repo", "cache")}
    for folder in folders.values():
        folder.mkdir()
        (folder / name).write_bytes(b"x")
    monkeypatch.setenv("GAN_LESSONS_DATA", str(folders["env"]))
    monkeypatch.setattr(mnist, "REPO_DATA_DIR", folders["repo"])
    monkeypatch.setattr(mnist, "CACHE_DIR", folders["cache"])
    for key in ("root", "env", "repo", "cache"):
        root = folders["root"] if (folders["root"] / name).exists() else None
        assert mnist.find_file(name, root=root) == folders[key] / name
        (folders[key] / name).unlink()
    assert mnist.find_file(name) is None


def test_default_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_DATA", str(tmp_path / "env"))
    assert mnist.default_data_dir() == tmp_path / "env"
    monkeypatch.delenv("GAN_LESSONS_DATA")
    assert mnist.default_data_dir() == mnist.CACHE_DIR  # repo data/ does not exist (fixture)
    monkeypatch.setattr(mnist, "REPO_DATA_DIR", tmp_path)
    assert mnist.default_data_dir() == tmp_path


def test_repo_data_dir_is_the_repository_data_folder():
    assert REPO_DATA_DIR.name == "data" and (REPO_DATA_DIR.parent / "gan_lessons" / "data" / "mnist.py").is_file()


def test_import_does_not_touch_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network used at import")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    spec = importlib.util.spec_from_file_location("gan_lessons.data.mnist_fresh_copy", mnist.__file__)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # a fresh copy inside the package: its imports resolve


# ---------------------------------------------------------------- downloads (simulated mirrors)

@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """Synthetic test-split files whose MD5s are the published ones for the duration of a test."""
    files = synthetic_split()[2]
    use_checksums_of(monkeypatch, files)
    return files


def test_download_skips_403_mirror_and_uses_next(tmp_path, monkeypatch, served):
    name = TEST_FILES[0]
    opened = fake_mirrors(monkeypatch, {"https://m1/": http_403(), "https://m2/": served[name]})
    path = mnist.download(name, tmp_path / "dl", mirrors=["https://m1/", "https://m2"])
    assert path == tmp_path / "dl" / name and path.read_bytes() == served[name]
    assert mnist.verify(path) == path
    assert opened == [f"https://m1/{name}", f"https://m2/{name}"]
    assert leftovers(tmp_path / "dl") == [name]


def test_download_rejects_corrupted_mirror(tmp_path, monkeypatch, served):
    name = TEST_FILES[1]
    bad = bytearray(served[name])
    bad[-3] ^= 1
    opened = fake_mirrors(monkeypatch, {"https://m1/": bytes(bad), "https://m2/": served[name]})
    path = mnist.download(name, tmp_path, mirrors=["https://m1/", "https://m2/"])
    assert path.read_bytes() == served[name] and len(opened) == 2
    assert leftovers(tmp_path) == [name]


def test_download_all_mirrors_fail(tmp_path, monkeypatch, served):
    name = TEST_FILES[1]
    bad = served[name][: len(served[name]) // 2]
    fake_mirrors(monkeypatch, {"https://m1/": http_403(), "https://m2/": bad,
                               "https://m3/": urllib.error.URLError("no route to host")})
    with pytest.raises(mnist.MNISTNotFoundError) as info:
        mnist.download(name, tmp_path, mirrors=["https://m1/", "https://m2/", "https://m3/"])
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for part in (f"https://m1/{name}", "403", f"https://m2/{name}", "MD5", f"https://m3/{name}", "no route"):
        assert part in message
    assert leftovers(tmp_path) == []  # no final file, no .part


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, served):
    name = TEST_FILES[0]
    seen_part = []

    def record_part():  # at the moment of Ctrl-C a partly written .part file must exist
        seen_part.extend(p for p in leftovers(tmp_path) if p.endswith(".part"))
    fake_mirrors(monkeypatch, {"https://m1/": lambda url: FakeResponse(
        served[name], interrupt_at=len(served[name]) // 2, on_interrupt=record_part)})
    with pytest.raises(KeyboardInterrupt):
        mnist.download(name, tmp_path, mirrors=["https://m1/", "https://m2/"])
    assert len(seen_part) == 1 and leftovers(tmp_path) == []


def test_load_mnist_downloads_missing_files_into_default_dir(tmp_path, monkeypatch):
    images, labels, files = synthetic_split()
    use_checksums_of(monkeypatch, files)
    monkeypatch.setenv("GAN_LESSONS_DATA", str(tmp_path / "data"))
    fake_mirrors(monkeypatch, {mnist.MIRRORS[0]: http_403(), mnist.MIRRORS[1]: lambda url: FakeResponse(
        files[url.rsplit("/", 1)[1]])})
    got_images, got_labels = mnist.load_mnist("test")
    np.testing.assert_array_equal(got_images.numpy(), images)
    assert leftovers(tmp_path / "data") == sorted(files)


def test_unwritable_destination_names_the_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dest = blocker / "mnist"  # cannot be created under a regular file, not even by root
    with pytest.raises(OSError) as info:
        mnist.download(TEST_FILES[1], dest)
    assert isinstance(info.value, mnist.DataDirError)
    assert str(dest) in str(info.value) and "GAN_LESSONS_DATA" in str(info.value)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores chmod 0o555")
def test_read_only_destination_names_the_folder(tmp_path):
    dest = tmp_path / "ro"
    dest.mkdir()
    dest.chmod(0o555)
    try:
        with pytest.raises(mnist.DataDirError, match="GAN_LESSONS_DATA") as info:
            mnist.download(TEST_FILES[1], dest)
        assert str(dest) in str(info.value)
    finally:
        dest.chmod(0o755)


# ---------------------------------------------------------------- offline, absent, bad arguments

def test_offline_and_absent_gives_one_clear_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GAN_LESSONS_DATA", str(empty))
    with pytest.raises(mnist.MNISTNotFoundError) as info:
        mnist.load_mnist("test", download=False)
    message = str(info.value)
    for part in (*TEST_FILES, "GAN_LESSONS_DATA", str(empty), "root=", mnist.MIRRORS[0] + TEST_FILES[0]):
        assert part in message
    assert not mnist.mnist_available("test")


def test_download_failing_everywhere_gives_one_error_and_no_files(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GAN_LESSONS_DATA", str(empty))
    fake_mirrors(monkeypatch, {"": urllib.error.URLError("offline")})
    with pytest.raises(mnist.MNISTNotFoundError) as info:
        mnist.load_mnist("test")
    message = str(info.value)
    assert message.startswith("MNIST files missing:") and "offline" in message and "GAN_LESSONS_DATA" in message
    assert all(name in message for name in TEST_FILES) and leftovers(empty) == []


@pytest.mark.parametrize("call", [mnist.load_mnist, mnist.mnist_available])
def test_unknown_split(call):
    with pytest.raises(ValueError, match=r"split='validation'.*train, test"):
        call("validation")


def test_copied_real_split_loads_from_root(mnist_dir, tmp_path):
    for name in TEST_FILES:
        shutil.copy(mnist_dir / name, tmp_path / name)
    images, labels = mnist.load_mnist("test", root=tmp_path, download=False)
    assert images.shape == (10_000, 28, 28) and labels.shape == (10_000,)


def test_training_split_falls_back_to_the_local_test_split(mnist_dir, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("no download may be tried when a split is here")

    monkeypatch.setattr(mnist, "download", no_network)
    images, labels, split = mnist.load_mnist_for_training(root=mnist_dir)
    assert split == "test" and images.shape == (10_000, 28, 28) and len(labels) == 10_000
