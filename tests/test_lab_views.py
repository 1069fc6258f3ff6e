"""The lab's views after GAN Lab: G's manifold (a grid of the noise plane mapped by G) and KL and JS on a grid."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gan_lessons.config import replace
from gan_lessons.data.toy import make_target
from gan_lessons.lab import LAB_DEFAULTS
from gan_lessons.lab_frames import Curves, frame_of, manifold
from gan_lessons.lab_panes import PANE_NAMES, LivePane, coverage_text, manifold_title, snapshot_figure
from gan_lessons.metrics import grid_divergences
from gan_lessons.training import make_2d_trainer

PNG = b"\x89PNG\r\n\x1a\n"
CPU = torch.device("cpu")


class Recorder(torch.nn.Module):
    """A G that keeps the noise it was given (and whether autograd was on) and returns its first two coordinates
    (the z1 coordinate alone, twice, for z_dim = 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.grad_enabled: list[bool] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.seen.append(z.clone())
        self.grad_enabled.append(torch.is_grad_enabled())
        return z[:, :2] if z.shape[1] > 1 else z.repeat(1, 2)


# -- the manifold ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("z_dim, shape", [(1, (1, 41, 2)), (2, (22, 41, 2)), (5, (22, 41, 2))])
def test_the_manifold_has_one_row_per_line_of_the_grid(z_dim, shape):
    G = make_2d_trainer(replace(LAB_DEFAULTS, z_dim=z_dim, device="cpu"))[0].generator
    assert manifold(G, z_dim, CPU).shape == shape
    assert manifold(G, z_dim, CPU, lines=3, points=7).shape == ((1, 7, 2) if z_dim == 1 else (6, 7, 2))


def test_an_identity_generator_draws_the_grid_itself():
    lines, points, w = 5, 9, 2.0  # the grid's values -2, -1.5, ..., 2 are exact in float32 and float64 alike
    out = manifold(Recorder(), 2, CPU, lines=lines, points=points, half_width=w)
    fixed, running = np.linspace(-w, w, lines), np.linspace(-w, w, points)
    for i in range(lines):
        np.testing.assert_array_equal(out[i], np.stack([np.full(points, fixed[i]), running], 1).astype(np.float32))
        np.testing.assert_array_equal(out[lines + i], np.stack([running, np.full(points, fixed[i])], 1)
                                      .astype(np.float32))


def test_the_noise_line_is_the_image_of_z1():
    out = manifold(Recorder(), 1, CPU, points=9, half_width=2.0)
    np.testing.assert_array_equal(out[0, :, 0], np.linspace(-2, 2, 9, dtype=np.float32))


def test_above_two_noise_dimensions_the_manifold_is_the_slice_where_the_others_are_zero():
    G = Recorder()
    manifold(G, 5, CPU, lines=4, points=6)
    (z,) = G.seen
    assert z.shape == (2 * 4 * 6, 5)
    assert torch.all(z[:, 2:] == 0) and z[:, :2].abs().max() == 2.5
    assert G.grad_enabled == [False]  # no graph is built for a picture


def test_the_manifold_leaves_the_generators_mode_alone():
    G = make_2d_trainer(replace(LAB_DEFAULTS, device="cpu"))[0].generator
    G.eval()
    manifold(G, 2, CPU)
    assert not G.training
    G.train()
    manifold(G, 2, CPU)
    assert G.training


@pytest.mark.parametrize("z_dim, says", [(1, "(the noise line)"), (2, None), (3, "(slice z3 = 0)"),
                                         (7, "(slice z3..z7 = 0)")])
def test_the_manifold_title_says_which_slice_it_shows(z_dim, says):
    title = manifold_title(z_dim)
    assert title.startswith("G's manifold: the z-plane's grid mapped by G")
    assert (says in title) if says else "\n" not in title


# -- KL and JS on a grid ---------------------------------------------------------------------------------------------
def gaussian(n: int, mean, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 2)) + np.asarray(mean)


def test_equal_sample_sets_are_at_zero_divergence():
    x = gaussian(1000, (0, 0), 0)
    result = grid_divergences(x, x.copy(), extent=3.0)
    assert result["kl"] == pytest.approx(0, abs=1e-12) and result["js"] == pytest.approx(0, abs=1e-12)


