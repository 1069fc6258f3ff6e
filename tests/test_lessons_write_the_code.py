"""The lesson writes the code; the library is what the lessons built: a test holds the two together.

Where a lesson teaches a piece (a generator, a discriminator, a metric), one of its code cells writes it out, and the
library keeps the same code for later lessons. That cell carries the tag `writes:<module>.<name>` (a module of
gan_lessons), e.g. `writes:models.DCGANGenerator`, and defines that name; a cell may carry several such tags.

For each tagged cell the test rebuilds what the cell sees without running the lesson: the import statements of the
notebook's code cells up to it and the notebook's tagged cells up to it, run in order in a fresh namespace (a
written-out function may call one written out before it; no data, no trained model, no MNIST). Then the cell's
object must be its own code (not the library's object, a subclass of it, or a wrapper that calls it: the library's
object is made to raise meanwhile) and equal the library's by the case that CASES holds for its name:

- a module class: the same constructor signature (the library may add options, with defaults, after the lesson's),
  the same parameters and buffers from the same seed, the same plain attributes (`z_dim`), and the same outputs and
  gradients on the same random inputs in train mode and in eval mode;
- a function: the same signature and the same outputs on the same inputs.

Equal means bit for bit: both run the same operations on the same numbers. The mutation tests change one width,
activation, momentum or comparison in a copy of a written-out cell and require that the comparison catches it.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import importlib
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from unittest import mock

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (REPO / "notebooks").rglob("[0-9][0-9]_*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TAG = "writes:"


# -- finding the written-out cells and what they see ----------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """Cell `index` of `notebook` writes out the library object `name`, e.g. "models.DCGANGenerator"."""

    notebook: Path
    index: int
    name: str

    def __str__(self) -> str:
        return f"{self.notebook.relative_to(REPO).as_posix()} cell {self.index} ({TAG}{self.name})"


def code_cells(notebook: Path) -> list[tuple[int, dict]]:
    """(index, cell) of every code cell; the index counts all cells, as Jupyter shows them."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(i, cell) for i, cell in enumerate(cells) if cell["cell_type"] == "code"]


def written_names(cell: dict) -> list[str]:
    """The library names a cell's `writes:` tags name."""
    return [tag[len(TAG):] for tag in cell.get("metadata", {}).get("tags", []) if tag.startswith(TAG)]


def written_cells() -> list[Written]:
    """Every tagged cell of every notebook, once per tag."""
    return [Written(path, i, name)
            for path in NOTEBOOKS for i, cell in code_cells(path) for name in written_names(cell)]


def python_of(cell: dict) -> str:
    """A cell's source without IPython's magics and shell escapes, which are not Python."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def imports_of(text: str) -> str:
    """The top-level import statements of some Python source."""
    tree = ast.parse(text)
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))


def cell_file(written: Written) -> str:
    """The file name the cell's code is compiled under: tracebacks and `co_filename` point at the cell."""
    return f"<{written.notebook.name} cell {written.index}>"  # as namespace_of compiles it


def namespace_of(written: Written, replace: tuple[str, str] | None = None) -> dict:
    """What the cell sees: the notebook's imports and its tagged cells up to this one, run in order. `replace`
    = (old, new) first changes the first `old` in this cell's source to `new` (the mutation tests)."""
    namespace: dict = {"__name__": f"lesson_{written.notebook.stem}"}
    for i, cell in code_cells(written.notebook):
        if i > written.index:
            break
        text = python_of(cell)
        if i == written.index and replace is not None:
            old, new = replace
            assert old in text, f"{written}: the text to alter, {old!r}, is not in the cell; update the mutation"
            text = text.replace(old, new, 1)
        if i == written.index or written_names(cell):
            exec(compile(text, f"<{written.notebook.name} cell {i}>", "exec"), namespace)  # the lesson's own cell
        else:
            exec(compile(imports_of(text), f"<{written.notebook.name} cell {i}: imports>", "exec"), namespace)
    return namespace


# -- comparing one written-out object with the library's -------------------------------------------------------------
def library_object(name: str):
    """gan_lessons.<module>.<attribute> for name "<module>.<attribute>"."""
    module, attribute = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"gan_lessons.{module}"), attribute)


