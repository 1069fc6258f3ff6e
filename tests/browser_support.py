"""Plumbing for the browser test: a private JupyterLab server and helpers that drive it with Playwright.

The server listens on 127.0.0.1 only, with a fresh random token, and runs on a temporary copy of the notebook, so
nothing the browser does (outputs, autosave, checkpoints, workspaces) touches the repository. Every Jupyter directory
(config, runtime, settings, workspaces) is a temporary one, so the user's own Jupyter setup changes nothing. What
turns off everything that would call the network (news, update checks, the extension manager's PyPI search) is what
`make lab` uses too: the files of jupyter/ that `make` copies into the virtual environment (`OFFLINE_FILES`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"

# Where Debian/Ubuntu put Chromium; the real binary first, so the launcher script's extra flags stay out of the way.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
# Headless, no sandbox (we run as root in containers), and nothing that reaches out to the network on its own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

# User settings for the lab: no autosave (the copy is thrown away anyway), and every cell kept in the page (no
# windowing), so "the n-th cell" is the n-th `.jp-Cell` in the DOM. Nothing about news or updates: the test sees
# what `make lab` shows.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# The offline classroom settings (jupyter/README.md), where `make` puts them in the virtual environment.
OFFLINE_FILES = {REPO / "jupyter" / "jupyter_lab_config.json": Path(sys.prefix, "etc/jupyter/jupyter_lab_config.json"),
                 REPO / "jupyter" / "overrides.json": Path(sys.prefix, "share/jupyter/lab/settings/overrides.json")}


def check_offline_files() -> None:
    """RuntimeError unless the offline settings are installed in this environment as jupyter/ has them."""
    for source, installed in OFFLINE_FILES.items():
        if not installed.is_file() or installed.read_bytes() != source.read_bytes():
            raise RuntimeError(f"{installed} is missing or differs from {source.relative_to(REPO)}: run the tests "
                               "with `make test`, which installs it")


def missing(reason: str):
    """Skip the browser test for `reason`, or fail when GAN_LESSONS_REQUIRE_BROWSER is set (CI)."""
    if os.environ.get("GAN_LESSONS_REQUIRE_BROWSER", "0") not in ("", "0"):
        pytest.fail(reason + " (and GAN_LESSONS_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@contextlib.contextmanager
def browser_page(chromium_path: str, width: int, height: int) -> Iterator:
    """A page of a fresh headless Chromium with a `width` x `height` window; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def find_chromium() -> str | None:
    """The Chromium to drive: $GAN_LESSONS_CHROMIUM, else Debian/Ubuntu's, else a chromium or chrome on the PATH."""
    override = os.environ.get("GAN_LESSONS_CHROMIUM")
    if override:
        candidates = [override]
    else:
        names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
        candidates = [*CHROMIUM_CANDIDATES, *(shutil.which(n) for n in names)]
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_cell_index(notebook: Path, tag: str = "lab") -> int:
    """Index of the first cell tagged `tag` (the cell that creates and displays the live lab)."""
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        if tag in cell.get("metadata", {}).get("tags", []):
            return i
    raise LookupError(f"{notebook.name} has no cell tagged {tag!r}")


