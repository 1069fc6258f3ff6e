"""The live lab in a real browser: JupyterLab (127.0.0.1, token) + headless Chromium driven by Playwright.

Opens lesson 05, runs its cells up to and including the cell tagged `lab`, presses play, types a new discriminator
learning rate into the slider's readout, and checks that the running trainer picks it up (the status line reads the
optimizer) while the steps keep counting and the pictures keep changing. Then a class's session: a new noise
dimension, pin, a preset from the dropdown, pause, replay to an earlier frame, save; a second notebook (a fresh
kernel) loads the file and shows the same step and the same samples, pixel for pixel. The page asks for nothing
beyond the local server (no news, no update check). Screenshots are kept under test-artifacts/browser/. Chromium
comes from the system (`scripts/ensure_browser.sh` installs Debian's package); without it the test skips, or fails
when GAN_LESSONS_REQUIRE_BROWSER=1 (for CI).
"""
from __future__ import annotations

import base64
import io
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import numpy as np
import pytest
from PIL import Image

from browser_support import (ARTIFACTS, REPO, browser_page, collect_frames, lab_cell_index, missing, open_notebook,
                             play_then_change_lr_d, read_status, run_cells_through, serving, type_into_readout,
                             wait_for_widget, wait_paused, wait_step_above)

pytestmark = pytest.mark.browser

# GAN_LESSONS_BROWSER_NOTEBOOK points the test at another notebook with a `lab` cell (handy while building the lab).
LESSON = Path(os.environ.get("GAN_LESSONS_BROWSER_NOTEBOOK", REPO / "notebooks" / "05_the_adversarial_loop.ipynb"))
LAB_TIMEOUT_S = 120  # cells 0..lab in full mode (about 25 s here), from a cold kernel, on a busy 2-core machine
PRESET = "mode collapse"  # the story lesson 05 points to
SAVED = "class_step.lab.pt"
LOADER = "load_the_class_lab.ipynb"  # written beside the lesson: one cell that loads the saved lab


def write_loader(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import gan_lessons as gl\nlab = gl.lab.GANLab.load({SAVED!r})\nlab")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, folder / LOADER)
    return folder / LOADER


def samples_pixels(output) -> np.ndarray:
    """The samples pane (the first pane image) as RGBA pixels, fetched from its blob URL in the page."""
    b64 = output.locator("img.gan-lab-pane").first.evaluate("""async img => {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let text = '';
        for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
        return btoa(text);
    }""")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA"))


def wait_status(output, pattern: str, timeout_s: float, what: str) -> re.Match:
    """Poll the status line until it matches `pattern`; the match."""
    deadline = time.monotonic() + timeout_s
    while not (found := re.search(pattern, read_status(output)[2])):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}; status: {read_status(output)[2]!r}")
        time.sleep(0.1)
    return found


@pytest.fixture(scope="module")
def served(chromium_path: str):
    """A private JupyterLab serving a temporary copy of the lesson; stopped, kernels and all, afterwards."""
    if not LESSON.exists():
        missing(f"{LESSON.name} does not exist yet: the browser test drives its `lab` cell")
    (ARTIFACTS / "live_lab_failure.png").unlink(missing_ok=True)
    with serving(LESSON, "jupyterlab.log") as served_copy:
        yield served_copy


@pytest.fixture()
def page(served, chromium_path: str):
    with browser_page(chromium_path, 1280, 1000) as pg:
        yield pg