def same(actual, expected, what: str) -> None:
    """Bit-for-bit equal tensors, numbers, tuples or dicts; else an AssertionError that says `what` differs."""
    try:
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)
    except (AssertionError, TypeError, ValueError) as detail:  # a type or key that differs is a difference too
        raise AssertionError(f"{what} differ:\n{detail}") from None


@contextlib.contextmanager
def library_made_to_raise(name: str) -> Iterator[None]:
    """Inside the block, the library's object raises wherever the package's modules hold it, so that a written-out
    object that only calls the library's fails."""
    library = library_object(name)

    def refuse(*args, **kwargs):
        raise AssertionError(f"the written-out {name} calls the library's gan_lessons.{name}; write the code out")

    if inspect.isclass(library):  # a subclass that refuses to be built: subclassing it is still seen as the library's
        refuse = type(library.__name__, (library,), {"__init__": refuse})
    holders = [(module, attribute) for key, module in list(sys.modules.items())
               if key == "gan_lessons" or key.startswith("gan_lessons.")
               for attribute, value in list(vars(module).items()) if value is library]
    with contextlib.ExitStack() as stack:
        for module, attribute in holders:
            stack.enter_context(mock.patch.object(module, attribute, refuse))
        yield


def check_own_code(mine, library, file: str, name: str) -> None:
    """`mine` is code of the cell compiled as `file`, not the library's object or a subclass of it."""
    assert mine is not library, f"{name} is the library's object itself; write the code out in the lesson"
    if inspect.isclass(mine):
        assert library not in mine.__mro__, f"{name} subclasses the library's; write the whole class out"
        functions = [f for f in vars(mine).values() if inspect.isfunction(f)]
        assert functions and all(f.__code__.co_filename == file for f in functions), \
            f"{name}'s methods are not all written in the cell"
    else:
        assert inspect.isfunction(mine) and mine.__code__.co_filename == file, f"{name} is not a function of the cell"


def check_signature(mine, library, name: str) -> None:
    """The lesson's parameters are the library's first ones (names, kinds, defaults); the library's further
    parameters have defaults, so every call the lesson makes means the same to both."""
    def described(params: list[inspect.Parameter]) -> list[tuple]:
        return [(p.name, p.kind.name, p.default) for p in params]

    ours = list(inspect.signature(mine).parameters.values())
    theirs = list(inspect.signature(library).parameters.values())
    assert described(ours) == described(theirs[:len(ours)]), \
        f"{name}: the lesson's parameters {described(ours)} are not the library's first ones {described(theirs)}"
    assert all(p.default is not p.empty for p in theirs[len(ours):]), \
        f"{name}: the library's parameters after the lesson's must have defaults"


def check_written_out(name: str, make_namespace: Callable[[], dict], file: str) -> None:
    """The object `name` that the namespace defines is the cell's own code and equals the library's."""
    assert name in CASES, f"no case in CASES says how to compare {name} with the library's; add one"
    library, attribute = library_object(name), name.rsplit(".", 1)[1]
    with library_made_to_raise(name), torch.random.fork_rng(devices=[]):
        namespace = make_namespace()
        assert attribute in namespace, f"the cell tagged {TAG}{name} defines no {attribute}"
        mine = namespace[attribute]
        check_own_code(mine, library, file, name)
        check_signature(mine, library, name)
        CASES[name](mine, library)


# -- the cases: how each library object is compared -----------------------------------------------------------------
def plain_attributes(module: torch.nn.Module) -> dict:
    """A module's own attributes that are neither submodules, parameters, buffers nor torch's bookkeeping."""
    return {key: value for key, value in vars(module).items() if not key.startswith("_") and key != "training"}


