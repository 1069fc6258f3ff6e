"""Every stability fix of lesson 08 on the same 2-D target, each at its own published settings, and each given the
same small tuning budget (Lucic et al., 2018, "Are GANs Created Equal?"), measured by the VEEGAN / PacGAN protocol.

- `BASE` is lesson 07's plain GAN, the one that collapses: a fix is what it changes in BASE.
- `paper_changes(fix)`: the settings of the fix's paper or of its authors' code, with the source beside each number.
  The networks (2-128-128-2 MLPs), the batch of real samples D sees and the step budget are the same for all.
- `search_configs(fix)`: 8 configurations around the paper setting (learning rate, momentum, the fix's own strength),
  the same number for every fix; `compare(..., settings="search")` runs them on seed 0, then the best FINALISTS of
  them on every seed, and keeps the one with the best means over the seeds.
`python -m gan_lessons compare --settings paper|search` prints a table and writes it as JSON; lesson 08 reads the
tables kept in benchmarks/compare/.
"""
from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

import torch

from .config import MAX_STEPS, TrainConfig, check_choice, check_int, replace, seed_everything
from .fixes import LinearDecay
from .metrics import EVAL_SAMPLES, evaluate_2d
from .training import make_2d_trainer

# Lesson 07's plain GAN: non-saturating loss, no regularizer, 2-128-128-2 MLPs, batch 256, Adam 1e-3, beta (0.5, 0.999).
BASE = TrainConfig(regularizer="none", reg_weight=0.0)
# The same GAN one hidden layer deeper in G and D (2-128-128-128-2), on batches of 128, both learning rates decayed
# linearly to 0 over the second half of the run: the protocol under which a fix can reach the precision its paper
# reports in a few thousand steps (WGAN-GP at 5e-4: 90.9% high quality on the ring against 57.8% on BASE).
DEEPER = replace(BASE, depth=3, batch_size=128, lr_decay=0.5)
BASES = {"lesson07": BASE, "deeper": DEEPER}  # compare --base
SETTINGS = ("paper", "search")
TABLES = Path(__file__).resolve().parents[1] / "benchmarks" / "compare"  # the tables that lesson 08 reads
SHOWN = 300  # generated samples of seed 0 kept in each row, for the small-multiples figure
FINALISTS = 3  # the search's best configurations on seed 0 that train on every seed: one seed is a small sample


