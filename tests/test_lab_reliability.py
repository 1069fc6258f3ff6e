"""The lab under a class of students: a diverging training, every control pushed anywhere, hours of training.

- divergence: the lab shows the guard's message, keeps the last finite weights, and trains on after a change;
- controls: random values, valid and invalid, set from code (`lab.set`) and straight on the widgets (what a
  page could send): invalid ones are refused with a ValueError naming the control, the widget never keeps
  one, and the lab's configuration stays valid (hypothesis);
- memory: 20,000 steps with redraws grow resident memory by less than 50 MB and leave the number of
  matplotlib figures unchanged.
"""
from __future__ import annotations

import gc
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import psutil
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from gan_lessons.config import TrainConfig, validate
from gan_lessons.guard import DivergenceError
from gan_lessons.lab import SETTINGS, GANLab


@pytest.fixture(scope="module")
def lab():
    lab = GANLab(TrainConfig(device="cpu"), fps=0)
    yield lab
    lab.close()


def poison(lab: GANLab) -> None:
    with torch.no_grad():
        lab.trainer.discriminator.net[0].weight[0, 0] = math.nan  # what an overflowing update leaves behind


# -- divergence ----------------------------------------------------------------------------------------------------
def test_the_lab_shows_a_divergence_keeps_the_last_finite_weights_and_trains_on():
    lab = GANLab(TrainConfig(device="cpu", loss="lsgan"), fps=0)
    lab.trainer.guard_every = 16
    lab.run(32)
    poison(lab)
    lab.run(64)  # no exception reaches the cell: the status line says what happened
    assert isinstance(lab.error, DivergenceError) and lab.trainer.step_count == 32
    assert "diverged at step 33" in lab.status.value and "press play" in lab.status.value, lab.status.value
    assert max(lab.curves.steps) <= 32
    lab.set(lr_d=1e-4, lr_g=1e-4)
    lab.run(16)
    assert lab.error is None and lab.trainer.step_count == 48 and lab.trainer.lr_d == pytest.approx(1e-4)
    lab.close()


def test_a_divergence_in_the_training_thread_is_shown_and_play_goes_on(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_FAST", "0")
    lab = GANLab(TrainConfig(device="cpu"), fps=0)
    try:
        lab.run(16)  # (synchronous: fast mode is off, but run() always trains in the cell)
        poison(lab)
        lab.play()
        deadline = time.perf_counter() + 30
        while lab.running and time.perf_counter() < deadline:
            time.sleep(0.01)
        assert not lab.running and isinstance(lab.error, DivergenceError)
        assert "diverged at step 17" in lab.status.value, lab.status.value
        assert lab.trainer.step_count == 0  # the weights of step 0, the guard's last copy, are back
        lab.play()  # and training goes on
        while lab.trainer.step_count < 40 and time.perf_counter() < deadline:
            time.sleep(0.01)
        assert lab.running and lab.error is None and lab.trainer.step_count >= 40
    finally:
        lab.close()


# -- controls ------------------------------------------------------------------------------------------------------
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.lists(st.integers(), max_size=2),
                 st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.floats(allow_nan=False),
                 st.integers(min_value=-10**6, max_value=10**6))


def allowed(lab: GANLab, name: str, value) -> bool:
    control = lab.controls[name]
    if isinstance(control, widgets.Dropdown):
        return not isinstance(value, bool) and value in [o[1] if isinstance(o, tuple) else o for o in control.options]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(control, widgets.IntSlider):
        return isinstance(value, int) and control.min <= value <= control.max
    return control.base ** control.min <= value <= control.base ** control.max


def state_is_valid(lab: GANLab) -> bool:
    validate(lab.cfg)
    values = {name: lab.controls[name].value for name in SETTINGS}
    return all(allowed(lab, name, value) for name, value in values.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(SETTINGS), value=junk)
def test_invalid_values_set_from_code_are_refused_naming_the_control(lab, name, value):
    if allowed(lab, name, value):
        return  # a valid value drawn by chance: the next test covers those
    before = (lab.cfg, {n: lab.controls[n].value for n in SETTINGS})
    with pytest.raises(ValueError) as error:
        lab.set(**{name: value})
    assert str(error.value).startswith(f"{name}="), str(error.value)
    assert (lab.cfg, {n: lab.controls[n].value for n in SETTINGS}) == before  # nothing changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_values_are_taken_and_reach_the_trainer(lab, data):
    name = data.draw(st.sampled_from(("lr_d", "lr_g", "d_steps", "z_dim", "loss", "regularizer", "target")))
    control = lab.controls[name]
    if isinstance(control, widgets.Dropdown):
        value = data.draw(st.sampled_from([o[1] if isinstance(o, tuple) else o for o in control.options]))
    elif isinstance(control, widgets.IntSlider):
        value = data.draw(st.integers(control.min, control.max))
    else:
        value = data.draw(st.floats(10.0 ** control.min, 10.0 ** control.max))
    lab.set(**{name: value})
    lab.tick(draw=False)
    assert getattr(lab.cfg, name) == value and lab.controls[name].value == value
    if name in ("lr_d", "lr_g"):
        assert getattr(lab.trainer, name) == value
    if name == "z_dim":
        assert lab.trainer.z_dim == value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(SETTINGS), value=junk)
def test_no_value_sent_to_a_widget_leaves_the_lab_in_an_invalid_state(lab, name, value):
    try:
        lab.controls[name].value = value  # what a page (or a hand-written widget message) could send
    except Exception as error:  # noqa: BLE001 (ipywidgets refuses wrong types itself)
        assert type(error).__name__ == "TraitError", repr(error)
    assert state_is_valid(lab), (name, value, lab.cfg)
    lab.tick(draw=False)
    assert all(math.isfinite(v) for v in lab.trainer.history.records["loss_d"][-lab.chunk:])


# -- memory --------------------------------------------------------------------------------------------------------
def live_figures() -> int:
    gc.collect()
    return sum(issubclass(type(o), Figure) for o in gc.get_objects())


def test_10000_steps_with_redraws_grow_memory_by_less_than_25_mb_and_make_no_figures():
    lab = GANLab(TrainConfig(device="cpu"))  # the lab's own networks, redrawing at the default rate, as in a lesson
    lab.run(1000)  # warm-up: first frames, caches, Adam's state
    process, figures, pyplot = psutil.Process(), live_figures(), plt.get_fignums()
    rss, frames = process.memory_info().rss, lab.frames_drawn
    lab.run(10_000)
    gc.collect()
    growth_mb = (process.memory_info().rss - rss) / 2**20
    print(f"10,000 lab steps, {lab.frames_drawn - frames} frames: resident memory grew {growth_mb:.1f} MB")
    assert lab.trainer.step_count == 11_000 and lab.frames_drawn - frames >= 20
    assert growth_mb < 25, f"resident memory grew {growth_mb:.1f} MB over 10,000 steps"
    assert live_figures() == figures and plt.get_fignums() == pyplot
    lab.close()
