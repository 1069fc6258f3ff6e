"""Property-based tests of the inputs: every invalid value is rejected with a ValueError that names the
parameter, nothing else ever escapes, and every valid value is accepted."""
import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_lessons import cli
from gan_lessons.config import LIMITS, LOSS_NAMES, REGULARIZER_NAMES, TARGET_NAMES, TrainConfig

INT_FIELDS = {"z_dim": (1, LIMITS["z_dim"]), "hidden": (1, LIMITS["hidden"]),
              "batch_size": (1, LIMITS["batch_size"]), "d_steps": (1, LIMITS["d_steps"]), "seed": (0, LIMITS["seed"])}
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


@settings(max_examples=100, deadline=None)
@given(target=st.sampled_from(TARGET_NAMES), loss=st.sampled_from(LOSS_NAMES), reg=st.sampled_from(REGULARIZER_NAMES),
       z_dim=st.integers(1, 1024), batch=st.integers(1, 65536), lr=st.floats(1e-8, 1.0), beta=st.floats(0, 0.9999),
       weight=st.floats(0, 1e4), seed=st.integers(0, 2**32 - 1))
def test_valid_configs_are_accepted(target, loss, reg, z_dim, batch, lr, beta, weight, seed):
    cfg = TrainConfig(target=target, loss=loss, regularizer=reg, z_dim=z_dim, batch_size=batch, lr_d=lr, lr_g=lr,
                      beta1=beta, reg_weight=weight, seed=seed)
    assert cfg.z_dim == z_dim


CLI_OPTIONS = {"--steps": "steps", "--seed": "seed", "--z-dim": "z_dim", "--batch-size": "batch_size",
               "--lr-d": "lr_d", "--lr-g": "lr_g", "--d-steps": "d_steps", "--target": "target", "--loss": "loss",
               "--regularizer": "regularizer", "--reg-weight": "reg_weight", "--device": "device"}
bad_cli_value = st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["nan", "-inf", "1e9999", "abc", "", "0.0",
                                                                              "-1e-3", "ring9", "1.5", "2.0"]))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(CLI_OPTIONS)), bad_cli_value)
def test_cli_rejects_invalid_values_naming_the_parameter(tmp_path_factory, option, value):
    valid_anyway = {("--seed", "0"), ("--reg-weight", "0"), ("--reg-weight", "0.0"), ("--reg-weight", "1.5"),
                    ("--reg-weight", "2.0")}
    if (option, value) in valid_anyway:
        return
    out = tmp_path_factory.mktemp("run")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", str(out / "o"), option, value])
    assert exit_info.value.code == 2
    message = stderr.getvalue()
    assert CLI_OPTIONS[option] in message or option in message, message
    assert "Traceback" not in message and not (out / "o").exists()
