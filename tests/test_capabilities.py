"""The contract that lets a new model family in without an edit of the core: kinds are registered (with their
training step), and the commands ask a model what it can do (its capabilities), never what kind it is.
Encoders see labels; a model loaded with its encoder alone still knows its shapes."""

import json

import pytest
import torch

import ganzoo
from ganzoo import plugins
from ganzoo.errors import ConfigError, PluginError
from helpers import cli
from test_plugins import make_dist, site  # noqa: F401 - the fixture

# A third-party model family: a generator trained by matching the data's mean and spread (no discriminator,
# no encoder), with its own kind, step and objective -- registered through the public hooks alone.
MOMENTS = """
import torch
from torch import nn

from ganzoo import Generator, KindSpec, ObjectiveSpec, VariantSpec, hookimpl


class MatchStep:
    headline = None          # the progress bar shows every statistic
    terms = ()               # no auxiliary loss terms (nothing for a checkpoint to keep)
    CALLS = []

    def __init__(self, trainer):
        self.G, self.objective, self.device = trainer.model.generator, trainer.objective, trainer.device
        self.optimizers = {"g": trainer.make_optimizer(self.G.parameters(), trainer.config.g_lr)}
        self.after_update, self.batches_per_call = trainer.after_update, 1

    def __call__(self, next_batch, iteration=0):
        x, _ = next_batch()
        MatchStep.CALLS.append(len(x))
        loss, stats = self.objective.loss(self.G(self.G.sample_latent(len(x), device=self.device)), x)
        self.optimizers["g"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["g"].step()
        self.after_update()
        return {"loss": loss.detach(), **stats}

    @staticmethod
    def panels(names):
        return {"loss": list(names)}


class Moments:
    def loss(self, fake, real):
        gap = (fake.mean(0) - real.mean(0)).pow(2).sum() + (fake.std(0) - real.std(0)).pow(2).sum()
        return gap, {"gap": gap.detach()}


class Points(Generator):
    def __init__(self, sample_shape, latent_dim, num_classes=0):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=None)
        self.net = nn.Sequential(nn.Linear(latent_dim, 16), nn.ReLU(), nn.Linear(16, sample_shape[0]))

    def forward(self, z, y=None):
        self.check_labels(y, z.shape[0])
        return self.net(z)


def build(sample_shape, latent_dim, num_classes):
    return {"generator": Points(sample_shape, latent_dim, num_classes)}


@hookimpl
def register_kinds(register):
    register(KindSpec("tp-match", "moment matching", "tp_moments:MatchStep", components=("generator",),
                      default_objective="tp-moments", tag="moment-matcher"))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("tp-moments", "match the data's mean and spread", "tp-match", "tp_moments:Moments",
                           d_steps=0, optimizer={"name": "adam", "lr": 1e-2}))


@hookimpl
def register_variants(register):
    register(VariantSpec("tp-points", "points by moment matching", "tp-match", "tp_moments:build",
                         defaults={"sample_shape": [2], "latent_dim": 2, "num_classes": 0}))
"""


def test_a_plugin_adds_a_kind_with_its_step_and_every_command_serves_it(site, tmp_path):  # noqa: F811
    make_dist(site, "ganzoo-moments", "moments", "tp_moments", MOMENTS)
    reg = plugins.get_registry()
    assert reg.kind("tp-match").plugin == "moments" and reg.variant("tp-points").default_objective == "tp-moments"
    assert reg.objectives_for("tp-points") == ["tp-moments"] and reg.variants_for("tp-moments") == ["tp-points"]
    code, out, err = cli("list", "--kinds")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["ae", "gan", "tp-match", "vae"], out
    import tp_moments

    model = ganzoo.train("tp-points", data="ring8", out=tmp_path / "run", steps=40, batch_size=64, progress=False,
                         log_every=10, sample_every=1000, checkpoint_every=1000)
    assert tp_moments.MatchStep.CALLS == [64] * 40                    # the kind's own step trained it
    assert model.capabilities == {"sample"} and model.kind == "tp-match"
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    gaps = [line["gap"] for line in lines if "gap" in line]
    assert len(gaps) == 4 and gaps[-1] < gaps[0] / 4
    # ganzoo sample and ganzoo eval serve it by what it can do: sample
    code, out, err = cli("sample", str(tmp_path / "run"), "-n", "5", "-o", str(tmp_path / "x.npy"))
    assert code == 0, err
    import numpy as np

    assert np.array_equal(np.load(tmp_path / "x.npy"), ganzoo.load(tmp_path / "run").sample(5, seed=0).numpy())
    result = ganzoo.evaluate(tmp_path / "run", data="ring8", n=500)
    assert list(result["metrics"]) == ["modes"] and result["kind"] == "tp-match"
    from ganzoo.card import render_card

    card = render_card(ganzoo.load(tmp_path / "run").to_config(), repo_id="org/x")
    assert '- "moment-matcher"' in card and "A **tp-points** moment-matcher trained" in card
    # its kind has no discriminator: the run options of the adversarial step are refused by name
    with pytest.raises(ConfigError, match=r"^r1 regularises a GAN's discriminator; 'tp-points' is a moment matching "
                                          r"model \(kind tp-match\) and r1 applies to kind gan$"):
        ganzoo.train("tp-points", data="ring8", out=tmp_path / "r1", steps=1, r1=1.0)
    with pytest.raises(ganzoo.errors.IncompatibleError, match=r"'tp-points' \(moment matching, kind tp-match\) does "
                                                              r"not work with objective 'hinge'"):
        ganzoo.create("tp-points", "hinge")


