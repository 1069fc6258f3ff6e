"""The teacher's guide (docs/teaching.md) stays true to the lessons and to the measured costs.

For every lesson, its 45- and 90-minute plans add up to 45 and 90 minutes; every slide a plan names (in quotes) is
a slide or sub-slide of that lesson; the questions, presets and cells it names exist; the cells a segment runs take,
by the full-mode timings of `python -m benchmarks.lesson_costs` (benchmarks/lesson_costs.json), no longer than the
segment's minutes; and the guide's cost table is that file's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.lesson_costs import guide_table
from gan_lessons import slides as sl
from gan_lessons.lab_presets import PRESETS

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "teaching.md").read_text(encoding="utf-8")
COSTS = json.loads((REPO / "benchmarks" / "lesson_costs.json").read_text())
NOTEBOOKS = {p.name[:2]: p for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
QUOTED = re.compile(r'"([^"]+)"')
QUESTION = re.compile(r"`(\d\d\.[a-z0-9_]+)`")
PRESET = re.compile(r"\*\*([a-zA-Z0-9 -]+)\*\*")
SKIP_FIRST = "skip its first cell"  # a segment that says so leaves its first slide's first code cell for homework


def lesson_sections() -> dict[str, str]:
    parts = re.split(r"^## Lesson (\d\d) · ", GUIDE, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def plan(section: str, minutes: int) -> list[tuple[int, str, str]]:
    """(minutes, slides, what you do) of each row of the lesson's plan for `minutes`."""
    match = re.search(rf"^### {minutes} minutes\n\n(.*?)(?:\n\n|\Z)", section, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no plan for {minutes} minutes"
    rows = []
    for line in match.group(1).splitlines()[2:]:  # past the header and the rule
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((int(cells[0]), cells[1], cells[2]))
    return rows


def heading_text(cell: dict) -> str:
    """A slide's name as the guide writes it: its heading without the #s and markup, else its first words."""
    text = sl.source(cell).strip().split("\n")[0]
    return re.sub(r"[*`$]", "", re.sub(r"^#+\s*", "", text)).strip()


def sections_of(cells: list[dict]) -> list[tuple[str, list[int]]]:
    """(name, cell indices) of each part of the lesson that starts with a heading (or a slide without one) and runs
    to the next such start: a slide, or a sub-slide with its own heading, with the sub-slides that continue it."""
    parts: list[tuple[str, list[int]]] = []
    for i, cell in enumerate(cells):
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if kind == "slide" or (kind == "subslide" and sl.heading_level(cell)):
            parts.append((heading_text(cell), [i]))
        elif parts:
            parts[-1][1].append(i)
    return parts


def named(parts, name: str) -> tuple[str, list[int]]:
    """The part called `name`: its whole name, the name up to its colon, or, ending in "…", the first words."""
    name = re.sub(r"[*`$]", "", name)
    prefix = name.rstrip("…").strip()
    found = [part for part in parts if part[0] in (name, prefix) or part[0].startswith(prefix + ":")
             or (name.endswith("…") and part[0].startswith(prefix))]
    assert found, f"no slide is called {name!r}; the slides are {[p[0] for p in parts]}"
    return found[0]


def full_cell_seconds(lesson: str) -> dict[str, float]:
    key = f"{NOTEBOOKS[lesson].stem}/full"
    assert key in COSTS and COSTS[key].get("cells"), \
        f"no full-mode cell timings for lesson {lesson}: run `python -m benchmarks.lesson_costs {lesson}`"
    return COSTS[key]["cells"]


SECTIONS = lesson_sections()


def test_every_lesson_has_its_section():
    assert sorted(SECTIONS) == sorted(NOTEBOOKS), "docs/teaching.md has no section for some lessons, or too many"


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
@pytest.mark.parametrize("minutes", [45, 90])
def test_a_plan_adds_up_and_names_only_what_the_lesson_has(lesson, minutes):
    section, cells = SECTIONS[lesson], json.loads(NOTEBOOKS[lesson].read_text(encoding="utf-8"))["cells"]
    rows = plan(section, minutes)
    assert sum(row[0] for row in rows) == minutes, f"lesson {lesson}'s {minutes}-minute plan adds up to {rows}"
    parts = sections_of(cells)
    for _, slides, _ in rows:
        for name in QUOTED.findall(slides):
            named(parts, name)
    text = "".join(sl.source(cell) for cell in cells)
    for question in QUESTION.findall(section):
        assert f'"{question}"' in text, f"lesson {lesson} asks no question {question!r}"


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
def test_the_presets_named_exist(lesson):
    for line in SECTIONS[lesson].splitlines():
        if "preset" in line:
            for name in PRESET.findall(line):  # on such a line, a name in bold is a preset's
                assert name in PRESETS, f"lesson {lesson}: no preset {name!r}; the presets are {list(PRESETS)}"


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
@pytest.mark.parametrize("minutes", [45, 90])
def test_the_cells_of_each_segment_run_within_its_minutes(lesson, minutes):
    cells = json.loads(NOTEBOOKS[lesson].read_text(encoding="utf-8"))["cells"]
    parts, seconds = sections_of(cells), full_cell_seconds(lesson)
    done: set[int] = set()  # a slide named again later in the plan ("as in ...") runs its cells once
    for budget, slides, what in plan(SECTIONS[lesson], minutes):
        indices = []
        for k, name in enumerate(QUOTED.findall(slides)):
            part = named(parts, name)[1]
            code = [i for i in part if cells[i]["cell_type"] == "code" and not sl.is_solution(cells[i])]
            if k == 0 and SKIP_FIRST in what and code:
                code = code[1:]
            indices += [i for i in code if i not in done]
        done.update(indices)
        used = sum(seconds.get(cells[i]["id"], 0.0) for i in indices)
        assert used <= 60 * budget, (f"lesson {lesson}, {minutes}-minute plan: the cells of {slides} run "
                                     f"{used / 60:.1f} min in full mode, more than the {budget} min the plan gives")


def test_the_cost_table_is_the_measured_one():
    assert guide_table(COSTS) in GUIDE, \
        "docs/teaching.md's cost table is not benchmarks/lesson_costs.json's: `python -m benchmarks.lesson_costs --guide`"
    assert guide_table(COSTS).count("\n| ") == len(NOTEBOOKS)
