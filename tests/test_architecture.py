"""The library's shape: data flows one way (ARCHITECTURE: config -> data -> models -> losses -> training -> metrics
-> plots -> lab), with no import circle, and each module imports only modules to its left; only the lab imports
ipywidgets, and training never imports plots or widgets."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gan_lessons"
LESSON_CHECKS = tuple(f"checks.lesson{i:02d}" for i in range(0, 12))
# Left to right; a module may import modules of earlier layers only. A new module must be placed here.
LAYERS = [
    ("i18n", "twins"),
    ("config", "files", "slides", "decks"),
    ("data.images", "data.mnist", "data.toy"),
    ("data",),
    ("models", "latent"),
    ("losses", "guard"),
    ("penalties", "fixes", "checkpoints", "fast_mlp"),
    ("theory", "dynamics"),
    ("training",),
    ("metrics", "classifier"),
    ("image_metrics",),
    ("image_training", "comparison"),
    ("plots",),
    ("lab_frames", "lab_presets"),
    ("lab_panes", "lab_replay"),
    ("lab",),
    ("checks.verdict",),
    LESSON_CHECKS,
    ("checks",),
    ("cli",),
    ("", "__main__"),  # "" is the package itself
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """The package's modules that the file imports (at any depth of the file, lazy imports too), and the top-level
    names of the other packages it imports."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    inner, outer = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = ".".join(base + [alias.name])
                inner.add(candidate if candidate in MODULES else ".".join(base))
        elif isinstance(node, ast.ImportFrom):
            (inner if node.module.startswith("gan_lessons") else outer).add(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                (inner if alias.name.startswith("gan_lessons") else outer).add(alias.name)
    inner = {m.removeprefix("gan_lessons").lstrip(".") for m in inner}
    return inner - {name}, {m.split(".")[0] for m in outer}


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {module_name(p) for p in FILES}
GRAPH = {module_name(p): imports_of(p)[0] for p in FILES}
RANK = {module: rank for rank, layer in enumerate(LAYERS) for module in layer}


def test_every_module_has_a_place_in_the_layers():
    assert MODULES == set(RANK), f"not placed: {MODULES - set(RANK)}; placed but missing: {set(RANK) - MODULES}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_only_to_the_left(module):
    upward = sorted(dep for dep in GRAPH[module] if RANK[dep] >= RANK[module])
    assert not upward, f"{module or 'gan_lessons'} imports {upward}, which are not to its left"


def test_no_import_circle():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(GRAPH[module]):
            assert state.get(dep) != "open", "import circle: " + " -> ".join(path + [module, dep])
            if dep not in state:
                visit(dep, path + [module])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [])


def test_the_checks_can_fail():
    """The two checks above see a circle and an upward import when there is one."""
    GRAPH["config"].add("training")
    try:
        with pytest.raises(AssertionError, match="import circle"):
            test_no_import_circle()
        with pytest.raises(AssertionError, match="not to its left"):
            test_imports_run_only_to_the_left("config")
    finally:
        GRAPH["config"].discard("training")


def test_only_the_lab_imports_widgets_and_training_imports_no_pictures():
    outer = {module_name(p): imports_of(p)[1] for p in FILES}
    assert {m for m, pkgs in outer.items() if "ipywidgets" in pkgs} == {"lab"}
    assert not outer["training"] & {"matplotlib", "ipywidgets"}
    assert not GRAPH["training"] & {"plots", "lab", "lab_frames", "lab_panes"}


def public_definitions_without_docstring() -> list[str]:
    """`file:line name` of every public class, function and method of the package that has no docstring."""
    missing = []

    def walk(node: ast.AST, path: Path, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and not child.name.startswith("_"):
                setter = any(ast.unparse(d).endswith(".setter") for d in child.decorator_list)
                if ast.get_docstring(child) is None and not setter:
                    missing.append(f"{path.name}:{child.lineno} {prefix}{child.name}")
                if isinstance(child, ast.ClassDef):
                    walk(child, path, prefix + child.name + ".")

    for path in FILES:
        walk(ast.parse(path.read_text()), path, "")
    return missing


def test_every_public_class_and_function_has_a_docstring():
    assert public_definitions_without_docstring() == []
