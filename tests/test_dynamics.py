"""The dynamics module against closed forms, autograd of the library's losses, and each other.

Rates of the bilinear game and the Dirac-GAN's eigenvalues as in Mescheder et al. (2018).
"""
import math

import numpy as np
import pytest
import torch

from gan_lessons import dynamics, losses, penalties
from gan_lessons.dynamics import DiracSettings

LRS = (0.05, 0.3, 0.9)
STARTS = ((1.0, 1.0), (0.3, -2.0), (-1.5, 0.2))


def radii(path):
    return np.linalg.norm(path, axis=1)


# -- the bilinear game ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lr", LRS)
@pytest.mark.parametrize("start", STARTS)
def test_simultaneous_grows_by_sqrt_one_plus_lr_squared_every_step(lr, start):
    r = radii(dynamics.bilinear_trajectory("simultaneous", start, lr, 50))
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 + lr ** 2), rtol=1e-12)


@pytest.mark.parametrize("lr", LRS + (1.5,))
@pytest.mark.parametrize("start", STARTS)
def test_alternating_conserves_x2_plus_y2_minus_lr_xy(lr, start):
    x, y = dynamics.bilinear_trajectory("alternating", start, lr, 500).T
    q = x ** 2 + y ** 2 - lr * x * y
    np.testing.assert_allclose(q, q[0], rtol=1e-9)
    assert np.ptp(x ** 2 + y ** 2) > 1e-3 * lr  # the plain radius is not what is conserved
    assert radii(np.stack([x, y], 1)).max() < 3 * math.hypot(*start)  # a bounded cycle


@pytest.mark.parametrize("lr", LRS)
@pytest.mark.parametrize("start", STARTS)
def test_extragradient_contracts_by_sqrt_one_minus_lr2_plus_lr4(lr, start):
    r = radii(dynamics.bilinear_trajectory("extragradient", start, lr, 50))
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 - lr ** 2 + lr ** 4), rtol=1e-12)


@pytest.mark.parametrize("lr", (0.1, 0.3))
def test_optimistic_converges_for_a_small_step(lr):
    r = radii(dynamics.bilinear_trajectory("optimistic", (1.0, 1.0), lr, 3000))
    assert r[-1] < 1e-3 * r[0]
    assert dynamics.spectral_radius(dynamics.bilinear_update_matrix("optimistic", lr)) < 1


@pytest.mark.parametrize("method", dynamics.BILINEAR_METHODS)
def test_update_matrix_reproduces_the_trajectory(method):
    lr, path = 0.4, dynamics.bilinear_trajectory(method, (0.7, -1.1), 0.4, 6)
    M = dynamics.bilinear_update_matrix(method, lr)
    if method == "optimistic":  # the state is (z_t, z_{t-1}); z_{-1} = z_0
        for t in range(1, 6):
            state, next_state = np.concatenate([path[t], path[t - 1]]), np.concatenate([path[t + 1], path[t]])
            np.testing.assert_allclose(M @ state, next_state)
    else:
        np.testing.assert_allclose(path[1:], path[:-1] @ M.T, rtol=1e-12)


def test_spectral_radius_orders_the_methods():
    rho = {m: dynamics.spectral_radius(dynamics.bilinear_update_matrix(m, 0.2)) for m in dynamics.BILINEAR_METHODS}
    assert rho["simultaneous"] == pytest.approx(math.sqrt(1.04))
    assert rho["alternating"] == pytest.approx(1.0)
    assert rho["extragradient"] == pytest.approx(math.sqrt(1 - 0.04 + 0.0016))
    assert rho["optimistic"] < 1


@pytest.mark.parametrize("bad", [dict(lr=0.0), dict(lr=-1.0), dict(steps=0), dict(steps=2.5)])
def test_bad_run_settings_are_refused_by_name(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        dynamics.bilinear_trajectory("simultaneous", **bad)
    with pytest.raises(ValueError, match=name):
        dynamics.simulate_dirac("r1", **bad)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="method='gd'.*simultaneous"):
        dynamics.bilinear_trajectory("gd")
    with pytest.raises(ValueError, match="fix='r3'.*r1"):
        dynamics.simulate_dirac("r3")
    with pytest.raises(ValueError, match="mode='both'"):
        dynamics.simulate_dirac("r1", mode="both")


