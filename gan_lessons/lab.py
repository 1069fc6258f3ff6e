"""The live lab: a 2-D GAN that trains while you move its sliders (the only module that imports ipywidgets).

    lab = gl.lab.GANLab()      # as a cell's last expression: the controls and four live panes
    lab.play(); lab.pause()    # or the buttons; lab.tick() trains one chunk here and now

How it stays responsive: `play` starts a background thread that trains in chunks of a few steps; `pause`
stops it. Only that thread touches the trainer, and only between two steps: a control's callback queues
its change, and the thread applies it before its next step, so a new learning rate reaches the optimizer
within a step. About `fps` times a second, between two chunks, the thread copies what the panes need into
a `Frame` and draws it: one reused matplotlib figure per pane, rendered into PNG bytes for a
`widgets.Image`. (Drawing on a second thread was measured slower: the two threads queue for Python's
GIL.) The thread never prints and uses no Output widget. In fast mode (tests) `play` trains a few chunks
synchronously and returns, so no thread outlives the cell. Where widgets cannot render (nbconvert HTML,
static viewers), the lab's output carries a still picture of the panes.

The lab speaks the language in use (i18n.py): the controls' labels are those of the language in use when the lab
is made; the status line, the messages and the panes' words follow the language in use when they are drawn.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable

import ipywidgets as widgets
import torch

from .checkpoints import CheckpointError, read_checkpoint
from .config import TrainConfig, fast_mode, get_device, later, replace, seed_everything
from .data.toy import target_for
from .guard import DivergenceError
from .i18n import get_language, tr
from .lab_frames import (SETTINGS, Curves, Domain, Frame, Meter, check_setting, control_domains, guarded_update,
                         thin_history)
from .lab_panes import PANE_NAMES, LivePane, coverage_text, png_bytes, snapshot_figure
from .lab_presets import PRESETS, Preset, preset_label
from .lab_replay import FrameHistory, with_curves
from .models import mlp_gan_2d
from .training import Callback, GANTrainer, make_2d_trainer

USUAL_WEIGHT = {"gp": 10.0, "r1": 0.1, "r2": 0.1}  # lambda = 10 for WGAN-GP; gamma = 0.1 for R1/R2 on these targets
# each control's label, said with tr() when the lab is made
LABELS = {"target": later.tr("target"), "loss": later.tr("loss"), "lr_d": later.tr("lr of D"),
          "lr_g": later.tr("lr of G"), "z_dim": later.tr("noise dim"), "batch_size": later.tr("batch size"),
          "d_steps": later.tr("D steps per G"), "regularizer": later.tr("regularizer"),
          "reg_weight": later.tr("its weight")}
Change = Callable[[], "str | None"]


class _TrainerReplaced(Exception):
    """Ends a trainer's run from a callback: a reset between two steps replaced that trainer."""


# Where the lab starts when it is given no configuration: a plain GAN (no regularizer) whose G and D have three
# hidden layers of 64 units and learn at 3e-3. Of the starting points that `python -m benchmarks.lab_defaults`
# measures (benchmarks/lab_defaults.md), it covers the ring in the fewest seconds. Lessons that tell a story (a
# collapse, a fix) pass their own TrainConfig; TrainConfig() itself stays the lessons' plain 2-D GAN.
LAB_DEFAULTS = PRESETS["fast ring"].config  # defined once, in lab_presets.py


