r"""Checks for lesson 04: the value function by quadrature, the Jensen-Shannon divergence, the non-saturating loss,
and the lesson's two questions.

Each check runs the student's function with the library's own version of the exercise made to raise (`call_own`),
so that calling `theory.jsd` or `losses.g_loss_nonsaturating` instead of writing the formula is refused by name."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import theory
from ..data.toy import gaussian_1d
from ..i18n import tr
from ..losses import d_loss_standard, g_loss_nonsaturating
from .verdict import CheckResult, Question, call_own, compare_tensor, failed, passed

# The library's versions of each exercise (d_loss_standard(l, -inf) would be the non-saturating loss too).
VALUE_FUNCTION_LIBRARY = (theory.value_function,)
JSD_LIBRARY = (theory.jsd, theory.kl, theory.c_of_g)
NONSATURATING_LIBRARY = (g_loss_nonsaturating, d_loss_standard)

def _xlogy_hint() -> str:
    return tr("0 * log 0 must count as 0 (no mass there, no contribution), but 0 * (-inf) is NaN in floating "
              "point: use torch.xlogy(p, q) = p * log q with 0 where p = 0")


def _scalar(value) -> float | None:
    """A float from a Python number or a one-element tensor; None for anything else."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return float(value) if isinstance(value, (int, float)) else None


def _triangle(centre: float, half_width: float):
    """A triangular density: positive on (centre - w, centre + w), exactly 0 outside."""
    return lambda x: (1 - (x - centre).abs() / half_width).clamp(min=0) / half_width


def _value_cases():
    x = theory.grid(-8.0, 8.0, 3201)  # spacing 0.005
    pd, pg = gaussian_1d(0.0, 1.0).pdf(x), gaussian_1d(1.0, 1.5).pdf(x)  # p_g wider: 0 < D* < 1 in float64
    td, tg = _triangle(-1.0, 1.5)(x), _triangle(0.5, 1.0)(x)  # overlapping on (-0.5, 0.5) only
    return x, [("D = 1/2", torch.full_like(x, 0.5), pd, pg), ("D = D*", theory.optimal_discriminator(pd, pg)(x), pd, pg),
               ("D = sigmoid(1 - x)", torch.sigmoid(1 - x), pd, pg),
               (tr("densities with gaps, D = D*"), theory.optimal_discriminator(td, tg)(x), td, tg)]


def matching_hint(value: float, hints: list[tuple[float, str]], default: str) -> str:
    """The hint of the first typical mistake whose result equals `value` (to 1e-6), else `default`."""
    for wrong, hint in hints:
        if abs(value - wrong) <= 1e-6 + 1e-6 * abs(wrong):
            return hint
    return default


def check_value_function(fn) -> CheckResult:
    r"""`fn(d, p_data, p_g, x)` (values on the grid x) must be $\int p_{data} \log d + p_g \log(1 - d)\,dx$."""
    x, cases = _value_cases()
    h, n = (x[1] - x[0]).item(), len(x)
    for name, d, pd, pg in cases:
        got, error = call_own(fn, VALUE_FUNCTION_LIBRARY, d.clone(), pd.clone(), pg.clone(), x.clone())
        if error:
            return error
        value = _scalar(got)
        if value is None:
            return failed(tr("expected a number (a float or a one-element tensor), got {kind} {shape}: integrate "
                             "over x, e.g. torch.trapezoid(f, x)", kind=type(got).__name__,
                             shape=tuple(getattr(got, "shape", ()))))
        expected = theory.value_function(d, pd, pg, x)
        if math.isnan(value):
            return failed(tr("NaN for {name}: where a density is 0 and D is 0 or 1 the log is -inf; {hint}",
                             name=name, hint=_xlogy_hint()))
        if not abs(value - expected) <= 1e-6 + 1e-6 * abs(expected):
            return failed(tr("for {name} V should be {expected:.6f}, yours is {value:.6f}. {hint}", name=name,
                             expected=expected, value=value,
                             hint=_diagnose_value(value, expected, d, pd, pg, x, h, n)))
    return passed(tr("V(D, G) by quadrature: -log 4 for D = 1/2, C(G) for D = D*, and finite where a density "
                     "vanishes"))


def _diagnose_value(value, expected, d, pd, pg, x, h, n) -> str:
    swapped = theory.integrate(torch.xlogy(pd, 1 - d) + torch.xlogy(pg, d), x)
    hints = [
        (expected / h, tr("You summed the integrand without the grid spacing dx: an integral is sum(f) * dx, "
                          "or torch.trapezoid(f, x).")),
        (expected / (h * n), tr("You averaged the integrand over the grid points; integrate instead (times the "
                                "length of the grid): torch.trapezoid(f, x).")),
        (-expected, tr("The sign is flipped: V is a sum of expected logs of probabilities, so it is <= 0 "
                       "(the D loss of lesson 03 is -V).")),
        (swapped, tr("The roles are swapped: log D goes with p_data (D says 'real' on data), log(1 - D) with p_g.")),
        (theory.integrate(torch.xlogy(pd, d), x), tr("The generated samples' term, p_g log(1 - D), is missing.")),
        (theory.integrate(torch.xlogy(pg, 1 - d), x), tr("The data's term, p_data log D, is missing.")),
    ]
    return matching_hint(value, hints,
                         tr("Integrate p_data * log(d) + p_g * log(1 - d) over x with torch.trapezoid."))


