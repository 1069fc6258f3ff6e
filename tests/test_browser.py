"""The live lab in a real browser: JupyterLab (127.0.0.1, token) + headless Chromium driven by Playwright.

Opens lesson 05, runs its cells up to and including the cell tagged `lab`, presses play, types a new discriminator
learning rate into the slider's readout, and checks that the running trainer picks it up (the status line reads the
optimizer) while the steps keep counting and the pictures keep changing. Screenshots are kept under
test-artifacts/browser/. Chromium comes from the system (`scripts/ensure_browser.sh` installs Debian's package);
without it the test skips, or fails when GAN_LESSONS_REQUIRE_BROWSER=1 (for CI).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from browser_support import (ARTIFACTS, CHROMIUM_ARGS, REPO, LabServer, collect_frames, copy_notebook, find_chromium,
                             fresh_tmp, lab_cell_index, lr_close, open_notebook, read_status, remove_tree,
                             run_cells_through, type_into_readout, wait_for_widget, wait_lr_d, wait_paused,
                             wait_step_above)

pytestmark = pytest.mark.browser

# GAN_LESSONS_BROWSER_NOTEBOOK points the test at another notebook with a `lab` cell (handy while building the lab).
LESSON = Path(os.environ.get("GAN_LESSONS_BROWSER_NOTEBOOK", REPO / "notebooks" / "05_the_adversarial_loop.ipynb"))
LAB_TIMEOUT_S = 120  # cells 0..lab in full mode (about 25 s here), from a cold kernel, on a busy 2-core machine


def _missing(reason: str):
    if os.environ.get("GAN_LESSONS_REQUIRE_BROWSER", "0") not in ("", "0"):
        pytest.fail(reason + " (and GAN_LESSONS_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _missing("no Chromium found (/usr/bin/chromium): run `bash scripts/ensure_browser.sh` as root, "
                 "or set GAN_LESSONS_CHROMIUM=/path/to/chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="module")
def served(chromium_path: str):
    """A private JupyterLab serving a temporary copy of the lesson; stopped, kernels and all, afterwards."""
    if not LESSON.exists():
        _missing(f"{LESSON.name} does not exist yet: the browser test drives its `lab` cell")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "live_lab_failure.png").unlink(missing_ok=True)
    tmp, server = fresh_tmp("gan-lessons-browser-"), None
    try:
        copy = copy_notebook(LESSON, tmp / "root")
        server = LabServer(tmp / "root", tmp / "home", ARTIFACTS / "jupyterlab.log")
        yield server, copy
    finally:
        if server is not None:
            server.stop()
        remove_tree(tmp)
    assert not server.leftovers, f"processes still running after the server stopped: {server.leftovers}"


@pytest.fixture()
def page(served, chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            pg = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            pg.set_default_timeout(15_000)
            yield pg
        finally:
            browser.close()


def test_live_lab_slider_reaches_running_trainer(served, page):
    server, notebook = served
    index = lab_cell_index(notebook)
    t0 = time.monotonic()
    panel = open_notebook(page, server, notebook.relative_to(server.root).as_posix())
    cell = panel.locator(".jp-Notebook .jp-Cell").nth(index)
    output = cell.locator(".jp-OutputArea")  # every wait below reads this cell's output only
    try:
        t_open = time.monotonic() - t0
        run_cells_through(panel, index)
        wait_for_widget(panel, output, ".gan-lab-status", LAB_TIMEOUT_S, f"the lab (output of cell {index})")
        t_cells = time.monotonic() - t0 - t_open
        output.locator(".gan-lab-play").click()
        step0, lr_before, _ = read_status(output)
        started = wait_step_above(output, step0, 30, "the step count to rise after play")
        frames = collect_frames(output, 1.5)
        assert len(frames) >= 2, f"the pane pictures did not change while training ({len(frames)} distinct)"

        slider = output.locator(".gan-lab-lr-d")
        type_into_readout(slider, "5e-4" if not lr_close(lr_before, 5e-4, 0.2) else "2e-3")
        # The slider snaps a typed value to its step (5e-4 -> 10**-3.3 = 5.01e-4); its readout shows what it holds.
        new_lr = float(slider.locator(".widget-readout").inner_text())
        assert not lr_close(new_lr, lr_before, 0.05), f"the slider kept lr_d={new_lr:g} (was {lr_before:.2e})"
        lag = wait_lr_d(output, new_lr, 5)
        step_at_change = read_status(output)[0]
        wait_step_above(output, step_at_change, 10, "the step count to keep rising with the new lr_d")
        frames_after = collect_frames(output, 1.5)
        assert len(frames_after - frames) >= 2, "the pane pictures stopped changing after lr_d changed"
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "live_lab.png"))
        cell.screenshot(path=str(ARTIFACTS / "live_lab_cell.png"))

        output.locator(".gan-lab-pause").click()
        stopped = wait_paused(output, 10)
        print(f"notebook open {t_open:.1f} s, cells 0-{index} run {t_cells:.1f} s; "
              f"lab cell {index}: step {step0} -> {started} (play) -> {step_at_change} (lr_d {lr_before:.2e} -> "
              f"{new_lr:.2e}, seen after {lag:.2f} s) -> {stopped} (pause); {len(frames | frames_after)} frames")
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "live_lab_failure.png"))
        raise
