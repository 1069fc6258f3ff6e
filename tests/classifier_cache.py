"""One MNIST classifier per test process, shared by the test files that need it.

It reuses a cached classifier.pt when one exists (in $GAN_LESSONS_DATA, data/ or ~/.cache/gan_lessons);
otherwise it trains one (about half a minute on one thread) and caches it in a temporary folder, so the
tests never write into the project.
"""
from __future__ import annotations

import functools
import tempfile

import pytest

from gan_lessons import classifier
from gan_lessons.data import mnist_available

SKIP_REASON = "MNIST test split not found: set GAN_LESSONS_DATA=/path/to/mnist (CI passes ../shared/data/mnist)"
needs_mnist = pytest.mark.skipif(not mnist_available("test"), reason=SKIP_REASON)
_load_classifier = classifier.load_classifier  # bound now: a test may replace the module's attribute


@functools.lru_cache(maxsize=None)
def shared_classifier() -> classifier.MNISTClassifier:
    return _load_classifier(root=tempfile.mkdtemp(prefix="gan_lessons_classifier_"), verbose=False)
