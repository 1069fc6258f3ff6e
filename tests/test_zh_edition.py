"""The Chinese edition (notebooks/zh/) stays in step with the English lessons: same cells, same programs, every
markdown cell translated, and each pair recorded, so that a change made to one edition only fails here."""
import copy
import json

import pytest

from gan_lessons import twins

PAIRS = [(en, zh) for en, zh in twins.pairs() if zh.exists()]


@pytest.mark.parametrize("english,chinese", PAIRS, ids=[zh.name for _, zh in PAIRS])
def test_the_chinese_lesson_is_the_twin_of_the_english_one(english, chinese):
    found = twins.problems(twins.read(english), twins.read(chinese))
    assert not found, f"{chinese.relative_to(twins.ROOT)}:\n" + "\n".join(found)


@pytest.mark.parametrize("english,chinese", PAIRS, ids=[zh.name for _, zh in PAIRS])
def test_the_chinese_lesson_speaks_chinese_from_its_first_cell_and_links_its_twin(english, chinese):
    cells = twins.read(chinese)["cells"]
    first_code = next(twins.source(c) for c in cells if c["cell_type"] == "code")
    assert 'gl.set_language("zh")' in first_code
    assert f"](../{english.name})" in twins.source(cells[0])
    assert f"](zh/{english.name})" in twins.source(twins.read(english)["cells"][0])


@pytest.mark.parametrize("english,chinese", PAIRS, ids=[zh.name for _, zh in PAIRS])
def test_stored_without_outputs(english, chinese):
    cells = twins.read(chinese)["cells"]
    assert not [c.get("id") for c in cells if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]


# -- the checker can fail ----------------------------------------------------------------------------------------
def lesson_pair():
    """A small English lesson and a faithful twin of it, recorded."""
    english = {"cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Title\n", "The generator learns a ring."]},
        {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["n = 3  # steps\n", 'print(f"after {n} steps the loss is {n / 2:.2f}")\n',
                    'cfg = dict(target="ring8")']}]}
    chinese = copy.deepcopy(english)
    chinese["cells"][0]["source"] = ["# 标题\n", "生成器学习一个圆环。"]
    chinese["cells"][1]["source"] = ["n = 3  # 步数\n", 'print(f"{n} 步之后损失为 {n / 2:.2f}")\n',
                                     'cfg = dict(target="ring8")']
    for e, z in zip(english["cells"], chinese["cells"]):
        z["metadata"]["twin"] = {"en": twins.digest(twins.source(e)), "zh": twins.digest(twins.source(z))}
    return english, chinese


def test_a_faithful_twin_passes():
    assert twins.problems(*lesson_pair()) == []


def test_a_code_change_in_one_edition_only_fails():
    english, chinese = lesson_pair()
    chinese["cells"][1]["source"][0] = "n = 4  # 步数\n"
    assert any("code differs" in p for p in twins.problems(english, chinese, recorded=False))
    english, chinese = lesson_pair()
    chinese["cells"][1]["source"][1] = 'print(f"{n} 步之后损失为 {n:.2f}")\n'  # an expression of the f-string changed
    assert any("code differs" in p for p in twins.problems(english, chinese, recorded=False))


def test_a_markdown_change_in_one_edition_only_fails():
    english, chinese = lesson_pair()
    english["cells"][0]["source"][1] = "The generator learns a grid."
    assert any("English cell changed" in p for p in twins.problems(english, chinese))
    english, chinese = lesson_pair()
    chinese["cells"][0]["source"][1] = "生成器学习一个网格。"
    assert any("Chinese cell changed" in p for p in twins.problems(english, chinese))


def test_an_untranslated_sentence_a_missing_cell_or_other_slides_fail():
    english, chinese = lesson_pair()
    chinese["cells"][0]["source"][1] = "生成器 learns to draw points on a ring。"
    assert any("English left" in p for p in twins.problems(english, chinese, recorded=False))
    chinese["cells"][0]["source"] = english["cells"][0]["source"]
    assert any("not translated" in p for p in twins.problems(english, chinese, recorded=False))
    english, chinese = lesson_pair()
    del chinese["cells"][1]
    assert any("cells differ" in p for p in twins.problems(english, chinese))
    english, chinese = lesson_pair()
    chinese["cells"][0]["metadata"]["slideshow"] = {"slide_type": "slide"}
    assert any("slideshow" in p for p in twins.problems(english, chinese, recorded=False))


def test_translated_comments_strings_and_kept_english_titles_pass():
    english, chinese = lesson_pair()
    chinese["cells"][0]["source"][1] = '生成器学习一个圆环，见 <span lang="en">Generative Adversarial Nets, 2014</span>。'
    assert twins.problems(english, chinese, recorded=False) == []


def test_accept_records_the_pairs_only_when_the_twin_is_sound(tmp_path, monkeypatch):
    english, chinese = lesson_pair()
    for cell in chinese["cells"]:
        del cell["metadata"]["twin"]
    monkeypatch.setattr(twins, "ENGLISH", tmp_path)
    (tmp_path / "01_x.ipynb").write_text(json.dumps(english))
    (tmp_path / "zh").mkdir()
    target = tmp_path / "zh" / "01_x.ipynb"
    target.write_text(json.dumps(chinese))
    assert twins.accept(target) == []
    assert twins.problems(english, twins.read(target)) == []
    broken = copy.deepcopy(chinese)
    broken["cells"][1]["source"][0] = "n = 5\n"
    target.write_text(json.dumps(broken))
    assert twins.accept(target) and "twin" not in twins.read(target)["cells"][0]["metadata"]  # nothing recorded
