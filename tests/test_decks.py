"""`make slides`: a lesson's static reveal.js deck reads nothing from the internet and shows its slides and its math.

Lesson 00 is run in fast mode (about 20 s) and written as a deck (gan_lessons.decks). The page is checked as text
(every script, style sheet and picture comes from the deck's folder; one section per slide of gan_lessons.slides;
the lab as its still picture) and then opened from the file system in headless Chromium: reveal.js starts, MathJax
typesets the formulas, the arrow key moves on, and no request leaves the file system.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from gan_lessons import decks, slides

from browser_support import CHROMIUM_ARGS, REPO, find_chromium

LESSON = REPO / "notebooks" / "00_start_here.ipynb"


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    os.environ["GAN_LESSONS_FAST"] = "1"
    return decks.deck(LESSON, tmp_path_factory.mktemp("slides"), execute=True, timeout=600)


def test_a_deck_reads_only_files_beside_it(deck):
    html = deck.read_text()
    links = re.findall(r'(?:src|href)="([^"#][^"]*)"', html)
    lessons = [link for link in links if re.fullmatch(r"(zh/|\.\./)?\d\d_\w+\.slides\.html(#.*)?", link)]
    assert "zh/00_start_here.slides.html" in lessons  # the link to the Chinese lesson points at its deck
    outside = [link for link in links if not (link.startswith(("_assets/", "data:")) or link in lessons)]
    assert not outside, f"the deck loads from outside its folder: {outside[:5]}"
    for link in links:
        if link.startswith("_assets/"):
            assert (deck.parent / link.split("?")[0]).is_file(), link
    assert not re.search(r"<script[^>]+src=\"https?:", html) and "cdnjs" not in html and "unpkg" not in html


def test_a_deck_has_the_lessons_slides_and_the_lab_as_a_picture(deck):
    html = deck.read_text()
    cells = nbformat.read(LESSON, as_version=4).cells
    shown = slides.slides(cells)
    outer = len(re.findall(r"<section>\s*<section", html))
    assert html.count("<section") - outer == len(shown)  # every slide and sub-slide, as the metadata says
    assert "application/vnd.jupyter.widget-view+json" not in html  # no live widget that cannot run here ...
    assert html.count('src="data:image/png;base64') >= 1  # ... but the pictures, the lab's panes among them


@pytest.mark.browser
def test_a_deck_opens_offline_in_a_browser(deck):
    path = find_chromium()
    if path is None:
        if os.environ.get("GAN_LESSONS_REQUIRE_BROWSER", "0") not in ("", "0"):
            pytest.fail("no Chromium found (and GAN_LESSONS_REQUIRE_BROWSER is set)")
        pytest.skip("no Chromium found: run `bash scripts/ensure_browser.sh` as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(deck.as_uri())
            page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
            page.wait_for_function("document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                                   timeout=20_000)
            assert page.evaluate("Reveal.getTotalSlides()") == len(slides.slides(
                nbformat.read(LESSON, as_version=4).cells))
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            time.sleep(0.5)
            assert page.evaluate("Reveal.getIndices().h") == 3
        finally:
            browser.close()
    outside = sorted({urlparse(u).scheme for u in requests} - {"file", "data", "about"})
    assert not outside, f"the deck asked beyond the file system: {[u for u in requests if not u.startswith('file')]}"
