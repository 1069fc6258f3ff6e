from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import platform
import sys
import time
import traceback
from importlib import metadata

from .config import MAX_STEPS, TARGET_NAMES, TrainConfig, check_choice, check_int, get_device, later, pad
from .files import atomic_write, check_writable
from .i18n import get_language, tr

# The module's docstring, which `--help` prints above the commands, marked for translation (a docstring cannot be):
__doc__ = later.tr("""The command line: `python -m gan_lessons doctor`, `... train ...`, `... compare ...` and `... evaluate ...`.

Each command is a function that takes the parsed arguments and a function that adds its arguments to the
parser; `COMMANDS` lists them, so a new command is one entry there. `train`'s options are made from the fields of
`TrainConfig` (option --z-dim for field z_dim, its help and its allowed values), so a new setting is one field there.

Each command checks its paths before it starts working. `main` turns every expected failure (a bad value, a bad
file or path, a diverged training) into one paragraph and exit status 2, and any other error into a short note
that it is a bug, exit status 1; `--debug`, anywhere on the command line, adds the traceback.
""")

PACKAGES = ("torch", "jupyterlab", "ipywidgets", "nbval", "matplotlib", "numpy", "tqdm")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return tr("not installed")


def _datasets() -> list[tuple[str, str]]:
    from .data import mnist_available
    from .data.mnist import default_data_dir

    rows = [(tr("2-D targets"), tr("generated on the fly: {names}", names=", ".join(TARGET_NAMES)))]
    try:
        import sklearn  # noqa: F401  (the 8x8 digits ship inside scikit-learn)
        rows.append((tr("8x8 digits"), tr("bundled with scikit-learn (1,797 images)")))
    except ImportError:
        rows.append((tr("8x8 digits"), tr("missing: pip install scikit-learn")))
    for split, name in (("train", tr("MNIST train")), ("test", tr("MNIST test"))):
        found = (tr("found") if mnist_available(split)
                 else tr("not found (downloaded into {folder} on first use)", folder=default_data_dir()))
        rows.append((name, found))
    return rows


def doctor() -> str:
    """A report of versions, the device and the datasets, as printed by `python -m gan_lessons doctor`."""
    lines = [f"{'python':<12} {platform.python_version()}"]
    lines += [f"{name:<12} {_version(name)}" for name in PACKAGES]
    device = get_device("auto")
    note = "" if device.type != "cpu" else " " + tr("(no GPU found: every lesson runs on the CPU, the image lessons "
                                                    "more slowly)")
    lines += ["", f"{pad(tr('device'), 12)} {device}{note}", ""]
    lines += [f"{pad(name, 12)} {status}" for name, status in _datasets()]
    return "\n".join(lines)


def train(args: argparse.Namespace) -> dict:
    """Train a 2-D GAN; write samples.png, metrics.json and checkpoint.pt into args.out."""
    from . import plots
    from .config import seed_everything
    from .metrics import EVAL_SAMPLES, evaluate_2d
    from .training import make_2d_trainer

    from .fixes import LinearDecay

    cfg = TrainConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)})
    check_int("steps", args.steps, 1, MAX_STEPS)
    out = check_writable("out", args.out, "folder")
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg)
    start = time.perf_counter()
    trainer.run(args.steps, [LinearDecay(trainer, args.steps, cfg.lr_decay)] if cfg.lr_decay > 0 else [])
    seconds = time.perf_counter() - start
    fake = trainer.ema.sample(EVAL_SAMPLES) if trainer.ema is not None else trainer.sample(EVAL_SAMPLES)
    metrics = {**evaluate_2d(fake, target), "steps": args.steps, "seconds": round(seconds, 3)}
    ax = plots.scatter_2d(target.sample(EVAL_SAMPLES), fake, extent=target.extent, centres=target.centres,
                          title=plots.coverage_title(metrics))
    ax.figure.savefig(out / "samples.png", dpi=120, bbox_inches="tight")
    (out / "metrics.json").write_text(to_json(metrics))
    trainer.save(out / "checkpoint.pt")
    return metrics


