"""The command line and the configuration's checks in Chinese: `--help` and every error speak the language in use when
`main` runs (GAN_LESSONS_LANG=zh, or `set_language("zh")`), still naming the parameter and what it allows; English is
unchanged."""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gan_lessons import cli, i18n
from gan_lessons.config import TrainConfig, display_width

ROOT = Path(__file__).resolve().parents[1]
CHINESE = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture()
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language("en")


def run(*argv: str, language: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAN_LESSONS_LANG": language, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_lessons", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_compare_help_is_chinese_with_gan_lessons_lang_zh():
    done = run("compare", "--help", language="zh")
    assert done.returncode == 0, done.stderr
    help_text = done.stdout
    assert help_text.startswith("用法：python -m gan_lessons compare")
    assert "显示本帮助信息并退出" in help_text and "每次运行的训练步数（默认：ring8 4000, grid25 6000）" in help_text
    assert "--settings {paper,search}" in help_text and "paper：每种方法使用其论文设置" in help_text
    assert "--debug：命令失败时同时打印调用栈" in help_text
    assert "show this help message" not in help_text and "training steps per run" not in help_text


def test_compare_help_is_english_by_default():
    done = run("compare", "--help", language="en")
    assert done.returncode == 0 and not CHINESE.search(done.stdout)
    assert done.stdout.startswith("usage: python -m gan_lessons compare")
    assert "show this help message and exit" in done.stdout and "training steps per run (default: ring8 4000" in \
        done.stdout


def test_a_bad_value_is_refused_in_chinese_naming_the_parameter_and_the_allowed_values():
    done = run("train", "--loss", "bce", "--steps", "1", language="zh")
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2
    assert last == ("python -m gan_lessons：错误：loss='bce' 未知：允许的取值为 minimax, nonsaturating, lsgan, wgan, "
                    "hinge"), last
    done = run("compare", "--settings", "bad", language="zh")  # refused by argparse itself, in its own words
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        "python -m gan_lessons compare：错误：参数 --settings：无效的选项：'bad'（可选：'paper', 'search'）")


def test_set_language_before_main_decides_the_language_of_help_and_errors(chinese, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", str(tmp_path / "run"), "--lr-d", "-0.1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "lr_d=-0.1 无效：必须是区间 (0, 1] 内的数" in err and "错误" in err
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--lr-d LR_D" in out and "D 的 Adam 学习率" in out and "（(0, 1]；默认 0.001）" in out
    assert argparse._("usage: ") == "usage: "  # argparse's own words are put back when main returns


def test_the_configurations_checks_speak_chinese_and_still_name_parameter_and_allowed_values(chinese):
    for field, value, says in [("lr_d", 0.0, "lr_d=0.0 无效：必须是区间 (0, 1] 内的数"),
                               ("z_dim", 0, "z_dim=0 无效：必须是 1 到 1024 之间的整数"),
                               ("loss", "bce", "loss='bce' 未知：允许的取值为 minimax, nonsaturating, lsgan, wgan, hinge"),
                               ("spectral_norm", 1, "spectral_norm=1 无效：必须是 True 或 False")]:
        with pytest.raises(ValueError) as error:
            TrainConfig(**{field: value})
        assert str(error.value) == says
    with pytest.raises(ValueError, match=r"^label_smoothing=0.1 不能与 loss='hinge' 一起使用"):
        TrainConfig(label_smoothing=0.1, loss="hinge")


def test_the_doctor_speaks_chinese_and_keeps_its_columns(chinese):
    report = cli.doctor()
    assert "设备" in report and "MNIST 测试集" in report and "二维目标" in report
    for label in ("python", "设备", "二维目标", "8x8 数字", "MNIST 测试集"):  # the values in one column
        (line,) = [line for line in report.splitlines() if line.startswith(label + " ")]
        rest = line[len(label):]
        assert display_width(label) + len(rest) - len(rest.lstrip(" ")) == 13, line


def test_in_english_the_checks_and_the_cli_say_what_they_said(tmp_path, capsys):
    assert i18n.get_language() == "en"
    with pytest.raises(ValueError) as error:
        TrainConfig(lr_d=0.0)
    assert str(error.value) == "lr_d=0.0 is not allowed; it must be a number in (0, 1]"
    with pytest.raises(SystemExit):
        cli.main(["train", "--out", str(tmp_path / "run"), "--loss", "bce"])
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "python -m gan_lessons: error: loss='bce' is not known; allowed values: minimax, nonsaturating, lsgan, wgan, "
        "hinge")
    assert "device " in cli.doctor()