class GANLab:
    """Controls and live panes over a `GANTrainer` of the 2-D GAN that `cfg` describes (LAB_DEFAULTS when None).

    fps: redraws per second while training (0: none); chunk: steps between two looks at the clock;
    threads: torch threads while the lab trains (measured: a second one slows these small matrices down,
    and on two cores it fights the notebook for the other); fast_chunks: the chunks `play` trains in fast mode.
    preset: start from one of PRESETS (a lesson's story) instead of `cfg`; show: the names of the controls to show
    (a classroom view: `show=("lr_d", "lr_g", "z_dim")`; all of SETTINGS when None); size: "normal", or "projector"
    for larger panes and text.
    """

    def __init__(self, cfg: TrainConfig | None = None, fps: float = 6.0, chunk: int = 8, threads: int = 1,
                 fast_chunks: int = 5, *, preset: str | None = None, show: tuple[str, ...] | None = None,
                 size: str = "normal"):
        if preset is not None:
            if cfg is not None:
                raise ValueError(tr("preset={preset} and cfg were both given; a preset is a whole configuration: "
                                    "give one of them", preset=repr(preset)))
            cfg = replace(preset_named(preset).config, device="auto")
        if size not in PANE_SIZES:
            raise ValueError(tr("{name}={value} is not allowed; allowed values: {allowed}", name="size",
                                value=repr(size), allowed=", ".join(PANE_SIZES)))
        self.cfg = cfg if cfg is not None else LAB_DEFAULTS
        self.shown, self.size = shown_controls(show), size
        self.fps, self.chunk, self.threads, self.fast_chunks = fps, chunk, threads, fast_chunks
        self._pending: list[tuple[Change, str]] = []  # queued changes, oldest first
        self._lock = threading.Lock()  # guards _pending and _message
        self._trainer_lock = threading.RLock()  # held while the trainer is used
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_frame: Frame | None = None  # the frame the panes show
        self._message, self.frames_drawn, self.error = "ready: press play", 0, None
        self.history = FrameHistory()  # the frames shown, for replay (bounded)
        self._replaying: int | None = None  # the index in history of the frame shown again, None while live
        self._pinned: tuple[Frame, TrainConfig] | None = None
        self._build()
        width, height, dpi = PANE_SIZES[size]
        self.panes = {name: LivePane(name, (width, height), dpi) for name in PANE_NAMES}
        self.images = {name: widgets.Image(format="png") for name in PANE_NAMES}
        self.pin_panes = {name: LivePane(name, (width, height), dpi) for name in PINNED_PANES}
        self.pin_images = {name: widgets.Image(format="png") for name in PINNED_PANES}
        self.status, self.coverage, self.story, self.pin_caption = (widgets.HTML() for _ in range(4))
        self.domains = control_domains(self.cfg)  # what each control offers
        self.controls = self._make_controls()
        self._accepted = {name: getattr(self.cfg, name) for name in SETTINGS}  # what each control last took
        self._refusing: str | None = None  # the control whose refused value is being put back
        self.widget = self._layout()
        if preset is not None:
            self._show_story(preset)
        self.redraw()

    # -- what lessons call -----------------------------------------------------------------------------
    @property
    def trainer(self) -> GANTrainer:
        """The GANTrainer the lab drives (replaced by reset)."""
        return self._trainer

    @property
    def frame(self) -> Frame | None:
        """What the panes show now: step, samples, the mode coverage measured last (None before the first draw)."""
        return self._last_frame

    @property
    def running(self) -> bool:
        """True while the background training thread is alive."""
        return self._worker is not None and self._worker.is_alive()

    def play(self) -> None:
        """Train in a background thread; in fast mode (tests), `fast_chunks` chunks right here instead."""
        if self.running:
            return
        if fast_mode():
            self.run(self.fast_chunks * self.chunk)
            return
        self._replaying = None
        self.replay_slider.disabled = True
        self._stop.clear()
        self.error = None
        self._worker = threading.Thread(target=self._train_loop, name="gan-lab", daemon=True)
        self._say("training")
        self._worker.start()

    def pause(self, timeout: float = 10.0) -> None:
        """Stop the thread (it ends its step or frame), apply what is still queued, redraw."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self._apply_pending()
        if self.error is None:
            self._say("paused")
        self.redraw()

    def tick(self, draw: bool = True) -> dict[str, float]:
        """One chunk of training steps here and now (while paused); the last step's metrics ({} if it diverged)."""
        self._refuse_while_running("tick")
        self.error = None
        try:
            metrics = self._train_chunk(self.chunk)
        except DivergenceError as error:  # as in `run`: the status line says it (drawn now)
            metrics, draw = {}, True
            self._diverged(error)
        if draw:
            self.redraw()
        return metrics

    def run(self, n_steps: int) -> None:
        """n_steps steps here and now (the cell waits), redrawn about `fps` times a second."""
        self._refuse_while_running("run")
        self.error = None
        last_draw = time.perf_counter()
        try:
            for start in range(0, n_steps, self.chunk):
                self._train_chunk(min(self.chunk, n_steps - start))
                if self.fps and time.perf_counter() - last_draw >= 1 / self.fps:
                    self.redraw()
                    last_draw = time.perf_counter()
        except DivergenceError as error:  # shown in the status line; the lab stays usable
            self._diverged(error)
        self.redraw()

    def set(self, **settings) -> None:
        """Move controls from code, as a drag or a pick in the page does: `lab.set(lr_d=1e-4, loss="hinge")`.

        A value a control cannot take raises ValueError naming the control and what it allows; then nothing changes.
        """
        for name, value in settings.items():
            check_setting(self.cfg, self.domains, name, value)
        for name, value in settings.items():
            self._take(name, value)  # also when the control shows it already (a log slider shows 0 at its lowest)
            self.controls[name].value = value  # its callback finds the value taken

    def step_d(self) -> dict[str, float]:
        """Exactly one update of D, G unchanged (while paused)."""
        return self._one_update("D", lambda: self._trainer.d_step(self._trainer.sample_real()))

    def step_g(self) -> dict[str, float]:
        """Exactly one update of G, D unchanged (while paused)."""
        return self._one_update("G", lambda: self._trainer.g_step(self.cfg.batch_size, self._device))

    def reset(self) -> None:
        """Re-seed and start again from fresh G and D, with the settings the controls show."""
        self._submit(self._rebuild, "reset")

    def wait(self, seconds: float) -> None:
        """Let the training thread run for `seconds` (returns at once in fast mode, or when training stops)."""
        if not fast_mode():
            self._stop.wait(seconds)

    def redraw(self) -> None:
        """Draw every pane now, on this thread (while training runs, the training thread does it)."""
        if not self.running:
            with self._trainer_lock:
                self._show(self._frame())

    def snapshot(self):
        """A new matplotlib Figure with every pane side by side: the lab's state as a still picture."""
        if self.running:  # only the training thread touches the trainer: show its last frame
            return snapshot_figure(self._last_frame)
        with self._trainer_lock:
            return snapshot_figure(self._frame())

    def close(self) -> None:
        """Stop training and close the widgets."""
        self.pause()
        self.widget.close()

    # -- presets, pin and compare, replay, save and load ------------------------------------------------------
    def preset(self, name: str) -> None:
        """Every setting as the preset `name` has them (the controls, and the depth, width, optimizer and seed
        behind them), then fresh G and D at step 0: `lab.preset("mode collapse")`. PRESETS lists them with their
        stories. A preset whose values this lab's controls do not offer raises ValueError, and nothing changes."""
        cfg = replace(preset_named(name).config, device=self.cfg.device)
        for field in SETTINGS:
            try:
                check_setting(cfg, self.domains, field, getattr(cfg, field))
            except ValueError as error:
                raise ValueError(tr("preset={name} does not fit this lab's controls ({error}); start a new lab "
                                    "with it: GANLab(preset={name})", name=repr(name), error=error)) from None
        for field in SETTINGS:  # the controls show it at once; the trainer takes it between two steps
            self._accepted[field] = getattr(cfg, field)
            with self._quietly(field):
                self.controls[field].value = getattr(cfg, field)
        with self._quietly("preset"):
            self.preset_menu.value = name
        self._show_story(name)
        what = tr("preset {name}", name=repr(name))
        self._submit(lambda: self._use(cfg, what), what)

    @property
    def pinned(self) -> Frame | None:
        """The frame that `pin` froze beside the live panes (None when nothing is pinned)."""
        return self._pinned[0] if self._pinned else None

    def pin(self) -> Frame:
        """Freeze the frame shown now beside the live panes, with the settings it was trained with, so that
        "before" and "after" a change can be seen side by side; pinning again replaces it."""
        frame = self._last_frame
        if frame is None:
            self.redraw()
            frame = self._last_frame
        self._pinned = (frame, self.cfg)
        for name, pane in self.pin_panes.items():
            self.pin_images[name].value = pane.render(frame)
        self.pin_caption.value = pinned_caption(frame, self.cfg)
        self.pin_box.layout.display = "flex"
        return frame

    def unpin(self) -> None:
        """Take the pinned frame away."""
        self._pinned = None
        self.pin_box.layout.display = "none"

    def replay(self, index: int) -> Frame:
        """Show again the index-th frame that this run kept (while paused; 0 is the first, -1 the newest): the
        panes go back in time, the trainer does not, and play goes on from the newest step. The replay slider
        does the same."""
        self._refuse_while_running("replay")
        n = len(self.history)
        if isinstance(index, bool) or not isinstance(index, int) or not -n <= index < n:
            raise ValueError(tr("index={index} is not allowed; this run has kept {n} frames: give an integer from "
                                "0 to {last} (or -1 for the newest)", index=repr(index), n=n, last=n - 1))
        index %= n
        frame = with_curves(self.history[index], self.curves.arrays())
        self._replaying = index if index < n - 1 else None
        self._show(frame, live=False)
        with self._quietly("replay"):
            self.replay_slider.value = index
        return frame

    def save(self, path: str | os.PathLike) -> Path:
        """Write the lab into one file: its settings, G and D, both optimizers, the random states, the history and
        the curves. `GANLab.load(path)` (any computer, a fresh kernel) shows the same step and the same samples,
        and training goes on from there as it would here. The file is written atomically (a reader never sees
        half of one) and read back without running code. While training, the lab pauses to save, then goes on."""
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ValueError(tr("path={path} is not allowed; give a file name, such as 'step3000.lab.pt'",
                                path=repr(path)))
        was_running = self.running
        if was_running:
            self.pause()
        try:
            with self._trainer_lock:
                lab = {"format": LAB_FILE_FORMAT, "config": dataclasses.asdict(self.cfg),
                       "curves": curves_state(self.curves)}
                written = self._trainer.save(path, extra={"lab": lab})
                self._say(tr("saved step {step} to {path}", step=self._trainer.step_count, path=written))
        finally:
            if was_running:
                self.play()
        if not was_running:
            self.redraw()
        return written

    @classmethod
    def load(cls, path: str | os.PathLike, **options) -> GANLab:
        """The lab that `lab.save(path)` wrote, at the step it was saved, showing the same samples. options: those
        of GANLab other than cfg and preset (fps, show, size, ...): the settings come from the file. A file that
        lab.save did not write, or one damaged, raises CheckpointError (a ValueError) saying what to do."""
        if "cfg" in options or "preset" in options:
            raise ValueError(tr("GANLab.load takes its settings from the file; give only fps, chunk, threads, "
                                "fast_chunks, show or size"))
        state = read_checkpoint(path)
        saved = state.get("lab")
        if not isinstance(saved, dict) or saved.get("format") != LAB_FILE_FORMAT:
            raise CheckpointError(tr("{path} was not written by lab.save (it has no {entry} entry); a trainer's "
                                     "checkpoint is loaded with GANTrainer.load", path=path,
                                     entry=repr(LAB_FILE_FORMAT)))
        try:
            cfg = TrainConfig(**saved["config"])
            curves = curves_from(saved["curves"])
        except (TypeError, ValueError, KeyError) as error:
            raise CheckpointError(tr("{path}: its lab settings cannot be used ({error}); save it again with "
                                     "lab.save", path=path, error=error)) from error
        lab = cls(_on_this_computer(cfg), **options)
        with lab._trainer_lock:
            lab._trainer.load(path)
            lab.curves = curves
            lab.history.clear()
        lab._say(tr("loaded {name}: step {step}", name=Path(path).name, step=lab._trainer.step_count))
        lab.redraw()
        return lab

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The widget where widgets render, and a PNG of the panes for static viewers (nbconvert HTML)."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["image/png"] = base64.b64encode(png_bytes(self.snapshot().canvas)).decode("ascii")
        bundle["text/plain"] = f"GANLab(step={self._trainer.step_count}, target={self.cfg.target!r})"
        return bundle

    def _one_update(self, player: str, update: Callable[[], dict[str, float]]) -> dict[str, float]:
        """One update of D or G alone (while paused); one that diverges is undone, and the status line says so."""
        self._refuse_while_running(f"step {player}")
        with self._trainer_lock:
            metrics, error = guarded_update(self._trainer, update)
            key = f"loss_{player.lower()}"
            self._say(tr("one {player} update: {key}={value:.3f}", player=player, key=key, value=metrics[key]))
            if error is not None:
                self._diverged(error)
        self.redraw()
        return metrics

    # -- changes: queued by the callbacks, applied between two steps ---------------------------------------
    def _submit(self, change: Change, what: str) -> None:
        with self._lock:
            self._pending.append((change, what))
        if not self.running:  # no thread uses the trainer: apply now, and show it
            self._apply_pending()
            self.redraw()

    def _apply_pending(self) -> None:
        with self._trainer_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            for change, what in pending:
                try:
                    message = change()
                except ValueError as error:  # a value the trainer refuses: say why, keep training
                    message = tr("{what} not applied: {error}", what=what, error=error)
                if message:
                    self._say(message)

    def _set(self, name: str, value) -> str | None:
        """Give the trainer a control's new value (on the thread that owns the trainer); the status message."""
        old, trainer = getattr(self.cfg, name), self._trainer
        self.cfg = replace(self.cfg, **{name: value})  # validated; reset() starts from these settings
        if name in ("target", "batch_size"):  # a new source of real batches; G and D train on
            self.target = target_for(self.cfg.target, self.cfg.standardize)
            trainer.replace_data(self.target.sampler(self.cfg.batch_size, self._device), **{name: value})
        elif name == "z_dim":  # a new G as make_2d_trainer builds it (the D built beside it is left unused)
            generator, _ = mlp_gan_2d(value, self.cfg.hidden, self.cfg.spectral_norm, self.cfg.pack, self.cfg.depth)
            trainer.replace_generator(generator.to(self._device), value)
            return tr("noise dimension {old} → {value}: generator rebuilt (a new G, and a new Adam for it)", old=old,
                      value=value)
        else:
            trainer.configure(**{name: value})  # the next step uses it
        return None if name.startswith("lr_") else f"{name}: {old} → {value}"

    def _build(self) -> None:
        seed_everything(self.cfg.seed)
        self._trainer, self.target = make_2d_trainer(self.cfg, hand_written_backward=True)
        self._device = next(self._trainer.generator.parameters()).device
        self.curves, self._meter = Curves(), Meter()
        self.history.clear()

    def _rebuild(self) -> str:
        self._build()
        return tr("reset: seed {seed}, fresh G and D, step 0", seed=self.cfg.seed)

    def _use(self, cfg: TrainConfig, what: str) -> str:
        """Start again from `cfg` (on the thread that owns the trainer)."""
        self.cfg = cfg
        self._build()
        return tr("{what}: seed {seed}, fresh G and D, step 0", what=what, seed=cfg.seed)

    # -- the training thread ---------------------------------------------------------------------------------
    def _train_chunk(self, n: int) -> dict[str, float]:
        """n steps of the trainer's own `run`, the queued changes applied before each; the last step's metrics.

        A reset applied between two steps replaces the trainer: its run ends there and the rest of the chunk
        trains the new one (the old one must not draw from the random numbers that the reset re-seeded).
        """
        last: list[dict[str, float]] = [{}]  # filled by the callback after each step
        with self._trainer_lock:
            while n > 0:
                if self._pending:
                    self._apply_pending()
                trainer, start = self._trainer, self._trainer.step_count
                with contextlib.suppress(_TrainerReplaced):
                    trainer.run(n, (self.curves, self._after_step(trainer, last)), progress=False)
                n -= trainer.step_count - start
            thin_history(self._trainer.history)
        return last[0]

    def _after_step(self, trainer: GANTrainer, last: list[dict[str, float]]) -> Callback:
        """The callback that keeps a step's metrics in last[0], then applies the changes queued during it."""
        def callback(step: int, metrics: dict[str, float]) -> None:
            last[0] = metrics
            if self._pending:
                self._apply_pending()
            if self._trainer is not trainer:
                raise _TrainerReplaced
        return callback

    def _train_loop(self) -> None:
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # process-wide for new threads and MKL; restored below
        try:
            next_frame = time.perf_counter()
            while not self._stop.is_set():
                self._train_chunk(self.chunk)
                now = time.perf_counter()
                if self.fps and now >= next_frame:  # frames on a steady clock; a late one does not bunch up
                    next_frame = next_frame + 1 / self.fps if next_frame + 1 / self.fps > now else now + 1 / self.fps
                    with self._trainer_lock:
                        self._show(self._frame())
        except DivergenceError as error:
            self._diverged(error)
            with self._trainer_lock:
                self._show(self._frame())
        except Exception as error:  # noqa: BLE001 (a thread cannot raise into the cell: the status says it)
            self.error = error
            self._say(tr("training stopped: {kind}: {error}", kind=type(error).__name__, error=error))
            self.status.value += " · " + tr("<b>training stopped</b>: {kind}: {error}", kind=type(error).__name__,
                                            error=error)
        finally:
            torch.set_num_threads(previous)
            self._stop.set()

    def _frame(self) -> Frame:
        return self._meter.frame(self._trainer, self.target, self.cfg.loss, self.curves, self.running)

    def _show(self, frame: Frame, live: bool = True) -> None:
        """Draw `frame`: a live one (kept for replay), or one of the run's kept frames shown again."""
        for name, pane in self.panes.items():
            self.images[name].value = pane.render(frame)
        training = self.running and not self._stop.is_set()
        state = "training" if training else "paused"
        message = f" · {state_text(self._message)}" if self._message not in ("", state) else ""
        if live:
            self._replaying = None
            self.history.add(frame)
        else:
            newest = self.history[-1].step
            message = " · " + tr("<b>replay</b> of step {step} (the run is at step {newest}; play goes on from "
                                 "there)", step=frame.step, newest=newest)
        rate = tr("{rate:.0f} steps/s", rate=frame.steps_per_s)
        self.status.value = self._big(f"<code>step={frame.step}</code> · {rate} · "
                                      f"<code>lr_d={frame.lr_d:.2e}</code> · <code>lr_g={frame.lr_g:.2e}</code> · "
                                      f"{state_text(state)}{message}")
        self.coverage.value = self._big(coverage_text(frame.coverage, len(frame.centres)))
        self._last_frame = frame
        self.frames_drawn += 1
        if live and not training and threading.current_thread() is not self._worker:
            self._sync_replay_slider()

    def _sync_replay_slider(self) -> None:
        """While paused: the replay slider spans the kept frames and stands at the newest."""
        with self._quietly("replay"):
            self.replay_slider.max = max(len(self.history) - 1, 0)
            self.replay_slider.value = self.replay_slider.max
        self.replay_slider.disabled = len(self.history) < 2

    def _big(self, html: str) -> str:
        return f'<span style="font-size: 150%">{html}</span>' if self.size == "projector" else html

    def _show_story(self, name: str) -> None:
        chosen, label = PRESETS[name], preset_label(name)
        heading = name if label == name else f"{label} ({name})"  # the name lab.preset takes, beside a translation
        self.story.value = self._big(tr("<b>{name}</b> (lesson {lesson}): {story} <i>Watch: {watch}</i>",
                                        name=heading, lesson=chosen.lesson, story=tr(chosen.story),
                                        watch=tr(chosen.watch)))

    @contextlib.contextmanager
    def _quietly(self, name: str):
        """Change a widget from code without its callback acting on it."""
        previous, self._refusing = self._refusing, name
        try:
            yield
        finally:
            self._refusing = previous

    def _diverged(self, error: DivergenceError) -> None:
        """The guard restored the last finite weights: say what happened and what to do; play goes on from there."""
        self.error = error
        self.curves.truncate(error.restored_step)
        self._trainer.configure()  # the optimizers put back hold their old learning rates: the configuration's apply
        self._say(tr("<b>stopped</b>: {error} Lower a learning rate (or change the loss) and press play.",
                     error=error))

    def _say(self, message: str) -> None:
        with self._lock:
            self._message = message

    def _refuse_while_running(self, what: str) -> None:
        if self.running:
            raise RuntimeError(tr("{what} works while the lab is paused: call lab.pause() first", what=what))

    # -- the widgets ---------------------------------------------------------------------------------------
    def _make_controls(self) -> dict[str, widgets.Widget]:
        width = CONTROL_WIDTHS[get_language()][self.size == "projector"]
        c = {name: control(domain, getattr(self.cfg, name), tr(LABELS[name]), width)
             for name, domain in self.domains.items()}
        for name, widget in c.items():
            widget.observe(lambda change, name=name: self._take(name, change["new"]), names="value")
        buttons = {"play": (tr("play"), "play", self.play), "pause": (tr("pause"), "pause", self.pause),
                   "step_d": (tr("step D"), "step-forward", self.step_d),
                   "step_g": (tr("step G"), "step-forward", self.step_g),
                   "reset": (tr("reset"), "undo", self.reset), "pin": (tr("pin"), "thumb-tack", self.pin),
                   "unpin": (tr("unpin"), "times", self.unpin), "save": (tr("save"), "save", self._save_from_page)}
        for name, (label, icon, action) in buttons.items():
            c[name] = widgets.Button(description=label, icon=icon, layout=widgets.Layout(width="88px"))
            c[name].on_click(self._on_click(action))
        self.preset_menu = widgets.Dropdown(options=[(tr("a lesson's story…"), None),
                                                     *((preset_label(n), n) for n in PRESETS)],
                                            value=None, description=tr("preset"), style={"description_width": width})
        self.preset_menu.observe(lambda change: self._pick_preset(change["new"]), names="value")
        self.replay_slider = widgets.IntSlider(value=0, min=0, max=0, description=tr("replay frame"), disabled=True,
                                               continuous_update=True, style={"description_width": width},
                                               layout=widgets.Layout(width="520px"))
        self.replay_slider.observe(lambda change: self._scrub(change["new"]), names="value")
        self.file_name = widgets.Text(value="gan_lab.pt", description=tr("file"), style={"description_width": width},
                                      layout=widgets.Layout(width="260px"))
        for widget, css in ((c["lr_d"], "gan-lab-lr-d"), (c["lr_g"], "gan-lab-lr-g"), (c["z_dim"], "gan-lab-z-dim"),
                            (c["play"], "gan-lab-play"), (c["pause"], "gan-lab-pause"), (c["pin"], "gan-lab-pin"),
                            (c["save"], "gan-lab-save"), (self.preset_menu, "gan-lab-preset"),
                            (self.replay_slider, "gan-lab-replay"), (self.file_name, "gan-lab-file")):
            widget.add_class(css)  # names the browser test looks for
        return c

    def _pick_preset(self, name: str | None) -> None:
        if name is None or self._refusing == "preset":
            return
        try:
            self.preset(name)
        except ValueError as error:
            self._say(str(error))
            self.redraw()

    def _scrub(self, index: int) -> None:
        """The replay slider moved: show that frame (while paused; while training the slider is off)."""
        if self._refusing == "replay" or self.running or not len(self.history):
            return
        self.replay(min(index, len(self.history) - 1))

    def _save_from_page(self) -> None:
        try:
            self.save(self.file_name.value)
        except ValueError as error:  # CheckpointError too: a folder that cannot be written, a bad name
            self._say(tr("not saved: {error}", error=error))
            self.redraw()

    def _take(self, name: str, value) -> None:
        """What a control's callback does with its new value: queue it for the trainer, or refuse it and say why."""
        if value == self._accepted[name] or name == self._refusing:
            return
        try:
            check_setting(self.cfg, self.domains, name, value)
        except ValueError as error:  # e.g. NaN typed into a slider: show the last good value again
            self._say(tr("{name} not changed: {error}", name=name, error=error))
            self._refusing = name  # (a slider may show it clamped: a weight of 0 at its lowest; not a new value)
            self.controls[name].value = self._accepted[name]
            self._refusing = None
            self.redraw()  # the status line says it now (while training, the next frame does)
            return
        self._accepted[name] = value
        if name == "regularizer" and value in USUAL_WEIGHT:  # GP's lambda and R1's gamma differ 100-fold
            self.controls["reg_weight"].value = USUAL_WEIGHT[value]
        self._submit(lambda: self._set(name, value), f"{name}={value!r}")

    def _on_click(self, action: Callable[[], object]) -> Callable[[widgets.Button], None]:
        def handler(_button: widgets.Button) -> None:
            try:
                action()
            except RuntimeError as error:  # step D / step G while training: the next frame says so
                self._say(str(error))
        return handler

    def _layout(self) -> widgets.Widget:
        self.status.add_class("gan-lab-status")
        self.coverage.add_class("gan-lab-coverage")
        self.pin_caption.add_class("gan-lab-pinned")
        self.story.add_class("gan-lab-story")
        for image in self.images.values():
            image.add_class("gan-lab-pane")
        for image in self.pin_images.values():
            image.add_class("gan-lab-pinned-pane")
        c = self.controls
        buttons = widgets.HBox([c[name] for name in ("play", "pause", "step_d", "step_g", "reset", "pin", "unpin")])
        settings = widgets.VBox([self.preset_menu, *(c[name] for name in self.shown),
                                 widgets.HBox([self.file_name, c["save"]])])
        panes = widgets.GridBox(list(self.images.values()),
                                layout=widgets.Layout(grid_template_columns="repeat(2, max-content)"))
        self.pin_box = widgets.VBox([self.pin_caption, *self.pin_images.values()],
                                    layout=widgets.Layout(display="none", border="2px dashed #999", padding="2px"))
        return widgets.VBox([buttons, self.status, self.replay_slider,
                             widgets.HBox([settings, panes, self.pin_box]), self.coverage, self.story])