def test_live_lab_slider_reaches_running_trainer_and_a_class_session_is_saved_and_loaded(served, page):
    server, notebook = served
    index = lab_cell_index(notebook)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    t0 = time.monotonic()
    panel = open_notebook(page, server, notebook.relative_to(server.root).as_posix())
    cell = panel.locator(".jp-Notebook .jp-Cell").nth(index)
    output = cell.locator(".jp-OutputArea")  # every wait below reads this cell's output only
    try:
        t_open = time.monotonic() - t0
        run_cells_through(panel, index)
        wait_for_widget(panel, output, ".gan-lab-status", LAB_TIMEOUT_S, f"the lab (output of cell {index})")
        t_cells = time.monotonic() - t0 - t_open
        change = play_then_change_lr_d(output)
        step0, started, lr_before, new_lr = change.step0, change.started, change.lr_before, change.new_lr
        lag, step_at_change, frames = change.lag_s, change.step_at_change, change.frames
        frames_after = collect_frames(output, 1.5)
        assert len(frames_after - frames) >= 2, "the pane pictures stopped changing after lr_d changed"
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "live_lab.png"))
        cell.screenshot(path=str(ARTIFACTS / "live_lab_cell.png"))

        # A new noise dimension while training: G is rebuilt, the steps go on.
        z_slider = output.locator(".gan-lab-z-dim")
        z_before = int(z_slider.locator(".widget-readout").inner_text())
        type_into_readout(z_slider, str(z_before + 1))
        wait_status(output, rf"noise dimension {z_before} → {z_before + 1}", 10, "the new noise dimension")
        wait_step_above(output, read_status(output)[0], 10, "the steps to go on after the noise dimension changed")

        # Pin: the frame of now stays beside the live panes, with its step.
        output.locator(".gan-lab-pin").click()
        pinned = output.locator(".gan-lab-pinned")
        pinned.wait_for(state="visible", timeout=10_000)
        pinned_step = int(re.search(r"pinned: step (\d+)", pinned.inner_text()).group(1))
        assert output.locator("img.gan-lab-pinned-pane").count() == 2

        # A preset from the dropdown: every control changes, fresh G and D, training goes on from step 0.
        output.locator(".gan-lab-preset select").select_option(PRESET)
        wait_status(output, rf"preset '{PRESET}'", 10, "the preset to be applied")
        assert PRESET in output.locator(".gan-lab-story").inner_text()
        wait_step_above(output, 40, 30, "training to go on after the preset")
        output.locator(".gan-lab-pause").click()
        stopped = wait_paused(output, 10)
        assert f"pinned: step {pinned_step}" in pinned.inner_text()  # the pinned frame did not move

        # Replay: the slider goes back to an earlier frame; the panes show it, the run stays where it is.
        replay = output.locator(".gan-lab-replay")
        assert int(replay.locator(".widget-readout").inner_text()) >= 2, "too few frames kept to replay"
        live_pixels = samples_pixels(output)
        type_into_readout(replay, "1")
        earlier = int(wait_status(output, r"replay of step (\d+)", 10, "the replayed frame").group(1))
        assert earlier < stopped, f"replay showed step {earlier}, not one before step {stopped}"
        assert not np.array_equal(samples_pixels(output), live_pixels), "the replayed frame looks like the live one"

        # Save: the file name, the button; the status says the step saved.
        name = output.locator(".gan-lab-file input")
        name.fill(SAVED)
        output.locator(".gan-lab-save").click()
        saved_step = int(wait_status(output, rf"saved step (\d+) to .*{re.escape(SAVED)}", 15, "the save").group(1))
        assert saved_step == stopped
        saved_pixels = samples_pixels(output)
        cell.screenshot(path=str(ARTIFACTS / "live_lab_session.png"))

        # A fresh kernel (a second notebook) loads the file: the same step, the same samples.
        loader = write_loader(notebook.parent)
        panel2 = open_notebook(page, server, loader.relative_to(server.root).as_posix(), alone=True)
        output2 = panel2.locator(".jp-Notebook .jp-Cell").nth(0).locator(".jp-OutputArea")
        run_cells_through(panel2, 0)
        wait_for_widget(panel2, output2, ".gan-lab-status", LAB_TIMEOUT_S, "the loaded lab")
        assert read_status(output2)[0] == saved_step
        assert np.array_equal(samples_pixels(output2), saved_pixels), "the loaded lab shows other samples"

        # Offline: the page asked nothing of any host but the local server, and showed no news prompt.
        local = urlparse(server.url("/")).netloc
        outside = sorted({urlparse(url).netloc for url in requests
                          if urlparse(url).scheme in ("http", "https", "ws", "wss")} - {local})
        assert not outside, f"the page reached beyond the local server: {outside}"
        assert page.get_by_text(re.compile("Jupyter news", re.I)).count() == 0, "a news prompt is shown"
        print(f"notebook open {t_open:.1f} s, cells 0-{index} run {t_cells:.1f} s; "
              f"lab cell {index}: step {step0} -> {started} (play) -> {step_at_change} (lr_d {lr_before:.2e} -> "
              f"{new_lr:.2e}, seen after {lag:.2f} s); pinned at {pinned_step}; preset {PRESET!r}; paused at "
              f"{stopped}; replayed step {earlier}; saved and loaded at step {saved_step}; "
              f"{len(frames | frames_after)} frames; {len(requests)} requests, all local")
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "live_lab_failure.png"))
        raise
