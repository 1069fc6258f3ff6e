"""The stability fixes of lesson 08, each against what it promises: a number computed another way."""
import pytest
import torch
import torch.nn.functional as F

from gan_lessons import fixes, losses
from gan_lessons.config import TrainConfig, seed_everything
from gan_lessons.models import MLPDiscriminator, mlp_gan_2d
from gan_lessons.training import make_2d_trainer


def trainer_for(**changes):
    seed_everything(0)
    return make_2d_trainer(TrainConfig(device="cpu", regularizer="none", batch_size=64, **changes))[0]


def test_power_iteration_finds_the_top_singular_value():
    W = torch.randn(40, 17, generator=torch.Generator().manual_seed(0))
    assert fixes.top_singular_value(W, iterations=200) == pytest.approx(torch.linalg.svdvals(W)[0].item(), rel=1e-4)


def test_spectral_norm_makes_each_layer_of_d_1_lipschitz():
    torch.manual_seed(0)
    D = MLPDiscriminator(2, (64, 64), spectral_norm=True)
    for _ in range(30):  # each forward pass in training mode runs one power iteration per layer
        D(torch.randn(16, 2))
    D.eval()
    sigmas = [torch.linalg.matrix_norm(W.detach(), ord=2).item() for W in fixes.linear_weights(D)]
    assert len(sigmas) == 3 and sigmas == pytest.approx([1.0] * 3, abs=1e-3), sigmas
    plain = [torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach(), ord=2).item()
             for layer in D.modules() if isinstance(layer, torch.nn.Linear)]
    assert max(plain) > 1.5  # the raw weights are not: the normalization did the work


def test_weight_clipping_keeps_every_critic_weight_in_range():
    trainer = trainer_for(loss="wgan", clip=0.01, d_steps=2)
    for _ in range(3):
        trainer.step()
    weights = torch.cat([p.detach().flatten() for p in trainer.discriminator.parameters()])
    assert weights.abs().max().item() <= 0.01 and (weights.abs() == 0.01).any()  # clipped, and clipping was needed
    layer = torch.nn.Linear(3, 3)
    fixes.clip_weights(layer, 0.2)
    assert layer.weight.abs().max() <= 0.2


def test_ema_weights_follow_their_formula_exactly():
    beta = 0.9
    trainer = trainer_for(ema=beta)
    expected = [p.detach().double().clone() for p in trainer.generator.parameters()]  # the average starts as G
    for _ in range(5):
        trainer.step()
        expected = [beta * e + (1 - beta) * w.detach().double() for e, w in zip(expected, trainer.generator.parameters())]
    for e, w_ema in zip(expected, trainer.ema.generator.parameters()):
        torch.testing.assert_close(w_ema.double(), e, rtol=1e-6, atol=1e-7)
    assert trainer.ema.updates == 5
    assert not any(torch.equal(a, b) for a, b in zip(trainer.ema.generator.parameters(), trainer.generator.parameters()))


def test_an_ema_with_a_start_copies_g_until_then_and_averages_after():
    beta, start = 0.9, 3
    trainer = trainer_for(ema=beta, ema_start=start)
    assert trainer.ema.start == start
    for _ in range(start):
        trainer.step()
        for a, w in zip(trainer.ema.generator.parameters(), trainer.generator.parameters()):
            torch.testing.assert_close(a, w)  # a copy of G, not an average of its untrained weights
    expected = [p.detach().double().clone() for p in trainer.generator.parameters()]
    for _ in range(2):
        trainer.step()
        expected = [beta * e + (1 - beta) * w.detach().double() for e, w in zip(expected, trainer.generator.parameters())]
    for e, w_ema in zip(expected, trainer.ema.generator.parameters()):
        torch.testing.assert_close(w_ema.double(), e, rtol=1e-6, atol=1e-7)
    other = trainer_for(ema=0.5)
    other.ema.load_state_dict(trainer.ema.state_dict())
    assert (other.ema.start, other.ema.updates) == (start, start + 2)
    trainer.configure(ema_start=0)  # a knob like the others: the next update averages whatever the count
    assert trainer.ema.start == 0
    with pytest.raises(ValueError, match="start=-1"):
        fixes.EMA(trainer.generator, 0.9, start=-1)


