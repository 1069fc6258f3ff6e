"""The adversarial loop: k discriminator steps, then one generator step (Goodfellow et al., 2014, Algorithm 1).

The trainer knows nothing of plots or widgets: it calls callbacks `(step, metrics)` after each step.
Learning rates, the loss pair, the regularizer and the number of D steps can be changed between steps;
the next optimizer step uses them. For speed (the live lab trains while you watch), R1 and R2 reuse D's
forward pass and Adam runs fused where torch can; what a step computes is Algorithm 1 all the same.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import threading
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import CheckpointError, read_checkpoint, rng_state, set_rng_state, write_atomic
from .config import REGULARIZER_NAMES, TrainConfig, _check_choice, _check_positive, get_device
from .data.toy import Target2D, make_target
from .guard import DivergenceError, Snapshot, diverged_message, finite_weights, likely_cause
from .fixes import EMA, add_instance_noise, annealed_sigma, clip_weights, pack
from .losses import d_loss_smoothed, feature_matching_loss, get_loss
from .models import mlp_gan_2d
from .penalties import penalty_term

Callback = Callable[[int, dict], None]


def adam(params: Iterable[Tensor], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with torch's fused kernel where it has one for these tensors (one kernel for all tensors
    instead of a dozen per tensor: about 10% of a 2-D GAN step on a CPU), the usual Adam otherwise."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # an older torch, or a device without the fused kernel
        return torch.optim.Adam(params, lr=lr, betas=betas)


def half_squared_input_gradient(d_out: Tensor, x: Tensor) -> Tensor:
    r"""$\tfrac12 E[\lVert\nabla_x D(x)\rVert^2]$ from D's outputs `d_out = D(x)`, where `x` requires grad.

    The same number as `penalties.r1_penalty(D, x)` (on real x) or `r2_penalty` (on generated x), without
    their second forward pass of D; kept in the graph (create_graph) so that D can be trained through it.
    """
    (grad,) = torch.autograd.grad(d_out.sum(), x, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()


class History:
    """A callback that keeps every step's metrics: `history["loss_d"]` is the list of D's losses."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.records: dict[str, list[float]] = {}

    def __call__(self, step: int, metrics: dict) -> None:
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
            raise KeyboardInterrupt("training interrupted between two steps; the trainer is consistent: run on")

    def _hold(self, signum, frame) -> None:
        self.pending = True


