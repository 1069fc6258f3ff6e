r"""A faster training step for a plain MLP GAN on a CPU (the lab's 2-D GAN, lesson 06's MLP GAN of digits):
GANTrainer.step's arithmetic, backward pass by hand.

This is a performance trick, kept out of the lessons' path: the trainer uses it only where it computes what
`GANTrainer.d_step` and `g_step` compute (tests/test_fast_mlp.py holds the two equal), and only on a CPU, where
a small network's step is dominated by the bookkeeping around its matrix products (autograd's graph, Adam's
Python wrapper), not by the products. What it does differently, and nothing else:

- D sees the real and the generated batch as one batch of 2N rows (one product per layer instead of two), images
  flattened to rows as D's first layer reads them;
- the backward pass is written out: for a layer $y = x W^T + b$ with upstream gradient $g$,
  $\partial L/\partial W = g^T x$, $\partial L/\partial b = \sum_i g_i$, $\partial L/\partial x = g W$, and an
  activation's gradient is the kernel autograd itself uses (`leaky_relu_backward`, `threshold_backward`, and
  `tanh_backward` for the tanh output of an image G);
- Adam's update calls the fused kernel that `torch.optim.Adam(fused=True)` calls, on the optimizer's own state.

It covers the non-saturating loss with no regularizer, no feature matching, no label smoothing, no instance
noise and no packing; weight clipping and an EMA of G apply as in the trainer. Anything else trains with autograd.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models import ImageMLPGenerator, MLPDiscriminator, MLPGenerator

LEAK = 0.2  # MLPDiscriminator's LeakyReLU slope


def step_without_autograd(trainer) -> Callable[[], dict[str, float]] | None:
    """A function doing one `trainer.step()`'s updates (k D updates, one G update) with the backward pass by hand,
    or None where it would not compute the same thing (another loss, a regularizer, other models, a GPU, ...)."""
    cfg, G, D = trainer.config, trainer.generator, trainer.discriminator
    plain = (cfg.loss == "nonsaturating" and (cfg.regularizer == "none" or cfg.reg_weight == 0)
             and cfg.feature_matching == 0 and cfg.label_smoothing == 0 and cfg.instance_noise == 0
             and cfg.pack == 1 and cfg.n_classes == 0 and cfg.optimizer == "adam")
    if not (plain and _plain_mlp(G, (MLPGenerator, ImageMLPGenerator), nn.ReLU, tanh_output=True)
            and _plain_mlp(D, (MLPDiscriminator,), nn.LeakyReLU) and trainer.forward_g is G
            and all(_fused_adam(o) for o in (trainer.opt_d, trainer.opt_g))):
        return None
    if getattr(D.net[1], "negative_slope", None) != LEAK:
        return None
    g_layers, d_layers = _Layers(G), _Layers(D)
    return lambda: _step(trainer, g_layers, d_layers)


class _Layers:
    """An MLP's linear layers as tensors, looked up once: weights W, their transposes W^T (views, so each update
    of W shows in them) and biases."""

    def __init__(self, model: nn.Module):
        linear = list(model.net)[0::2]
        self.tanh = type(model.net[-1]) is nn.Tanh  # a tanh output (ImageMLPGenerator's)
        with torch.no_grad():
            self.w = [layer.weight for layer in linear]
            self.wt = [w.t() for w in self.w]
            self.b = [layer.bias for layer in linear]


def _plain_mlp(model: nn.Module, classes: tuple[type, ...], activation: type, tanh_output: bool = False) -> bool:
    """`model` is exactly one of `classes` (no subclass), float32 on a CPU: Linear, activation, ..., Linear (then a
    Tanh, where `tanh_output` allows one), no parametrization."""
    if type(model) not in classes:
        return False
    layers = list(model.net)
    if tanh_output and type(layers[-1]) is nn.Tanh:
        layers = layers[:-1]
    linear = layers[0::2]
    return (all(type(layer) is nn.Linear for layer in linear) and all(type(a) is activation for a in layers[1::2])
            and len(layers) % 2 == 1
            and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters()))


def _fused_adam(optimizer: torch.optim.Optimizer) -> bool:
    group = optimizer.param_groups
    return (type(optimizer) is torch.optim.Adam and len(group) == 1 and group[0].get("fused") is True
            and not group[0]["amsgrad"] and group[0]["weight_decay"] == 0 and not group[0]["maximize"])


def _forward(net: _Layers, x: Tensor, activation: Callable[[Tensor], Tensor]) -> tuple[Tensor, list[Tensor]]:
    """The network's output and the input of each of its linear layers (what the backward pass needs)."""
    inputs, last = [], len(net.w) - 1
    for i, (b, wt) in enumerate(zip(net.b, net.wt)):
        inputs.append(x)
        x = torch.addmm(b, x, wt)
        if i < last:
            x = activation(x)
    return (x.tanh_() if net.tanh else x), inputs