def test_ema_state_round_trip_and_sampling():
    trainer = trainer_for(ema=0.99)
    trainer.step()
    other = trainer_for(ema=0.5)
    other.ema.load_state_dict(trainer.ema.state_dict())
    assert other.ema.beta == 0.99 and other.ema.updates == 1
    torch.manual_seed(3)
    a = other.ema.sample(10)
    torch.manual_seed(3)
    b = trainer.ema.generator(torch.randn(10, 2))
    assert a.shape == (10, 2) and torch.allclose(a, b)
    with pytest.raises(ValueError, match="beta=1.0"):
        fixes.EMA(trainer.generator, 1.0)


def test_packing_concatenates_m_samples_into_one_input_of_d():
    x = torch.arange(24.0).view(12, 2)
    packed = fixes.pack(x, 3)
    assert packed.shape == (4, 6) and torch.equal(packed[1], torch.cat([x[3], x[4], x[5]]))
    trainer = trainer_for(pack=4)
    assert trainer.discriminator.net[0].in_features == 8  # D's first layer takes 2 * m numbers
    seen = []
    trainer.discriminator.register_forward_hook(lambda module, args, out: seen.append((args[0].shape, out.shape)))
    trainer.step()
    assert seen[0] == ((16, 8), (16,))  # a batch of 64 samples is 16 packs of 4: one logit per pack
    with pytest.raises(ValueError, match="pack=3"):
        TrainConfig(pack=3, batch_size=64)


def test_one_sided_label_smoothing_targets_1_minus_s_for_real_only():
    torch.manual_seed(0)
    d_real, d_fake, s = torch.randn(50) * 3, torch.randn(50) * 3, 0.1
    bce = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1 - s))
           + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    torch.testing.assert_close(losses.d_loss_smoothed(d_real, d_fake, s), bce)
    logit = torch.zeros(1, requires_grad=True)  # the best D answer on a real sample is now 1 - s, not 1
    opt = torch.optim.SGD([logit], lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        losses.d_loss_smoothed(logit, torch.tensor([-50.0]), s).backward()
        opt.step()
    assert torch.sigmoid(logit).item() == pytest.approx(1 - s, abs=1e-4)
    with pytest.raises(ValueError, match="label_smoothing=0.1.*nonsaturating"):
        TrainConfig(loss="wgan", label_smoothing=0.1)


def test_instance_noise_has_the_stated_variance_and_anneals():
    torch.manual_seed(0)
    x = torch.randn(100_000, 2)
    noise = fixes.add_instance_noise(x, 0.3) - x
    assert noise.var().item() == pytest.approx(0.09, rel=0.02) and abs(noise.mean().item()) < 0.005
    assert [fixes.annealed_sigma(0.3, t, 100) for t in (0, 50, 100, 200)] == pytest.approx([0.3, 0.15, 0.0, 0.0])
    assert fixes.annealed_sigma(0.3, 10**6, 0) == 0.3  # T = 0: constant
    trainer = trainer_for(instance_noise=0.2, noise_anneal=0)
    x = trainer.sample_real()
    assert (trainer.d_input(x) - x).std().item() == pytest.approx(0.2, rel=0.15)


def test_feature_matching_matches_the_mean_features():
    torch.manual_seed(0)
    _, D = mlp_gan_2d()
    x, y = torch.randn(32, 2), torch.randn(32, 2)
    fx, fy = D.net[:-1](x), D.net[:-1](y)  # D's last hidden layer, by hand
    torch.testing.assert_close(losses.feature_matching_loss(D.features(x), D.features(y)),
                               ((fx.mean(0) - fy.mean(0)) ** 2).sum())
    trainer = trainer_for(feature_matching=1.0)
    assert trainer.step()["loss_g"] > 0


def test_linear_decay_reaches_zero_at_the_end_of_the_run():
    trainer = trainer_for(lr_d=2e-3, lr_g=1e-3)
    decay = fixes.LinearDecay(trainer, 100, 0.5)
    decay(50, {})
    assert (trainer.lr_d, trainer.lr_g) == pytest.approx((2e-3, 1e-3))
    decay(75, {})
    assert (trainer.lr_d, trainer.lr_g) == pytest.approx((1e-3, 5e-4))
    decay(100, {})
    assert trainer.lr_g == pytest.approx(1e-6)  # a floor of 1e-3 of the rate, never exactly 0


def test_every_fix_is_off_by_default():
    trainer = trainer_for()
    cfg = trainer.config
    assert trainer.ema is None and cfg.pack == 1 and cfg.clip == 0 and cfg.instance_noise == 0
    assert cfg.label_smoothing == 0 and cfg.feature_matching == 0
