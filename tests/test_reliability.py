"""Reliability of the trainer: the divergence guard, exact resume from a checkpoint, safe loading, interrupts."""
from __future__ import annotations

import math
import os
import pickle
import signal
import threading

import pytest
import torch

from gan_lessons.checkpoints import CheckpointError, read_checkpoint
from gan_lessons.config import TrainConfig, seed_everything
from gan_lessons.guard import DivergenceError
from gan_lessons.training import make_2d_trainer


def trainer_for(**settings):
    torch.manual_seed(0)
    trainer, _ = make_2d_trainer(TrainConfig(device="cpu", seed=0, **settings))
    return trainer


def weights(trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for m in (trainer.generator, trainer.discriminator) for p in m.parameters()]


def all_finite(trainer) -> bool:
    return all(bool(torch.isfinite(w).all()) for w in weights(trainer))


# -- the divergence guard ----------------------------------------------------------------------------------------
def test_a_nan_weight_stops_training_names_the_step_and_restores_the_last_finite_weights():
    trainer = trainer_for(regularizer="none")
    trainer.guard_every = 10
    trainer.run(30, progress=False)  # the guard's last copy is of step 30
    good = weights(trainer)
    trainer.run(3, progress=False)
    with torch.no_grad():
        trainer.discriminator.net[0].weight[0, 0] = math.nan  # what an overflowing update leaves behind
    with pytest.raises(DivergenceError) as caught:
        trainer.run(10, progress=False)
    message = str(caught.value)
    assert "diverged at step 34" in message and "loss_d=nan" in message, message
    assert "step 30" in message and "restored" in message and "Likely cause" in message, message
    assert caught.value.step == 34 and caught.value.restored_step == 30
    assert trainer.step_count == 30 and trainer.history.steps[-1] == 30 and len(trainer.history) == 30
    assert all(torch.equal(a, b) for a, b in zip(good, weights(trainer)))
    trainer.run(20, progress=False)  # and training goes on from there
    assert trainer.step_count == 50 and all_finite(trainer)


def test_an_overflowing_lsgan_names_the_high_learning_rate_as_the_likely_cause():
    trainer = trainer_for(loss="lsgan", regularizer="none", lr_d=0.5, lr_g=0.5)
    trainer.run(5, progress=False)
    with torch.no_grad():
        trainer.discriminator.net[-1].weight.mul_(1e30)  # logits near 1e30: their square overflows float32
    with pytest.raises(DivergenceError) as caught:
        trainer.step()
    message = str(caught.value)
    assert "loss_d=inf" in message and "learning rate too high for the lsgan loss" in message, message
    assert "lr_d=0.5" in message and trainer.step_count == 0 and all_finite(trainer)


def test_an_unconstrained_wgan_critic_is_named_as_the_cause():
    trainer = trainer_for(loss="wgan", regularizer="none", lr_d=1e-4, lr_g=1e-4)
    trainer.step()
    with torch.no_grad():
        trainer.discriminator.net[-1].bias.fill_(math.inf)
    with pytest.raises(DivergenceError, match="critic is unconstrained"):
        trainer.step()


def test_a_non_finite_weight_with_finite_losses_is_caught_at_the_next_weight_check():
    trainer = trainer_for(regularizer="none")
    trainer.guard_every = 5
    trainer.run(5, progress=False)
    with torch.no_grad():
        trainer.generator.net[0].bias[0] = -math.inf  # a dead ReLU unit: every output stays finite
        trainer.generator.net[0].weight[0].zero_()
    with pytest.raises(DivergenceError, match="a weight became non-finite") as caught:
        trainer.run(10, progress=False)
    assert caught.value.step == 10 and trainer.step_count == 5 and all_finite(trainer)


# -- checkpoints: exact resume ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings", [dict(), dict(loss="wgan", regularizer="gp", reg_weight=10.0, d_steps=3, ema=0.99)])
def test_resuming_from_a_checkpoint_gives_the_same_next_100_steps_bit_for_bit(tmp_path, settings):
    first = trainer_for(**settings)
    first.run(100, progress=False)
    first.save(tmp_path / "ckpt.pt")
    first.run(100, progress=False)
    # A new process would start from scratch: another seed, other random numbers drawn in between.
    torch.manual_seed(1234)
    torch.randn(1000)
    second, _ = make_2d_trainer(TrainConfig(device="cpu", seed=99, **settings))
    second.load(tmp_path / "ckpt.pt")
    assert second.step_count == 100 and len(second.history) == 100
    second.run(100, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(weights(first), weights(second)))
    assert first.history.records == second.history.records  # every loss of all 200 steps, exactly
    if first.ema is not None:
        ema_a, ema_b = first.ema.generator.state_dict(), second.ema.generator.state_dict()
        assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    for name in ("opt_d", "opt_g"):
        a, b = getattr(first, name).state_dict()["state"], getattr(second, name).state_dict()["state"]
        assert all(torch.equal(a[i]["exp_avg_sq"], b[i]["exp_avg_sq"]) for i in a)


