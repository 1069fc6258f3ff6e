"""A lesson presented as live slides (jupyterlab-rise) in a real browser, with the lab training on a slide.

As a teacher does it at a 1280x720 projector: open lesson 00 in JupyterLab, press the toolbar's "Render as Reveal
Slideshow" button and then "Open the slideshow in full screen", and walk through the deck with Shift+Enter (which
runs each cell and moves on, slide after slide). On the lab's slide, run it, press play, and type a new
discriminator learning rate into its slider: the running trainer takes it, and the steps go on. The slides show
typeset math, and nothing is fetched from anywhere but the local server (RISE's default theme would load Google
fonts: jupyter/overrides.json picks the "white" theme, whose fonts are bundled, and slides aligned to the top, so
that the lab's controls sit on the screen). Screenshots go to test-artifacts/browser/.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest

from browser_support import ARTIFACTS, REPO, browser_page, lab_cell_index, open_notebook, play_then_change_lr_d, serving

pytestmark = pytest.mark.browser

LESSON = REPO / "notebooks" / "00_start_here.ipynb"
LAB_TIMEOUT_S = 60  # cells 0..lab of lesson 00 take about 10 s here; a busy 2-core machine may take a few times that
SLIDE_RE = re.compile(r"#/slide-(\d+)-(\d+)")  # RISE keeps reveal.js's place in the URL: slide, sub-slide

ACTIVE_CELL_JS = """() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
    return cells.findIndex(c => c.classList.contains('jp-mod-active'));
}"""
KERNEL_IDLE_JS = """() => {
    const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return !ind || ind.getAttribute('data-status') === 'idle';
}"""


@pytest.fixture()
def served(chromium_path: str):
    with serving(LESSON, "jupyterlab_slides.log") as served_copy:
        yield served_copy


def slide_of(frame) -> tuple[int, int]:
    """(slide, sub-slide) that the deck shows, from its URL."""
    match = SLIDE_RE.search(frame.url)
    assert match, f"the slideshow's URL names no slide: {frame.url}"
    return int(match.group(1)), int(match.group(2))


def wait_slide(frame, wanted, timeout_s: float = 10) -> None:
    """Wait until the slide shown satisfies `wanted((slide, sub-slide))`."""
    deadline = time.monotonic() + timeout_s
    while not wanted(now := slide_of(frame)):
        if time.monotonic() > deadline:
            raise AssertionError(f"the deck stayed at slide {now}")
        time.sleep(0.05)


def on_screen(locator, height: int = 720) -> bool:
    """Whether the element lies wholly inside the window (the frame fills it, full screen)."""
    box = locator.bounding_box()
    return bool(box) and 0 <= box["y"] and box["y"] + box["height"] <= height


def rise_frame(page, timeout_s: float = 60):
    """The slideshow's frame (the RISE page in JupyterLab's preview panel), once its deck is drawn."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for iframe in page.locator("iframe").element_handles():
            frame = iframe.content_frame()
            if frame and "/rise/" in frame.url and frame.locator(".reveal .slides section.present").count():
                return frame
        time.sleep(0.25)
    raise AssertionError(f"no slideshow appeared within {timeout_s:.0f} s; frames: {[f.url for f in page.frames]}")


def wait_selected_after(frame, index: int, timeout_s: float = 15) -> int:
    """Wait until a cell after `index` is selected; its index. (On a new slide RISE selects its first code cell.)"""
    deadline = time.monotonic() + timeout_s
    while (now := frame.evaluate(ACTIVE_CELL_JS)) <= index:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected a cell after {index} to be selected in the slideshow, but cell {now} is")
        time.sleep(0.05)
    return now


def test_a_lesson_plays_as_live_slides_and_its_lab_trains_on_a_slide(served, chromium_path):
    server, notebook = served
    lab_index = lab_cell_index(notebook)
    with browser_page(chromium_path, 1280, 720) as page:
        requests: list[str] = []
        page.context.on("request", lambda request: requests.append(request.url))
        try:
            panel = open_notebook(page, server, notebook.relative_to(server.root).as_posix())
            panel.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").first.click()  # the first cell
            page.locator("jp-button[data-command='RISE:preview']").click()
            frame = rise_frame(page)
            page.locator("jp-button[title='Open the slideshow in full screen']").click()
            assert slide_of(frame) == (0, 0), f"the slideshow opened at {frame.url}, not at the first slide"
            page.wait_for_function("() => document.fullscreenElement !== null", timeout=10_000)

            # Walk the deck as a talk: Shift+Enter runs the selected cell and selects the next, moving the slides on.
            frame.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
            selected, visited = wait_selected_after(frame, -1), [slide_of(frame)]
            while selected < lab_index:
                page.keyboard.press("Shift+Enter")
                selected = wait_selected_after(frame, selected)
                if slide_of(frame) != visited[-1]:
                    visited.append(slide_of(frame))
            assert selected == lab_index, f"the walk went past the lab's cell {lab_index} to cell {selected}"
            slides = sorted({slide for slide, _ in visited})
            assert len(slides) >= 3 and visited == sorted(visited), f"the deck moved through {visited}"
            page.screenshot(path=str(ARTIFACTS / "slides_walk.png"))

            # The lab's slide: run the cell (Ctrl+Enter keeps it selected); the widget, not its still picture, shows.
            cell = frame.locator(".jp-Notebook .jp-Cell").nth(lab_index)
            assert cell.locator("xpath=ancestor::section[contains(@class, 'present')]").count(), \
                "the lab's cell is not on the slide shown"
            page.keyboard.press("Control+Enter")
            output = cell.locator(".jp-OutputArea")
            output.locator(".gan-lab-status").wait_for(state="visible", timeout=LAB_TIMEOUT_S * 1000)
            assert not frame.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()

            change = play_then_change_lr_d(output)
            page.screenshot(path=str(ARTIFACTS / "slides_lab.png"))
            assert on_screen(output.locator(".gan-lab-lr-d")), "the lr_d slider is off the screen"
            # RISE makes a slide taller than the screen scroll when the slide is entered (its `scroll` setting), not
            # when a cell's output grows: leave the lab's slide and come back, as the teacher's guide says.
            here = slide_of(frame)
            frame.locator(".reveal .controls .navigate-up").click()
            wait_slide(frame, lambda now: now != here)
            frame.locator(".reveal .controls .navigate-down").click()
            wait_slide(frame, lambda now: now == here)
            last_pane = output.locator("img.gan-lab-pane").last
            last_pane.scroll_into_view_if_needed()
            assert on_screen(last_pane), f"the lab's last pane cannot be scrolled to: {last_pane.bounding_box()}"
            page.screenshot(path=str(ARTIFACTS / "slides_lab_scrolled.png"))
            output.locator(".gan-lab-pause").click()

            # Math is typeset on the slides (MathJax from the environment), and nothing came from outside.
            typeset = frame.locator("mjx-container").count()
            assert typeset > 0, "no formula was typeset in the slides"
            local = urlparse(server.url("/")).netloc
            outside = sorted({urlparse(url).netloc for url in requests
                              if urlparse(url).scheme in ("http", "https", "ws", "wss")} - {local})
            assert not outside, f"the slideshow reached beyond the local server: {outside}"
            print(f"slides visited {visited}; lab on slide {slide_of(frame)}: step {change.step0} -> {change.started} "
                  f"(play) -> {change.step_at_change} (lr_d {change.lr_before:.2e} -> {change.new_lr:.2e}, seen after "
                  f"{change.lag_s:.2f} s); "
                  f"{typeset} formulas typeset; {len(requests)} requests, all local")
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "slides_failure.png"))
            raise
