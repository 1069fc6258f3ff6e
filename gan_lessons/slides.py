"""A lesson as a talk: which cell starts a slide, how tall a slide is, and the metadata that RISE reads.

RISE (jupyterlab-rise) plays a notebook as reveal.js slides whose cells still run, and `jupyter nbconvert --to
slides` writes the same deck as a file; both read `metadata.slideshow.slide_type` of each cell. The types follow from
the cells alone:

- a markdown cell that opens with a `#` or `##` heading starts a slide, `###` a sub-slide (a long derivation goes on
  downwards, one step per sub-slide);
- an exercise (a markdown cell that opens with "### Exercise") starts a slide of its own, which asks the class; the
  first cell after its solution starts the next slide;
- a cell tagged `solution` is skipped: the class tries first;
- any other cell continues the slide, unless it would make the slide taller than MAX_SLIDE_LINES: then it starts a
  sub-slide.

`python -m gan_lessons.slides notebooks/*.ipynb` writes these types into the notebooks, and tests/test_slides.py
checks that every cell carries the type that `slide_types` computes, so the metadata and the rules cannot drift apart.
A markdown cell taller than a slide, or with a heading below its first line, is cut into the cells that
`split_markdown` gives (each new cell with an id of its own).
"""
from __future__ import annotations

import ast
import json
import math
import re
import sys
from pathlib import Path

# Heights are in rows. In jupyterlab-rise 0.43 at its default zoom, in a 1280x720 window, a row of code or of markdown
# text is 18.2 px (13 px code, 14 px text), a row of plain text holds about 170 characters, the slide is the whole
# window and the output area is 1196 px wide (read in Chromium from the bounding boxes of `.cm-line`, `p` and
# `.jp-CodeCell`). Against the rendered height of the lessons' cells (solutions aside), the estimate below of a cell's
# source is at most 4 rows short for the 258 markdown cells (the median is 0.8 rows over; 181 are within one row)
# and at most 0.3 rows short for the 280 code cells.
ROW_PX = 18.2
OUTPUT_WIDTH_PX = 1196
# 720 px hold 39 rows. The deck is centred and does not scroll, so a taller slide loses its top and bottom. The limit
# keeps 4 rows, the most the estimate fell short on a cell, for a slide's error.
MAX_SLIDE_LINES = 35

WRAP_CHARS = 110  # a line of code longer than this counts as two rows (a code row holds about 150 characters)
CODE_CELL_ROWS = 1  # a code cell's border and padding: 20 px
MARKDOWN_CELL_ROWS = 2  # a markdown cell's padding: a cell of one line of text is 56 px tall
MARKDOWN_ROW_CHARS = 150  # characters of a paragraph per row: fewer than 170, for inline math and code, which are wider
BLANK_ROWS = 0.5  # the margin between two paragraphs (fitted, as are MATH_ROWS and HEADING_ROWS, to the heights)
MATH_ROWS = 1.5  # a line of a displayed ($$) formula: fractions and sums are taller than text
TABLE_ROWS = 1.1  # a table row is 20 px
LIST_ITEM_ROWS = 0.4  # added per list item: RISE sets a list's line height to 160% (22.4 px)
HEADING_ROWS = {1: 4, 2: 3, 3: 2}  # an h1 is 115 px with its margins, an h2 73, an h3 59, less the margin they share
FIGURE_DPI = 100  # matplotlib's default, which the inline backend keeps
FIGURE_ROWS = 25  # a figure whose size the cell does not state: the plots functions draw 4.5 x 4.5 in
SNAPSHOT_ROWS = 14  # lab.snapshot(): five 3.4 in panes in a row at 80 dpi, shrunk to the output width: 240 px
LAB_ROWS = 50  # the live lab: buttons, status line and replay slider over three rows of 256 px panes, about 900 px
TEXT_ROWS = 1  # a print() or a trainer's progress bar (.run()) writes one line
LOOP_TEXT_ROWS = 5  # a print() inside a loop writes a table: the lessons' tables have 3 to 8 rows
DISPLAY_ROWS = 2  # a bare expression at the end of a cell: a check's verdict, an answer's reply

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
STARTS = ("slide", "subslide")  # the types that open a new section of the deck
HEADING = re.compile(r"^(#{1,6})\s")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
FIGSIZE = re.compile(r"figsize=\(\s*([\d.]+)\s*,\s*([\d.]+)\s*\)")
DRAWS = re.compile(r"plt\.(?:subplots|figure)\(|plots\.(?!coverage_title)\w+\(|interact\(")