def paper_changes(fix: str, steps: int, base: TrainConfig = BASE) -> dict:
    """The settings `fix` was published with, as changes to `base` (instance noise anneals over half the run)."""
    rmsprop_r1 = {"optimizer": "rmsprop", "lr_d": 1e-4, "lr_g": 1e-4}  # GAN_stability configs/default.yaml
    improved_gan = {"lr_d": 3e-4, "lr_g": 3e-4, "beta1": 0.5}  # Salimans et al. (2016), improved-gan code: Adam 3e-4
    return {
        "vanilla": {},  # Goodfellow et al. (2014); Adam beta1 = 0.5 as in DCGAN (Radford et al., 2016)
        # Arjovsky et al. (2017), Algorithm 1: RMSProp alpha = 5e-5, clip c = 0.01, n_critic = 5 (so does gan_toy.py)
        "wgan-clip": {"loss": "wgan", "optimizer": "rmsprop", "lr_d": 5e-5, "lr_g": 5e-5, "clip": 0.01, "d_steps": 5},
        # Gulrajani et al. (2017), gan_toy.py: LAMBDA = .1 on toy data, CRITIC_ITERS = 5, Adam(1e-4, 0.5, 0.9), and
        # the data divided by its standard deviation ("dataset /= 2.828" for the grid, "/= 1.414" for a ring of radius 2)
        "wgan-gp": {"loss": "wgan", "regularizer": "gp", "reg_weight": 0.1, "d_steps": 5, "lr_d": 1e-4, "lr_g": 1e-4,
                    "beta1": 0.5, "beta2": 0.9, "standardize": True},
        # Miyato et al. (2018): hinge loss, n_dis = 5, Adam alpha = 2e-4, beta1 = 0, beta2 = 0.9
        "spectral-norm": {"spectral_norm": True, "loss": "hinge", "d_steps": 5, "lr_d": 2e-4, "lr_g": 2e-4,
                          "beta1": 0.0, "beta2": 0.9},
        "lsgan": {"loss": "lsgan", "lr_d": 1e-3, "lr_g": 2e-4},  # Mao et al. (2017), sec. 4: Adam beta1 = 0.5, 1e-3 / 2e-4
        # the hinge loss as Miyato et al. (2018) run it (n_dis = 5, Adam 2e-4, beta (0, 0.9)), without spectral norm
        "hinge": {"loss": "hinge", "d_steps": 5, "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "r1": {"regularizer": "r1", "reg_weight": 10.0, **rmsprop_r1},  # Mescheder et al. (2018): gamma = 10, RMSProp 1e-4
        "r2": {"regularizer": "r2", "reg_weight": 10.0, **rmsprop_r1},  # the same on generated samples
        "feature-matching": {"feature_matching": 1.0, **improved_gan},  # Salimans et al. (2016): G matches D's features
        "label-smoothing": {"label_smoothing": 0.1, **improved_gan},  # Salimans et al. (2016): real target 0.9
        # Sonderby et al. (2017): Gaussian noise on D's inputs, annealed linearly to 0
        "instance-noise": {"instance_noise": 0.1, "noise_anneal": max(1, steps // 2)},
        "ttur": {"lr_d": 5e-4, "lr_g": 1e-4},  # Heusel et al. (2017), DCGAN experiments: lr_d 5e-4, lr_g 1e-4
        "ema": {"ema": 0.999},  # Yazici et al. (2019): beta = 0.999
        # Lin et al. (2018), PacGAN4: D judges B packs of 4 samples, so G draws 4B per step; D sees as many packs as
        # the plain D sees samples. The rest is the base GAN's, as PacGAN wraps a GAN without changing it: the
        # authors' 2-D code (synthetic_data_experiments/*/config.py) trains its GAN and its PacGAN alike, with Adam
        # 1e-4, beta1 = 0.8, for 400 epochs of 100,000 samples in batches of 100, i.e. 400,000 steps.
        "pacgan": {"pack": 4, "batch_size": 4 * base.batch_size},
        "r1+ema": {"regularizer": "r1", "reg_weight": 10.0, "ema": 0.999, **rmsprop_r1},  # GAN_stability's default
    }[fix]


FIX_NAMES = ("vanilla", "wgan-clip", "wgan-gp", "spectral-norm", "lsgan", "hinge", "r1", "r2", "feature-matching",
             "label-smoothing", "instance-noise", "ttur", "ema", "pacgan", "r1+ema")
# Each fix's own strength: the field and the value tried besides the paper's (one alternative for every fix).
STRENGTH = {"vanilla": ("d_steps", 2), "wgan-clip": ("clip", 0.05), "wgan-gp": ("reg_weight", 10.0),
            "spectral-norm": ("d_steps", 1), "lsgan": ("d_steps", 2), "hinge": ("d_steps", 1),
            "r1": ("reg_weight", 0.1), "r2": ("reg_weight", 0.1), "feature-matching": ("feature_matching", 0.1),
            "label-smoothing": ("label_smoothing", 0.2), "instance-noise": ("instance_noise", 0.3),
            "ttur": ("d_steps", 2), "ema": ("ema", 0.99), "pacgan": ("pack", 2), "r1+ema": ("reg_weight", 0.1)}


def fix_config(fix: str, target: str, steps: int, seed: int = 0, device: str = "cpu", base: TrainConfig = BASE,
               **changes) -> TrainConfig:
    """`base` with `fix` at its paper settings (and `changes` on top), for `target` and `seed`."""
    check_choice("fix", fix, FIX_NAMES)
    return replace(base, target=target, seed=seed, device=device, **{**paper_changes(fix, steps, base), **changes})


def search_configs(fix: str, target: str, steps: int, seed: int = 0, base: TrainConfig = BASE,
                   **changes) -> list[TrainConfig]:
    """The equal tuning budget, 8 different trainings around the paper setting: both learning rates x0.1, x1 and x10
    (a decade each way), each with the fix's strength the paper's and one alternative (STRENGTH); and, at the paper's
    learning rates, the optimizer's other usual momentum with both strengths.

    The momentum: Adam's beta1 0.5, or 0 when the paper's is 0.5 or more. RMSProp has no beta1, so a fix published
    with RMSProp tries Adam with beta = (0.5, 0.999) instead, at the same learning rates."""
    paper = fix_config(fix, target, steps, seed, base=base, **changes)
    field, other = STRENGTH[fix]
    strengths = ({}, {field: other, **({"batch_size": other * base.batch_size} if field == "pack" else {})})
    if paper.optimizer == "rmsprop":
        momentum = {"optimizer": "adam", "beta1": 0.5, "beta2": 0.999}
    else:
        momentum = {"beta1": 0.0 if paper.beta1 >= 0.5 else 0.5}
    rates = [replace(paper, lr_d=min(1.0, paper.lr_d * scale), lr_g=min(1.0, paper.lr_g * scale), **strength)
             for scale, strength in itertools.product((1.0, 0.1, 10.0), strengths)]
    return rates + [replace(paper, **momentum, **strength) for strength in strengths]


def train_and_evaluate(cfg: TrainConfig, steps: int) -> dict:
    """Train for `steps` steps and measure 2,500 samples (of the EMA generator when there is one); `samples` keeps
    the first SHOWN of them, for pictures. `seconds` is the training's wall-clock time, `cpu_seconds` the CPU time
    of this process (the same on a quiet machine with one thread; unlike seconds, not inflated by other work)."""
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg)
    callbacks = [LinearDecay(trainer, steps, cfg.lr_decay)] if cfg.lr_decay > 0 else []
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.run(steps, callbacks, progress=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    sample = trainer.ema.sample(EVAL_SAMPLES) if trainer.ema is not None else trainer.sample(EVAL_SAMPLES)
    shown = [[round(v, 3) for v in point] for point in (sample[:SHOWN] / target.unit).tolist()]  # the target's units
    return {**evaluate_2d(sample, target), "seconds": seconds, "cpu_seconds": cpu_seconds, "samples": shown}


def _train_and_evaluate_alone(cfg: TrainConfig, steps: int) -> dict:
    """train_and_evaluate in a worker process, on one torch thread so that parallel runs do not share cores."""
    torch.set_num_threads(1)
    return train_and_evaluate(cfg, steps)


def run_key(cfg: TrainConfig, steps: int) -> str:
    """What identifies a run: the fields of its config that differ from TrainConfig's defaults, and its steps (runs
    are seeded, so this fixes the result; a setting added later, at its default, leaves the kept runs' keys alone)."""
    default = TrainConfig()
    changed = {name: value for name, value in vars(cfg).items() if value != getattr(default, name)}
    return json.dumps({**changed, "steps": steps}, sort_keys=True, default=str)


def read_cache(cache: Path | None) -> dict[str, dict]:
    """The runs kept in `cache` (one JSON line per run: {"key": run_key, "run": result}); a cut-off last line is
    ignored, as the run it held is simply trained again."""
    if cache is None or not Path(cache).is_file():
        return {}
    runs = {}
    for line in Path(cache).read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        runs[entry["key"]] = entry["run"]
    return runs


def run_all(jobs_list: list[tuple[TrainConfig, int]], jobs: int, cache: Path | None = None) -> list[dict]:
    """train_and_evaluate for each (config, steps), `jobs` at a time in worker processes (serially when jobs = 1).

    With a `cache` file, each run is appended to it as soon as it ends and a run already there is not trained again,
    so a long comparison that is stopped goes on where it stopped."""
    keys = [run_key(cfg, steps) for cfg, steps in jobs_list]
    known = read_cache(cache)
    todo = {key: job for key, job in zip(keys, jobs_list) if key not in known}
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)

    def keep(key: str, run: dict) -> None:
        known[key] = run
        if cache is not None:
            with open(cache, "a") as f:
                f.write(json.dumps({"key": key, "run": run}) + "\n")

    if jobs == 1:
        for key, (cfg, steps) in todo.items():
            keep(key, train_and_evaluate(cfg, steps))
    elif todo:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_train_and_evaluate_alone, *job): key for key, job in todo.items()}
            for future in as_completed(futures):
                keep(futures[future], future.result())
    return [known[key] for key in keys]