def test_a_checkpoint_holds_everything_a_resume_needs(tmp_path):
    trainer = trainer_for(ema=0.9)
    trainer.run(3, progress=False)
    state = read_checkpoint(trainer.save(tmp_path / "c.pt", extra={"note": "hello"}))
    assert {"generator", "discriminator", "opt_g", "opt_d", "ema", "rng", "step", "config", "history",
            "settings", "loss"} <= state.keys()
    assert state["config"]["ema"] == 0.9 and state["step"] == 3 and state["note"] == "hello"
    assert set(state["rng"]) == {"torch", "cuda", "python", "numpy"}


def test_a_checkpoint_for_another_model_is_refused_and_the_trainer_is_unchanged(tmp_path):
    small = trainer_for(hidden=16)
    small.save(tmp_path / "small.pt")
    trainer = trainer_for()
    trainer.run(2, progress=False)
    before = weights(trainer)
    with pytest.raises(CheckpointError, match="does not fit this trainer"):
        trainer.load(tmp_path / "small.pt")
    assert trainer.step_count == 2 and all(torch.equal(a, b) for a, b in zip(before, weights(trainer)))


def test_a_truncated_checkpoint_gives_a_clear_error(tmp_path):
    path = trainer_for().save(tmp_path / "c.pt")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="cannot be read .truncated or corrupted"):
        trainer_for().load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        trainer_for().load(tmp_path / "missing.pt")


def test_an_interrupted_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    trainer = trainer_for()
    path = trainer.save(tmp_path / "c.pt")
    before = path.read_bytes()
    trainer.run(2, progress=False)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


# -- safe loading ---------------------------------------------------------------------------------------------------
class RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "code-ran"
    state = trainer_for().state_dict()
    state["payload"] = RunsCode(marker)
    path = tmp_path / "evil.pt"
    torch.save(state, path)  # a real torch checkpoint, with one pickled object that runs a shell command
    assert b"system" in path.read_bytes()
    trainer = trainer_for()
    with pytest.raises(CheckpointError) as caught:
        trainer.load(path)
    assert "refused" in str(caught.value) and "could run code" in str(caught.value)
    assert not marker.exists() and trainer.step_count == 0
    with pytest.raises(pickle.UnpicklingError):  # torch's restricted unpickler is what refuses it
        torch.load(path, weights_only=True)
    assert not marker.exists()


# -- interrupts -----------------------------------------------------------------------------------------------------
def consistent(trainer) -> bool:
    """Every step did k D updates and one G update, and is in the history."""
    d_updates = {int(s["step"]) for s in trainer.opt_d.state_dict()["state"].values()}
    g_updates = {int(s["step"]) for s in trainer.opt_g.state_dict()["state"].values()}
    return (d_updates == {trainer.config.d_steps * trainer.step_count} and g_updates == {trainer.step_count}
            and len(trainer.history) == trainer.step_count)


def test_ctrl_c_during_a_run_stops_between_two_steps_and_the_run_can_go_on():
    trainer = trainer_for(d_steps=2)

    def interrupt(step, metrics):
        if step == 7:
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's stop button sends to the kernel

    with pytest.raises(KeyboardInterrupt):
        trainer.run(50, callbacks=[interrupt], progress=False)
    assert trainer.step_count == 7 and consistent(trainer)
    trainer.run(5, progress=False)
    assert trainer.step_count == 12 and consistent(trainer)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works as usual afterwards


@pytest.mark.parametrize("delay", [0.003, 0.011, 0.029])
def test_ctrl_c_at_any_moment_leaves_the_trainer_consistent(delay):
    trainer = trainer_for(d_steps=3, regularizer="r1")
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.run(10_000, progress=False)
    finally:
        timer.cancel()
    assert trainer.step_count < 10_000 and consistent(trainer)


def test_weights_that_are_not_finite_from_the_start_give_a_clear_error():
    trainer = trainer_for()
    with torch.no_grad():
        trainer.generator.net[0].weight.fill_(math.nan)
    with pytest.raises(DivergenceError, match="no finite copy to go back to: reset the training or load a checkpoint"):
        trainer.step()


def test_a_checkpoint_of_the_first_format_still_loads(tmp_path):
    """Checkpoints written before the trainer kept a configuration had "config": None, the knobs in "settings" and
    the loss by name: they load, and the trainer then uses those knobs."""
    seed_everything(0)
    writer, _ = make_2d_trainer(TrainConfig(regularizer="gp", reg_weight=5.0, label_smoothing=0.1, d_steps=2,
                                            device="cpu"))
    writer.run(3, progress=False)
    state = writer.state_dict()
    state["config"] = None
    torch.save(state, tmp_path / "first_format.pt")
    reader, _ = make_2d_trainer(TrainConfig(device="cpu"))
    reader.load(tmp_path / "first_format.pt")
    cfg = reader.config
    assert (cfg.regularizer, cfg.reg_weight, cfg.label_smoothing, cfg.d_steps) == ("gp", 5.0, 0.1, 2)
    assert reader.penalty.name == "gp" and reader.step_count == 3
    for a, b in zip(reader.generator.parameters(), writer.generator.parameters()):
        assert torch.equal(a, b)
