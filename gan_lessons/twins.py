"""The Chinese edition (notebooks/zh/) kept in step with the English lessons, cell by cell.

A lesson and its twin have the same cells: the same count, kinds and ids, the same slide types and tags. A code cell
is the same program in both (`skeleton`: the syntax tree with comments and the text of string literals removed). A
markdown cell of the twin is written in Chinese: it has Chinese text wherever the English cell has words, and no run
of `ENGLISH_RUN` or more English words outside code, math, links and `<span lang="en">` (kept for a title in English).

Each cell of the twin records the pair it was translated as: `metadata.twin = {"en": hash, "zh": hash}` of the two
sources. Changing a cell in one edition only breaks that record, and `check` says which cell to carry over. After
translating (or carrying a change over) run

    python -m gan_lessons.twins accept notebooks/zh/NN_name.ipynb   # checks the pair, then records it
    python -m gan_lessons.twins check                               # every pair; what `make test` checks
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "notebooks"
CHINESE = ENGLISH / "zh"
ENGLISH_RUN = 5  # this many English words in a row make an untranslated sentence
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = r"[A-Za-z][A-Za-z'’\-]*"
_RUN = re.compile(rf"{_WORD}(?:[ \t]+{_WORD}){{{ENGLISH_RUN - 1},}}")
_NOT_PROSE = [re.compile(p, re.S) for p in (
    r"```.*?```", r"`[^`]*`", r"\$\$.*?\$\$", r"\$[^$]*\$", r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}",
    r'<span lang="en">.*?</span>', r"\]\([^)]*\)", r"<[^>]+>", r"https?://\S+")]


def pairs() -> list[tuple[Path, Path]]:
    """(English lesson, its Chinese twin) for every numbered lesson."""
    return [(path, CHINESE / path.name) for path in sorted(ENGLISH.glob("[0-9][0-9]_*.ipynb"))]


def source(cell: dict) -> str:
    """A cell's text."""
    return "".join(cell["source"])


def digest(text: str) -> str:
    """A short fingerprint of a cell's text (the pair records)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class _Blank(ast.NodeTransformer):
    """Empties every string literal; an f-string keeps only its {expressions}, in order."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        """A string literal becomes ""."""
        return ast.Constant("") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        """An f-string keeps its {expressions} only."""
        values = [ast.FormattedValue(self.visit(v.value), v.conversion, None)
                  for v in node.values if isinstance(v, ast.FormattedValue)]
        return ast.JoinedStr(values)


def skeleton(code: str) -> str:
    """The program without its comments and the text of its string literals (IPython's %magics and !commands kept
    as they are)."""
    lines = [f"_magic({line.strip()!r})" if line.lstrip().startswith(("%", "!")) else line
             for line in code.splitlines()]
    tree = _Blank().visit(ast.parse("\n".join(lines)))
    return ast.dump(tree, include_attributes=False)


def prose(markdown: str) -> str:
    """A markdown cell without its code, math, link targets, tags and kept-English spans."""
    for pattern in _NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    return markdown


def english_left(markdown: str) -> list[str]:
    """Runs of ENGLISH_RUN or more English words in the prose of a (Chinese) markdown cell."""
    return [m.group(0) for m in _RUN.finditer(prose(markdown))]


def problems(english: dict, chinese: dict, *, recorded: bool = True) -> list[str]:
    """What keeps `chinese` (a notebook) from being the twin of `english`; empty when it is. With recorded=False
    the pair records (metadata.twin) are not checked."""
    en, zh = english["cells"], chinese["cells"]
    if [(c["cell_type"], c.get("id")) for c in en] != [(c["cell_type"], c.get("id")) for c in zh]:
        return [f"the cells differ: English {[(c['cell_type'][0], c.get('id')) for c in en]}, "
                f"Chinese {[(c['cell_type'][0], c.get('id')) for c in zh]}: the same ids, kinds and order"]
    out = []
    for e, z in zip(en, zh):
        cid = e.get("id")
        for key in ("slideshow", "tags"):
            if e["metadata"].get(key) != z["metadata"].get(key):
                out.append(f"cell {cid}: metadata {key} {z['metadata'].get(key)!r}, English {e['metadata'].get(key)!r}")
        if e["cell_type"] == "code":
            try:
                if skeleton(source(e)) != skeleton(source(z)):
                    out.append(f"cell {cid}: the code differs from the English cell beyond comments and strings")
            except SyntaxError as error:
                out.append(f"cell {cid}: {error.msg} on line {error.lineno}")
        elif e["cell_type"] == "markdown":
            if re.search(_WORD, prose(source(e))) and not _CJK.search(source(z)):  # words, but no Chinese
                out.append(f"cell {cid}: not translated (no Chinese text)")
            out += [f"cell {cid}: English left: {run!r}" for run in english_left(source(z))]
        if recorded:
            twin = z["metadata"].get("twin", {})
            if twin.get("en") != digest(source(e)):
                out.append(f"cell {cid}: the English cell changed since it was translated: carry the change over, "
                           "then run `python -m gan_lessons.twins accept` on the Chinese notebook")
            elif twin.get("zh") != digest(source(z)):
                out.append(f"cell {cid}: the Chinese cell changed without its English twin: make the same change "
                           "there (or undo it), then run `python -m gan_lessons.twins accept`")
    return out


def read(path: Path) -> dict:
    """A notebook as JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, notebook: dict) -> None:
    """A notebook as the lessons are stored: JSON indented by 1, UTF-8 kept as it is."""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def accept(chinese_path: Path) -> list[str]:
    """Check the twin of `chinese_path` and, when nothing is wrong but the records, record every pair; the problems."""
    english_path = ENGLISH / Path(chinese_path).name
    english, chinese = read(english_path), read(Path(chinese_path))
    found = problems(english, chinese, recorded=False)
    if not found:
        for e, z in zip(english["cells"], chinese["cells"]):
            z["metadata"]["twin"] = {"en": digest(source(e)), "zh": digest(source(z))}
        write(Path(chinese_path), chinese)
    return found


def main(argv: list[str] | None = None) -> int:
    """`check` or `accept` the given Chinese notebooks (default: all); 1 when any has a problem."""
    parser = argparse.ArgumentParser(prog="python -m gan_lessons.twins", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("check", "accept"))
    parser.add_argument("notebooks", nargs="*", type=Path, help="Chinese notebooks (default: every twin)")
    args = parser.parse_args(argv)
    paths = args.notebooks or [zh for _, zh in pairs() if zh.exists()]
    failed = 0
    for path in paths:
        found = accept(path) if args.command == "accept" else problems(read(ENGLISH / path.name), read(path))
        print(f"{path}: {'ok' if not found else f'{len(found)} problem(s)'}")
        for line in found:
            print(f"  {line}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
