"""`python -m gan_lessons evaluate CHECKPOINT`: every image metric of a saved generator, beside real vs real.

A checkpoint says which generator it holds in an "arch" entry, saved with the trainer's `extra`:

    trainer.save("runs/dcgan.pt", extra={"arch": {"generator": "dcgan", "z_dim": 100, "width": 32}})

"generator" is one of ARCHS; the other keys are the constructor's arguments (defaults as in models.py):
    "mlp":             z_dim, widths (list)        -> models.ImageMLPGenerator
    "dcgan":           z_dim, width                -> models.DCGANGenerator
    "conditional_mlp": z_dim, n_classes, widths    -> models.ConditionalMLPGenerator
The weights are read from the checkpoint's "generator" entry (a state_dict) with torch.load(weights_only=True).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from torch import nn

from . import models
from .checkpoints import write_atomic

ARCHS = {
    "mlp": lambda a: models.ImageMLPGenerator(a.get("z_dim", 100), tuple(a.get("widths", (128, 256)))),
    "dcgan": lambda a: models.DCGANGenerator(a.get("z_dim", 100), a.get("width", 32)),
    "conditional_mlp": lambda a: models.ConditionalMLPGenerator(a.get("z_dim", 100), a.get("n_classes", 10),
                                                                tuple(a.get("widths", (256, 512)))),
}
ARCH_HELP = ('save the checkpoint with trainer.save(path, extra={"arch": {"generator": "dcgan", "z_dim": 100, '
             '"width": 32}}); "generator" is one of: ' + ", ".join(ARCHS))


def write_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """torch.save into a temporary file beside `path`, then os.replace: never half a file at `path`."""
    return write_atomic(path, state)


def build_generator(arch: dict) -> nn.Module:
    """The (untrained) generator that an "arch" entry describes."""
    if not isinstance(arch, dict) or arch.get("generator") not in ARCHS:
        raise ValueError(f"arch={arch!r} is not known: it must be a dict whose 'generator' is one of "
                         f"{', '.join(ARCHS)}; {ARCH_HELP}")
    return ARCHS[arch["generator"]](arch)


def load_generator(path: str | os.PathLike) -> nn.Module:
    """The generator saved in a checkpoint that has "generator" weights and an "arch" entry, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint={str(path)!r} does not exist; pass the path of a file written by trainer.save")
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only: runs no code
    if not isinstance(state, dict) or "generator" not in state:
        raise ValueError(f"checkpoint {path} has no 'generator' weights; pass a file written by trainer.save")
    if "arch" not in state:
        raise ValueError(f"checkpoint {path} has no 'arch' entry, so the generator it holds is unknown; {ARCH_HELP}")
    generator = build_generator(state["arch"])
    try:
        generator.load_state_dict(state["generator"])
    except RuntimeError as error:
        raise ValueError(f"checkpoint {path}: its weights do not fit arch={state['arch']!r}: "
                         f"{str(error).splitlines()[0]}") from error
    return generator.eval()


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `evaluate` on the command line's subparsers."""
    e = sub.add_parser("evaluate", help="image metrics of a saved MNIST generator, beside real vs real",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("checkpoint", help="a checkpoint with 'generator' weights and an 'arch' entry")
    e.add_argument("--samples", type=int, default=1000, help="generated (and real) images per metric (default 1000)")
    e.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    e.add_argument("--seed", type=int, default=0, help="seeds the noise and the choice of real images")


def run(args: argparse.Namespace) -> str:
    """Evaluate, write --json if asked, and return the table to print."""
    from .classifier import load_classifier
    from .config import check_int
    from .image_metrics import evaluate_images, format_metrics

    check_int("samples", args.samples, 10, 5000)
    generator = load_generator(args.checkpoint)
    result = evaluate_images(generator, n=args.samples, classifier=load_classifier(verbose=False), seed=args.seed)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"checkpoint": str(args.checkpoint), **result}, indent=2) + "\n")
    return format_metrics(result)
