"""The ResNet (SNGAN / WGAN-GP), SAGAN and ACGAN variants (issue 46): every variant trains with every built-in
GAN objective and a third-party one, conditionally and self-conditioned, with finite losses, the right shapes
and a bit-exact resume; tiny networks on scikit-learn's 8x8 digits."""

import copy
import math

import pytest
import torch

import ganzoo
from ganzoo import ObjectiveSpec, plugins
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"resnet": {"g_width": 8, "d_width": 8, "latent_dim": 8, "d_extra": 1},
        "sagan": {"g_width": 8, "d_width": 8, "latent_dim": 8, "d_extra": 1},
        "dcgan": {"g_width": 8, "d_width": 8, "latent_dim": 8}}
VARIANTS = ("resnet", "sagan")


class ThirdPartySoftplus:
    """A GAN objective written from scratch against the documented step protocol (no ganzoo base class)."""

    def d_loss_step(self, step):
        real, fake = step.scores()
        return (torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean(),
                {"d_real": real.detach(), "d_fake": fake.detach()})

    def g_loss_step(self, step):
        _, fake = step.scores()
        return torch.nn.functional.softplus(-fake).mean(), {"d_fake": fake.detach()}

    def after_discriminator_step(self, D):
        pass

    def report(self, scores):
        return torch.sigmoid(scores)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def third_party():
    plugins.reset()
    plugins.get_registry().add(ObjectiveSpec("tp-softplus46", "a third-party GAN loss", "gan",
                                             f"{__name__}:ThirdPartySoftplus", d_steps=1), "tp-test")
    yield "tp-softplus46"
    plugins.reset()


def _trainer(tmp_path, variant, objective, data, name, **kw):
    config = dict(TINY[variant], **kw.pop("config", {}))
    cfg = TrainConfig(variant=variant, objective=objective, out=tmp_path / name, steps=100, batch_size=16, seed=1,
                      progress=False, config=config, **kw)
    return Trainer(cfg, data=data).setup()


def _params(t):
    return {k: v.clone() for k, v in t.model.components.state_dict().items()}


def check_trains_and_resumes(tmp_path, variant, objective, data, **kw):
    """Two steps (finite losses), a snapshot, two more; a fresh trainer restored from the snapshot takes the
    same two steps to the same weights and statistics, bit for bit."""
    t = _trainer(tmp_path, variant, objective, data, "a", **kw)
    for _ in range(2):
        stats = t.step()
        assert all(math.isfinite(float(v)) for v in stats.values()), stats
    tensors, meta = t.state_dict()
    tensors, meta = {k: v.clone() for k, v in tensors.items()}, copy.deepcopy(meta)   # (they alias live weights)
    after = [t.step() for _ in range(2)]
    u = _trainer(tmp_path, variant, objective, data, "b", **kw)
    u.load_state_dict(tensors, meta)
    again = [u.step() for _ in range(2)]
    for s1, s2 in zip(after, again):
        assert {k: float(v) for k, v in s1.items()} == {k: float(v) for k, v in s2.items()}
    p1, p2 = _params(t), _params(u)
    assert p1.keys() == p2.keys() and all(torch.equal(p1[k], p2[k]) for k in p1)
    m = t.export_model()
    n = 2 * max(m.num_classes, 1)
    x = m.sample(n, seed=0)
    assert x.shape == (n, 1, 8, 8) and torch.isfinite(x).all() and x.abs().max() <= 1
    return t, stats


def builtin_gan_objectives():
    reg = plugins.get_registry()
    return sorted(o.name for o in reg.items("objective") if o.kind == "gan" and o.plugin == "objectives")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("objective", builtin_gan_objectives())
def test_every_variant_trains_and_resumes_with_every_builtin_gan_objective(tmp_path, digits, variant, objective):
    check_trains_and_resumes(tmp_path, variant, objective, digits)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_with_a_third_party_objective(tmp_path, digits, third_party, variant):
    assert third_party in plugins.get_registry().objectives_for(variant)
    t, _ = check_trains_and_resumes(tmp_path, variant, third_party, digits)
    assert t.model.objective == third_party


