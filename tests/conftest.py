"""Fixtures shared by the browser tests (tests/test_browser.py, tests/test_browser_slides.py)."""
from __future__ import annotations

import pytest

from browser_support import find_chromium, missing


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """The Chromium to drive, with Playwright importable; skips (or fails in CI) when either is missing."""
    path = find_chromium()
    if path is None:
        missing("no Chromium found (/usr/bin/chromium): run `bash scripts/ensure_browser.sh` as root, "
                "or set GAN_LESSONS_CHROMIUM=/path/to/chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    return path