@dataclass(frozen=True)
class ModuleCase:
    """Build the lesson's class and the library's with each (constructor keywords, input) of `builds`."""

    builds: tuple[tuple[dict, Callable[[], torch.Tensor]], ...]

    def __call__(self, mine: type, library: type) -> None:
        for kwargs, make_input in self.builds:
            built = f"built with {kwargs or 'the defaults'}"
            torch.manual_seed(0)
            ours = mine(**kwargs)
            torch.manual_seed(0)
            theirs = library(**kwargs)
            same(ours.state_dict(), theirs.state_dict(), f"{built}: the parameters and buffers from the same seed")
            same(plain_attributes(ours), plain_attributes(theirs), f"{built}: the plain attributes")
            for train in (True, False):  # batch norm: the batch's statistics, then the running ones
                self.compare_passes(ours.train(train), theirs.train(train), make_input(),
                                    f"{built}, in {'train' if train else 'eval'} mode")

    @staticmethod
    def compare_passes(ours: torch.nn.Module, theirs: torch.nn.Module, x: torch.Tensor, where: str) -> None:
        """The same outputs, input gradients, parameter gradients and buffers afterwards."""
        outputs, grads = [], []
        for model in (ours, theirs):
            model.zero_grad(set_to_none=True)
            x_in = x.clone().requires_grad_()
            y = model(x_in)
            weights = torch.linspace(-1, 1, y.numel()).view_as(y)  # a loss that weighs every output differently
            (y * weights).sum().backward()
            outputs.append(y.detach())
            grads.append({"input": x_in.grad, **{n: p.grad for n, p in model.named_parameters()}})
        same(outputs[0], outputs[1], f"{where}: the outputs")
        same(grads[0], grads[1], f"{where}: the gradients")
        same(ours.state_dict(), theirs.state_dict(), f"{where}: the parameters and buffers after a pass")


@dataclass(frozen=True)
class FunctionCase:
    """Call the lesson's function and the library's on each argument tuple that `calls()` makes."""

    calls: Callable[[], list[tuple]]

    def __call__(self, mine: Callable, library: Callable) -> None:
        for args in self.calls():
            shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
            same(mine(*args), library(*args), f"for arguments {shapes}: the results")


@dataclass(frozen=True)
class SeededFunctionCase(FunctionCase):
    """FunctionCase for a function that draws random numbers: the same seed before each of the two calls."""

    def __call__(self, mine: Callable, library: Callable) -> None:
        for args in self.calls():
            torch.manual_seed(7)
            ours = mine(*args)
            torch.manual_seed(7)
            same(ours, library(*args), f"for {len(args)} arguments, with the same seed: the results")


def critic(width: int, seed: int) -> torch.nn.Module:
    """A small 2-D MLP discriminator with seeded weights, to differentiate."""
    from gan_lessons.models import MLPDiscriminator

    torch.manual_seed(seed)
    return MLPDiscriminator(2, (width, width))


def library_parts(model: torch.nn.Module) -> list[str]:
    """The library's classes among those of the modules inside `model` and their base classes."""
    return sorted({f"{c.__module__}.{c.__qualname__}" for m in model.modules() for c in type(m).__mro__
                   if c.__module__.split(".")[0] == "gan_lessons"})


def check_no_library_parts(model: torch.nn.Module, built: str) -> None:
    """A written-out model holds none of the library's modules (nor subclasses of them)."""
    parts = library_parts(model)
    assert not parts, f"{built}: the lesson's model is made of the library's {parts}; write its layers out"


@dataclass(frozen=True)
class OwnModuleCase(ModuleCase):
    """ModuleCase for a class whose library version derives from another of the library's classes: the lesson's
    model must also hold none of the library's modules (a subclass of the library's MLPGenerator with the image
    widths is not ImageMLPGenerator, and would pass the comparison without writing a layer out)."""

    def __call__(self, mine: type, library: type) -> None:
        for kwargs, _ in self.builds:
            check_no_library_parts(mine(**kwargs), f"built with {kwargs or 'the defaults'}")
        super().__call__(mine, library)


