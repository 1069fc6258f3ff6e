"""Configuration, device choice, fast mode, and bad inputs rejected with errors that name the parameter."""
import dataclasses

import pytest
import torch

from gan_lessons import cli
from gan_lessons.config import TrainConfig, get_device, steps
from gan_lessons.data import make_target
from gan_lessons.training import make_2d_trainer


@pytest.mark.parametrize("field, value, allowed", [
    ("lr_d", 0.0, r"\(0, 1\]"), ("lr_d", -1e-3, r"\(0, 1\]"), ("lr_g", 0, r"\(0, 1\]"),
    ("lr_g", float("nan"), r"\(0, 1\]"), ("batch_size", 0, "integer from 1 to 65536"),
    ("batch_size", -5, "integer from 1"), ("z_dim", 0, "integer from 1 to 1024"), ("z_dim", 1.5, "integer"),
    ("d_steps", 0, "integer from 1"), ("loss", "bce", "nonsaturating"), ("target", "ring7", "ring8"),
    ("regularizer", "l2", "r1"), ("device", "tpu", "cuda"), ("beta1", 1.0, r"\[0, 0.9999\]"),
    ("reg_weight", True, r"\[0, 10000\]"), ("seed", -1, "integer from 0"),
])
def test_bad_config_names_parameter_value_and_what_is_allowed(field, value, allowed):
    with pytest.raises(ValueError) as error:
        TrainConfig(**{field: value})
    message = str(error.value)
    assert message.startswith(f"{field}=") and repr(value) in message
    assert pytest.importorskip("re").search(allowed, message)


def test_replace_validates_too():
    with pytest.raises(ValueError, match="lr_g=-1"):
        dataclasses.replace(TrainConfig(), lr_g=-1)


def test_every_field_says_what_it_means_and_what_it_may_be():
    for field in dataclasses.fields(TrainConfig):
        m = field.metadata
        assert len(m["help"]) > 20, f"TrainConfig.{field.name} has no help"
        assert field.type == "bool" or m["choices"] is not None or m["high"] is not None, field.name


def test_trainer_configure_rejects_bad_values_and_keeps_its_config():
    trainer, _ = make_2d_trainer(TrainConfig())
    before = trainer.config
    for name, value in (("lr_d", 0.0), ("lr_g", -1.0), ("d_steps", 0), ("regularizer", "dropout")):
        with pytest.raises(ValueError, match=f"{name}="):
            trainer.configure(**{name: value})
    assert trainer.config == before  # nothing half-applied
    trainer.lr_d = 3e-4
    trainer.configure(regularizer="gp", reg_weight=10.0, loss="hinge")
    assert trainer.opt_d.param_groups[0]["lr"] == 3e-4 and trainer.config.lr_d == 3e-4
    assert trainer.penalty.name == "gp" and trainer.penalty.weight == 10.0 and trainer.loss.name == "hinge"


@pytest.mark.parametrize("name, value, advice", [("z_dim", 5, "replace_generator"), ("target", "grid25", "replace_data"),
                                                 ("seed", 3, "new trainer"), ("pack", 2, "new trainer")])
def test_trainer_configure_refuses_what_it_cannot_apply(name, value, advice):
    trainer, _ = make_2d_trainer(TrainConfig())
    with pytest.raises(ValueError, match=advice):
        trainer.configure(**{name: value})


def test_cli_options_come_from_the_config_fields():
    from gan_lessons import cli

    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    options = {action.dest for action in train._actions} - {"help", "steps", "out"}
    assert options == {field.name for field in dataclasses.fields(TrainConfig)}
    args = parser.parse_args(["train", "--lr-d", "0.002", "--spectral-norm", "--loss", "hinge"])
    assert (args.lr_d, args.spectral_norm, args.loss, args.z_dim) == (0.002, True, "hinge", TrainConfig().z_dim)


def test_unknown_target_is_rejected():
    with pytest.raises(ValueError, match=r"target='circle'.*ring8, grid25, spiral, moons"):
        make_target("circle")


def test_auto_device_follows_what_is_present():
    expected = "cuda" if torch.cuda.is_available() else None
    assert get_device("auto").type == (expected or get_device("auto").type)
    if not torch.cuda.is_available():
        assert get_device("auto").type in ("mps", "cpu")
        with pytest.raises(ValueError, match="device='cuda'"):
            get_device("cuda")


def test_fast_mode_picks_the_small_number(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_FAST", "1")
    assert steps(full=2000, fast=50) == 50
    monkeypatch.setenv("GAN_LESSONS_FAST", "0")
    assert steps(full=2000, fast=50) == 2000
    with pytest.raises(ValueError, match="fast=0"):
        steps(full=10, fast=0)


@pytest.mark.parametrize("argv, name", [
    (["--steps", "0"], "steps=0"), (["--lr-d", "-0.1"], "lr_d=-0.1"), (["--loss", "bce"], "loss='bce'"),
    (["--target", "ring9"], "target='ring9'"), (["--batch-size", "0"], "batch_size=0"), (["--z-dim", "0"], "z_dim=0"),
])
def test_cli_rejects_bad_input_with_the_parameter_name(argv, name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", str(tmp_path / "run"), *argv])
    assert exit_info.value.code == 2
    assert name in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
