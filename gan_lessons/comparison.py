"""Every stability fix of lesson 08 on the same 2-D target, seeded, measured by the VEEGAN / PacGAN protocol.

Each fix is a change to one base configuration (`BASE`): the plain GAN ("vanilla") and each fix alone on top of
it, plus the combination that works best here. All runs share the same finishing schedule (both learning rates
fall linearly to 0 over the last `lr_decay` of the run), so that the table compares fixes, not schedules.
`python -m gan_lessons compare` prints the table; lesson 08 shows it.
"""
from __future__ import annotations

import math
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

import torch

from .config import MAX_STEPS, TrainConfig, check_int, replace, seed_everything
from .fixes import LinearDecay
from .metrics import EVAL_SAMPLES, evaluate_2d
from .training import make_2d_trainer

# The plain GAN every fix starts from: non-saturating loss, no regularizer, a 2-128-128-128-2 MLP pair,
# Adam 2e-3 with the finishing decay over the last half of the run.
BASE = TrainConfig(regularizer="none", reg_weight=0.0, depth=3, batch_size=128, lr_d=2e-3, lr_g=2e-3, lr_decay=0.5)


def fix_changes(steps: int) -> dict[str, dict]:
    """Each fix as the settings it changes in BASE (instance noise is annealed over the first half of the run)."""
    return {
        "vanilla": {},
        "wgan-clip": {"loss": "wgan", "clip": 0.01, "d_steps": 5},
        "wgan-gp": {"loss": "wgan", "regularizer": "gp", "reg_weight": 10.0, "d_steps": 5},
        "spectral-norm": {"spectral_norm": True},
        "lsgan": {"loss": "lsgan"},
        "hinge": {"loss": "hinge"},
        "r1": {"regularizer": "r1", "reg_weight": 0.1},
        "r2": {"regularizer": "r2", "reg_weight": 0.1},
        "feature-matching": {"feature_matching": 1.0},
        "label-smoothing": {"label_smoothing": 0.1},
        "instance-noise": {"instance_noise": 0.1, "noise_anneal": max(1, steps // 2)},
        "ttur": {"lr_d": 4e-3, "lr_g": 1e-3},
        "ema": {"ema": 0.99},
        "pacgan": {"pack": 4},
        "r1+ema": {"regularizer": "r1", "reg_weight": 0.1, "ema": 0.99},
    }


FIX_NAMES = tuple(fix_changes(1))


def fix_config(fix: str, target: str, steps: int, seed: int = 0, device: str = "cpu") -> TrainConfig:
    """BASE with `fix` applied, for `target` and `seed`."""
    changes = fix_changes(steps)
    if fix not in changes:
        raise ValueError(f"fix={fix!r} is not known; allowed values: {', '.join(changes)}")
    return replace(BASE, target=target, seed=seed, device=device, **changes[fix])


def train_and_evaluate(cfg: TrainConfig, steps: int) -> dict[str, float]:
    """Train for `steps` steps and measure 2,500 samples (of the EMA generator when there is one)."""
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg)
    callbacks = [LinearDecay(trainer, steps, cfg.lr_decay)] if cfg.lr_decay > 0 else []
    start = time.perf_counter()
    trainer.run(steps, callbacks, progress=False)
    seconds = time.perf_counter() - start
    sample = trainer.ema.sample(EVAL_SAMPLES) if trainer.ema is not None else trainer.sample(EVAL_SAMPLES)
    return {**evaluate_2d(sample, target), "seconds": seconds}


def _train_and_evaluate_alone(cfg: TrainConfig, steps: int) -> dict[str, float]:
    """train_and_evaluate in a worker process, on one torch thread so that parallel runs do not share cores."""
    torch.set_num_threads(1)
    return train_and_evaluate(cfg, steps)


def _mean_std(values: list[float]) -> tuple[float, float]:
    if any(not math.isfinite(v) for v in values):
        return math.inf, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def compare(target: str, steps: int, seeds: int, fixes: tuple[str, ...] = FIX_NAMES,
            progress: Callable[[str], None] | None = None, jobs: int = 1) -> list[dict]:
    """One row per fix: means over seeds 0..seeds-1 of modes, hq (%), rkl and seconds, with their std.

    `jobs` > 1 trains that many runs at once in worker processes of one torch thread each; each run is
    seeded, so the modes, hq and rkl do not depend on `jobs` (its seconds do: each run has one core).
    """
    check_int("steps", steps, 1, MAX_STEPS)
    check_int("seeds", seeds, 1, 100)
    check_int("jobs", jobs, 1, 64)
    configs = {fix: [fix_config(fix, target, steps, seed) for seed in range(seeds)] for fix in fixes}
    if jobs == 1:
        return [_row(fix, [train_and_evaluate(cfg, steps) for cfg in cfgs], progress) for fix, cfgs in configs.items()]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {fix: [pool.submit(_train_and_evaluate_alone, cfg, steps) for cfg in cfgs]
                   for fix, cfgs in configs.items()}
        return [_row(fix, [future.result() for future in runs], progress) for fix, runs in futures.items()]


def _row(fix: str, runs: list[dict], progress: Callable[[str], None] | None) -> dict:
    row = {"fix": fix}
    for key in ("modes", "hq", "rkl", "seconds"):
        row[key], row[f"{key}_std"] = _mean_std([run[key] for run in runs])
    if progress is not None:
        progress(format_row(row))
    return row


def format_row(row: dict) -> str:
    """One row of the table: each measure as mean ± std over the seeds."""
    return (f"{row['fix']:<16} {row['modes']:5.1f} ± {row['modes_std']:<4.1f} {row['hq']:5.1f} ± {row['hq_std']:<4.1f} "
            f"{row['rkl']:6.3f} ± {row['rkl_std']:<6.3f} {row['seconds']:6.1f} ± {row['seconds_std']:.1f}")


def format_table(rows: list[dict]) -> str:
    """The rows as a text table, mean ± std over seeds."""
    header = f"{'fix':<16} {'modes':>11} {'% HQ':>11} {'reverse KL':>15} {'seconds':>12}"
    return "\n".join([header, *map(format_row, rows)])
