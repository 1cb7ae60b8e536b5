"""The step contract (ganzoo.objectives.step): one StepInputs per loss, D's outputs computed once, both
objective protocols, DiscriminatorOutput, the relativistic objectives and the auxiliary loss terms."""

import json

import pytest
import torch
import torch.nn.functional as F
from test_plugins import make_dist, site  # noqa: F401 - the fixture

import ganzoo
from ganzoo import plugins
from ganzoo.interfaces import DiscriminatorOutput, discriminator_output
from ganzoo.objectives.gan import GANObjective
from ganzoo.objectives.step import StepInputs, loss_functions
from ganzoo.training import Trainer, TrainConfig

RELATIVISTIC = ["rsgan", "rasgan", "ralsgan", "rahinge"]
SMALL = {"mlp": ("ring8", {"g_hidden": [16], "d_hidden": [16]}),
         "dcgan": ("digits", {"sample_shape": [1, 8, 8], "g_width": 8, "d_width": 8, "latent_dim": 8})}


def _softplus(v):
    import math
    return math.log1p(math.exp(v))


def _hand(name, a, b):
    """The paper's formula on plain Python floats: loss(a, b) with a the 'real' side (D) or the 'fake' (G)."""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    if name == "rsgan":
        return mean([_softplus(-(ai - bi)) for ai, bi in zip(a, b)])
    if name == "rasgan":
        return mean([_softplus(-(ai - mb)) for ai in a]) + mean([_softplus(bi - ma) for bi in b])
    if name == "ralsgan":
        return mean([(ai - mb - 1) ** 2 for ai in a]) + mean([(bi - ma + 1) ** 2 for bi in b])
    return mean([max(0.0, 1 - (ai - mb)) for ai in a]) + mean([max(0.0, 1 + (bi - ma)) for bi in b])


class Fixed(torch.nn.Module):
    """A 'discriminator' whose score is the first input coordinate (so scores are chosen by hand)."""

    def forward(self, x, y=None):
        return x[:, 0]


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_losses_match_hand_computation(name):
    # the batches' means differ (0.53 and -0.8): using one batch's mean where the other's belongs shows
    real, fake = [0.3, -1.2, 2.5], [-0.5, 0.4, -2.3]
    assert abs(sum(real) / 3 - sum(fake) / 3) > 1
    obj = ganzoo.objective(name)
    rx, fx = torch.tensor(real).unsqueeze(1), torch.tensor(fake).unsqueeze(1)
    d_loss, stats = loss_functions(obj)[0](StepInputs(Fixed(), rx, fx, phase="d"))
    g_loss, _ = loss_functions(obj)[1](StepInputs(Fixed(), rx, fx, phase="g"))
    assert d_loss.item() == pytest.approx(_hand(name, real, fake), rel=1e-6, abs=1e-6)
    assert g_loss.item() == pytest.approx(_hand(name, fake, real), rel=1e-6, abs=1e-6)   # G: the roles swapped
    assert stats["d_real"].tolist() == pytest.approx(real) and stats["d_fake"].tolist() == pytest.approx(fake)
    # G's loss needs the real batch: without one it says so instead of guessing
    with pytest.raises(ganzoo.errors.ConfigError, match="real batch"):
        obj.generator_step_loss(Fixed(), fx)
    # ... and through the 0.1 entry point with real_x it is the same number
    assert obj.generator_step_loss(Fixed(), fx, real_x=rx)[0].item() == pytest.approx(g_loss.item(), abs=1e-7)


@pytest.mark.parametrize("variant", ["mlp", "dcgan"])
@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_objectives_train_every_gan_variant(tmp_path, variant, name):
    assert variant in plugins.get_registry().variants_for(name)
    data, config = SMALL[variant]
    t = Trainer(TrainConfig(variant=variant, objective=name, data=data, out=str(tmp_path / "r"), steps=3,
                            batch_size=8, progress=False, config=config)).setup()
    before = [p.detach().clone() for p in t.model.generator.parameters()]
    for _ in range(3):
        stats = t.step()
    assert all(torch.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, t.model.generator.parameters()))


