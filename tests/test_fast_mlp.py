"""The hand-written backward pass of a plain MLP GAN (fast_mlp.py: the lab's 2-D GAN, lesson 06's MLP GAN of
digits) trains exactly as autograd does."""
from __future__ import annotations

import copy

import pytest
import torch

from gan_lessons import fast_mlp
from gan_lessons.config import TrainConfig, replace, seed_everything
from gan_lessons.image_training import MLPDigitsConfig, make_mlp_digits_trainer
from gan_lessons.training import make_2d_trainer

PLAIN = TrainConfig(device="cpu", regularizer="none")


def _pair(cfg: TrainConfig):
    """Two trainers from the same seed: one with the hand-written step, one with autograd."""
    seed_everything(cfg.seed)
    fast, _ = make_2d_trainer(cfg, hand_written_backward=True)
    seed_everything(cfg.seed)
    slow, _ = make_2d_trainer(cfg)
    assert fast.step_without_autograd is not None and slow.step_without_autograd is None
    return fast, slow


def _weights(trainer) -> list[torch.Tensor]:
    ema = list(trainer.ema.generator.parameters()) if trainer.ema is not None else []
    return [*trainer.generator.parameters(), *trainer.discriminator.parameters(), *ema]


def _step_both(fast, slow, step: int, abs_tol: float) -> None:
    """One step of each on the same random numbers; the same metrics up to float rounding."""
    torch.manual_seed(100 + step)
    m_fast = fast.step()
    torch.manual_seed(100 + step)
    m_slow = slow.step()
    assert m_fast.keys() == m_slow.keys()
    for key in m_fast:
        assert m_fast[key] == pytest.approx(m_slow[key], rel=1e-4, abs=abs_tol), (step, key)


@pytest.mark.parametrize("changes", [{}, {"d_steps": 3}, {"clip": 0.05}, {"ema": 0.9}, {"depth": 3, "hidden": 32},
                                     {"z_dim": 5, "batch_size": 64}, {"regularizer": "r1", "reg_weight": 0.0}])
def test_same_weights_metrics_and_adam_state_as_autograd(changes):
    fast, slow = _pair(replace(PLAIN, **changes))
    for step in range(10):  # Adam turns float rounding into differences of order lr over long runs
        _step_both(fast, slow, step, abs_tol=1e-5)
    for a, b in zip(_weights(fast), _weights(slow)):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)  # lr is 1e-3
    for opt in ("opt_d", "opt_g"):
        s_fast, s_slow = getattr(fast, opt).state_dict()["state"], getattr(slow, opt).state_dict()["state"]
        for i in s_slow:
            assert s_fast[i]["step"] == s_slow[i]["step"]
            torch.testing.assert_close(s_fast[i]["exp_avg"], s_slow[i]["exp_avg"], rtol=1e-3, atol=1e-5)
    for p_fast, p_slow in zip(fast.discriminator.parameters(), slow.discriminator.parameters()):
        torch.testing.assert_close(p_fast.grad, p_slow.grad, rtol=1e-3, atol=1e-6)  # as after a backward pass


def _assert_same_steps(fast, slow, steps: int = 10) -> None:
    """Each step from the same state (weights and Adam's): the same metrics and gradients up to float rounding. (Over
    many steps the runs drift apart by more than rounding: where a gradient is a sum that cancels to about zero, the
    rounding decides its sign, and Adam, which divides by the gradient's size, turns that sign into a step of about
    lr. So each step starts from the autograd run's state.)"""
    for step in range(steps):
        for part in ("generator", "discriminator", "opt_d", "opt_g"):
            getattr(fast, part).load_state_dict(copy.deepcopy(getattr(slow, part).state_dict()))  # no shared tensor
        _step_both(fast, slow, step, abs_tol=1e-6)
        for model in ("generator", "discriminator"):
            for (name, p_fast), p_slow in zip(getattr(fast, model).named_parameters(),
                                              getattr(slow, model).parameters(), strict=True):
                error = ((p_fast.grad - p_slow.grad).norm() / p_slow.grad.norm()).item()
                # rounding: about 3e-7, up to 6e-4 on a rare step where it moves a leaky ReLU's input across 0;
                # a missing tanh gradient gives 1e-2 to 5e-2
                assert error < 2e-3, (step, model, name, error)


