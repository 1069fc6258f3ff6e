"""Checks for lesson 08: the hinge loss of D, the EMA update of G's weights, WGAN's weight clipping; and its question.

Each check runs the student's function on seeded cases next to the right answer and the usual mistakes, and
names the mistake that the student's answer reproduces. The library's own versions of the three (losses.d_loss_hinge,
fixes.EMA.update, fixes.clip_weights) are made to raise meanwhile: the student writes the code.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..fixes import EMA, clip_weights
from ..i18n import tr
from ..losses import d_loss_hinge
from .verdict import CheckResult, Question, call_own, compare_tensor, failed, passed

QUESTIONS: dict[str, Question] = {
    "clipped_weights": Question(
        text="The critic's weights start spread evenly over [-c, c], c = 0.01. After 100 generator steps of WGAN's "
             "Algorithm 1 (500 critic updates, each followed by clipping), where will most of them be?",
        answer="b",
        choices={"a": "still spread evenly over [-c, c]: clipping only cuts what lies outside",
                 "b": "piled up at -c and +c",
                 "c": "gathered near 0: a small critic is a smooth one"},
        hints={"a": "clipping leaves the values inside [-c, c] alone, but the critic's updates do not: in which "
                    "direction do they push a weight, and what stops that push?",
               "c": "nothing in the critic's loss rewards small weights (no weight decay, no penalty): what does "
                    "the critic gain from larger ones?"},
        why="The critic maximizes E[f(x)] - E[f(G(z))], which is linear in its last layer's weights w: "
            "w . (E[h(x)] - E[h(G(z))]). A linear function is largest at a corner of the box [-c, c]^n, so each such "
            "weight goes to +c or -c, by the sign of the gap between real and generated features, and the layers "
            "below pile up at the walls too (Gulrajani et al., 2017, Fig. 1b). The critic is left little room to "
            "shape itself: one reason the gradient penalty replaced clipping."),
}


def _hinge_mistakes(r: torch.Tensor, f: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        tr("the max(0, .) is missing: without it D keeps pushing scores it already gets right (that is the WGAN "
           "critic loss plus 2)"): (1 - r).mean() + (1 + f).mean(),
        tr("the signs are swapped: D should want D(x) >= 1 on real samples and D(G(z)) <= -1 on fakes"):
            F.relu(1 + r).mean() + F.relu(1 - f).mean(),
        tr("the margin is missing: the hinge is max(0, 1 - D(x)), not max(0, -D(x))"):
            F.relu(-r).mean() + F.relu(f).mean(),
        tr("sums instead of means: the loss should not grow with the batch size"):
            F.relu(1 - r).sum() + F.relu(1 + f).sum(),
    }


def check_hinge_d_loss(d_loss) -> CheckResult:
    """`d_loss(d_real, d_fake)` must be E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] on raw scores."""
    torch.manual_seed(8)
    r, f = torch.randn(64) * 2, torch.randn(64) * 2
    expected = F.relu(1 - r).mean() + F.relu(1 + f).mean()
    got, error = call_own(d_loss, (d_loss_hinge,), r.clone(), f.clone())
    if error is not None:
        return error
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        for why, wrong in _hinge_mistakes(r, f).items():
            if torch.allclose(got.double(), wrong.double(), atol=1e-6) and not torch.allclose(wrong, expected):
                return failed(why)
    mismatch = compare_tensor(tr("the loss"), got, expected)
    if mismatch is not None:
        return mismatch
    return passed(tr("hinge loss {loss:.4f}: only scores inside the margin (-1 < D < 1, or wrong) are pushed",
                     loss=got.item()))


def check_ema_update(ema_update) -> CheckResult:
    """`ema_update(w_ema, w, beta)` must return beta * w_ema + (1 - beta) * w."""
    torch.manual_seed(9)
    w_ema, w, beta = torch.randn(4, 3), torch.randn(4, 3), 0.9
    expected = beta * w_ema + (1 - beta) * w
    got, error = call_own(ema_update, (EMA.update,), w_ema.clone(), w.clone(), beta)
    if error is not None:
        return error
    mistakes = {
        tr("beta and 1 - beta are swapped: the average must keep most of its old value (beta = 0.9 of it)"):
            beta * w + (1 - beta) * w_ema,
        tr("the new weights lack their factor (1 - beta): the average grows instead of averaging"): beta * w_ema + w,
        tr("this returns the current weights: the average forgets its past"): w,
        tr("this returns the old average: it never moves"): w_ema,
    }
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        for why, wrong in mistakes.items():
            if torch.allclose(got, wrong, atol=1e-6):
                return failed(why)
    mismatch = compare_tensor(tr("the new average"), got, expected, atol=1e-6)
    if mismatch is not None:
        return mismatch
    return passed(tr("w_ema <- 0.9 w_ema + 0.1 w: after k updates a weight from k steps ago counts 0.1 * 0.9^k"))


def _critic(seed: int = 10) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))


def check_weight_clipping(clip) -> CheckResult:
    """`clip(model, c)` must clamp every parameter of `model` (weights and biases) into [-c, c], in place."""
    model, c = _critic(), 0.05
    before = copy.deepcopy(model)
    _, error = call_own(clip, (clip_weights,), model, c)
    if error is not None:
        return error
    params = list(model.parameters())
    if all(torch.equal(p, q) for p, q in zip(params, before.parameters())):
        return failed(tr("the model's parameters did not change: clamp them in place (p.data.clamp_ or "
                         "p.clamp_ under torch.no_grad()); returning clamped copies leaves the model as it was"))
    if min(p.min().item() for p in params) >= 0:
        return failed(tr("no parameter has a negative value left: the range is [-c, c], not [0, c]"))
    for name, p in model.named_parameters():
        if p.abs().max().item() > c + 1e-7:
            return failed(tr("{name} still holds values beyond c = {c} (largest {largest:.3f}): "
                             "WGAN clips every parameter, biases included", name=name, c=c,
                             largest=p.abs().max().item()))
    for p, q in zip(params, before.parameters()):
        if not torch.allclose(p, q.clamp(-c, c)):
            return failed(tr("values inside [-c, c] were changed too: clipping must only cut what lies outside"))
    return passed(tr("every parameter now lies in [-{c}, {c}]: the critic's slopes, and so its Lipschitz constant, "
                     "are bounded", c=c))