CONDITIONAL = [("resnet", "projection"), ("resnet", "acgan"), ("sagan", "projection"), ("sagan", "acgan"),
               ("dcgan", "acgan")]


@pytest.mark.parametrize("variant,label", CONDITIONAL)
def test_class_conditional_variants_train_with_projection_or_acgan(tmp_path, digits, variant, label):
    t = _trainer(tmp_path, variant, "hinge", digits, "c", conditional=True, config={"d_label": label})
    stats = t.step()
    assert all(math.isfinite(float(v)) for v in stats.values())
    D = t.model.discriminator
    x, y = digits.x[:6] * 2 - 1, digits.y[:6]
    out = D(x, y)
    if label == "acgan":
        # ACGAN: the class loss is logged as "cls" in both losses, D gives raw class logits beside the score
        assert "cls" in stats and float(stats["cls"]) > 0
        assert out.score.shape == (6,) and out.class_logits.shape == (6, 10)
        assert [type(term).__name__ for term in D.loss_terms] == ["ClassLoss"]
    else:
        assert out.shape == (6,) and "cls" not in stats
    G = t.model.generator
    assert G.num_classes == 10
    if variant != "dcgan":   # the ResNet G takes the class through conditional BatchNorm in every block
        assert sum(type(m).__name__ == "ConditionalBatchNorm2d" for m in G.modules()) == 2 * len(
            [b for b in G.blocks if type(b).__name__ == "ResBlockUp"])


