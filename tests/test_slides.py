"""Every lesson plays as a talk: slide metadata on every cell, by the rules of gan_lessons.slides, and no slide taller
than a 1280x720 screen by its estimate (except the code cells listed below)."""
from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_lessons import slides as sl
from gan_lessons.slides import MAX_SLIDE_LINES, estimate_height, slide_types, slides, split_markdown

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HEADING_LINE = re.compile(r"^#{1,6}\s")

# Code cells taller than a slide on their own, by estimate_height (rows; the parts in brackets), each for the reason
# given. Each stands alone on its sub-slide, so no other slide break would help. In JupyterLab the slides are aligned
# to the top and scroll (jupyter/overrides.json): the lab's buttons, status line, controls and first row of panes are
# on the screen (tests/test_browser_slides.py checks its slider is), the rest is a scroll away. The test below fails
# when one of them fits, so that the list only shrinks.
TALL_CODE_CELLS = {
    ("00", "c10"): "53: the live lab (50 rows: buttons, status, controls and three rows of panes, about 900 px)",
    ("05", "c18"): "53: the live lab (50 rows)",
    ("06", "c27"): "43: 23 rows of code over a 10 x 3.3 in figure (19), 1 printed; in the 11 rows left, the 2 x 8 "
                   "unsure digits the lesson reads would be 60 px tall",
    ("07", "c14"): "53: the live lab (50 rows)",
    ("08", "c39b"): "51: 9 rows of code over a 15 x 9.4 in figure (42): 3 x 5 small multiples, one per fix; in the 26 "
                    "rows left a panel would be 1 in and the titles would overlap",
    ("08", "c41c"): "69: 58 rows of code (four claims, each a box built from the table rows that bear on it) and 10 "
                    "printed; no figure to shrink",
    ("08", "c41f"): "55: 34 rows of code (both targets' tables, what each best changed, its learning rate) and 20 "
                    "printed, a row per fix",
    ("08", "c41x"): "59: 32 rows of code (the modes of every seed under every fix's kept configuration, the fixes whose "
                    "seed-0 favourite lost, the numbers the text quotes) and 27 printed",
    ("08", "c41i"): "44: 36 rows of code (one run that keeps three averages beside G) and 7 printed",
    ("08", "c41n"): "66: 23 rows of code over a 15 x 9.4 in figure (42): 3 x 5 small multiples, one per fix; the code "
                    "leaves the figure 11 rows",
    ("08", "c41q"): "53: the live lab (50 rows)",
}


def lesson_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def stored_types(cells: list[dict]) -> list[str | None]:
    return [cell.get("metadata", {}).get("slideshow", {}).get("slide_type") for cell in cells]


def stored_slides(cells: list[dict]) -> list[list[int]]:
    """The slides as the stored metadata makes them (what RISE and nbconvert read), skipped cells left out."""
    deck: list[list[int]] = []
    for i, kind in enumerate(stored_types(cells)):
        if kind in ("slide", "subslide") or not deck and kind != "skip":
            deck.append([i])
        elif kind != "skip":
            deck[-1].append(i)
    return deck


def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(lines: int = 1, solution: bool = False, width: int = 10) -> dict:
    text = "\n".join("x = " + "1" * max(1, width - 4) for _ in range(lines))  # no output
    return {"cell_type": "code", "metadata": {"tags": ["solution"]} if solution else {}, "source": text}