# pane width and height (inches) and dots per inch: on a laptop, and larger for a projector
PANE_SIZES = {"normal": (3.4, 3.2, 80), "projector": (4.6, 4.3, 100)}
# the width of the controls' labels in each language, (normal, projector): a Chinese label names the setting and its
# identifier ("判别器学习率 lr_d")
CONTROL_WIDTHS = {"en": ("110px", "160px"), "zh": ("150px", "210px")}
PINNED_PANES = ("samples", "discriminator")  # what a pinned frame shows beside the live panes
LAB_FILE_FORMAT = "gan-lab/1"  # the "lab" entry of a file that lab.save writes


def state_text(message: str) -> str:
    """A message of the status line in the language in use: the lab's state (ready, training, paused) translated,
    any other message as it was said."""
    states = {"ready: press play": tr("ready: press play"), "training": tr("training"), "paused": tr("paused")}
    return states.get(message, message)


def preset_named(name: str) -> Preset:
    """The preset `name`, or a ValueError naming the ones there are."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(tr("{name}={value} is not allowed; allowed values: {allowed}", name="preset",
                            value=repr(name), allowed=", ".join(map(repr, PRESETS))))
    return PRESETS[name]


def shown_controls(show) -> tuple[str, ...]:
    """The controls a lab shows: `show`'s names (checked), or every one of SETTINGS when show is None."""
    if show is None:
        return SETTINGS
    if isinstance(show, str) or not all(isinstance(name, str) for name in show):
        raise ValueError(tr("show={show} is not allowed; give a tuple of control names from: {allowed}",
                            show=repr(show), allowed=", ".join(SETTINGS)))
    unknown = [name for name in show if name not in SETTINGS]
    if unknown:
        raise ValueError(tr("show={show} is not allowed: {unknown} is not a control; allowed names: {allowed}",
                            show=repr(tuple(show)), unknown=", ".join(map(repr, unknown)),
                            allowed=", ".join(SETTINGS)))
    return tuple(show)


