"""Every lesson asks at least one predict-then-run or "why" question with a checked answer, and every exercise
check refuses both a wrong answer and a call to the library's own version of the exercise."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import gan_lessons as gl
from gan_lessons.checks import QUESTIONS, answer

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ASKED = re.compile(r"""checks\.answer\(\s*["'](\d\d\.[\w-]+)["']""")


def _asked(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return [m for c in cells if c["cell_type"] == "code" for m in ASKED.findall("".join(c["source"]))]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_asks_a_question_it_checks(notebook):
    asked = _asked(notebook)
    assert asked, f"{notebook.name} asks no predict-then-run or why question (gl.checks.answer)"
    for question in asked:
        assert question in QUESTIONS, f"{notebook.name} asks {question!r}, which gan_lessons.checks does not know"
        assert question.startswith(notebook.name[:2] + "."), f"{question!r} is asked in {notebook.name}"


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_only_the_right_answer_passes(question):
    q = QUESTIONS[question]
    assert not answer(question, None).ok
    assert answer(question, q.answer).ok
    if q.choices:
        assert q.answer in q.choices
        for letter in q.choices:
            if letter != q.answer:
                verdict = answer(question, letter)
                assert not verdict.ok and verdict.message, (question, letter)
        assert not answer(question, "z").ok
    else:
        assert not answer(question, float(q.answer) + 10 * q.tolerance + 1).ok
        assert not answer(question, "a lot").ok


def test_every_question_is_asked_somewhere():
    asked = {q for notebook in NOTEBOOKS for q in _asked(notebook)}
    assert set(QUESTIONS) <= asked, f"questions no lesson asks: {sorted(set(QUESTIONS) - asked)}"


def test_a_library_shortcut_is_refused_by_name():
    from gan_lessons import theory
    from gan_lessons.theory import jsd as imported_jsd  # a student's import binds the function before the check

    x = theory.grid(-3, 3, 101)
    p, q = theory.values(lambda t: (-t ** 2).exp(), x), theory.values(lambda t: (-(t - 1) ** 2).exp(), x)
    _, verdict = gl.checks.call_own(lambda p, q, x: imported_jsd(p, q, x), (theory.jsd,), p, q, x)
    assert verdict is not None and not verdict.ok and "gan_lessons.theory.jsd" in verdict.message
    assert theory.jsd(p, q, x) > 0  # restored after the check


def test_a_forbidden_function_still_works_for_other_threads():
    """A check run while the live lab trains: only the checking thread is refused the library's function."""
    import threading

    from gan_lessons import losses
    from gan_lessons.checks.verdict import LibraryShortcut, forbidding

    logits = torch.linspace(-3, 3, 7)
    results = []
    with forbidding(losses.g_loss_nonsaturating):
        with pytest.raises(LibraryShortcut):
            losses.g_loss_nonsaturating(logits)
        worker = threading.Thread(target=lambda: results.append(losses.g_loss_nonsaturating(logits)))
        worker.start()
        worker.join()
    assert results and torch.equal(results[0], losses.g_loss_nonsaturating(logits))


def test_forbidding_a_function_twice_or_nested_restores_it():
    from gan_lessons import losses
    from gan_lessons.checks.verdict import LibraryShortcut, forbidding

    logits = torch.linspace(-3, 3, 7)
    expected = losses.g_loss_nonsaturating(logits)
    with forbidding(losses.g_loss_nonsaturating, losses.g_loss_nonsaturating):
        with forbidding(losses.g_loss_nonsaturating):
            pass
        with pytest.raises(LibraryShortcut):  # still forbidden after the inner block
            losses.g_loss_nonsaturating(logits)
    assert torch.equal(losses.g_loss_nonsaturating(logits), expected)