@dataclass(frozen=True)
class BuilderCase:
    """A function that builds a model: the lesson's and the library's are called with each argument tuple of
    `builds` from the same seed, and the two models compared as ModuleCase compares them (parameters and buffers,
    plain attributes, outputs and gradients in train and eval mode) on the inputs that tuple's maker draws. The
    lesson's model must hold none of the library's modules."""

    builds: tuple[tuple[tuple, Callable[[], torch.Tensor]], ...]

    def __call__(self, mine: Callable, library: Callable) -> None:
        for args, make_input in self.builds:
            built = f"built with the arguments {args}"
            torch.manual_seed(0)
            ours = mine(*args)
            torch.manual_seed(0)
            theirs = library(*args)
            check_no_library_parts(ours, built)
            same(ours.state_dict(), theirs.state_dict(), f"{built}: the parameters and buffers from the same seed")
            same(plain_attributes(ours), plain_attributes(theirs), f"{built}: the plain attributes")
            for train in (True, False):
                ModuleCase.compare_passes(ours.train(train), theirs.train(train), make_input(),
                                          f"{built}, in {'train' if train else 'eval'} mode")


def gaussian(*shape: int, seed: int) -> torch.Tensor:
    """Standard normal numbers of a seeded generator of their own."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def images(n: int, channels: int, seed: int) -> torch.Tensor:
    """n random 28x28 images in [-1, 1]."""
    return torch.rand(n, channels, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def feature_sets(n_real: int, n_fake: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real features and fake ones that partly overlap them (a third are real points, the rest shifted and wider)."""
    real = gaussian(n_real, dim, seed=seed)
    shared = n_fake // 3
    return real, torch.cat([real[:shared], 1.5 * gaussian(n_fake - shared, dim, seed=seed + 1) + 0.3])


CASES: dict[str, Callable] = {
    "models.ImageMLPGenerator": OwnModuleCase((
        ({}, lambda: gaussian(6, 100, seed=1)),
        ({"z_dim": 16}, lambda: gaussian(1, 16, seed=2)),  # a batch of one
    )),
    "models.image_mlp_discriminator": BuilderCase((
        ((), lambda: images(6, 1, seed=1)),
        ((), lambda: images(1, 1, seed=2)),  # a batch of one: still one logit per image, shape (1,)
    )),
    "models.DCGANGenerator": ModuleCase((
        ({}, lambda: gaussian(6, 100, seed=1)),
        ({"z_dim": 16, "width": 8}, lambda: gaussian(6, 16, seed=2)),
        ({"z_dim": 8, "width": 4, "channels": 3}, lambda: gaussian(5, 8, seed=3)),
    )),
    "models.DCGANDiscriminator": ModuleCase((
        ({}, lambda: images(6, 1, seed=1)),
        ({"width": 8}, lambda: images(6, 1, seed=2)),
        ({"width": 4, "channels": 3}, lambda: images(5, 3, seed=3)),
    )),
    "image_metrics.knn_radii": FunctionCase(lambda: [
        (gaussian(40, 8, seed=1),),
        (gaussian(40, 8, seed=2), 1),
        (gaussian(25, 3, seed=3).double(), 5),
        (gaussian(30, 2, seed=4), 29),  # the farthest point of the set
    ]),
    "image_metrics.precision_recall": FunctionCase(lambda: [
        feature_sets(60, 45, 8, seed=1),
        (*feature_sets(60, 45, 8, seed=3), 1),
        (*feature_sets(50, 70, 4, seed=5), 5),
        (gaussian(40, 6, seed=7), gaussian(40, 6, seed=7)),  # the same set twice: both 1
    ]),
    "penalties.gradient_penalty": SeededFunctionCase(lambda: [
        (critic(16, seed=1), gaussian(64, 2, seed=1), gaussian(64, 2, seed=2)),
        (critic(8, seed=2), gaussian(5, 2, seed=3), 3 * gaussian(5, 2, seed=4)),
        (lambda x: x @ torch.tensor([1.5, 2.0]), gaussian(32, 2, seed=5), gaussian(32, 2, seed=6)),  # slope 2.5
    ]),
    "penalties.r1_penalty": FunctionCase(lambda: [
        (critic(16, seed=1), gaussian(64, 2, seed=1)),
        (critic(8, seed=3), 5 * gaussian(3, 2, seed=2)),
    ]),
    "fixes.top_singular_value": FunctionCase(lambda: [
        (gaussian(128, 64, seed=1),),
        (gaussian(16, 3, 3, seed=2), 5),  # a conv kernel: flattened to (16, 9)
        (gaussian(10, 10, seed=3), 200, 4),
    ]),
}


