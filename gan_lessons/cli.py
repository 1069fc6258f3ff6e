"""The command line: `python -m gan_lessons doctor`, `... train ...`, `... compare ...` and `... evaluate ...`.

Each command is a function that takes the parsed arguments and a function that adds its arguments to the
parser; `COMMANDS` lists them, so a new command is one entry there.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from . import evaluate
from .config import LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig, _check_choice, _check_positive, get_device

PACKAGES = ("torch", "jupyterlab", "ipywidgets", "nbval", "matplotlib", "numpy", "tqdm")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _datasets() -> list[tuple[str, str]]:
    from .data import mnist_available
    from .data.mnist import default_data_dir

    rows = [("2-D targets", "generated on the fly: " + ", ".join(TARGET_NAMES))]
    try:
        import sklearn  # noqa: F401  (the 8x8 digits ship inside scikit-learn)
        rows.append(("8x8 digits", "bundled with scikit-learn (1,797 images)"))
    except ImportError:
        rows.append(("8x8 digits", "missing: pip install scikit-learn"))
    for split in ("train", "test"):
        found = "found" if mnist_available(split) else f"not found (downloaded into {default_data_dir()} on first use)"
        rows.append((f"MNIST {split}", found))
    return rows


def doctor() -> str:
    """A report of versions, the device and the datasets, as printed by `python -m gan_lessons doctor`."""
    lines = [f"{'python':<12} {platform.python_version()}"]
    lines += [f"{name:<12} {_version(name)}" for name in PACKAGES]
    device = get_device("auto")
    note = "" if device.type != "cpu" else " (no GPU found: every lesson runs on the CPU, the image lessons more slowly)"
    lines += ["", f"{'device':<12} {device}{note}", ""]
    lines += [f"{name:<12} {status}" for name, status in _datasets()]
    return "\n".join(lines)


def train(args: argparse.Namespace) -> dict:
    """Train a 2-D GAN; write samples.png, metrics.json and checkpoint.pt into args.out."""
    from . import plots
    from .config import seed_everything
    from .metrics import EVAL_SAMPLES, evaluate_2d
    from .training import make_2d_trainer

    from .fixes import LinearDecay

    cfg = TrainConfig(**{name: getattr(args, name) for name in TRAIN_FIELDS})
    _check_positive("steps", args.steps, int)
    out = Path(args.out)
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
    extra = {"config": cfg.__dict__, **({"ema": trainer.ema.state_dict()} if trainer.ema is not None else {})}
    trainer.save(out / "checkpoint.pt", extra=extra)
    return metrics


def compare(args: argparse.Namespace) -> list[dict]:
    """Every fix of lesson 08 on one target, seeds 0..K-1: print the table, write the rows as JSON."""
    from .comparison import FIX_NAMES, compare as compare_fixes, format_table

    _check_choice("target", args.target, ("ring8", "grid25"))
    fixes = tuple(args.fixes.split(",")) if args.fixes else FIX_NAMES
    for fix in fixes:
        _check_choice("fixes", fix, FIX_NAMES)
    path = Path(args.json) if args.json else None
    if path is not None and path.is_dir():
        raise ValueError(f"json={str(path)!r} is a folder; give the path of a file to write")
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    rows = compare_fixes(args.target, args.steps, args.seeds, fixes, progress, args.jobs)  # validates steps, seeds, jobs
    print(f"{args.target}, {args.steps} steps, mean ± std over seeds 0..{args.seeds - 1}")
    print(format_table(rows))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()} for row in rows]
        path.write_text(json.dumps(clean, indent=2, allow_nan=False) + "\n")
    return rows


def to_json(metrics: dict) -> str:
    """Strict JSON: a reverse KL that does not exist (no high-quality sample) is written as null."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    return json.dumps(clean, indent=2, allow_nan=False) + "\n"


# TrainConfig fields that `train` takes from the command line (option --z-dim for field z_dim, and so on).
TRAIN_FIELDS = ("target", "loss", "seed", "z_dim", "hidden", "depth", "batch_size", "lr_d", "lr_g", "beta1", "beta2",
                "d_steps", "regularizer", "reg_weight", "device", "clip", "spectral_norm", "feature_matching",
                "label_smoothing", "instance_noise", "noise_anneal", "ema", "pack", "lr_decay")
