"""`python -m gan_lessons compare` writes its table as JSON, refuses bad arguments, and `train` takes every fix."""
import dataclasses
import json
import math
import statistics

import pytest
import torch

from gan_lessons import cli, comparison
from gan_lessons.comparison import BASE, DEEPER, FIX_NAMES, changes_from_base, fix_config, search_configs
from gan_lessons.config import TrainConfig, replace
from gan_lessons.data.toy import make_target
from gan_lessons.metrics import evaluate_2d
from gan_lessons.training import make_2d_trainer

ROW_KEYS = {"fix", "config", "samples", "per_seed", "modes", "hq", "rkl", "seconds", "modes_std", "hq_std", "rkl_std",
            "seconds_std", "cpu_seconds", "cpu_seconds_std"}


def test_compare_writes_one_row_per_fix_with_means_and_stds(tmp_path, capsys):
    path = tmp_path / "out" / "ring.json"
    cli.main(["compare", "--target", "ring8", "--steps", "2", "--seeds", "2", "--json", str(path)])
    rows = json.loads(path.read_text())
    assert [row["fix"] for row in rows] == list(FIX_NAMES) and rows[0]["fix"] == "vanilla"
    for row in rows:
        assert set(row) == ROW_KEYS
        assert 0 <= row["modes"] <= 8 and 0 <= row["hq"] <= 100 and row["seconds"] > 0 and row["seconds_std"] >= 0
        assert row["rkl"] is None or row["rkl"] >= 0  # null when a seed has no high-quality sample at all
        assert len(row["per_seed"]) == 2
        assert statistics.fmean(s["hq"] for s in row["per_seed"]) == pytest.approx(row["hq"])
    table = capsys.readouterr().out
    assert "mean ± std over seeds 0..1" in table and all(fix in table for fix in FIX_NAMES)


def test_compare_subset_on_the_grid(tmp_path):
    path = tmp_path / "grid.json"
    cli.main(["compare", "--target", "grid25", "--steps", "3", "--seeds", "1", "--fixes", "vanilla,ema", "--json", str(path)])
    rows = json.loads(path.read_text())
    assert [row["fix"] for row in rows] == ["vanilla", "ema"] and rows[0]["modes_std"] == 0.0


def without_times(rows: list[dict]) -> list[dict]:
    """The rows without their seconds, of the whole run or of each seed: all that a seeded run fixes."""
    def drop(d):
        return {k: [drop(s) for s in v] if k == "per_seed" else v for k, v in d.items() if "seconds" not in k}
    return [drop(row) for row in rows]


def test_compare_in_parallel_gives_the_same_rows_as_one_run_after_another():
    fixes = ("vanilla", "r1", "pacgan")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker does, so that the arithmetic is the same
    try:
        serial = comparison.compare("ring8", 30, 2, fixes)
    finally:
        torch.set_num_threads(previous)
    parallel = comparison.compare("ring8", 30, 2, fixes, jobs=2)
    assert without_times(parallel) == without_times(serial)
    assert [row["fix"] for row in parallel] == list(fixes)


def test_a_stopped_comparison_resumes_from_its_cache_without_training_again(tmp_path, monkeypatch):
    cache = tmp_path / "runs" / "ring.jsonl"
    first = comparison.compare("ring8", 5, 2, ("vanilla", "ema"), cache=cache)
    lines = cache.read_text().splitlines()
    assert len(lines) == 4  # 2 fixes x 2 seeds, one line per finished run
    cache.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])  # stopped while writing the last run
    trained = []
    real = comparison.train_and_evaluate
    monkeypatch.setattr(comparison, "train_and_evaluate", lambda cfg, steps: trained.append(cfg) or real(cfg, steps))
    again = comparison.compare("ring8", 5, 2, ("vanilla", "ema"), cache=cache)
    assert without_times(again) == without_times(first)
    assert [(cfg.ema, cfg.seed) for cfg in trained] == [(0.999, 1)]  # only the run whose line was cut off
    other_steps = comparison.compare("ring8", 6, 1, ("vanilla",), cache=cache)  # steps are part of a run's key
    assert len(trained) == 2 and other_steps[0]["fix"] == "vanilla"
    key = json.loads(comparison.run_key(fix_config("ema", "ring8", 5), 5))
    assert key == {"device": "cpu", "ema": 0.999, "reg_weight": 0.0, "regularizer": "none", "steps": 5}  # no defaults,
    # so that a setting added later, at its default, leaves the keys of the kept runs as they were


