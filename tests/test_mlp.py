"""The ``mlp`` variant: PacGAN packing in D, the Gaussian-mixture latent in G, "auto" sizes and the conditional D."""

from __future__ import annotations

import pytest
import torch

import ganzoo


def test_pacgan_discriminator_judges_groups_jointly():
    m = ganzoo.create("mlp", sample_shape=[2], latent_dim=2, g_hidden=[8], d_hidden=[16, 16], pack=2)
    d = m.discriminator
    x = torch.randn(6, 2)
    s = d(x)
    assert s.shape == (6,)
    assert torch.equal(s[0::2], s[1::2])                      # both members of a pair get the pair's score
    swapped = x.clone()
    swapped[[2, 3]] = x[[3, 2]]                              # order inside a pair matters to the joint input...
    assert not torch.allclose(d(swapped)[2], s[2])
    assert torch.equal(d(swapped)[[0, 1, 4, 5]], s[[0, 1, 4, 5]])   # ...and changes no other pair's score
    with pytest.raises(ValueError, match="multiple of pack=2"):
        d(torch.randn(5, 2))
    assert d.net[0].in_features == 4                          # one input row holds the whole pair
    with pytest.raises(ValueError, match="pack must be a whole number >= 1, not 0"):
        ganzoo.create("mlp", sample_shape=[2], pack=0)       # would divide by zero in forward



def test_mixture_latent_picks_one_component_per_code():
    """mixture=K: the prior is the generator's latent (sample_latent draws it, forward takes it as it is): of
    K + latent_dim normal values, the argmax of the first K picks one of K equally likely components, and the
    latent is that one-hot code beside mixture_std x the rest -- the values drawn with the seed, transformed
    exactly as forward did before the prior moved (saved models sample as before)."""
    g = ganzoo.create("mlp", sample_shape=[2], latent_dim=2, g_hidden=[16], mixture=8, mixture_std=0.1).generator
    assert g.latent_dim == 10 and g.net[0].in_features == 10
    z = g.sample_latent(8000, seed=0)
    noise = torch.randn(8000, 10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, torch.cat([torch.nn.functional.one_hot(noise[:, :8].argmax(1), 8).float(),
                                     0.1 * noise[:, 8:]], 1))
    counts = torch.bincount(g.component(z), minlength=8)
    assert counts.min() > 850 and counts.max() < 1150                  # uniform over 8: 1000 each
    with torch.no_grad():
        x = g(z)
        assert torch.equal(g.sample(8000, seed=0), x)                  # sample: this latent through forward
        assert torch.allclose(x, g.net(z))
    # the training step draws through the same method (the global RNG, on the device): one-hot codes again
    torch.manual_seed(1)
    zt = g.sample_latent(500, device="cpu", training=True)
    assert torch.equal(zt[:, :8].sum(1), torch.ones(500)) and zt[:, :8].max() == 1
    # a small mixture_std keeps each component compact: spread inside a component << spread between components
    c = g.component(z)
    within = torch.stack([x[c == i].std(0).norm() for i in range(8)]).mean()
    between = torch.stack([x[c == i].mean(0) for i in range(8)]).std(0).norm()
    assert within < 0.25 * between


def test_mixture_config_round_trips_and_bad_values_are_rejected(tmp_path):
    m = ganzoo.create("mlp", sample_shape=[2], latent_dim=2, g_hidden=[8], d_hidden=[8], mixture=4, mixture_std=0.2)
    m.save(tmp_path / "m")
    back = ganzoo.load(tmp_path / "m")
    assert back.config["mixture"] == 4 and back.latent_dim == 6
    assert torch.equal(back.sample(16, seed=3), m.sample(16, seed=3))
    for bad in ({"mixture": 1}, {"mixture": -2}, {"mixture": 2.5}, {"mixture_std": 0}):
        with pytest.raises(ValueError, match="mixture"):         # ConfigError is a ValueError
            ganzoo.create("mlp", sample_shape=[2], g_hidden=[8], d_hidden=[8], **bad)


