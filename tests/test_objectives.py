"""The objectives' maths: saturation, penalties and the ELBO, checked against hand computations."""

import math

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.interfaces import DiscriminatorOutput, truncated_normal
from ganzoo.objectives.autoencoding import gaussian_kl, log_likelihood
from ganzoo.objectives.gan import gradient_penalty, r1_penalty
from ganzoo.objectives.regularisers import Regulariser
from ganzoo.objectives.step import StepInputs, loss_functions
from ganzoo.objectives.terms import ClassLoss

GAN = ["minimax", "non-saturating", "wgan", "wgan-gp", "hinge", "lsgan"]


def _grad_wrt_fake(obj, s):
    s = torch.tensor([s], requires_grad=True)
    obj.g_loss(s).backward()
    return s.grad.item()


def test_minimax_saturates_where_non_saturating_does_not():
    """Early in training D(G(z)) ~ 0 (logit -10): the minimax generator gradient vanishes,
    the non-saturating one stays ~ -1 (the picture in Goodfellow et al. 2014, sec. 3)."""
    mm, ns = ganzoo.objective("minimax"), ganzoo.objective("non-saturating")
    g_mm, g_ns = _grad_wrt_fake(mm, -10.0), _grad_wrt_fake(ns, -10.0)
    assert abs(g_mm) < 1e-4                   # -sigmoid(-10) = -4.5e-5
    assert g_ns == pytest.approx(-1.0, abs=1e-4)
    assert abs(g_ns) / abs(g_mm) > 1e4
    # both push D(G(z)) up (negative gradient of the loss w.r.t. the fake logit)...
    assert g_mm < 0 and g_ns < 0
    # ...and where D is fooled (logit +10) the roles swap: minimax keeps the gradient.
    assert abs(_grad_wrt_fake(mm, 10.0)) > 0.99 and abs(_grad_wrt_fake(ns, 10.0)) < 1e-4


def test_minimax_and_non_saturating_share_the_fixed_point_loss():
    """Both have the same D loss; at D = 1/2 it equals 2 log 2 (the optimum of the minimax game)."""
    for name in ("minimax", "non-saturating"):
        obj = ganzoo.objective(name)
        zeros = torch.zeros(4)
        assert obj.d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_losses_are_stable_for_extreme_logits():
    for name in GAN:
        obj = ganzoo.objective(name)
        big = torch.tensor([1e4, -1e4], requires_grad=True)
        loss = obj.d_loss(big, -big) + obj.g_loss(big)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(big.grad).all(), name


def test_gan_losses_match_definitions():
    r, f = torch.tensor([0.3, -1.2]), torch.tensor([-0.5, 2.0])
    sig = torch.sigmoid
    mm = ganzoo.objective("minimax")
    want = -(torch.log(sig(r)).mean() + torch.log(1 - sig(f)).mean())
    assert mm.d_loss(r, f).item() == pytest.approx(want.item(), rel=1e-6)
    assert mm.g_loss(f).item() == pytest.approx(torch.log(1 - sig(f)).mean().item(), rel=1e-6)
    ns = ganzoo.objective("non-saturating")
    assert ns.g_loss(f).item() == pytest.approx(-torch.log(sig(f)).mean().item(), rel=1e-6)
    hinge = ganzoo.objective("hinge")
    assert hinge.d_loss(r, f).item() == pytest.approx(
        (torch.relu(1 - r).mean() + torch.relu(1 + f).mean()).item())
    ls = ganzoo.objective("lsgan")
    assert ls.d_loss(r, f).item() == pytest.approx((0.5 * (r - 1) ** 2 + 0.5 * f**2).mean().item())
    assert ls.g_loss(f).item() == pytest.approx((0.5 * (f - 1) ** 2).mean().item())
    w = ganzoo.objective("wgan")
    assert w.d_loss(r, f).item() == pytest.approx((f.mean() - r.mean()).item())


