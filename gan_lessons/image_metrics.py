r"""How good are generated digits? Metrics that look through the package's own MNIST classifier (lessons 06, 10).

Every metric is computed on n generated images against n real ones, and reported beside the same metric for
two disjoint sets of n real images ("real vs real"): the value a perfect generator would get *at this sample
size*. Several metrics are biased by the sample size (the Frechet distance shrinks as n grows, even for two real
sets), so numbers are only comparable at the same n, and never with published Inception numbers.

- classifier score (the Inception score of Salimans et al., 2016, with the MNIST CNN in place of Inception):
  $\exp\big(E_x\,KL(p(y\mid x)\,\|\,p(y))\big)$, from 1 (every image gets the same prediction) to 10 (confident
  predictions spread evenly over the ten digits);
- Frechet distance on the CNN's penultimate features (FID of Heusel et al., 2017, with another network):
  $\lVert\mu_r-\mu_g\rVert^2 + \mathrm{Tr}\big(\Sigma_r+\Sigma_g-2(\Sigma_r\Sigma_g)^{1/2}\big)$;
- precision and recall of Kynkaanniemi et al. (2019): the real manifold is the union of balls around real
  features reaching their k-th nearest real neighbour; precision is the fraction of generated samples inside it,
  recall the fraction of real samples inside the generated manifold built the same way;
- class coverage, class KL and mean confidence from the classifier's predictions.

Lesson 06's criterion of "recognizable digits" (`digit_scores`, `recognizable`) and its stopwatch (`DigitClock`)
are built from the same predictions.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from typing import Callable

import torch
from torch import Tensor, nn

from .classifier import MNISTClassifier, classifier_accuracy, features, load_classifier, predict_proba
from .config import check_float, check_int, pad
from .i18n import tr
from .latent import LabelledNoise, Noise
from .models import generate

METRICS = ("classifier_score", "frechet_distance", "precision", "recall", "class_coverage", "class_kl",
           "confidence")
HIGHER_IS_BETTER = {"classifier_score": True, "frechet_distance": False, "precision": True, "recall": True,
                    "class_coverage": True, "class_kl": False, "confidence": True}
N_CLASSES = 10


def classifier_score(probs: Tensor) -> float:
    r"""$\exp\big(\frac1N\sum_i KL(p(y\mid x_i)\,\|\,\bar p(y))\big)$ with $\bar p = \frac1N\sum_i p(y\mid x_i)$.

    probs: (N, C) rows of class probabilities. Equals exp(H(p_bar) - mean_i H(p(y|x_i))), so it lies in [1, C].
    """
    p = probs.double().clamp_min(1e-12)  # 0 log 0 = 0: the clamp makes those terms vanish
    p_bar = p.mean(dim=0, keepdim=True)
    kl = (p * (p.log() - p_bar.log())).sum(dim=1)
    return math.exp(kl.mean().item())


def _sqrtm_psd(a: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by its eigen-decomposition."""
    values, vectors = torch.linalg.eigh(a)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(feat_a: Tensor, feat_b: Tensor) -> float:
    r"""$\lVert\mu_a-\mu_b\rVert^2 + \mathrm{Tr}\,\Sigma_a + \mathrm{Tr}\,\Sigma_b - 2\mathrm{Tr}(\Sigma_a\Sigma_b)^{1/2}$,
    the squared 2-Wasserstein distance between Gaussians fitted to two feature sets (N, F) and (M, F).

    $\mathrm{Tr}(\Sigma_a\Sigma_b)^{1/2} = \mathrm{Tr}(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2})^{1/2}$: the second
    matrix is symmetric, so its eigenvalues (all >= 0) give the trace without a general matrix square root.
    """
    a, b = feat_a.double(), feat_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)  # (F, F), unbiased (divides by N - 1)
    root_a = _sqrtm_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return ((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross).item()


def knn_radii(feat: Tensor, k: int = 3) -> Tensor:
    """Distance from each point (N, F) to its k-th nearest neighbour in the same set (itself excluded).

    Lesson 10 writes it out (without the check of k); tests/test_lessons_write_the_code.py keeps the two equal."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k < len(feat):
        raise ValueError(tr("k={k} is not allowed; it must be an integer from 1 to {high} (set size - 1)", k=repr(k),
                            high=len(feat) - 1))
    dist = torch.cdist(feat.double(), feat.double())
    return dist.kthvalue(k + 1, dim=1).values  # the smallest distance, 0, is the point itself


def _inside(manifold: Tensor, radii: Tensor, query: Tensor) -> Tensor:
    """For each query point: is it within radius_j of some manifold point j?"""
    return (torch.cdist(query.double(), manifold.double()) <= radii[None, :]).any(dim=1)


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al. (2019): precision = share of fake features inside the real k-NN manifold,
    recall = share of real features inside the fake k-NN manifold. k = 3 as in the paper.

    Lesson 10 writes it out; tests/test_lessons_write_the_code.py keeps the two equal."""
    precision = _inside(real, knn_radii(real, k), fake).double().mean().item()
    recall = _inside(fake, knn_radii(fake, k), real).double().mean().item()
    return precision, recall


def class_histogram(probs: Tensor) -> Tensor:
    """Share of the samples predicted as each class (C,), from the argmax of p(y | x)."""
    return torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double() / len(probs)


def class_kl(probs: Tensor) -> float:
    r"""$KL(q\,\|\,U) = \sum_c q_c \log(C q_c)$ of the predicted-class histogram q from uniform: 0 for balanced
    classes, log C = 2.30 when every sample is predicted as one digit (as the 2-D metrics' reverse KL)."""
    q = class_histogram(probs)
    q = q[q > 0]
    return (q * (q * probs.shape[1]).log()).sum().item()


def class_coverage(probs: Tensor, min_share: float = 0.25) -> int:
    """Classes that receive at least `min_share` of their fair share 1/C of the predictions (default: a quarter,
    i.e. 2.5% of the samples for ten digits): a digit drawn a handful of times in a thousand does not count."""
    return int((class_histogram(probs) >= min_share / probs.shape[1]).sum())


def confidence(probs: Tensor) -> float:
    """Mean of max_y p(y | x): how sure the classifier is, on average, of what each image shows."""
    return probs.max(dim=1).values.mean().item()


def image_metrics(clf: nn.Module, real: Tensor, fake: Tensor, k: int = 3) -> dict[str, float]:
    """Every metric of `fake` against the reference set `real` (both (N, 1, 28, 28) in [-1, 1])."""
    probs = predict_proba(clf, fake)
    precision, recall = precision_recall(features(clf, real), features(clf, fake), k)
    return {"classifier_score": classifier_score(probs),
            "frechet_distance": frechet_distance(features(clf, real), features(clf, fake)),
            "precision": precision, "recall": recall, "class_coverage": class_coverage(probs),
            "class_kl": class_kl(probs), "confidence": confidence(probs)}


def real_pair(images: Tensor, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two disjoint random sets of n real images (a seeded permutation): the reference and the real baseline."""
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= len(images) // 2:
        raise ValueError(tr("n={n} is not allowed; two disjoint real sets need 2 <= n <= {high}", n=repr(n),
                            high=len(images) // 2))
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images[order[:n]], images[order[n:2 * n]]


def draw_samples(source: Tensor | nn.Module | Callable[[int], Tensor], n: int) -> Tensor:
    """n images from a tensor (its first n), a generator with `z_dim` (G(z), or G(z, y) with y = 0..9 in turn
    when it has `n_classes`), or a function n -> images."""
    if isinstance(source, Tensor):
        if len(source) < n:
            raise ValueError(tr("samples: {given} images given, n={n} needed; pass more or lower n",
                                given=len(source), n=n))
        return source[:n]
    if isinstance(source, nn.Module):
        n_classes = getattr(source, "n_classes", 0)
        latent = LabelledNoise(source.z_dim, n_classes) if n_classes else Noise(source.z_dim)
        z, y = latent.for_samples(n, next(source.parameters()).device)
        return generate(source, z, *y)
    if callable(source):
        return source(n)
    raise ValueError(tr("generator_or_samples={kind} is not allowed; pass images (N, 1, 28, 28), a generator module "
                        "with a z_dim attribute, or a function n -> images", kind=type(source).__name__))


def evaluate_images(generator_or_samples, n: int = 1000, real: Tensor | None = None,
                    classifier: MNISTClassifier | None = None, k: int = 3, seed: int = 0) -> dict:
    """Every metric for the generated images and, under "<name>_real", for real vs real, at n samples each.

    real: the real images (N >= 2n, (N, 1, 28, 28) in [-1, 1]); by default the MNIST split a lesson trains on.
    Returns {"n_samples": n, "classifier_accuracy": ..., "classifier_score": ..., "classifier_score_real": ...}.
    """
    clf = classifier if classifier is not None else load_classifier(verbose=False)
    if real is None:
        from .data import load_mnist_for_training, to_unit_range

        real = to_unit_range(load_mnist_for_training()[0])
    reference, baseline = real_pair(real, n, seed)
    torch.manual_seed(seed)  # the generator's noise: the same numbers for the same generator
    fake = draw_samples(generator_or_samples, n)
    model, real_vs_real = image_metrics(clf, reference, fake, k), image_metrics(clf, reference, baseline, k)
    out: dict = {"n_samples": n, "k": k, "classifier_accuracy": classifier_accuracy(clf)}
    for name in METRICS:
        out[name], out[name + "_real"] = model[name], real_vs_real[name]
    return out


def format_metrics(result: dict) -> str:
    """A table: one line per metric, the model's value beside the real-vs-real value (in the language in use; the
    metrics' names stay, as they are the keys of the result)."""
    note = tr("(n = {n} samples each; classifier accuracy {accuracy:.2f}%)", n=result["n_samples"],
              accuracy=100 * result["classifier_accuracy"])
    lines = [f"{pad(tr('metric'), 18)} {pad(tr('model'), 10, '>')} {pad(tr('real vs real'), 13, '>')}   {note}"]
    for name in METRICS:
        arrow = tr("higher is better") if HIGHER_IS_BETTER[name] else tr("lower is better")
        lines.append(f"{name:<18} {result[name]:>10.4g} {result[name + '_real']:>13.4g}   {arrow}")
    return "\n".join(lines)


def requested_digit_accuracy(clf: nn.Module, images: Tensor, labels: Tensor) -> float:
    """The share of images G(z, y) that the classifier reads as the requested digit y."""
    return (predict_proba(clf, images).argmax(1) == labels.cpu()).double().mean().item()


# -- when are the samples digits? -------------------------------------------------------------------
# The bar of "recognizable digits": a classifier score of at least MIN_SCORE (10 at most; held-out real digits score
# about 9.6), every class present, and a class histogram within MAX_KL of uniform, on at least MIN_SAMPLES samples.
# The score asks for confident *and* varied answers, the KL for balanced classes: a generator that draws one very
# clear digit has a mean confidence near 1 but a score of 1 and a KL of log 10 = 2.3.
CLASSES_NEEDED, MIN_SCORE, MAX_KL, MIN_SAMPLES = 10, 8.0, 0.05, 2000


def digit_scores(probs: Tensor) -> dict[str, float]:
    r"""From a classifier's p(y | x) (N, 10) of generated images: the classifier score (`classifier_score`), the
    classes present (argmax), the mean confidence $\frac1N \sum_i \max_y p(y | x_i)$, and
    $KL(h \,\|\, U) = \sum_y h_y \log(10 h_y)$ of the class histogram h."""
    return {"score": classifier_score(probs), "classes": int((class_histogram(probs) > 0).sum()),
            "confidence": confidence(probs), "kl": class_kl(probs)}


def unsure_masks(probs: Tensor, unsure_below: float = 0.8, pair_mass: float = 0.9) -> tuple[Tensor, Tensor]:
    """Two boolean masks (N,) over p(y | x) (N, 10): the samples whose top class has p < `unsure_below`, and those
    of them whose two top classes together hold at least `pair_mass` (an image halfway between two digits)."""
    check_float("unsure_below", unsure_below, 0.0, 1.0)
    check_float("pair_mass", pair_mass, 0.0, 1.0)
    top = probs.topk(2, dim=1).values
    unsure = top[:, 0] < unsure_below
    return unsure, unsure & (top.sum(dim=1) >= pair_mass)


def undecided(probs: Tensor, unsure_below: float = 0.8, pair_mass: float = 0.9) -> dict:
    """Where the missing confidence goes (see `unsure_masks`): `unsure` is the fraction of the samples the classifier
    is unsure of, `between_two` the fraction of those between two digits (a 4 that is also a 9), and `pairs` counts
    those by class pair, commonest first."""
    unsure, between = unsure_masks(probs, unsure_below, pair_mass)
    pairs = Counter(f"{a}|{b}" for a, b in probs.topk(2, dim=1).indices[between].sort(dim=1).values.tolist())
    n_unsure = int(unsure.sum())
    return {"unsure": n_unsure / len(probs), "between_two": int(between.sum()) / max(n_unsure, 1),
            "pairs": dict(pairs.most_common())}


def recognizable(scores: dict[str, float]) -> bool:
    """Classifier score >= 8.0, all 10 classes present and the class histogram within KL 0.05 of uniform (the scores
    of `digit_scores` on at least MIN_SAMPLES samples: `DigitClock` draws that many)."""
    return scores["score"] >= MIN_SCORE and scores["classes"] >= CLASSES_NEEDED and scores["kl"] <= MAX_KL


class DigitClock:
    """A callback that measures training time and, every `every` seconds of it, scores `n` samples of G
    (fixed noise, G in eval mode) with the classifier. The time spent scoring is not counted. A conditional G (a
    trainer whose config has `n_classes`) is asked for every class in turn: uniform labels.

    `reached` is the training time (seconds) of the first evaluation that met `recognizable` with a classifier score
    of at least `min_score`, or None.
    """

    def __init__(self, trainer, classifier: nn.Module, every: float = 5.0, n: int = MIN_SAMPLES, seed: int = 1,
                 min_score: float = MIN_SCORE):
        check_float("every", every, 0.0, 1e6)
        check_int("n", n, 10, 10**6)
        check_float("min_score", min_score, 1.0, float(N_CLASSES))
        self.trainer, self.classifier, self.every, self.min_score = trainer, classifier, every, min_score
        latent = getattr(trainer, "latent", None)  # the trainer's noise: drawn as it draws its own
        self.z = (latent.draw(n, "cpu", torch.Generator().manual_seed(seed)) if hasattr(latent, "draw") else
                  torch.randn(n, trainer.z_dim, generator=torch.Generator().manual_seed(seed)))
        n_classes = getattr(getattr(trainer, "config", None), "n_classes", 0)
        self.condition = (torch.arange(n) % n_classes,) if n_classes else ()
        self.seconds, self.reached, self.log = 0.0, None, []
        self._last, self._next = time.perf_counter(), every

    def start(self) -> None:
        """Restart the stopwatch now (call before training, after any set-up)."""
        self._last = time.perf_counter()

    def __call__(self, step: int, metrics: dict | None = None) -> None:
        """Add the time since the last call; score G when `every` more seconds of training have passed."""
        now = time.perf_counter()
        self.seconds += now - self._last
        if self.seconds >= self._next:
            self.evaluate(step)
            self._next = self.seconds + self.every
        self._last = time.perf_counter()  # the evaluation's own time is left out

    def evaluate(self, step: int) -> dict:
        """Score G's images now; log the scores and note the first time they are recognizable."""
        scores = {"step": step, "seconds": self.seconds, **digit_scores(predict_proba(self.classifier, self.images()))}
        self.log.append(scores)
        if self.reached is None and recognizable(scores) and scores["score"] >= self.min_score:
            self.reached = self.seconds
        return scores

    def images(self) -> Tensor:
        """G(z) (or G(z, y)) for the clock's fixed z and labels (models.generate: eval mode, float32, on the CPU); of
        the average of G's weights when the trainer keeps one (`trainer.ema`), the generator one samples."""
        ema = getattr(self.trainer, "ema", None)
        return generate(self.trainer.generator if ema is None else ema.generator, self.z, *self.condition)
