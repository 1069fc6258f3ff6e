"""Write gan_lessons/fonts/NotoSansSC-GanLessons.otf: Noto Sans CJK SC Regular cut down to the characters the
collection can need, so that Chinese in a figure renders on a machine without a Chinese font.

Kept: the 3,755 most common Chinese characters (level 1 of GB 2312), Chinese punctuation and full-width forms, and
every character that notebooks/zh/ and gan_lessons/locale/ use today. tests/test_i18n.py fails when a Chinese text
uses a character the font lacks; run this again then (it needs the full font, e.g. Debian's fonts-noto-cjk):

    python scripts/subset_font.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "gan_lessons" / "fonts" / "NotoSansSC-GanLessons.otf"
FAMILY = "Noto Sans SC GanLessons"


def gb2312_level1() -> set[str]:
    """The 3,755 characters of GB 2312's level 1 (rows 16-55), in frequency-of-use order of the standard."""
    chars = set()
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass  # row 55 ends early
    return chars


def used_characters() -> set[str]:
    """Every character of the Chinese notebooks and catalogs."""
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "notebooks" / "zh").glob("*.ipynb")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "gan_lessons" / "locale").rglob("*.json")]
    return {c for text in texts for c in text if ord(c) > 0x2E7F}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    args = parser.parse_args()
    font = next(f for f in TTCollection(args.source).fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
    punctuation = {chr(c) for r in ((0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2010, 0x2027)) for c in range(*r)}
    keep = gb2312_level1() | used_characters() | punctuation
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in keep))
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID in (4,):
            record.string = f"{FAMILY} Regular"
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "") + "-Regular"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT.relative_to(ROOT)}: {len(keep):,} characters, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
