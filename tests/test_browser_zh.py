"""A Chinese lesson in a real browser: JupyterLab (127.0.0.1, token) + headless Chromium driven by Playwright.

Opens the Chinese lesson 00 (notebooks/zh/), runs its cells up to its live lab as a student does (Shift+Enter), and
checks what a Chinese student sees: the lesson's text in Chinese, a figure whose title is Chinese drawn without a
missing glyph (matplotlib warns "Glyph ... missing from font(s)" into the cell's output when one is), and the lab
with Chinese buttons and status, still training when played. Screenshots go to test-artifacts/browser/.
"""
from __future__ import annotations

import ast
import json
import re

import pytest

from browser_support import (ARTIFACTS, REPO, browser_page, lab_cell_index, open_notebook, play_then_change_lr_d,
                             run_cells_through, serving, wait_for_widget)

pytestmark = pytest.mark.browser

LESSON = REPO / "notebooks" / "zh" / "00_start_here.ipynb"
LAB_TIMEOUT_S = 120  # cells 0..lab from a cold kernel on a busy 2-core machine
CJK = re.compile(r"[\u3400-\u9fff]")


def chinese_title_cell(notebook) -> int:
    """The index of the first code cell that gives a figure a Chinese title (set_title / suptitle / title=)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call) and (getattr(node.func, "attr", "") in ("set_title", "suptitle", "title")
                                               or any(k.arg == "title" for k in node.keywords)):
                texts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                if any(CJK.search(t) for t in texts):
                    return i
    raise AssertionError(f"{notebook.name} has no figure with a Chinese title before its lab")


@pytest.fixture()
def served(chromium_path: str):
    with serving(LESSON, "jupyterlab_zh.log") as served_copy:
        yield served_copy


def test_a_chinese_lesson_shows_chinese_text_figures_and_lab(served, chromium_path):
    server, notebook = served
    lab, figure = lab_cell_index(notebook), chinese_title_cell(notebook)
    assert figure < lab
    with browser_page(chromium_path, 1280, 1000) as page:
        panel = open_notebook(page, server, notebook.relative_to(server.root).as_posix())
        cells = panel.locator(".jp-Notebook .jp-Cell")
        output = cells.nth(lab).locator(".jp-OutputArea")
        try:
            heading = panel.locator(".jp-RenderedMarkdown h1").first.inner_text()
            assert CJK.search(heading), f"the lesson's title is not Chinese: {heading!r}"
            run_cells_through(panel, lab)
            wait_for_widget(panel, output, ".gan-lab-status", LAB_TIMEOUT_S, f"the lab (output of cell {lab})")

            figure_output = cells.nth(figure).locator(".jp-OutputArea")
            assert figure_output.locator("img").count() >= 1, "the figure with a Chinese title did not render"
            said = "\n".join(panel.locator(".jp-OutputArea").all_inner_texts())
            assert "missing from font" not in said, said[said.find("missing from font") - 200:][:400]

            labels = [t.strip() for t in output.locator("button").all_inner_texts() if t.strip()]
            assert labels and all(CJK.search(t) for t in labels), f"buttons not in Chinese: {labels}"
            change = play_then_change_lr_d(output)  # plays, sees the steps rise, moves lr_d while it trains
            status = output.locator(".gan-lab-status").inner_text()
            assert CJK.search(status), f"the status line is not Chinese: {status!r}"
            assert change.started > change.step0
            cells.nth(figure).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "zh_lesson_figure.png"))
            cells.nth(lab).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "zh_lesson_lab.png"))
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "zh_lesson_failure.png"))
            raise
