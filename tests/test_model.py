"""Variants, create(), and strict save/load of model folders."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file, save_file

import ganzoo
import reliability
from ganzoo.errors import ConfigError, NotFoundError, WeightsError


@pytest.mark.parametrize("size", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_sizes_and_channels(size, channels):
    m = ganzoo.create("dcgan", sample_shape=[channels, size, size], g_width=8, d_width=8, latent_dim=10)
    x = m.sample(2, seed=0)
    assert x.shape == (2, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert m.discriminator(x).shape == (2,)


def test_dcgan_64_matches_the_reference_architecture():
    """pytorch/examples DCGAN (nz 100, ngf = ndf = 64, 3x64x64): 3,576,704 G and 2,765,568 D parameters."""
    m = ganzoo.create("dcgan", sample_shape=[3, 64, 64])
    assert sum(p.numel() for p in m.generator.parameters()) == 3_576_704
    assert sum(p.numel() for p in m.discriminator.parameters()) == 2_765_568


def test_dcgan_rejects_unsupported_sizes():
    with pytest.raises(ConfigError, match=r"variant 'dcgan' cannot be built .* shape \[1, 30, 30\]: image size 30"):
        ganzoo.create("dcgan", sample_shape=[1, 30, 30])


@pytest.mark.reliability("input")
@pytest.mark.parametrize("variant,config,msg", [
    ("dcgan", {"d_norm": "group"}, "unknown d_norm 'group'"),
    ("dcgan", {"g_norm": "conditional"}, "needs a class-conditional model"),
    ("dcgan", {"g_depth": 0}, "g_depth must be a whole number"),
    ("dcgan", {"pack": 2, "num_classes": 3}, "pack > 1 does not combine"),
    ("dcgan", {"sample_shape": [1, 8, 16]}, "square images"),
    ("mlp", {"output": "relu"}, "output must be auto"),
    ("mlp", {"mixture": 1}, "mixture must be 0"),
    ("mlp", {"pack": 0}, "pack must be a whole number"),
    ("ae", {"arch": "rnn"}, "arch must be mlp or conv"),
    ("vae", {"arch": "conv", "sample_shape": [1, 8, 16]}, "square images"),
])
def test_builtin_variants_raise_config_errors(variant, config, msg):
    """Bad configuration is a ConfigError (the documented family; still a ValueError) naming the variant."""
    with pytest.raises(ConfigError, match=msg) as info:
        ganzoo.create(variant, **config)
    assert isinstance(info.value, ValueError) and f"variant '{variant}'" in str(info.value)


def test_layers_raise_config_errors():
    from ganzoo import layers

    for call, msg in ((lambda: layers.conv_plan(30), "image size 30"), (lambda: layers.norm2d("group", 4), "unknown norm"),
                      (lambda: layers.activation("gelu"), "unknown activation"),
                      (lambda: layers.check_pack(True, "v"), "v: pack"), (lambda: layers.check_depth(1.5, "d"), "d must"),
                      (lambda: layers.pack_groups(torch.zeros(3, 2), 2, "v"), "multiple of pack=2"),
                      (lambda: layers.ConditionalBatchNorm2d(4, 0), "class-conditional")):
        with pytest.raises(ConfigError, match=msg):
            call()


def test_dcgan_pack_stacks_groups_along_the_channels():
    """pack=2 (PacGAN): D's first conv sees two images' channels; each pair shares one score, and
    reordering inside a pair changes that pair's score only (eval mode: BatchNorm mixes a batch)."""
    d = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=8, d_width=8, latent_dim=10, pack=2).discriminator
    assert d.trunk.net[0].in_channels == 2
    d.eval()
    x = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        s = d(x)
        swapped = x[[0, 1, 3, 2, 4, 5]]
        t = d(swapped)
    assert s.shape == (6,) and torch.equal(s[0::2], s[1::2])
    assert not torch.allclose(t[2], s[2]) and torch.equal(t[[0, 1, 4, 5]], s[[0, 1, 4, 5]])
    with pytest.raises(ValueError, match="multiple of pack=2"):
        d(torch.randn(5, 1, 8, 8))
    with pytest.raises(ValueError, match="pack > 1 does not combine with a class-conditional D"):
        ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=8, d_width=8, num_classes=10, pack=2)
    with pytest.raises(ValueError, match="pack must be a whole number"):
        ganzoo.create("dcgan", sample_shape=[1, 8, 8], pack=0)