def check_jsd(fn) -> CheckResult:
    r"""`fn(p, q, x)` (density values on the grid x) must be $\tfrac12 KL(p\|m) + \tfrac12 KL(q\|m)$, $m = (p+q)/2$, natural log."""
    x = theory.grid(-8.0, 8.0, 3201)
    normal, shifted = gaussian_1d(0.0, 1.0).pdf(x), gaussian_1d(1.0, 0.5).pdf(x)
    left, right = _triangle(-3.0, 1.0)(x), _triangle(3.0, 1.0)(x)  # disjoint supports
    cases = [("p = q", normal, normal), (tr("N(0, 1) and N(1, 0.5^2)"), normal, shifted),
             (tr("the same pair in the other order"), shifted, normal),
             (tr("two densities with disjoint supports"), left, right)]
    for name, p, q in cases:
        got, error = call_own(fn, JSD_LIBRARY, p.clone(), q.clone(), x.clone())
        if error:
            return error
        value = _scalar(got)
        if value is None:
            return failed(tr("expected a number (a float or a one-element tensor), got {kind}",
                             kind=type(got).__name__))
        expected = theory.jsd(p, q, x)
        if math.isnan(value):
            return failed(tr("NaN for {name}: where p = 0 the term p log(p / m) is 0 * log 0; {hint}", name=name,
                             hint=_xlogy_hint()))
        if abs(value - expected) > 1e-6:
            return failed(tr("for {name} JSD should be {expected:.6f}, yours is {value:.6f}. {hint}", name=name,
                             expected=expected, value=value, hint=_diagnose_jsd(value, p, q, x)))
    return passed(tr("0 for equal densities, symmetric, and log 2 = 0.6931 for disjoint supports, its largest value"))


def _diagnose_jsd(value, p, q, x) -> str:
    expected, m = theory.jsd(p, q, x), (p + q) / 2
    hints = [
        (expected / math.log(2), tr("You used log base 2 (bits); the course uses natural logs, so JSD <= log 2 = "
                                    "0.693.")),
        (2 * expected, tr("You forgot the 1/2 in front of each KL: JSD = KL(p || m) / 2 + KL(q || m) / 2.")),
        (theory.kl(p, q, x), tr("That is KL(p || q): not symmetric, and infinite for disjoint supports. Compare both "
                                "densities with their average m = (p + q) / 2.")),
        (expected - math.log(2), tr("Your m is p + q; the mixture is the average m = (p + q) / 2.")),
        (theory.kl(p, m, x), tr("You have only KL(p || m); add KL(q || m) and take half of the sum.")),
    ]
    return matching_hint(value, hints,
                         tr("JSD = 0.5 * KL(p || m) + 0.5 * KL(q || m), each KL an integral of p log(p / m) over x."))


def check_nonsaturating_loss(fn) -> CheckResult:
    r"""`fn(d_fake)` (logits of generated samples) must be $-E[\log \sigma(\ell)] = E[\mathrm{softplus}(-\ell)]$, stable."""
    d_fake = 3 * torch.randn(7, generator=torch.Generator().manual_seed(4))
    loss, error = call_own(fn, NONSATURATING_LIBRARY, d_fake.clone())
    if error:
        return error
    if isinstance(loss, torch.Tensor) and loss.dim() == 0:
        diagnosis = _diagnose_nonsaturating(loss, d_fake)
        if diagnosis:
            return diagnosis
    verdict = compare_tensor(tr("the loss"), loss, g_loss_nonsaturating(d_fake))
    if verdict:
        return verdict
    # D(G(z)) -> 0: D rejects the generated samples with logits down to -200
    far = torch.tensor([-200.0, -30.0, 2.0], requires_grad=True)
    loss, error = call_own(fn, NONSATURATING_LIBRARY, far)
    if error:
        return error
    if not torch.isfinite(loss):
        return failed(tr("unstable as D(G(z)) -> 0: for a logit of -200 your loss is {loss}; in float32 "
                         "sigmoid(-200) is 0 and log 0 = -inf. -log sigma(l) = softplus(-l) stays finite",
                         loss=loss.item()))
    if abs(loss.item() - g_loss_nonsaturating(far.detach()).item()) > 1e-3:
        return failed(tr("for logits (-200, -30, 2) the loss should be {expected:.3f}, yours is {loss:.3f}: a "
                         "clamped or epsilon-padded log caps the loss; use softplus(-l)",
                         expected=g_loss_nonsaturating(far.detach()).item(), loss=loss.item()))
    if not loss.requires_grad:
        return failed(tr("the loss carries no gradient: don't call .item(), .detach() or go through numpy inside it"))
    (grad,) = torch.autograd.grad(loss, far)
    if not torch.isfinite(grad).all() or abs(grad[0].item() + 1 / 3) > 1e-4:
        return failed(tr("the gradient for the logit -200 should be -1/3 (batch of 3; d/dl of -log sigma(l) is "
                         "-(1 - sigma(l)) -> -1), yours is {grad:.3g}: the generator would get no signal",
                         grad=grad[0].item()))
    return passed(tr("-log D(G(z)) as softplus(-l): finite, with a gradient near -1 per sample, even where D rejects "
                     "the generated samples outright"))