def pinned_caption(frame: Frame, cfg: TrainConfig) -> str:
    """What a pinned frame was: its step, coverage and the settings it was trained with."""
    coverage = (tr("{modes} modes, {hq:.0f}% HQ", modes=frame.coverage["modes"], hq=frame.coverage["hq"])
                if frame.coverage else "")
    return (tr("<b>pinned</b>: step {step} · {coverage}", step=frame.step, coverage=coverage) +
            f"<br><code>loss={cfg.loss}</code> "
            f"<code>lr_d={cfg.lr_d:.2g}</code> <code>lr_g={cfg.lr_g:.2g}</code> <code>z_dim={cfg.z_dim}</code> "
            f"<code>batch={cfg.batch_size}</code> <code>{cfg.regularizer}</code>")


def curves_state(curves: Curves) -> dict:
    """A lab's curves as plain values (what lab.save writes)."""
    return {"max_bins": curves.max_bins, "width": curves.width, "steps": list(curves.steps),
            "means": [list(row) for row in curves.means], "sum": list(curves._sum), "count": curves._count}


def curves_from(state: dict) -> Curves:
    """The Curves that `curves_state` wrote (KeyError or ValueError when they are not such)."""
    curves = Curves(int(state["max_bins"]))
    curves.width, curves.steps = int(state["width"]), [int(step) for step in state["steps"]]
    curves.means = [[float(v) for v in row] for row in state["means"]]
    curves._sum, curves._count = [float(v) for v in state["sum"]], int(state["count"])
    if len(curves.steps) != len(curves.means) or len(curves._sum) != len(Curves.KEYS):
        raise ValueError(tr("the curves' steps and values do not match"))
    return curves


def _on_this_computer(cfg: TrainConfig) -> TrainConfig:
    """`cfg`, on "auto" when the device it names is not here (a file saved on a GPU, loaded on a laptop)."""
    try:
        get_device(cfg.device)
    except (RuntimeError, ValueError):
        return replace(cfg, device="auto")
    return cfg


def control(domain: Domain, value, label: str, width: str = "110px") -> widgets.Widget:
    """The widget that shows a control's domain: a dropdown, an integer slider or a slider over powers of 10."""
    style = {"description_width": width}
    if domain.options:
        return widgets.Dropdown(options=domain.options, value=value, description=label, style=style)
    if domain.integer:
        return widgets.IntSlider(value=value, min=domain.low, max=domain.high, description=label, style=style)
    return widgets.FloatLogSlider(value=max(value, domain.low), base=10, min=round(math.log10(domain.low)),
                                  max=round(math.log10(domain.high)), step=0.1, readout_format=".3g",
                                  description=label, style=style)  # a weight of 0 shows as the lowest