def _mean_std(values: list[float]) -> tuple[float, float]:
    if any(not math.isfinite(v) for v in values):
        return math.inf, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def score(run: dict) -> tuple:
    """How the search ranks a run: more modes, then more high-quality samples, then a lower reverse KL."""
    return run["modes"], run["hq"], -run["rkl"]


def mean_score(runs: list[dict]) -> tuple:
    """`score` of the means over the seeds' runs."""
    return score({key: _mean_std([run[key] for run in runs])[0] for key in ("modes", "hq", "rkl")})


def compare(target: str, steps: int, seeds: int, fixes: tuple[str, ...] = FIX_NAMES,
            progress: Callable[[str], None] | None = None, jobs: int = 1, settings: str = "paper",
            base: TrainConfig = BASE, cache: Path | None = None, **changes) -> list[dict]:
    """One row per fix: means over seeds 0..seeds-1 of modes, hq (%), rkl, seconds and CPU seconds, with their std,
    each seed's modes, hq, rkl and CPU seconds (`per_seed`), the settings used (`config`: the changes to `base`) and
    seed 0's samples.

    `base` is the GAN every fix changes (BASE, or DEEPER). settings="paper": each fix at its published settings.
    settings="search": each fix's 8 `search_configs` on seed 0; the FINALISTS best of them (by `score`) on every
    seed; the finalist with the best means (`mean_score`) makes the row. The row adds the 8 seed-0 results
    (`search`), their median (`search_median_*`) and each finalist's seeds (`finalists`).
    `changes` apply on top of every configuration (e.g. lr_decay=0.5, the same schedule for every fix).
    Runs are seeded, so the numbers do not depend on `jobs` (their seconds do: each run has one core). `cache`: a
    file that keeps every finished run (see `run_all`), so that a stopped comparison resumes.
    """
    check_int("steps", steps, 1, MAX_STEPS)
    check_int("seeds", seeds, 1, 100)
    check_int("jobs", jobs, 1, 64)
    check_choice("settings", settings, SETTINGS)
    for fix in fixes:
        check_choice("fixes", fix, FIX_NAMES)
    if settings == "paper":
        configs = {fix: [fix_config(fix, target, steps, base=base, **changes)] for fix in fixes}
        tried, finalists = {}, {fix: [0] for fix in fixes}
    else:
        configs = {fix: search_configs(fix, target, steps, base=base, **changes) for fix in fixes}
        results = run_all([(cfg, steps) for fix in fixes for cfg in configs[fix]], jobs, cache)
        tried = {fix: results[8 * i:8 * i + 8] for i, fix in enumerate(fixes)}
        finalists = {fix: sorted(range(8), key=lambda k: score(tried[fix][k]), reverse=True)[:FINALISTS]
                     for fix in fixes}  # a stable sort: of equal scores, the first configuration
    first = 1 if tried else 0  # seed 0 ran in the search
    pending = [(fix, k, seed) for fix in fixes for k in finalists[fix] for seed in range(first, seeds)]
    done = dict(zip(pending, run_all([(replace(configs[fix][k], seed=seed), steps) for fix, k, seed in pending],
                                     jobs, cache)))
    rows = []
    for fix in fixes:
        runs = {k: ([tried[fix][k]] if tried else []) + [done[fix, k, seed] for seed in range(first, seeds)]
                for k in finalists[fix]}
        best = max(finalists[fix], key=lambda k: mean_score(runs[k]))
        rows.append(_row(fix, configs[fix][best], runs[best], tried.get(fix), configs[fix] if tried else None, base))
        if tried:
            rows[-1]["finalists"] = [{"config": changes_from_base(configs[fix][k], base), **_seed_results(runs[k])}
                                     for k in finalists[fix]]
        if progress is not None:
            progress(format_row(rows[-1]))
    return rows


