"""The theory module against closed forms, autograd and each other (Goodfellow et al., 2014; Mao et al., 2017)."""
import math

import pytest
import torch

from gan_lessons import losses, theory
from gan_lessons.data import Mixture1D, gaussian_1d

X = theory.grid()
PAIRS = {  # (p_data, p_g): identical, overlapping, different widths, bimodal, nearly disjoint
    "equal": (gaussian_1d(0, 1), gaussian_1d(0, 1)),
    "shifted": (gaussian_1d(0, 1), gaussian_1d(1, 1)),
    "wider": (gaussian_1d(0, 1), gaussian_1d(0.5, 2)),
    "bimodal": (Mixture1D((-2.0, 2.0), (0.5, 0.5), (0.3, 0.7)), gaussian_1d(0, 1.5)),
    "apart": (gaussian_1d(-4, 0.5), gaussian_1d(4, 0.5)),
}


def uniform(lo, hi):
    return lambda x: ((x >= lo) & (x <= hi)).double() / (hi - lo)


@pytest.mark.parametrize("name", PAIRS)
def test_c_of_g_is_minus_log4_plus_two_jsd(name):
    pd, pg = PAIRS[name]
    c, j = theory.c_of_g(pd.pdf, pg.pdf), theory.jsd(pd.pdf, pg.pdf)
    assert c == pytest.approx(-math.log(4) + 2 * j, abs=1e-6)
    assert 0 <= j <= math.log(2) + 1e-9


def test_c_of_g_at_its_extremes():
    pd, pg = PAIRS["equal"]
    assert theory.c_of_g(pd.pdf, pg.pdf) == pytest.approx(-math.log(4), abs=1e-9)  # p_g = p_data: the minimum
    pd, pg = PAIRS["apart"]
    assert theory.c_of_g(pd.pdf, pg.pdf) == pytest.approx(0.0, abs=1e-6)  # disjoint: JSD = log 2, C = 0
    assert theory.jsd(pd.pdf, pg.pdf) == pytest.approx(math.log(2), abs=1e-6)


@pytest.mark.parametrize("name", ["equal", "shifted", "wider", "bimodal"])
def test_value_of_the_optimal_discriminator_is_c_of_g(name):
    pd, pg = PAIRS[name]
    v = theory.value_function(theory.optimal_discriminator(pd.pdf, pg.pdf), pd.pdf, pg.pdf)
    assert v == pytest.approx(theory.c_of_g(pd.pdf, pg.pdf), abs=1e-9)


def test_constant_half_discriminator_has_value_minus_log4():
    pd, pg = PAIRS["bimodal"]
    assert theory.value_function(lambda x: torch.full_like(x, 0.5), pd.pdf, pg.pdf) == pytest.approx(-math.log(4), abs=1e-9)


@pytest.mark.parametrize("name", ["shifted", "wider", "bimodal"])
def test_perturbing_the_optimal_discriminator_lowers_v(name):
    pd, pg = PAIRS[name]
    d_star = theory.optimal_discriminator(pd.pdf, pg.pdf)(X)
    v_star = theory.value_function(d_star, pd.pdf, pg.pdf, X)
    logit = torch.logit(d_star)
    for bump in (torch.sin(X), torch.exp(-X ** 2), torch.ones_like(X), -0.3 * X):
        for eps in (0.3, 0.03, -0.03):
            assert theory.value_function(torch.sigmoid(logit + eps * bump), pd.pdf, pg.pdf, X) < v_star


def test_optimal_discriminator_formula_and_its_zero_over_zero():
    d_star = theory.optimal_discriminator(uniform(0, 1), uniform(0.5, 2))
    got = d_star(torch.tensor([-1.0, 0.25, 0.75, 1.5, 3.0], dtype=torch.float64))
    # p = 1 and q = 2/3 on the overlap: D* = 1 / (1 + 2/3) = 0.6; outside both: 0/0 is defined as 1/2
    torch.testing.assert_close(got, torch.tensor([0.5, 1.0, 0.6, 0.0, 0.5], dtype=torch.float64))


def test_jsd_is_symmetric_bounded_and_matches_uniform_closed_form():
    pd, pg = PAIRS["wider"]
    assert theory.jsd(pd.pdf, pg.pdf) == pytest.approx(theory.jsd(pg.pdf, pd.pdf), abs=1e-12)
    assert theory.jsd(pd.pdf, pd.pdf) == pytest.approx(0.0, abs=1e-12)
    # U[0,1] vs U[0.5,1.5]: the overlap contributes 0, each half-interval 0.5 log 2 / 2, so JSD = log(2) / 2
    assert theory.jsd(uniform(0, 1), uniform(0.5, 1.5)) == pytest.approx(math.log(2) / 2, abs=2e-3)
    assert theory.jsd(uniform(0, 1), uniform(2, 3)) == pytest.approx(math.log(2), abs=1e-12)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 1), (0, 1, 0.5, 2), (-1, 0.5, 1, 1.5)])
def test_kl_matches_the_gaussian_closed_form(m1, s1, m2, s2):
    got = theory.kl(gaussian_1d(m1, s1).pdf, gaussian_1d(m2, s2).pdf)
    assert got == pytest.approx(theory.kl_gaussians(m1, s1, m2, s2), abs=1e-8)
    assert theory.kl(uniform(0, 1), uniform(2, 3)) == math.inf  # q = 0 where p > 0