# -- the Dirac-GAN's field against autograd of the library's losses ------------------------------------
def autograd_field(fix, theta, psi, s=DiracSettings()):
    """(-dL_G/dtheta, -dL_D/dpsi) with D(x) = psi x, real sample 0, fake sample theta, by autograd."""
    th = torch.tensor([[theta]], dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(psi, dtype=torch.float64, requires_grad=True)
    D = lambda x: ps * x
    real = torch.zeros(1, 1, dtype=torch.float64)
    pair = losses.LOSSES["wgan" if fix.startswith("wgan") else "nonsaturating" if fix != "minimax" else "minimax"]
    loss_d = pair.d(D(real), D(th.detach()))
    if fix == "r1":
        loss_d = loss_d + s.gamma * penalties.r1_penalty(D, real)
    if fix == "wgan_gp":
        loss_d = loss_d + s.gp_weight * penalties.gradient_penalty(D, real, th.detach())
    (d_theta,) = torch.autograd.grad(pair.g(D(th)), th)
    (d_psi,) = torch.autograd.grad(loss_d, ps)
    return np.array([-d_theta.item(), -d_psi.item()])


POINTS = ((0.8, -1.3), (-2.0, 0.4), (0.1, 3.0))


@pytest.mark.parametrize("fix", ["minimax", "nonsaturating", "wgan", "wgan_gp", "r1"])
@pytest.mark.parametrize("point", POINTS)
def test_dirac_field_is_the_gradient_of_the_library_losses(fix, point):
    np.testing.assert_allclose(dynamics.dirac_field(fix, *point), autograd_field(fix, *point), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("point", POINTS)
def test_instance_noise_field_by_trapezoidal_quadrature_and_autograd(point):
    s = DiracSettings(sigma=0.6)
    th = torch.tensor(point[0], dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(point[1], dtype=torch.float64, requires_grad=True)
    e = torch.linspace(-12 * s.sigma, 12 * s.sigma, 40001, dtype=torch.float64)
    w = torch.exp(-0.5 * (e / s.sigma) ** 2) / (s.sigma * math.sqrt(2 * math.pi))
    mean = lambda f: torch.trapezoid(f * w, e)
    soft = torch.nn.functional.softplus
    loss_d = mean(soft(-ps * e)) + mean(soft(ps * (th.detach() + e)))
    loss_g = mean(soft(-ps.detach() * (th + e)))
    expected = [-torch.autograd.grad(loss_g, th)[0].item(), -torch.autograd.grad(loss_d, ps)[0].item()]
    np.testing.assert_allclose(dynamics.dirac_field("instance_noise", *point, s), expected, rtol=1e-8, atol=1e-10)


# -- Jacobian and eigenvalues at the equilibrium ---------------------------------------------------------
@pytest.mark.parametrize("gamma", (0.1, 0.3, 1.0, 2.5))
def test_r1_eigenvalues_numerical_jacobian_vs_formula(gamma):
    s = DiracSettings(gamma=gamma)
    numerical = np.sort_complex(np.linalg.eigvals(dynamics.dirac_jacobian("r1", s)))
    root = np.sqrt(complex(gamma ** 2 / 4 - 0.25))  # f'(0) = 1/2
    formula = np.sort_complex(np.array([-gamma / 2 + root, -gamma / 2 - root]))
    np.testing.assert_allclose(numerical, formula, atol=1e-6)
    np.testing.assert_allclose(np.sort_complex(np.array(dynamics.dirac_eigenvalues("r1", s))), formula, atol=1e-12)


@pytest.mark.parametrize("sigma", (0.3, 0.7, 1.6))
def test_instance_noise_eigenvalues_numerical_vs_formula(sigma):
    s = DiracSettings(sigma=sigma)
    numerical = np.sort_complex(np.linalg.eigvals(dynamics.dirac_jacobian("instance_noise", s)))
    root = np.sqrt(complex(sigma ** 4 / 16 - 0.25))  # f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)
    np.testing.assert_allclose(numerical, np.sort_complex(np.array([-sigma ** 2 / 4 + root, -sigma ** 2 / 4 - root])),
                               atol=1e-6)


@pytest.mark.parametrize("fix, rotation", [("minimax", 0.5), ("nonsaturating", 0.5), ("wgan", 1.0), ("wgan_clip", 1.0)])
def test_unregularized_eigenvalues_are_purely_imaginary(fix, rotation):
    numerical = np.linalg.eigvals(dynamics.dirac_jacobian(fix))
    np.testing.assert_allclose(np.sort(numerical.imag), [-rotation, rotation], atol=1e-6)
    np.testing.assert_allclose(numerical.real, 0, atol=1e-6)


def test_r1_trajectory_contracts_at_the_rate_of_its_eigenvalue():
    s, lr = DiracSettings(gamma=0.3), 0.1
    r = radii(dynamics.simulate_dirac("r1", (0.2, 0.1), lr, 1200, settings=s))
    per_step = (r[1100] / r[600]) ** (1 / 500)
    assert per_step == pytest.approx(abs(1 + lr * dynamics.dirac_eigenvalues("r1", s)[0]), rel=2e-3)


# -- which fixes converge ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", dynamics.MODES)
def test_unregularized_dirac_gan_does_not_converge_and_r1_and_instance_noise_do(mode):
    rows = {row["fix"]: row for row in dynamics.dirac_table(steps=3000, lr=0.1, mode=mode)}
    assert list(rows) == list(dynamics.DIRAC_FIXES)
    for fix in ("minimax", "nonsaturating", "wgan", "wgan_clip", "wgan_gp"):
        assert not rows[fix]["converges"] and rows[fix]["final_distance"] > 0.05, fix
    for fix in ("r1", "instance_noise"):
        assert rows[fix]["converges"] and rows[fix]["final_distance"] < 1e-6, fix


def test_simultaneous_minimax_spirals_out_and_alternating_stays_on_a_cycle():
    out = radii(dynamics.simulate_dirac("minimax", (0.5, 0.5), 0.1, 4000))
    cycle = radii(dynamics.simulate_dirac("minimax", (0.5, 0.5), 0.1, 4000, mode="alternating"))
    assert out[-1] > 2 * out[0]
    assert 0.8 * cycle[0] < cycle[1000:].min() and cycle.max() < 1.25 * cycle[0]


def test_weight_clipping_keeps_psi_in_the_box():
    path = dynamics.simulate_dirac("wgan_clip", (1.0, 1.0), 0.1, 500, settings=DiracSettings(clip=0.2))
    assert np.abs(path[:, 1]).max() <= 0.2 + 1e-12 and np.abs(path[-100:, 0]).max() > 0.05


def test_dirac_table_rows():
    rows = dynamics.dirac_table(steps=200, lr=0.1)
    assert [set(row) for row in rows] == [{"fix", "converges", "final_distance", "eigenvalues"}] * len(rows)
    by_fix = {row["fix"]: row for row in rows}
    assert by_fix["wgan_gp"]["eigenvalues"] is None
    assert by_fix["r1"]["eigenvalues"] == pytest.approx(dynamics.dirac_eigenvalues("r1"), abs=1e-6)
    assert all(isinstance(row["converges"], bool) and isinstance(row["final_distance"], float) for row in rows)