# -- the lessons -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_carries_the_slide_type_the_rules_give(path):
    cells = lesson_cells(path)
    wrong = [(i, cell.get("id"), have, want)
             for i, (cell, have, want) in enumerate(zip(cells, stored_types(cells), slide_types(cells)))
             if have != want]
    assert not wrong, (f"{path.name}: cells (index, id, stored, computed) {wrong} lack the slide type the rules give; "
                       "run `python -m gan_lessons.slides notebooks/*.ipynb`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_heading_starts_a_slide_or_sub_slide(path):
    cells = lesson_cells(path)
    for i, (cell, kind) in enumerate(zip(cells, stored_types(cells))):
        if cell["cell_type"] != "markdown":
            continue
        lines, fenced = "".join(cell["source"]).split("\n"), False
        for j, line in enumerate(lines):
            fenced = fenced != line.lstrip().startswith("```")
            if HEADING_LINE.match(line) and not fenced:
                assert j == 0, f"{path.name} cell {i} ({cell['id']}): the heading {line!r} is not the cell's first line"
                assert kind in ("slide", "subslide"), f"{path.name} cell {i}: {line!r} is a {kind!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_and_only_they_are_skipped(path):
    cells = lesson_cells(path)
    for i, (cell, kind) in enumerate(zip(cells, stored_types(cells))):
        solution = "solution" in cell.get("metadata", {}).get("tags", [])
        assert (kind == "skip") == solution, f"{path.name} cell {i} ({cell['id']}): solution={solution}, {kind!r}"


def defined_and_read(code: str) -> tuple[set[str], set[str]]:
    """The names a cell's code binds (assignments, def, class, import, loop and `with` targets) and those it reads."""
    tree = ast.parse("\n".join(line for line in code.split("\n") if not line.lstrip().startswith(("%", "!"))))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return bound, read


def names_only_solutions_define(cells: list[dict]) -> dict[str, set[str]]:
    """{cell id: the names it reads that only skipped solution cells bind} for every other code cell."""
    solutions, others = set(), set()
    for cell in cells:
        if cell["cell_type"] == "code":
            (solutions if sl.is_solution(cell) else others).update(defined_and_read(sl.source(cell))[0])
    orphans = solutions - others
    found = {cell.get("id", str(i)): defined_and_read(sl.source(cell))[1] & orphans for i, cell in enumerate(cells)
             if cell["cell_type"] == "code" and not sl.is_solution(cell)}
    return {cell_id: names for cell_id, names in found.items() if names}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_slides_run_without_the_skipped_solutions(path):
    """A teacher presents without the solutions (they are skipped): no other cell may need what only they define."""
    orphans = names_only_solutions_define(lesson_cells(path))
    assert not orphans, f"{path.name}: these cells read names that only a solution cell defines: {orphans}"


def test_a_cell_that_needs_a_solution_is_found():
    cells = [code(1), {"cell_type": "code", "id": "s", "metadata": {"tags": ["solution"]},
                       "source": "def f_solution(x):\n    return x\nfrom math import tau"},
             {"cell_type": "code", "id": "u", "metadata": {}, "source": "y = f_solution(2) + tau"},
             {"cell_type": "code", "id": "v", "metadata": {}, "source": "def g(x):\n    return x\nz = g(1)"}]
    assert names_only_solutions_define(cells) == {"u": {"f_solution", "tau"}}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_an_exercise_is_a_slide_of_its_own(path):
    cells = lesson_cells(path)
    exercises = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "".join(c["source"]).startswith(
        "### Exercise")]
    assert exercises, f"{path.name} has no exercise"
    for deck in stored_slides(cells):
        if deck[0] in exercises:
            assert stored_types(cells)[deck[0]] == "slide", f"{path.name} cell {deck[0]}: an exercise, not a slide"
            assert all(cells[i]["cell_type"] == "code" for i in deck[1:]), f"{path.name}: {deck} holds more"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_slide_is_taller_than_the_screen(path):
    cells, lesson = lesson_cells(path), path.name[:2]
    for deck in stored_slides(cells):
        height = sum(estimate_height(cells[i]) for i in deck)
        if height > MAX_SLIDE_LINES:
            ids = [cells[i]["id"] for i in deck]
            assert len(deck) == 1 and (lesson, ids[0]) in TALL_CODE_CELLS, \
                f"{path.name}: the slide of cells {ids} is {height} rows tall (at most {MAX_SLIDE_LINES})"


def test_every_listed_tall_cell_is_still_alone_and_too_tall():
    for (lesson, cell_id), why in TALL_CODE_CELLS.items():
        [path] = [p for p in NOTEBOOKS if p.name.startswith(lesson)]
        cells = lesson_cells(path)
        [i] = [k for k, cell in enumerate(cells) if cell["id"] == cell_id]
        assert cells[i]["cell_type"] == "code" and [i] in stored_slides(cells), (lesson, cell_id)
        assert estimate_height(cells[i]) == int(why.split(":")[0]) > MAX_SLIDE_LINES, \
            f"lesson {lesson} cell {cell_id} is now {estimate_height(cells[i])} rows: update or drop its entry"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_lesson_has_at_least_five_slides_and_unique_cell_ids(path):
    cells = lesson_cells(path)
    assert stored_types(cells).count("slide") >= 5, f"{path.name} has {stored_types(cells).count('slide')} slides"
    ids = [cell["id"] for cell in cells]
    assert len(set(ids)) == len(ids), f"{path.name}: cell ids repeat: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids)  # what nbformat allows


def test_the_script_writes_the_stored_metadata(tmp_path):
    """`python -m gan_lessons.slides` on a lesson stripped of its slide metadata gives back the file as stored."""
    path = NOTEBOOKS[4]
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        cell["metadata"].pop("slideshow")
    copy = tmp_path / path.name
    copy.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "gan_lessons.slides", str(copy)], check=True, cwd=REPO, capture_output=True)
    assert copy.read_bytes() == path.read_bytes()