def test_a_variant_of_an_unregistered_kind_disables_its_plugin(site):  # noqa: F811
    make_dist(site, "ganzoo-lost", "lost", "tp_lost", MOMENTS.replace("def register_kinds", "def _no_kinds"))
    info = {i.name: i for i in plugins.plugin_infos()}["lost"]
    assert info.error == ("register_variants failed: PluginError: plugin 'lost': variant 'tp-points' has kind "
                          "'tp-match', which no plugin registers; registered kinds: ae (autoencoding), gan "
                          "(adversarial), vae (variational)")
    assert not plugins.get_registry().has("objective", "tp-moments")
    assert not plugins.get_registry().has("variant", "tp-points") and "mlp" in ganzoo.list_variants()


def test_a_kind_checks_the_components_its_variants_build(site):  # noqa: F811
    source = MOMENTS.replace('components=("generator",)', 'components=("generator", "encoder")')
    make_dist(site, "ganzoo-moments", "moments", "tp_moments", source)
    with pytest.raises(PluginError, match=r"^variant 'tp-points' \(tp-match\) built no encoder$"):
        ganzoo.create("tp-points")


# -- capabilities ---------------------------------------------------------------------------------------------
def test_capabilities_follow_the_components_not_the_kind():
    gan = ganzoo.create("mlp")
    assert gan.capabilities == {"sample", "discriminate"}
    ae = ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3)
    assert ae.capabilities == {"encode", "reconstruct"} and not ae.can_sample
    vae = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3, num_classes=4)
    assert vae.capabilities == {"sample", "encode", "reconstruct", "likelihood", "conditional"}
    assert vae.keep_only(["generator"]).capabilities == {"sample", "conditional"}


def test_encoder_only_models_know_their_shapes_and_refuse_sampling_clearly():
    m = ganzoo.load("digits-vae", components=["encoder"])
    assert (m.latent_dim, m.sample_shape, m.num_classes, m.is_image) == (8, (1, 8, 8), 0, True)
    assert m.generator is None and m.capabilities == {"encode"}
    from ganzoo.data import load_dataset

    x = load_dataset("digits").x[:5]
    full = ganzoo.load("digits-vae")
    assert torch.equal(m.encode(x), full.encode(x)) and m.encode(x).shape == (5, 8)
    with pytest.raises(ConfigError, match=r"^sampling needs a generator; this vae model has encoder loaded$"):
        m.sample(2)
    with pytest.raises(ConfigError, match=r"^reconstruct needs an encoder and a decoder; this vae model has encoder"):
        m.reconstruct(x)


# -- encoders see labels --------------------------------------------------------------------------------------
def test_a_conditional_vae_feeds_the_label_to_encoder_and_decoder():
    from ganzoo.objectives.autoencoding import encode

    m = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3, num_classes=4)
    assert m.encoder.conditional and m.encoder.num_classes == 4
    x = torch.rand(6, 1, 8, 8)
    y0, y1 = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    assert not torch.equal(m.encode(x, y0), m.encode(x, y1))          # q(z | x, y): the label moves the code
    with pytest.raises(ConfigError, match=r"^the encoder of this vae is conditional on 4 classes"):
        m.encode(x)
    with pytest.raises(ConfigError, match=r"conditional on 4 classes; pass labels y"):
        m.encoder(x)                                                    # check_labels, like every component
    with pytest.raises(ConfigError, match=r"labels must lie in 0\.\.3"):
        encode(m, x, torch.full((6,), 4))
    torch.manual_seed(0)
    loss0, _ = m.make_objective().loss(m, x, y0)
    torch.manual_seed(0)
    loss1, _ = m.make_objective().loss(m, x, y1)
    assert loss0.item() != loss1.item()
    plain = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3, num_classes=4,
                          encoder_labels=False)
    assert not plain.encoder.conditional and torch.equal(plain.encode(x, y0), plain.encode(x, y1))
    with pytest.raises(ConfigError, match="unconditional; do not pass labels"):
        plain.encoder(x, y0)


def test_a_conditional_vae_saved_before_encoder_labels_loads_as_it_was(tmp_path):
    m = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[16], latent_dim=3, num_classes=4, encoder_labels=False)
    m.save(tmp_path / "old")
    cfg = json.loads((tmp_path / "old" / "config.json").read_text())
    del cfg["config"]["encoder_labels"]                                # as written before the key existed
    (tmp_path / "old" / "config.json").write_text(json.dumps(cfg))
    old = ganzoo.load(tmp_path / "old")
    assert not old.encoder.conditional and old.generator.conditional
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(old.encode(x), m.encode(x))


def test_an_autoencoder_s_training_picture_shows_its_reconstructions(tmp_path):
    from PIL import Image

    from ganzoo import images
    from ganzoo.data import load_dataset
    from ganzoo.model import to_unit

    ganzoo.train("ae", data="digits", out=tmp_path / "ae", steps=4, batch_size=16, progress=False,
                 sample_every=4, checkpoint_every=4, config={"sample_shape": [1, 8, 8], "hidden": [32], "latent_dim": 4})
    m = ganzoo.load(tmp_path / "ae")
    x = load_dataset("digits").x[:32]
    want = images.reconstruction_picture(x, to_unit(m.reconstruct(x), m.output_range))
    got = Image.open(tmp_path / "ae" / "samples.png")
    assert got.size == want.size and got.tobytes() == want.tobytes()
