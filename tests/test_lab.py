"""The live lab without a browser: its controls reach the trainer, its threads stop, its figures are reused.

Setting a widget's `.value` here fires the same callbacks as a drag in the browser. Tests that need the
background thread switch fast mode off; every lab is paused in teardown, so no thread outlives a test.
"""
import base64
import functools
import gc
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from gan_lessons.config import LIMITS, LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig, replace
from gan_lessons.data.toy import make_target
from gan_lessons.guard import DivergenceError
from gan_lessons.lab import SETTINGS, GANLab
from gan_lessons.lab_frames import Curves, thin_history
from gan_lessons.lab_panes import stable_range
from gan_lessons.training import History, make_2d_trainer

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def labs():
    """Make labs with `labs(...)`; all of them are paused (their threads joined) at the end of the test."""
    made: list[GANLab] = []

    def make(cfg: TrainConfig | None = None, **kwargs) -> GANLab:
        made.append(GANLab(cfg or TrainConfig(device="cpu"), **kwargs))
        return made[-1]

    yield make
    for lab in made:
        lab.pause()
    assert not [lab for lab in made if lab.running], "a lab thread outlived pause()"


@pytest.fixture()
def threaded(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_FAST", "0")  # play() starts the background thread


def wait_until(condition, timeout: float, poll: float = 0.001) -> float:
    """Seconds until condition() holds; fails after `timeout` seconds."""
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < timeout, f"not within {timeout} s"
        time.sleep(poll)
    return time.perf_counter() - start


def adam_steps(optimizer: torch.optim.Optimizer) -> int:
    state = optimizer.state.get(optimizer.param_groups[0]["params"][0], {})
    return int(state["step"]) if "step" in state else 0


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def shapes(module: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


def optimizer_of(optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> tuple:
    """An optimizer's settings, and whether it updates exactly the weights of `model`."""
    groups, weights_of_model = optimizer.param_groups, [id(p) for p in model.parameters()]
    updates_the_model = [id(p) for group in groups for p in group["params"]] == weights_of_model
    return type(optimizer), len(groups), groups[0]["lr"], groups[0].get("betas"), updates_the_model


def settings_of(function) -> object:
    """A function's settings where it is a functools.partial of one (a smoothed loss, weight clipping)."""
    return (function.func, function.keywords) if hasattr(function, "keywords") else function


def built_as(trainer) -> dict:
    """What a trainer is built as, besides its weights: configuration, networks, optimizers, EMA, what D is shown."""
    G, D, ema = trainer.generator, trainer.discriminator, trainer.ema
    return {
        "config": trainer.config, "G": shapes(G), "D": shapes(D), "device": {p.device for p in G.parameters()},
        "opt_g": optimizer_of(trainer.opt_g, G), "opt_d": optimizer_of(trainer.opt_d, D),
        "ema": None if ema is None else (ema.beta, shapes(ema.generator), ema.generator is not G),
        "d_input": repr(trainer.show_d), "noise": (type(trainer.latent), trainer.latent.z_dim),
        "loss": (trainer.loss.name, settings_of(trainer.loss.d), trainer.loss.g),
        "penalty": (type(trainer.penalty), trainer.penalty.weight), "g_term": trainer.g_term.weight,
        "constrain_d": settings_of(trainer.constrain_d), "real batch": tuple(trainer.sample_real().shape),
    }


@functools.lru_cache(maxsize=256)
def fresh_built_as(cfg: TrainConfig) -> dict:
    """What a fresh trainer of `cfg` is built as (kept: the state machine asks after every action)."""
    return built_as(make_2d_trainer(cfg)[0])


def differences_from_fresh(lab: GANLab) -> dict:
    """Where the lab's trainer differs from a fresh one built from `lab.cfg` (weights aside): {what: (lab's, fresh)}."""
    ours, fresh = built_as(lab.trainer), fresh_built_as(lab.cfg)
    differences = {key: (ours[key], fresh[key]) for key in ours if ours[key] != fresh[key]}
    if lab.target.name != lab.cfg.target:
        differences["target"] = (lab.target.name, lab.cfg.target)
    return differences


# -- a change of any control leaves the trainer as a fresh lab built from the new settings would be ----------------
def test_a_new_noise_dimension_rebuilds_the_generator_at_the_configured_depth(labs):
    lab = labs(TrainConfig(device="cpu", depth=3, hidden=16))
    lab.set(z_dim=4)
    layers = [m for m in lab.trainer.generator.modules() if isinstance(m, torch.nn.Linear)]
    widths = [(layer.in_features, layer.out_features) for layer in layers]
    assert widths == [(4, 16), (16, 16), (16, 16), (16, 2)]
    assert not differences_from_fresh(lab)
    lab.tick(draw=False)


def test_with_an_ema_a_new_noise_dimension_trains_on(labs):
    lab = labs(TrainConfig(device="cpu", ema=0.99, hidden=16), chunk=4)
    lab.tick(draw=False)
    lab.set(z_dim=5)
    lab.tick()  # (the average of the old G would not fit the new one)
    assert lab.trainer.ema.generator.net[0].in_features == 5 and lab.trainer.ema.updates == 4
    assert not differences_from_fresh(lab)


NEW_VALUES = {"target": "grid25", "loss": "hinge", "lr_d": 2e-4, "lr_g": 3e-4, "z_dim": 3, "batch_size": 64,
              "d_steps": 2, "regularizer": "gp", "reg_weight": 1.0}


@pytest.mark.parametrize("through", ["set", "widget"])
def test_after_every_control_change_the_trainer_is_built_from_the_labs_settings(labs, through):
    assert set(NEW_VALUES) == set(SETTINGS)
    lab = labs(TrainConfig(device="cpu", hidden=16, depth=1, pack=2, ema=0.9, spectral_norm=True), chunk=2)
    for name, value in NEW_VALUES.items():
        if through == "set":
            lab.set(**{name: value})
        else:
            lab.controls[name].value = value
        assert getattr(lab.cfg, name) == value and lab.trainer.config == lab.cfg, name
        assert not differences_from_fresh(lab), name
        lab.tick(draw=False)
    assert lab.trainer.config == replace(TrainConfig(device="cpu", hidden=16, depth=1, pack=2, ema=0.9,
                                                     spectral_norm=True), **NEW_VALUES)


def test_a_divergence_leaves_the_learning_rates_the_controls_show(labs):
    lab = labs(TrainConfig(device="cpu", hidden=16), chunk=4)
    lab.tick(draw=False)  # the guard's copy of the weights: step 0, at lr 1e-3
    lab.set(lr_d=3e-3, lr_g=2e-3)
    with torch.no_grad():
        lab.trainer.discriminator.net[0].weight[0, 0] = float("nan")  # what an overflowing update leaves behind
    lab.tick()
    assert isinstance(lab.error, DivergenceError) and "diverged" in lab.status.value
    assert (lab.trainer.lr_d, lab.trainer.lr_g) == (3e-3, 2e-3) and not differences_from_fresh(lab)


def test_a_packed_discriminator_plays_ticks_steps_and_draws(labs):
    lab = labs(TrainConfig(device="cpu", pack=2, hidden=16, batch_size=64), chunk=4, fast_chunks=2)
    lab.play()
    lab.tick()
    lab.step_d()
    lab.step_g()
    lab.redraw()
    assert lab.trainer.step_count == 12 and lab.error is None
    assert all(bytes(image.value).startswith(PNG) for image in lab.images.values())
    assert isinstance(lab.snapshot(), Figure)
    assert all(b % 2 == 0 for b in lab.controls["batch_size"].options)  # whole packs only


def test_a_packed_discriminators_heatmap_scores_packs_of_copies_and_arrows_are_per_sample(labs):
    """Against an independent computation: D on the pack (x, x) of a grid point, and each pack's own term of G's
    loss differentiated alone."""
    lab = labs(TrainConfig(device="cpu", pack=2, hidden=16, batch_size=64, loss="hinge"))
    lab.tick(draw=False)
    frame, D, loss_g = lab._frame(), lab.trainer.discriminator, lab.trainer.loss.g
    e, R = frame.extent, len(frame.heat)
    with torch.no_grad():
        corner, centre = D(torch.tensor([[-e, -e, -e, -e]])), D(torch.tensor([[-e, e, -e, e]]))
    assert frame.heat[0, 0] == pytest.approx(corner.item(), abs=1e-6)  # row 0: y = -e; column 0: x = -e
    assert frame.heat[R - 1, 0] == pytest.approx(centre.item(), abs=1e-6)
    assert "2 copies of x" in lab.panes["discriminator"].pane.ax.get_title()
    x = torch.tensor(frame.arrow_from)
    for j in range(0, len(x), 2):  # samples j and j + 1 share a pack
        pair = x[j:j + 2].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_g(D(pair.reshape(1, 4))), pair)
        np.testing.assert_allclose(frame.arrow_dir[j:j + 2], -grad.numpy(), rtol=1e-5, atol=1e-7)


def test_a_single_update_that_overflows_is_undone_and_shown(labs):
    lab = labs(TrainConfig(device="cpu", hidden=16))
    trainer, d_step = lab.trainer, lab.trainer.d_step
    before = weights(trainer.discriminator)

    def overflowing_d_step(batch):
        metrics = d_step(batch)
        with torch.no_grad():
            trainer.discriminator.net[0].weight[0, 0] = math.nan  # what an overflowing update leaves behind
        return metrics
    trainer.d_step = overflowing_d_step
    lab.step_d()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters()))
    assert isinstance(lab.error, DivergenceError) and "diverged" in lab.status.value