def test_dcgan_spectral_norm_discriminator(tmp_path):
    """d_norm=spectral (SNGAN): no norm layers, every conv and the class embedding divided by its
    largest singular value -- so D's scores ignore a rescaling of any raw weight, each effective
    weight has spectral norm ~1, and the D survives a save/load of the model folder."""
    kw = dict(sample_shape=[1, 28, 28], g_width=8, d_width=8, latent_dim=10, num_classes=3)
    d = ganzoo.create("dcgan", "hinge", d_norm="spectral", **kw).discriminator
    assert d.batch_independent is True
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in d.modules())
    layers = [m for m in d.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Embedding))]
    assert len(layers) == 4 and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    x, y = torch.rand(5, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 0, 1])
    d.train()
    with torch.no_grad():
        for _ in range(50):           # training-mode calls run the power iteration
            d(x, y)
        for m in layers:
            sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
            assert 0.95 < float(sigma) < 1.05, (m, float(sigma))
        d.eval()
        before = d(x, y)
        for m in layers:
            m.parametrizations.weight.original.mul_(10.0)
        assert torch.allclose(d(x, y), before, rtol=1e-4, atol=1e-5)
    # the same rescaling changes an un-normalised D's scores
    plain = ganzoo.create("dcgan", "hinge", d_norm="none", **kw).discriminator.eval()
    with torch.no_grad():
        before = plain(x, y)
        plain.head.weight.mul_(10.0)
        assert not torch.allclose(plain(x, y), before, rtol=1e-2)
    # save and strict load keep the normalised D, power-iteration vectors included
    m = ganzoo.create("dcgan", "hinge", d_norm="spectral", **kw)
    m.discriminator.train()(x, y)
    m.save(tmp_path / "sn")
    back = ganzoo.load(tmp_path / "sn")
    m.discriminator.eval()
    back.discriminator.eval()
    with torch.no_grad():
        assert torch.equal(back.discriminator(x, y), m.discriminator(x, y))
    with pytest.raises(ValueError, match="unknown d_norm 'spectre'; use batch, layer, spectral, none"):
        ganzoo.create("dcgan", d_norm="spectre", **kw)


def test_dcgan_depth_adds_3x3_convolutions_per_resolution(tmp_path):
    """g_depth / d_depth = 2: each resolution of G's and D's trunks gets one 3x3, stride-1 convolution of
    the same width after its (transposed) strided one, with the trunk's norm (or the spectral norm of a
    spectral D); depth 1 is the DCGAN trunk, whose state-dict keys (and so the zoo's weights) are unchanged."""
    kw = dict(sample_shape=[1, 28, 28], g_width=8, d_width=8, latent_dim=10, num_classes=3, d_norm="spectral")
    plain = ganzoo.create("dcgan", "hinge", **kw)
    deep = ganzoo.create("dcgan", "hinge", g_depth=2, d_depth=2, **kw)

    def convs3(module):
        return [(m.in_channels, m.out_channels) for m in module.modules()
                if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]

    assert convs3(plain.generator) == [] and convs3(plain.discriminator) == []
    assert convs3(deep.generator) == [(16, 16), (8, 8)]      # 7x7 at 2*width, 14x14 at width
    assert convs3(deep.discriminator) == [(8, 8), (16, 16)]  # 14x14 at width, 7x7 at 2*width
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in deep.generator.modules()) == 4
    d_convs = [m for m in deep.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(d_convs) == 5 and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in d_convs)
    assert set(ganzoo.create("dcgan", "hinge", g_depth=1, d_depth=1, **kw).generator.state_dict()) == \
        set(plain.generator.state_dict())
    assert "trunk.net.3.weight" in plain.generator.state_dict()  # depth 1: the old layout, ConvTranspose2d at 3
    y = torch.tensor([0, 1, 2, 0])
    x = deep.sample(4, seed=0, y=y)
    assert x.shape == (4, 1, 28, 28) and deep.discriminator(x, y).shape == (4,)
    for size in (8, 32):
        m = ganzoo.create("dcgan", sample_shape=[3, size, size], g_width=8, d_width=8, latent_dim=10, g_depth=3,
                          d_depth=2)
        s = m.sample(2, seed=0)
        assert s.shape == (2, 3, size, size) and m.discriminator(s).shape == (2,)
    deep.discriminator.train()(x, y)
    deep.save(tmp_path / "deep")
    back = ganzoo.load(tmp_path / "deep")
    assert (back.config["g_depth"], back.config["d_depth"]) == (2, 2)
    deep.eval()
    back.eval()
    with torch.no_grad():
        assert torch.equal(back.sample(4, seed=1, y=y), deep.sample(4, seed=1, y=y))
        assert torch.equal(back.discriminator(x, y), deep.discriminator(x, y))
    for key, bad in (("g_depth", 0), ("d_depth", 0)):
        with pytest.raises(ValueError, match=f"{key} must be a whole number >= 1 .*, not {bad!r}"):
            ganzoo.create("dcgan", **{key: bad}, **kw)
    with pytest.raises(ValueError, match="d_depth must be an integer between 0 and 65536, not 1.5"):
        ganzoo.create("dcgan", d_depth=1.5, **kw)