def test_disjoint_supports_are_at_js_log_2():
    left, right = gaussian(500, (0, 0), 1) * 0.1 + [-2, 0], gaussian(700, (0, 0), 2) * 0.1 + [2, 0]
    result = grid_divergences(left, right, extent=4.0)
    assert result["js"] == pytest.approx(math.log(2), abs=1e-6)
    assert 0 < result["kl"] < math.inf


points = arrays(np.float64, st.tuples(st.integers(1, 60), st.just(2)),
                elements=st.floats(-6, 6, allow_nan=False, width=64))


@settings(max_examples=150, deadline=None)
@given(points, points, st.integers(1, 25), st.floats(0.5, 5))
def test_js_is_symmetric_and_between_0_and_log_2(p, q, bins, extent):
    forth, back = grid_divergences(p, q, extent, bins), grid_divergences(q, p, extent, bins)
    assert forth["js"] == pytest.approx(back["js"], abs=1e-12)
    assert -1e-12 <= forth["js"] <= math.log(2) + 1e-12
    assert forth["kl"] >= -1e-12  # the smoothed histograms are distributions: KL >= 0


MU, S = 1.0, 1.5  # real: N(0, I); generated: N((MU, 0), S^2 I)
KL_CLOSED = 2 * math.log(S) + (1 + MU**2) / (2 * S**2) + 1 / (2 * S**2) - 1  # sum over x and y of the 1-D KL: 0.4776


def binned_gaussian_kl(bins: int, extent: float) -> float:
    """KL(N(0, I) || N((MU, 0), S^2 I)) between the two Gaussians' masses in the cells of the grid, the border
    cells holding the tails (as grid_divergences counts them), from the normal CDF: no sampling."""
    edges = np.array([-math.inf, *np.linspace(-extent, extent, bins + 1)[1:-1], math.inf])
    cdf = np.vectorize(lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2))))
    p = np.outer(np.diff(cdf(edges)), np.diff(cdf(edges)))
    q = np.outer(np.diff(cdf((edges - MU) / S)), np.diff(cdf(edges / S)))
    return float(np.sum(p * np.log(p / q)))


@pytest.mark.parametrize("seed", range(3))
def test_kl_of_two_gaussians_on_a_fine_grid_is_near_the_closed_form(seed):
    """KL(real || generated) of two Gaussians: 0.4776 in closed form, 0.9391 the other way round
    (-2 log S + (S^2 + MU^2) / 2 + S^2 / 2 - 1). The grid (40 x 40 cells of h = 0.3 over [-6, 6]^2) lowers it to
    the KL of the binned Gaussians, by 0.003; 400,000 samples a side add noise and a bias of order cells / n.
    Tolerance 0.01: about three times the binning's part, far below what the KL taken the other way round
    would miss by."""
    assert binned_gaussian_kl(40, 6.0) == pytest.approx(KL_CLOSED, abs=0.004)
    n = 400_000
    real, fake = gaussian(n, (0, 0), 2 * seed), gaussian(n, (0, 0), 2 * seed + 1) * S + [MU, 0]
    assert grid_divergences(real, fake, extent=6.0, bins=40, eps=1e-9)["kl"] == pytest.approx(KL_CLOSED, abs=0.01)


@pytest.mark.parametrize("kwargs, name", [({"bins": 0}, "bins"), ({"bins": 2.5}, "bins"), ({"extent": 0}, "extent"),
                                          ({"eps": -1.0}, "eps"), ({"extent": math.nan}, "extent")])
def test_bad_arguments_are_named(kwargs, name):
    x = gaussian(10, (0, 0), 5)
    with pytest.raises(ValueError, match=f"^{name}="):
        grid_divergences(x, x, **{"extent": 3.0, **kwargs})


def test_a_nan_sample_gives_nan_not_a_number_that_looks_measured():
    x = gaussian(10, (0, 0), 6)
    y = x.copy()
    y[3, 1] = math.nan
    result = grid_divergences(x, y, 3.0)
    assert math.isnan(result["kl"]) and math.isnan(result["js"])