def test_acgan_class_loss_is_in_d_and_g_losses_on_raw_logits(tmp_path, digits):
    """ACGAN (Odena et al. 2017): D's loss is the objective's plus class_weight x the cross-entropy of its class
    logits on the real and the generated batch; G's is the objective's plus class_weight x that on the generated
    batch; the cross-entropy is on raw logits (its softmax inside it, never before: PyTorch-GAN #141)."""
    import torch.nn.functional as F

    t = _trainer(tmp_path, "resnet", "hinge", digits, "acgan", conditional=True,
                 config={"d_label": "acgan", "class_weight": 0.5})
    t.step()
    D, G = t.model.discriminator.eval(), t.model.generator    # eval: no power iteration between the two sides
    x, y = digits.x[:16] * 2 - 1, digits.y[:16]
    fake = G(torch.randn(16, 8), y)
    loss, stats = t.iteration.discriminator_loss(x, fake.detach(), y)
    with torch.no_grad():
        r, f = D(x, y), D(fake, y)
    ce = F.cross_entropy(r.class_logits, y) + F.cross_entropy(f.class_logits, y)
    assert float(loss.detach()) == pytest.approx(float(F.relu(1 - r.score).mean() + F.relu(1 + f.score).mean() + 0.5 * ce),
                                        rel=1e-5)
    assert float(stats["cls"]) == pytest.approx(float(ce), rel=1e-5)
    loss.backward()
    assert D.label.parametrizations.weight.original.grad.abs().sum() > 0   # the classifier learns from it
    g_loss, _ = t.iteration.generator_loss(fake, y)
    with torch.no_grad():
        f = D(fake, y)
    assert float(g_loss.detach()) == pytest.approx(float(-f.score.mean() + 0.5 * F.cross_entropy(f.class_logits, y)), rel=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_self_conditioned_variants_train_on_clusters(tmp_path, variant):
    """--conditional --data-opt clusters=K: G and D take k-means clusters as labels; sampled without labels, the
    model draws its clusters from their shares."""
    data = load_dataset("digits", clusters=4)
    t, _ = check_trains_and_resumes(tmp_path, variant, "hinge", data, conditional=True)
    m = t.export_model()
    assert m.num_classes == 4 and m.label_prior is not None


def test_variant_optimizer_defaults_replace_the_objectives(tmp_path):
    """VariantSpec.optimizer: sagan's two time-scale rule (G 1e-4, D 4e-4, betas (0, 0.9)) over hinge's Adam
    defaults; run options win over both; an objective with another optimiser (wgan's RMSprop) keeps its own."""
    from ganzoo.training.config import resolve

    cfg, _, _ = resolve(TrainConfig(variant="sagan", out=tmp_path / "s", steps=1))
    assert (cfg.objective, cfg.optimizer, cfg.g_lr, cfg.d_lr, cfg.betas) == ("hinge", "adam", 1e-4, 4e-4, [0.0, 0.9])
    cfg, _, _ = resolve(TrainConfig(variant="sagan", out=tmp_path / "s", steps=1, lr=3e-4, betas=[0.5, 0.99]))
    assert (cfg.g_lr, cfg.d_lr, cfg.betas) == (3e-4, 3e-4, [0.5, 0.99])
    cfg, _, _ = resolve(TrainConfig(variant="sagan", out=tmp_path / "s", steps=1, d_lr=1e-3))
    assert (cfg.g_lr, cfg.d_lr) == (1e-4, 1e-3)
    cfg, _, _ = resolve(TrainConfig(variant="resnet", objective="wgan-gp", out=tmp_path / "s", steps=1))
    assert (cfg.g_lr, cfg.d_lr, cfg.betas) == (1e-4, 1e-4, [0.0, 0.9])     # wgan-gp's lr, resnet's betas
    cfg, _, _ = resolve(TrainConfig(variant="sagan", objective="wgan", out=tmp_path / "s", steps=1))
    assert (cfg.optimizer, cfg.g_lr, cfg.d_lr, cfg.betas) == ("rmsprop", 5e-5, 5e-5, None)
    cfg, _, _ = resolve(TrainConfig(variant="dcgan", out=tmp_path / "s", steps=1))
    assert (cfg.g_lr, cfg.d_lr, cfg.betas) == (2e-4, 2e-4, [0.5, 0.999])     # no variant defaults: the objective's


def test_a_variant_with_bad_optimizer_defaults_is_refused():
    from ganzoo.errors import PluginError
    from ganzoo.registry import VariantSpec

    for bad, match in (({"momentum": 0.9}, "unknown key 'momentum'"), ({"g_lr": 0}, r"g_lr must be a number in"),
                       ({"betas": [0.5]}, "betas must be two numbers"), ([1e-4], "optimizer must be a dict")):
        with pytest.raises(PluginError, match=match):
            VariantSpec("x", "x", "gan", "x:y", optimizer=bad)


@pytest.mark.parametrize("shape,attention", [([1, 28, 28], 14), ([3, 32, 32], 16), ([1, 8, 8], 4)])
def test_sizes_and_where_attention_goes(shape, attention):
    for variant in VARIANTS:
        m = ganzoo.create(variant, sample_shape=shape, num_classes=3, g_width=8, d_width=8, latent_dim=8)
        y = torch.arange(3)
        x = m.generator.sample(3, seed=0, y=y)
        assert x.shape == (3, *shape)
        assert m.discriminator(x, y).shape == (3,)
    m = ganzoo.create("sagan", sample_shape=shape, g_width=8, d_width=8)
    assert m.config["attention"] == attention
    from ganzoo.layers import SelfAttention

    seen = {}
    for name, comp in (("g", m.generator), ("d", m.discriminator)):
        att = [b for b in comp.modules() if isinstance(b, SelfAttention)]
        assert len(att) == 1
        att[0].record = True
        seen[name] = att[0]
    x = m.generator.sample(2, seed=0)
    m.discriminator(x)
    assert seen["g"].attention.shape == seen["d"].attention.shape == (2, attention ** 2, attention ** 2)


def test_sagan_is_spectrally_normalised_in_g_and_d_but_not_the_class_gains_and_g_spectral_switches_g():
    m = ganzoo.create("sagan", num_classes=10, g_width=8, d_width=8, latent_dim=8)
    g_sn = {n for n, mod in m.generator.named_modules() if hasattr(mod, "parametrizations")}
    assert "linear" in g_sn and any(n.endswith("conv1") for n in g_sn) and any("query" in n for n in g_sn)
    assert not any("gain" in n or "bias" in n for n in g_sn)
    assert not any(hasattr(mod, "parametrizations") for mod in ganzoo.create("resnet").generator.modules())
    # g_spectral switches G's spectral norm: off for SAGAN, on for the plain ResNet; D keeps its own
    off = ganzoo.create("sagan", num_classes=10, g_width=8, d_width=8, latent_dim=8, g_spectral=False)
    assert not any(hasattr(mod, "parametrizations") for mod in off.generator.modules())
    assert any(hasattr(mod, "parametrizations") for mod in off.discriminator.modules())
    on = ganzoo.create("resnet", g_width=8, d_width=8, g_spectral=True)
    assert "linear" in {n for n, mod in on.generator.named_modules() if hasattr(mod, "parametrizations")}
    d = m.discriminator
    assert all(hasattr(mod, "parametrizations") for mod in d.modules()
               if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding)))