@pytest.mark.parametrize("changes", [{}, {"width": 32, "pieces": 3, "z_dim": 13}, {"ema": 0.0}])
def test_lesson_06s_mlp_gan_of_digits_trains_as_with_autograd(changes):
    """Images: D reads them flattened, G ends in tanh, its noise is made of pieces; on a CPU the hand-written
    step is the trainer's default."""
    images = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cfg = replace(MLPDigitsConfig(device="cpu"), **changes)
    fast = make_mlp_digits_trainer(cfg, images)
    slow = make_mlp_digits_trainer(cfg, images, hand_written_backward=False)
    assert fast.step_without_autograd is not None and slow.step_without_autograd is None
    _assert_same_steps(fast, slow)
    if cfg.ema:  # the average follows G's weights alike
        fast.ema.generator.load_state_dict(slow.ema.generator.state_dict())
        for trainer in (fast, slow):
            trainer.generator.load_state_dict(slow.generator.state_dict())
            trainer.ema.update(trainer.generator)
        for a, b in zip(fast.ema.generator.parameters(), slow.ema.generator.parameters(), strict=True):
            assert torch.equal(a, b)


def test_a_wrong_tanh_gradient_would_be_caught():
    """Without the tanh's gradient (as if G ended linearly) the same comparison fails."""
    images = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fast = make_mlp_digits_trainer(MLPDigitsConfig(device="cpu"), images)
    slow = make_mlp_digits_trainer(MLPDigitsConfig(device="cpu"), images, hand_written_backward=False)
    aten = torch.ops.aten

    class NoTanh:
        def __getattr__(self, name):
            return (lambda g, y: g) if name == "tanh_backward" else getattr(aten, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_mlp.torch.ops, "aten", NoTanh())
        with pytest.raises(AssertionError, match="generator"):
            _assert_same_steps(fast, slow)


def test_a_wrong_gradient_would_be_caught():
    """The comparison above can fail: a leaky slope of 0.3 in the hand-written backward pass drifts away."""
    fast, slow = _pair(PLAIN)
    aten = torch.ops.aten

    class Wrong:
        def __getattr__(self, name):
            if name == "leaky_relu_backward":
                return lambda g, x, slope, is_result: aten.leaky_relu_backward(g, x, 0.3, is_result)
            return getattr(aten, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_mlp.torch.ops, "aten", Wrong())
        for _ in range(10):
            fast.step()
    for _ in range(10):
        slow.step()
    assert max((a - b).abs().max().item() for a, b in zip(_weights(fast), _weights(slow))) > 5e-4


@pytest.mark.parametrize("changes", [{"regularizer": "r1", "reg_weight": 0.1}, {"loss": "hinge"}, {"pack": 2},
                                     {"label_smoothing": 0.1}, {"instance_noise": 0.1}, {"feature_matching": 1.0},
                                     {"spectral_norm": True}, {"optimizer": "rmsprop"}])
def test_anything_else_trains_with_autograd(changes):
    seed_everything(0)
    trainer, _ = make_2d_trainer(replace(PLAIN, **changes), hand_written_backward=True)
    assert trainer.step_without_autograd is None


def test_a_knob_change_switches_between_the_two():
    seed_everything(0)
    trainer, _ = make_2d_trainer(PLAIN, hand_written_backward=True)
    assert trainer.step_without_autograd is not None
    trainer.configure(regularizer="r1", reg_weight=1.0)
    assert trainer.step_without_autograd is None
    trainer.step()
    trainer.configure(regularizer="none")
    assert trainer.step_without_autograd is not None
    assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())


def test_off_unless_asked_and_on_in_the_lab():
    """Lessons and scripts train with autograd (bit for bit what the lessons write); the live lab asks for speed."""
    from gan_lessons.lab import GANLab

    seed_everything(0)
    trainer, _ = make_2d_trainer(PLAIN)
    assert trainer.step_without_autograd is None
    lab = GANLab(PLAIN, fps=0)
    assert lab.trainer.step_without_autograd is not None
    lab.close()
