"""The checks of lesson 09 accept right answers and name the usual mistakes."""
import torch
import torch.nn.functional as F
from torch import nn

from gan_lessons import models
from gan_lessons.checks import lesson09


def concat_right(z, y, n_classes):
    return torch.cat([z, F.one_hot(y, n_classes).float()], dim=1)


def test_concat_condition_check():
    assert lesson09.check_concat_condition(concat_right).ok
    wrong = {
        "as one number": lambda z, y, c: torch.cat([z, y[:, None].float()], dim=1),
        "dim=1": lambda z, y, c: torch.cat([z.flatten(), F.one_hot(y, c).float().flatten()]),
        "integer tensor": lambda z, y, c: torch.cat([z.long(), F.one_hot(y, c)], dim=1),
        "comes first": lambda z, y, c: torch.cat([F.one_hot(y, c).float(), z], dim=1),
        "NotImplementedError": lambda z, y, c: (_ for _ in ()).throw(NotImplementedError),
        "return": lambda z, y, c: None,
    }
    for phrase, fn in wrong.items():
        result = lesson09.check_concat_condition(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def projection_right(h, psi_w, psi_b, table, y):
    return h @ psi_w + psi_b + (table[y] * h).sum(dim=1)


def test_projection_logit_check():
    assert lesson09.check_projection_logit(projection_right).ok
    wrong = {
        "every class's score": lambda h, w, b, t, y: h @ w[:, None] + b + h @ t.T,
        "pairs every sample": lambda h, w, b, t, y: (h @ w + b)[:, None] + h @ t[y].T,
        "unconditional term": lambda h, w, b, t, y: (t[y] * h).sum(dim=1),
        "label term is missing": lambda h, w, b, t, y: h @ w + b,
        "differs": lambda h, w, b, t, y: h @ w + (t[y] * h).sum(dim=1),
    }
    for phrase, fn in wrong.items():
        result = lesson09.check_projection_logit(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


# A student's function that only calls the library's version of the exercise is refused, by the library's name; the
# same function would be right otherwise. The library has no function of its own for either: its discriminators
# compute each inside their forward pass, so a student can get the answer from a discriminator with its layers
# swapped out, and that forward pass is what the checks refuse.
def concat_by_the_library(z, y, n_classes):
    D = models.ConditionalMLPDiscriminator(n_classes=n_classes)
    D.net = nn.Identity()  # D(z, y) is then the concatenation [z, onehot(y)] its MLP would read
    return D(z, y)


def test_check_concat_condition_refuses_a_library_shortcut():
    z, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 2])
    torch.testing.assert_close(concat_by_the_library(z, y, 3), concat_right(z, y, 3))
    result = lesson09.check_concat_condition(concat_by_the_library)
    assert not result.ok and "gan_lessons.models.ConditionalMLPDiscriminator.forward" in result.message, result.message


def projection_by_the_library(h, psi_w, psi_b, table, y):
    D = models.ProjectionDiscriminator(n_classes=len(table), widths=(4, h.shape[1]))
    D.phi = nn.Identity()  # D(h, y) = psi(h) + e_y . h
    with torch.no_grad():
        D.psi.weight.copy_(psi_w[None])
        D.psi.bias.copy_(psi_b.reshape(1))
        D.embed.weight.copy_(table)
    return D(h, y).detach()


def test_check_projection_logit_refuses_a_library_shortcut():
    h, psi_w, psi_b, table = torch.randn(5, 6), torch.randn(6), torch.randn(()), torch.randn(3, 6)
    y = torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(projection_by_the_library(h, psi_w, psi_b, table, y),
                               projection_right(h, psi_w, psi_b, table, y))
    result = lesson09.check_projection_logit(projection_by_the_library)
    assert not result.ok and "gan_lessons.models.ProjectionDiscriminator.forward" in result.message, result.message
    assert lesson09.check_projection_logit(projection_right).ok  # the library's forward works again after the check
    assert models.ProjectionDiscriminator(widths=(4, 4))(torch.zeros(2, 1, 28, 28), torch.tensor([0, 1])).shape == (2,)