# -- "auto" sizes: the 2-D defaults for vectors, image sizes for images (issue 42.1) -----------------
VECTOR = {"latent_dim": 16, "g_hidden": [256, 256], "d_hidden": [256, 256], "g_norm": False, "d_label": "concat"}
IMAGE = {"latent_dim": 64, "g_hidden": [256, 512], "d_hidden": [512, 256], "g_norm": True, "d_label": "projection"}


@pytest.mark.parametrize("shape,want", [([2], VECTOR), ([1, 28, 28], IMAGE), ([3, 8, 8], IMAGE)])
def test_auto_sizes_follow_the_sample_shape_and_the_config_records_them(shape, want, tmp_path):
    m = ganzoo.create("mlp", sample_shape=shape, num_classes=10)
    assert {k: m.config[k] for k in want} == want
    assert m.latent_dim == want["latent_dim"]
    has_bn = any(isinstance(x, torch.nn.BatchNorm1d) for x in m.generator.modules())
    assert has_bn == want["g_norm"]
    assert hasattr(m.discriminator, "embed") == (want["d_label"] == "projection")
    m.save(tmp_path / "m")
    assert ganzoo.load(tmp_path / "m").config == m.config  # explicit values, not "auto"
    given = ganzoo.create("mlp", sample_shape=shape, latent_dim=3, g_hidden=[8], d_hidden=[8], g_norm=False,
                          d_label="concat")
    assert (given.latent_dim, given.config["g_hidden"], given.config["d_hidden"]) == (3, [8], [8])
    linear_d = ganzoo.create("mlp", sample_shape=shape, num_classes=10, d_hidden=[])  # no features to project
    assert linear_d.config["d_label"] == "concat"


def test_a_model_saved_before_d_label_loads_as_it_was_saved(tmp_path):
    """Saved configs name every key that existed then; a conditional image model saved without
    ``d_label`` had the one-hot D, so it loads with that (strictly: same weights, same keys)."""
    import json

    old = ganzoo.create("mlp", sample_shape=[1, 8, 8], num_classes=10, g_hidden=[16], d_hidden=[16],
                        latent_dim=4, g_norm=False, d_label="concat")
    old.save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    cfg = json.loads(path.read_text())
    del cfg["config"]["d_label"]
    path.write_text(json.dumps(cfg))
    back = ganzoo.load(tmp_path / "m")
    assert back.config["d_label"] == "concat"
    assert back.discriminator.state_dict().keys() == old.discriminator.state_dict().keys()
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    with torch.no_grad():
        assert torch.equal(back.discriminator(x, y), old.discriminator.eval()(x, y))
    zoo = ganzoo.load("mnist-mlp-selfcond")  # bundled before d_label existed: conditional, 28x28
    assert zoo.config["d_label"] == "concat"


@pytest.mark.parametrize("bad,key", [({"latent_dim": "big"}, "latent_dim"), ({"g_hidden": [0]}, "g_hidden"),
                                     ({"d_hidden": "wide"}, "d_hidden"), ({"g_norm": 1}, "g_norm"),
                                     ({"d_label": "sum"}, "d_label"), ({"g_hidden": {"a": 1}}, "g_hidden")])
def test_bad_values_for_auto_keys_are_one_clear_line(bad, key):
    with pytest.raises(ValueError, match=key) as exc:
        ganzoo.create("mlp", sample_shape=[1, 8, 8], num_classes=10, **bad)
    assert "\n" not in str(exc.value)


def test_a_projection_d_with_packing_scores_groups_by_their_labels():
    m = ganzoo.create("mlp", sample_shape=[1, 8, 8], num_classes=10, d_hidden=[16], pack=2)
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4, 5])
    with torch.no_grad():
        s = m.discriminator(x, y)
        swapped = m.discriminator(x, torch.tensor([1, 0, 2, 3, 4, 5]))  # same labels within the first group
    assert s.shape == (6,) and torch.equal(s[0::2], s[1::2])
    assert torch.allclose(s, swapped)