def test_trained_discriminator_matches_the_optimal_one():
    pd, pg = gaussian_1d(0, 1), gaussian_1d(2, 0.6)
    untrained = theory.train_discriminator_1d(pd, pg, steps=1)
    D = theory.train_discriminator_1d(pd, pg, steps=300)  # measured: 0.004 (2,000 steps: 0.0016)
    error = theory.discriminator_error(lambda x: theory.probability_1d(D, x), pd.pdf, pg.pdf)
    assert error < 0.015, f"E_m|D - D*| = {error:.4f}"
    assert theory.discriminator_error(lambda x: theory.probability_1d(untrained, x), pd.pdf, pg.pdf) > 0.1
    swapped = theory.discriminator_error(lambda x: 1 - theory.probability_1d(D, x), pd.pdf, pg.pdf)
    assert swapped > 0.5  # the measure can tell a D that has real and fake the wrong way round


def test_generator_loss_gradients_match_the_formulas():
    logits = torch.linspace(-30, 5, 71, dtype=torch.float64)
    d = torch.sigmoid(logits)
    torch.testing.assert_close(theory.logit_gradient(losses.g_loss_minimax, logits), theory.saturating_gradient(d))
    torch.testing.assert_close(theory.logit_gradient(losses.g_loss_nonsaturating, logits), theory.nonsaturating_gradient(d))
    finite_diff = (losses.g_loss_minimax(logits[:1] + 1e-6) - losses.g_loss_minimax(logits[:1] - 1e-6)) / 2e-6
    assert finite_diff.item() == pytest.approx(-d[0].item(), rel=1e-4)
    # as D(G(z)) -> 0 the saturating gradient vanishes while the non-saturating one tends to -1
    assert abs(theory.saturating_gradient(d[0]).item()) < 1e-12
    assert theory.nonsaturating_gradient(d[0]).item() == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.parametrize("name", ["shifted", "wider", "bimodal"])
def test_lsgan_optimum_and_pearson_chi2_identity(name):
    pd, pg = PAIRS[name]
    two_c = 2 * theory.lsgan_c_of_g(pd.pdf, pg.pdf, a=-1, b=1, c=0)  # b - c = 1, b - a = 2
    two_pg, total = (lambda x: 2 * pg.pdf(x)), (lambda x: pd.pdf(x) + pg.pdf(x))
    assert two_c == pytest.approx(theory.pearson_chi2(two_pg, total), rel=1e-9, abs=1e-9)
    # with a = 0, b = 1, c = 1/2 the same integrand is halved inside the square: a quarter of it
    assert 2 * theory.lsgan_c_of_g(pd.pdf, pg.pdf, 0, 1, 0.5) == pytest.approx(theory.pearson_chi2(two_pg, total) / 4, rel=1e-9)
    d_star = theory.lsgan_optimal_discriminator(pd.pdf, pg.pdf, 0, 1)(X)
    best = theory.lsgan_d_objective(d_star, pd.pdf, pg.pdf, 0, 1, X)
    for bump in (torch.sin(X), torch.ones_like(X)):
        assert theory.lsgan_d_objective(d_star + 0.05 * bump, pd.pdf, pg.pdf, 0, 1, X) > best


def test_lsgan_criterion_vanishes_only_at_p_g_equal_p_data():
    pd, pg = PAIRS["equal"]
    assert theory.lsgan_c_of_g(pd.pdf, pg.pdf) == pytest.approx(0.0, abs=1e-12)


def test_feature_matching_loss():
    f_real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    f_fake = torch.tensor([[0.0, 0.0], [0.0, 2.0], [0.0, 1.0]])
    assert losses.feature_matching_loss(f_real, f_fake).item() == pytest.approx(2.0 ** 2 + 2.0 ** 2)
    with pytest.raises(ValueError, match="shapes"):
        losses.feature_matching_loss(f_real, f_fake[:, :1])


@pytest.mark.parametrize("mu,std", [(0.5, 1.0), (3.0, 0.5), (-2.0, 0.1)])
def test_wasserstein_of_equal_width_gaussians_is_the_shift(mu, std):
    assert theory.wasserstein1(gaussian_1d(0, std).pdf, gaussian_1d(mu, std).pdf) == pytest.approx(abs(mu), abs=1e-6)


def test_wasserstein_grows_while_jsd_saturates():
    shifts = [1.0, 2.0, 4.0, 8.0]
    w = [theory.wasserstein1(gaussian_1d(0, 0.1).pdf, gaussian_1d(s, 0.1).pdf) for s in shifts]
    j = [theory.jsd(gaussian_1d(0, 0.1).pdf, gaussian_1d(s, 0.1).pdf) for s in shifts]
    assert w == pytest.approx(shifts, abs=1e-6)
    assert j == pytest.approx([math.log(2)] * 4, abs=1e-5)  # 10 sigma apart: log 2 - 9e-7; further: log 2
    assert theory.jsd(gaussian_1d(0, 0.1).pdf, gaussian_1d(0.1, 0.1).pdf) < 0.12  # one sigma apart: 0.111


def test_wasserstein_from_samples_agrees_with_the_cdf_formula():
    g = torch.Generator().manual_seed(0)
    a = gaussian_1d(0, 1).sample(20000, g).double()
    b = Mixture1D((-1.0, 2.0), (0.5, 0.5), (0.5, 0.5)).sample(20000, g).double()
    exact = theory.wasserstein1(gaussian_1d(0, 1).pdf, Mixture1D((-1.0, 2.0), (0.5, 0.5), (0.5, 0.5)).pdf)
    assert theory.wasserstein1_samples(a, b) == pytest.approx(exact, abs=0.03)
    assert theory.wasserstein1_samples(torch.zeros(5), torch.full((5,), 3.0)) == 3.0  # two point masses


def test_bad_inputs_are_rejected_with_the_parameter_named():
    with pytest.raises(ValueError, match="lo < hi"):
        theory.grid(1.0, -1.0)
    with pytest.raises(ValueError, match="shape"):
        theory.jsd(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="steps=0"):
        theory.train_discriminator_1d(gaussian_1d(), gaussian_1d(1), steps=0)
