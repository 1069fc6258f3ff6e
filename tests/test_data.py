"""2-D targets, 1-D mixtures, bundled digits and the batch sampler: shapes, ranges and structure."""
import math

import pytest
import torch

from gan_lessons.data import BatchSampler, Mixture1D, load_digits_8x8, make_target
from gan_lessons.data.toy import ring_centres


def test_ring_has_eight_distinct_centres_on_the_unit_circle():
    centres = make_target("ring8").centres
    assert centres.shape == (8, 2)
    torch.testing.assert_close(centres.norm(dim=1), torch.ones(8))
    gaps = torch.cdist(centres, centres) + torch.eye(8) * 10
    assert gaps.min() > 0.7  # neighbours are 2 sin(pi/8) = 0.765 apart: no centre repeats
    angles = torch.atan2(centres[:, 1], centres[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(angles.sort().values, 2 * math.pi * torch.arange(8) / 8, atol=1e-5, rtol=0)


def test_grid_is_five_by_five_on_even_coordinates():
    centres = make_target("grid25").centres
    assert centres.shape == (25, 2)
    assert set(centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(c) for c in centres.tolist()}) == 25


@pytest.mark.parametrize("name", ["ring8", "grid25", "spiral", "moons"])
def test_samples_sit_around_their_modes(name):
    target = make_target(name)
    x = target.sample(4000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.dtype == torch.float32
    dist = torch.cdist(x, target.centres).min(dim=1).values
    within = (dist <= 3 * target.sigma).float().mean().item()
    assert within > 0.97  # chi-square with 2 d.o.f.: 98.9% within 3 sigma
    counts = torch.bincount(torch.cdist(x, target.centres).argmin(1), minlength=len(target.centres))
    assert counts.min() > 0.5 * 4000 / len(target.centres)  # every mode is used, roughly equally
    assert x.abs().max() < target.extent


def test_mixture_density_integrates_to_one_and_samples_match_it():
    mix = Mixture1D((-2.0, 1.5), (0.5, 1.0), (0.3, 0.7))
    grid = torch.linspace(-10, 10, 20001, dtype=torch.float64)
    assert torch.trapezoid(mix.pdf(grid), grid).item() == pytest.approx(1.0, abs=1e-8)
    x = mix.sample(100_000, generator=torch.Generator().manual_seed(0))
    assert x.mean().item() == pytest.approx(0.3 * -2.0 + 0.7 * 1.5, abs=0.02)


def test_mixture_rejects_weights_that_do_not_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        Mixture1D((0.0, 1.0), (1.0, 1.0), (0.5, 0.6))


def test_digits_8x8_shapes_and_range():
    x, y = load_digits_8x8()
    assert x.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert set(y.tolist()) == set(range(10))


def test_batch_sampler_repeats_for_a_seed_and_rejects_zero_batch():
    data = torch.arange(100.0)[:, None]
    a, b = BatchSampler(data, 16, seed=3), BatchSampler(data, 16, seed=3)
    torch.testing.assert_close(a(), b())
    assert a().shape == (16, 1)
    with pytest.raises(ValueError, match="batch_size=0"):
        BatchSampler(data, 0)


def test_ring_centres_are_not_linspace():
    # linspace(0, 2 pi, 8) would put the first and last centre on the same point
    assert len({(round(x, 4), round(y, 4)) for x, y in ring_centres(8).tolist()}) == 8
