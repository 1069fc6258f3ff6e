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

from .config import TrainConfig, fast_mode, replace, seed_everything
from .data.toy import make_target
from .guard import DivergenceError
from .lab_frames import (SETTINGS, Curves, Domain, Frame, Meter, check_setting, control_domains, guarded_update,
                         thin_history)
from .lab_panes import PANE_NAMES, LivePane, coverage_text, png_bytes, snapshot_figure
from .models import mlp_gan_2d
from .training import Callback, GANTrainer, make_2d_trainer

USUAL_WEIGHT = {"gp": 10.0, "r1": 0.1, "r2": 0.1}  # lambda = 10 for WGAN-GP; gamma = 0.1 for R1/R2 on these targets
LABELS = {"target": "target", "loss": "loss", "lr_d": "lr of D", "lr_g": "lr of G", "z_dim": "noise dim",
          "batch_size": "batch size", "d_steps": "D steps per G", "regularizer": "regularizer",
          "reg_weight": "its weight"}
Change = Callable[[], "str | None"]


class _TrainerReplaced(Exception):
    """Ends a trainer's run from a callback: a reset between two steps replaced that trainer."""


# Where the lab starts when it is given no configuration: a plain GAN (no regularizer) whose G and D have three
# hidden layers of 64 units and learn at 3e-3. Of the starting points that `python -m benchmarks.lab_defaults`
# measures (benchmarks/lab_defaults.md), it covers the ring in the fewest seconds. Lessons that tell a story (a
# collapse, a fix) pass their own TrainConfig; TrainConfig() itself stays the lessons' plain 2-D GAN.
LAB_DEFAULTS = TrainConfig(depth=3, hidden=64, lr_d=3e-3, lr_g=3e-3, regularizer="none")


class GANLab:
    """Controls and live panes over a `GANTrainer` of the 2-D GAN that `cfg` describes (LAB_DEFAULTS when None).

    fps: redraws per second while training (0: none); chunk: steps between two looks at the clock;
    threads: torch threads while the lab trains (measured: a second one slows these small matrices down,
    and on two cores it fights the notebook for the other); fast_chunks: the chunks `play` trains in fast mode.
    """

    def __init__(self, cfg: TrainConfig | None = None, fps: float = 6.0, chunk: int = 8, threads: int = 1,
                 fast_chunks: int = 5):
        self.cfg = cfg if cfg is not None else LAB_DEFAULTS
        self.fps, self.chunk, self.threads, self.fast_chunks = fps, chunk, threads, fast_chunks
        self._pending: list[tuple[Change, str]] = []  # queued changes, oldest first
        self._lock = threading.Lock()  # guards _pending and _message
        self._trainer_lock = threading.RLock()  # held while the trainer is used
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_frame: Frame | None = None  # the frame the panes show
        self._message, self.frames_drawn, self.error = "ready: press play", 0, None
        self._build()
        self.panes = {name: LivePane(name) for name in PANE_NAMES}
        self.images = {name: widgets.Image(format="png") for name in PANE_NAMES}
        self.status, self.coverage = widgets.HTML(), widgets.HTML()
        self.domains = control_domains(self.cfg)  # what each control offers
        self.controls = self._make_controls()
        self._accepted = {name: getattr(self.cfg, name) for name in SETTINGS}  # what each control last took
        self._refusing: str | None = None  # the control whose refused value is being put back
        self.widget = self._layout()
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

    def _one_update(self, player: str, update: Callable[[], dict[str, float]]) -> dict[str, float]:
        """One update of D or G alone (while paused); one that diverges is undone, and the status line says so."""
        self._refuse_while_running(f"step {player}")
        with self._trainer_lock:
            metrics, error = guarded_update(self._trainer, update)
            key = f"loss_{player.lower()}"
            self._say(f"one {player} update: {key}={metrics[key]:.3f}")
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
        elif name == "z_dim":  # a new G as make_2d_trainer builds it (the D built beside it is left unused)
            generator, _ = mlp_gan_2d(value, self.cfg.hidden, self.cfg.spectral_norm, self.cfg.pack, self.cfg.depth)
            trainer.replace_generator(generator.to(self._device), value)
            return f"noise dimension {old} → {value}: generator rebuilt (a new G, and a new Adam for it)"
        else:
            trainer.configure(**{name: value})  # the next step uses it
        return None if name.startswith("lr_") else f"{name}: {old} → {value}"

    def _build(self) -> None:
        seed_everything(self.cfg.seed)
        self._trainer, self.target = make_2d_trainer(self.cfg, hand_written_backward=True)
        self._device = next(self._trainer.generator.parameters()).device
        self.curves, self._meter = Curves(), Meter()

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
        return self._meter.frame(self._trainer, self.target, self.cfg.loss, self.curves, self.running)

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
        self._trainer.configure()  # the optimizers put back hold their old learning rates: the configuration's apply
        self._say(f"<b>stopped</b>: {error} Lower a learning rate (or change the loss) and press play.")

    def _say(self, message: str) -> None:
        with self._lock:
            self._message = message

    def _refuse_while_running(self, what: str) -> None:
        if self.running:
            raise RuntimeError(f"{what} works while the lab is paused: call lab.pause() first")

    # -- the widgets ---------------------------------------------------------------------------------------
    def _make_controls(self) -> dict[str, widgets.Widget]:
        c = {name: control(domain, getattr(self.cfg, name), LABELS[name]) for name, domain in self.domains.items()}
        for name, widget in c.items():
            widget.observe(lambda change, name=name: self._take(name, change["new"]), names="value")
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

    def _take(self, name: str, value) -> None:
        """What a control's callback does with its new value: queue it for the trainer, or refuse it and say why."""
        if value == self._accepted[name] or name == self._refusing:
            return
        try:
            check_setting(self.cfg, self.domains, name, value)
        except ValueError as error:  # e.g. NaN typed into a slider: show the last good value again
            self._say(f"{name} not changed: {error}")
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
        for image in self.images.values():
            image.add_class("gan-lab-pane")
        c = self.controls
        buttons = widgets.HBox([c[name] for name in ("play", "pause", "step_d", "step_g", "reset")])
        settings = widgets.VBox([c[name] for name in SETTINGS])
        panes = widgets.GridBox(list(self.images.values()),
                                layout=widgets.Layout(grid_template_columns="repeat(2, max-content)"))
        return widgets.VBox([buttons, self.status, widgets.HBox([settings, panes]), self.coverage])


def control(domain: Domain, value, label: str) -> widgets.Widget:
    """The widget that shows a control's domain: a dropdown, an integer slider or a slider over powers of 10."""
    style = {"description_width": "110px"}
    if domain.options:
        return widgets.Dropdown(options=domain.options, value=value, description=label, style=style)
    if domain.integer:
        return widgets.IntSlider(value=value, min=domain.low, max=domain.high, description=label, style=style)
    return widgets.FloatLogSlider(value=max(value, domain.low), base=10, min=round(math.log10(domain.low)),
                                  max=round(math.log10(domain.high)), step=0.1, readout_format=".3g",
                                  description=label, style=style)  # a weight of 0 shows as the lowest