# -- what a cell is ---------------------------------------------------------------------------------------------------
def source(cell: dict) -> str:
    """The cell's text (a notebook stores it as one string or as a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def heading_level(cell: dict) -> int:
    """1 for a markdown cell whose first line is `# ...`, 2 for `## ...`, and so on; 0 if it opens otherwise."""
    match = HEADING.match(source(cell)) if cell.get("cell_type") == "markdown" else None
    return len(match.group(1)) if match else 0


def is_exercise(cell: dict) -> bool:
    """A markdown cell that states an exercise ("### Exercise ...")."""
    return cell.get("cell_type") == "markdown" and source(cell).startswith("### Exercise")


def is_solution(cell: dict) -> bool:
    """A cell tagged "solution" (hidden, and skipped in the slides)."""
    return "solution" in cell.get("metadata", {}).get("tags", [])


# -- how tall a cell is -----------------------------------------------------------------------------------------------
def markdown_lines(text: str) -> list[tuple[str, str]]:
    """Each line of markdown with its kind: "fence" (in or around a fenced code block), "math" (in or around a $$
    block), "blank", "heading", "table", "item" (a list item's first line) or "text"."""
    kinds, fenced, in_math = [], False, False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```") or fenced:
            kind, fenced = "fence", fenced != stripped.startswith("```")
        elif stripped.startswith("$$") or in_math:
            kind, in_math = "math", in_math != (stripped.count("$$") % 2 == 1)
        elif not stripped:
            kind = "blank"
        elif HEADING.match(line):
            kind = "heading"
        else:
            kind = "table" if stripped.startswith("|") else "item" if LIST_ITEM.match(line) else "text"
        kinds.append((kind, line))
    return kinds


def markdown_rows(text: str) -> int:
    """Rows of rendered markdown: paragraphs and list items reflow at MARKDOWN_ROW_CHARS; other lines are rows."""
    rows, paragraph = float(MARKDOWN_CELL_ROWS), 0  # paragraph: characters of the paragraph or item being read
    fixed = {"fence": 1, "math": MATH_ROWS, "blank": BLANK_ROWS, "table": TABLE_ROWS}
    for kind, line in markdown_lines(text):
        if kind != "text":  # a lazy or indented line of text continues the paragraph; anything else ends it
            rows, paragraph = rows + math.ceil(paragraph / MARKDOWN_ROW_CHARS), 0
        if kind in ("text", "item"):
            paragraph += len(line.strip()) + 1
            rows += LIST_ITEM_ROWS if kind == "item" else 0
        else:
            rows += HEADING_ROWS.get(len(HEADING.match(line).group(1)), 1) if kind == "heading" else fixed[kind]
    return math.ceil(rows + math.ceil(paragraph / MARKDOWN_ROW_CHARS))


def text_rows(text: str) -> int:
    """Rows of code: each line, wrapped at WRAP_CHARS (an empty line is a row too)."""
    return sum(max(1, math.ceil(len(line) / WRAP_CHARS)) for line in text.split("\n"))


def figure_rows(width_in: float, height_in: float) -> int:
    """Rows of a figure of this size in inches, shrunk to the output width if it is wider."""
    width_px, height_px = width_in * FIGURE_DPI, height_in * FIGURE_DPI
    return math.ceil(height_px * min(1.0, OUTPUT_WIDTH_PX / width_px) / ROW_PX)


def _is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func).endswith(name)


def text_output_rows(tree: ast.Module) -> int:
    """TEXT_ROWS per print() or .run() call, LOOP_TEXT_ROWS for a print() in a loop's body."""
    in_loops = {id(node) for loop in ast.walk(tree) if isinstance(loop, (ast.For, ast.While))
                for statement in loop.body for node in ast.walk(statement)}
    rows = 0
    for node in ast.walk(tree):
        if _is_call_to(node, "print"):
            rows += LOOP_TEXT_ROWS if id(node) in in_loops else TEXT_ROWS
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            rows += TEXT_ROWS
    return rows


def display_rows(tree: ast.Module) -> int:
    """Rows of what the cell's last statement shows: a lab, a lab's snapshot, another value, or nothing."""
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or _is_call_to(last.value, "print") or _is_call_to(last.value, "show"):
        return 0
    labs = {ast.unparse(target) for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and _is_call_to(node.value, "GANLab") for target in node.targets}
    if _is_call_to(last.value, "GANLab") or ast.unparse(last.value) in labs:
        return LAB_ROWS
    return SNAPSHOT_ROWS if _is_call_to(last.value, ".snapshot") else DISPLAY_ROWS