@pytest.mark.parametrize("argv, name", [
    (["--target", "spiral"], "target='spiral'"), (["--steps", "0"], "steps=0"), (["--seeds", "0"], "seeds=0"),
    (["--fixes", "vanilla,dropout"], "fixes='dropout'"), (["--steps", "abc"], "--steps"),
    (["--jobs", "0"], "jobs=0"),
])
def test_compare_rejects_bad_arguments_naming_them(argv, name, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--json", str(tmp_path / "x.json"), *argv])
    assert exit_info.value.code == 2 and name in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_compare_refuses_a_folder_as_json_path(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--steps", "1", "--json", str(tmp_path)])
    assert exit_info.value.code == 2 and "json=" in capsys.readouterr().err


def as_argv(cfg):
    """The train options that reproduce `cfg`."""
    argv = []
    for field in (f.name for f in dataclasses.fields(cfg)):
        value = getattr(cfg, field)
        if isinstance(value, bool):  # a flag: --spectral-norm, --standardize
            argv += ["--" + field.replace("_", "-")] if value else []
        else:
            argv += ["--" + field.replace("_", "-"), str(value)]
    return argv


@pytest.mark.parametrize("fix", FIX_NAMES)
def test_train_accepts_each_fix(fix, tmp_path):
    cfg = fix_config(fix, "ring8", steps=4, seed=0)
    out = tmp_path / fix
    cli.main(["train", "--steps", "4", "--out", str(out), *as_argv(cfg)])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 4
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["config"] == cfg.__dict__  # every setting of the fix reached the trainer's config
    assert ("ema" in state) == (cfg.ema > 0)


def test_the_base_of_the_comparison_is_lesson_07s_plain_gan():
    lesson_07 = TrainConfig(target="ring8", regularizer="none")  # the collapsing GAN of lesson 07
    assert BASE == replace(lesson_07, reg_weight=0.0)


def test_each_fix_at_its_paper_settings():
    paper = {fix: fix_config(fix, "ring8", 4000) for fix in FIX_NAMES}
    assert paper["vanilla"] == replace(BASE, device="cpu")
    wgan = paper["wgan-clip"]
    assert (wgan.optimizer, wgan.lr_d, wgan.clip, wgan.d_steps) == ("rmsprop", 5e-5, 0.01, 5)
    gp = paper["wgan-gp"]
    assert (gp.reg_weight, gp.d_steps, gp.beta1, gp.beta2, gp.lr_d, gp.standardize) == (0.1, 5, 0.5, 0.9, 1e-4, True)
    assert not any(cfg.standardize for fix, cfg in paper.items() if fix != "wgan-gp")  # only gan_toy.py does it
    sn = paper["spectral-norm"]
    assert (sn.spectral_norm, sn.loss, sn.d_steps, sn.lr_d, sn.beta1, sn.beta2) == (True, "hinge", 5, 2e-4, 0.0, 0.9)
    pac = paper["pacgan"]
    assert pac.batch_size // pac.pack == BASE.batch_size  # D sees as many packs as the plain D sees samples
    for fix, cfg in paper.items():  # the networks are the same for every fix
        assert (cfg.hidden, cfg.depth, cfg.z_dim) == (BASE.hidden, BASE.depth, BASE.z_dim), fix


def test_the_deeper_base_changes_only_the_networks_depth_the_batch_and_the_schedule():
    assert changes_from_base(DEEPER) == {"depth": 3, "batch_size": 128, "lr_decay": 0.5}
    for fix in FIX_NAMES:  # every fix changes the deeper base exactly as it changes lesson 07's
        deeper, plain = fix_config(fix, "ring8", 4000, base=DEEPER), fix_config(fix, "ring8", 4000)
        assert changes_from_base(deeper, DEEPER) == changes_from_base(plain) | (
            {"batch_size": 4 * DEEPER.batch_size} if fix == "pacgan" else {}), fix
    pac = fix_config("pacgan", "ring8", 4000, base=DEEPER)
    assert pac.batch_size // pac.pack == DEEPER.batch_size  # still as many packs as the plain D sees samples
    packed_by_2 = [c for c in search_configs("pacgan", "ring8", 4000, base=DEEPER) if c.pack == 2]
    assert packed_by_2 and all(c.batch_size == 2 * DEEPER.batch_size for c in packed_by_2)


@pytest.mark.parametrize("fix", FIX_NAMES)
def test_the_search_gives_every_fix_the_same_budget_around_its_paper_setting(fix):
    configs = search_configs(fix, "ring8", 4000)
    assert len(configs) == 8 and fix_config(fix, "ring8", 4000) in configs
    # 8 different trainings: RMSProp ignores Adam's betas, so two configs that differ only there train alike
    trained = {replace(c, beta1=0.0, beta2=0.0) if c.optimizer == "rmsprop" else c for c in configs}
    assert len(trained) == 8
    paper = configs[0]
    assert sorted({round(c.lr_g / paper.lr_g, 6) for c in configs}) == [0.1, 1.0, 10.0]  # a decade each way


def rank(t: dict) -> tuple:  # most modes, then most high-quality samples, then the lowest reverse KL
    return t["modes"], t["hq"], -(t["rkl"] if t["rkl"] is not None else math.inf)


def check_search(row: dict) -> None:
    """The row's finalists are the FINALISTS best of its 8 configurations on seed 0, each ran on every seed, and the
    row is the finalist whose means over the seeds rank first."""
    tried = row["search"]
    assert len(tried) == 8 and row["search_median_modes"] == statistics.median(t["modes"] for t in tried)
    top = sorted(tried, key=rank, reverse=True)[:comparison.FINALISTS]
    assert [f["config"] for f in row["finalists"]] == [t["config"] for t in top], row["fix"]
    for final, first in zip(row["finalists"], top):
        assert {k: final["per_seed"][0][k] for k in ("modes", "hq")} == {k: first[k] for k in ("modes", "hq")}
        assert len(final["per_seed"]) == len(row["per_seed"]), row["fix"]
        assert final["hq"] == pytest.approx(statistics.fmean(s["hq"] for s in final["per_seed"]))
    means = [{"modes": f["modes"], "hq": f["hq"],
              "rkl": statistics.fmean(math.inf if s["rkl"] is None else s["rkl"] for s in f["per_seed"])}
             for f in row["finalists"]]
    best = row["finalists"][max(range(len(means)), key=lambda i: rank(means[i]))]
    assert row["config"] == best["config"] and row["per_seed"] == best["per_seed"], row["fix"]


def test_the_search_picks_the_finalist_with_the_best_means_over_the_seeds_and_reports_the_median():
    rows = comparison.compare("ring8", 20, 2, ("vanilla", "hinge"), settings="search")
    for row in rows:
        check_search(row)


def test_a_finalist_with_the_best_seed_0_loses_to_one_with_better_means():
    """The ranking on means: a configuration that wins seed 0 and loses a mode on seed 1 is not kept."""
    lucky = [{"modes": 8, "hq": 95.0, "rkl": 0.01}, {"modes": 4, "hq": 90.0, "rkl": 0.7}]
    steady = [{"modes": 8, "hq": 90.0, "rkl": 0.01}, {"modes": 8, "hq": 88.0, "rkl": 0.02}]
    assert comparison.score(lucky[0]) > comparison.score(steady[0])
    assert comparison.mean_score(steady) > comparison.mean_score(lucky)


def test_the_kept_tables_are_found_by_base_and_a_missing_one_names_the_command_that_makes_it(tmp_path):
    for base in ("lesson07", "deeper"):
        rows = comparison.load_table("ring8", "paper", base=base)
        assert [row["fix"] for row in rows] == list(FIX_NAMES)
    with pytest.raises(FileNotFoundError, match=r"compare --target ring8 --steps 4000 --seeds 3 --base deeper "
                                                r"--settings search --jobs 2 --json .*deeper/ring8_search.json"):
        comparison.load_table("ring8", "search", base="deeper", folder=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"compare --target grid25 --steps 18000 --seeds 3 --base deeper "
                                                r"--settings paper --jobs 2 --json .*deeper/grid25_paper_18000.json"):
        comparison.load_table("grid25", "paper", base="deeper", folder=tmp_path, steps=18000)
    with pytest.raises(ValueError, match="base='wider' is not known; allowed values: lesson07, deeper"):
        comparison.load_table("ring8", "paper", base="wider")


KEPT = ([("lesson07", "ring8", "paper", None)]
        + [("deeper", t, s, None) for t in ("ring8", "grid25") for s in ("paper", "search")]
        + [("deeper", "grid25", "paper", 18000)])  # PacGAN three times as long, for lesson 08


@pytest.mark.parametrize("base, target, settings, steps", KEPT)
def test_every_kept_row_ran_at_todays_settings(base, target, settings, steps):
    """A kept table is true to the library: a paper row ran at today's paper_changes, a search row tried today's
    search_configs and kept the best of its finalists, so no row in a lesson was made with settings the code no longer has."""
    rows = comparison.load_table(target, settings, base=base, steps=steps)
    steps, start = steps or comparison.TABLE_STEPS[target], comparison.BASES[base]
    fixes = [row["fix"] for row in rows]
    assert fixes == list(FIX_NAMES) or (steps != comparison.TABLE_STEPS[target] and set(fixes) <= set(FIX_NAMES))
    for row in rows:
        # each run within 5 CPU-minutes: every seed's CPU time where the row keeps it, else their mean
        cpu = ([s["cpu_seconds"] for s in row.get("per_seed", []) if "cpu_seconds" in s]
               or ([row["cpu_seconds"]] if "cpu_seconds" in row else []))
        assert cpu or base == "lesson07", row["fix"]  # only lesson 07's table has rows older than CPU time
        assert all(c <= 300 for c in cpu), row["fix"]
        paper = changes_from_base(fix_config(row["fix"], target, steps, base=start), start)
        if settings == "paper":
            assert row["config"] == paper, row["fix"]
            continue
        tried = [changes_from_base(c, start) for c in search_configs(row["fix"], target, steps, base=start)]
        assert [t["config"] for t in row["search"]] == tried, row["fix"]
        check_search(row)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_a_standardized_target_has_rms_1_and_the_same_modes_precision_and_reverse_kl(name):
    target = make_target(name)
    small = target.standardized()
    assert small.rms == pytest.approx(1.0) and small.unit == pytest.approx(1 / target.rms)
    assert target.rms == pytest.approx({"ring8": 0.7072, "grid25": 2.8289}[name], abs=1e-4)  # gan_toy.py: 1.414 / 2, 2.828
    x = target.sample(2500, generator=torch.Generator().manual_seed(0)) * 1.05  # 5% too wide: some samples miss
    big, scaled = evaluate_2d(x, target), evaluate_2d(x * small.unit, small)
    assert big["modes"] == scaled["modes"] and 0 < big["hq"] < 100
    assert scaled["hq"] == pytest.approx(big["hq"], abs=0.1) and scaled["rkl"] == pytest.approx(big["rkl"], abs=1e-3)


def test_standardize_trains_on_the_scaled_target_and_the_tables_keep_samples_in_the_targets_units():
    cfg = replace(fix_config("vanilla", "ring8", 400, base=DEEPER), standardize=True)
    trainer, target = make_2d_trainer(cfg)
    assert target.rms == pytest.approx(1.0) and trainer.sample_real().pow(2).mean().sqrt().item() == pytest.approx(1, abs=0.1)
    run = comparison.train_and_evaluate(cfg, 400)
    radius = torch.tensor(run["samples"]).norm(dim=1).median().item()
    assert abs(radius - 1) < 0.1  # the ring's radius, not the 1.41 at which G draws it


def test_compare_by_default_makes_lesson_08s_tables(monkeypatch):
    """`compare --target T --seeds 3 --settings S` alone: the deeper base and the steps of the kept tables."""
    seen = []
    monkeypatch.setattr(cli, "compare", seen.append)
    for target, steps in (("ring8", 4000), ("grid25", 6000)):
        cli.main(["compare", "--target", target])
        assert (seen[-1].base, seen[-1].steps) == ("deeper", steps) and comparison.TABLE_STEPS[target] == steps
    assert comparison.BASES["deeper"] == DEEPER