def test_dcgan_conditional_batchnorm_generator(tmp_path):
    """g_norm=conditional: every BatchNorm of G takes its scale and shift from the label, so a class's
    own gains change that class's samples and no other's, and the label steers G even with its
    one-hot input channels zeroed; the model survives a strict save/load."""
    from ganzoo.layers import ConditionalBatchNorm2d

    kw = dict(sample_shape=[1, 28, 28], g_width=8, d_width=8, latent_dim=10, num_classes=3)
    m = ganzoo.create("dcgan", "hinge", g_norm="conditional", d_norm="spectral", **kw)
    g = m.generator
    cbns = [mod for mod in g.modules() if isinstance(mod, ConditionalBatchNorm2d)]
    assert len(cbns) == 2 and not any(isinstance(mod, torch.nn.BatchNorm2d) and mod.affine for mod in g.modules())
    assert all(torch.equal(c.gain.weight, torch.ones_like(c.gain.weight)) for c in cbns)
    z = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    g.train()(z, y)                       # running statistics that are not the initial 0 / 1
    g.eval()
    with torch.no_grad():
        before = g(z, y)
        cbns[1].gain.weight[1].mul_(3.0)
        cbns[1].bias.weight[1].add_(0.5)
        after = g(z, y)
        assert torch.equal(after[y != 1], before[y != 1])
        assert not torch.allclose(after[y == 1], before[y == 1], atol=1e-3)
        g.trunk.net[0].weight[10:].zero_()    # the one-hot input channels: the label still matters
        same_z = z[:1].repeat(3, 1)
        x = g(same_z, torch.tensor([0, 1, 2]))
        assert not torch.allclose(x[0], x[1], atol=1e-3)
    m.save(tmp_path / "cbn")
    back = ganzoo.load(tmp_path / "cbn")
    assert back.config["g_norm"] == "conditional"
    assert torch.equal(back.sample(5, seed=1, y=torch.tensor([0, 1, 2, 1, 0])),
                       m.sample(5, seed=1, y=torch.tensor([0, 1, 2, 1, 0])))
    # a plain G keeps its BatchNorm (and the weights of every earlier DCGAN load as before)
    assert ganzoo.create("dcgan", **kw).config["g_norm"] == "batch"
    with pytest.raises(ValueError, match="g_norm=conditional needs a class-conditional model; add --conditional"):
        ganzoo.create("dcgan", g_norm="conditional", sample_shape=[1, 28, 28])
    with pytest.raises(ValueError, match="unknown g_norm 'cbn'; use batch or conditional"):
        ganzoo.create("dcgan", g_norm="cbn", **kw)