# -- the tests --------------------------------------------------------------------------------------------------------
WRITTEN = written_cells()


@pytest.mark.parametrize("written", WRITTEN, ids=str)
def test_written_out_code_equals_the_library(written):
    check_written_out(written.name, lambda: namespace_of(written), cell_file(written))


def test_every_case_is_written_out_in_a_lesson():
    missing = sorted(set(CASES) - {w.name for w in WRITTEN})
    assert not missing, f"no notebook cell carries the tag {TAG}<name> for {missing}"


def first_cell_writing(name: str) -> Written:
    return next(w for w in WRITTEN if w.name == name)


# One change each to a copy of a written-out cell's source: a layer's width, an activation, batch norm's momentum
# (which shows only in eval mode), a bias, a neighbour's rank, an `any`, and swapped results.
MUTATIONS = [
    ("models.ImageMLPGenerator", "nn.Linear(256, 28 * 28), nn.Tanh()", "nn.Linear(256, 28 * 28), nn.Sigmoid()"),
    ("models.ImageMLPGenerator", "nn.Linear(128, 256), nn.ReLU()", "nn.Linear(128, 256), nn.LeakyReLU(0.2)"),
    ("models.image_mlp_discriminator", "nn.Linear(256, 128), nn.LeakyReLU(0.2)",
     "nn.Linear(256, 128), nn.LeakyReLU(0.1)"),
    ("models.image_mlp_discriminator", "nn.Linear(128, 1),", "nn.Linear(128, 1), nn.Sigmoid(),"),
    ("models.DCGANGenerator", "nn.BatchNorm2d(2 * w), nn.ReLU(True)", "nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2, True)"),
    ("models.DCGANGenerator", "nn.Tanh()", "nn.Sigmoid()"),
    ("models.DCGANGenerator", "nn.BatchNorm2d(4 * w)", "nn.BatchNorm2d(4 * w, momentum=0.2)"),
    ("models.DCGANGenerator", "(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w)",
     "(4 * w, 3 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(3 * w)"),
    ("models.DCGANDiscriminator", "nn.LeakyReLU(0.2, True)", "nn.LeakyReLU(0.1, True)"),
    ("models.DCGANDiscriminator", "(w, 2 * w, 4, 2, 1, bias=False)", "(w, 2 * w, 4, 2, 1)"),
    ("image_metrics.knn_radii", "k + 1", "k"),
    ("image_metrics.precision_recall", ".any(dim=1)", ".all(dim=1)"),
    ("image_metrics.precision_recall", "return precision, recall", "return recall, precision"),
    ("penalties.gradient_penalty", "norm(dim=1) - 1)", "norm(dim=1) - 0.5)"),
    ("penalties.gradient_penalty", "(1 - eps) * x_fake", "(1 - eps) * x_real"),
    ("penalties.r1_penalty", "0.5 * grad", "grad"),
    ("fixes.top_singular_value", "F.normalize(W @ v, dim=0)", "W @ v"),
]


@pytest.mark.parametrize("name, old, new", MUTATIONS, ids=[f"{name}: {new}" for name, _, new in MUTATIONS])
def test_an_altered_copy_is_caught(name, old, new):
    written = first_cell_writing(name)
    assert old in python_of(dict(code_cells(written.notebook))[written.index]), f"{written} no longer holds {old!r}"
    check_written_out(name, lambda: namespace_of(written), cell_file(written))  # the cell as it stands passes
    with pytest.raises(AssertionError, match="differ"):
        check_written_out(name, lambda: namespace_of(written, replace=(old, new)), cell_file(written))