class LabServer:
    """JupyterLab on 127.0.0.1:<free port> with a random token, serving `root` (a temporary folder).

    The server and its kernels run without GAN_LESSONS_FAST, so the live lab trains in its background thread as it
    does for a reader. `stop()` shuts the kernels and the server down and kills whatever is left, by process id.
    """

    def __init__(self, root: Path, home: Path, log_path: Path, timeout: float = 60.0):
        self.root, self.home, self.log_path = root, home, log_path
        self.token = secrets.token_urlsafe(24)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.leftovers: list[int] = []  # pids still alive after stop() (a test asserts there are none)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GAN_LESSONS_FAST", "JUPYTER", "PYTEST"))}
        env.pop("MPLBACKEND", None)  # the kernel picks its inline backend, as for a reader
        for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                          ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
            env[name] = str(self.home / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        return env

    def _write_settings(self) -> None:
        for rel, values in LAB_SETTINGS.items():
            path = self.home / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def _start(self, timeout: float) -> None:
        check_offline_files()
        env = self._env()
        self._write_settings()
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.open_browser=False",
               "--ServerApp.terminals_enabled=False", "--KernelManager.shutdown_wait_time=2"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI often run as root; the server is still local-only
        self._log = open(self.log_path, "wb")
        # Its own session, so stop() can signal the server's whole process group and nothing else.
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        raise TimeoutError(f"JupyterLab did not answer on {self.base} within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 5.0):
        """Call the server's REST API with the token; returns the decoded JSON (or None)."""
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def _descendants(self) -> list[psutil.Process]:
        """The server's process and every process it started (kernels run in sessions of their own)."""
        try:
            me = psutil.Process(self.proc.pid)
            return [me, *me.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=15)

    def stop(self) -> None:
        """Shut down kernels and server politely, then kill any process of theirs still alive (by pid)."""
        if self.proc is None:
            return
        procs = self._descendants()
        try:
            self.shutdown_kernels()
            self.api("POST", "/api/shutdown", timeout=10)
            self.proc.wait(timeout=15)
        except Exception:  # noqa: BLE001 (a dead or hung server: the signals below deal with it)
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()
        self.proc = None
        self.leftovers = [p.pid for p in procs if _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def copy_notebook(src: Path, root: Path) -> Path:
    """Copy `src` into root/notebooks (with a `data` link beside it, as in the repository) and return the copy.

    The copy names the venv's `python3` kernel, so JupyterLab starts it without asking which kernel to use.
    """
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    if (REPO / "data").is_dir() and not (root / "data").exists():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    nb = nbformat.read(src, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    dst = root / "notebooks" / src.name
    nbformat.write(nb, dst)
    return dst


# ---------------------------------------------------------------------------------------------------------------
# Page helpers (Playwright sync API). Locators are scoped to one notebook panel / one cell's output area.
# ---------------------------------------------------------------------------------------------------------------

def open_notebook(page, server: LabServer, rel_path: str, timeout_ms: int = 60_000, alone: bool = False):
    """Open the notebook in JupyterLab and wait until its kernel is idle; returns the notebook panel's locator.

    alone: open it in a fresh workspace (`?reset`), so that the notebooks opened before are not restored beside it
    (their kernels go on running on the server).
    """
    page.goto(server.url(f"/lab/tree/{rel_path}") + ("&reset" if alone else ""), wait_until="domcontentloaded",
              timeout=timeout_ms)
    # The panel in view: with a second notebook open, the first one's panel stays in the page, hidden.
    shown = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel = shown.filter(has=page.locator(".jp-Notebook .jp-Cell")).first
    panel.wait_for(state="visible", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)
    return panel


def wait_kernel_idle(page, timeout_ms: int) -> None:
    """Wait until the notebook's kernel has started, is connected and idle. The toolbar indicator alone says "idle"
    before any kernel exists (and cells run then are silently dropped), so also read the status bar's kernel item,
    which goes "No Kernel | Initializing" -> "Python 3 (ipykernel) | Connecting" -> ... -> "... | Idle"."""
    page.wait_for_function(
        """() => {
            const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent.trim());
            const kernel = items.find(t => / \\| (Idle|Busy|Initializing|Connecting|Starting|Unknown|Restarting)$/.test(t));
            return ind && ind.getAttribute('data-status') === 'idle'
                && kernel && kernel.endsWith('| Idle') && !kernel.startsWith('No Kernel');
        }""", timeout=timeout_ms)


ACTIVE_INDEX_JS = """panel => {
    const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
    return cells.findIndex(c => c.classList.contains('jp-mod-active'));
}"""


def run_cells_through(panel, last: int, timeout_ms: int = 10_000) -> None:
    """Run cells 0..last in order with the keyboard, as a reader does: select the first cell, then Shift+Enter
    (run the cell, select the next) once per cell, each time waiting until the selection has moved on and a code
    cell shows it was sent to the kernel (its prompt turns from [ ] to [*] or [n])."""
    page = panel.page
    cells = panel.locator(".jp-Notebook .jp-Cell")
    cells.first.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Escape")  # command mode
    wait_active_cell(panel, 0, timeout_ms)
    for i in range(last + 1):
        page.keyboard.press("Shift+Enter")
        wait_active_cell(panel, i + 1, timeout_ms)
        cell = cells.nth(i)
        prompt = cell.locator(".jp-InputArea-prompt")
        # Code cells whose input shows (a collapsed solution's placeholder has no number to read).
        if "jp-CodeCell" in (cell.get_attribute("class") or "") and prompt.count():
            prompt = prompt.first
            deadline = time.monotonic() + timeout_ms / 1000
            while re.fullmatch(r"\[\s*\]:?", (text := prompt.inner_text().strip())):
                if time.monotonic() > deadline:
                    raise AssertionError(f"cell {i} was not sent to the kernel (prompt still {text!r})")
                time.sleep(0.05)


def wait_active_cell(panel, index: int, timeout_ms: int) -> None:
    deadline = time.monotonic() + timeout_ms / 1000
    while (now := panel.evaluate(ACTIVE_INDEX_JS)) != index:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected cell {index} to be selected, but cell {now} is")
        time.sleep(0.05)


ERROR_RE = re.compile(r"Traceback|^\s*\w*(Error|Exception|Interrupt)\b", re.MULTILINE)


def cell_errors(panel) -> list[str]:
    """Text of the error outputs in the notebook (a traceback or an `...Error:` line; warnings do not count)."""
    errors = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return [t[:2000] for t in errors.all_inner_texts() if ERROR_RE.search(t)]


def wait_for_widget(panel, output, selector: str, timeout_s: float, what: str) -> None:
    """Wait until `selector` is visible in `output`; fail at once, with the traceback, if a cell shows an error."""
    target = output.locator(selector).first
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if target.is_visible():
            return
        errors = cell_errors(panel)
        if errors:
            raise AssertionError(f"a cell failed before {what} appeared:\n" + "\n".join(errors))
        time.sleep(0.25)
    raise AssertionError(f"{what} did not appear within {timeout_s:.0f} s (no error shown in the notebook)")


STEP_RE = r"step\s*=\s*(\d+)"
LR_D_RE = r"lr_d\s*=\s*([0-9.]+e[-+]\d+)"


def read_status(output) -> tuple[int, float, str]:
    """(step, lr_d, full text) from the lab's status widget."""
    text = output.locator(".gan-lab-status").inner_text(timeout=5_000)
    step, lr = re.search(STEP_RE, text), re.search(LR_D_RE, text)
    if not (step and lr):
        raise AssertionError(f"status text lacks step=<int> and lr_d=<%.2e>: {text!r}")
    return int(step.group(1)), float(lr.group(1)), text


def wait_step_above(output, floor: int, timeout_s: float, what: str) -> int:
    """Poll the status until its step count exceeds `floor`; returns the step seen."""
    deadline = time.monotonic() + timeout_s
    while (step := read_status(output)[0]) <= floor:
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}; still step={step}")
        time.sleep(0.1)
    return step


def wait_lr_d(output, wanted: float, timeout_s: float) -> float:
    """Poll the status until its lr_d (read from the trainer's optimizer) is `wanted`; returns the seconds it took."""
    t0 = time.monotonic()
    while not lr_close((status := read_status(output))[1], wanted):
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"the trainer did not pick up lr_d={wanted:.2e} within {timeout_s:.0f} s "
                                 f"of typing it into the slider; status: {status[2]!r}")
        time.sleep(0.05)
    return time.monotonic() - t0


def wait_paused(output, timeout_s: float) -> int:
    """After pause the step count stops: two readings 0.6 s apart agree. Returns that step."""
    deadline = time.monotonic() + timeout_s
    last = read_status(output)[0]
    while True:
        time.sleep(0.6)
        if (now := read_status(output)[0]) == last:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"training did not stop within {timeout_s:.0f} s of pressing pause (step={now})")
        last = now


def lr_close(shown: float, wanted: float, rel_tol: float = 0.015) -> bool:
    """Equal as printed: the status prints %.2e, the slider's readout may round to 2 digits (.1e: 5.0e-4)."""
    return math.isclose(shown, wanted, rel_tol=rel_tol)


def type_into_readout(slider, value: str) -> None:
    """Type `value` into an ipywidgets 8 slider's editable readout and press Enter, as a reader would."""
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("ControlOrMeta+a")
    readout.press_sequentially(value)
    readout.press("Enter")


@dataclasses.dataclass
class LiveChange:
    """What `play_then_change_lr_d` saw: steps before and after play, the learning rates, and the pane pictures."""

    step0: int
    started: int
    lr_before: float
    new_lr: float
    lag_s: float  # from typing the value to the status showing the trainer's new learning rate
    step_at_change: int
    frames: set[str]  # the pane pictures seen while training, before the change


def play_then_change_lr_d(output) -> LiveChange:
    """Press the lab's play, see the steps rise and the pictures change, then type a new lr_d into the slider's
    readout and wait until the running trainer reports it and the steps go on."""
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
    return LiveChange(step0, started, lr_before, new_lr, lag, step_at_change, frames)


def image_sources(output, selector: str = "img.gan-lab-pane") -> list[str]:
    """The current `src` of each pane image (blob: or data: URLs; a new URL each time the picture changes)."""
    return output.locator(selector).evaluate_all("els => els.map(e => e.src)")


def collect_frames(output, seconds: float) -> set[str]:
    """Pane image URLs seen while watching for `seconds`."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.update(image_sources(output))
        time.sleep(0.1)
    return seen


@contextlib.contextmanager
def serving(notebook: Path, log_name: str) -> Iterator[tuple[LabServer, Path]]:
    """A private JupyterLab serving a temporary copy of `notebook`: (server, the copy's path). Afterwards the server
    is stopped, kernels and all, the copy removed, and no process of it may be left running."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tmp, server = fresh_tmp("gan-lessons-browser-"), None
    try:
        copy = copy_notebook(notebook, tmp / "root")
        server = LabServer(tmp / "root", tmp / "home", ARTIFACTS / log_name)
        yield server, copy
    finally:
        if server is not None:
            server.stop()
        remove_tree(tmp)
    assert not server.leftovers, f"processes still running after the server stopped: {server.leftovers}"


def fresh_tmp(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
