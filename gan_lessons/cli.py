"""The command line: `python -m gan_lessons doctor` and `python -m gan_lessons train ...`."""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from .config import LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig, _check_positive, get_device

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

    cfg = TrainConfig(target=args.target, loss=args.loss, z_dim=args.z_dim, batch_size=args.batch_size,
                      lr_d=args.lr_d, lr_g=args.lr_g, d_steps=args.d_steps, regularizer=args.regularizer,
                      reg_weight=args.reg_weight, seed=args.seed, device=args.device)
    _check_positive("steps", args.steps, int)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg)
    start = time.perf_counter()
    trainer.run(args.steps)
    seconds = time.perf_counter() - start
    fake = trainer.sample(EVAL_SAMPLES)
    metrics = {**evaluate_2d(fake, target), "steps": args.steps, "seconds": round(seconds, 3)}
    ax = plots.scatter_2d(target.sample(EVAL_SAMPLES), fake, extent=target.extent, centres=target.centres,
                          title=plots.coverage_title(metrics))
    ax.figure.savefig(out / "samples.png", dpi=120, bbox_inches="tight")
    (out / "metrics.json").write_text(to_json(metrics))
    trainer.save(out / "checkpoint.pt", extra={"config": cfg.__dict__})
    return metrics


def to_json(metrics: dict) -> str:
    """Strict JSON: a reverse KL that does not exist (no high-quality sample) is written as null."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    return json.dumps(clean, indent=2, allow_nan=False) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions, the device and which datasets are available")
    t = sub.add_parser("train", help="train a GAN on a 2-D target and write samples, metrics and a checkpoint")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            print(doctor())
        else:
            print(to_json(train(args)), end="")
    except ValueError as error:
        parser.error(str(error))  # exit status 2 with the message that names the parameter
    return 0


if __name__ == "__main__":
    sys.exit(main())
