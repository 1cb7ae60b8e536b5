"""The infogan variant (plugins/infogan): the paper's networks and code layout, training with every GAN
objective, and the mutual-information term in both the discriminator's (Q's) and the generator's losses.
Exact resume is a case of tests/test_train.py's RESUME_CASES; the codes' capability (traverse --code, the
codes metric) is tests/test_latent_codes.py; the zoo model is tests/test_zoo.py."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.interfaces import DiscriminatorOutput, LatentCodes
from ganzoo.objectives.step import StepInputs
from ganzoo.objectives.terms import InfoLoss
from ganzoo.plugins import get_registry, plugin_infos
from ganzoo.training import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

# small networks for 8x8 digits: 10-way code, 2 continuous codes, 4 noise columns
TINY = {"g_hidden": 32, "g_width": 8, "d_width": 8, "d_hidden": 32, "q_hidden": 16, "noise": 4}
GAN_OBJECTIVES = get_registry().objectives_for("infogan")


def test_registered_with_the_papers_mnist_networks():
    spec = get_registry().variant("infogan")
    assert spec.plugin == "infogan" and spec.kind == "gan"
    assert not [p for p in plugin_infos() if p.name == "infogan" and p.error]
    assert {"minimax", "non-saturating", "wgan", "wgan-gp", "hinge", "lsgan", "rahinge"} <= set(GAN_OBJECTIVES)
    m = ganzoo.create("infogan")
    G, D = m.generator, m.discriminator
    assert G.code_layout == LatentCodes((10,), 2) and G.latent_dim == 10 + 2 + 62
    # G: FC 1024 -> FC 7x7x128 -> up-conv 64 -> up-conv 1 (BatchNorm + ReLU), tanh
    linears = [mod for mod in G.fc if isinstance(mod, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(74, 1024), (1024, 128 * 7 * 7)]
    convs = [mod for mod in G.up if isinstance(mod, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(128, 64), (64, 1)]
    # D/Q: conv 64 -> conv 128 -> FC 1024 shared; Q: FC 128 -> 12 (10 logits, 2 means)
    assert D.trunk.out_channels == 128 and D.fc[1].out_features == 1024
    assert (D.q[0].out_features, D.q[-1].out_features) == (128, 12)
    assert D.loss_terms == [InfoLoss(1.0, categories=(10,), continuous_weight=0.1)]
    x = m.sample(5, seed=0)
    out = D(x)
    assert x.shape == (5, 1, 28, 28) and isinstance(out, DiscriminatorOutput)
    assert out.score.shape == (5,) and out.q.shape == (5, 12)
    assert torch.equal(m.sample(5, seed=0), x)


def test_g_sees_only_the_one_hot_of_each_categorical_code():
    m = ganzoo.create("infogan", sample_shape=[1, 8, 8], **TINY).eval()
    z = torch.randn(6, m.latent_dim, generator=torch.Generator().manual_seed(0))
    louder = z.clone()
    louder[:, :10] = louder[:, :10] * 3 + 1          # the same argmax: the same code, the same images
    with torch.no_grad():
        assert torch.allclose(m.generator(z), m.generator(louder), atol=1e-6)
        moved = m.generator.code_layout.set(z, 0, (m.generator.code_layout.values(z, 0) + 1) % 10)
        assert not torch.allclose(m.generator(z), m.generator(moved))


@pytest.mark.reliability("input")
def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match=r"categorical codes are numbers of categories, whole numbers >= 2; not \(10, 1\)"):
        ganzoo.create("infogan", categories=[10, 1])
    with pytest.raises(ConfigError, match=r"a code layout needs at least one code"):
        ganzoo.create("infogan", categories=[], continuous=0)
    with pytest.raises(ConfigError, match=r"infogan: g_width must be at least 1, not 0"):
        ganzoo.create("infogan", g_width=0)
    with pytest.raises(ConfigError, match=r"infogan: info and info_continuous are weights >= 0"):
        ganzoo.create("infogan", info_continuous=-0.1)
    with pytest.raises(ConfigError, match=r"infogan makes square images \[C, S, S\], not \[2\]"):
        ganzoo.create("infogan", sample_shape=[2])
    with pytest.raises(ConfigError, match=r"unknown d_norm 'group'"):
        ganzoo.create("infogan", d_norm="group")


def _trainer(tmp_path, objective="non-saturating", **kw):
    config = {**TINY, **kw.pop("config", {})}
    return Trainer(TrainConfig(variant="infogan", objective=objective, data="digits", out=str(tmp_path / "run"),
                               steps=3, batch_size=16, progress=False, config=config, **kw)).setup()


@pytest.mark.parametrize("objective", GAN_OBJECTIVES)
def test_trains_with_every_gan_objective(tmp_path, objective):
    t = _trainer(tmp_path, objective)
    for _ in range(2):
        stats = t.step()
    assert {"d_loss", "g_loss", "info"} <= set(stats)
    assert all(math.isfinite(float(v)) for v in stats.values()), stats
    assert float(stats["info"]) > 0
    model = t.export_model()
    x = model.sample(4, seed=0)
    assert x.shape == (4, 1, 8, 8) and torch.isfinite(x).all()
    assert model.discriminator(x).q.shape == (4, 12)


def test_class_conditional(tmp_path):
    t = _trainer(tmp_path, conditional=True)
    stats = t.step()
    assert math.isfinite(float(stats["info"]))
    m = t.export_model()
    assert m.num_classes == 10 and m.sample(3, seed=0, y=7).shape == (3, 1, 8, 8)
    assert m.traverse_code(0, rows=2).shape == (2, 10, 1, 8, 8)


def test_the_info_term_is_in_qs_and_gs_losses(tmp_path):
    """The engine adds lambda * (CE of the categorical code + 0.1 * 1/2 ||q - c||^2 of the continuous ones) to
    D's loss (training Q and the shared trunk) and to G's loss (training G): each loss minus the objective's own
    is that number, computed by hand from D's q and G's codes, and it has gradients where it should."""
    t = _trainer(tmp_path)
    G, D = t.model.generator, t.model.discriminator
    x, _ = t.batches.next()
    z = torch.randn(16, G.latent_dim, generator=torch.Generator().manual_seed(1))
    fake = G(z)
    c = G.latent_codes(z)

    def bound(q):
        return (F.cross_entropy(q[:, :10], c[:, :10].argmax(1))
                + 0.1 * 0.5 * (q[:, 10:] - c[:, 10:]).square().sum(1).mean())

    d_loss, d_stats = t.iteration.discriminator_loss(x, fake.detach(), z=z)
    own, _ = t.objective.d_loss_step(StepInputs(D, x, fake.detach(), phase="d"))
    info = bound(D(fake.detach()).q)
    assert (d_loss - own).item() == pytest.approx(info.item(), rel=1e-5, abs=1e-6)
    q_grads = torch.autograd.grad(d_loss, list(D.q.parameters()))
    assert all(g is not None and g.abs().sum() > 0 for g in q_grads)       # Q learns from D's loss

    g_loss, g_stats = t.iteration.generator_loss(fake, z=z)
    own, _ = t.objective.g_loss_step(StepInputs(D, None, fake, phase="g"))
    assert (g_loss - own).item() == pytest.approx(bound(D(fake).q).item(), rel=1e-5, abs=1e-6)
    g_grads = torch.autograd.grad(g_loss - own, list(G.parameters()))
    assert sum(float(g.abs().sum()) for g in g_grads) > 0                  # and G from its own
    assert {"info"} <= set(d_stats) & set(g_stats)


def test_q_learns_to_read_the_codes(tmp_path):
    """A few hundred steps on 8x8 digits: the logged mutual-information term falls far below its start
    (log 10 for the categorical code, plus the continuous part)."""
    ganzoo.train("infogan", "non-saturating", data="digits", out=tmp_path / "r", steps=300, batch_size=32,
                 lr=2e-3, progress=False, log_every=50, sample_every=1000, checkpoint_every=1000, **TINY)
    rows = [json.loads(s) for s in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    info = [r["info"] for r in rows if "info" in r]
    assert len(info) == 6 and info[0] > 1.5 and info[-1] < 0.5 * info[0], info