def compare(args: argparse.Namespace) -> list[dict]:
    """Every fix of lesson 08 on one target, seeds 0..K-1: print the table, write the rows as JSON."""
    from .comparison import BASES, FIX_NAMES, compare as compare_fixes, format_table

    check_choice("target", args.target, ("ring8", "grid25"))
    fixes = tuple(args.fixes.split(",")) if args.fixes else FIX_NAMES
    for fix in fixes:
        check_choice("fixes", fix, FIX_NAMES)
    path = check_writable("json", args.json, "file") if args.json else None
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    schedule = {"lr_decay": args.lr_decay} if args.lr_decay else {}
    check_choice("base", args.base, tuple(BASES))
    cache = check_writable("cache", args.cache, "file") if args.cache else None
    rows = compare_fixes(args.target, args.steps, args.seeds, fixes, progress, args.jobs, args.settings,
                         BASES[args.base], cache, **schedule)
    decay = (tr(", learning rates decayed over the last {fraction:g} of the run", fraction=args.lr_decay)
             if args.lr_decay else "")
    print(tr("{target}, {steps} steps, base {base}, {settings} settings{decay}, mean ± std over seeds 0..{last}",
             target=args.target, steps=args.steps, base=args.base, settings=args.settings, decay=decay,
             last=args.seeds - 1))
    print(format_table(rows))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as f:
            f.write(json.dumps(finite(rows), indent=1, allow_nan=False) + "\n")
    return rows


def finite(value):
    """`value` with every float that is not finite (a reverse KL that does not exist) replaced by None, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def to_json(metrics: dict) -> str:
    """Strict JSON: a reverse KL that does not exist (no high-quality sample) is written as null."""
    return json.dumps(finite(metrics), indent=2, allow_nan=False) + "\n"


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    """doctor takes no arguments."""


def add_train_arguments(t: argparse.ArgumentParser) -> None:
    """--steps and --out, then one option per field of TrainConfig, with the field's default, help and limits."""
    t.add_argument("--steps", type=int, default=2000, help=tr("training steps (one G update each)"))
    t.add_argument("--out", default="runs/latest", help=tr("folder for samples.png, metrics.json, checkpoint.pt"))
    for field in dataclasses.fields(TrainConfig):
        add_field_option(t, field)


def add_field_option(parser: argparse.ArgumentParser, field: dataclasses.Field) -> None:
    """The option --name-with-dashes for a configuration field: a flag for a bool, else a value of the field's type,
    checked by the configuration itself (so that a bad value gets its message naming the field). The help is said
    in the language in use (the field's help is an English template: config.later)."""
    m, option = field.metadata, "--" + field.name.replace("_", "-")
    if field.type == "bool":
        parser.add_argument(option, action="store_true", help=tr(m["help"]))
        return
    if m["choices"] is not None:
        allowed = tr("one of: {choices}", choices=", ".join(m["choices"]))
    else:
        allowed = f"{'[' if m['include_low'] else '('}{m['low']:g}, {m['high']:g}]"
    parser.add_argument(option, type={"int": int, "float": float, "str": str}[field.type], default=field.default,
                        help=tr("{help} ({allowed}; default {default})", help=tr(m["help"]), allowed=allowed,
                                default=field.default))