def test_a_weight_of_0_shows_at_the_sliders_lowest_and_the_lowest_can_still_be_chosen(labs):
    lab = labs(TrainConfig(device="cpu", regularizer="none", reg_weight=0.0))
    slider = lab.controls["reg_weight"]
    assert slider.value == 10.0 ** slider.min == 1e-3 and lab.cfg.reg_weight == 0
    slider.value = math.nan  # refused, and said at once; the slider shows its lowest again, the weight stays 0
    assert lab.cfg.reg_weight == lab.trainer.config.reg_weight == 0 and slider.value == 1e-3
    assert "reg_weight not changed: reg_weight=nan" in lab.status.value
    lab.set(reg_weight=1e-3)
    assert lab.cfg.reg_weight == lab.trainer.config.reg_weight == 1e-3
    wide = labs(TrainConfig(device="cpu", regularizer="gp", reg_weight=1000.0))
    assert wide.controls["reg_weight"].value == 1000.0  # the slider widens to hold the configuration's weight


def test_a_value_refused_for_another_setting_is_refused_naming_the_control(labs):
    lab = labs(TrainConfig(device="cpu", label_smoothing=0.1))
    with pytest.raises(ValueError, match=r"^loss='hinge' is not allowed with these settings: label_smoothing="):
        lab.set(loss="hinge")
    lab.controls["loss"].value = "wgan"
    assert lab.cfg.loss == lab.controls["loss"].value == "nonsaturating"
    assert "loss not changed: loss='wgan' is not allowed with these settings" in lab.status.value


