r"""Checks for lesson 09: conditioning by concatenation, and the projection discriminator's logit; and its question.

The library's models compute both inside their forward passes (ConditionalMLPDiscriminator concatenates the one-hot
label to the pixels, ProjectionDiscriminator adds e_y . h to psi(h)); those are made to raise while the student's
function runs: the student writes the code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..i18n import tr
from ..models import ConditionalMLPDiscriminator, ProjectionDiscriminator
from .verdict import CheckResult, Question, call_own, compare_tensor, failed, passed

QUESTIONS: dict[str, Question] = {
    "label_frequencies": Question(
        text="The trainer draws G's labels uniformly (10% each); the data's digits hold about 9% to 11%. If G were "
             "perfect for every label, p_g(x | y) = p_data(x | y), what would the best D answer on a pair (x, y) "
             "whose label is the rarest digit of the data?",
        answer="b",
        choices={"a": "1/2: real and generated pairs look alike, as at the optimum of lesson 04",
                 "b": "less than 1/2",
                 "c": "more than 1/2"},
        hints={"a": "the images look alike, but is the rarest digit as frequent among generated pairs as among real "
                    "ones? Write D* = p_data(x, y) / (p_data(x, y) + p_g(x, y)) with p(x, y) = p(y) p(x | y)",
               "c": "which pairs carry the rarest digit more often, the real ones or the generated ones? D* is the "
                    "share of real pairs among the pairs that look like this one"},
        why="With p_g(x | y) = p_data(x | y), D*(x, y) = p(y) / (p(y) + q(y)), q(y) = 1/10 the share of label y "
            "among generated pairs: a pair that carries a digit rarer than 10% in the data is more likely generated, "
            "so D* < 1/2 on it (about 0.47 for a 9% digit), and D* > 1/2 on a digit more frequent than 10%. The label "
            "alone gives D this edge; G, which does not choose its labels, cannot take it away. Drawn with the data's "
            "frequencies (q = p), the labels tell D nothing, and D* = 1/2 for every digit."),
}


def _concat_reference(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    return torch.cat([z, F.one_hot(y, n_classes).to(z.dtype)], dim=1)


def check_concat_condition(fn) -> CheckResult:
    """`fn(z, y, n_classes)` must return [z, onehot(y)]: shape (N, z_dim + n_classes), the label as a one-hot row."""
    gen = torch.Generator().manual_seed(0)
    for n, z_dim, n_classes in ((6, 4, 10), (3, 2, 5)):
        z, y = torch.randn(n, z_dim, generator=gen), torch.randint(n_classes, (n,), generator=gen)
        got, error = call_own(fn, (ConditionalMLPDiscriminator.forward,), z.clone(), y.clone(), n_classes)
        if error:
            return error
        expected = _concat_reference(z, y, n_classes)
        if isinstance(got, torch.Tensor) and got.shape == (n, z_dim + 1):
            return failed(tr("shape {shape}: the label was appended as one number; a network reads a "
                             "number as an amount (digit 8 = 'more' than digit 1), so append a one-hot row of "
                             "length n_classes = {n_classes} (F.one_hot(y, n_classes))", shape=tuple(got.shape),
                             n_classes=n_classes))
        if isinstance(got, torch.Tensor) and got.shape == (n + n, z_dim) or getattr(got, "dim", lambda: 0)() == 1:
            return failed(tr("shape {shape}: concatenate along the features, dim=1, not the batch",
                             shape=tuple(got.shape)))
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not got.is_floating_point():
            return failed(tr("the result is an integer tensor: convert the one-hot to z's dtype (.to(z.dtype))"))
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.equal(
                got, torch.cat([F.one_hot(y, n_classes).to(z.dtype), z], dim=1)):
            return failed(tr("the one-hot comes first: put z first, then the label, [z, onehot(y)] (the models' "
                             "order)"))
        verdict = compare_tensor(f"fn(z, y, {n_classes})", got, expected)
        if verdict:
            return verdict
    return passed(tr("[z, onehot(y)]: the label enters as a one-hot row beside the noise"))


def _projection_reference(h, psi_w, psi_b, table, y):
    return h @ psi_w + psi_b + (table[y] * h).sum(dim=1)


def check_projection_logit(fn) -> CheckResult:
    r"""`fn(h, psi_w, psi_b, table, y)` must be $\psi(h) + e_y^\top h$ per sample: shape (N,)."""
    gen = torch.Generator().manual_seed(1)
    n, f, c = 7, 5, 10
    h, psi_w, psi_b = torch.randn(n, f, generator=gen), torch.randn(f, generator=gen), torch.randn((), generator=gen)
    table, y = torch.randn(c, f, generator=gen), torch.randint(c, (n,), generator=gen)
    got, error = call_own(fn, (ProjectionDiscriminator.forward,), h.clone(), psi_w.clone(), psi_b.clone(),
                          table.clone(), y.clone())
    if error:
        return error
    expected = _projection_reference(h, psi_w, psi_b, table, y)
    if isinstance(got, torch.Tensor) and got.shape == (n, c):
        return failed(tr("shape {shape}: that is every class's score (h @ table.T); D(x, y) needs only the "
                         "requested class's: pick the row table[y] and take its inner product with h, per sample",
                         shape=tuple(got.shape)))
    if isinstance(got, torch.Tensor) and got.shape == (n, n):
        return failed(tr("shape {shape}: h @ table[y].T pairs every sample with every label; multiply "
                         "elementwise and sum over the features: (table[y] * h).sum(dim=1)", shape=tuple(got.shape)))
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        if torch.allclose(got, (table[y] * h).sum(dim=1), atol=1e-5):
            return failed(tr("the unconditional term psi(h) = h @ psi_w + psi_b is missing: without it D can only "
                             "judge how well x fits y, not whether x looks like a real digit at all"))
        if torch.allclose(got, h @ psi_w + psi_b, atol=1e-5):
            return failed(tr("the label term is missing: e_y^T h = (table[y] * h).sum(dim=1) is what makes D "
                             "conditional"))
    verdict = compare_tensor(tr("the logit"), got, expected)
    return verdict or passed(tr("psi(h) + e_y^T h: an unconditional score plus the label's projection on the "
                                "features"))
