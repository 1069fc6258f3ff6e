"""The divergence guard: a training whose loss or weights stop being finite is stopped, told why, and put back.

After each step the trainer looks at the losses (plain floats, so the check is free); every `every` steps it
also looks at every weight and, when all are finite, keeps a copy of the models and optimizers (a snapshot).
A non-finite number brings the last snapshot back and raises `DivergenceError`, whose message names the step,
the likely cause and what to try. The trainer is then as it was at the snapshot's step: lower the learning
rate (or add a regularizer) and train on.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from .i18n import tr

HIGH_LR = 1e-2  # above this, Adam on these small GANs tends to overshoot: the usual cause of a blow-up


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight; the trainer was restored to `restored_step`."""

    def __init__(self, message: str, step: int, restored_step: int):
        super().__init__(message)
        self.step, self.restored_step = step, restored_step


def finite_weights(*modules: nn.Module) -> bool:
    """True when every parameter and buffer of the modules is finite (one reduction per tensor)."""
    tensors = [t for m in modules for t in (*m.parameters(), *m.buffers()) if t.is_floating_point()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def copy_state(state):
    """A copy of a state dict that shares nothing mutable with it: tensors cloned, dicts and lists copied, other
    values (numbers, strings, tuples of them) kept. What copy.deepcopy gives for a state dict, several times faster."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        copied = type(state)((key, copy_state(value)) for key, value in state.items())
        if hasattr(state, "_metadata"):  # a module's state dict: the version of each layer's format
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if isinstance(state, list):
        return [copy_state(value) for value in state]
    if isinstance(state, tuple):
        return tuple(copy_state(value) for value in state)
    return copy.deepcopy(state)


@dataclass
class Snapshot:
    """Copies of what a step changes: both models, both optimizers, the EMA of G, and the step number."""
    step: int
    state: dict

    @classmethod
    def take(cls, trainer) -> "Snapshot":
        """Deep copies of the state of the trainer's models, optimizers and EMA, with its step."""
        parts = {"generator": trainer.generator, "discriminator": trainer.discriminator,
                 "opt_g": trainer.opt_g, "opt_d": trainer.opt_d}
        if trainer.ema is not None:
            parts["ema"] = trainer.ema
        return cls(trainer.step_count, {name: copy_state(part.state_dict()) for name, part in parts.items()})

    def restore(self, trainer) -> None:
        """Put the copies back into the trainer and forget the history after the snapshot's step."""
        for name, state in self.state.items():
            part = trainer.ema if name == "ema" else getattr(trainer, name)
            part.load_state_dict(copy.deepcopy(state))
        trainer.step_count = self.step
        trainer.history.truncate(self.step)


def likely_cause(trainer) -> str:
    """A short diagnosis from the trainer's settings, most specific first."""
    cfg = trainer.config
    loss = cfg.loss
    constrained = cfg.regularizer != "none" or cfg.clip > 0 or _spectral(trainer.discriminator)
    if loss == "wgan" and not constrained:
        return tr("the WGAN critic is unconstrained (no weight clipping, gradient penalty or spectral norm), so its "
                  "scores grow without bound; add one of them (lesson 08)")
    high = [f"{name}={value:g}" for name, value in (("lr_d", trainer.lr_d), ("lr_g", trainer.lr_g))
            if value > HIGH_LR]
    if high:
        return tr("a learning rate too high for the {loss} loss ({rates}); try one at most {high:g}", loss=loss,
                  rates=", ".join(high), high=HIGH_LR)
    return tr("exploding gradients; lower the learning rates or add a regularizer (R1 or a gradient penalty)")


def _spectral(model: nn.Module) -> bool:
    return any("parametrizations" in name for name, _ in model.named_parameters())


def diverged_message(step: int, metrics: dict, restored_step: int, cause: str) -> str:
    """What went wrong at `step`, the likely cause, and what the trainer did about it."""
    bad = [f"{k}={v}" for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        what = tr("the loss became non-finite ({values})", values=", ".join(bad))
    else:
        what = tr("a weight became non-finite")
    return tr("training diverged at step {step}: {what}. Likely cause: {cause}. The last finite weights (step "
              "{restored_step}) are restored; change the setting and train on.", step=step, what=what, cause=cause,
              restored_step=restored_step)