@pytest.mark.parametrize("config,match", [
    ({"sample_shape": [1, 28, 20]}, "needs square images"),
    ({"d_norm": "weird"}, "unknown d_norm 'weird'"),
    ({"d_label": "concat", "num_classes": 3}, "d_label must be projection or acgan"),
    ({"d_label": "acgan"}, "d_label=acgan needs a class-conditional model"),
    ({"d_extra": -1}, "d_extra must be"),
    ({"g_spectral": "no"}, "g_spectral must be true or false, not 'no'"),
])
def test_bad_configs_are_one_clear_line(config, match):
    for variant in VARIANTS:
        with pytest.raises(ConfigError, match=match):
            ganzoo.create(variant, **config)
    with pytest.raises(ConfigError, match="attention=5 is not a resolution of the generator's feature maps; use one "
                                          "of 7, 14, 28"):
        ganzoo.create("sagan", attention=5)


def test_wgan_gp_asks_the_resnet_critic_for_layer_norm():
    m = ganzoo.create("resnet", "wgan-gp", g_width=8, d_width=8)
    assert m.config["d_norm"] == "layer"
    assert any(isinstance(mod, torch.nn.GroupNorm) for mod in m.discriminator.modules())
    assert not any(hasattr(mod, "parametrizations") for mod in m.discriminator.modules())
    assert m.discriminator.batch_independent


def test_attention_command_draws_the_generators_maps(tmp_path):
    """ganzoo attention MODEL -o FILE.png (the sagan plugin's command): a row per sample, the sample with its query
    points and one heat map per query; one clear line for models without self-attention and for bad options."""
    from PIL import Image

    from ganzoo_plugins.sagan.command import attention_picture
    from helpers import cli

    folder = tmp_path / "sagan"
    ganzoo.create("sagan", num_classes=3, g_width=8, d_width=8, latent_dim=8, sample_shape=[1, 8, 8]).save(folder)
    model = ganzoo.load(folder, components=["generator"])
    tiles = attention_picture(model, 2, points=3, seed=0)
    assert tiles.shape == (2 * 4, 3, 8, 8) and 0 <= float(tiles.min()) and float(tiles.max()) <= 1
    assert not torch.equal(tiles[1], tiles[2])                 # different queries attend differently
    att = [m for m in model.generator.modules() if type(m).__name__ == "SelfAttention"][0]
    assert att.record is False and att.attention is None      # the recording is switched off again
    r = cli("attention", str(folder), "-o", str(tmp_path / "attn.png"), "-n", "2", "--points", "3", "--label", "1")
    assert r.code == 0, r.err
    assert "wrote the attention maps of 2 samples (3 queries each)" in r.out
    w, h = Image.open(tmp_path / "attn.png").size
    assert w > h > 0                                           # 4 tiles a row, 2 rows
    dc = tmp_path / "dcgan"
    ganzoo.create("dcgan", g_width=8, d_width=8, latent_dim=8, sample_shape=[1, 8, 8]).save(dc)
    for args, msg in (([str(dc), "-o", str(tmp_path / "a.png")], "has no self-attention block"),
                      ([str(folder), "-o", str(tmp_path / "a.txt")], "must end in .png"),
                      ([str(folder), "-o", str(tmp_path / "a.png"), "--label", "7"], "--label must lie in 0..2")):
        r = cli("attention", *args)
        assert r.code == 1 and r.err.count("\n") == 1 and msg in r.err, r.err