def test_d_outputs_are_computed_once_per_loss():
    calls = []

    class Counting(torch.nn.Module):
        batch_independent = False

        def forward(self, x, y=None):
            calls.append(x.shape[0])
            return DiscriminatorOutput(x[:, 0], class_logits=x)

    step = StepInputs(Counting(), torch.randn(4, 3), torch.randn(4, 3), phase="d")
    step.scores(), step.real, step.fake, step.both()
    assert len(calls) == 2                       # one call each, whatever asks
    Counting.batch_independent = True
    step = StepInputs(Counting(), torch.randn(4, 3), torch.randn(4, 3), phase="d")
    real, fake = step.both()
    assert calls[2:] == [8] and real.class_logits.shape == (4, 3)   # joined: one call on both batches
    assert torch.equal(fake.score, step.fake_x[:, 0])


def test_a_plain_tensor_is_a_discriminator_output():
    s = torch.randn(5)
    out = discriminator_output(s)
    assert out.score is s and out.class_logits is None and out.q is None
    full = DiscriminatorOutput(s, class_logits=torch.randn(5, 3))
    assert discriminator_output(full) is full and full.rows(slice(1, 3)).class_logits.shape == (2, 3)


def test_protocol_detection_follows_the_most_derived_class():
    class Old(GANObjective):          # a 0.1 subclass that overrides the old method: it is called
        def d_loss(self, real, fake):
            return real.mean() * 0

        def discriminator_step_loss(self, D, real_x, fake_x, y=None):
            return torch.tensor(42.0), {}

        def g_loss(self, fake):
            return fake.mean()

    class Scratch:                    # written from scratch against the 0.1 table
        def discriminator_step_loss(self, D, real_x, fake_x, y=None):
            out = D(real_x, y)
            assert isinstance(out, torch.Tensor)          # sees plain scores even from a richer D
            return out.mean(), {}

        def generator_step_loss(self, D, fake_x, y=None):
            return D(fake_x, y).mean(), {}

    rich = lambda x, y=None: DiscriminatorOutput(x[:, 0], q=x)  # noqa: E731
    x = torch.randn(4, 2)
    d_old, _ = loss_functions(Old())
    assert d_old(StepInputs(Fixed(), x, x))[0].item() == 42.0
    d, g = loss_functions(Scratch())
    assert d(StepInputs(rich, x, x))[0].item() == pytest.approx(x[:, 0].mean().item())
    assert g(StepInputs(rich, x, x, phase="g"))[0].item() == pytest.approx(x[:, 0].mean().item())
    assert loss_functions(ganzoo.objective("hinge"))[0].__name__ == "d_loss_step"


# -- a test plugin: a variant whose D returns class logits and q, a relativistic objective in a few lines --
AUX = """
import torch
import torch.nn.functional as F

from ganzoo import Discriminator, Generator, ObjectiveSpec, VariantSpec, hookimpl
from ganzoo.interfaces import DiscriminatorOutput
from ganzoo.layers import mlp, one_hot
from ganzoo.objectives.gan import GANObjective
from ganzoo.objectives.terms import ClassLoss, InfoLoss


class RSGANPlugin(GANObjective):
    probabilistic = False

    def d_loss_step(self, step):
        real, fake = step.scores()
        return F.softplus(fake - real).mean(), {"d_real": real.detach(), "d_fake": fake.detach()}

    def g_loss_step(self, step):
        real, fake = step.scores()
        return F.softplus(real - fake).mean(), {"d_fake": fake.detach()}


class G(Generator):
    def __init__(self, sample_shape, latent_dim, num_classes, codes):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=None)
        self.codes = codes
        self.net = mlp([latent_dim + num_classes, 16, sample_shape[0]], act="relu")

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        return self.net(torch.cat([z, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1))

    def latent_codes(self, z):
        return z[:, :self.codes]


class D(Discriminator):
    batch_independent = True

    def __init__(self, sample_shape, num_classes, codes, aux):
        super().__init__(sample_shape, num_classes)
        self.trunk = mlp([sample_shape[0], 16], act="relu")
        self.score = torch.nn.Linear(16, 1)
        self.cls = torch.nn.Linear(16, num_classes)
        self.q = torch.nn.Linear(16, codes)
        self.loss_terms = [ClassLoss(aux), InfoLoss(aux)]

    def forward(self, x, y=None):
        self.check_labels(y, x.shape[0])       # ACGAN-style: D predicts the class instead of reading it
        h = self.trunk(x)
        return DiscriminatorOutput(self.score(h).squeeze(1), class_logits=self.cls(h), q=self.q(h))


def build(sample_shape, latent_dim, num_classes, codes, aux, d_norm):
    return {"generator": G(sample_shape, latent_dim, num_classes, codes),
            "discriminator": D(sample_shape, num_classes, codes, aux)}


@hookimpl
def register_variants(register):
    register(VariantSpec("tp-aux", "a D with class logits and q", "gan", "tp_aux:build",
                         defaults={"sample_shape": [2], "latent_dim": 4, "num_classes": 2, "codes": 2,
                                   "aux": 1.0, "d_norm": "none"}))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("tp-rsgan", "RSGAN as a plugin", "gan", "tp_aux:RSGANPlugin", d_steps=1,
                           optimizer={"name": "adam", "lr": 1e-3}))
"""


