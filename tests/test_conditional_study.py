"""benchmarks/conditional_study.py: its option checks, its variants and its table (the run itself needs MNIST)."""
import pytest
import torch

from benchmarks import conditional_study
from gan_lessons.image_training import conditional_mnist_trainer


@pytest.mark.parametrize("bad, message", [(["--seconds", "-3"], "seconds=-3.0 is not allowed"),
                                          (["--seeds", "0"], "seeds=0 is not allowed")])
def test_bad_options_are_refused_by_name(capsys, bad, message):
    with pytest.raises(SystemExit):
        conditional_study.main(bad)
    assert message in capsys.readouterr().err


def test_the_last_variant_trains_as_lesson_09s_trainer():
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    labels = torch.arange(64) % 10
    ours = conditional_study.build(conditional_study.VARIANTS[-1], images, labels, seed=0)
    ours.step()
    lesson = conditional_mnist_trainer(images, labels)
    lesson.step()
    assert ours.config == lesson.config
    for a, b in zip((*ours.ema.generator.parameters(), *ours.discriminator.parameters()),
                    (*lesson.ema.generator.parameters(), *lesson.discriminator.parameters()), strict=True):
        assert torch.equal(a, b)


def test_the_table_gives_each_seed_and_a_dash_where_the_bar_was_not_met():
    rows = [{"variant": "v", "seed": s, "reached_s": t, "steps": 4000 + s, "score": 9.1 - s} for s, t in
            ((0, 21.0), (1, None))]
    text = conditional_study.table(rows, 45)
    assert "| v | 21, - | 4,000, 4,001 | 9.10, 8.10 |" in text
