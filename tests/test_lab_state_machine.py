"""The lab under sequences of actions from varied starting settings (hypothesis's stateful testing).

A lab starts from a random valid TrainConfig (every field, small networks), then takes 20 random actions: a control
moved from code (`lab.set`) or on its widget, with values valid or not; play, pause, tick, step D, step G, reset;
an update that overflows; pin, replay of a kept frame, a preset; save, then going on with the lab loaded from the
file. After each action:
- no exception escaped (an invalid value given to `lab.set` raises ValueError naming the control, as documented;
  one sent to a widget is refused in the status line, which says why);
- the trainer is built as a fresh lab from `lab.cfg` would be (architecture, optimizers, EMA, D's input, ...),
  `lab.trainer.config == lab.cfg`, and every control shows the configuration;
- the weights are finite, or the status line shows the divergence message, or (when the very last update made them
  non-finite, between two looks of the guard at every weight) the next tick finds it, puts back finite weights and
  says so;
- a pinned frame is the one pinned, unchanged; the replay slider spans the kept frames, which are at most
  MAX_FRAMES, in the order of their steps.
The panes' drawing (matplotlib, about 0.1 s a picture) is replaced by one that checks each frame and draws
nothing, so that 200 sequences run in about a minute; test_lab.py draws packed and plain labs for real.
"""
from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import ipywidgets as widgets
import pytest
import torch
from hypothesis import HealthCheck, reject, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from traitlets import TraitError

import gan_lessons.lab as lab_module
from gan_lessons.config import BCE_LOSSES, TrainConfig, replace
from gan_lessons.guard import DivergenceError, finite_weights
from gan_lessons.lab import PRESETS, SETTINGS, GANLab
from gan_lessons.lab_frames import Frame
from gan_lessons.lab_replay import MAX_FRAMES

from test_lab import differences_from_fresh  # what a fresh lab's trainer would differ in
from test_lab_reliability import allowed, junk  # what a control shows; values of every kind

SEQUENCES, STEPS = 200, 20


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: min(max(10.0 ** e, low), high))


SMALL = {  # fields drawn from narrower ranges than the configuration allows: small, fast networks
    "z_dim": st.integers(1, 6), "hidden": st.integers(4, 32), "depth": st.integers(1, 3), "pack": st.integers(1, 4),
    "d_steps": st.integers(1, 3), "noise_anneal": st.integers(0, 100), "lr_d": log_uniform(1e-6, 1.0),
    "lr_g": log_uniform(1e-6, 1.0), "reg_weight": st.one_of(st.just(0.0), log_uniform(1e-4, 1e4)),
    "n_classes": st.just(0),  # the lab trains an unconditional GAN
    "device": st.just("cpu"),
}


def values_of(field: dataclasses.Field) -> st.SearchStrategy:
    """Any value the configuration field allows, from its declaration (choices, or [low, high])."""
    m = field.metadata
    if m["choices"] is not None:
        return st.sampled_from(m["choices"])
    if field.type == "bool":
        return st.booleans()
    if field.type == "int":
        return st.integers(m["low"], m["high"])
    return st.floats(m["low"], m["high"], exclude_min=not m["include_low"])


@st.composite
def configs(draw) -> TrainConfig:
    """A valid TrainConfig: every field drawn, the sizes small, batches of whole packs of 2 to 16 samples."""
    values = {f.name: draw(SMALL[f.name] if f.name in SMALL else values_of(f)) for f in dataclasses.fields(TrainConfig)}
    values["batch_size"] = values["pack"] * draw(st.sampled_from((2, 4, 8, 16)))
    if values["loss"] not in BCE_LOSSES:
        values["label_smoothing"] = 0.0  # smoothing needs labels
    try:
        return TrainConfig(**values)
    except ValueError:  # a combination the configuration refuses
        reject()


def accepts(lab: GANLab, cfg: TrainConfig, name: str, value) -> bool:
    """Whether the control `name` may take `value`: one it shows, and one the configuration `cfg` allows."""
    if not allowed(lab, name, value):
        return False
    try:
        replace(cfg, **{name: value})
    except ValueError:
        return False
    return True


def control_values(control: widgets.Widget) -> st.SearchStrategy:
    """The values a control shows: its options, or its slider's range."""
    if isinstance(control, widgets.Dropdown):
        return st.sampled_from([o[1] if isinstance(o, tuple) else o for o in control.options])
    if isinstance(control, widgets.IntSlider):
        return st.integers(control.min, control.max)
    low, high = control.base ** control.min, control.base ** control.max
    return st.one_of(st.sampled_from((low, high)), log_uniform(low, high))


