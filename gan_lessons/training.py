"""The adversarial loop: k discriminator steps, then one generator step (Goodfellow et al., 2014, Algorithm 1).

`GANTrainer` is built from a configuration (config.GANConfig, or a TrainConfig / DCGANConfig that extends it) and
keeps it current: `configure(lr_d=1e-4)` changes a knob between two steps, and the next step uses it. Every choice
the configuration makes (the loss pair, the regularizer, what D is shown, the noise) becomes an object once, when
the configuration is set, so `d_step` and `g_step` read as the algorithm does. The same trainer trains a
conditional GAN: give it n_classes, conditional models and a sampler of (x, y) batches. It knows nothing of plots
or widgets: it calls callbacks `(step, metrics)` after each step.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import restore_trainer, trainer_state, write_atomic
from .config import (DATA, KNOB, MAX_STEPS, MODEL, GANConfig, TrainConfig, check_int, fields_of_kind, get_device,
                     kind_of, replace)
from .data.toy import Target2D, target_for
from .fast_mlp import step_without_autograd
from .fixes import EMA, DInput, weight_constraint
from .guard import DivergenceError, Snapshot, diverged_message, finite_weights, likely_cause
from .i18n import tr
from .latent import LabelledNoise, Noise
from .losses import get_loss, smoothed
from .models import generate, mlp_gan_2d
from .penalties import FeatureMatching, make_penalty

Callback = Callable[[int, dict], None]
Batch = Tensor | tuple[Tensor, Tensor]  # real samples x, or (x, y) for a conditional GAN


def adam(params: Iterable[Tensor], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with torch's fused kernel where it has one for these tensors (one kernel for all tensors
    instead of a dozen per tensor: about 10% of a 2-D GAN step on a CPU), the usual Adam otherwise."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # an older torch, or a device without the fused kernel
        return torch.optim.Adam(params, lr=lr, betas=betas)


def make_optimizer(name: str, params: Iterable[Tensor], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """The optimizer a configuration names: `adam` (with betas) or `rmsprop` (torch's defaults, alpha = 0.99)."""
    return adam(params, lr, betas) if name == "adam" else torch.optim.RMSprop(params, lr=lr)


def step_forward(generator: nn.Module) -> Callable[..., Tensor]:
    """How the steps run G: its `fast_cpu_forward` where it has one (the DCGAN G: the same numbers up to rounding,
    faster on a CPU) and its weights are float32 on a CPU; G itself otherwise."""
    weight = next(generator.parameters())
    fast = getattr(generator, "fast_cpu_forward", None)
    return fast if fast is not None and weight.device.type == "cpu" and weight.dtype == torch.float32 else generator


class History:
    """A callback that keeps every step's metrics: `history["loss_d"]` is the list of D's losses."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.records: dict[str, list[float]] = {}

    def __call__(self, step: int, metrics: dict) -> None:
        """Record the metrics of `step`."""
        self.steps.append(step)
        for key, value in metrics.items():
            self.records.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.records[key]

    def __len__(self) -> int:
        return len(self.steps)

    def truncate(self, step: int) -> None:
        """Forget the records of steps after `step` (the trainer went back to that step)."""
        keep = sum(1 for s in self.steps if s <= step)
        self.steps = self.steps[:keep]
        self.records = {key: values[:keep] for key, values in self.records.items()}


class _Interrupts:
    """Holds Ctrl-C (Jupyter's stop button sends the same SIGINT) until the step in progress is complete, then
    raises KeyboardInterrupt: an interrupted training stops between two steps, never between D's and G's update."""

    def __init__(self) -> None:
        self.depth, self.pending, self.previous = 0, False, None

    @contextlib.contextmanager
    def deferred(self):
        """Inside the block, Ctrl-C is held and raised when the outermost block ends (main thread only)."""
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        if self.depth == 0:
            self.pending = False
            self.previous = signal.signal(signal.SIGINT, self._hold)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0:
                signal.signal(signal.SIGINT, self.previous or signal.default_int_handler)
        if self.depth == 0 and self.pending:
            self.pending = False
            raise KeyboardInterrupt(tr("training interrupted between two steps; the trainer is consistent: run on"))

    def _hold(self, signum, frame) -> None:
        self.pending = True


_INTERRUPTS = _Interrupts()


@contextlib.contextmanager
def frozen(model: nn.Module):
    """No gradients for `model`'s weights inside the block (G's step must not compute D's weight gradients)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class GANTrainer:
    """Trains `generator` against `discriminator` on batches from `sample_real()`, as `config` says.

    `GANTrainer(G, D, sample_real, config)` or, for a quick experiment, keyword changes to the default GANConfig:
    `GANTrainer(G, D, sample_real, z_dim=100, lr_d=5e-4, lr_g=5e-4)`. `trainer.config` is always the configuration
    the next step uses. `hand_written_backward=True` (the live lab, lesson 06's MLP GAN of digits) trains a plain
    MLP GAN on a CPU with fast_mlp.py's step: the same updates up to float rounding, about 1.5 times as many steps a
    second for the lab's 2-D GAN and about 1.25 times for the digits' GAN (`make bench`).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, sample_real: Callable[[], Batch],
                 config: GANConfig | None = None, *, hand_written_backward: bool = False, **changes):
        config = replace(config if config is not None else GANConfig(), **changes)  # validated
        self.hand_written_backward = hand_written_backward  # fast_mlp.py's step where it applies
        _check_noise_size(generator, config.z_dim)
        self.generator, self.discriminator, self.sample_real = generator, discriminator, sample_real
        self.forward_g = step_forward(generator)
        betas = (config.beta1, config.beta2)
        self.opt_d = make_optimizer(config.optimizer, discriminator.parameters(), config.lr_d, betas)
        self.opt_g = make_optimizer(config.optimizer, generator.parameters(), config.lr_g, betas)
        self.ema: EMA | None = None  # the averaged G when config.ema > 0: sample with `trainer.ema.sample(n)`
        self.step_count, self.history = 0, History()
        self.guard_every = 50  # steps between two checks of every weight (and copies of the last finite ones)
        self._snapshot: Snapshot | None = None
        self._use(config)

    # -- the configuration, and what it builds -------------------------------------------------------
    @property
    def config(self) -> GANConfig:
        """The settings the next step uses (change them with `configure`)."""
        return self._config

    def configure(self, **changes) -> GANConfig:
        """Change knobs between two steps (learning rates, the loss, the regularizer, ...): the next step uses them.

        Settings of another kind are refused with a ValueError that says what to do instead: the networks' shapes
        (`replace_generator`, or a new trainer), the data (`replace_data`), what a run reads once (a new trainer).
        """
        config = replace(self._config, **changes)
        for name in changes:
            kind = kind_of(type(config), name)
            if kind != KNOB and getattr(config, name) != getattr(self._config, name):
                raise ValueError(tr("{name}={value} cannot change in a trainer that is built: {how}", name=name,
                                    value=repr(getattr(config, name)), how=how_to_change(kind)))
        self._use(config)
        return config

    def _use(self, config: GANConfig) -> None:
        """Build the objects the steps use from `config`, once: no step asks which setting it has."""
        self._config = config
        self.loss = smoothed(get_loss(config.loss), config.label_smoothing)  # a (D, G) loss pair
        self.penalty = make_penalty(config.regularizer, config.reg_weight)  # D's regularizer, weight included
        self.g_term = FeatureMatching(config.feature_matching)  # G's extra term, weight included
        self.show_d = DInput(config.instance_noise, config.noise_anneal, config.pack)  # what D is shown
        self.constrain_d = weight_constraint(config.clip)  # after D's update
        self.latent = LabelledNoise(config.z_dim, config.n_classes) if config.n_classes else Noise(config.z_dim)
        for optimizer, lr in ((self.opt_d, config.lr_d), (self.opt_g, config.lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
                if "betas" in group:  # Adam's
                    group["betas"] = (config.beta1, config.beta2)
        if config.ema == 0:
            self.ema = None
        elif self.ema is None:
            self.ema = EMA(self.generator, config.ema, config.ema_start)
        else:
            self.ema.beta, self.ema.start = config.ema, config.ema_start
        # With hand_written_backward, the same updates with the backward pass written by hand where that computes
        # the same thing up to float rounding (a plain MLP GAN on a CPU: fast_mlp.py); None elsewhere.
        self.step_without_autograd = step_without_autograd(self) if self.hand_written_backward else None

    # The learning rates now (a schedule such as fixes.LinearDecay may lower them below the configuration's);
    # setting one is `configure(lr_d=...)`.
    lr_d = property(lambda self: self.opt_d.param_groups[0]["lr"], lambda self, value: self.configure(lr_d=value),
                    doc="D's learning rate now; setting it configures lr_d")
    lr_g = property(lambda self: self.opt_g.param_groups[0]["lr"], lambda self, value: self.configure(lr_g=value),
                    doc="G's learning rate now; setting it configures lr_g")

    @property
    def z_dim(self) -> int:
        """G's noise dimension."""
        return self._config.z_dim

    def replace_generator(self, generator: nn.Module, z_dim: int | None = None) -> None:
        """Train a new G from here on (e.g. for another noise dimension, by default `generator.z_dim`), with a fresh
        Adam at the current lr_g and, when the configuration has one, a fresh EMA of it."""
        config = replace(self._config, z_dim=getattr(generator, "z_dim", None) if z_dim is None else z_dim)
        _check_noise_size(generator, config.z_dim)
        lr_g = self.lr_g
        self.generator, self.forward_g, self.ema = generator, step_forward(generator), None
        self.opt_g = make_optimizer(config.optimizer, generator.parameters(), lr_g, (config.beta1, config.beta2))
        self._use(config)
        self.opt_g.param_groups[0]["lr"] = lr_g
        self._snapshot = None  # the divergence guard's copy was of the old G

    def replace_data(self, sample_real: Callable[[], Batch], **changes) -> None:
        """Train on batches from a new `sample_real()` from here on; `changes` record what changed in the
        configuration's data fields (e.g. target="grid25", batch_size=512)."""
        config = replace(self._config, **changes)
        allowed = fields_of_kind(type(config), DATA)
        wrong = [name for name in changes if name not in allowed]
        if wrong:
            raise ValueError(tr("{name} is not a data setting; replace_data takes: {allowed}", name=repr(wrong[0]),
                                allowed=", ".join(allowed)))
        self.sample_real, self._config = sample_real, config

    # -- the algorithm ------------------------------------------------------------------------------
    def d_step(self, batch: Batch) -> dict[str, float]:
        """One update of D: push D(x) up on real samples and D(G(z)) down on generated ones."""
        G, D, t = self.forward_g, self.discriminator, self.step_count
        x_real, y_real = self.latent.split(batch)  # y: the labels of a conditional GAN, else ()
        z, y_fake = self.latent(len(x_real), x_real.device)  # z ~ N(0, I)
        with torch.no_grad():
            x_fake = G(z, *y_fake)  # D's update must not reach G
        x_real, x_fake = self.penalty.track(self.show_d(x_real, t), self.show_d(x_fake, t))
        d_real, d_fake = D(x_real, *y_real), D(x_fake, *y_fake)
        loss_d = self.loss.d(d_real, d_fake)  # e.g. -E[log D(x)] - E[log(1 - D(G(z)))]
        total = loss_d + self.penalty(D, x_real, x_fake, d_real, d_fake)  # + lambda GP, gamma R1, ... or + 0
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        self.constrain_d(D)  # WGAN's weight clipping, or nothing
        return {"loss_d": loss_d.item(), "d_real": torch.sigmoid(d_real).mean().item(),
                "d_fake": torch.sigmoid(d_fake).mean().item()}

    def g_step(self, n: int, device: torch.device) -> dict[str, float]:
        """One update of G on n fresh samples: move G(z) where D scores it as real."""
        G, D, t = self.forward_g, self.discriminator, self.step_count
        z, y = self.latent(n, device)
        with frozen(D):  # the gradient flows through D into G, but D's weights get none
            x_fake = self.show_d(G(z, *y), t)
            loss_g = self.loss.g(D(x_fake, *y))  # e.g. -E[log D(G(z))]
            loss_g = loss_g + self.g_term(D, x_fake, self._real_for_d)  # + feature matching, or + 0
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.generator)  # w_ema <- beta w_ema + (1 - beta) w
        return {"loss_g": loss_g.item()}

    def _real_for_d(self) -> Tensor:
        """A fresh real batch as D sees it (feature matching compares D's features on it)."""
        return self.show_d(self.latent.split(self.sample_real())[0], self.step_count)

    def d_input(self, x: Tensor) -> Tensor:
        """What D is shown of samples x at this step: x, with instance noise, packed (see fixes.DInput)."""
        return self.show_d(x, self.step_count)

    def step(self) -> dict[str, float]:
        """k = d_steps updates of D, then one of G against the updated D; the last D metrics and G's loss.

        G's update draws fresh z. (Reusing the G(z) of D's last update, as PyTorch's DCGAN example does,
        saves one forward pass of G, about 8% of a step here, but measurably covered fewer modes of the
        ring: 6.8 instead of 7.6 of 8 on average after 500 steps, seeds 0-9.)
        """
        if self._snapshot is None:  # the guard's first copy (again after replace_generator): the state now
            if not finite_weights(self.generator, self.discriminator):
                raise DivergenceError(tr("the weights are not finite at step {step}, and there is no finite copy to "
                                         "go back to: reset the training or load a checkpoint", step=self.step_count),
                                      self.step_count, self.step_count)
            self._snapshot = Snapshot.take(self)
        with _INTERRUPTS.deferred():
            if self.step_without_autograd is not None:
                metrics = self.step_without_autograd()
            else:
                for _ in range(self._config.d_steps):
                    batch = self.sample_real()
                    metrics = self.d_step(batch)
                x_real, _ = self.latent.split(batch)
                metrics.update(self.g_step(len(x_real), x_real.device))
            self.step_count += 1
        self._guard(metrics)
        return metrics

    def _guard(self, metrics: dict[str, float]) -> None:
        """The divergence guard (guard.py): losses checked every step, all weights every `guard_every` steps."""
        finite = all(math.isfinite(v) for v in metrics.values())
        if finite and self.step_count % self.guard_every:
            return
        if finite and finite_weights(self.generator, self.discriminator):
            self._snapshot = Snapshot.take(self)
            return
        step, snapshot = self.step_count, self._snapshot
        snapshot.restore(self)
        self._use(self._config)  # the copied optimizers hold the settings of their time: the configuration's again
        raise DivergenceError(diverged_message(step, metrics, snapshot.step, likely_cause(self)), step, snapshot.step)

    def run(self, n_steps: int, callbacks: Iterable[Callback] = (), progress: bool = True) -> History:
        """n_steps steps with a progress bar; after each, every callback gets (step, metrics).

        Interrupting (Ctrl-C, Jupyter's stop button) ends the run after the current step and its callbacks;
        a divergence raises DivergenceError with the last finite weights restored. Either way, `run` again goes on.
        """
        check_int("n_steps", n_steps, 1, MAX_STEPS)
        callbacks = (self.history, *callbacks)
        for _ in tqdm(range(n_steps), desc=tr("training"), disable=not progress, mininterval=0.5):
            with _INTERRUPTS.deferred():
                metrics = self.step()
                for callback in callbacks:
                    callback(self.step_count, metrics)
        return self.history

    def sample(self, n: int | Tensor, average: bool = False) -> Tensor:
        """n generated samples (for a conditional GAN: n labels 0, 1, ..., or a tensor of labels), on the CPU, without
        gradients, G in eval mode (batch norm uses its running statistics). With `average=True` they come from the
        average of G's weights (`trainer.ema.generator`), which needs `ema` > 0 in the configuration."""
        if average and self.ema is None:
            raise ValueError(tr("average=True needs an average of G's weights: set ema > 0 in the configuration "
                                "(e.g. ema=0.99), or sample G with average=False"))
        G = self.ema.generator if average else self.generator
        z, y = self.latent.for_samples(n, next(G.parameters()).device)
        return generate(G, z, *y)

    # -- checkpoints (checkpoints.py) ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed training needs: models, optimizers, EMA, random states, step, configuration, history."""
        return trainer_state(self)

    def save(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        """Write a checkpoint atomically (a temporary file in the same folder, then a rename); `extra` entries
        (plain values and tensors) are stored beside the trainer's own."""
        return write_atomic(path, {**self.state_dict(), **(extra or {})})

    def load(self, path: str | os.PathLike) -> dict:
        """Restore a checkpoint written by `save`, read with weights_only=True so that a file can never run code.

        Training then goes on exactly as if it had never stopped (bit for bit on the CPU). A checkpoint that does
        not fit this trainer raises CheckpointError and leaves the trainer as it was.
        """
        state = restore_trainer(self, path)
        self._snapshot = None
        return state


def how_to_change(kind: str) -> str:
    """What to do instead of `configure` for a setting of `kind` (MODEL, DATA or RUN), in the language in use."""
    if kind == MODEL:
        return tr("it sets the networks' shapes; use trainer.replace_generator(G) for a new noise dimension, or build "
                  "a new trainer")
    if kind == DATA:
        return tr("it sets where real batches come from; use trainer.replace_data(sample_real, ...)")
    return tr("it is read once, when the run is built; build a new trainer")



def _check_noise_size(generator: nn.Module, z_dim: int) -> None:
    """ValueError unless G reads noise of z_dim numbers (when it says how many it reads)."""
    if getattr(generator, "z_dim", z_dim) != z_dim:
        raise ValueError(tr("z_dim={z_dim} does not fit the generator, which reads z_dim={reads}; give the "
                            "configuration the generator's noise dimension", z_dim=z_dim, reads=generator.z_dim))


def make_2d_trainer(cfg: TrainConfig, hand_written_backward: bool = False) -> tuple[GANTrainer, Target2D]:
    """A trainer for the 2-D GAN described by `cfg`, on the device it names, with its target (see GANTrainer for
    `hand_written_backward`)."""
    if cfg.n_classes:
        raise ValueError(tr("n_classes={n_classes} is not allowed for a 2-D target, whose samples have no labels; "
                            "use n_classes=0", n_classes=cfg.n_classes))
    device = get_device(cfg.device)
    target = target_for(cfg.target, cfg.standardize)
    generator, discriminator = mlp_gan_2d(cfg.z_dim, cfg.hidden, cfg.spectral_norm, cfg.pack, cfg.depth)
    trainer = GANTrainer(generator.to(device), discriminator.to(device), target.sampler(cfg.batch_size, device), cfg,
                         hand_written_backward=hand_written_backward)
    return trainer, target
