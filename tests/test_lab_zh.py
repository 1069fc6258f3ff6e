"""The live lab in Chinese (`gl.set_language("zh")`): its buttons, controls, status line, messages and panes speak
Chinese, a control still reaches the trainer, and back in English every word is as it was."""
import re
import warnings

import pytest

from gan_lessons import i18n
from gan_lessons.config import TrainConfig
from gan_lessons.lab import GANLab, pinned_caption
from gan_lessons.lab_panes import coverage_text, manifold_title

CHINESE = re.compile(r"[\u3400-\u9fff]")
BUTTONS = ("play", "pause", "step_d", "step_g", "reset", "pin", "unpin", "save")


@pytest.fixture()
def language():
    """Set the language with `language("zh")`; English again at the end of the test."""
    yield i18n.set_language
    i18n.set_language("en")


@pytest.fixture()
def labs():
    """Make labs with `labs(...)`; all of them are paused at the end of the test."""
    made: list[GANLab] = []

    def make(cfg: TrainConfig | None = None, **kwargs) -> GANLab:
        cfg = None if "preset" in kwargs else cfg or TrainConfig(device="cpu")
        made.append(GANLab(cfg, fps=0, **kwargs))
        return made[-1]

    yield make
    for lab in made:
        lab.pause()


def titles(lab: GANLab) -> list[str]:
    """Every title and axis label of the lab's live panes."""
    return [text for pane in lab.panes.values() for ax in pane.figure.axes
            for text in (ax.get_title(), ax.get_xlabel()) if text]


def legends(lab: GANLab) -> list[str]:
    return [t.get_text() for pane in lab.panes.values() for ax in pane.figure.axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]


def test_in_chinese_the_labs_buttons_controls_and_status_are_chinese(language, labs):
    language("zh")
    lab = labs()
    assert [lab.controls[name].description for name in BUTTONS] == [
        "播放", "暂停", "单步 D", "单步 G", "重置", "固定", "取消固定", "保存"]
    assert lab.controls["lr_d"].description == "判别器学习率 lr_d"
    assert lab.controls["z_dim"].description == "噪声维度 z_dim"
    assert all(CHINESE.search(lab.controls[name].description) for name in lab.shown)
    assert CHINESE.search(lab.preset_menu.description) and CHINESE.search(lab.replay_slider.description)
    assert lab.preset_menu.options[0][0] == "课程中的故事…" and ("模式崩溃", "mode collapse") in lab.preset_menu.options
    assert "就绪" in lab.status.value and "步/秒" in lab.status.value and "<code>step=0</code>" in lab.status.value
    assert "覆盖的模式" in lab.coverage.value and "反向 KL" in lab.coverage.value


def test_in_chinese_a_slider_still_reaches_the_trainer_and_the_status_says_so(language, labs):
    language("zh")
    lab = labs()
    lab.controls["lr_d"].value = 2e-4
    lab.controls["z_dim"].value = 3
    assert lab.trainer.lr_d == 2e-4 and lab.cfg.lr_d == 2e-4
    assert lab.trainer.z_dim == 3 and lab.trainer.generator.z_dim == 3
    assert "噪声维度 2 → 3：已重建生成器" in lab.status.value
    lab.tick()
    assert lab.trainer.step_count == lab.chunk and "已暂停" in lab.status.value
    lab.step_g()
    assert "G 更新了一次：loss_g=" in lab.status.value
    lab.controls["reg_weight"].value = float("nan")  # refused: the message names the control, in Chinese
    assert "reg_weight 未改变：reg_weight=nan 无效" in lab.status.value


def test_in_chinese_a_bad_value_names_the_control_and_what_it_takes(language, labs):
    language("zh")
    lab = labs()
    with pytest.raises(ValueError, match=r"^loss='bce' 无效：允许的取值为 minimax, nonsaturating, lsgan"):
        lab.set(loss="bce")
    with pytest.raises(ValueError, match=r"^z_dim=99 无效：实验室的这个控件只接受 1 到 16 之间的整数"):
        lab.set(z_dim=99)
    with pytest.raises(ValueError, match=r"^preset='nope' 无效：允许的取值为 'fast ring', 'mode collapse'"):
        GANLab(preset="nope")
    assert lab.cfg.loss == "nonsaturating" and lab.cfg.z_dim == TrainConfig().z_dim


def test_in_chinese_the_panes_and_the_story_are_chinese(language, labs):
    language("zh")
    lab = labs(preset="mode collapse")
    assert "G 的流形" in " ".join(titles(lab)) and "真实样本与生成样本" in titles(lab)
    assert "训练步" in titles(lab) and "损失与 D 的平均输出" in titles(lab)
    assert {"真实样本", "生成样本", "D 的损失", "G 的损失"} <= set(legends(lab))
    assert "最长箭头" in lab.panes["arrows"].pane.note.get_text()
    assert "<b>模式崩溃 (mode collapse)</b>（第 07 课）" in lab.story.value and "请观察" in lab.story.value
    assert "第 07 课的普通 GAN" in lab.story.value
    assert "已固定" in pinned_caption(lab.pin(), lab.cfg)
    assert manifold_title(5).endswith("（切片 z3..z5 = 0）")


def test_the_panes_and_status_follow_the_language_in_use_when_drawn(language, labs):
    lab = labs()
    assert "real vs generated samples" in titles(lab) and "ready: press play" in lab.status.value
    language("zh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab.redraw()
    assert not [w for w in caught if "missing from font" in str(w.message)]  # the words made before get the font
    assert "真实样本与生成样本" in titles(lab) and "real vs generated samples" not in titles(lab)
    assert "D：P(真实)" in " ".join(titles(lab))
    assert "就绪" in lab.status.value and "模式" in lab.coverage.value
    assert lab.controls["play"].description == "play"  # the widgets keep the language they were made in
    language("en")
    lab.redraw()
    assert "real vs generated samples" in titles(lab) and "ready: press play" in lab.status.value


def test_in_english_every_word_of_the_lab_is_as_it_was(labs):
    assert i18n.get_language() == "en"
    lab = labs()
    assert [lab.controls[name].description for name in BUTTONS] == [
        "play", "pause", "step D", "step G", "reset", "pin", "unpin", "save"]
    assert [lab.controls[name].description for name in lab.shown] == [
        "target", "loss", "lr of D", "lr of G", "noise dim", "batch size", "D steps per G", "regularizer",
        "its weight"]
    assert lab.controls["lr_d"].style.description_width == "110px"
    assert lab.preset_menu.options[0] == ("a lesson's story…", None) and ("mode collapse", "mode collapse") in \
        lab.preset_menu.options
    assert (lab.preset_menu.description, lab.replay_slider.description) == ("preset", "replay frame")
    assert "steps/s" in lab.status.value and "ready: press play" in lab.status.value
    assert not CHINESE.search(lab.status.value + lab.coverage.value + " ".join(titles(lab) + legends(lab)))
    assert coverage_text({}, 8) == "modes covered: not measured yet"
    assert manifold_title(3) == "G's manifold: the z-plane's grid mapped by G\n(slice z3 = 0)"


def test_a_presets_story_is_told_in_the_language_in_use_and_kept_in_english(language):
    from gan_lessons.lab_presets import PRESETS

    preset = PRESETS["mode collapse"]
    language("zh")
    assert re.search(r"[\u3400-\u9fff]", preset.told) and preset.story.startswith("Lesson 07's plain GAN")
    language("en")
    assert preset.told == preset.story