def _seed_results(runs: list[dict]) -> dict:
    """The means of modes and hq over `runs` and each run's modes, hq, rkl and CPU seconds (`per_seed`)."""
    return {"modes": _mean_std([run["modes"] for run in runs])[0], "hq": _mean_std([run["hq"] for run in runs])[0],
            "per_seed": [{key: run[key] for key in ("modes", "hq", "rkl", "cpu_seconds") if key in run}
                         for run in runs]}


def changes_from_base(cfg: TrainConfig, base: TrainConfig = BASE) -> dict:
    """The fields in which `cfg` differs from `base`, leaving out the target, the seed and the device."""
    return {name: value for name, value in vars(cfg).items()
            if value != getattr(base, name) and name not in ("target", "seed", "device")}


def _row(fix: str, cfg: TrainConfig, runs: list[dict], tried: list[dict] | None,
         candidates: list[TrainConfig] | None, base: TrainConfig = BASE) -> dict:
    row = {"fix": fix, "config": changes_from_base(cfg, base)}
    for key in ("modes", "hq", "rkl", "seconds", "cpu_seconds"):
        if all(key in run for run in runs):  # tables written before cpu_seconds was measured lack it
            row[key], row[f"{key}_std"] = _mean_std([run[key] for run in runs])
    row["per_seed"] = _seed_results(runs)["per_seed"]  # seeds 0, 1, ...
    if tried is not None:
        for key in ("modes", "hq"):
            row[f"search_median_{key}"] = statistics.median(run[key] for run in tried)
        row["search"] = [{"config": changes_from_base(c, base), "modes": r["modes"], "hq": r["hq"], "rkl": r["rkl"]}
                         for c, r in zip(candidates, tried)]
    row["samples"] = runs[0]["samples"]
    return row


