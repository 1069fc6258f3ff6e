"""Every loader and every command answers a bad file or path with a clear message: never a traceback, never a file
written or left half-written, never code run from the file."""
from __future__ import annotations

import functools
import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings, strategies as st

from gan_lessons import classifier, cli, training
from gan_lessons.checkpoints import CheckpointError, load_generator, read_checkpoint
from gan_lessons.config import TrainConfig
from gan_lessons.models import ImageMLPGenerator

ARCH = {"generator": "mlp", "z_dim": 8, "widths": [16, 32]}
REMEDIES = ("save", "pass", "point", "upgrade", "copy", "ask", "choose", "remove")  # each message says what to do
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads and writes whatever the permission bits say


def new_trainer():
    torch.manual_seed(0)
    trainer, _ = training.make_2d_trainer(TrainConfig(device="cpu", seed=0))
    return trainer


def saved(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@functools.lru_cache(maxsize=None)
def generator_checkpoint() -> bytes:
    """What `evaluate` reads: a small MLP generator with its "arch" (about 110 kB)."""
    torch.manual_seed(0)
    return saved({"generator": ImageMLPGenerator(8, (16, 32)).state_dict(), "arch": ARCH})


@functools.lru_cache(maxsize=None)
def trainer_checkpoint() -> bytes:
    """What `trainer.load` reads: a 2-D trainer's checkpoint (about 160 kB)."""
    return saved(new_trainer().state_dict())


class RunsCode:
    """Unpickling this calls os.system, which would create `marker`: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def carrying_code(original: bytes, how: str, marker: Path) -> bytes:
    """A real checkpoint with one code-running object inside, or (how="bare") that object alone, pickled."""
    if how == "bare":
        return pickle.dumps(RunsCode(marker))
    state = torch.load(io.BytesIO(original), weights_only=True)
    data = saved({**state, "payload": RunsCode(marker)})
    assert b"system" in data
    return data


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def flipped(original: bytes, positions: list[int], masks: list[int]) -> bytes:
    data = bytearray(original)
    for position, mask in zip(positions, masks):
        data[position % len(data)] ^= mask
    return bytes(data)


# Names in a zip archive: torch.save's own (with other contents) and others.
ZIP_NAMES = st.one_of(st.sampled_from(["archive/data.pkl", "archive/version", "archive/byteorder", "archive/data/0",
                                       "data.pkl", "hello.txt"]),
                      st.text("abcxyz/._", min_size=1, max_size=12).filter(lambda name: not name.endswith("/")))
FIXED_CASES = [("prefix", 0.0), ("prefix", 1.0), ("code", "in a checkpoint"), ("code", "bare"), ("empty",),
               ("folder",), ("loop",), ("zip", {"hello.txt": b"hi"}), ("zip", {})]  # each one tried every time


def with_fixed_cases(test):
    """`test` tried on every case of FIXED_CASES, then on generated ones."""
    for case in reversed(FIXED_CASES):
        test = example(case)(test)
    return test


# A bad file, as a recipe applied to a real checkpoint: ("random", bytes), ("prefix", fraction of its length),
# ("flip", positions, masks),
# ("zip", entries), ("code", "in a checkpoint" or "bare"), ("empty",), ("folder",), ("loop",).
BAD_FILES = st.one_of(
    st.tuples(st.just("random"), st.binary(min_size=1, max_size=4096)),
    st.tuples(st.just("prefix"), st.floats(min_value=0, max_value=1)),
    st.tuples(st.just("flip"), st.lists(st.integers(min_value=0), min_size=1, max_size=4),
              st.lists(st.integers(min_value=1, max_value=255), min_size=4, max_size=4)),
    st.tuples(st.just("zip"), st.dictionaries(ZIP_NAMES, st.binary(max_size=64), max_size=5)),
    st.tuples(st.just("code"), st.sampled_from(["in a checkpoint", "bare"])),
    st.just(("empty",)), st.just(("folder",)), st.just(("loop",)),
)


def make_bad_file(case: tuple, original: bytes, folder: Path) -> Path:
    """Write the bad file that `case` describes into `folder` (made if missing); its path."""
    folder.mkdir(exist_ok=True)
    path, kind = folder / "bad.pt", case[0]
    if kind == "folder":
        path.mkdir()
        (path / "checkpoint.pt").write_bytes(original)  # a checkpoint inside does not make the folder one
        return path
    if kind == "loop":
        path.symlink_to(path.name)  # bad.pt -> bad.pt
        return path
    data = {"random": lambda: case[1],
            "prefix": lambda: original[:int(case[1] * (len(original) - 1))],  # any length from 0 to len - 1
            "flip": lambda: flipped(original, *case[1:]),
            "zip": lambda: zip_of(case[1]),
            "code": lambda: carrying_code(original, case[1], folder / "code-ran"),
            "empty": lambda: b""}[kind]()
    path.write_bytes(data)
    return path


def assert_clear(message: str, path: Path) -> None:
    """One paragraph that names the file and says what to do."""
    assert str(path) in message and "\n" not in message and "Traceback" not in message, message
    assert any(word in message for word in REMEDIES), message


def same(a, b) -> bool:
    """Equal nested dicts, lists and tensors (what a harmless flipped byte may leave)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def harmless(case: tuple, path: Path, original: bytes) -> bool:
    """A flipped byte that no check can see (a zip header field that no reader uses) is harmless only if the file
    still reads as exactly the original; any other bad file must be refused."""
    if case[0] != "flip":
        return False
    try:
        state = read_checkpoint(path)
    except CheckpointError:
        return False
    assert same(state, torch.load(io.BytesIO(original), weights_only=True)), f"{case} loads as other weights"
    return True


@settings(max_examples=50, deadline=None)
@given(BAD_FILES)
@with_fixed_cases
def test_the_loaders_answer_every_bad_file_with_a_clear_error(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("bad")
    path = make_bad_file(case, generator_checkpoint(), folder / "generator")
    if not harmless(case, path, generator_checkpoint()):
        for load in (read_checkpoint, load_generator):
            with pytest.raises(CheckpointError) as caught:
                load(path)
            assert_clear(str(caught.value), path)
    path = make_bad_file(case, trainer_checkpoint(), folder / "trainer")
    trainer = new_trainer()
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    if not harmless(case, path, trainer_checkpoint()):
        with pytest.raises(CheckpointError) as caught:
            trainer.load(path)
        assert_clear(str(caught.value), path)
        assert trainer.step_count == 0
        assert all(torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
    assert not list(folder.rglob("code-ran"))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BAD_FILES)
@with_fixed_cases
def test_evaluate_answers_every_bad_file_with_status_2_and_writes_nothing(tmp_path_factory, capsys, case):
    folder = tmp_path_factory.mktemp("bad")
    path = make_bad_file(case, generator_checkpoint(), folder)
    if harmless(case, path, generator_checkpoint()):
        return  # a readable checkpoint: evaluate would go on to measure it
    out = folder / "results" / "out.json"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", str(path), "--samples", "10", "--json", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    assert_clear(err.strip().splitlines()[-1], path)
    assert not out.parent.exists() and not list(folder.rglob("*.part")) and not (folder / "code-ran").exists()


# -- paths that cannot be written, for every command that writes -----------------------------------------------------
def bad_output(kind: str, tmp_path: Path) -> Path:
    """A path where no file or folder can be made."""
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "locked").mkdir(mode=0o555)
    return {"a file": tmp_path / "a-file", "below a file": tmp_path / "a-file" / "run",
            "a symlink loop": tmp_path / "loop", "below a symlink loop": tmp_path / "loop" / "run",
            "a folder without write permission": tmp_path / "locked" / "run"}[kind]


OUTPUTS = ["a file", "below a file", "a symlink loop", "below a symlink loop", "a folder without write permission"]


@pytest.mark.parametrize("kind", OUTPUTS)
@pytest.mark.parametrize("command, option", [("train", "--out"), ("compare", "--json"), ("evaluate", "--json")])
def test_every_command_checks_its_output_before_it_works(command, option, kind, tmp_path, capsys, monkeypatch):
    if kind == "a folder without write permission" and AS_ROOT:
        pytest.skip("root writes into read-only folders")
    if kind == "a file" and option == "--json":
        kind = "below a file"  # a file is a fine place for JSON: it is replaced
    out = bad_output(kind, tmp_path)
    checkpoint = tmp_path / "g.pt"
    checkpoint.write_bytes(generator_checkpoint())
    started = []
    monkeypatch.setattr(training, "make_2d_trainer", lambda *a, **k: started.append("train"))
    monkeypatch.setattr("gan_lessons.comparison.compare", lambda *a, **k: started.append("compare"))
    monkeypatch.setattr("gan_lessons.checkpoints.load_generator", lambda *a, **k: started.append("evaluate"))
    argv = {"train": ["train", "--steps", "2"], "compare": ["compare", "--steps", "2", "--seeds", "1"],
            "evaluate": ["evaluate", str(checkpoint)]}[command]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, option, str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    message = err.strip().splitlines()[-1]
    assert f"{option[2:]}={str(out)!r}" in message and "\n" not in message, message
    assert started == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "g.pt", "locked", "loop"]