def _backward(net: _Layers, inputs: list[Tensor], grad: Tensor, leak: float | None, weights: bool = True,
              to_input: bool = False) -> tuple[list[Tensor], Tensor | None]:
    """Gradients of the loss for each weight and bias (in `model.parameters()` order, when `weights`), and for the
    network's input (when `to_input`), from `grad`, the loss's gradient for its output. An activation's
    gradient is read from its output, the next layer's input: leaky ReLU with slope `leak`, or ReLU for None."""
    grads: list[Tensor] = []
    for i in range(len(net.w) - 1, -1, -1):
        x = inputs[i]
        if weights:
            grads[:0] = [grad.t().mm(x), grad.sum(0)]
        if i == 0 and not to_input:
            return grads, None
        grad = grad.mm(net.w[i])
        if i > 0:
            grad = (torch.ops.aten.leaky_relu_backward(grad, x, leak, True) if leak is not None
                    else torch.ops.aten.threshold_backward(grad, x, 0))
    return grads, grad


def _adam(optimizer: torch.optim.Adam, grads: list[Tensor]) -> None:
    """What optimizer.step() does with these gradients: the fused Adam kernel on the optimizer's state."""
    group = optimizer.param_groups[0]
    params = group["params"]
    for p, g in zip(params, grads):
        p.grad = g  # as after a backward pass (and so that the first step can build Adam's state)
    if len(optimizer.state) < len(params):  # Adam's first step builds its state
        optimizer.step()
        return
    states = [optimizer.state[p] for p in params]
    steps = [s["step"] for s in states]
    torch._foreach_add_(steps, 1)
    beta1, beta2 = group["betas"]
    torch._fused_adam_(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [], steps,
                       amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=0.0, eps=group["eps"],
                       maximize=False)


def _leaky(x: Tensor) -> Tensor:
    return F.leaky_relu(x, LEAK, inplace=True)  # in place: the backward pass reads the output


def _relu(x: Tensor) -> Tensor:
    return x.relu_()


@functools.lru_cache(maxsize=4)
def _signs(n: int) -> Tensor:
    """(2n, 1): -1 for the n real rows, +1 for the n generated ones. D's loss is the mean over each half of
    softplus(sign * logit), so its gradient for a logit is sign * sigmoid(sign * logit) / n."""
    return torch.cat([-torch.ones(n, 1), torch.ones(n, 1)])


@torch.no_grad()
def _step(trainer, G: _Layers, D: _Layers) -> dict[str, float]:
    for _ in range(trainer.config.d_steps):
        x_real = trainer.sample_real()
        n = len(x_real)
        x_real = x_real.reshape(n, -1)  # images (n, 1, 28, 28) as D's first layer reads them
        z, _ = trainer.latent(n, x_real.device)
        x_fake, _ = _forward(G, z, _relu)
        logits, inputs = _forward(D, torch.cat([x_real, x_fake]), _leaky)  # (2n, 1): real rows, then generated
        signed = logits * _signs(n)  # -d_real, then d_fake
        loss_d = F.softplus(signed).sum()  # n * losses.d_loss_standard: softplus(-d_real) + softplus(d_fake)
        p = torch.sigmoid(signed)  # 1 - D(x) on the real rows, D(G(z)) on the generated ones
        grads, _ = _backward(D, inputs, p * _signs(n) / n, LEAK)
        _adam(trainer.opt_d, grads)
        trainer.constrain_d(trainer.discriminator)
    metrics = {"loss_d": loss_d.item() / n, "d_real": 1.0 - p[:n].mean().item(), "d_fake": p[n:].mean().item()}
    z, _ = trainer.latent(n, x_real.device)
    x_fake, g_inputs = _forward(G, z, _relu)
    logits, inputs = _forward(D, x_fake, _leaky)
    loss_g = F.softplus(-logits).mean()  # losses.g_loss_nonsaturating
    _, grad = _backward(D, inputs, torch.sigmoid(-logits).mul_(-1.0 / n), LEAK, weights=False, to_input=True)
    if G.tanh:
        grad = torch.ops.aten.tanh_backward(grad, x_fake)
    grads, _ = _backward(G, g_inputs, grad, None)
    _adam(trainer.opt_g, grads)
    if trainer.ema is not None:
        trainer.ema.update(trainer.generator)
    metrics["loss_g"] = loss_g.item()
    return metrics