class CheckingPane:
    """Stands for a LivePane: checks that a frame fits the lab's settings, and draws nothing."""

    def __init__(self, name: str, *size) -> None:
        self.name = name

    def render(self, frame: Frame) -> bytes:
        """b"" after checking the frame's shapes: the grid, the arrows in whole packs."""
        assert frame.heat.shape == (64, 64) and frame.arrow_dir.shape == frame.arrow_from.shape
        assert len(frame.arrow_from) % frame.pack == 0 and frame.fake.shape[1] == 2
        return b""


class LabMachine(RuleBasedStateMachine):
    """A lab under random actions; the invariants below hold after each."""

    lab: GANLab

    @initialize(cfg=configs(), chunk=st.integers(1, 3))
    def start(self, cfg: TrainConfig, chunk: int) -> None:
        self.lab = GANLab(cfg, fps=0, chunk=chunk, fast_chunks=2)
        self.lab.trainer.guard_every = 4  # the guard looks at every weight often: a sequence is short
        self.folder = Path(tempfile.mkdtemp(prefix="gan-lab-machine-"))
        self.pinned_fake: np.ndarray | None = None

    # -- controls ------------------------------------------------------------------------------------------------
    @rule(data=st.data(), name=st.sampled_from(SETTINGS), valid=st.booleans())
    def set_from_code(self, data, name: str, valid: bool) -> None:
        lab, before = self.lab, self.lab.cfg
        value = data.draw(control_values(lab.controls[name]) if valid else junk, label="value")
        if accepts(lab, before, name, value):
            lab.set(**{name: value})
            assert getattr(lab.cfg, name) == value
        else:
            with pytest.raises(ValueError) as error:
                lab.set(**{name: value})
            assert str(error.value).startswith(f"{name}="), str(error.value)
            assert lab.cfg == before

    @rule(data=st.data(), name=st.sampled_from(SETTINGS), valid=st.booleans())
    def set_on_the_widget(self, data, name: str, valid: bool) -> None:
        lab, before, control = self.lab, self.lab.cfg, self.lab.controls[name]
        value = data.draw(control_values(control) if valid else junk, label="value")
        seen: list = []  # what the lab's callback received (the widget may have clamped the value)

        def record(change: dict) -> None:
            seen.append(change["new"])
        control.observe(record, names="value")
        try:
            control.value = value  # what a page could send
        except TraitError:  # the widget refuses a value of the wrong kind itself
            assert lab.cfg == before
            return
        finally:
            control.unobserve(record, names="value")
        refused = [v for v in seen if not accepts(lab, before, name, v)]
        if refused:
            assert f"{name} not changed: {name}=" in lab.status.value, (refused, lab.status.value)
            assert lab.cfg == before
        elif seen:
            assert getattr(lab.cfg, name) == seen[-1]

    # -- buttons and ticks ---------------------------------------------------------------------------------------
    @rule()
    def play(self) -> None:
        steps = self.lab.trainer.step_count
        self.lab.play()  # in fast mode: fast_chunks chunks, here and now
        assert not self.lab.running
        assert self.lab.trainer.step_count == steps + 2 * self.lab.chunk or self.lab.error is not None

    @rule()
    def pause(self) -> None:
        self.lab.pause()

    @rule(draw=st.booleans())
    def tick(self, draw: bool) -> None:
        self.lab.tick(draw=draw)

    @rule()
    def step_d(self) -> None:
        self.lab.step_d()

    @rule()
    def step_g(self) -> None:
        self.lab.step_g()

    @rule()
    def reset(self) -> None:
        self.lab.reset()
        assert self.lab.trainer.step_count == 0

    @rule()
    def an_update_overflows(self) -> None:
        """A tick during which D's weights become NaN, as an overflowing update leaves them."""
        self.lab.tick(draw=False)  # the guard keeps a finite copy from the first step on
        with torch.no_grad():
            next(self.lab.trainer.discriminator.parameters()).view(-1)[0] = math.nan
        self.lab.tick(draw=False)
        assert isinstance(self.lab.error, DivergenceError) and "diverged" in self.lab.status.value

    # -- pin, replay, presets, save and load ----------------------------------------------------------------------
    @rule()
    def pin(self) -> None:
        self.pinned_fake = self.lab.pin().fake.copy()

    @rule()
    def unpin(self) -> None:
        self.lab.unpin()
        self.pinned_fake = None

    @rule(data=st.data())
    def replay(self, data) -> None:
        lab = self.lab
        n, step, kept = len(lab.history), lab.trainer.step_count, lab.history.steps
        if n == 0:
            with pytest.raises(ValueError, match="index="):
                lab.replay(0)
            return
        index = data.draw(st.integers(-n, n - 1), label="index")
        assert lab.replay(index).step == kept[index] and lab.frame.step == kept[index]
        assert lab.trainer.step_count == step  # the panes go back, the trainer does not

    @rule(name=st.sampled_from(list(PRESETS)))
    def preset(self, name: str) -> None:
        lab, before = self.lab, self.lab.cfg
        wanted = replace(PRESETS[name].config, device=before.device)
        if all(accepts(lab, wanted, field, getattr(wanted, field)) for field in SETTINGS):
            lab.preset(name)
            assert lab.cfg == wanted and lab.trainer.step_count == 0
            lab.trainer.guard_every = 4
        else:
            with pytest.raises(ValueError, match=f"preset={name!r} does not fit"):
                lab.preset(name)
            assert lab.cfg == before

    @rule()
    def save_and_go_on_from_the_file(self) -> None:
        lab = self.lab
        if not finite_weights(lab.trainer.generator, lab.trainer.discriminator):
            return  # (the status says it diverged; the file would hold what the lab holds)
        path = lab.save(self.folder / "lab.pt")
        lab.redraw()
        loaded = GANLab.load(path, fps=0, chunk=lab.chunk, fast_chunks=2)
        assert loaded.trainer.step_count == lab.trainer.step_count and loaded.cfg == lab.cfg
        np.testing.assert_array_equal(loaded.frame.fake, lab.frame.fake)
        lab.close()
        self.lab, self.pinned_fake = loaded, None
        loaded.trainer.guard_every = 4

    # -- after each action -------------------------------------------------------------------------------------
    @invariant()
    def the_trainer_is_built_from_the_labs_settings(self) -> None:
        lab = self.lab
        G, D = lab.trainer.generator, lab.trainer.discriminator
        g_layers = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
        assert lab.trainer.config == lab.cfg
        assert g_layers[0].in_features == lab.cfg.z_dim and len(g_layers) - 1 == lab.cfg.depth
        assert D.net[0].in_features == 2 * lab.cfg.pack
        assert not differences_from_fresh(lab)

    @invariant()
    def every_control_shows_the_configuration(self) -> None:
        for name in SETTINGS:
            shown, value = self.lab.controls[name].value, getattr(self.lab.cfg, name)
            if name == "reg_weight" and value == 0:  # a log slider shows a weight of 0 at its lowest
                value = 10.0 ** self.lab.controls[name].min
            assert shown == value, (name, shown, value)

    @invariant()
    def the_weights_are_finite_or_the_divergence_is_shown(self) -> None:
        lab = self.lab
        if finite_weights(lab.trainer.generator, lab.trainer.discriminator) or "stopped" in lab.status.value:
            return
        # The guard reads every loss each step and every weight each `guard_every` steps: weights that the very
        # last update left non-finite (its loss was computed before it) are found by the next step, which puts back
        # the last finite copy and says so.
        lab.tick()
        assert finite_weights(lab.trainer.generator, lab.trainer.discriminator), lab.status.value
        assert "stopped" in lab.status.value, lab.status.value

    @invariant()
    def the_pinned_frame_and_the_replay_are_as_kept(self) -> None:
        lab = self.lab
        assert (lab.pinned is None) == (self.pinned_fake is None)
        if lab.pinned is not None:
            np.testing.assert_array_equal(lab.pinned.fake, self.pinned_fake)
        steps = lab.history.steps
        assert len(steps) <= MAX_FRAMES and steps == sorted(set(steps))
        assert lab.replay_slider.max == max(len(steps) - 1, 0) and lab.replay_slider.value <= lab.replay_slider.max

    def teardown(self) -> None:
        if hasattr(self, "lab"):
            self.lab.close()
        if hasattr(self, "folder"):
            shutil.rmtree(self.folder, ignore_errors=True)


def test_any_sequence_of_actions_leaves_the_lab_consistent(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_FAST", "1")  # play trains in the cell: no thread
    monkeypatch.setattr(lab_module, "LivePane", CheckingPane)
    start = time.perf_counter()
    run_state_machine_as_test(LabMachine, settings=settings(
        max_examples=SEQUENCES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    print(f"{SEQUENCES} sequences of {STEPS} actions: {time.perf_counter() - start:.1f} s")