def output_rows(code: str) -> int:
    """Rows the cell's output will take, read from its code: figures, the lab, printed text, a displayed value.

    A figure is counted per plt.show(), or once for a cell that draws (plt.subplots, a plots function, interact)
    without it; its height comes from the cell's k-th `figsize=(w, h)` when it states one.
    """
    try:
        tree = ast.parse("\n".join(line for line in code.split("\n") if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return 0
    sizes = [(float(w), float(h)) for w, h in FIGSIZE.findall(code)]
    figures = code.count("plt.show()") or int(bool(DRAWS.search(code)))
    rows = sum(figure_rows(*sizes[k]) if k < len(sizes) else FIGURE_ROWS for k in range(figures))
    return rows + display_rows(tree) + text_output_rows(tree)


def estimate_height(cell: dict) -> int:
    """Rows the cell takes on a 1280x720 slide: its source and, for a code cell, the output its code makes."""
    text = source(cell)
    if cell.get("cell_type") == "code":
        return CODE_CELL_ROWS + text_rows(text) + output_rows(text)
    return markdown_rows(text)


# -- the slides -------------------------------------------------------------------------------------------------------
def slide_types(cells: list[dict]) -> list[str]:
    """The slideshow type of each cell, by the rules in this module's docstring."""
    types: list[str] = []
    height = None  # rows of the slide so far; None before the first slide
    exercise = resume = False  # inside an exercise; its solution has just been skipped
    for cell in cells:
        if is_solution(cell):
            types.append("skip")
            exercise, resume = False, resume or exercise
            continue
        rows, level = estimate_height(cell), heading_level(cell)
        if height is None or is_exercise(cell) or level in (1, 2) or resume:
            kind = "slide"
        elif level == 3 or height + rows > MAX_SLIDE_LINES:
            kind = "subslide"
        else:
            kind = "-"
        exercise, resume = is_exercise(cell) or (exercise and not level), False
        height = rows if kind in STARTS else height + rows
        types.append(kind)
    return types


def slides(cells: list[dict]) -> list[list[int]]:
    """The indices of the cells on each slide and sub-slide, in the order shown; skipped cells are left out."""
    deck: list[list[int]] = []
    for i, kind in enumerate(slide_types(cells)):
        if kind in STARTS:
            deck.append([i])
        elif kind != "skip":
            deck[-1].append(i)
    return deck


def markdown_blocks(text: str) -> list[str]:
    """`text` cut at the blank lines (and before the headings) where a cell may be split: not inside a fenced code
    block, a $$ block or a table, not inside a list (between two items, or an item and its indented lines), and not
    after a heading or a line that ends with a colon (they announce what follows)."""
    blocks, current, last = [], [], ""  # last: the last line that is not blank
    in_list = after_blank = False
    for kind, line in markdown_lines(text):
        if kind == "blank":
            after_blank = after_blank or bool(current)
            current.append(line)
            continue
        announced = last.rstrip().endswith(":") or HEADING.match(last)
        continues = in_list and (kind == "item" or line[:1].isspace()) or announced
        if current and (kind == "heading" or after_blank and not continues):
            blocks.append("\n".join(current).strip("\n"))
            current = []
        in_list = kind == "item" or in_list and (not after_blank or line[:1].isspace())
        after_blank, last = False, line
        current.append(line)
    return [*blocks, "\n".join(current).strip("\n")]


def split_markdown(text: str, limit: int = MAX_SLIDE_LINES) -> list[str]:
    """`text` as parts that each fit `limit` rows, cut where `markdown_blocks` may, and before every heading.

    A block taller than `limit` on its own stays whole. Joined with blank lines, the parts give `text` back (a run
    of blank lines at a cut becomes one).
    """
    blocks = markdown_blocks(text)
    parts = [blocks[0]]
    for block in blocks[1:]:
        joined = parts[-1] + "\n\n" + block
        if HEADING.match(block) or markdown_rows(joined) > limit:
            parts.append(block)
        else:
            parts[-1] = joined
    return parts


# -- the notebooks ----------------------------------------------------------------------------------------------------
def write_slide_types(path: Path) -> int:
    """Set `metadata.slideshow.slide_type` of every cell of the notebook at `path`; returns how many changed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    changed = 0
    for cell, kind in zip(notebook["cells"], slide_types(notebook["cells"])):
        if cell.setdefault("metadata", {}).get("slideshow", {}).get("slide_type") != kind:
            cell["metadata"].setdefault("slideshow", {})["slide_type"] = kind
            changed += 1
    if changed:
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        changed = write_slide_types(path)
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        types, deck = slide_types(cells), slides(cells)
        tall = [[cells[i].get("id", i) for i in section] for section in deck
                if sum(estimate_height(cells[i]) for i in section) > MAX_SLIDE_LINES]
        print(f"{path.name}: {types.count('slide')} slides, {types.count('subslide')} sub-slides, {changed} cells "
              f"changed; taller than {MAX_SLIDE_LINES} rows: {tall or 'none'}")