@pytest.mark.parametrize("variant,kwargs", [
    ("mlp", {"sample_shape": [2]}),
    ("mlp", {"sample_shape": [1, 8, 8]}),
    ("vae", {"sample_shape": [1, 8, 8], "arch": "mlp"}),
    ("vae", {"sample_shape": [1, 28, 28], "arch": "conv"}),
    ("ae", {"sample_shape": [1, 8, 8], "arch": "conv"}),
    ("ae", {"sample_shape": [3, 32, 32], "arch": "mlp"}),
])
def test_every_variant_honours_the_contract(variant, kwargs):
    m = ganzoo.create(variant, **kwargs)
    shape = tuple(kwargs["sample_shape"])
    x = m.sample(4, seed=1)
    assert x.shape == (4, *shape) and m.sample_shape == shape
    assert torch.equal(x, m.sample(4, seed=1))               # same seed, same samples
    assert not torch.equal(x, m.sample(4, seed=2))
    if m.discriminator is not None:
        assert m.discriminator(x).shape == (4,)
    if m.encoder is not None:
        out = m.encoder(x)
        if variant == "vae":
            mu, logvar = out
            assert mu.shape == logvar.shape == (4, m.latent_dim)
        else:
            assert out.shape == (4, m.latent_dim)
        assert m.encode(x).shape == (4, m.latent_dim)        # encoder as feature extractor
        assert 0 <= x.min() and x.max() <= 1                  # decoder means are probabilities


def test_class_conditioning_is_part_of_the_contract():
    m = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=8, d_width=8, num_classes=10)
    x3 = m.sample(4, seed=0, y=3)
    x7 = m.sample(4, seed=0, y=7)
    assert not torch.allclose(x3, x7)                          # the label changes the sample
    assert m.discriminator(x3, torch.full((4,), 3)).shape == (4,)
    with pytest.raises(ConfigError, match="conditional"):
        m.generator.sample(2, seed=0)                          # a generator needs labels; Model.sample draws them
    # labels are checked by the public Component.check_labels; its errors are ConfigErrors (ValueErrors)
    with pytest.raises(ConfigError, match="conditional on 10 classes; pass labels y"):
        m.generator(m.generator.sample_latent(2))
    with pytest.raises(ConfigError, match="labels must lie in"):
        m.sample(2, seed=0, y=10)
    with pytest.raises(ConfigError, match=r"labels must have shape \(2,\)"):
        m.discriminator(x3[:2], torch.zeros(3, dtype=torch.long))
    assert torch.equal(m.generator.check_labels([1, 2], 2), torch.tensor([1, 2]))
    u = ganzoo.create("mlp")
    with pytest.raises(ConfigError, match="unconditional"):
        u.generator(torch.zeros(2, u.latent_dim), torch.zeros(2, dtype=torch.long))
    assert u.generator.check_labels(None, 2) is None


def test_sample_pictures_are_drawn_in_one_place():
    from ganzoo import images

    cond = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=8, d_width=8, num_classes=3)
    pic = images.sample_picture(cond, 6)              # one row per class, 6 / 3 = 2 samples each
    want = images.grid(cond.sample_unit(6, seed=0, y=torch.tensor([0, 0, 1, 1, 2, 2])), nrow=2)
    assert pic.size == want.size and pic.height > pic.width and pic.tobytes() == want.tobytes()
    # n not a multiple of the classes is rounded UP, as `ganzoo sample -n` always did: 7 -> 3 of each (it
    # was rounded down to 2 here); without n, 10 of each (the zoo cards' picture, unchanged)
    x = cond.sample_unit(9, seed=1, y=torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2]))
    assert images.sample_picture(cond, 7, seed=1).tobytes() == images.grid(x, nrow=3).tobytes()
    got, per = images.picture_samples(cond, 7, seed=1)
    assert per == 3 and torch.equal(got, x)
    assert images.picture_samples(cond)[1] == 10 and images.class_rows(10, 64)[1] == 7
    cring = ganzoo.create("mlp", num_classes=4)  # a conditional scatter shows the same class-by-class samples
    x, per = images.picture_samples(cring, 10, seed=2)
    assert per == 3 and torch.equal(x, cring.sample_unit(12, seed=2, y=torch.arange(4).repeat_interleave(3)))
    assert images.picture_samples(cond, 5, y=torch.tensor([2] * 5))[1] is None  # labels given: exactly n
    ring = ganzoo.create("mlp")
    assert images.sample_picture(ring, 50).size == (512, 512)
    assert images.sample_picture(ganzoo.create("mlp", sample_shape=[3]), 5) is None
    # rows of different lengths: a short row is padded with blank cells, the next row starts fresh
    a, b = torch.zeros(3, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)
    got = images.grid_rows([a, b], 3, pad=0)
    full = images.grid(torch.cat([a, b, torch.ones(1, 1, 2, 2)]), nrow=3, pad=0)
    assert got.size == full.size == (3 * 2 * 64, 2 * 2 * 64) and got.tobytes() == full.tobytes()