def test_lr_slider_reaches_the_running_optimizer_within_250_ms(threaded, labs):
    lab = labs(fps=5)
    lab.play()
    wait_until(lambda: lab.trainer.step_count > 20, 10)
    assert lab.running
    lags = []
    for value in (3e-3, 2e-4, 1e-3):
        lab.controls["lr_d"].value = value
        lags.append(wait_until(lambda: lab.trainer.opt_d.param_groups[0]["lr"] == value, 2))
        lab.controls["lr_g"].value = value
        lags.append(wait_until(lambda: lab.trainer.opt_g.param_groups[0]["lr"] == value, 2))
    assert max(lags) < 0.25, lags
    steps = lab.trainer.step_count
    wait_until(lambda: lab.trainer.step_count > steps + 10, 5)  # the steps keep coming after the change
    lab.pause()
    assert f"lr_d={1e-3:.2e}" in lab.status.value and f"step={lab.trainer.step_count}" in lab.status.value


def test_noise_dimension_change_rebuilds_the_generator_while_training(threaded, labs):
    lab = labs(fps=5)
    lab.play()
    wait_until(lambda: lab.trainer.step_count > 5, 10)
    lab.controls["z_dim"].value = 4
    wait_until(lambda: lab.trainer.generator.net[0].in_features == 4, 2)
    steps = lab.trainer.step_count
    wait_until(lambda: lab.trainer.step_count > steps + 5, 5)  # and it trains on
    wait_until(lambda: "noise dimension 2 → 4: generator rebuilt" in lab.status.value, 5)
    assert lab.trainer.z_dim == 4 and lab.trainer.sample(10).shape == (10, 2)
    trained = {id(p) for p in lab.trainer.opt_g.param_groups[0]["params"]}
    assert {id(p) for p in lab.trainer.generator.parameters()} == trained  # G's new Adam holds the new G


