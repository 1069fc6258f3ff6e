"""Which starting settings get the lab's ring covered soonest: `python -m benchmarks.lab_defaults [--seeds N]`.

Each candidate is a TrainConfig that differs from the lab's default in the fields named; it trains (the trainer
alone, one torch thread, no drawing) until 2,000 samples cover 8/8 modes of the ring with >= 80% high-quality
samples, checked every 50 steps, or until `--max-steps`. The table gives steps and seconds to that point per seed
(a dash: not reached) and is written to benchmarks/lab_defaults.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from gan_lessons.config import TrainConfig, replace, seed_everything
from gan_lessons.metrics import evaluate_2d
from gan_lessons.training import make_2d_trainer

CANDIDATES: dict[str, dict] = {
    "lab default (R1 0.1, lr 1e-3)": {},
    "no regularizer": {"regularizer": "none"},
    "R1 1": {"reg_weight": 1.0},
    "lr 2e-3": {"lr_d": 2e-3, "lr_g": 2e-3},
    "lr 5e-4": {"lr_d": 5e-4, "lr_g": 5e-4},
    "batch 512": {"batch_size": 512},
    "batch 128": {"batch_size": 128},
    "depth 3": {"depth": 3},
    "hidden 256": {"hidden": 256},
    "z_dim 8": {"z_dim": 8},
    "beta1 0.9": {"beta1": 0.9},
    "beta1 0": {"beta1": 0.0},
    "TTUR lr_d 2e-3": {"lr_d": 2e-3},
    "ema 0.99": {"ema": 0.99},
}


def steps_to_ring(cfg: TrainConfig, max_steps: int, every: int = 50, n: int = 2000) -> tuple[int | None, float]:
    """Steps and training seconds (evaluation excluded) until 8/8 modes with >= 80% high-quality samples."""
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg)
    seconds = 0.0
    while trainer.step_count < max_steps:
        start = time.perf_counter()
        trainer.run(every, progress=False)
        seconds += time.perf_counter() - start
        sample = trainer.ema.sample(n) if trainer.ema is not None else trainer.sample(n)
        score = evaluate_2d(sample, target)
        if score["modes"] == 8 and score["hq"] >= 80:
            return trainer.step_count, seconds
    return None, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lab_defaults", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=4000)
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("lab_defaults.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name, changes in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        runs = []
        for seed in range(args.seeds):
            steps, seconds = steps_to_ring(replace(TrainConfig(device="cpu"), seed=seed, **changes), args.max_steps)
            runs.append({"seed": seed, "steps": steps, "seconds": round(seconds, 2)})
            print(name, runs[-1], flush=True)
        results[name] = {"changes": changes, "max_steps": args.max_steps, "runs": runs}
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
