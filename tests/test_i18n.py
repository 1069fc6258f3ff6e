"""The library speaks English or Chinese (`gl.set_language`): every message it can say has a Chinese translation with
the same fields, Chinese renders in figures, and the Chinese lessons use the glossary's terms."""
import ast
import json
import re
import string
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from fontTools.ttLib import TTFont  # noqa: E402

from gan_lessons import i18n, twins  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gan_lessons"


@pytest.fixture
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language("en")


def templates() -> dict[str, str]:
    """Every literal template passed to tr(...) in the package, and every text of the lessons' questions (said
    through tr when asked or answered), with where it is."""
    from gan_lessons.checks import QUESTIONS

    found = {}
    for name, question in QUESTIONS.items():
        for text in (question.text, question.why, *question.choices.values(), *question.hints.values()):
            found[text] = f"question {name}"
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "tr"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found[node.args[0].value] = path.relative_to(ROOT).as_posix()
    return found


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_english_is_the_default_and_a_wrong_language_is_refused_by_name():
    assert i18n.get_language() == "en"
    assert i18n.tr("{n} modes", n=3) == "3 modes"
    with pytest.raises(ValueError, match=r"language='fr' is not known; allowed values: en, zh"):
        i18n.set_language("fr")
    assert i18n.get_language() == "en"


def test_the_environment_variable_chooses_the_language_and_a_bad_value_says_so():
    code = "import gan_lessons.i18n as i; print(i.get_language())"
    run = lambda value: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       env={"GAN_LESSONS_LANG": value, "PATH": ""}, cwd=ROOT)
    assert run("zh").stdout.strip() == "zh"
    bad = run("klingon")
    assert bad.stdout.strip() == "en" and "GAN_LESSONS_LANG='klingon' is not known; allowed values: en, zh" in bad.stderr


def test_every_message_of_the_library_has_a_chinese_translation_with_the_same_fields():
    said, zh = templates(), i18n.catalog("zh")
    assert said, "no tr(...) call found"
    missing = sorted(f"{where}: {text!r}" for text, where in said.items() if text not in zh)
    assert not missing, f"{len(missing)} messages have no translation in gan_lessons/locale/zh/:\n" + "\n".join(missing)
    wrong = [f"{text!r} -> {zh[text]!r}" for text in said if fields(text) != fields(zh[text])]
    assert not wrong, "a translation must keep every {field} of its English template:\n" + "\n".join(wrong)
    untranslated = [text for text in said if zh[text] == text and re.search(r"[A-Za-z]{3}", text)]
    assert not untranslated, f"copied, not translated: {untranslated}"


def test_the_catalogs_hold_no_message_the_library_no_longer_says():
    stale = sorted(set(i18n.catalog("zh")) - set(templates()))
    assert not stale, "remove these from gan_lessons/locale/zh/ (the English text changed or went):\n" + "\n".join(stale)


def test_tr_speaks_chinese_after_set_language(chinese):
    some = next(iter(i18n.catalog("zh")))
    assert re.search(r"[\u3400-\u9fff]", i18n.tr(some, **{name: 1 for name in fields(some)}))


def chinese_characters() -> set[str]:
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "notebooks" / "zh").glob("*.ipynb")]
    texts += [p.read_text(encoding="utf-8") for p in (PACKAGE / "locale").rglob("*.json")]
    return {c for text in texts for c in text if ord(c) > 0x2E7F}


def test_the_bundled_font_has_every_chinese_character_the_collection_uses():
    cmap = TTFont(i18n.FONT)["cmap"].getBestCmap()
    missing = sorted(c for c in chinese_characters() if ord(c) not in cmap)
    assert not missing, (f"the font lacks {''.join(missing)}: run `python scripts/subset_font.py` (it needs the "
                         "full Noto Sans CJK SC font, e.g. Debian's fonts-noto-cjk)")


def test_a_figure_with_a_chinese_title_has_no_missing_glyph(chinese):
    fig, ax = plt.subplots()
    ax.set_title("生成器与判别器：模式崩溃、梯度消失 (lr = 2e-4, −1)")
    ax.set_xlabel("训练步")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    assert not [w for w in caught if "missing from font" in str(w.message)], [str(w.message) for w in caught]


def test_without_the_font_the_same_figure_would_miss_glyphs():  # the test above can fail
    with matplotlib.rc_context({"font.family": ["sans-serif"]}), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("生成器")
        fig.canvas.draw()
    plt.close(fig)
    assert [w for w in caught if "missing from font" in str(w.message)]


# -- the glossary ------------------------------------------------------------------------------------------------
def glossary() -> list[tuple[str, list[str]]]:
    """(English term, its Chinese forms) for every row of docs/glossary.md."""
    rows = []
    for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("English", "---"):
            english = re.sub(r"\s*\(.*\)$", "", cells[0])
            rows.append((english, [form.strip() for form in cells[1].split(" / ")]))
    return rows


def test_the_glossary_has_a_chinese_term_and_a_definition_on_every_row():
    rows = glossary()
    assert len(rows) >= 100
    english = [e.lower() for e, _ in rows]
    assert len(set(english)) == len(english), "a term is listed twice"
    assert all(forms and all(forms) for _, forms in rows)


def term_uses() -> tuple[int, list[str]]:
    """How often a glossary term of an English markdown cell appears in its Chinese twin by one of its Chinese forms,
    over every translated cell: (uses, misses as 'lesson cell: term')."""
    terms = [(re.compile(rf"\b{re.escape(e)}s?\b", re.I), forms) for e, forms in glossary()]
    uses, misses = 0, []
    for english_path, chinese_path in twins.pairs():
        if not chinese_path.exists():
            continue
        en, zh = twins.read(english_path)["cells"], twins.read(chinese_path)["cells"]
        for e, z in zip(en, zh):
            if e["cell_type"] != "markdown":
                continue
            english_text, chinese_text = twins.prose(twins.source(e)), twins.source(z)
            for (pattern, forms), (term, _) in zip(terms, glossary()):
                if pattern.search(english_text):
                    uses += 1
                    if not any(form in chinese_text for form in forms):
                        misses.append(f"{chinese_path.name} {e.get('id')}: {term} -> {' / '.join(forms)}")
    return uses, misses


def test_the_chinese_lessons_use_the_glossarys_terms():
    uses, misses = term_uses()
    if not uses:
        pytest.skip("no Chinese lesson yet")
    assert len(misses) <= 0.1 * uses, (f"{len(misses)} of {uses} uses of a glossary term are not translated by its "
                                       "glossary term:\n" + "\n".join(misses[:60]))


def test_under_the_tests_a_box_drawn_for_a_missing_glyph_is_an_error(monkeypatch, chinese):
    monkeypatch.setenv(i18n.STRICT_GLYPHS_VAR, "1")
    i18n.use_font()
    fig, ax = plt.subplots()
    ax.set_title("生成器 $D(x)$")  # math text has no Chinese font: the Chinese would be drawn as boxes
    with pytest.raises(ValueError, match="does not have a glyph"):
        fig.canvas.draw()
    ax.set_title("生成器 D(x)")  # the same title without $...$ draws
    fig.canvas.draw()
    plt.close(fig)
