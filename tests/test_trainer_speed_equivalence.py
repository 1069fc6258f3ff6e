"""What the trainer does for speed computes what it did before: R1/R2 from D's own forward pass, fused Adam."""
import copy

import pytest
import torch

from gan_lessons.config import TrainConfig, seed_everything
from gan_lessons.models import MLPGenerator, mlp_gan_2d
from gan_lessons.penalties import gradient_penalty, half_squared_norm, output_gradient, r1_penalty, r2_penalty
from gan_lessons.training import adam, make_2d_trainer


@pytest.mark.parametrize("reference", [r1_penalty, r2_penalty])
def test_penalty_from_ds_own_outputs_equals_the_penalty_module(reference):
    torch.manual_seed(0)
    _, D = mlp_gan_2d()
    x = torch.randn(64, 2, requires_grad=True)
    mine = half_squared_norm(output_gradient(D(x), x))
    theirs = reference(D, x.detach())
    torch.testing.assert_close(mine, theirs)
    params = list(D.parameters())  # the same gradient reaches D's weights (none reaches the last bias)
    grads_mine = torch.autograd.grad(mine, params, allow_unused=True, materialize_grads=True)
    grads_theirs = torch.autograd.grad(theirs, params, allow_unused=True, materialize_grads=True)
    for a, b in zip(grads_mine, grads_theirs):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("regularizer", ["none", "gp", "r1", "r2"])
def test_d_step_gradient_is_loss_plus_weighted_penalty(regularizer):
    """D's gradient after d_step equals the gradient of L_D + w * penalty computed the plain way."""
    seed_everything(0)
    trainer, _ = make_2d_trainer(TrainConfig(regularizer=regularizer, reg_weight=0.5, device="cpu"))
    D = copy.deepcopy(trainer.discriminator)
    x_real = trainer.sample_real()
    state = torch.get_rng_state()
    trainer.d_step(x_real)
    torch.set_rng_state(state)  # the same z (and GP's interpolation) for the plain computation
    with torch.no_grad():
        x_fake = trainer.generator(trainer.latent(len(x_real), x_real.device)[0])
    total = trainer.loss.d(D(x_real), D(x_fake))
    plain = {"none": lambda: 0.0, "gp": lambda: gradient_penalty(D, x_real, x_fake),
             "r1": lambda: r1_penalty(D, x_real), "r2": lambda: r2_penalty(D, x_fake)}
    total = total + 0.5 * plain[regularizer]()
    expected = torch.autograd.grad(total, list(D.parameters()))
    for p, g in zip(trainer.discriminator.parameters(), expected):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def test_adam_is_fused_where_torch_has_it_and_plain_otherwise(monkeypatch):
    params = [torch.nn.Parameter(torch.randn(3))]
    assert adam(params, 1e-3, (0.5, 0.999)).defaults["fused"] is True
    original = torch.optim.Adam

    def no_fused(params, **kwargs):
        if kwargs.get("fused"):
            raise RuntimeError("fused=True requires a supported device")
        return original(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    opt = adam(params, 2e-3, (0.5, 0.9))
    assert not opt.defaults["fused"] and opt.defaults["lr"] == 2e-3 and opt.defaults["betas"] == (0.5, 0.9)


def test_fused_adam_follows_the_plain_one():
    torch.manual_seed(0)
    w = torch.randn(5, 5)
    a, b = torch.nn.Parameter(w.clone()), torch.nn.Parameter(w.clone())
    fused, plain = adam([a], 1e-2, (0.5, 0.999)), torch.optim.Adam([b], lr=1e-2, betas=(0.5, 0.999))
    for _ in range(20):
        g = torch.randn(5, 5)
        a.grad, b.grad = g.clone(), g.clone()
        fused.step()
        plain.step()
    torch.testing.assert_close(a, b)


def test_replace_generator_keeps_lr_and_trains_the_new_g():
    trainer, _ = make_2d_trainer(TrainConfig(lr_g=3e-4, device="cpu"))
    generator = MLPGenerator(5, (16, 16), 2)
    trainer.replace_generator(generator, 5)
    assert trainer.generator is generator and trainer.z_dim == 5 and trainer.lr_g == 3e-4
    before = [p.detach().clone() for p in generator.parameters()]
    trainer.step()
    assert all(not torch.equal(a, p) for a, p in zip(before, generator.parameters()))
    with pytest.raises(ValueError, match="z_dim"):
        trainer.replace_generator(generator, 0)