def test_pause_stops_the_thread_and_training(threaded, labs):
    lab = labs(fps=5)
    lab.play()
    wait_until(lambda: lab.trainer.step_count > 5, 10)
    lab.pause()
    assert not lab.running
    assert not [t for t in threading.enumerate() if t.name == "gan-lab"]
    steps = lab.trainer.step_count
    time.sleep(0.1)
    assert lab.trainer.step_count == steps and "paused" in lab.status.value


def test_step_d_and_step_g_each_make_exactly_one_update(labs):
    lab = labs()
    lab.tick(draw=False)
    d_steps, g_steps = adam_steps(lab.trainer.opt_d), adam_steps(lab.trainer.opt_g)
    g_before, d_before = weights(lab.trainer.generator), weights(lab.trainer.discriminator)
    lab.step_d()
    assert (adam_steps(lab.trainer.opt_d), adam_steps(lab.trainer.opt_g)) == (d_steps + 1, g_steps)
    assert all(torch.equal(a, b) for a, b in zip(g_before, lab.trainer.generator.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, lab.trainer.discriminator.parameters()))
    d_after = weights(lab.trainer.discriminator)
    lab.step_g()
    assert (adam_steps(lab.trainer.opt_d), adam_steps(lab.trainer.opt_g)) == (d_steps + 1, g_steps + 1)
    assert all(torch.equal(a, b) for a, b in zip(d_after, lab.trainer.discriminator.parameters()))
    assert "one G update" in lab.status.value


def test_step_buttons_are_refused_while_training(threaded, labs):
    lab = labs(fps=5)
    lab.play()
    with pytest.raises(RuntimeError, match="pause"):
        lab.step_d()
    lab.controls["step_g"].click()  # a button says so in the status instead of raising
    wait_until(lambda: "while the lab is paused" in lab.status.value, 5)


def test_reset_restores_the_initial_state(labs):
    cfg = TrainConfig(seed=3, device="cpu")
    lab = labs(cfg)
    lab.tick(draw=False)
    lab.controls["lr_g"].value = 2e-3
    lab.reset()
    assert lab.trainer.step_count == 0 and len(lab.trainer.history) == 0 and not lab.trainer.opt_d.state
    assert lab.trainer.lr_g == 2e-3  # reset keeps the settings the controls show
    reset_weights = weights(lab.trainer.generator) + weights(lab.trainer.discriminator)
    lab.tick(draw=False)  # training draws from the global RNG that reset re-seeded ...
    fresh = labs(replace(cfg, lr_g=2e-3))  # ... and so does a fresh lab, which re-seeds it again
    fresh_weights = weights(fresh.trainer.generator) + weights(fresh.trainer.discriminator)
    assert all(torch.equal(a, b) for a, b in zip(reset_weights, fresh_weights))
    fresh.tick(draw=False)
    assert lab.trainer.history.records == fresh.trainer.history.records  # and it trains the same from there


def test_a_reset_between_two_steps_of_a_chunk_leaves_the_rest_of_the_chunk_to_the_new_trainer(labs):
    cfg = TrainConfig(seed=3, device="cpu")
    lab = labs(cfg, chunk=4)
    # what the training thread meets when reset is pressed during the chunk's first step: a change that
    # queues the reset is applied before step 1, so the reset itself is applied after it
    lab._pending.append((lambda: lab._pending.append((lab._rebuild, "reset")), "reset, pressed during step 1"))
    old = lab.trainer
    metrics = lab.tick(draw=False)
    assert lab.trainer is not old and old.step_count == 1 and lab.trainer.step_count == 3
    fresh = labs(cfg, chunk=3)  # re-seeds the global RNG as the reset did, and trains the same 3 steps
    assert fresh.tick(draw=False) == metrics
    assert lab.trainer.history.records == fresh.trainer.history.records
    assert (lab.curves.steps, lab.curves.means) == (fresh.curves.steps, fresh.curves.means)


def test_redrawing_reuses_one_figure_per_pane(labs):
    lab = labs()
    figures = {name: pane.figure for name, pane in lab.panes.items()}
    gc.collect()
    n_figures, pyplot_figures = sum(type(o) is Figure for o in gc.get_objects()), plt.get_fignums()
    pictures = set()
    for _ in range(8):
        lab.tick()
        pictures.add(bytes(lab.images["samples"].value))
    gc.collect()
    assert sum(type(o) is Figure for o in gc.get_objects()) == n_figures
    assert plt.get_fignums() == pyplot_figures
    assert {name: pane.figure for name, pane in lab.panes.items()} == figures
    assert all(bytes(image.value).startswith(PNG) for image in lab.images.values())
    assert len(pictures) == 8  # the pictures follow the training