SHORTCUTS = [  # cells that would pass a comparison of outputs alone, but write nothing out
    ("models.ImageMLPGenerator", "class ImageMLPGenerator(gl.models.MLPGenerator):\n"
                                 "    def __init__(self, z_dim=100):\n"
                                 "        super().__init__(z_dim, (128, 256), 28 * 28, tanh=True)\n\n"
                                 "    def forward(self, z):\n"
                                 "        return self.net(z).view(-1, 1, 28, 28)"),
    ("models.image_mlp_discriminator", "def image_mlp_discriminator():\n"
                                       "    return gl.models.MLPDiscriminator(28 * 28, (256, 128))"),
    ("models.DCGANGenerator", "DCGANGenerator = gl.models.DCGANGenerator"),
    ("models.DCGANGenerator", "class DCGANGenerator(gl.models.DCGANGenerator):\n    pass"),
    ("models.DCGANDiscriminator", "class DCGANDiscriminator(nn.Module):\n"
                                  "    def __init__(self, width=32, channels=1):\n"
                                  "        super().__init__()\n"
                                  "        self.net = gl.models.DCGANDiscriminator(width, channels).net\n\n"
                                  "    def forward(self, x):\n"
                                  "        return self.net(x).flatten()"),
    ("image_metrics.knn_radii", "def knn_radii(feat, k=3):\n    return im.knn_radii(feat, k)"),
    ("image_metrics.precision_recall", "from gan_lessons.image_metrics import precision_recall"),
]


@pytest.mark.parametrize("name, source", SHORTCUTS, ids=[source.splitlines()[0] for _, source in SHORTCUTS])
def test_a_cell_that_uses_the_library_is_refused(name, source):
    file = "<a shortcut cell>"

    def make_namespace() -> dict:
        namespace = {"__name__": "shortcut"}
        prelude = "import gan_lessons as gl\nfrom gan_lessons import image_metrics as im\nfrom torch import nn"
        exec(compile(prelude + "\n" + source, file, "exec"), namespace)
        return namespace

    with pytest.raises(AssertionError, match="library's|not a function of the cell"):
        check_written_out(name, make_namespace, file)


# -- lesson 05's training loop: the library's trainer, bit for bit -----------------------------------------------------
# Lesson 05 trains its MNIST MLP GAN with a loop it writes out (its `train_step`, then the run that calls it), and
# says that this is the run GANTrainer makes with the same settings. The cells of that loop carry the tag LOOP_TAG.
LOOP_TAG = "trains-as:training.GANTrainer"
LOOP_LESSON = REPO / "notebooks" / "05_the_adversarial_loop.ipynb"
LOOP_STEPS = 12  # what gl.steps gives the lesson's run here


def loop_namespace(x_train: torch.Tensor, replace: tuple[str, str] | None = None) -> dict:
    """Lesson 05's training run on `x_train`, on the CPU, in place of its data: the notebook's imports, its
    written-out cells and its loop cells, run in order up to the last loop cell, with `gl.steps` giving LOOP_STEPS.
    `replace` = (old, new) first changes the first `old` in the loop cells to `new` (the mutation tests)."""
    cells = code_cells(LOOP_LESSON)
    loop = [i for i, cell in cells if LOOP_TAG in cell.get("metadata", {}).get("tags", [])]
    assert loop, f"{LOOP_LESSON.name} has no cell tagged {LOOP_TAG}"
    namespace: dict = {"__name__": f"lesson_{LOOP_LESSON.stem}", "x_train": x_train, "device": torch.device("cpu")}
    with mock.patch.object(importlib.import_module("gan_lessons"), "steps", lambda full, fast: LOOP_STEPS):
        for i, cell in cells:
            if i > loop[-1]:
                break
            text = python_of(cell)
            if i in loop and replace is not None and replace[0] in text:
                text, replace = text.replace(*replace, 1), None
            run = text if i in loop or written_names(cell) else imports_of(text)
            exec(compile(run, f"<{LOOP_LESSON.name} cell {i}>", "exec"), namespace)
    assert replace is None, "the text to alter is in no loop cell; update the mutation"
    return namespace


def trainer_run(x_train: torch.Tensor):
    """The run the lesson names: the library's G and D from seed 0, and GANTrainer with the lesson's settings
    (noise of 100, Adam at 5e-4 with betas (0.5, 0.999) for both, batches of 64, no regularizer)."""
    gl = importlib.import_module("gan_lessons")
    gl.seed_everything(0)
    G, D = gl.models.ImageMLPGenerator(z_dim=100), gl.models.image_mlp_discriminator()
    trainer = gl.training.GANTrainer(G, D, gl.data.BatchSampler(x_train, 64), z_dim=100, lr_d=5e-4, lr_g=5e-4,
                                     regularizer="none")
    trainer.run(LOOP_STEPS, progress=False)
    return trainer


