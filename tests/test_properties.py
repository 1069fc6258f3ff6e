"""Property-based tests of the inputs: every invalid value is rejected with a ValueError that names the
parameter, nothing else ever escapes, and every valid value is accepted."""
import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_lessons import cli
from gan_lessons.config import BCE_LOSSES, LIMITS, LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig

INT_FIELDS = {"z_dim": (1, LIMITS["z_dim"]), "hidden": (1, LIMITS["hidden"]),
              "batch_size": (1, LIMITS["batch_size"]), "d_steps": (1, LIMITS["d_steps"]), "seed": (0, LIMITS["seed"]),
              "depth": (1, LIMITS["depth"]), "noise_anneal": (0, LIMITS["noise_anneal"]), "pack": (1, LIMITS["pack"])}
# The fixes of lesson 08 that take a number in [0, limit]; 0 turns the fix off.
FIX_FLOATS = {name: LIMITS[name] for name in ("clip", "feature_matching", "label_smoothing", "instance_noise", "ema",
                                              "lr_decay")}
CHOICE_FIELDS = {"target": TARGET_NAMES, "loss": LOSS_NAMES, "regularizer": REGULARIZER_NAMES,
                 "device": ("auto", "cpu", "cuda", "mps")}
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
                 st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


def bad_int(low, high):
    return st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1),
                     st.floats(allow_nan=False).filter(lambda v: v != int(v) if math.isfinite(v) else True), junk)


def rejected(field, value):
    with pytest.raises(ValueError) as error:
        TrainConfig(**{field: value})
    assert str(error.value).startswith(f"{field}="), str(error.value)
    return True


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(INT_FIELDS)).flatmap(lambda f: st.tuples(st.just(f), bad_int(*INT_FIELDS[f]))))
def test_invalid_integers_are_rejected(case):
    assert rejected(*case)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["lr_d", "lr_g"]), st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), junk))
def test_invalid_learning_rates_are_rejected(field, value):
    assert rejected(field, value)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["beta1", "beta2", "reg_weight"]).flatmap(lambda f: st.tuples(st.just(f), st.one_of(
    st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=1.0 if f != "reg_weight" else 1e4, exclude_min=True), junk))))
def test_invalid_betas_and_weights_are_rejected(case):
    assert rejected(*case)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(CHOICE_FIELDS)).flatmap(lambda f: st.tuples(
    st.just(f), st.one_of(st.text(max_size=12), junk).filter(lambda v: v not in CHOICE_FIELDS[f]))))
def test_invalid_names_are_rejected_with_the_allowed_values(case):
    field, value = case
    with pytest.raises(ValueError, match="allowed values: " + ", ".join(CHOICE_FIELDS[field][:2])):
        TrainConfig(**{field: value})


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FIX_FLOATS)).flatmap(lambda f: st.tuples(st.just(f), st.one_of(
    st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=FIX_FLOATS[f], exclude_min=True), junk))))
def test_invalid_fix_settings_are_rejected(case):
    assert rejected(*case)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(), st.text(max_size=4), st.none(), st.floats()))
def test_spectral_norm_must_be_a_bool(value):
    assert rejected("spectral_norm", value)


@settings(max_examples=100, deadline=None)
@given(loss=st.sampled_from(LOSS_NAMES), smoothing=st.floats(0.0, 0.5), batch=st.integers(1, 512), pack=st.integers(1, 64))
def test_fix_combinations_are_accepted_or_named(loss, smoothing, batch, pack):
    """Smoothing needs labels (a BCE loss); packing needs a batch that splits into packs: else the error says so."""
    make = lambda: TrainConfig(loss=loss, label_smoothing=smoothing, batch_size=batch, pack=pack)
    if smoothing > 0 and loss not in BCE_LOSSES:
        with pytest.raises(ValueError, match=r"^label_smoothing=.*nonsaturating"):
            make()
    elif batch % pack:
        with pytest.raises(ValueError, match=r"^pack=.*multiple of pack"):
            make()
    else:
        assert make().pack == pack


@settings(max_examples=100, deadline=None)
@given(target=st.sampled_from(TARGET_NAMES), loss=st.sampled_from(LOSS_NAMES), reg=st.sampled_from(REGULARIZER_NAMES),
       z_dim=st.integers(1, 1024), batch=st.integers(1, 1024), lr=st.floats(1e-8, 1.0), beta=st.floats(0, 0.9999),
       weight=st.floats(0, 1e4), seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 8), pack=st.integers(1, 64),
       fix=st.sampled_from(sorted(FIX_FLOATS)), fraction=st.floats(0, 1), sn=st.booleans(), anneal=st.integers(0, 10**9))
def test_valid_configs_are_accepted(target, loss, reg, z_dim, batch, lr, beta, weight, seed, depth, pack, fix, fraction,
                                    sn, anneal):
    fix_value = fraction * FIX_FLOATS[fix]
    if fix == "label_smoothing" and loss not in BCE_LOSSES:
        fix_value = 0.0  # smoothing needs labels: tested above
    cfg = TrainConfig(target=target, loss=loss, regularizer=reg, z_dim=z_dim, batch_size=batch * pack, lr_d=lr, lr_g=lr,
                      beta1=beta, reg_weight=weight, seed=seed, depth=depth, pack=pack, spectral_norm=sn,
                      noise_anneal=anneal, **{fix: fix_value})
    assert cfg.z_dim == z_dim and getattr(cfg, fix) == fix_value


CLI_OPTIONS = {"--steps": "steps", "--seed": "seed", "--z-dim": "z_dim", "--batch-size": "batch_size",
               "--lr-d": "lr_d", "--lr-g": "lr_g", "--d-steps": "d_steps", "--target": "target", "--loss": "loss",
               "--regularizer": "regularizer", "--reg-weight": "reg_weight", "--device": "device", "--hidden": "hidden",
               "--depth": "depth", "--beta1": "beta1", "--beta2": "beta2", "--clip": "clip",
               "--feature-matching": "feature_matching", "--label-smoothing": "label_smoothing",
               "--instance-noise": "instance_noise", "--noise-anneal": "noise_anneal", "--ema": "ema", "--pack": "pack",
               "--lr-decay": "lr_decay"}
# Values of bad_cli_value's list that some options accept: 0 switches a fix off; a few allow numbers above 1.
ZERO_OK = {"--seed", "--reg-weight", "--clip", "--feature-matching", "--instance-noise", "--label-smoothing", "--ema",
           "--lr-decay", "--noise-anneal", "--beta1", "--beta2"}
ABOVE_ONE_OK = {"--reg-weight", "--clip", "--feature-matching", "--instance-noise"}
bad_cli_value = st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["nan", "-inf", "1e9999", "abc", "", "0.0",
                                                                              "-1e-3", "ring9", "1.5", "2.0"]))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(CLI_OPTIONS)), bad_cli_value)
def test_cli_rejects_invalid_values_naming_the_parameter(tmp_path_factory, option, value):
    zero = value == "0" or (value == "0.0" and option not in ("--seed", "--noise-anneal"))
    if (option in ZERO_OK and zero) or (option in ABOVE_ONE_OK and value in ("1.5", "2.0")):
        return
    out = tmp_path_factory.mktemp("run")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", str(out / "o"), option, value])
    assert exit_info.value.code == 2
    message = stderr.getvalue()
    assert CLI_OPTIONS[option] in message or option in message, message
    assert "Traceback" not in message and not (out / "o").exists()
