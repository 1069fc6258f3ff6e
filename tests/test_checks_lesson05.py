"""The checks of lesson 05 accept a right step and name the usual mistakes."""
import torch.nn.functional as F

from gan_lessons.checks import lesson05


def d_right(G, D, opt_d, x_real, z):
    loss = F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean()
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def d_no_detach(G, D, opt_d, x_real, z):
    loss = F.softplus(-D(x_real)).mean() + F.softplus(D(G(z))).mean()
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()


def d_no_zero(G, D, opt_d, x_real, z):
    (F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean()).backward()
    opt_d.step()


def d_wrong_sign(G, D, opt_d, x_real, z):
    opt_d.zero_grad()
    (-(F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean())).backward()
    opt_d.step()


def d_no_step(G, D, opt_d, x_real, z):
    opt_d.zero_grad()
    (F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean()).backward()


def test_d_step_check():
    assert lesson05.check_d_step(d_right).ok
    for fn, phrase in ((d_no_detach, "detach"), (d_no_zero, "zero_grad"), (d_wrong_sign, "wrong way"),
                       (d_no_step, "did not change")):
        result = lesson05.check_d_step(fn)
        assert not result.ok and phrase in result.message, (fn.__name__, result.message)


def g_right(G, D, opt_g, z):
    opt_g.zero_grad()
    F.softplus(-D(G(z))).mean().backward()
    opt_g.step()


def g_saturating(G, D, opt_g, z):
    opt_g.zero_grad()
    (-F.softplus(D(G(z)))).mean().backward()
    opt_g.step()


def g_no_zero(G, D, opt_g, z):
    F.softplus(-D(G(z))).mean().backward()
    opt_g.step()


def test_g_step_check():
    assert lesson05.check_g_step(g_right).ok
    for fn, phrase in ((g_saturating, "saturating"), (g_no_zero, "zero_grad")):
        result = lesson05.check_g_step(fn)
        assert not result.ok and phrase in result.message, (fn.__name__, result.message)


# -- library shortcuts: the trainer's steps and the library's losses -----------------------------------------------
def d_with_library_loss(G, D, opt_d, x_real, z):
    from gan_lessons import losses

    loss = losses.d_loss_standard(D(x_real), D(G(z).detach()))  # right, but the library's loss
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()


def d_with_trainer(G, D, opt_d, x_real, z):
    from gan_lessons.training import GANTrainer

    GANTrainer(G, D, lambda: x_real, z_dim=2, regularizer="none").d_step(x_real)


def test_check_d_step_refuses_a_library_shortcut():
    for fn, name in ((d_with_library_loss, "gan_lessons.losses.d_loss_standard"),
                     (d_with_trainer, "gan_lessons.training.GANTrainer.d_step")):
        result = lesson05.check_d_step(fn)
        assert not result.ok and name in result.message, (fn.__name__, result.message)
    assert lesson05.check_d_step(d_right).ok


def g_with_library_loss(G, D, opt_g, z):
    from gan_lessons import losses

    opt_g.zero_grad()
    losses.g_loss_nonsaturating(D(G(z))).backward()
    opt_g.step()


def g_with_trainer(G, D, opt_g, z):
    from gan_lessons.training import GANTrainer

    GANTrainer(G, D, lambda: z, z_dim=2, regularizer="none").g_step(len(z), z.device)


def test_check_g_step_refuses_a_library_shortcut():
    for fn, name in ((g_with_library_loss, "gan_lessons.losses.g_loss_nonsaturating"),
                     (g_with_trainer, "gan_lessons.training.GANTrainer.g_step")):
        result = lesson05.check_g_step(fn)
        assert not result.ok and name in result.message, (fn.__name__, result.message)
    assert lesson05.check_g_step(g_right).ok