def test_default_d_steps_and_objective_config():
    assert ganzoo.objective("wgan").d_steps == 5
    assert ganzoo.objective("wgan-gp").d_steps == 5
    assert ganzoo.objective("non-saturating").d_steps == 1
    assert ganzoo.objective("wgan-gp").gp_weight == 10.0
    assert ganzoo.objective("wgan-gp", gp_weight=5.0).gp_weight == 5.0
    with pytest.raises(ganzoo.GanzooError, match="unknown config key 'lambda'"):
        ganzoo.objective("wgan-gp", **{"lambda": 3.0})


def test_wgan_clips_critic_weights():
    m = ganzoo.create("mlp", "wgan", d_hidden=[8])
    for p in m.discriminator.parameters():
        torch.nn.init.uniform_(p, -1, 1)
    ganzoo.objective("wgan").after_discriminator_step(m.discriminator)
    assert max(p.abs().max().item() for p in m.discriminator.parameters()) <= 0.01 + 1e-9


class Linear2(torch.nn.Module):
    """D(x) = w . x + 0.5 * (x . x): gradient w + x, computable by hand."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, x, y=None):
        return x @ self.w + 0.5 * (x * x).sum(1)


def test_wgan_gp_penalty_matches_hand_computation():
    D = Linear2([3.0, 4.0])
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    alpha = torch.tensor([[0.5], [0.25]])
    gp = gradient_penalty(D, real, fake, alpha=alpha).item()
    # x_hat = alpha*real + (1-alpha)*fake: [0.5, 0], [1.5, 2.0]; grad = w + x_hat
    g1, g2 = torch.tensor([3.5, 4.0]), torch.tensor([4.5, 6.0])
    want = ((g1.norm() - 1) ** 2 + (g2.norm() - 1) ** 2).item() / 2
    assert gp == pytest.approx(want, rel=1e-6)
    # the penalty enters the critic loss with weight 10 and is differentiable w.r.t. D's parameters
    obj = ganzoo.objective("wgan-gp")
    loss, stats = obj.discriminator_step_loss(D, real, fake)
    loss.backward()
    assert D.w.grad is not None and torch.isfinite(D.w.grad).all()
    assert stats["gp"].item() > 0


def test_hinge_r1_penalty_matches_hand_computation():
    D = Linear2([3.0, 4.0])
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    penalty, real_s = r1_penalty(D, real)
    # grad_x D = w + x on the real rows: [4, 4] and [3, 6]; squared norms 32 and 45
    assert penalty.item() == pytest.approx((32 + 45) / 2)
    plain, _ = ganzoo.objective("hinge").discriminator_step_loss(D, real, fake)
    obj = ganzoo.objective("hinge", r1=0.1)
    loss, stats = obj.discriminator_step_loss(D, real, fake)
    assert loss.item() == pytest.approx(plain.item() + 0.05 * 38.5, rel=1e-6)
    assert stats["r1"].item() == pytest.approx(38.5) and torch.equal(stats["d_real"], real_s.detach())
    loss.backward()   # the penalty is differentiable w.r.t. D's parameters: d/dw 0.05 E||w + x||^2 = 0.1 E(w + x)
    want = torch.autograd.grad(plain, D.w)[0] + 0.1 * torch.tensor([3.5, 5.0])
    assert torch.allclose(D.w.grad, want)
    with pytest.raises(ganzoo.GanzooError, match="r1 must be a weight >= 0"):
        ganzoo.objective("hinge", r1=-1.0)


@pytest.mark.parametrize("variant,config,joint", [
    ("mlp", {"sample_shape": [1, 8, 8], "g_hidden": [16], "d_hidden": [16]}, True),
    ("mlp", {"sample_shape": [1, 8, 8], "g_hidden": [16], "d_hidden": [16], "pack": 2}, True),
    ("mlp", {"sample_shape": [1, 8, 8], "g_hidden": [16], "d_hidden": [16], "num_classes": 3}, True),
    ("dcgan", {"sample_shape": [1, 8, 8], "g_width": 4, "d_width": 4, "d_norm": "layer"}, True),
    ("dcgan", {"sample_shape": [1, 8, 8], "g_width": 4, "d_width": 4}, False),   # BatchNorm: batch statistics
])
def test_batch_independent_discriminators_score_real_and_fake_in_one_call(variant, config, joint):
    """A D without batch statistics scores the real and the fake batch in one call, with the same
    numbers as two calls; a BatchNorm D keeps two calls (joined, its batch statistics would mix them)."""
    torch.manual_seed(0)
    D = ganzoo.create(variant, **config).discriminator.train()
    assert D.batch_independent is joint
    real, fake = torch.rand(6, 1, 8, 8), torch.rand(6, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 0, 1, 2]) if D.num_classes else None
    calls = []
    D.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    obj = ganzoo.objective("non-saturating")
    loss, stats = obj.discriminator_step_loss(D, real, fake, y)
    assert calls == ([12] if joint else [6, 6])
    want_real, want_fake = D(real, y), D(fake, y)
    assert torch.allclose(stats["d_real"], want_real, atol=1e-6) and torch.allclose(stats["d_fake"], want_fake, atol=1e-6)
    assert loss.item() == pytest.approx(obj.d_loss(want_real, want_fake).item(), abs=1e-6)


def test_gaussian_kl_closed_form():
    mu = torch.tensor([[0.5, -1.0]])
    logvar = torch.log(torch.tensor([[2.0, 0.25]]))
    want = sum(0.5 * (m**2 + v - 1 - math.log(v)) for m, v in [(0.5, 2.0), (-1.0, 0.25)])
    assert gaussian_kl(mu, logvar).item() == pytest.approx(want, rel=1e-6)
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max().item() == 0


class _Enc(torch.nn.Module):
    variational = True   # returns (mu, logvar), as the elbo objective checks

    def __init__(self, mu, logvar):
        super().__init__()
        self.mu, self.logvar = mu, logvar

    def forward(self, x):
        return self.mu.expand(x.shape[0], -1), self.logvar.expand(x.shape[0], -1)


class _Dec(torch.nn.Module):
    """logits = a * z (one pixel, one latent dim)."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def logits(self, z, y=None):
        return self.a * z


