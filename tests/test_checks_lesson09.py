"""The checks of lesson 09 accept right answers and name the usual mistakes."""
import torch
import torch.nn.functional as F

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
