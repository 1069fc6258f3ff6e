"""Static slide decks of the lessons (`make slides`): one reveal.js page per lesson that opens offline from the file
system, its pictures included.

    python -m gan_lessons.decks notebooks/*.ipynb --out build/slides            # run each lesson, then its deck
    python -m gan_lessons.decks notebooks/05_the_adversarial_loop.ipynb --no-execute

The slides are the ones `gan_lessons.slides` writes into the cells' metadata. nbconvert's reveal template reads
reveal.js, MathJax, require.js, jQuery and mermaid from CDNs; the deck template here (deck_template/) reads reveal.js
and MathJax from the deck's own `_assets` folder instead, copied from two Python packages of the environment
(sphinx-revealjs ships reveal.js, jupyter-server-mathjax ships MathJax 2.7), and needs nothing else. A live widget
cannot run in a static page: the lab appears as the still picture of its panes that it carries for such viewers.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
from pathlib import Path

ASSETS = "_assets"
# (package, folder inside it, what to copy) -> _assets/<name>
ASSET_SOURCES = {"reveal.js": ("sphinx_revealjs", "_static/revealjs", ("dist", "plugin", "LICENSE")),
                 "mathjax": ("jupyter_server_mathjax", "static", None)}
MATHJAX = f"{ASSETS}/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEMPLATE = Path(__file__).parent / "deck_template"
# A link to a lesson (its twin in the other language included) points at that lesson's deck instead.
LESSON_LINK = re.compile(r'href="((?:zh/|\.\./)?\d\d_\w+)\.ipynb(#[^"]*)?"')


def copy_assets(out: Path) -> Path:
    """reveal.js and MathJax into out/_assets (once; a later deck reuses them); the folder."""
    folder = out / ASSETS
    for name, (package, inside, parts) in ASSET_SOURCES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"the package {package!r} is missing: it provides {name} for the slides; install the "
                               "project with `make` (or pip install -e '.[dev]')")
        source, target = Path(spec.origin).parent / inside, folder / name
        if target.exists():
            continue
        target.mkdir(parents=True)
        for part in parts or [p.name for p in source.iterdir()]:
            path = source / part
            if path.is_dir():
                shutil.copytree(path, target / part)
            else:
                shutil.copy2(path, target / part)
    return folder


def deck(notebook: Path, out: Path, execute: bool = True, timeout: int = 3600) -> Path:
    """Write out/<lesson>.slides.html for `notebook` (run first, in the notebook's folder, when `execute`); links to
    lessons point at their decks (`make slides` writes the Chinese ones into zh/)."""
    import nbformat
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import ExecutePreprocessor
    from traitlets.config import Config

    nb = nbformat.read(notebook, as_version=4)
    if execute:
        ExecutePreprocessor(timeout=timeout, store_widget_state=False).preprocess(
            nb, {"metadata": {"path": str(notebook.parent)}})
    c = Config()
    c.SlidesExporter.extra_template_basedirs = [str(TEMPLATE.parent)]
    c.SlidesExporter.template_name = TEMPLATE.name
    c.SlidesExporter.reveal_url_prefix = f"{ASSETS}/reveal.js"
    c.SlidesExporter.mathjax_url = MATHJAX
    c.SlidesExporter.reveal_theme = "white"  # its fonts come with reveal.js (others import Google's)
    # A live widget cannot run in a static page: show what else the output carries (the lab's still picture).
    priority = SlidesExporter().default_config.NbConvertBase.display_data_priority
    c.NbConvertBase.display_data_priority = [t for t in priority if t != WIDGET_VIEW]
    exporter = SlidesExporter(config=c)
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    html = LESSON_LINK.sub(lambda m: f'href="{m.group(1)}.slides.html{m.group(2) or ""}"', html)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    path = out / f"{notebook.stem}.slides.html"
    path.write_text(html, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> list[Path]:
    """The command line above: a deck per notebook given; the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/slides"))
    parser.add_argument("--no-execute", action="store_true", help="use the outputs stored in the notebooks")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"notebooks {missing} do not exist; pass lesson files such as notebooks/05_*.ipynb")
    written = []
    for notebook in args.notebooks:
        written.append(deck(notebook, args.out, execute=not args.no_execute))
        print(f"{written[-1]}", flush=True)
    return written


if __name__ == "__main__":
    main()