class _Model:
    def __init__(self, enc, dec):
        self.encoder, self.generator = enc, dec


def test_elbo_matches_closed_form_on_a_tiny_case():
    """1-D latent, 1 pixel, Gaussian likelihood with decoder mean sigmoid(a z) replaced by a
    deterministic q (logvar -> -inf): ELBO = log N(x; sigmoid(a mu), 1) - KL(N(mu, ~0) || N(0,1))."""
    mu, a, x = torch.tensor([[0.7]]), 2.0, torch.tensor([[0.9]])
    tiny = torch.tensor([[-30.0]])
    obj = ganzoo.objective("elbo", likelihood="gaussian")
    model = _Model(_Enc(mu, tiny), _Dec(a))
    elbo, ll, kl = obj.elbo(model, x)
    mean = torch.sigmoid(torch.tensor(a * 0.7))
    want_ll = -0.5 * (x.item() - mean.item()) ** 2 - 0.5 * math.log(2 * math.pi)
    want_kl = 0.5 * (0.49 + math.exp(-30) - 1 + 30)
    assert ll.item() == pytest.approx(want_ll, abs=1e-4)
    assert kl.item() == pytest.approx(want_kl, rel=1e-6)
    assert elbo.item() == pytest.approx(want_ll - want_kl, abs=1e-4)