# -- the lab's frames and panes --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_frame():
    cfg = replace(LAB_DEFAULTS, z_dim=3, device="cpu")
    trainer, target = make_2d_trainer(cfg)
    trainer.run(20, progress=False)
    return frame_of(trainer, target, cfg.loss, Curves(), 0.0), trainer, target


def test_a_frame_carries_the_manifold_and_kl_and_js_on_the_grid(lab_frame):
    frame, trainer, target = lab_frame
    assert frame.z_dim == 3 and frame.manifold.shape == (22, 41, 2)
    np.testing.assert_allclose(frame.manifold, manifold(trainer.generator, 3, CPU))
    real = target.sample(2500, generator=torch.Generator().manual_seed(1234))
    z = torch.randn(2500, 3, generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        expected = grid_divergences(real, trainer.generator(z), target.extent, bins=20)
    assert frame.coverage["kl_grid"] == pytest.approx(expected["kl"], rel=1e-6)
    assert frame.coverage["js_grid"] == pytest.approx(expected["js"], rel=1e-6)
    assert 0 <= frame.coverage["js_grid"] <= math.log(2)


def test_the_coverage_line_shows_kl_and_js_after_the_reverse_kl(lab_frame):
    frame, _, _ = lab_frame
    text = coverage_text(frame.coverage, len(frame.centres))
    rkl, grid = text.index("reverse KL"), text.index("on a 20×20 grid: KL(real‖G) ")
    assert rkl < grid and f"JS {frame.coverage['js_grid']:.2f}" in text
    old = {k: frame.coverage[k] for k in ("modes", "hq", "rkl")}  # a coverage measured without the grid
    assert "grid" not in coverage_text(old, 8) and "reverse KL" in coverage_text(old, 8)


def test_the_manifold_pane_renders_and_then_redraws_only_its_lines():
    cfg = replace(LAB_DEFAULTS, z_dim=3, device="cpu")
    trainer, target = make_2d_trainer(cfg)
    pane, frame = LivePane("manifold"), frame_of(trainer, target, cfg.loss, Curves(), 0.0)
    first = pane.render(frame)
    background = pane._background
    trainer.run(5, progress=False)
    later = frame_of(trainer, target, cfg.loss, Curves(), 0.0, coverage=frame.coverage)
    second = pane.render(later)
    assert first.startswith(PNG) and second.startswith(PNG) and first != second
    assert pane._background is background  # the same background: the second frame took the blitting path
    assert "(slice z3 = 0)" in pane.pane.ax.get_title()
    segments = pane.pane.lines[0].get_segments() + pane.pane.lines[1].get_segments()
    np.testing.assert_allclose(np.stack(segments), later.manifold)


def test_the_manifold_pane_follows_the_noise_dimension():
    target = make_target(LAB_DEFAULTS.target)
    pane = LivePane("manifold")
    for z_dim, lines in ((2, (11, 11)), (1, (0, 1)), (4, (11, 11))):
        trainer, _ = make_2d_trainer(replace(LAB_DEFAULTS, z_dim=z_dim, device="cpu"))
        assert pane.render(frame_of(trainer, target, "standard", Curves(), 0.0)).startswith(PNG)
        assert tuple(len(c.get_segments()) for c in pane.pane.lines) == lines
        assert (pane.pane.ax.get_legend() is None) == (z_dim == 1)


def test_the_snapshot_shows_every_pane_in_order(lab_frame):
    frame, _, _ = lab_frame
    fig = snapshot_figure(frame)
    fig.canvas.draw()
    titled = sorted((ax for ax in fig.axes if ax.get_title()), key=lambda ax: ax.get_position().x0)
    assert len(titled) == len(PANE_NAMES) == 5
    assert titled[PANE_NAMES.index("manifold")].get_title().startswith("G's manifold")
    assert titled[PANE_NAMES.index("curves")].get_title().startswith("losses")
    lefts = [ax.get_position().x0 for ax in titled]
    assert all(b - a > 0.1 for a, b in zip(lefts, lefts[1:]))  # side by side, not stacked