COMPARE_STEPS = {"ring8": 4000, "grid25": 8000}  # compare's default steps: what the best fix needs (lesson 08)


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    """doctor takes no arguments."""


def add_train_arguments(t: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    t.add_argument("--target", default=d.target, help=f"one of: {', '.join(TARGET_NAMES)}")
    t.add_argument("--loss", default=d.loss, help=f"one of: {', '.join(LOSS_NAMES)}")
    t.add_argument("--steps", type=int, default=2000, help="training steps (one G update each)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--out", default="runs/latest", help="folder for samples.png, metrics.json, checkpoint.pt")
    t.add_argument("--z-dim", type=int, default=d.z_dim)
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--lr-d", type=float, default=d.lr_d)
    t.add_argument("--lr-g", type=float, default=d.lr_g)
    t.add_argument("--d-steps", type=int, default=d.d_steps)
    t.add_argument("--regularizer", default=d.regularizer, help=f"one of: {', '.join(REGULARIZER_NAMES)}")
    t.add_argument("--reg-weight", type=float, default=d.reg_weight)
    t.add_argument("--device", default=d.device, help="auto, cpu, cuda or mps")
    t.add_argument("--hidden", type=int, default=d.hidden, help="width of the hidden layers of G and D")
    t.add_argument("--depth", type=int, default=d.depth, help="hidden layers of G and of D")
    t.add_argument("--beta1", type=float, default=d.beta1)
    t.add_argument("--beta2", type=float, default=d.beta2)
    fixes = t.add_argument_group("stability fixes (lesson 08); each is off by default")
    fixes.add_argument("--clip", type=float, default=d.clip, help="WGAN weight clipping bound c (0.01 is usual)")
    fixes.add_argument("--spectral-norm", action="store_true", help="spectral normalization of D's layers")
    fixes.add_argument("--feature-matching", type=float, default=d.feature_matching, help="weight of G's feature matching")
    fixes.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="one-sided: real target 1 - s")
    fixes.add_argument("--instance-noise", type=float, default=d.instance_noise, help="std of noise on D's inputs")
    fixes.add_argument("--noise-anneal", type=int, default=d.noise_anneal, help="steps to anneal instance noise to 0")
    fixes.add_argument("--ema", type=float, default=d.ema, help="beta of the EMA of G (0.999 is usual); samples from it")
    fixes.add_argument("--pack", type=int, default=d.pack, help="PacGAN: D judges this many samples at once")
    fixes.add_argument("--lr-decay", type=float, default=d.lr_decay, help="last fraction of the run with decaying lr")


def add_compare_arguments(c: argparse.ArgumentParser) -> None:
    from .comparison import FIX_NAMES

    c.add_argument("--target", default="ring8", help="ring8 or grid25")
    c.add_argument("--steps", type=int, default=None,
                   help=f"training steps per run (default: {', '.join(f'{k} {v}' for k, v in COMPARE_STEPS.items())})")
    c.add_argument("--seeds", type=int, default=3, help="seeds 0..K-1 per fix")
    c.add_argument("--json", default=None, help="write the rows here as JSON")
    c.add_argument("--verbose", action="store_true", help="print each row to stderr as soon as it is measured")
    c.add_argument("--jobs", type=int, default=1, help="runs trained at once, one core each (default 1)")
    c.add_argument("--fixes", default="", help=f"comma-separated subset of: {', '.join(FIX_NAMES)} (default: all)")


def run_compare(args: argparse.Namespace) -> None:
    if args.steps is None:
        args.steps = COMPARE_STEPS.get(args.target, 1)
    compare(args)


# name: (help, add its arguments to a subparser, run it on the parsed arguments)
COMMANDS = {
    "doctor": ("print versions, the device and which datasets are available", add_doctor_arguments,
               lambda args: print(doctor())),
    "train": ("train a GAN on a 2-D target and write samples, metrics and a checkpoint", add_train_arguments,
              lambda args: print(to_json(train(args)), end="")),
    "compare": ("every stability fix on ring8 or grid25 over seeds: a table and JSON", add_compare_arguments,
                run_compare),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    evaluate.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "evaluate":
            print(evaluate.run(args))
        else:
            COMMANDS[args.command][2](args)
    except ValueError as error:
        parser.error(str(error))  # exit status 2 with the message that names the parameter
    return 0


if __name__ == "__main__":
    sys.exit(main())