def test_bernoulli_elbo_expectation_by_quadrature():
    """With q = N(mu, s^2), E_q[log p(x|z)] for a Bernoulli pixel equals a 1-D integral; the
    Monte-Carlo ELBO averaged over many z must match quadrature + analytic KL."""
    mu, s, a, x = 0.3, 0.8, 1.5, 1.0
    obj = ganzoo.objective("elbo")
    n = 200_000
    model = _Model(_Enc(torch.tensor([[mu]]), torch.tensor([[2 * math.log(s)]])), _Dec(a))
    torch.manual_seed(1)
    elbo, _, kl = obj.elbo(model, torch.full((n, 1), x))
    zs = torch.linspace(mu - 8 * s, mu + 8 * s, 20001, dtype=torch.float64)
    pdf = torch.exp(-0.5 * ((zs - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    integrand = pdf * torch.nn.functional.logsigmoid(a * zs)  # x = 1
    e_ll = torch.trapezoid(integrand, zs).item()
    want = e_ll - 0.5 * (mu**2 + s**2 - 1 - math.log(s**2))
    assert elbo.mean().item() == pytest.approx(want, abs=5e-3)
    assert obj.beta == 1.0


def test_bernoulli_log_likelihood_is_log_sigmoid():
    logits, x = torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])
    want = math.log(torch.sigmoid(torch.tensor(2.0)).item()) + math.log(1 - torch.sigmoid(torch.tensor(-1.0)).item())
    assert log_likelihood("bernoulli", logits, x).item() == pytest.approx(want, rel=1e-6)


def test_beta_weights_the_kl_term():
    torch.manual_seed(0)
    m = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=2)
    x = torch.rand(4, 1, 8, 8)
    torch.manual_seed(3)
    l1, s1 = ganzoo.objective("elbo", beta=1.0).loss(m, x)
    torch.manual_seed(3)
    l4, s4 = ganzoo.objective("elbo", beta=4.0).loss(m, x)
    assert (l4 - l1).item() == pytest.approx(3 * s1["kl"].item(), rel=1e-4)


def test_reconstruction_losses():
    m = ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3)
    x = torch.rand(5, 1, 8, 8)
    bce, _ = ganzoo.objective("reconstruction").loss(m, x)
    mse, _ = ganzoo.objective("reconstruction", loss="mse").loss(m, x)
    logits = m.generator.logits(m.encoder(x))
    want = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 5
    assert bce.item() == pytest.approx(want.item(), rel=1e-5)
    assert mse.item() == pytest.approx(((torch.sigmoid(logits) - x) ** 2).sum().item() / 5, rel=1e-5)
    with pytest.raises(ganzoo.GanzooError, match="unknown loss"):
        ganzoo.objective("reconstruction", loss="l7")


def test_autoencoding_objectives_name_what_the_variant_lacks():
    from ganzoo.errors import IncompatibleError

    x = torch.rand(2, 1)
    no_logits = _Model(_Enc(torch.zeros(1, 1), torch.zeros(1, 1)), torch.nn.Linear(1, 1))
    with pytest.raises(IncompatibleError, match="needs a decoder.*ganzoo.interfaces.Decoder"):
        ganzoo.objective("elbo").loss(no_logits, x)
    plain = _Enc(torch.zeros(1, 1), torch.zeros(1, 1))
    plain.variational = False
    with pytest.raises(IncompatibleError, match="needs a variational encoder"):
        ganzoo.objective("elbo").loss(_Model(plain, _Dec(1.0)), x)
    with pytest.raises(IncompatibleError, match="needs an encoder"):
        ganzoo.objective("reconstruction").loss(_Model(None, _Dec(1.0)), x)
    # the ae/vae variants' generators are Decoders: forward = sigmoid(logits)
    from ganzoo.interfaces import Decoder

    m = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=2)
    assert isinstance(m.generator, Decoder) and m.generator.output_range == (0.0, 1.0)
    z = torch.randn(3, 2)
    assert torch.equal(m.generator(z), torch.sigmoid(m.generator.logits(z)))


# -- the classic loss bugs of other GAN libraries: each test also runs a deliberately buggy version and shows
# that the check would catch it ---------------------------------------------------------------------------
class Recording(torch.nn.Module):
    """D(x) = 1/2 ||x||^2 per sample (input gradient x), remembering the inputs it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, y=None):
        self.seen.append(x.detach().clone())
        return 0.5 * x.flatten(1).square().sum(1)


def _gp_per_pixel_alpha(D, real_x, fake_x, y=None):
    """BUG: one alpha per pixel, so x_hat leaves the segment between x and G(z)."""
    alpha = torch.rand_like(real_x)
    x = (alpha * real_x + (1 - alpha) * fake_x).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x, y).sum(), x, create_graph=True)
    return ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _gp_batch_norm(D, real_x, fake_x, y=None):
    """BUG: the norm of the whole batch's gradient instead of one norm per sample."""
    alpha = torch.rand(real_x.shape[0], 1, 1, 1)
    x = (alpha * real_x + (1 - alpha) * fake_x).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x, y).sum(), x, create_graph=True)
    return (g.norm(2) - 1) ** 2