_INTERRUPTS = _Interrupts()
SETTINGS = ("d_steps", "regularizer", "reg_weight", "clip", "feature_matching", "label_smoothing",
            "instance_noise", "noise_anneal")  # restored by `load` along with the weights


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
    """Trains `generator` against `discriminator` on batches from `sample_real()`."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, sample_real: Callable[[], Tensor], *,
                 z_dim: int, loss: str = "nonsaturating", lr_d: float = 1e-3, lr_g: float = 1e-3,
                 betas: tuple[float, float] = (0.5, 0.999), d_steps: int = 1,
                 regularizer: str = "none", reg_weight: float = 10.0, clip: float = 0.0, feature_matching: float = 0.0,
                 label_smoothing: float = 0.0, instance_noise: float = 0.0, noise_anneal: int = 0, ema: float = 0.0,
                 pack: int = 1):
        """The fixes of lesson 08 (see TrainConfig for each): all off by default, so the loop is Algorithm 1."""
        self.generator, self.discriminator, self.sample_real = generator, discriminator, sample_real
        self.z_dim, self.loss = z_dim, get_loss(loss)
        self.opt_d = adam(discriminator.parameters(), lr_d, betas)
        self.opt_g = adam(generator.parameters(), lr_g, betas)
        self.lr_d, self.lr_g = lr_d, lr_g  # validated by the setters below
        self.d_steps, self.regularizer, self.reg_weight = d_steps, regularizer, reg_weight
        self.clip, self.feature_matching, self.label_smoothing = clip, feature_matching, label_smoothing
        self.instance_noise, self.noise_anneal, self.pack = instance_noise, noise_anneal, pack
        self.ema = EMA(generator, ema) if ema > 0 else None  # the averaged G: sample with `trainer.ema.sample(n)`
        self.step_count = 0
        self.history = History()
        self.config: TrainConfig | None = None  # what built this trainer, when a TrainConfig did; saved in checkpoints
        self.guard_every = 50  # steps between two checks of every weight (and copies of the last finite ones)
        self._snapshot: Snapshot | None = None

    # -- knobs that may change between steps ------------------------------------------------------
    @property
    def lr_d(self) -> float:
        return self.opt_d.param_groups[0]["lr"]

    @lr_d.setter
    def lr_d(self, value: float) -> None:
        _check_positive("lr_d", value, float)
        for group in self.opt_d.param_groups:
            group["lr"] = float(value)

    @property
    def lr_g(self) -> float:
        return self.opt_g.param_groups[0]["lr"]

    @lr_g.setter
    def lr_g(self, value: float) -> None:
        _check_positive("lr_g", value, float)
        for group in self.opt_g.param_groups:
            group["lr"] = float(value)

    @property
    def d_steps(self) -> int:
        return self._d_steps

    @d_steps.setter
    def d_steps(self, value: int) -> None:
        _check_positive("d_steps", value, int)
        self._d_steps = value

    @property
    def regularizer(self) -> str:
        return self._regularizer

    @regularizer.setter
    def regularizer(self, value: str) -> None:
        _check_choice("regularizer", value, REGULARIZER_NAMES)
        self._regularizer = value

    def noise(self, n: int, device: torch.device) -> Tensor:
        """z ~ N(0, I), shape (n, z_dim)."""
        return torch.randn(n, self.z_dim, device=device)

    def replace_generator(self, generator: nn.Module, z_dim: int) -> None:
        """Train a new G from here on (e.g. for another noise dimension), with a fresh Adam at the current lr_g."""
        _check_positive("z_dim", z_dim, int)
        lr_g, betas = self.lr_g, self.opt_g.defaults["betas"]
        self.generator, self.z_dim = generator, z_dim
        self.opt_g = adam(generator.parameters(), lr_g, betas)
        self._snapshot = None  # the divergence guard's copy was of the old G

    # -- the algorithm ------------------------------------------------------------------------------
    def d_step(self, x_real: Tensor) -> dict[str, float]:
        """One update of D: push D(x) up on real samples and D(G(z)) down on generated ones."""
        G, D = self.generator, self.discriminator
        with torch.no_grad():
            x_fake = G(self.noise(len(x_real), x_real.device))  # D's update must not reach G
        if self.pack > 1 or self.instance_noise > 0:  # what D sees: noisy samples, m to a row
            x_real, x_fake = self.d_input(x_real), self.d_input(x_fake)
        if self.regularizer == "r1":  # R1 differentiates D(x_real) w.r.t. x_real: track it from the start
            x_real = x_real.detach().requires_grad_(True)
        if self.regularizer == "r2":
            x_fake.requires_grad_(True)
        d_real, d_fake = D(x_real), D(x_fake)
        if self.label_smoothing > 0:  # real target 1 - s instead of 1 (BCE losses only; TrainConfig checks)
            loss_d = d_loss_smoothed(d_real, d_fake, self.label_smoothing)
        else:
            loss_d = self.loss.d(d_real, d_fake)
        total = loss_d
        if self.regularizer != "none":
            total = loss_d + self.reg_weight * self.penalty(x_real, x_fake, d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        if self.clip > 0:  # WGAN: keep the critic's weights in [-c, c], a crude Lipschitz bound
            clip_weights(D, self.clip)
        return {"loss_d": loss_d.item(), "d_real": torch.sigmoid(d_real).mean().item(),
                "d_fake": torch.sigmoid(d_fake).mean().item()}

    def d_input(self, x: Tensor) -> Tensor:
        """What D is shown: x plus instance noise (sigma annealed by step), packed m samples to a row (PacGAN)."""
        sigma = annealed_sigma(self.instance_noise, self.step_count, self.noise_anneal)
        if sigma > 0:
            x = add_instance_noise(x, sigma)
        return pack(x, self.pack) if self.pack > 1 else x

    def penalty(self, x_real: Tensor, x_fake: Tensor, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """The unweighted regularizer of penalties.py; R1 and R2 reuse D's outputs instead of a second pass."""
        if self.regularizer == "r1":
            return half_squared_input_gradient(d_real, x_real)
        if self.regularizer == "r2":
            return half_squared_input_gradient(d_fake, x_fake)
        return penalty_term(self.regularizer, self.discriminator, x_real, x_fake)

    def g_step(self, n: int, device: torch.device) -> dict[str, float]:
        """One update of G: move G(z) where D scores it as real."""
        G, D = self.generator, self.discriminator
        with frozen(D):  # the gradient flows through D into G, but D's weights get none
            x_fake = G(self.noise(n, device))
            if self.pack > 1 or self.instance_noise > 0:
                x_fake = self.d_input(x_fake)
            loss_g = self.loss.g(D(x_fake))
            if self.feature_matching > 0:  # match the mean of D's last hidden layer on real data
                loss_g = loss_g + self.feature_matching * self.feature_matching_term(x_fake)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(G)  # w_ema <- beta w_ema + (1 - beta) w
        return {"loss_g": loss_g.item()}

    def feature_matching_term(self, x_fake: Tensor) -> Tensor:
        """||E f(x) - E f(G(z))||^2 on D's last hidden layer f, for a fresh real batch; x_fake as D sees it."""
        D = self.discriminator
        with torch.no_grad():
            f_real = D.features(self.d_input(self.sample_real()))
        return feature_matching_loss(f_real, D.features(x_fake))

    def step(self) -> dict[str, float]:
        """k = d_steps updates of D, then one of G against the updated D; the last D metrics and G's loss.

        G's update draws fresh z. (Reusing the G(z) of D's last update, as PyTorch's DCGAN example does,
        saves one forward pass of G, about 8% of a step here, but measurably covered fewer modes of the
        ring: 6.8 instead of 7.6 of 8 on average after 500 steps, seeds 0-9.)
        """
        if self._snapshot is None:  # the guard's first copy (again after replace_generator): the state now
            if not finite_weights(self.generator, self.discriminator):
                raise DivergenceError(f"the weights are not finite at step {self.step_count}, and there is no "
                                      "finite copy to go back to: reset the training or load a checkpoint",
                                      self.step_count, self.step_count)
            self._snapshot = Snapshot.take(self)
        with _INTERRUPTS.deferred():
            for _ in range(self.d_steps):
                x_real = self.sample_real()
                metrics = self.d_step(x_real)
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
        raise DivergenceError(diverged_message(step, metrics, snapshot.step, likely_cause(self)), step, snapshot.step)

    def run(self, n_steps: int, callbacks: Iterable[Callback] = (), progress: bool = True) -> History:
        """n_steps steps with a progress bar; after each, every callback gets (step, metrics).

        Interrupting (Ctrl-C, Jupyter's stop button) ends the run after the current step and its callbacks;
        a divergence raises DivergenceError with the last finite weights restored. Either way, `run` again goes on.
        """
        _check_positive("n_steps", n_steps, int)
        callbacks = (self.history, *callbacks)
        for _ in tqdm(range(n_steps), desc="training", disable=not progress, mininterval=0.5):
            with _INTERRUPTS.deferred():
                metrics = self.step()
                for callback in callbacks:
                    callback(self.step_count, metrics)
        return self.history

    @torch.no_grad()
    def sample(self, n: int, device: torch.device | None = None) -> Tensor:
        """n generated samples, on the CPU, without gradients."""
        device = device or next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()  # batch-norm generators use their running statistics to sample
        x = self.generator(self.noise(n, device)).cpu()
        self.generator.train(was_training)
        return x

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed training needs: models, optimizers, EMA, random states, step, settings, history."""
        state = {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step_count,
                 "history": {"steps": list(self.history.steps),
                             "records": {k: list(v) for k, v in self.history.records.items()}},
                 "rng": rng_state(), "loss": self.loss.name, "z_dim": self.z_dim,
                 "settings": {name: getattr(self, name) for name in SETTINGS if hasattr(self, name)},
                 "config": dataclasses.asdict(self.config) if self.config is not None else None}
        if getattr(self, "ema", None) is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def save(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        """Write a checkpoint atomically (a temporary file in the same folder, then a rename); `extra` entries
        (plain values and tensors) are stored beside the trainer's own."""
        return write_atomic(path, {**self.state_dict(), **(extra or {})})

    def load(self, path: str | os.PathLike) -> dict:
        """Restore a checkpoint written by `save`, read with weights_only=True so that a file can never run code.

        Training then goes on exactly as if it had never stopped (bit for bit on the CPU). A checkpoint that does
        not fit this trainer raises CheckpointError and leaves the trainer as it was.
        """
        state = read_checkpoint(path)
        missing = [key for key in ("generator", "discriminator", "step") if key not in state]
        if missing:
            raise CheckpointError(f"checkpoint {path} has no {', '.join(missing)}: it was not written by trainer.save")
        before = Snapshot.take(self)
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            for name in ("opt_g", "opt_d"):
                if name in state:
                    getattr(self, name).load_state_dict(state[name])
            if state.get("ema") is not None and getattr(self, "ema", None) is not None:
                self.ema.load_state_dict(state["ema"])
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            before.restore(self)
            raise CheckpointError(
                f"checkpoint {path} does not fit this trainer ({str(error).splitlines()[0]}); build the trainer "
                "with the settings it was saved with (its 'config' entry)") from error
        self._restore_rest(state)
        return state

    def _restore_rest(self, state: dict) -> None:
        self.step_count = state["step"]
        history = state.get("history", {"steps": [], "records": {}})
        self.history.steps, self.history.records = list(history["steps"]), dict(history["records"])
        if "loss" in state:
            self.loss = get_loss(state["loss"])
        for name, value in state.get("settings", {}).items():
            if hasattr(self, name):
                setattr(self, name, value)
        if "rng" in state:
            set_rng_state(state["rng"])
        elif "rng_cpu" in state:  # checkpoints of the first format
            torch.set_rng_state(state["rng_cpu"])
        self._snapshot = None


def make_2d_trainer(cfg: TrainConfig) -> tuple[GANTrainer, Target2D]:
    """A trainer for the 2-D GAN described by `cfg`, on the device it names, with its target."""
    device = get_device(cfg.device)
    target = make_target(cfg.target)
    generator, discriminator = mlp_gan_2d(cfg.z_dim, cfg.hidden, cfg.spectral_norm, cfg.pack, cfg.depth)
    trainer = GANTrainer(
        generator.to(device), discriminator.to(device), lambda: target.sample(cfg.batch_size, device=device),
        z_dim=cfg.z_dim, loss=cfg.loss, lr_d=cfg.lr_d, lr_g=cfg.lr_g, betas=(cfg.beta1, cfg.beta2),
        d_steps=cfg.d_steps, regularizer=cfg.regularizer, reg_weight=cfg.reg_weight, clip=cfg.clip,
        feature_matching=cfg.feature_matching, label_smoothing=cfg.label_smoothing,
        instance_noise=cfg.instance_noise, noise_anneal=cfg.noise_anneal, ema=cfg.ema, pack=cfg.pack)
    trainer.config = cfg
    return trainer, target