def test_running_lab_draws_frames_at_the_asked_rate(threaded, labs):
    lab = labs(fps=8)
    lab.play()
    wait_until(lambda: lab.frames_drawn >= 2, 10)
    frames, start = lab.frames_drawn, time.perf_counter()
    time.sleep(1.0)
    rate = (lab.frames_drawn - frames) / (time.perf_counter() - start)
    assert 2 <= rate <= 9, rate  # throttled: about 8 a second, however fast training runs


def test_control_domains_keep_the_trainer_valid(labs):
    lab = labs()
    c = lab.controls
    for name in ("lr_d", "lr_g", "z_dim", "d_steps", "reg_weight"):
        low, high = c[name].min, c[name].max
        if name in ("lr_d", "lr_g", "reg_weight"):  # a log slider's min and max are exponents of its base
            low, high = c[name].base ** low, c[name].base ** high
        for value in (low, high):
            replace(lab.cfg, **{name: value})  # raises ValueError if a slider could leave the allowed range
            assert value <= LIMITS[name]
            c[name].value = value
            assert getattr(lab.cfg, name) == value
    assert set(c["target"].options) == set(TARGET_NAMES) and set(c["loss"].options) == set(LOSS_NAMES)
    assert set(c["regularizer"].options) == set(REGULARIZER_NAMES)
    assert all(1 <= b <= LIMITS["batch_size"] for b in c["batch_size"].options)
    lab.tick(draw=False)  # the extreme values still train
    assert lab.trainer.lr_d == c["lr_d"].value == 10 ** c["lr_d"].max and lab.trainer.z_dim == c["z_dim"].max


def test_every_loss_regularizer_target_and_batch_size_applies_live(labs):
    lab = labs()
    for loss in LOSS_NAMES:
        lab.controls["loss"].value = loss
        assert lab.trainer.loss.name == loss
        lab.tick(draw=False)
    for regularizer in REGULARIZER_NAMES:
        lab.controls["regularizer"].value = regularizer
        assert lab.trainer.config.regularizer == regularizer
        lab.tick(draw=False)
    assert lab.trainer.config.reg_weight == pytest.approx(0.1)  # R2's usual gamma; GP's lambda would be 10
    lab.controls["target"].value = "grid25"
    lab.controls["batch_size"].value = 64
    x = lab.trainer.sample_real()
    assert x.shape == (64, 2) and x.abs().max() > 3  # the grid reaches +-4, the ring only 1
    assert torch.cdist(x, make_target("grid25").centres).min(dim=1).values.max() < 0.3
    lab.tick()
    assert all(np.isfinite(v) for v in lab.trainer.history["loss_d"])


def test_fast_mode_play_trains_synchronously_and_leaves_no_thread(monkeypatch, labs):
    monkeypatch.setenv("GAN_LESSONS_FAST", "1")
    lab = labs(chunk=4, fast_chunks=3)
    lab.play()
    assert not lab.running and lab.trainer.step_count == 12
    lab.wait(30)  # returns at once in fast mode


def test_status_and_css_classes_for_the_browser_test(labs):
    lab = labs()
    lab.tick()
    assert "gan-lab-status" in lab.status._dom_classes
    assert f"step={lab.trainer.step_count}" in lab.status.value and f"lr_d={lab.trainer.lr_d:.2e}" in lab.status.value
    for name, css in (("lr_d", "gan-lab-lr-d"), ("lr_g", "gan-lab-lr-g"), ("play", "gan-lab-play"),
                      ("pause", "gan-lab-pause")):
        assert css in lab.controls[name]._dom_classes
    assert all("gan-lab-pane" in image._dom_classes for image in lab.images.values())


def test_display_carries_a_still_picture_for_static_viewers(labs):
    lab = labs()
    lab.tick(draw=False)
    pyplot_figures = plt.get_fignums()  # (other tests in this process may have left some open)
    bundle = lab._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == lab.widget.model_id
    assert base64.b64decode(bundle["image/png"]).startswith(PNG)
    assert isinstance(lab.snapshot(), Figure) and plt.get_fignums() == pyplot_figures  # none made through pyplot