def _on_segments(seen, real, fake):
    """True when every x_hat row is fake + a (real - fake) for ONE scalar a per sample."""
    ratio = ((seen - fake) / (real - fake)).flatten(1)
    return bool(torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5))


def test_pitfall_wgan_gp_one_alpha_per_sample_and_per_sample_norms():
    torch.manual_seed(0)
    real, fake = torch.rand(4, 1, 3, 3) + 1.0, -torch.rand(4, 1, 3, 3) - 1.0   # real - fake is never 0
    D = Recording()
    gp = gradient_penalty(D, real, fake)
    assert _on_segments(D.seen[-1], real, fake)
    want = ((D.seen[-1].flatten(1).norm(dim=1) - 1) ** 2).mean()   # grad = x_hat: (||x_hat|| - 1)^2 per sample
    assert gp.item() == pytest.approx(want.item(), abs=1e-6)
    # the buggy versions: per-pixel alphas leave the segments; a batch-wide norm is another number
    buggy = Recording()
    _gp_per_pixel_alpha(buggy, real, fake)
    assert not _on_segments(buggy.seen[-1], real, fake)
    torch.manual_seed(0)
    mine = gradient_penalty(Recording(), real, fake)
    torch.manual_seed(0)
    assert abs(_gp_batch_norm(Recording(), real, fake).item() - mine.item()) > 1.0


def _class_loss_softmax_first(logits, y):
    """BUG: a softmax before cross_entropy (which applies log-softmax itself)."""
    return F.cross_entropy(torch.softmax(logits, 1), y)


def test_pitfall_class_loss_takes_raw_logits():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    y = torch.tensor([0, 1])
    D = lambda x, y=None: DiscriminatorOutput(x[:, 0], class_logits=logits)  # noqa: E731
    x = torch.zeros(2, 1)
    term = ClassLoss(weight=2.0)
    weighted, value = term(StepInputs(D, x, x, y, phase="g"))
    hand = (-(2.0 - math.log(math.exp(2.0) + math.exp(-1.0) + math.exp(0.5)))
            - (0.2 - math.log(math.exp(0.1) + math.exp(0.2) + math.exp(3.0)))) / 2
    assert value.item() == pytest.approx(hand, abs=1e-6) and weighted.item() == pytest.approx(2 * hand, abs=1e-6)
    d_weighted, d_value = term(StepInputs(D, x, x, y, phase="d"))      # D: real and fake batches both
    assert d_value.item() == pytest.approx(2 * hand, abs=1e-6)
    assert abs(_class_loss_softmax_first(logits, y).item() - hand) > 0.1     # the buggy version is another number


def _truncated_bug(shape, psi):
    """BUG: the 'truncation trick' as a rescaled normal."""
    return torch.randn(shape) / (1.0 / psi)


def _looks_truncated(z, psi):
    """All |z| <= psi, and the density falls off inside like the normal's: the share of |z| <= psi/2
    matches (Phi(psi/2) - Phi(-psi/2)) / (Phi(psi) - Phi(-psi))."""
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))  # noqa: E731
    share = (phi(psi / 2) - phi(-psi / 2)) / (phi(psi) - phi(-psi))
    return bool(z.abs().max() <= psi) and abs(float((z.abs() <= psi / 2).float().mean()) - share) < 0.01