class _Sections(HTMLParser):
    """The cell ids in each innermost <section> of a reveal.js deck that nbconvert wrote."""

    def __init__(self):
        super().__init__()
        self.open: list[list[str]] = []
        self.nested: list[bool] = []
        self.leaves: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            if self.nested:
                self.nested[-1] = True
            self.open.append([])
            self.nested.append(False)
        cell = dict(attrs).get("id") or ""
        if cell.startswith("cell-id=") and self.open:
            self.open[-1].append(cell.removeprefix("cell-id="))

    def handle_endtag(self, tag):
        if tag == "section":
            ids, nested = self.open.pop(), self.nested.pop()
            if not nested:
                self.leaves.append(ids)


def test_nbconvert_makes_the_same_slides():
    nbconvert, nbformat = pytest.importorskip("nbconvert"), pytest.importorskip("nbformat")
    path = NOTEBOOKS[0]
    html, _ = nbconvert.SlidesExporter().from_notebook_node(nbformat.read(path, as_version=4))
    parser = _Sections()
    parser.feed(html)
    cells = lesson_cells(path)
    assert parser.leaves == [[cells[i]["id"] for i in deck] for deck in slides(cells)]


# -- the rules on made-up cells ---------------------------------------------------------------------------------------
def test_a_heading_after_a_tall_cell_starts_a_slide():
    cells = [md("## A"), code(25), md("## B"), md("### C"), md("text")]
    assert slide_types(cells) == ["slide", "-", "slide", "subslide", "-"]


def test_the_cell_that_would_overflow_the_screen_starts_a_sub_slide():
    title = md("## A")
    room = MAX_SLIDE_LINES - estimate_height(title)
    fits = [title, code(room - 1)]  # a code cell of n lines is n + 1 rows
    assert slide_types(fits) == ["slide", "-"] and sum(map(estimate_height, fits)) == MAX_SLIDE_LINES
    assert slide_types([title, code(room)]) == ["slide", "subslide"]
    assert slide_types([title, code(room - 2), code(1)]) == ["slide", "-", "subslide"]
    assert slides([title, code(room - 2), code(1)]) == [[0, 1], [2]]


def test_a_solution_is_skipped_and_takes_no_room():
    title = md("## A")
    room = MAX_SLIDE_LINES - estimate_height(title)
    cells = [title, code(room - 3), code(40, solution=True), code(1)]
    assert slide_types(cells) == ["slide", "-", "skip", "-"]
    assert slides(cells) == [[0, 1, 3]]


def test_an_exercise_asks_on_a_slide_of_its_own():
    cells = [md("## A"), md("### Exercise 1: try"), code(3), code(3, solution=True), md("more"), code(2)]
    assert slide_types(cells) == ["slide", "slide", "-", "skip", "slide", "-"]
    assert slides(cells) == [[0], [1, 2], [4, 5]]
    question = [md("## A"), md("### Predict before you run"), code(2), code(3, solution=True), md("more")]
    assert slide_types(question) == ["slide", "subslide", "-", "skip", "-"]


def test_a_lesson_opens_with_a_slide_whatever_its_first_cell():
    assert slide_types([code(2), md("text")]) == ["slide", "-"]
    assert slide_types([code(2, solution=True), md("text")]) == ["skip", "slide"]


CELLS = st.one_of(
    st.builds(lambda n, level: md("#" * level + " T\n" + "words " * n), st.integers(0, 400), st.integers(1, 4)),
    st.builds(lambda n: md("### Exercise 1: x\n" + "words " * n), st.integers(0, 100)),
    st.builds(lambda n: md("words " * n), st.integers(1, 900)),
    st.builds(code, st.integers(1, 50), st.booleans(), st.integers(1, 300)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, max_size=25))
def test_the_rules_hold_on_any_cells(cells):
    types = slide_types(cells)
    assert len(types) == len(cells) and set(types) <= set(sl.SLIDE_TYPES)
    shown = [i for i, cell in enumerate(cells) if not sl.is_solution(cell)]
    assert [i for i, kind in enumerate(types) if kind == "skip"] == [i for i in range(len(cells)) if i not in shown]
    assert not shown or types[shown[0]] == "slide"
    for cell, kind in zip(cells, types):
        if sl.is_exercise(cell) or sl.heading_level(cell) in (1, 2):
            assert kind == "slide"
        elif sl.heading_level(cell) == 3:
            assert kind in ("slide", "subslide")
    deck = slides(cells)
    assert [i for section in deck for i in section] == shown
    for before, section in zip([None, *deck], deck):
        height = sum(estimate_height(cells[i]) for i in section)
        assert height <= MAX_SLIDE_LINES or len(section) == 1
        first = cells[section[0]]
        if before and types[section[0]] == "subslide" and not sl.heading_level(first):  # started for want of room
            assert sum(estimate_height(cells[i]) for i in before) + estimate_height(first) > MAX_SLIDE_LINES


