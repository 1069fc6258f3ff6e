"""The live lab's presets: whole configurations that the default lab's controls can show, each backed by the report of
`python -m benchmarks.lab_presets`; and the two stories lesson 07 relies on (the collapse, and R1 against it) in a
short training, as the lab trains."""
import re
from pathlib import Path

import pytest
import torch

from benchmarks import lab_presets as bench
from gan_lessons import comparison
from gan_lessons.config import TrainConfig, replace, seed_everything
from gan_lessons.lab import LAB_DEFAULTS
from gan_lessons.lab_frames import SETTINGS, Curves, check_setting, control_domains, frame_of
from gan_lessons.lab_presets import PRESETS, Preset
from gan_lessons.metrics import nearest_mode
from gan_lessons.training import make_2d_trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def one_thread():
    """One torch thread, as the lab trains (and as the benchmark measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- what a preset is -------------------------------------------------------------------------------------------------
def test_the_first_preset_is_the_labs_own_start():
    assert list(PRESETS)[0] == "fast ring"
    assert PRESETS["fast ring"].config == LAB_DEFAULTS


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_fits_the_controls_of_a_lab_that_starts_from_its_defaults(name):
    preset = PRESETS[name]
    assert isinstance(preset, Preset) and type(preset.config) is TrainConfig
    assert replace(preset.config) == preset.config  # replace runs every check of the configuration
    domains = control_domains(LAB_DEFAULTS)
    for setting in SETTINGS:
        check_setting(LAB_DEFAULTS, domains, setting, getattr(preset.config, setting))


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_names_its_lesson_and_says_what_to_watch(name):
    preset = PRESETS[name]
    assert name == name.strip() and 0 < len(name) <= 20  # a dropdown label
    assert preset.story.strip() and preset.story.endswith(".") and preset.watch.strip()
    assert len(list((ROOT / "notebooks").glob(f"{preset.lesson}_*.ipynb"))) == 1, preset.lesson
    assert preset.config.seed == 0 and preset.config.device == "auto"


def test_r1_is_lesson_07s_collapsing_gan_with_one_control_moved():
    collapse, r1 = PRESETS["mode collapse"].config, PRESETS["R1"].config
    assert collapse == replace(comparison.BASE, reg_weight=0.1)  # lesson 07's GAN; the unused weight on the slider
    assert r1 == replace(collapse, regularizer="r1")


@pytest.mark.parametrize("name, fix", [("WGAN-GP", "wgan-gp"), ("hinge", "hinge"), ("LSGAN", "lsgan")])
def test_the_fixes_are_at_lesson_08s_paper_settings(name, fix):
    paper, cfg = comparison.fix_config(fix, "ring8", 4000, device="auto"), PRESETS[name].config
    assert cfg.regularizer == "none" or cfg.reg_weight == paper.reg_weight
    assert not cfg.standardize  # the lab draws every preset at the target's own scale, beside a pinned one
    assert replace(cfg, reg_weight=paper.reg_weight, standardize=paper.standardize) == paper  # the weight of no
    # regularizer and the scale aside


# -- the report that backs the stories -------------------------------------------------------------------------------
def test_every_preset_has_claims_and_the_report_shows_each_preset_as_it_is_set():
    report = (ROOT / "benchmarks" / "lab_presets.md").read_text()
    for name, preset in PRESETS.items():
        assert bench.CLAIMS.get(name), name
        section = report.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Settings: {bench.changes_text(preset.config)}." in section, name
        assert f"{preset.story} *Watch:* {preset.watch}." in section, name
        assert section.count("- holds: ") == len(bench.CLAIMS[name]) and "DOES NOT HOLD" not in section, name


def test_one_mode_at_a_time_counts_the_looks_in_its_window():
    looks = [(50, 2, 1.0), (100, 4, 1.0), (150, 4, 0.5), (200, 1, 0.95)]  # (step, fullest mode, its share)
    assert bench.one_mode_at_a_time(looks, 0, 200) == (0.75, 2)  # 2 -> 4 -> 4 -> 1
    assert bench.one_mode_at_a_time(looks, 100, 200) == (0.5, 1)  # changes counted from the look at step 100


def test_the_benchmark_writes_its_report(tmp_path, one_thread):
    out = tmp_path / "presets.md"
    bench.main(["fast ring", "--seeds", "1", "--checkpoints", "50,100", "--out", str(out)])
    report = out.read_text()
    assert "## fast ring" in report and "Settings: " in report
    assert re.search(r"^\| 100 \| \d \| \d+\.\d \|", report, re.MULTILINE)  # step, modes, % high quality


# -- two stories, trained as the lab trains them ----------------------------------------------------------------------
def train_as_the_lab(name: str, steps: int, every: int = 50) -> tuple[dict, list[tuple[int, float]]]:
    """Preset `name` on seed 0, trained as the lab trains it: the coverage line of the lab's frame after `steps`
    steps, and every `every` steps the mode nearest to most of 500 samples and their share."""
    cfg = replace(PRESETS[name].config, device="cpu")
    seed_everything(cfg.seed)
    trainer, target = make_2d_trainer(cfg, hand_written_backward=True)
    looks = []
    for _ in range(steps // every):
        trainer.run(every, progress=False)
        with torch.random.fork_rng():  # looking must not change the training's random numbers
            idx, _ = nearest_mode(trainer.sample(500), target.centres)
        counts = torch.bincount(idx, minlength=len(target.centres))
        looks.append((int(counts.argmax()), counts.max().item() / 500))
    return frame_of(trainer, target, cfg.loss, Curves(), steps_per_s=0.0).coverage, looks


def test_mode_collapse_sits_on_one_mode_at_a_time_and_hops(one_thread):
    coverage, looks = train_as_the_lab("mode collapse", 500)
    held = sum(share >= 0.9 for _, share in looks) / len(looks)
    hops = sum(a != b for (a, _), (b, _) in zip(looks, looks[1:]))
    assert coverage["modes"] <= 3  # the full run (benchmarks/lab_presets.md), seed 0, step 500: 0 modes
    assert held >= 0.7 and hops >= 5  # full run: one mode holds >= 90% of the samples at 9 of 10 looks, 8 changes


def test_r1_covers_the_ring_from_the_same_seed(one_thread):
    coverage, looks = train_as_the_lab("R1", 500)
    assert coverage["modes"] >= 7  # full run, seed 0: 8 of 8 at step 500 (and at every step measured, to 4,000)
    assert max(share for _, share in looks[5:]) < 0.9  # full run: no look from step 300 on finds one mode holding 90%