def test_rgb_pictures_keep_red_red(tmp_path, monkeypatch):
    """A pure red image is (255, 0, 0) in every picture ganzoo writes (sample grids, model cards, Hub
    pictures and training samples all go through images.grid and save_png); an orange one keeps its order."""
    from PIL import Image

    from ganzoo import images
    from helpers import cli

    x = torch.zeros(2, 3, 4, 4)
    x[:, 0] = 1.0                      # red
    x[1, 1] = 0.5                      # orange: R 1, G 0.5, B 0
    img = images.grid(x, nrow=2, pad=0, scale=1)
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (255, 0, 0) and img.getpixel((4, 0)) == (255, 128, 0)
    images.save_png(img, tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as back:
        assert back.convert("RGB").getpixel((1, 1)) == (255, 0, 0) and back.convert("RGB").getpixel((5, 1)) == (255, 128, 0)
    # end to end: an RGB model whose generator makes red (tanh range: R = 1, G = B = -1)
    m = ganzoo.create("dcgan", sample_shape=[3, 8, 8], g_width=4, d_width=4, latent_dim=4)
    m.save(tmp_path / "red")
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)
    monkeypatch.setattr(type(m.generator), "forward", lambda self, z, y=None: red.expand(len(z), 3, 8, 8))
    assert cli("sample", tmp_path / "red", "-n", "4", "-o", tmp_path / "s.png").code == 0
    with Image.open(tmp_path / "s.png") as pic:
        colours = {c for _, c in pic.convert("RGB").getcolors(maxcolors=16)}
    assert (255, 0, 0) in colours and not colours - {(255, 0, 0), (255, 255, 255)}, colours  # red cells, white padding


@pytest.mark.reliability("input")
def test_create_validates_before_allocating():
    with reliability.refuses("model config (create)", ConfigError, "unknown config key 'latnet_dim'"):
        ganzoo.create("mlp", latnet_dim=3)
    with reliability.refuses("model config (create)", ConfigError, "latent_dim must be an integer between 0 and 65536"):
        ganzoo.create("mlp", latent_dim=10**9)
    with reliability.refuses("model config (create)", ConfigError, "must be an integer"):
        ganzoo.create("mlp", latent_dim="8")
    with reliability.refuses("model config (create)", ConfigError, "does not work with objective 'elbo'"):
        ganzoo.create("dcgan", "elbo")
    with reliability.refuses("model config (create)", NotFoundError, r"^unknown variant 'dcgn'; did you mean 'dcgan'"):
        ganzoo.create("dcgn")
    with reliability.refuses("model config (create)", NotFoundError, r"^unknown objective 'hing'; did you mean 'hinge'"):
        ganzoo.create("mlp", "hing")


def test_objective_can_suggest_variant_defaults():
    assert ganzoo.create("dcgan", "wgan-gp", sample_shape=[1, 8, 8]).config["d_norm"] == "layer"
    assert ganzoo.create("dcgan", "non-saturating", sample_shape=[1, 8, 8]).config["d_norm"] == "batch"
    assert ganzoo.create("dcgan", "wgan-gp", sample_shape=[1, 8, 8], d_norm="none").config["d_norm"] == "none"


def _tiny(tmp_path):
    m = ganzoo.create("dcgan", "hinge", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=5)
    m.save(tmp_path / "m")
    return m, tmp_path / "m"


