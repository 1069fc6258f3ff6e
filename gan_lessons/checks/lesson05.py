"""Checks for lesson 05: one discriminator step and one generator step, written by hand, and the lesson's question.

Each check runs the student's step on small seeded models with plain SGD, next to reference steps (the right
one and the usual mistakes), and names the mistake whose result the student's step reproduces. The library's own
steps and losses are made to raise meanwhile (`call_own`): the student writes the step.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..i18n import tr
from ..losses import d_loss_standard, g_loss_nonsaturating
from ..training import GANTrainer
from .verdict import CheckResult, Question, call_own, failed, passed

# The library's versions of each exercise: the trainer's steps and the losses they minimize.
D_STEP_LIBRARY = (GANTrainer.d_step, GANTrainer.step, d_loss_standard)
G_STEP_LIBRARY = (GANTrainer.g_step, GANTrainer.step, g_loss_nonsaturating)


def _models(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return G, D


def _stale_grads(model: nn.Module) -> None:
    """Leave old gradients behind, as an earlier step would: a step without zero_grad adds to them."""
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)


def _d_reference(G, D, x_real, z, *, detach=True, zero=True, sign=1.0) -> nn.Module:
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    _stale_grads(D)
    x_fake = G(z).detach() if detach else G(z)
    loss = F.softplus(-D(x_real)).mean() + F.softplus(D(x_fake)).mean()
    if zero:
        opt.zero_grad()
    (sign * loss).backward()
    opt.step()
    return D


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


def check_d_step(d_step) -> CheckResult:
    """`d_step(G, D, opt_d, x_real, z)` must make one update of D on the BCE loss, leaving G alone."""
    G, D = _models()
    x_real, z = torch.randn(16, 2), torch.randn(16, 2)
    G_before = copy.deepcopy(G)
    _stale_grads(D)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    _, error = call_own(d_step, D_STEP_LIBRARY, G, D, opt_d, x_real, z)
    if error is not None:
        return error
    if any(p.grad is not None for p in G.parameters()):
        return failed(tr("G's weights received gradients: D's step must not reach G; use G(z).detach()"))
    if not _same(G, G_before):
        return failed(tr("G's weights changed during D's step"))
    if _same(D, _d_reference(G_before, _models()[1], x_real, z)):
        return passed(tr("one SGD step of D on softplus(-D(x)) + softplus(D(G(z))), with old gradients cleared"))
    if _same(D, _d_reference(G_before, _models()[1], x_real, z, zero=False)):
        return failed(tr("your step added the new gradient to an old one: call opt_d.zero_grad() before backward()"))
    if _same(D, _d_reference(G_before, _models()[1], x_real, z, sign=-1.0)):
        return failed(tr("D moved the wrong way: minimize -log D(x) - log(1 - D(G(z))), i.e. "
                         "softplus(-d_real) + softplus(d_fake), not its negative"))
    if _same(D, _models()[1]):
        return failed(tr("D's weights did not change: call loss.backward() and then opt_d.step()"))
    return failed(tr("D changed, but not as one step on the BCE loss "
                     "softplus(-D(x_real)).mean() + softplus(D(G(z))).mean() would change it"))


def _g_reference(G, D, z, *, loss="nonsaturating", zero=True) -> nn.Module:
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt = torch.optim.SGD(G.parameters(), lr=0.1)
    _stale_grads(G)
    d_fake = D(G(z))
    value = F.softplus(-d_fake).mean() if loss == "nonsaturating" else -F.softplus(d_fake).mean()
    if zero:
        opt.zero_grad()
    value.backward()
    opt.step()
    return G


def check_g_step(g_step) -> CheckResult:
    """`g_step(G, D, opt_g, z)` must make one update of G on the non-saturating loss, leaving D's weights alone."""
    G, D = _models(1)
    z = torch.randn(16, 2)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    _stale_grads(G)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    _, error = call_own(g_step, G_STEP_LIBRARY, G, D, opt_g, z)
    if error is not None:
        return error
    if not _same(D, D0):
        return failed(tr("D's weights changed during G's step: only opt_g.step() belongs here"))
    if _same(G, _g_reference(G0, D0, z)):
        return passed(tr("one SGD step of G on the non-saturating loss softplus(-D(G(z))) = -log D(G(z))"))
    if _same(G, _g_reference(G0, D0, z, zero=False)):
        return failed(tr("your step added the new gradient to an old one: call opt_g.zero_grad() before backward()"))
    if _same(G, _g_reference(G0, D0, z, loss="minimax")):
        return failed(tr("that is the saturating loss log(1 - D(G(z))); use the non-saturating -log D(G(z)), "
                         "whose gradient does not vanish when D rejects the fakes (lesson 04)"))
    if _same(G, G0):
        return failed(tr("G's weights did not change: call loss.backward() and then opt_g.step()"))
    return failed(tr("G changed, but not as one step on softplus(-D(G(z))).mean() would change it"))


QUESTIONS: dict[str, Question] = {
    "detach": Question(
        text="Suppose D's step in train_step did not detach G's samples, so that loss_d.backward() also fills G's "
             ".grad, and G's step still starts with opt_g.zero_grad(). Train 20 steps from the same seed with this "
             "loop and with the right one. How do the two generators' weights compare?",
        choices={"a": "identical, bit for bit",
                 "b": "different: the gradient of D's loss pushes G in D's favour",
                 "c": "different only in the last digits, by rounding"},
        answer="a",
        why="opt_g.zero_grad() at the start of G's step erases what D's loss left in G's .grad before G's own "
            "backward, and D's gradient and the random numbers are the same: the only cost is a backward pass "
            "through G that nobody uses. Leave out that zero_grad too, and G's step does add D's push",
        hints={"b": "that happens only if D's gradient is still in G's .grad when opt_g.step() runs: follow G's "
                    ".grad from loss_d.backward() to opt_g.step()",
               "c": "rounding differs only when the operations or their order differ: which of G's and D's "
                    "numbers does the missing detach change by the time opt_g.step() runs?"}),
}