@pytest.mark.skipif(AS_ROOT, reason="root reads files without read permission")
def test_a_checkpoint_without_read_permission_says_so(tmp_path, capsys):
    path = tmp_path / "g.pt"
    path.write_bytes(generator_checkpoint())
    path.chmod(0)
    with pytest.raises(CheckpointError, match="no permission to read it"):
        read_checkpoint(path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", str(path)])
    assert exit_info.value.code == 2 and "no permission" in capsys.readouterr().err


def test_a_flipped_byte_in_a_weight_is_caught_by_the_checksum(tmp_path):
    """torch.load checks no checksum: without read_checkpoint's check this file loads with one wrong weight."""
    data = generator_checkpoint()
    weight = torch.load(io.BytesIO(data), weights_only=True)["generator"]["net.0.weight"]
    at = data.index(weight.numpy().tobytes()[:64]) + 10
    path = tmp_path / "g.pt"
    path.write_bytes(flipped(data, [at], [0x40]))
    assert not torch.equal(torch.load(path, weights_only=True)["generator"]["net.0.weight"], weight)
    with pytest.raises(CheckpointError, match="cannot be read .truncated or corrupted.*CRC"):
        read_checkpoint(path)


def test_a_checkpoint_of_a_newer_pytorch_says_so(tmp_path):
    with zipfile.ZipFile(io.BytesIO(generator_checkpoint())) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    version = next(name for name in entries if name.endswith("/version"))
    path = tmp_path / "g.pt"
    path.write_bytes(zip_of({**entries, version: b"99\n"}))
    with pytest.raises(CheckpointError, match=r"written by a newer PyTorch \(file format 99"):
        read_checkpoint(path)


def test_the_classifier_cache_is_read_like_every_checkpoint(tmp_path):
    """A damaged or unsafe cache is ignored (and the classifier trained again), through read_checkpoint's checks."""
    model = classifier.MNISTClassifier()
    model.metadata = {"version": classifier.VERSION, "split": "test", "accuracy": 0.5}
    path = classifier.save_classifier(model, tmp_path)
    assert classifier._load_cached(path, "test", "cpu") is not None
    data = path.read_bytes()
    weight = model.head.weight.detach().numpy().tobytes()
    path.write_bytes(flipped(data, [data.index(weight[:64]) + 10], [0x40]))  # a wrong weight, same size
    assert classifier._load_cached(path, "test", "cpu") is None
    for bad in (b"", data[:len(data) // 2], carrying_code(data, "in a checkpoint", tmp_path / "code-ran")):
        path.write_bytes(bad)
        assert classifier._load_cached(path, "test", "cpu") is None
    assert not (tmp_path / "code-ran").exists()


# -- the command line: --debug, and errors that are bugs -----------------------------------------------------------
@pytest.mark.parametrize("argv", [["train", "--steps", "0"], ["compare", "--seeds", "0"],
                                  ["evaluate", "missing.pt"]])
def test_debug_adds_the_traceback_to_an_expected_failure(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for debug in ([], ["--debug"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*argv, *debug])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and ("Traceback" in err) == bool(debug), err
        assert "error:" in err.strip().splitlines()[-1]


def test_doctor_accepts_debug(capsys):
    assert cli.main(["doctor", "--debug"]) == 0 and "python" in capsys.readouterr().out


def test_an_unexpected_error_is_called_a_bug_with_status_1(capsys, monkeypatch):
    help_text, add_arguments, _ = cli.COMMANDS["doctor"]
    monkeypatch.setitem(cli.COMMANDS, "doctor", (help_text, add_arguments, lambda args: 1 / 0))
    for debug in ([], ["--debug"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["doctor", *debug])
        err = capsys.readouterr().err
        assert exit_info.value.code == 1 and ("Traceback" in err) == bool(debug), err
        assert "ZeroDivisionError" in err and "bug" in err and "README" in err