def _diagnose_nonsaturating(loss, d_fake) -> CheckResult | None:
    wrong = {
        tr("that is the saturating loss log(1 - D(G(z))) = -softplus(l): it is what G minimizes in the minimax game, "
           "and its gradient vanishes as D(G(z)) -> 0. The non-saturating loss is -log D(G(z))"):
            -F.softplus(d_fake).mean(),
        tr("the sign is flipped: G *minimizes* -log D(G(z)), i.e. pushes D(G(z)) up"): -F.softplus(-d_fake).mean(),
        tr("that is -log(1 - D(G(z))) = softplus(l), D's loss on generated samples: minimizing it pushes D(G(z)) "
           "*down*. G wants -log D(G(z)) = softplus(-l)"): F.softplus(d_fake).mean(),
        tr("you summed over the batch; take the mean so that the loss does not grow with the batch size"):
            F.softplus(-d_fake).sum(),
    }
    for message, value in wrong.items():
        if torch.allclose(loss.double(), value.double(), atol=1e-5, rtol=1e-4):
            return failed(message)
    return None


QUESTIONS: dict[str, Question] = {
    "saturation": Question(
        text="D rejects a generated sample outright: D(G(z)) = 1e-7 (logit -16). Through that sample, which "
             "generator loss still sends G a gradient of useful size?",
        choices={"a": "the saturating loss log(1 - D(G(z))), the game's own objective",
                 "b": "the non-saturating loss -log D(G(z))",
                 "c": "both alike: they push D(G(z)) up in the same direction",
                 "d": "neither: against a D this sure, no loss can move G"},
        answer="b",
        why="with D = sigma(l), d/dl log(1 - D) = -D = -1e-7, while d/dl [-log D] = -(1 - D), about -1: the "
            "sigmoid's slope D(1 - D) swallows the first loss's gradient, and -log D's slope -1/D cancels it",
        hints={"a": "it is the game's objective, but G only reaches D through the logit: differentiate "
                    "log(1 - sigma(l)) with respect to l and put in D = 1e-7",
               "c": "they do point the same way; compare their sizes: differentiate each with respect to the "
                    "logit l and put in D = 1e-7",
               "d": "some loss's slope does not vanish as D -> 0: differentiate each with respect to the logit"}),
    "mode_seeking": Question(
        text="The data has two modes and G can only draw one Gaussian N(mu, s^2). Start at N(0.2, 1.5^2), spread "
             "over both modes, and let G descend each loss against the optimal D, recomputed after every step: the "
             "non-saturating -log D(G(z)) (its gradient is that of KL(p_g || p_data) - 2 JSD) and the minimax "
             "log(1 - D(G(z))) (that of 2 JSD). Where does each end?",
        choices={"a": "both spread over the two modes",
                 "b": "non-saturating on one mode, minimax spread over both",
                 "c": "minimax on one mode, non-saturating spread over both",
                 "d": "both on one mode"},
        answer="b",
        why="KL(p_g || p_data) - 2 JSD = 2 KL(m || p_data) with m = (p_g + p_data)/2: mass that p_g puts where "
            "p_data has almost none (the gap between the modes) costs without bound, while a mode that p_g leaves "
            "out even lowers the integrand there; JSD charges at most log 2 per unit of mass, missing or misplaced, "
            "and here it prefers the wide Gaussian",
        hints={"a": "then the non-saturating objective would charge p_g's mass in the gap between the modes "
                    "lightly: look at the reverse KL's integrand p_g log(p_g / p_data) where p_data is almost 0",
               "c": "JSD is symmetric and bounded by log 2: which of the two divergences punishes mass where "
                    "the data has none without bound?",
               "d": "JSD is symmetric and bounded: it charges a mode left out about as much as mass in the gap; "
                    "only one of the two objectives is lopsided enough to drop a mode"}),
}
