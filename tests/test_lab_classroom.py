"""What the lab gives a class beyond the panes: save and load, pin and compare, replay, presets, a classroom view.

Each test builds small labs (fps=0: no drawing while training) and checks what a student or a teacher would see:
the same step and the same samples after loading a file, the pinned frame unchanged while training goes on, an
earlier frame shown again without touching the trainer, a preset's settings on every control.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import gan_lessons as gl
from gan_lessons.checkpoints import CheckpointError
from gan_lessons.lab import PRESETS, SETTINGS, GANLab
from gan_lessons.lab_frames import Frame
from gan_lessons.lab_replay import MAX_FRAMES, FrameHistory

SMALL = gl.TrainConfig(depth=1, hidden=16, batch_size=64, regularizer="none", device="cpu", seed=3)


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_FAST", "1")  # play trains in the cell: no thread


def weights(lab: GANLab) -> list[torch.Tensor]:
    return [p.detach().clone() for m in (lab.trainer.generator, lab.trainer.discriminator) for p in m.parameters()]


# -- save and load ----------------------------------------------------------------------------------------------------
def test_a_loaded_lab_shows_the_same_step_and_samples_and_trains_on_as_the_saved_one(tmp_path):
    lab = GANLab(SMALL, fps=0, chunk=10)
    lab.set(lr_d=3e-3, loss="hinge")
    lab.run(120)
    path = lab.save(tmp_path / "class.lab.pt")
    frame = lab.frame
    lab.run(40)  # the teacher's lab goes on ...
    after_teacher = weights(lab)

    student = GANLab.load(path, fps=0, chunk=10)  # ... and a student opens the file
    assert student.trainer.step_count == frame.step == 120
    assert student.cfg == lab.cfg and student.cfg.loss == "hinge" and student.trainer.lr_d == 3e-3
    np.testing.assert_array_equal(student.frame.fake, frame.fake)  # the same picture
    np.testing.assert_array_equal(student.frame.heat, frame.heat)
    assert len(student.curves.steps) == len(frame.curves["step"]) > 0
    for key in ("step", "loss_d"):
        np.testing.assert_array_equal(student.curves.arrays()[key], frame.curves[key])
    assert all(student.controls[name].value == getattr(lab.cfg, name) for name in ("loss", "lr_d", "z_dim"))
    student.run(40)  # and training goes on as it did in the teacher's lab, bit for bit (CPU)
    for a, b in zip(weights(student), after_teacher):
        assert torch.equal(a, b)


def test_save_writes_atomically_and_load_refuses_what_lab_save_did_not_write(tmp_path):
    lab = GANLab(SMALL, fps=0)
    lab.run(16)
    with pytest.raises(ValueError, match="path="):
        lab.save("")
    (tmp_path / "taken").write_text("a file where a folder should be")
    with pytest.raises(CheckpointError, match="cannot write"):
        lab.save(tmp_path / "taken" / "lab.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written beside it
    lab.trainer.save(tmp_path / "trainer.pt")
    with pytest.raises(CheckpointError, match="not written by lab.save"):
        GANLab.load(tmp_path / "trainer.pt")
    (tmp_path / "cut.pt").write_bytes(lab.save(tmp_path / "whole.pt").read_bytes()[:3000])
    with pytest.raises(CheckpointError, match="cut.pt"):
        GANLab.load(tmp_path / "cut.pt")
    with pytest.raises(ValueError, match="takes its settings from the file"):
        GANLab.load(tmp_path / "whole.pt", cfg=SMALL)


def test_the_save_button_writes_the_named_file_and_says_so(tmp_path):
    lab = GANLab(SMALL, fps=0)
    lab.run(8)
    lab.file_name.value = str(tmp_path / "from_the_page.pt")
    lab.controls["save"].click()
    assert (tmp_path / "from_the_page.pt").is_file() and "saved step 8" in lab.status.value
    lab.file_name.value = str(tmp_path / "no" / "such" / "\0bad")
    lab.controls["save"].click()
    assert "not saved" in lab.status.value


# -- pin and compare -------------------------------------------------------------------------------------------------
def test_a_pinned_frame_stays_while_the_live_one_moves_on():
    lab = GANLab(SMALL, fps=0)
    lab.run(24)
    pinned = lab.pin()
    before = pinned.fake.copy()
    assert lab.pin_box.layout.display == "flex" and f"step {pinned.step}" in lab.pin_caption.value
    assert all(image.value for image in lab.pin_images.values())
    lab.set(lr_d=1e-2)
    lab.run(24)
    assert lab.frame.step == pinned.step + 24 and lab.pinned is pinned
    np.testing.assert_array_equal(lab.pinned.fake, before)
    assert not np.array_equal(lab.frame.fake, before)
    assert "lr_d=0.001" in lab.pin_caption.value  # the settings it was trained with, not today's
    lab.unpin()
    assert lab.pinned is None and lab.pin_box.layout.display == "none"


# -- replay ------------------------------------------------------------------------------------------------------------
def test_replay_shows_an_earlier_frame_without_touching_the_trainer():
    lab = GANLab(SMALL, fps=1000, chunk=4)  # a frame after every chunk
    lab.run(40)
    lab.pause()
    steps = lab.history.steps
    assert steps[0] <= 4 and steps[-1] == 40 and len(steps) >= 5
    assert lab.replay_slider.max == len(steps) - 1 and not lab.replay_slider.disabled
    kept = weights(lab)
    lab.replay_slider.value = 2  # a drag on the slider
    assert lab.frame.step == steps[2] and "replay" in lab.status.value
    assert lab.frame.curves["step"].max(initial=0) <= steps[2]  # the curves stop where that frame was
    assert all(torch.equal(a, b) for a, b in zip(weights(lab), kept)) and lab.trainer.step_count == 40
    assert lab.replay(-1).step == 40
    with pytest.raises(ValueError, match="index=99"):
        lab.replay(99)
    lab.replay(1)
    lab.play()  # play goes on from the newest step
    assert lab.trainer.step_count == 40 + lab.fast_chunks * lab.chunk and "replay" not in lab.status.value


def test_replay_memory_is_bounded_and_covers_the_whole_run():
    lab = GANLab(SMALL, fps=0)
    frame = lab.frame
    history = FrameHistory()
    for step in range(5 * MAX_FRAMES):
        history.add(Frame(**{**vars(frame), "step": step, "fake": frame.fake + step,
                             "heat": frame.heat.copy(), "curves": frame.curves}))
        assert history.steps[-1] == step and len(history) <= MAX_FRAMES  # the newest is always there
    assert history.steps[0] == 0 and history.steps[-1] == 5 * MAX_FRAMES - 1
    gaps = np.diff(history.steps)
    assert gaps.max() <= 2 * np.median(gaps)  # evenly spread over the run, not only its end
    per_frame = frame.fake.nbytes + frame.heat.nbytes + frame.arrow_from.nbytes + frame.arrow_dir.nbytes
    per_frame += getattr(frame, "manifold", np.zeros(0)).nbytes
    shared = frame.real.nbytes + frame.centres.nbytes
    assert history.nbytes() <= MAX_FRAMES * per_frame + shared
    assert history.nbytes() < 8 * 2**20  # the bound the module states: well under 8 MB
    assert all(kept.curves == {} for kept in history.frames)
    with pytest.raises(ValueError, match="max_frames"):
        FrameHistory(2)


def test_a_kept_frame_holds_only_its_own_bytes():
    lab = GANLab(SMALL, fps=0)
    history = FrameHistory()
    history.add(lab.frame)
    assert all(value.base is None or value.base.nbytes == value.nbytes
               for value in vars(history[0]).values() if isinstance(value, np.ndarray))


# -- presets ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_sets_every_control_and_starts_again(name):
    lab = GANLab(fps=0, chunk=4)
    lab.run(8)
    lab.preset_menu.value = name  # a pick in the dropdown
    wanted = gl.config.replace(PRESETS[name].config, device=lab.cfg.device)
    assert lab.cfg == wanted and lab.trainer.config == wanted and lab.trainer.step_count == 0
    for field in SETTINGS:
        shown, value = lab.controls[field].value, getattr(wanted, field)
        if field == "reg_weight" and value == 0:
            value = 10.0 ** lab.controls[field].min
        assert shown == value, (field, shown, value)
    assert name in lab.story.value and PRESETS[name].lesson in lab.story.value
    lab.run(8)
    assert lab.trainer.step_count == 8


def test_lesson_07s_collapse_is_the_mode_collapse_preset():
    """Lesson 07 trained this configuration before its lab opened at the preset: the story and its numbers hold."""
    assert PRESETS["mode collapse"].config == gl.TrainConfig(target="ring8", regularizer="none", seed=0)


def test_a_lab_opens_at_a_preset_and_refuses_unknown_ones():
    name = next(iter(PRESETS))
    assert GANLab(preset=name, fps=0).cfg == gl.config.replace(PRESETS[name].config, device="auto")
    with pytest.raises(ValueError, match="preset='no such story'.*allowed values"):
        GANLab(preset="no such story")
    with pytest.raises(ValueError, match="give one of them"):
        GANLab(SMALL, preset=name)
    lab = GANLab(fps=0)
    before = lab.cfg
    with pytest.raises(ValueError, match="preset="):
        lab.preset("no such story")
    assert lab.cfg == before


def test_a_preset_the_controls_cannot_show_is_refused_and_changes_nothing():
    lab = GANLab(gl.TrainConfig(pack=3, batch_size=96, device="cpu"), fps=0)  # its batch sizes are multiples of 3
    fits = [name for name, p in PRESETS.items() if p.config.batch_size % 3 == 0]
    misfit = next(name for name in PRESETS if name not in fits)
    before = lab.cfg
    with pytest.raises(ValueError, match=f"preset={misfit!r} does not fit"):
        lab.preset(misfit)
    assert lab.cfg == before and lab.controls["batch_size"].value == 96


# -- the classroom view ------------------------------------------------------------------------------------------------
def shown_control_names(lab: GANLab) -> set[str]:
    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)
    shown = {id(w) for w in walk(lab.widget)}
    return {name for name in SETTINGS if id(lab.controls[name]) in shown}


def test_the_classroom_view_shows_only_the_named_controls():
    lab = GANLab(fps=0, show=("lr_d", "lr_g", "z_dim"))
    assert shown_control_names(lab) == {"lr_d", "lr_g", "z_dim"}
    assert shown_control_names(GANLab(fps=0)) == set(SETTINGS)
    lab.set(loss="hinge")  # a hidden control still takes a value from code
    assert lab.cfg.loss == "hinge"
    with pytest.raises(ValueError, match="show=.*'lr'.*allowed names: target, loss"):
        GANLab(show=("lr",))
    with pytest.raises(ValueError, match="show='lr_d'"):
        GANLab(show="lr_d")


def test_the_projector_layout_draws_larger_panes():
    small, large = GANLab(fps=0), GANLab(fps=0, size="projector")
    assert len(large.images["samples"].value) > len(small.images["samples"].value)
    width = lambda lab: lab.panes["samples"].canvas.get_width_height()[0]  # noqa: E731
    assert width(large) >= 1.6 * width(small)
    assert "font-size" in large.status.value and "font-size" not in small.status.value
    with pytest.raises(ValueError, match="size='huge' is not allowed; allowed values: normal, projector"):
        GANLab(size="huge")