@pytest.mark.parametrize("psi", [0.5, 1.0, 2.0])
def test_pitfall_truncation_draws_from_a_truncated_normal(psi):
    g = torch.Generator().manual_seed(0)
    z = truncated_normal((200_000,), psi, generator=g)
    assert _looks_truncated(z, psi)
    assert not _looks_truncated(_truncated_bug((200_000,), psi), psi)
    m = ganzoo.create("mlp", g_hidden=[8], d_hidden=[8], latent_dim=3)
    lat = m.generator.sample_latent(1000, seed=1, truncation=psi)
    assert lat.shape == (1000, 3) and lat.abs().max() <= psi
    assert torch.equal(m.sample(5, seed=2, truncation=psi), m.sample(5, seed=2, truncation=psi))
    assert not torch.equal(m.sample(5, seed=2, truncation=psi), m.sample(5, seed=2))
    with pytest.raises(ganzoo.errors.ConfigError, match="truncation"):
        truncated_normal((3,), 0.0)


def test_pitfall_minimax_g_loss_saturates():
    """The minimax G loss is log(1 - D(G(z))) (kept: it saturates); -log D(G(z)), the usual 'fix' that
    quietly replaces it, does not."""
    s = torch.tensor([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(ganzoo.objective("minimax").g_loss(s), s)
    (g_bug,) = torch.autograd.grad(F.softplus(-s).mean(), s)          # what a 'minimax' that is NS would give
    assert abs(g_mm.item()) < 1e-4 and abs(g_bug.item()) > 0.99


def _r1_bug_mean(D, x, y=None):
    """BUG: the gradient of the MEAN score (each sample's gradient shrunk by 1/N)."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x, y).mean(), x, create_graph=True)
    return g.flatten(1).square().sum(1).mean()


def test_pitfall_r1_on_real_data_with_the_gradient_of_the_sum():
    D = Recording()
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    weighted, value = Regulariser("r1", 2.0)(StepInputs(D, real, fake))
    assert all(torch.equal(seen, real) for seen in D.seen)             # R1 sees the real batch only
    want = real.square().sum(1).mean()                                # grad of 1/2||x||^2 is x
    assert value.item() == pytest.approx(want.item(), abs=1e-6) and weighted.item() == pytest.approx(want.item())
    _, other = Regulariser("r1", 2.0)(StepInputs(D, real, fake * 7))  # fakes do not matter
    assert other.item() == value.item()
    assert abs(_r1_bug_mean(D, real).item() - value.item()) > 0.5 * value.item()


def _hand_losses(name, r, f):
    """(D loss, G loss) by hand, on Python floats, from the papers' formulas."""
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    if name in ("minimax", "non-saturating"):
        d = mean([sp(-v) for v in r]) + mean([sp(v) for v in f])
        return d, (mean([-sp(v) for v in f]) if name == "minimax" else mean([sp(-v) for v in f]))
    if name in ("wgan", "wgan-gp"):
        return mean(f) - mean(r), -mean(f)
    if name == "hinge":
        return mean([max(0, 1 - v) for v in r]) + mean([max(0, 1 + v) for v in f]), -mean(f)
    if name == "lsgan":
        return mean([0.5 * (v - 1) ** 2 for v in r]) + mean([0.5 * v * v for v in f]), mean([0.5 * (v - 1) ** 2 for v in f])
    raise AssertionError(name)


@pytest.mark.parametrize("name", GAN)
def test_every_objective_matches_a_hand_computed_example(name):
    """Through the engine's path (loss_functions on a StepInputs); wgan-gp with gp_weight=0 (its penalty has
    its own hand computation above). The relativistic ones: tests/test_step_contract.py."""
    r, f = [0.3, -1.2, 2.5, 0.0], [-0.5, 2.0, 0.1, -3.0]
    obj = ganzoo.objective(name, **({"gp_weight": 0.0} if name == "wgan-gp" else {}))
    score = lambda x, y=None: x[:, 0]  # noqa: E731
    rx, fx = torch.tensor(r).unsqueeze(1), torch.tensor(f).unsqueeze(1)
    d_fn, g_fn = loss_functions(obj)
    want_d, want_g = _hand_losses(name, r, f)
    assert d_fn(StepInputs(score, rx, fx, phase="d"))[0].item() == pytest.approx(want_d, abs=1e-6)
    assert g_fn(StepInputs(score, rx, fx, phase="g"))[0].item() == pytest.approx(want_g, abs=1e-6)
