"""The exercise check of lesson 00 accepts right answers, explains typical wrong ones and refuses the library's own
reverse KL."""
import math

import torch
import torch.nn.functional as F

import gan_lessons as gl
from gan_lessons.checks import lesson00


def right(counts):
    q = counts[counts > 0] / counts.sum()
    return (q * torch.log(q * len(counts))).sum()


def test_reverse_kl_check_accepts_right_answers():
    assert lesson00.check_reverse_kl(right).ok
    assert lesson00.check_reverse_kl(lambda c: float(right(c))).ok  # a float is as good as a tensor
    as_xlogy = lambda c: (torch.xlogy(c / c.sum(), c / c.sum()).sum() + math.log(len(c)))
    assert lesson00.check_reverse_kl(as_xlogy).ok


def test_reverse_kl_check_explains_wrong_answers():
    def unmasked(c):
        q = c / c.sum()
        return (q * torch.log(q * len(c))).sum()

    def shares_of(c):
        return c[c > 0] / c.sum()

    def raise_(c):
        raise NotImplementedError

    wrong = {
        "0 * log 0": unmasked,
        "shares first": lambda c: (c[c > 0] * torch.log(c[c > 0] * len(c))).sum(),
        "sign is flipped": lambda c: -right(c),
        "1/K": lambda c: (shares_of(c) * torch.log(shares_of(c) * 8)).sum(),
        "natural logs": lambda c: right(c) / math.log(2),
        "KL(u || q)": lambda c: (torch.log((1 / len(c)) / (c / c.sum())) / len(c)).sum(),
        "left out the uniform": lambda c: (shares_of(c) * torch.log(shares_of(c))).sum(),
        "expected a number": lambda c: [right(c)],
        "NotImplementedError": raise_,
    }
    for phrase, fn in wrong.items():
        result = lesson00.check_reverse_kl(fn)
        assert not result.ok and phrase in result.message, (phrase, result.message)


def test_check_reverse_kl_refuses_a_library_shortcut():
    ring = gl.data.make_target("ring8")

    def by_mode_coverage(counts):  # a point on each centre per count: mode_coverage's "rkl" is the answer
        centres = gl.data.toy.ring_centres(len(counts))
        return gl.metrics.mode_coverage(centres.repeat_interleave(counts, 0), centres, 0.01)["rkl"]

    def by_evaluate_2d(counts):
        return gl.metrics.evaluate_2d(ring.centres.repeat_interleave(counts, 0), ring)["rkl"]

    def by_class_kl(counts):  # one-hot "predictions", one per sample
        return gl.image_metrics.class_kl(F.one_hot(torch.arange(len(counts)).repeat_interleave(counts)).double())

    for name, fn in (("gan_lessons.metrics.mode_coverage", by_mode_coverage),
                     ("gan_lessons.metrics.mode_coverage", by_evaluate_2d),
                     ("gan_lessons.image_metrics.class_kl", by_class_kl)):
        result = lesson00.check_reverse_kl(fn)
        assert not result.ok and name in result.message, (name, result.message)
    assert abs(by_class_kl(torch.tensor([3, 1])) - right(torch.tensor([3, 1])).item()) < 1e-6  # restored, and right