def test_curves_keep_bounded_bin_means():
    curves = Curves(max_bins=4)
    values = np.arange(1, 101, dtype=float)
    for step, v in enumerate(values, start=1):
        curves(step, {"loss_d": v, "loss_g": -v, "d_real": 0.5, "d_fake": 0.25})
    arrays = curves.arrays()
    assert len(arrays["step"]) < 8 and curves.width == 16
    n = len(arrays["step"]) * curves.width
    np.testing.assert_allclose(arrays["loss_d"], values[:n].reshape(-1, curves.width).mean(axis=1))
    np.testing.assert_allclose(arrays["step"], np.arange(curves.width, n + 1, curves.width))
    np.testing.assert_allclose(arrays["d_fake"], 0.25)


def test_history_is_thinned_keeping_the_recent_half():
    history = History()
    for step in range(1, 11):
        history(step, {"loss_d": float(step)})
    thin_history(history, max_len=8)
    assert history.steps == [1, 3, 5, 6, 7, 8, 9, 10] and history["loss_d"] == [float(s) for s in history.steps]


def test_stable_range_moves_only_when_it_must():
    assert stable_range((0.0, 1.0), 0.2, 0.8) == (0.0, 1.0)
    assert stable_range((0.0, 1.0), 0.2, 1.2) == pytest.approx((-0.05, 1.45))
    assert stable_range((0.0, 100.0), 0.2, 0.8) == pytest.approx((0.05, 0.95))  # far too wide: shrinks


def test_the_ceiling_replays_the_matrix_products_of_a_real_step():
    """Four MLP forward passes a step as the lab trains it (fast_mlp: G, then D once over the real and generated
    batch together in D's update; G then D in G's), three layers each: 12 products with a bias; the backward
    passes add the plain ones. Their shapes are the step's own."""
    from benchmarks.lab_2d import step_matmul_shapes

    products = step_matmul_shapes(TrainConfig(device="cpu", regularizer="none", batch_size=64, hidden=32))
    with_bias = [shapes for name, shapes in products if name == "aten::addmm"]
    assert len(with_bias) == 12
    assert [64, 32] in [shapes[1] for shapes in with_bias]  # batch x hidden: the hidden layers' inputs
    assert [128, 32] in [shapes[1] for shapes in with_bias]  # D's update: real and generated rows together
    for name, shapes in products:  # each replayable: inner sizes agree
        a, b = shapes[-2:]
        assert a[1] == b[0], (name, shapes)


def test_benchmark_runs_and_merges_valid_records(tmp_path):
    """`python -m benchmarks --quick` (tiny durations: it measures nothing) writes well-formed records."""
    out = tmp_path / "results.json"
    out.write_text(json.dumps([{"name": "other.kept", "value": 1.0, "unit": "s", "target": None,
                                "better": "lower", "baseline": None}]))
    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), "lab_2d"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = {r["name"]: r for r in json.loads(out.read_text())}
    targeted = {"lab_2d.steps_per_s", "lab_2d.steps_per_s_plain", "lab_2d.steps_per_s_redraw",
                "lab_2d.frames_per_s", "lab_2d.latency_ms", "lab_2d.seconds_to_ring"}
    expected = targeted | {"lab_2d.matmul_bound_steps_per_s_plain", "lab_2d.matmul_bound_steps_per_s_all_cores"}
    assert expected | {"other.kept"} == set(records)  # merged by name: other benchmarks' rows stay
    for name in expected:
        r = records[name]
        assert {"name", "value", "unit", "target", "better", "baseline"} <= set(r)
        assert r["value"] >= 0 and r["better"] in ("higher", "lower")  # quick: may be 0
        assert (r["target"] > 0) if name in targeted else (r["target"] is None)
        assert r["baseline"] is None or r["baseline"] > 0
        assert name in done.stdout  # and the table shows it
    assert records["lab_2d.steps_per_s"]["baseline"] is not None
    assert "left alive" not in records["lab_2d.latency_ms"]["note"]


def test_quick_benchmark_leaves_the_real_results_alone():
    """Quick figures measure nothing: without --out they are printed, not merged into benchmarks/results.json."""
    root = Path(__file__).parents[1]
    results = root / "benchmarks" / "results.json"
    before = results.read_bytes() if results.exists() else None
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "lab_2d"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "nothing written" in done.stdout and "lab_2d.steps_per_s" in done.stdout
    assert (results.read_bytes() if results.exists() else None) == before