def format_row(row: dict) -> str:
    """One row of the table: each measure as mean ± std over the seeds (CPU seconds: one core per run)."""
    return (f"{row['fix']:<16} {row['modes']:5.1f} ± {row['modes_std']:<4.1f} {row['hq']:5.1f} ± {row['hq_std']:<4.1f} "
            f"{row['rkl']:6.3f} ± {row['rkl_std']:<6.3f} {row['cpu_seconds']:6.1f} ± {row['cpu_seconds_std']:.1f}")


def format_table(rows: list[dict]) -> str:
    """The rows as a text table, mean ± std over seeds."""
    header = f"{'fix':<16} {'modes':>11} {'% HQ':>11} {'reverse KL':>15} {'CPU seconds':>14}"
    return "\n".join([header, *map(format_row, rows)])


TABLE_NAMES = {"paper": "--settings paper", "search": "--settings search"}  # the kept tables, the options making them


TABLE_STEPS = {"ring8": 4000, "grid25": 6000}  # the generator steps of every run in the kept tables


def load_table(target: str, table: str, base: str = "lesson07", folder: Path = TABLES, steps: int | None = None
               ) -> list[dict]:
    """The rows that `python -m gan_lessons compare --target T --steps S --seeds 3 --base B OPTIONS` wrote into
    folder/T_table.json (base lesson07) or folder/B/T_table.json, OPTIONS as TABLE_NAMES says; S is TABLE_STEPS[T]
    unless `steps` says otherwise, which adds _S to the file's name (a reverse KL that does not exist is None there)."""
    check_choice("table", table, tuple(TABLE_NAMES))
    check_choice("base", base, tuple(BASES))
    usual = TABLE_STEPS.get(target, 4000)
    steps = usual if steps is None else steps
    name = f"{target}_{table}.json" if steps == usual else f"{target}_{table}_{steps}.json"
    path = Path(folder) / ("" if base == "lesson07" else base) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; make it with: python -m gan_lessons compare --target {target} "
                                f"--steps {steps} --seeds 3 --base {base} {TABLE_NAMES[table]} --jobs 2 --json {path}")
    return json.loads(path.read_text())
