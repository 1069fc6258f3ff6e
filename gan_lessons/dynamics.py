r"""Why GAN training can circle forever: two small games simulated step by step (lesson 07, lesson 08).

**The bilinear game** $\min_x \max_y\, xy$. Its gradient field (x descends, y ascends) is
$F(x, y) = (-y,\ x) = A z$ with $A = \begin{pmatrix}0 & -1\\ 1 & 0\end{pmatrix}$, a pure rotation around the
equilibrium (0, 0). With a step $\eta$:
- simultaneous descent-ascent $z \leftarrow (I + \eta A) z$ grows $\lVert z\rVert$ by exactly $\sqrt{1+\eta^2}$;
- alternating updates (x first, y sees the new x) conserve $x^2 + y^2 - \eta xy$: a bounded cycle for $\eta < 2$;
- extragradient $z \leftarrow z + \eta F(z + \eta F(z))$ contracts by $\sqrt{1 - \eta^2 + \eta^4}$ (0 < eta < 1);
- optimistic (OGDA) $z_{t+1} = z_t + 2\eta F(z_t) - \eta F(z_{t-1})$ converges for small $\eta$.

**The Dirac-GAN** (Mescheder et al., 2018, section 2.2): the data is the single point 0, the generator the single
point $\theta$, and the discriminator $D_\psi(x) = \psi x$ (a logit, as everywhere in this library: high means
"real"; the paper lets D score fakes high, which flips the sign of $\psi$ and nothing else). With
$f(t) = -\log(1 + e^{-t}) = \log\sigma(t)$, D maximizes $f(D(0)) + f(-D(\theta)) = f(0) + f(-\psi\theta)$, and each
player takes gradient steps on its own loss (the library's losses of `losses.py`). The only equilibrium is
$(\theta, \psi) = (0, 0)$; the Jacobian of the gradient field there decides whether steps converge to it: with
$f'(0) = \tfrac12$, unregularized it is $\begin{pmatrix}0 & f'(0)\\ -f'(0) & 0\end{pmatrix}$ with eigenvalues
$\pm i f'(0)$ (a rotation, like the bilinear game); R1 adds $-\gamma$ in the corner, eigenvalues
$-\gamma/2 \pm \sqrt{\gamma^2/4 - f'(0)^2}$; instance noise adds $2 f''(0)\sigma^2 = -\sigma^2/2$, eigenvalues
$-\sigma^2/4 \pm \sqrt{\sigma^4/16 - f'(0)^2}$. WGAN-GP's field jumps at $\psi = 0$ (no Jacobian there); its path comes
to rest at $\theta = 2\lambda$, away from the data. `dirac_table` sums it up, one row per fix.
Everything here is float64 NumPy; no plotting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .i18n import tr

Array = np.ndarray
DIRAC_FIXES = ("nonsaturating", "minimax", "wgan", "wgan_clip", "wgan_gp", "instance_noise", "r1")
BILINEAR_METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")
MODES = ("simultaneous", "alternating")
F_PRIME_0 = 0.5  # f'(0) for f(t) = log sigmoid(t): sigmoid(0)
_A = np.array([[0.0, -1.0], [1.0, 0.0]])  # the bilinear game's field F(z) = A z


def _check_run(lr: float, steps: int) -> None:
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0 and math.isfinite(lr)):
        raise ValueError(tr("lr={lr} is not allowed; it must be a positive finite number", lr=repr(lr)))
    if not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
        raise ValueError(tr("{name}={value} is not allowed; it must be a positive integer", name="steps",
                            value=repr(steps)))


def _check_name(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(tr("{name}={value} is not known; allowed values: {allowed}", name=name, value=repr(value),
                            allowed=", ".join(allowed)))


# -- the bilinear game min_x max_y xy ------------------------------------------------------------------
def bilinear_field(z: Array) -> Array:
    r"""$F(x, y) = (-\partial_x xy,\ +\partial_y xy) = (-y,\ x)$: x descends, y ascends."""
    return _A @ z


def bilinear_trajectory(method: str, z0=(1.0, 1.0), lr: float = 0.1, steps: int = 100) -> Array:
    """The points z_0 ... z_steps, shape (steps + 1, 2), of one of BILINEAR_METHODS."""
    _check_name("method", method, BILINEAR_METHODS)
    _check_run(lr, steps)
    z = np.empty((steps + 1, 2))
    z[0] = np.asarray(z0, dtype=float)
    previous_field = bilinear_field(z[0])  # OGDA starts with z_{-1} = z_0
    for t in range(steps):
        x, y = z[t]
        if method == "simultaneous":  # both read the old point
            z[t + 1] = (x - lr * y, y + lr * x)
        elif method == "alternating":  # x moves first; y answers the new x
            x_new = x - lr * y
            z[t + 1] = (x_new, y + lr * x_new)
        elif method == "extragradient":  # look ahead half a step, then move with the look-ahead field
            z[t + 1] = z[t] + lr * bilinear_field(z[t] + lr * bilinear_field(z[t]))
        else:  # optimistic: the field now, corrected by how it changed since the last step
            field = bilinear_field(z[t])
            z[t + 1] = z[t] + lr * (2 * field - previous_field)
            previous_field = field
    return z


def bilinear_update_matrix(method: str, lr: float) -> Array:
    r"""The linear map of one step: z_{t+1} = M z_t (2 x 2), or (z_{t+1}, z_t) = M (z_t, z_{t-1}) (4 x 4, OGDA).

    simultaneous $I + \eta A$; alternating $\begin{pmatrix}1 & -\eta\\ \eta & 1-\eta^2\end{pmatrix}$;
    extragradient $I + \eta A + \eta^2 A^2 = (1-\eta^2) I + \eta A$; optimistic
    $\begin{pmatrix}I + 2\eta A & -\eta A\\ I & 0\end{pmatrix}$. The step converges iff every |eigenvalue| < 1.
    """
    _check_name("method", method, BILINEAR_METHODS)
    _check_run(lr, 1)
    eye = np.eye(2)
    if method == "simultaneous":
        return eye + lr * _A
    if method == "alternating":
        return np.array([[1.0, -lr], [lr, 1.0 - lr ** 2]])
    if method == "extragradient":
        return eye + lr * _A + lr ** 2 * _A @ _A
    return np.block([[eye + 2 * lr * _A, -lr * _A], [eye, np.zeros((2, 2))]])


def spectral_radius(matrix: Array) -> float:
    """The largest |eigenvalue|: a linear step z <- M z shrinks every start iff it is < 1."""
    return float(np.abs(np.linalg.eigvals(matrix)).max())


# -- the Dirac-GAN ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiracSettings:
    """Constants of the fixes, with the conventions of `penalties.py`."""

    gamma: float = 0.3  # R1 weight: D's loss + gamma * (1/2) |grad_x D(0)|^2 = gamma psi^2 / 2
    sigma: float = 0.7  # instance noise: real and generated samples get N(0, sigma^2) added
    clip: float = 0.5  # weight clipping: psi is clipped to [-clip, clip] after every D step
    gp_weight: float = 1.0  # WGAN-GP: D's loss + lambda (|grad_x D| - 1)^2 = lambda (|psi| - 1)^2


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))  # = 1 / (1 + e^-t), without overflow for large |t|


_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(40)  # E[g(eps)] for eps ~ N(0, s^2), by Gauss-Hermite


def _expect(g: Callable[[Array], Array], s: float) -> float:
    return float(np.dot(_WEIGHTS, g(math.sqrt(2.0) * s * _NODES)) / math.sqrt(math.pi))


def _standard_d(theta, psi):
    r"""$-\partial_\psi [\log 2 + \mathrm{softplus}(\psi\theta)] = -\theta\sigma(\psi\theta)$ (D's BCE loss)."""
    return -theta * _sigmoid(psi * theta)


def _field_minimax(theta, psi, s: DiracSettings):
    r"""G minimizes $-\mathrm{softplus}(\psi\theta)$: $\dot\theta = \psi\sigma(\psi\theta)$."""
    return psi * _sigmoid(psi * theta), _standard_d(theta, psi)


def _field_nonsaturating(theta, psi, s: DiracSettings):
    r"""G minimizes $\mathrm{softplus}(-\psi\theta)$: $\dot\theta = \psi\sigma(-\psi\theta)$."""
    return psi * _sigmoid(-psi * theta), _standard_d(theta, psi)


def _field_wgan(theta, psi, s: DiracSettings):
    r"""$L_D = D(\theta) - D(0) = \psi\theta$, $L_G = -\psi\theta$.

    $(\dot\theta, \dot\psi) = (\psi, -\theta)$: the bilinear game.
    """
    return psi, -theta


def _field_wgan_gp(theta, psi, s: DiracSettings):
    r"""$L_D = \psi\theta + \lambda(|\psi| - 1)^2$, since D's input gradient is $\psi$ at every interpolate.

    $\dot\psi = -\theta - 2\lambda(|\psi|-1)\,\mathrm{sign}\,\psi$, which jumps by $4\lambda$ across $\psi = 0$; for
    $\psi \to 0^+$ it vanishes at $\theta = 2\lambda$, where the path comes to rest away from the data.
    """
    return psi, -theta - 2 * s.gp_weight * (abs(psi) - 1) * np.sign(psi)


def _field_instance_noise(theta, psi, s: DiracSettings):
    r"""Both samples get $\epsilon \sim N(0, \sigma^2)$; G non-saturating, and
    $L_D = E\,\mathrm{softplus}(-\psi\epsilon) + E\,\mathrm{softplus}(\psi(\theta+\epsilon))$.
    """
    d_theta = _expect(lambda e: psi * _sigmoid(-psi * (theta + e)), s.sigma)
    d_psi = _expect(lambda e: e * _sigmoid(-psi * e) - (theta + e) * _sigmoid(psi * (theta + e)), s.sigma)
    return d_theta, d_psi


def _field_r1(theta, psi, s: DiracSettings):
    r"""D's BCE loss + $\gamma \cdot \tfrac12 \lVert\nabla_x D(0)\rVert^2 = \gamma\psi^2/2$; G non-saturating.

    $\dot\psi = -\theta\sigma(\psi\theta) - \gamma\psi$.
    """
    return psi * _sigmoid(-psi * theta), _standard_d(theta, psi) - s.gamma * psi


_FIELDS = {"nonsaturating": _field_nonsaturating, "minimax": _field_minimax, "wgan": _field_wgan,
           "wgan_clip": _field_wgan, "wgan_gp": _field_wgan_gp, "instance_noise": _field_instance_noise,
           "r1": _field_r1}


def dirac_field(fix: str, theta: float, psi: float, settings: DiracSettings = DiracSettings()) -> Array:
    r"""The gradient field $v = (-\partial_\theta L_G,\ -\partial_\psi L_D)$ of the Dirac-GAN with `fix`, shape (2,)."""
    _check_name("fix", fix, DIRAC_FIXES)
    return np.array(_FIELDS[fix](float(theta), float(psi), settings), dtype=float)


def _project(fix: str, psi: float, settings: DiracSettings) -> float:
    """Weight clipping is a projection after D's step, not part of the field."""
    return float(np.clip(psi, -settings.clip, settings.clip)) if fix == "wgan_clip" else psi


def simulate_dirac(fix: str, start=(1.0, 1.0), lr: float = 0.1, steps: int = 1000, mode: str = "simultaneous",
                   settings: DiracSettings = DiracSettings()) -> Array:
    """The points (theta_t, psi_t), shape (steps + 1, 2), of gradient steps on both players' losses.

    "simultaneous": both players read the same point; "alternating": D steps first, then G answers the new D
    (the order of `GANTrainer.step`).
    """
    _check_name("fix", fix, DIRAC_FIXES)
    _check_name("mode", mode, MODES)
    _check_run(lr, steps)
    path = np.empty((steps + 1, 2))
    theta, psi = (float(v) for v in start)
    path[0] = theta, _project(fix, psi, settings)
    for t in range(steps):
        theta, psi = path[t]
        d_theta, d_psi = _FIELDS[fix](theta, psi, settings)
        psi = _project(fix, psi + lr * d_psi, settings)
        if mode == "alternating":
            d_theta = _FIELDS[fix](theta, psi, settings)[0]
        path[t + 1] = theta + lr * d_theta, psi
    return path


def numerical_jacobian(field: Callable[[Array], Array], point, h: float = 1e-6) -> Array:
    r"""$J_{ij} = \partial v_i / \partial z_j$ by central differences $(v(z + h e_j) - v(z - h e_j)) / 2h$."""
    point = np.asarray(point, dtype=float)
    columns = [(field(point + h * e) - field(point - h * e)) / (2 * h) for e in np.eye(len(point))]
    return np.stack(columns, axis=1)


def dirac_jacobian(fix: str, settings: DiracSettings = DiracSettings()) -> Array:
    """The numerical Jacobian of `dirac_field` at the equilibrium (0, 0), shape (2, 2)."""
    return numerical_jacobian(lambda z: dirac_field(fix, z[0], z[1], settings), (0.0, 0.0))


def dirac_eigenvalues(fix: str, settings: DiracSettings = DiracSettings()) -> tuple[complex, complex] | None:
    r"""Closed-form eigenvalues of the Jacobian at (0, 0); None for WGAN-GP, whose field jumps there.

    unregularized $\pm i f'(0)$, WGAN (clipped or not, inside the clip box) $\pm i$, R1
    $-\gamma/2 \pm \sqrt{\gamma^2/4 - f'(0)^2}$, instance noise $-\sigma^2/4 \pm \sqrt{\sigma^4/16 - f'(0)^2}$.
    """
    _check_name("fix", fix, DIRAC_FIXES)
    damping = {"r1": settings.gamma / 2, "instance_noise": settings.sigma ** 2 / 4}.get(fix, 0.0)
    if fix == "wgan_gp":
        return None  # psi-dot jumps by 4 lambda across psi = 0: no Jacobian exists at the equilibrium
    rotation = 1.0 if fix.startswith("wgan") else F_PRIME_0
    root = np.sqrt(complex(damping ** 2 - rotation ** 2))  # imaginary while the damping is weak
    return (-damping + root, -damping - root)


def _rounded(value: complex, digits: int = 8) -> complex:
    """A finite-difference eigenvalue without its last digits of noise (and without -0.0)."""
    return complex(round(value.real, digits) + 0.0, round(value.imag, digits) + 0.0)


def dirac_table(steps: int = 2000, lr: float = 0.1, mode: str = "simultaneous", start=(1.0, 1.0),
                settings: DiracSettings = DiracSettings(), tol: float = 1e-2) -> list[dict]:
    """One row per fix in DIRAC_FIXES: {"fix", "converges", "final_distance", "eigenvalues"}.

    final_distance: |(theta, psi)| after the last step (0 is the equilibrium). converges: every point of the
    last 10% of steps lies within `tol` of the equilibrium. eigenvalues: of the numerical Jacobian at the
    equilibrium, as a tuple of two complex numbers (None for wgan_gp, whose field has no Jacobian there).
    """
    rows = []
    for fix in DIRAC_FIXES:
        path = simulate_dirac(fix, start, lr, steps, mode, settings)
        radius = np.linalg.norm(path, axis=1)
        tail = radius[-max(1, steps // 10):]
        eig = None
        if dirac_eigenvalues(fix, settings) is not None:
            eig = tuple(sorted((_rounded(v) for v in np.linalg.eigvals(dirac_jacobian(fix, settings))),
                               key=lambda v: -v.imag))
        rows.append({"fix": fix, "converges": bool(np.isfinite(tail).all() and tail.max() < tol),
                     "final_distance": float(radius[-1]), "eigenvalues": eig})
    return rows