def add_compare_arguments(c: argparse.ArgumentParser) -> None:
    """compare's options: target, steps, seeds, JSON output, verbosity, jobs, a subset of fixes."""
    from .comparison import FIX_NAMES, TABLE_STEPS

    c.add_argument("--target", default="ring8", help=tr("ring8 or grid25"))
    c.add_argument("--steps", type=int, default=None,
                   help=tr("training steps per run (default: {defaults})",
                           defaults=", ".join(f"{k} {v}" for k, v in TABLE_STEPS.items())))
    c.add_argument("--seeds", type=int, default=3, help=tr("seeds 0..K-1 per fix"))
    c.add_argument("--json", default=None, help=tr("write the rows here as JSON"))
    c.add_argument("--verbose", action="store_true", help=tr("print each row to stderr as soon as it is measured"))
    c.add_argument("--jobs", type=int, default=1, help=tr("runs trained at once, one core each (default 1)"))
    c.add_argument("--settings", default="paper", choices=("paper", "search"),
                   help=tr("paper: each fix at its published settings; search: 8 configurations around them on seed "
                           "0, the best 3 on every seed, and the best of those (the same budget for every fix)"))
    c.add_argument("--base", default="deeper", choices=("lesson07", "deeper"),
                   help=tr("the GAN every fix changes: deeper (the default, lesson 08's base: lesson 07's plain GAN with "
                           "3 hidden layers, batch 128 and both learning rates decayed over the second half) or "
                           "lesson07 (lesson 07's plain GAN)"))
    c.add_argument("--lr-decay", type=float, default=0.0,
                   help=tr("for every fix: both learning rates fall linearly to 0 over this last fraction of the "
                           "run"))
    c.add_argument("--cache", default=None,
                   help=tr("keep every finished run in this file (one JSON line each) and skip the runs already "
                           "there, so that a stopped comparison goes on where it stopped"))
    c.add_argument("--fixes", default="",
                   help=tr("comma-separated subset of: {fixes} (default: all)", fixes=", ".join(FIX_NAMES)))


def add_evaluate_arguments(e: argparse.ArgumentParser) -> None:
    """A checkpoint with "generator" weights and an "arch" entry (models.ARCHS), and how to score it."""
    from .models import arch_help

    e.description = tr("Every image metric of a saved generator, beside the same metric for two sets of real images. "
                       "{help}", help=arch_help())
    e.add_argument("checkpoint", help=tr("a checkpoint with 'generator' weights and an 'arch' entry"))
    e.add_argument("--samples", type=int, default=1000,
                   help=tr("generated (and real) images per metric (default 1000)"))
    e.add_argument("--json", default=None, help=tr("also write the metrics to this JSON file"))
    e.add_argument("--seed", type=int, default=0, help=tr("seeds the noise and the choice of real images"))


