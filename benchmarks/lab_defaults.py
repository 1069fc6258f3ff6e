"""Which starting settings get the live lab's ring covered soonest: `python -m benchmarks.lab_defaults`.

Each candidate is a TrainConfig that differs from TrainConfig() in the fields named. It trains as the lab trains
(the trainer with the hand-written backward pass where it applies, one torch thread, no drawing) until 2,500
samples cover 8/8 modes of the ring with >= 80% high-quality samples (the lab's coverage line), checked every 100
steps, or until `--max-steps`. The table gives, per seed, the step and the training seconds (checks excluded) when
that first happened, and is written to benchmarks/lab_defaults.md (raw figures in lab_defaults.json).
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

HERE = Path(__file__).parent
PLAIN = {"regularizer": "none"}
CANDIDATES: dict[str, dict] = {
    "TrainConfig() (R1 0.1, lr 1e-3, depth 2)": {},
    "R1 1": {"reg_weight": 1.0},
    "no regularizer": PLAIN,
    "no regularizer, depth 3": {**PLAIN, "depth": 3},
    "no regularizer, depth 3, lr 2e-3": {**PLAIN, "depth": 3, "lr_d": 2e-3, "lr_g": 2e-3},
    "no regularizer, depth 3, lr 3e-3": {**PLAIN, "depth": 3, "lr_d": 3e-3, "lr_g": 3e-3},
    "no regularizer, depth 3, width 64, lr 3e-3": {**PLAIN, "depth": 3, "hidden": 64, "lr_d": 3e-3, "lr_g": 3e-3},
    "no regularizer, depth 3, width 64, lr 5e-3": {**PLAIN, "depth": 3, "hidden": 64, "lr_d": 5e-3, "lr_g": 5e-3},
    "R1 0.1, depth 3, width 64, lr 3e-3": {"depth": 3, "hidden": 64, "lr_d": 3e-3, "lr_g": 3e-3},
}


def first_covered(cfg: TrainConfig, max_steps: int, every: int = 100, n: int = 2500) -> tuple[int | None, float]:
    """The first checked step with 8/8 modes and >= 80% high-quality samples, and the training seconds until then."""
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg, hand_written_backward=True)
    seconds = 0.0
    while trainer.step_count < max_steps:
        start = time.perf_counter()
        trainer.run(every, progress=False)
        seconds += time.perf_counter() - start
        score = evaluate_2d(trainer.sample(n), target)
        if score["modes"] == len(target.centres) and score["hq"] >= 80:
            return trainer.step_count, seconds
    return None, seconds


def markdown(results: dict) -> str:
    seeds = ", ".join(str(r["seed"]) for r in next(iter(results.values()))["runs"])
    lines = ["# Where the live lab starts: steps and seconds to a covered ring", "",
             "`python -m benchmarks.lab_defaults` (one torch thread; seconds exclude the checks). "
             f"A dash: not covered within the run's steps. Seeds {seeds}.",
             "", "| candidate | per seed: step (seconds) | median seconds |", "|---|---|---|"]
    for name, result in results.items():
        runs = result["runs"]
        cells = ", ".join("–" if r["steps"] is None else f"{r['steps']} ({r['seconds']:.1f} s)" for r in runs)
        seconds = [r["seconds"] if r["steps"] is not None else float("inf") for r in runs]
        median = statistics.median(seconds)
        lines.append(f"| {name} | {cells} | {'–' if median == float('inf') else f'{median:.1f} s'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lab_defaults", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=4000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    for name, changes in CANDIDATES.items():
        runs = []
        for seed in range(args.seeds):
            steps, seconds = first_covered(replace(TrainConfig(device="cpu"), seed=seed, **changes), args.max_steps)
            runs.append({"seed": seed, "steps": steps, "seconds": round(seconds, 2)})
            print(name, runs[-1], flush=True)
        results[name] = {"changes": changes, "max_steps": args.max_steps, "runs": runs}
    (HERE / "lab_defaults.json").write_text(json.dumps(results, indent=1) + "\n")
    (HERE / "lab_defaults.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