def compare_loop_with_trainer(replace: tuple[str, str] | None = None) -> None:
    """The lesson's run and the trainer's on a small made-up dataset: the same weights, the same gradients left
    by the last step (G's step gives D's weights none), the same losses, and the same random state afterwards
    (so the samples drawn next are the same)."""
    x_train = images(200, 1, seed=11)
    with torch.random.fork_rng(devices=[]):
        namespace = loop_namespace(x_train, replace)
        lesson_rng = torch.get_rng_state()
        trainer = trainer_run(x_train)
        trainer_rng = torch.get_rng_state()
    same_run(namespace, "G_img", "D_img", lesson_rng, trainer, trainer_rng, LOOP_STEPS)


def same_run(namespace: dict, g_name: str, d_name: str, lesson_rng, trainer, trainer_rng, steps: int) -> None:
    """The lesson's G and D (names in its namespace) and the trainer's: the same weights, the same gradients left by
    the last step, the same recorded losses and the same random state afterwards."""
    for name, ours, theirs in (("G", namespace[g_name], trainer.generator),
                               ("D", namespace[d_name], trainer.discriminator)):
        same(ours.state_dict(), theirs.state_dict(), f"{name}'s weights after {steps} steps")
        same({n: p.grad for n, p in ours.named_parameters()}, {n: p.grad for n, p in theirs.named_parameters()},
             f"{name}'s gradients left by the last step")
    for key in ("loss_d", "loss_g"):
        same(namespace["history"][key], trainer.history[key], f"the recorded {key}")
    same(lesson_rng, trainer_rng, "the random states after training")


def test_the_lessons_training_loop_is_the_trainers_run():
    compare_loop_with_trainer()


LOOP_MUTATIONS = [  # one change each to the loop cells, each a way of not running the trainer's algorithm
    ("z = torch.randn(len(x_real), z_dim, device=x_real.device)\n    D.requires_grad_(False)",
     "D.requires_grad_(False)"),  # G's step reuses the noise of D's step
    ("D.requires_grad_(False)", "D.requires_grad_(True)"),  # D's weights collect gradients in G's step
    ("opt_d = gl.training.adam(D_img.parameters(), lr=5e-4, betas=(0.5, 0.999))",
     "opt_d = torch.optim.Adam(D_img.parameters(), lr=5e-4, betas=(0.5, 0.999))"),  # Adam without the fused kernel
    ("opt_g = gl.training.adam(G_img.parameters(), lr=5e-4, betas=(0.5, 0.999))",
     "opt_g = gl.training.adam(G_img.parameters(), lr=5e-4, betas=(0.9, 0.999))"),
]


@pytest.mark.parametrize("old, new", LOOP_MUTATIONS, ids=[new.splitlines()[0] for _, new in LOOP_MUTATIONS])
def test_an_altered_loop_is_caught(old, new):
    with pytest.raises(AssertionError, match="differ"):
        compare_loop_with_trainer(replace=(old, new))


# -- lesson 08's WGAN loop: the library's trainer with WGAN's settings, bit for bit ----------------------------------
# Lesson 08 writes out WGAN's Algorithm 1 (Arjovsky et al., 2017): its `wgan_step`, the run's setup (lesson 07's 2-D
# GAN on the ring, the critic's weights drawn in [-c, c], RMSProp for both) and the run; those cells carry LOOP_TAG.
# The comparison starts where the run starts: the trainer gets copies of the lesson's G and D as they are just
# before the run, and the random state of that moment; both then draw their batches and noise in the same order.
WGAN_LESSON = REPO / "notebooks" / "08_stability_fixes.ipynb"
WGAN_STEPS = 8  # generator steps of each run here: 40 critic updates
WGAN_SETTINGS = {"loss": "wgan", "optimizer": "rmsprop", "d_steps": 5, "clip": 0.01, "lr_d": 5e-5, "lr_g": 5e-5}