def evaluate(args: argparse.Namespace) -> str:
    """Evaluate a checkpoint's generator, write --json if asked, and return the table to print."""
    from . import classifier
    from .checkpoints import load_generator
    from .image_metrics import evaluate_images, format_metrics

    check_int("samples", args.samples, 10, 5000)
    path = check_writable("json", args.json, "file") if args.json else None
    generator = load_generator(args.checkpoint)
    result = evaluate_images(generator, n=args.samples, classifier=classifier.load_classifier(verbose=False),
                             seed=args.seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as f:
            f.write(json.dumps({"checkpoint": str(args.checkpoint), **result}, indent=2) + "\n")
    return format_metrics(result)


def run_compare(args: argparse.Namespace) -> None:
    """compare with the steps of lesson 08's tables for the target when --steps is not given."""
    from .comparison import TABLE_STEPS

    if args.steps is None:
        args.steps = TABLE_STEPS.get(args.target, 1)
    compare(args)


# name: (help, add its arguments to a subparser, run it on the parsed arguments); the help is said with tr()
COMMANDS = {
    "doctor": (later.tr("print versions, the device and which datasets are available"), add_doctor_arguments,
               lambda args: print(doctor())),
    "train": (later.tr("train a GAN on a 2-D target and write samples, metrics and a checkpoint"),
              add_train_arguments, lambda args: print(to_json(train(args)), end="")),
    "compare": (later.tr("every stability fix on ring8 or grid25 over seeds: a table and JSON"),
                add_compare_arguments, run_compare),
    "evaluate": (later.tr("image metrics of a saved MNIST generator, beside real vs real"), add_evaluate_arguments,
                 lambda args: print(evaluate(args))),
}


DEBUG = "--debug"  # accepted by every command, anywhere on the line: a failure also prints its traceback


def debug_help() -> str:
    """What --debug does, below every command's help."""
    return tr("{debug}: when the command fails, also print the traceback (to report a bug)", debug=DEBUG)


def bug_note() -> str:
    """What `main` says after an unexpected error: a bug to report, not the user's fault."""
    return tr("This is a bug in gan_lessons, not a problem with what you typed: please report it to the project (see "
              "its README.md) with the command line and what the same command prints with {debug}.", debug=DEBUG)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command in COMMANDS (--debug is taken out of the line before it, by `main`), its help in
    the language in use."""
    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=tr(__doc__), epilog=debug_help())
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=tr(help_text), epilog=debug_help()))
    return parser


def expected_failures() -> tuple[type[Exception], ...]:
    """What a command raises on a bad value, a bad file or path, or a diverged training: told in one paragraph."""
    from .guard import DivergenceError

    return ValueError, OSError, DivergenceError


def paragraph(error: BaseException) -> str:
    """An error's message on one line (multi-line messages joined), or its type when it has none."""
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command. An expected failure exits with status 2 and a message naming
    what was wrong, any other error with status 1 and a note that it is a bug; --debug adds the traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = DEBUG in argv
    with argparse_in_language():
        parser = build_parser()
        args = parser.parse_args([arg for arg in argv if arg != DEBUG])
        expected = expected_failures()
        try:
            COMMANDS[args.command][2](args)
        except expected as error:
            if debug:
                traceback.print_exc()
            parser.error(paragraph(error))  # exit status 2 with the message that names the parameter or the file
        except Exception as error:  # noqa: BLE001 (not the user's fault: say so, without a wall of traceback)
            if debug:
                traceback.print_exc()
            parser.exit(1, tr("{prog} {command}: unexpected error: {kind}: {message}", prog=parser.prog,
                              command=args.command, kind=type(error).__name__, message=paragraph(error))
                        + f"\n{bug_note()}\n")
    return 0


def argparse_words() -> dict[str, str]:
    """argparse's own words that a user of these commands may read (usage, errors of the line, the help option), in
    the language in use: the English text as argparse says it -> what to say instead. The %-fields stay."""
    return {"usage: ": tr("usage: "), "options": tr("options"), "positional arguments": tr("positional arguments"),
            "show this help message and exit": tr("show this help message and exit"),
            "%(prog)s: error: %(message)s\n": tr("%(prog)s: error: %(message)s\n"),
            "argument %(argument_name)s: %(message)s": tr("argument %(argument_name)s: %(message)s"),
            "invalid choice: %(value)r (choose from %(choices)s)":
                tr("invalid choice: %(value)r (choose from %(choices)s)"),
            "invalid %(type)s value: %(value)r": tr("invalid %(type)s value: %(value)r"),
            "the following arguments are required: %s": tr("the following arguments are required: %s"),
            "unrecognized arguments: %s": tr("unrecognized arguments: %s"),
            "expected one argument": tr("expected one argument"),
            "ambiguous option: %(option)s could match %(matches)s":
                tr("ambiguous option: %(option)s could match %(matches)s")}


@contextlib.contextmanager
def argparse_in_language():
    """While the block runs, argparse says its own words (argparse_words) in the language in use. argparse looks
    each one up with gettext when it says it, through its module's `_`: in another language than English, that
    function is replaced for the block, then put back."""
    if get_language() == "en":
        yield
        return
    words, previous = argparse_words(), argparse._
    argparse._ = lambda text: words.get(text, previous(text))
    try:
        yield
    finally:
        argparse._ = previous


if __name__ == "__main__":
    sys.exit(main())