# -- the height estimate ----------------------------------------------------------------------------------------------
def test_code_rows_are_lines_wrapped_plus_the_cell_border():
    cell = {"cell_type": "code", "source": "a = 1\nb = '" + "b" * 244 + "'\n"}
    assert estimate_height(cell) == sl.CODE_CELL_ROWS + 1 + 3 + 1  # 250 characters wrap onto 3 rows of 110


def test_a_figure_counts_its_stated_size_shrunk_to_the_output_width():
    small = "fig, ax = plt.subplots(figsize=(6, 3))\nplt.show()"
    assert sl.output_rows(small) == math.ceil(3 * 100 / 18.2)
    wide = "fig, ax = plt.subplots(figsize=(24, 6))\nplt.show()"
    assert sl.output_rows(wide) == math.ceil(600 * 1196 / 2400 / 18.2)
    assert sl.output_rows("plots.scatter_2d(x, None)\nplt.show()") == sl.FIGURE_ROWS
    assert sl.output_rows("print(plots.coverage_title(c))") == sl.TEXT_ROWS  # text, not a figure


def test_the_output_allowances_follow_the_code():
    assert sl.output_rows("lab = gl.lab.GANLab(cfg)\nlab") == sl.LAB_ROWS
    assert sl.output_rows("lab = gl.lab.GANLab(cfg)") == 0
    assert sl.output_rows("lab.snapshot()") == sl.SNAPSHOT_ROWS
    assert sl.output_rows("for k in range(3):\n    print(k)\nprint('done')") == sl.LOOP_TEXT_ROWS + sl.TEXT_ROWS
    assert sl.output_rows("trainer.run(100)\nresult") == sl.TEXT_ROWS + sl.DISPLAY_ROWS
    assert sl.output_rows("%timeit f()\nx = 1") == 0  # a magic is read past


def test_markdown_rows_reflow_paragraphs_and_count_the_rest():
    one_line = sl.markdown_rows("word")
    assert one_line == sl.MARKDOWN_CELL_ROWS + 1
    paragraph = "\n".join(["w" * 99] * 3)  # 300 characters: two rows of 150
    assert sl.markdown_rows(paragraph) == sl.MARKDOWN_CELL_ROWS + 2
    assert sl.markdown_rows("## Title") == sl.MARKDOWN_CELL_ROWS + sl.HEADING_ROWS[2]
    assert sl.markdown_rows("$$\na\n$$") == math.ceil(sl.MARKDOWN_CELL_ROWS + 3 * sl.MATH_ROWS)


# -- splitting a tall markdown cell -----------------------------------------------------------------------------------
def test_split_keeps_formulas_lists_tables_and_fences_whole():
    math_block = "$$a = b\n\n= c$$"
    items = "- one\n\n- two\n\n  more of two"
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    fence = "```\nx = 1\n\ny = 2\n```"
    announced = "What is right:\n\n- this"
    text = "\n\n".join(["## Title", math_block, items, table, fence, announced, "The end."])
    parts = split_markdown(text, limit=1)  # any cut it may make, it makes
    assert parts == ["## Title\n\n" + math_block, items, table, fence, announced, "The end."]
    assert split_markdown(text) == [text]


def test_split_starts_a_part_at_every_heading():
    assert split_markdown("Some text.\n\n## Next\n\nMore.\n### Sub") == ["Some text.", "## Next\n\nMore.", "### Sub"]


PARAGRAPHS = st.builds(lambda n: " ".join(["word"] * n), st.integers(1, 120))
BLOCKS = st.one_of(PARAGRAPHS, st.builds(lambda n: "$$x" + "\n\nx" * n + "$$", st.integers(1, 4)),
                   st.builds(lambda n: "\n\n".join(f"- item {k}" for k in range(n)), st.integers(1, 6)),
                   st.builds(lambda p: "## Heading\n\n" + p, PARAGRAPHS))


@settings(max_examples=200, deadline=None)
@given(st.lists(BLOCKS, min_size=1, max_size=12), st.integers(5, 40))
def test_split_gives_the_text_back_in_parts_that_fit(blocks, limit):
    text = "\n\n".join(blocks)
    parts = split_markdown(text, limit)
    assert "\n\n".join(parts) == text
    for block in blocks:
        assert any(block in part for part in parts)  # never cut inside a block
    for part in parts:
        assert sl.markdown_rows(part) <= limit or len(sl.markdown_blocks(part)) == 1  # too tall, but it cannot be cut
        assert all(not HEADING_LINE.match(line) for line in part.split("\n")[1:])


def test_tall_markdown_in_the_lessons_was_split():
    for path in NOTEBOOKS:
        for cell in lesson_cells(path):
            if cell["cell_type"] == "markdown":
                assert len(split_markdown("".join(cell["source"]))) == 1, (path.name, cell["id"])


def test_writing_the_types_again_changes_nothing(tmp_path):
    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    assert sl.write_slide_types(copy) == 0 and copy.read_bytes() == NOTEBOOKS[0].read_bytes()
