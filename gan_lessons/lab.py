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
"""
from __future__ import annotations

import base64
import contextlib
import math
import threading
import time
from typing import Callable

import ipywidgets as widgets
import torch

from .config import LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig, fast_mode, replace, seed_everything
from .data.toy import make_target
from .lab_frames import Curves, Frame, frame_of, thin_history
from .lab_panes import PANE_NAMES, LivePane, coverage_text, png_bytes, snapshot_figure
from .models import MLPGenerator
from .guard import DivergenceError
from .training import Callback, GANTrainer, make_2d_trainer

BATCH_SIZES = (32, 64, 128, 256, 512, 1024)
USUAL_WEIGHT = {"gp": 10.0, "r1": 0.1, "r2": 0.1}  # lambda = 10 for WGAN-GP; gamma = 0.1 for R1/R2 on these targets
Change = Callable[[], "str | None"]
SETTINGS = ("target", "loss", "lr_d", "lr_g", "z_dim", "batch_size", "d_steps", "regularizer", "reg_weight")


class _TrainerReplaced(Exception):
    """Ends a trainer's run from a callback: a reset between two steps replaced that trainer."""


class GANLab:
    """Controls and live panes over a `GANTrainer` of the 2-D GAN that `cfg` describes.

    fps: redraws per second while training (0: none); chunk: steps between two looks at the clock;
    threads: torch threads while the lab trains (measured: a second one slows these small matrices down,
    and on two cores it fights the notebook for the other); fast_chunks: the chunks `play` trains in fast mode.
    """

    def __init__(self, cfg: TrainConfig | None = None, fps: float = 6.0, chunk: int = 8, threads: int = 1,
                 fast_chunks: int = 5):
        self.cfg = cfg if cfg is not None else TrainConfig()
        self.fps, self.chunk, self.threads, self.fast_chunks = fps, chunk, threads, fast_chunks
        self._pending: list[tuple[Change, str]] = []  # queued changes, oldest first
        self._lock = threading.Lock()  # guards _pending and _message
        self._trainer_lock = threading.RLock()  # held while the trainer is used
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_frame: Frame | None = None  # the frame the panes show
        self._coverage: tuple[float, dict] = (-1.0, {})  # (when, mode coverage): measured once a second
        self._message, self.frames_drawn, self.error = "ready: press play", 0, None
        self._build()
        self.panes = {name: LivePane(name) for name in PANE_NAMES}
        self.images = {name: widgets.Image(format="png") for name in PANE_NAMES}
        self.status, self.coverage = widgets.HTML(), widgets.HTML()
        self.controls = self._make_controls()
        self._accepted = {name: self.controls[name].value for name in SETTINGS}  # what each control last took
        self.widget = self._layout()
        self.redraw()

    # -- what lessons call -----------------------------------------------------------------------------
    @property
    def trainer(self) -> GANTrainer:
        """The GANTrainer the lab drives (replaced by reset)."""
        return self._trainer

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
        """One chunk of training steps here and now (while paused); the last step's metrics."""
        self._refuse_while_running("tick")
        metrics = self._train_chunk(self.chunk)
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
            self._check_setting(name, value)
        for name, value in settings.items():
            self.controls[name].value = value

    def step_d(self) -> dict[str, float]:
        """Exactly one update of D, G unchanged (while paused)."""
        self._refuse_while_running("step D")
        with self._trainer_lock:
            metrics = self._trainer.d_step(self._trainer.sample_real())
        self._say(f"one D update: loss_d={metrics['loss_d']:.3f}")
        self.redraw()
        return metrics

    def step_g(self) -> dict[str, float]:
        """Exactly one update of G, D unchanged (while paused)."""
        self._refuse_while_running("step G")
        with self._trainer_lock:
            metrics = self._trainer.g_step(self.cfg.batch_size, self._device)
        self._say(f"one G update: loss_g={metrics['loss_g']:.3f}")
        self.redraw()
        return metrics

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
        """A new matplotlib Figure with the four panes side by side: the lab's state as a still picture."""
        if self.running:  # only the training thread touches the trainer: show its last frame
            return snapshot_figure(self._last_frame)
        with self._trainer_lock:
            return snapshot_figure(self._frame())

    def close(self) -> None:
        """Stop training and close the widgets."""
        self.pause()
        self.widget.close()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The widget where widgets render, and a PNG of the panes for static viewers (nbconvert HTML)."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["image/png"] = base64.b64encode(png_bytes(self.snapshot().canvas)).decode("ascii")
        bundle["text/plain"] = f"GANLab(step={self._trainer.step_count}, target={self.cfg.target!r})"
        return bundle

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
                    message = f"{what} not applied: {error}"
                if message:
                    self._say(message)

    def _set(self, name: str, value) -> str | None:
        """Give the trainer a control's new value (on the thread that owns the trainer); the status message."""
        old, trainer = getattr(self.cfg, name), self._trainer
        self.cfg = replace(self.cfg, **{name: value})  # validated; reset() starts from these settings
        if name in ("target", "batch_size"):  # a new source of real batches; G and D train on
            self.target = make_target(self.cfg.target)
            trainer.replace_data(self.target.sampler(self.cfg.batch_size, self._device), **{name: value})
        elif name == "z_dim":
            trainer.replace_generator(MLPGenerator(value, (self.cfg.hidden,) * 2, 2).to(self._device), value)
            return f"noise dimension {old} → {value}: generator rebuilt (a new G, and a new Adam for it)"
        else:
            trainer.configure(**{name: value})  # the next step uses it
        return None if name.startswith("lr_") else f"{name}: {old} → {value}"

    def _build(self) -> None:
        seed_everything(self.cfg.seed)
        self._trainer, self.target = make_2d_trainer(self.cfg)
        self._device = next(self._trainer.generator.parameters()).device
        self.curves = Curves()
        self._rate = (time.perf_counter(), 0, 0.0)  # (when, step, steps per second) of the last measure

    def _rebuild(self) -> str:
        self._build()
        return f"reset: seed {self.cfg.seed}, fresh G and D, step 0"

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
            self._say(f"training stopped: {type(error).__name__}: {error}")
            self.status.value += f" · <b>training stopped</b>: {type(error).__name__}: {error}"
        finally:
            torch.set_num_threads(previous)
            self._stop.set()

    def _frame(self) -> Frame:
        now, (then, step, rate) = time.perf_counter(), self._rate
        if now - then >= 0.5:  # steps per second over the last half second or more
            self._rate = (now, self._trainer.step_count, max(self._trainer.step_count - step, 0) / (now - then))
        measure = now - self._coverage[0] >= 1.0 or self._trainer.step_count == 0 or not self.running
        frame = frame_of(self._trainer, self.target, self.cfg.loss, self.curves, self._rate[2],
                         None if measure else self._coverage[1])
        self._coverage = (now, frame.coverage) if measure else self._coverage
        return frame

    def _show(self, frame: Frame) -> None:
        for name, pane in self.panes.items():
            self.images[name].value = pane.render(frame)
        state = "training" if self.running and not self._stop.is_set() else "paused"
        message = f" · {self._message}" if self._message not in ("", state) else ""
        self.status.value = (f"<code>step={frame.step}</code> · {frame.steps_per_s:.0f} steps/s · "
                             f"<code>lr_d={frame.lr_d:.2e}</code> · <code>lr_g={frame.lr_g:.2e}</code> · "
                             f"{state}{message}")
        self.coverage.value = coverage_text(frame.coverage, len(frame.centres))
        self._last_frame = frame
        self.frames_drawn += 1

    def _diverged(self, error: DivergenceError) -> None:
        """The guard restored the last finite weights: say what happened and what to do; play goes on from there."""
        self.error = error
        self.curves.truncate(error.restored_step)
        self._say(f"<b>stopped</b>: {error} Lower a learning rate (or change the loss) and press play.")

    def _say(self, message: str) -> None:
        with self._lock:
            self._message = message

    def _refuse_while_running(self, what: str) -> None:
        if self.running:
            raise RuntimeError(f"{what} works while the lab is paused: call lab.pause() first")

    # -- the widgets ---------------------------------------------------------------------------------------
    def _make_controls(self) -> dict[str, widgets.Widget]:
        cfg, style = self.cfg, {"description_width": "110px"}

        def log_slider(value: float, low: int, high: int, label: str) -> widgets.FloatLogSlider:
            return widgets.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.1,  # 10**min .. 10**max
                                          readout_format=".3g", description=label, style=style)

        def dropdown(options, value, label: str) -> widgets.Dropdown:
            return widgets.Dropdown(options=options, value=value, description=label, style=style)

        def int_slider(value: int, high: int, label: str) -> widgets.IntSlider:
            return widgets.IntSlider(value=value, min=1, max=max(high, value), description=label, style=style)

        lr_low = math.floor(math.log10(min(cfg.lr_d, cfg.lr_g, 1e-5)))  # 1e-5 .. 0.1, wider if cfg asks for it
        lr_high = math.ceil(math.log10(max(cfg.lr_d, cfg.lr_g, 0.1)))
        c = {
            "target": dropdown(TARGET_NAMES, cfg.target, "target"),
            "loss": dropdown(LOSS_NAMES, cfg.loss, "loss"),
            "lr_d": log_slider(cfg.lr_d, lr_low, lr_high, "lr of D"),
            "lr_g": log_slider(cfg.lr_g, lr_low, lr_high, "lr of G"),
            "z_dim": int_slider(cfg.z_dim, 16, "noise dim"),
            "batch_size": dropdown(sorted({*BATCH_SIZES, cfg.batch_size}), cfg.batch_size, "batch size"),
            "d_steps": int_slider(cfg.d_steps, 5, "D steps per G"),
            "regularizer": dropdown(REGULARIZER_NAMES, cfg.regularizer, "regularizer"),
            "reg_weight": log_slider(max(cfg.reg_weight, 1e-3), -3, 2, "its weight"),
        }
        for name, control in c.items():
            control.observe(self._on_change(name), names="value")
        buttons = {"play": ("play", "play", self.play), "pause": ("pause", "pause", self.pause),
                   "step_d": ("step D", "step-forward", self.step_d), "step_g": ("step G", "step-forward", self.step_g),
                   "reset": ("reset", "undo", self.reset)}
        for name, (label, icon, action) in buttons.items():
            c[name] = widgets.Button(description=label, icon=icon, layout=widgets.Layout(width="88px"))
            c[name].on_click(self._on_click(action))
        for name, css in (("lr_d", "gan-lab-lr-d"), ("lr_g", "gan-lab-lr-g"), ("play", "gan-lab-play"),
                          ("pause", "gan-lab-pause")):
            c[name].add_class(css)  # names the browser test looks for
        return c

    def _on_change(self, name: str) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            value = change["new"]
            if value == self._accepted[name]:
                return
            try:
                self._check_setting(name, value)
            except ValueError as error:  # e.g. NaN typed into a slider: show the last good value again
                self._say(f"{name} not changed: {error}")
                self.controls[name].value = self._accepted[name]
                return
            self._accepted[name] = value
            if name == "regularizer" and value in USUAL_WEIGHT:  # GP's lambda and R1's gamma differ 100-fold
                self.controls["reg_weight"].value = USUAL_WEIGHT[value]
            self._submit(lambda: self._set(name, value), f"{name}={value!r}")
        return handler

    def _check_setting(self, name: str, value) -> None:
        """ValueError unless `value` is one the control `name` shows and the configuration allows."""
        if name not in SETTINGS:
            raise ValueError(f"{name!r} is not a control of the lab; allowed: {', '.join(SETTINGS)}")
        control = self.controls[name]
        if isinstance(control, widgets.Dropdown):
            allowed = [option[1] if isinstance(option, tuple) else option for option in control.options]
            if isinstance(value, bool) or value not in allowed:
                raise ValueError(f"{name}={value!r} is not allowed; allowed values: {', '.join(map(str, allowed))}")
        else:
            low, high = ((control.base ** control.min, control.base ** control.max)
                         if isinstance(control, widgets.FloatLogSlider) else (control.min, control.max))
            kind = int if isinstance(control, widgets.IntSlider) else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
                raise ValueError(f"{name}={value!r} is not allowed; the lab's control takes "
                                 f"{'an integer' if kind is int else 'a number'} from {low:g} to {high:g}")
        replace(self.cfg, **{name: value})  # the configuration's own checks (ValueError naming the parameter)

    def _on_click(self, action: Callable[[], object]) -> Callable[[widgets.Button], None]:
        def handler(_button: widgets.Button) -> None:
            try:
                action()
            except RuntimeError as error:  # step D / step G while training: the next frame says so
                self._say(str(error))
        return handler

    def _layout(self) -> widgets.Widget:
        self.status.add_class("gan-lab-status")
        for image in self.images.values():
            image.add_class("gan-lab-pane")
        c = self.controls
        buttons = widgets.HBox([c[name] for name in ("play", "pause", "step_d", "step_g", "reset")])
        settings = widgets.VBox([c[name] for name in ("target", "loss", "lr_d", "lr_g", "z_dim", "batch_size",
                                                      "d_steps", "regularizer", "reg_weight")])
        panes = widgets.GridBox(list(self.images.values()),
                                layout=widgets.Layout(grid_template_columns="repeat(2, max-content)"))
        return widgets.VBox([buttons, self.status, widgets.HBox([settings, panes]), self.coverage])