def test_save_and_load_round_trip(tmp_path):
    m, folder = _tiny(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["variant"] == "dcgan" and cfg["objective"] == "hinge" and cfg["latent_dim"] == 5
    assert cfg["sample_shape"] == [1, 8, 8] and set(cfg["components"]) == {"generator", "discriminator"}
    # a plain safetensors user can read the weights
    assert set(load_file(folder / "generator.safetensors")) == set(m.generator.state_dict())
    m.eval()
    loaded = ganzoo.load(folder)
    assert torch.equal(loaded.sample(6, seed=3), m.sample(6, seed=3))
    for k, v in m.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    g_only = ganzoo.load(folder, components=["generator"])
    assert g_only.discriminator is None and torch.equal(g_only.sample(2, seed=0), m.sample(2, seed=0))


def test_no_temp_files_left_behind(tmp_path):
    _, folder = _tiny(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "discriminator.safetensors",
                                                      "generator.safetensors"]


@pytest.mark.reliability("input")
def test_strict_loading_names_the_tensor(tmp_path):
    _, folder = _tiny(tmp_path)
    path = folder / "generator.safetensors"
    good = load_file(path)
    key = sorted(good)[0]

    def write(tensors):
        save_file(tensors, path)

    write({k: v for k, v in good.items() if k != key})
    with reliability.refuses("safetensors (wrong tensor)", WeightsError, f"tensor '{key}' is missing"):
        ganzoo.load(folder)
    write({**good, "extra.weight": torch.zeros(1)})
    with reliability.refuses("safetensors (wrong tensor)", WeightsError, "unexpected tensor 'extra.weight'"):
        ganzoo.load(folder)
    write({**good, key: torch.zeros(3, 3)})
    with reliability.refuses("safetensors (wrong tensor)", WeightsError, f"tensor '{key}' has shape"):
        ganzoo.load(folder)
    write({**good, key: good[key].double()})
    with reliability.refuses("safetensors (wrong tensor)", WeightsError, f"tensor '{key}' has dtype F64"):
        ganzoo.load(folder)
    bad = dict(good)
    bad[key] = good[key].clone()
    bad[key].view(-1)[0] = float("nan")
    write(bad)
    with reliability.refuses("safetensors (wrong tensor)", WeightsError, f"tensor '{key}' contains NaN"):
        ganzoo.load(folder)


@pytest.mark.reliability("input")
def test_corrupt_and_truncated_files(tmp_path):
    _, folder = _tiny(tmp_path)
    path = folder / "generator.safetensors"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with reliability.refuses("safetensors (corrupt/truncated)", WeightsError, "truncated|outside the file"):
        ganzoo.load(folder)
    path.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with reliability.refuses("safetensors (corrupt/truncated)", WeightsError, "corrupt safetensors header"):
        ganzoo.load(folder)
    path.write_bytes((5).to_bytes(8, "little") + b"nope!")
    with reliability.refuses("safetensors (corrupt/truncated)", WeightsError, "not JSON"):
        ganzoo.load(folder)
    path.write_bytes(b"abc")
    with reliability.refuses("safetensors (corrupt/truncated)", WeightsError, "too short"):
        ganzoo.load(folder)


@pytest.mark.reliability("input")
def test_bad_config_json(tmp_path):
    _, folder = _tiny(tmp_path)
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text())
    at = "^" + re.escape(str(cfg_path)) + ": "
    for mutate, cls, msg in [
        (lambda c: c.update(surprise=1), ConfigError, at + "unknown key 'surprise'$"),
        (lambda c: c.pop("variant"), ConfigError, at + "missing key 'variant'; is this a ganzoo model folder"),
        (lambda c: c["config"].update(latent_dim=10**9), ConfigError,
         "^variant 'dcgan': latent_dim must be an integer between 0 and 65536, not 1000000000$"),
        (lambda c: c.update(variant="nosuch"), NotFoundError, "^unknown variant 'nosuch'"),
        (lambda c: c["components"]["generator"].update(file="../../etc/passwd"), ConfigError,
         at + r"component 'generator' names a bad file '\.\./\.\./etc/passwd'$"),
    ]:
        c = json.loads(json.dumps(cfg))
        mutate(c)
        cfg_path.write_text(json.dumps(c))
        with reliability.refuses("config.json", cls, msg) as info:
            ganzoo.load(folder)
        assert type(info.value) is cls
    cfg_path.write_text("{not json")
    with reliability.refuses("config.json", ConfigError, "not valid JSON"):
        ganzoo.load(folder)
