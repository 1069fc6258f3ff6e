"""The language the library speaks to a student: English by default, Chinese with `set_language("zh")` or the
environment variable `GAN_LESSONS_LANG=zh` (the Chinese lessons in notebooks/zh/ call it in their first cell).

Everything a student reads from the library goes through `tr`: the checks' feedback, the lab's labels and status,
the plots' titles and labels, the command line's help and errors. `tr(text, **fields)` looks `text` (the English
template) up in the catalog of the language in use and fills in the fields; a template the catalog lacks is said in
English (tests/test_i18n.py fails when one is missing). The catalogs are the JSON files in `locale/<language>/`,
English template -> translation, one file per part of the library.

Chinese in a figure needs a font with its glyphs: `set_language("zh")` adds the bundled Noto Sans SC subset
(`fonts/`, SIL Open Font License) behind matplotlib's font family, so Latin text and math keep their look.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "zh")
ENV_VAR = "GAN_LESSONS_LANG"
LOCALE = Path(__file__).with_name("locale")
FONT = Path(__file__).with_name("fonts") / "NotoSansSC-GanLessons.otf"
FONT_NAME = "Noto Sans SC GanLessons"
# Set to 1 (the test command does) to make a missing glyph in a figure an error instead of an empty box.
STRICT_GLYPHS_VAR = "GAN_LESSONS_STRICT_GLYPHS"


def _from_environment() -> str:
    value = os.environ.get(ENV_VAR, "en").strip().lower() or "en"
    if value not in LANGUAGES:
        warnings.warn(f"{ENV_VAR}={value!r} is not known; allowed values: {', '.join(LANGUAGES)}. Using English.",
                      stacklevel=2)
        return "en"
    return value


_language = _from_environment()


def set_language(language: str) -> None:
    """Speak `language` ("en" or "zh") from now on: checks, lab, plots and command line."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not known; allowed values: {', '.join(LANGUAGES)}")
    _language = language
    if language != "en":
        use_font()


def get_language() -> str:
    """The language in use: "en" or "zh"."""
    return _language


@lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, str]:
    """English template -> translation, merged from locale/<language>/*.json (empty for English)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALE / language).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def tr(text: str, /, **fields) -> str:
    """`text` in the language in use, its {fields} filled in (`str.format`); English when no translation exists."""
    template = catalog(_language).get(text, text) if _language != "en" else text
    return template.format(**fields) if fields else template


def use_font() -> None:
    """Let matplotlib draw Chinese: the bundled font is added behind the fonts of `font.family` (matplotlib looks up
    each glyph along that list, so Latin text and math keep their font)."""
    import matplotlib as mpl
    from matplotlib import font_manager

    if FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(FONT))
    family = list(mpl.rcParams["font.family"])
    if FONT_NAME not in family:
        mpl.rcParams["font.family"] = [*family, FONT_NAME]
    if os.environ.get(STRICT_GLYPHS_VAR) == "1":
        warnings.filterwarnings("error", message=r"Glyph \d+ .*missing from font")
        mathtext = logging.getLogger("matplotlib.mathtext")
        if not any(isinstance(f, _MissingGlyph) for f in mathtext.filters):
            mathtext.addFilter(_MissingGlyph())


class _MissingGlyph(logging.Filter):
    """Raises where matplotlib's math text would draw a box for a character no math font has (Chinese between $
    signs, or in a label that also holds math: write such labels without $...$)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Raise ValueError for a missing glyph; let any other record through."""
        if "does not have a glyph" in record.getMessage():
            raise ValueError(f"{record.getMessage()} (math text has no Chinese font: keep Chinese out of labels "
                             "that hold $...$)")
        return True