def _labelled_points(n=256):
    from ganzoo.data.sources import TensorData

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.1 + torch.stack([y * 2.0 - 1.0, torch.zeros(n)], 1)
    return TensorData(x, y=y, num_classes=2, name="two-blobs")


def test_class_and_info_terms_train_through_ganzoo_train(site, tmp_path):  # noqa: F811
    make_dist(site, "ganzoo-aux", "aux", "tp_aux", AUX)
    out = tmp_path / "aux"
    ganzoo.train("tp-aux", "tp-rsgan", data=_labelled_points(), out=out, steps=6, batch_size=16, conditional=True,
                 progress=False, log_every=3, sample_every=1000, checkpoint_every=1000)
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    lines = [r for r in lines if "d_loss" in r]
    assert lines and all(r["cls"] > 0 and r["info"] > 0 for r in lines)   # logged under their names
    # the class term is cross-entropy on raw logits and the info term 1/2 E||q - c||^2, added to both losses
    t = Trainer(TrainConfig(variant="tp-aux", objective="tp-rsgan", data=None, out=str(tmp_path / "t"), steps=1,
                            batch_size=8, conditional=True, progress=False), data=_labelled_points()).setup()
    assert "cls" in t.iteration.headline and "info" in t.iteration.headline
    x, y = t.data.x[:8], t.data.y[:8]
    z = torch.randn(8, 4)
    fake = t.model.generator(z, y).detach()
    loss, stats = t.iteration.discriminator_loss(x, fake, y, z=z)
    D = t.model.discriminator
    r, f = D(x, y), D(fake, y)
    cls = F.cross_entropy(r.class_logits, y) + F.cross_entropy(f.class_logits, y)
    info = 0.5 * (f.q - z[:, :2]).square().sum(1).mean()
    want = F.softplus(f.score - r.score).mean() + cls + info
    assert stats["cls"].item() == pytest.approx(cls.item(), abs=1e-6)
    assert stats["info"].item() == pytest.approx(info.item(), abs=1e-6)
    assert loss.item() == pytest.approx(want.item(), abs=1e-6)
    g_loss, g_stats = t.iteration.generator_loss(fake, y, real_x=x, real_y=y, z=z)
    g_want = F.softplus(r.score - f.score).mean() + F.cross_entropy(f.class_logits, y) + info
    assert g_loss.item() == pytest.approx(g_want.item(), abs=1e-6)


def test_the_plugin_relativistic_objective_equals_the_builtin_rsgan(site):  # noqa: F811
    make_dist(site, "ganzoo-aux", "aux", "tp_aux", AUX)
    rx, fx = torch.randn(6, 1), torch.randn(6, 1)
    for phase, i in (("d", 0), ("g", 1)):
        a = loss_functions(ganzoo.objective("tp-rsgan"))[i](StepInputs(Fixed(), rx, fx, phase=phase))[0]
        b = loss_functions(ganzoo.objective("rsgan"))[i](StepInputs(Fixed(), rx, fx, phase=phase))[0]
        assert a.item() == pytest.approx(b.item(), abs=1e-7)


def test_terms_of_one_name_are_refused(tmp_path):
    from ganzoo.objectives.terms import ClassLoss
    from ganzoo.training.steps import AdversarialStep

    t = Trainer(TrainConfig(variant="mlp", objective="rahinge", data="ring8", out=str(tmp_path / "t"), steps=1,
                            batch_size=8, progress=False, r1=0.1, config=SMALL["mlp"][1])).setup()
    assert [term.name for term in t.iteration.terms] == ["r1"] and "r1" in t.iteration.headline
    t.model.discriminator.loss_terms = [ClassLoss(), ClassLoss(0.5)]
    with pytest.raises(ganzoo.errors.ConfigError, match="share a name"):
        AdversarialStep(t)
    t.model.discriminator.loss_terms = [ClassLoss()]
    assert [term.name for term in AdversarialStep(t).terms] == ["cls", "r1"]   # the order of application