def wgan_lesson_run(replace: tuple[str, str] | None = None) -> tuple[dict, tuple]:
    """Lesson 08's WGAN run for WGAN_STEPS generator steps, on the CPU: the notebook's imports, its written-out cells
    and its loop cells, run in order up to the last loop cell (the run). Returns the namespace and the run's start:
    copies of G and D and the random state just before it. `replace` = (old, new) first changes the first `old` in
    the loop cells to `new` (the mutation tests)."""
    cells = code_cells(WGAN_LESSON)
    loop = [i for i, cell in cells if LOOP_TAG in cell.get("metadata", {}).get("tags", [])]
    assert len(loop) >= 2, f"{WGAN_LESSON.name} has no setup and run cells tagged {LOOP_TAG}"
    namespace: dict = {"__name__": f"lesson_{WGAN_LESSON.stem}"}
    for i, cell in cells:
        if i > loop[-1]:
            break
        text = python_of(cell)
        if i in loop and replace is not None and replace[0] in text:
            text, replace = text.replace(*replace, 1), None
        if i == loop[-1]:  # the run: from here on the trainer must do the same
            namespace["n_steps"] = WGAN_STEPS
            start = copy.deepcopy(namespace["G_wgan"]), copy.deepcopy(namespace["D_wgan"]), torch.get_rng_state()
        run = text if i in loop or written_names(cell) else imports_of(text)
        exec(compile(run, f"<{WGAN_LESSON.name} cell {i}>", "exec"), namespace)
    assert replace is None, "the text to alter is in no loop cell; update the mutation"
    return namespace, start


def wgan_trainer_run(G: torch.nn.Module, D: torch.nn.Module, rng_state: torch.Tensor):
    """GANTrainer with WGAN's settings (GANConfig's defaults otherwise: no regularizer, z_dim 2) on batches of 256
    from the ring, from the given G, D and random state."""
    gl = importlib.import_module("gan_lessons")
    torch.set_rng_state(rng_state)
    trainer = gl.training.GANTrainer(G, D, gl.data.make_target("ring8").sampler(256), **WGAN_SETTINGS)
    trainer.run(WGAN_STEPS, progress=False)
    return trainer


def compare_wgan_loop_with_trainer(replace: tuple[str, str] | None = None) -> None:
    """The lesson's run and the trainer's: the same weights, the same gradients left by the last step (the critic's
    last update for D: G's step gives D's weights none), the same losses, the same random state afterwards."""
    with torch.random.fork_rng(devices=[]):
        namespace, (G, D, rng_state) = wgan_lesson_run(replace)
        lesson_rng = torch.get_rng_state()
        trainer = wgan_trainer_run(G, D, rng_state)
        trainer_rng = torch.get_rng_state()
    same_run(namespace, "G_wgan", "D_wgan", lesson_rng, trainer, trainer_rng, WGAN_STEPS)


def test_the_lessons_wgan_loop_is_the_trainers_run():
    compare_wgan_loop_with_trainer()


WGAN_MUTATIONS = [  # one change each to the loop cells, each a way of not running Algorithm 1 as the trainer does
    ("opt_d.step()\n        with torch.no_grad():  # every weight, biases included, into [-c, c]\n"
     "            for p in D.parameters():\n                p.clamp_(-c, c)",
     "with torch.no_grad():  # the clip before the step\n"
     "            for p in D.parameters():\n                p.clamp_(-c, c)\n        opt_d.step()"),
    ("n_critic=5", "n_critic=4"),
    ("p.clamp_(-c, c)", "p.clamp_(-c, c) if p.dim() > 1 else None  # biases left unclipped"),
    ("D.requires_grad_(False)", "D.requires_grad_(True)"),  # D's weights collect gradients in G's step
    ("lr=5e-5)  # alpha", "lr=5e-5, alpha=0.9)  # alpha"),  # RMSProp's averaging of squared gradients, not torch's 0.99
]


@pytest.mark.parametrize("old, new", WGAN_MUTATIONS, ids=[new.splitlines()[0] for _, new in WGAN_MUTATIONS])
def test_an_altered_wgan_loop_is_caught(old, new):
    with pytest.raises(AssertionError, match="differ"):
        compare_wgan_loop_with_trainer(replace=(old, new))
