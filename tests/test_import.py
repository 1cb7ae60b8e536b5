"""``ganzoo import``: pytorch/examples DCGAN checkpoints and PyTorchModelHubMixin folders / hf:// repos
become ordinary model folders whose generator computes exactly what the source network computed.

The reference files are written by the reference code itself (tests/interop_fixtures.py: the examples'
classes as in dcgan/main.py, huggan's mixin class, ``save_pretrained``), never hand-made."""

import hashlib
import json
import re

import numpy as np
import pytest
import torch

import ganzoo
from helpers import cli
from interop_fixtures import MixinGenerator, NzMixinGenerator, examples_networks, trained_like

pytestmark = pytest.mark.usefixtures("one_thread")


def examples_checkpoints(folder, nz=100, ngf=64, ndf=64, nc=3, **save):
    """netG_epoch_24.pth and netD_epoch_24.pth as dcgan/main.py saves them; the networks too."""
    Generator, Discriminator = examples_networks(nz, ngf, ndf, nc)
    net_g, net_d = trained_like(Generator(1), Discriminator(1), nz)
    torch.save(net_g.state_dict(), folder / "netG_epoch_24.pth", **save)
    torch.save(net_d.state_dict(), folder / "netD_epoch_24.pth", **save)
    return net_g, net_d


@pytest.mark.parametrize("nc", [1, 3])
def test_examples_generator_and_discriminator_import_exactly(tmp_path, nc):
    net_g, net_d = examples_checkpoints(tmp_path, nz=24, ngf=8, ndf=8, nc=nc)
    code, out, err = cli("import", tmp_path / "netG_epoch_24.pth", "--discriminator", tmp_path / "netD_epoch_24.pth",
                         "-o", tmp_path / "m")
    assert code == 0, err
    model = ganzoo.load(tmp_path / "m")
    assert model.variant == "dcgan" and model.objective == "non-saturating"
    assert model.sample_shape == (nc, 64, 64) and model.latent_dim == 24 and model.config["g_width"] == 8
    z = torch.randn(7, 24)
    with torch.no_grad():
        want = net_g(z.view(7, 24, 1, 1))
        assert (model.generator(z) - want).abs().max() <= 1e-5
        # ganzoo's D gives the logit the examples' Sigmoid took
        assert (torch.sigmoid(model.discriminator(want)) - net_d(want)).abs().max() <= 1e-5
    # what `ganzoo sample` writes: the source's tanh output mapped to [0, 1], for the seed's z
    code, _, err = cli("sample", tmp_path / "m", "-n", "5", "--seed", "3", "-o", tmp_path / "s.npy")
    assert code == 0, err
    z3 = model.generator.sample_latent(5, seed=3)
    with torch.no_grad():
        source_unit = (net_g(z3.view(5, 24, 1, 1)) + 1) / 2
    assert np.abs(np.load(tmp_path / "s.npy") - source_unit.numpy()).max() <= 1e-5


def test_the_card_names_the_source_its_sha256_and_the_mapping(tmp_path):
    examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=1)
    out = ganzoo.import_model(tmp_path / "netG_epoch_24.pth", tmp_path / "m")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "generator.safetensors"]
    card = (out / "README.md").read_text()
    digest = hashlib.sha256((tmp_path / "netG_epoch_24.pth").read_bytes()).hexdigest()
    assert f"`netG_epoch_24.pth`: sha256 `{digest}`" in card
    assert "format `pytorch-examples`" in card and str(tmp_path / "netG_epoch_24.pth") in card
    assert "| `head.0.weight` | `main.12.weight` |" in card and "| `trunk.net.4.running_var` | `main.4.running_var` |" in card
    assert "latent_dim = 8 (nz): `main.0.weight` has 8 input channels" in card
    assert f"ganzoo train dcgan --init {out}" in card
    record = json.loads((out / "config.json").read_text())["training"]
    assert record["source_sha256"] == {"netG_epoch_24.pth": digest} and record["import_format"] == "pytorch-examples"


def test_old_torch_files_import_too(tmp_path):
    """Before torch 1.6 the examples saved the legacy (non-zip) format; before 0.4.1 BatchNorm had no
    num_batches_tracked. Both import, to the same outputs."""
    net_g, _ = examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=3, _use_new_zipfile_serialization=False)
    state = {k: v for k, v in torch.load(tmp_path / "netG_epoch_24.pth").items() if "num_batches" not in k}
    torch.save(state, tmp_path / "older.pth", _use_new_zipfile_serialization=False)
    z = torch.randn(3, 8)
    for name in ("netG_epoch_24.pth", "older.pth"):
        model = ganzoo.load(ganzoo.import_model(tmp_path / name, tmp_path / f"m-{name}"))
        with torch.no_grad():
            assert (model.generator(z) - net_g(z.view(3, 8, 1, 1))).abs().max() <= 1e-5
    assert "4 BatchNorm counters (num_batches_tracked" in (tmp_path / "m-older.pth" / "README.md").read_text()


def test_wrapped_and_combined_checkpoints(tmp_path):
    """nn.DataParallel's 'module.' prefix and a {'netG': ..., 'netD': ...} dict import without flags."""
    net_g, net_d = examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=1)
    g_state = torch.load(tmp_path / "netG_epoch_24.pth")
    torch.save({f"module.{k}": v for k, v in g_state.items()}, tmp_path / "dp.pth")
    torch.save({"netG": g_state, "netD": torch.load(tmp_path / "netD_epoch_24.pth")}, tmp_path / "both.pth")
    z = torch.randn(2, 8)
    with torch.no_grad():
        want = net_g(z.view(2, 8, 1, 1))
    dp = ganzoo.load(ganzoo.import_model(tmp_path / "dp.pth", tmp_path / "dp"))
    both = ganzoo.load(ganzoo.import_model(tmp_path / "both.pth", tmp_path / "both"))
    assert sorted(both.components) == ["discriminator", "generator"]
    with torch.no_grad():
        assert (dp.generator(z) - want).abs().max() <= 1e-5 and (both.generator(z) - want).abs().max() <= 1e-5
        assert (torch.sigmoid(both.discriminator(want)) - net_d(want)).abs().max() <= 1e-5
    only_g = ganzoo.load(ganzoo.import_model(tmp_path / "both.pth", tmp_path / "g", key="netG"))
    assert list(only_g.components) == ["generator"]


def test_export_pytorch_examples_round_trip(tmp_path):
    """ganzoo -> netG.pth / netD.pth that the examples' classes load strictly, with equal outputs."""
    model = ganzoo.create("dcgan", sample_shape=[3, 64, 64], latent_dim=16, g_width=4, d_width=4)
    model.eval()
    model.save(tmp_path / "m")
    code, out, err = cli("export", tmp_path / "m", "--format", "pytorch-examples", "-o", tmp_path / "netG.pth")
    assert code == 0, err
    assert "nz=16, ngf=4, nc=3" in out
    ganzoo.export_model(tmp_path / "m", tmp_path / "netD.pth", format="pytorch-examples", component="discriminator")
    Generator, Discriminator = examples_networks(16, 4, 4, 3)
    net_g, net_d = Generator(1), Discriminator(1)
    net_g.load_state_dict(torch.load(tmp_path / "netG.pth", weights_only=True))   # strict
    net_d.load_state_dict(torch.load(tmp_path / "netD.pth", weights_only=True))
    net_g.eval(), net_d.eval()
    loaded = ganzoo.load(tmp_path / "m")
    z = torch.randn(4, 16)
    with torch.no_grad():
        x = loaded.generator(z)
        assert torch.equal(net_g(z.view(4, 16, 1, 1)), x)
        assert (net_d(x) - torch.sigmoid(loaded.discriminator(x))).abs().max() <= 1e-6
    # and back again: the exported file imports to the same generator
    again = ganzoo.load(ganzoo.import_model(tmp_path / "netG.pth", tmp_path / "again"))
    with torch.no_grad():
        assert torch.equal(again.generator(z), x)


@pytest.mark.parametrize("make,why", [
    (lambda: ganzoo.create("mlp"), "it holds the DCGAN of pytorch/examples; 'mlp' is another network"),
    (lambda: ganzoo.create("dcgan", num_classes=10), "the examples' networks take no class labels"),
    (lambda: ganzoo.create("dcgan"), "the examples' G works on 64x64 images; this model's are 28x28"),
    (lambda: ganzoo.create("dcgan", sample_shape=[1, 64, 64], g_depth=2), "one BatchNorm'd transposed convolution"),
])
def test_pytorch_examples_export_says_why_it_cannot(tmp_path, make, why):
    with pytest.raises(ganzoo.errors.IncompatibleError, match=f"cannot write .* as pytorch-examples: .*{why}"):
        ganzoo.export_model(make(), tmp_path / "netG.pth", format="pytorch-examples")
    assert list(tmp_path.iterdir()) == []


# -- PyTorchModelHubMixin folders and hf:// repos ------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", [
    (MixinGenerator, {"num_channels": 1, "latent_dim": 12, "hidden_size": 4}),
    (MixinGenerator, {"num_channels": 3, "latent_dim": 12, "hidden_size": 4}),
    (NzMixinGenerator, {"nc": 3, "nz": 12, "ngf": 4}),
])
def test_mixin_folder_imports_exactly(tmp_path, cls, kwargs):
    net = cls(**kwargs)
    trained_like(net, torch.nn.Identity(), 12)
    net.save_pretrained(tmp_path / "repo")
    assert {"config.json", "model.safetensors"} <= {p.name for p in (tmp_path / "repo").iterdir()}
    code, _, err = cli("import", tmp_path / "repo", "-o", tmp_path / "m")
    assert code == 0, err
    model = ganzoo.load(tmp_path / "m")
    nc = kwargs.get("num_channels", kwargs.get("nc"))
    assert model.sample_shape == (nc, 64, 64)
    z = torch.randn(5, 12)
    with torch.no_grad():
        assert (model.generator(z) - net(z.view(5, 12, 1, 1))).abs().max() <= 1e-5
    card = (tmp_path / "m" / "README.md").read_text()
    first = "latent_dim" if cls is MixinGenerator else "nz"
    assert f"latent size 12: config.json `{first}`, agreeing with" in card and "format `hub-mixin`" in card


@pytest.mark.reliability("input")
def test_mixin_config_that_disagrees_or_is_ambiguous_is_refused_naming_the_keys(tmp_path):
    import reliability

    net = MixinGenerator(num_channels=1, latent_dim=12, hidden_size=4)
    net.save_pretrained(tmp_path / "repo")
    cfg = tmp_path / "repo" / "config.json"
    cases = [({"latent_dim": 16, "num_channels": 1, "hidden_size": 4},
              r"config\.json says latent_dim=16 but tensor 'model\.0\.weight' has 12 input channels"),
             ({"latent_dim": 12, "nz": 10, "num_channels": 1},
              r"gives the latent size twice \(nz=10, latent_dim=12\); expected one of nz, latent_dim, z_dim"),
             ({"latent_dim": "12"}, r"latent_dim \(latent size\) must be a whole number, not '12'")]
    for i, (config, match) in enumerate(cases):
        cfg.write_text(json.dumps(config))
        with reliability.refuses("Hub mixin config.json", ganzoo.errors.GanzooError, match):
            ganzoo.import_model(tmp_path / "repo", tmp_path / f"out{i}")
        assert not (tmp_path / f"out{i}").exists()


def test_mixin_folder_of_another_network_says_what_it_expected(tmp_path):
    from huggingface_hub import PyTorchModelHubMixin

    class Other(torch.nn.Module, PyTorchModelHubMixin):
        def __init__(self, latent_dim=4):
            super().__init__()
            self.fc = torch.nn.Linear(latent_dim, 8)

    Other(latent_dim=4).save_pretrained(tmp_path / "repo")
    code, _, err = cli("import", tmp_path / "repo", "-o", tmp_path / "m")
    assert code == 1
    assert "not the DCGAN generator hub-mixin reads (2 tensors (fc.bias, fc.weight)); expected config.json keys " \
           "(latent size: nz/latent_dim/z_dim" in err


def test_hf_repo_imports_from_the_hub_at_a_revision(tmp_path, hub):
    """A repo as PyTorchModelHubMixin.push_to_hub leaves it (here: the files save_pretrained writes) and an
    old huggan-style repo with pytorch_model.bin, read with weights_only."""
    net = MixinGenerator(num_channels=3, latent_dim=12, hidden_size=4)
    trained_like(net, torch.nn.Identity(), 12)
    net.save_pretrained(tmp_path / "repo")
    files = {p.name: p.read_bytes() for p in (tmp_path / "repo").iterdir()}
    first = hub.add_files("huggan/dcgan-test", files)
    hub.add_files("huggan/dcgan-test", {"config.json": b'{"latent_dim": 99}'})   # a later, broken commit
    z = torch.randn(3, 12)
    with torch.no_grad():
        want = net(z.view(3, 12, 1, 1))
    model = ganzoo.load(ganzoo.import_model(f"hf://huggan/dcgan-test@{first}", tmp_path / "m"))
    with torch.no_grad():
        assert (model.generator(z) - want).abs().max() <= 1e-5
    card = (tmp_path / "m" / "README.md").read_text()
    assert f"from `hf://huggan/dcgan-test@{first}` at commit `{first}`" in card
    code, _, err = cli("import", "hf://huggan/dcgan-test", "-o", tmp_path / "latest")   # main: the broken one
    assert code == 1 and "config.json says latent_dim=99 but tensor 'model.0.weight' has 12 input channels" in err
    bin_files = {"config.json": files["config.json"], "pytorch_model.bin": _bin(net)}
    hub.add_files("huggan/old-dcgan", bin_files)
    old = ganzoo.load(ganzoo.import_model("hf://huggan/old-dcgan", tmp_path / "old"))
    with torch.no_grad():
        assert (old.generator(z) - want).abs().max() <= 1e-5


def _bin(module) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getvalue()


def test_state_dict_format_replaces_import_legacy(tmp_path):
    m = ganzoo.create("mlp", g_hidden=[8], d_hidden=[8])
    torch.save({"netG": m.generator.state_dict()}, tmp_path / "old.pth")
    code, _, err = cli("import", tmp_path / "old.pth", "--format", "state-dict", "--variant", "mlp", "--key", "netG",
                       "--set", "g_hidden=[8]", "--set", "d_hidden=[8]", "-o", tmp_path / "new")
    assert code == 0, err
    m.eval()
    assert torch.equal(ganzoo.load(tmp_path / "new").sample(4, seed=0), m.sample(4, seed=0))
    code, out, err = cli("import-legacy", tmp_path / "old.pth", "--variant", "mlp", "--key", "netG",
                         "--set", "g_hidden=[8]", "--set", "d_hidden=[8]", "-o", tmp_path / "legacy")
    assert code == 0 and err.startswith("ganzoo: note: import-legacy is deprecated") and len(err.splitlines()) == 1
    assert torch.equal(ganzoo.load(tmp_path / "legacy").sample(4, seed=0), m.sample(4, seed=0))


def test_import_legacy_on_an_examples_file_points_to_import(tmp_path):
    """The issue's report: import-legacy on a real examples state dict failed with 'tensor head.0.weight is
    missing'; now the line says which format it is and the command that reads it."""
    examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=3)
    code, _, err = cli("import-legacy", tmp_path / "netG_epoch_24.pth", "--variant", "dcgan",
                       "--set", "sample_shape=[3,64,64]", "-o", tmp_path / "m")
    assert code == 1 and not (tmp_path / "m").exists()
    assert "it is a pytorch-examples checkpoint, which `ganzoo import" in err.splitlines()[-1]


def test_an_unknown_file_names_the_formats_and_what_it_holds(tmp_path):
    torch.save({"encoder.fc.weight": torch.zeros(2, 2)}, tmp_path / "x.pth")
    code, _, err = cli("import", tmp_path / "x.pth", "-o", tmp_path / "m")
    assert code == 1
    assert "no importer recognises it (1 tensors (encoder.fc.weight)); formats: hub-mixin, pytorch-examples" in err
    code, _, err = cli("import", tmp_path / "x.pth", "--format", "onnx", "-o", tmp_path / "m")
    assert code == 1 and "format 'onnx' cannot import; formats that import: hub-mixin, pytorch-examples" in err


def test_an_imported_model_fine_tunes_with_init(tmp_path):
    """`ganzoo train dcgan --init DIR`: the run starts from exactly the imported weights, G and D."""
    from PIL import Image

    from ganzoo.training import TrainConfig, Trainer

    examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=3)
    folder = ganzoo.import_model(tmp_path / "netG_epoch_24.pth", tmp_path / "m",
                                 discriminator=tmp_path / "netD_epoch_24.pth")
    (tmp_path / "faces").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "faces" / f"{i}.png")
    imported = ganzoo.load(folder)
    t = Trainer(TrainConfig(variant="dcgan", init=str(folder), data=f"folder:{tmp_path / 'faces'}",
                            out=str(tmp_path / "t"), steps=1, batch_size=4)).setup()
    assert t.config.objective == "non-saturating"
    for name in ("generator", "discriminator"):
        a, b = t.model.components[name].state_dict(), imported.components[name].state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    code, _, err = cli("train", "dcgan", "--init", folder, "--data", f"folder:{tmp_path / 'faces'}", "--out",
                       tmp_path / "run", "--steps", "2", "--batch-size", "4", "--no-progress")
    assert code == 0, err
    tuned = ganzoo.load(tmp_path / "run")
    assert tuned.sample_shape == (3, 64, 64)
    assert not torch.equal(tuned.generator.state_dict()["head.0.weight"], imported.generator.state_dict()["head.0.weight"])


@pytest.mark.reliability("fault")
def test_hub_faults_during_an_hf_import(tmp_path, hub, monkeypatch):
    """5xx answers and a cut-off download are retried to the same model; a Hub that stays down is one line,
    no folder, and a sound cache."""
    import reliability

    net = MixinGenerator(num_channels=1, latent_dim=12, hidden_size=4).eval()
    net.save_pretrained(tmp_path / "repo")
    hub.add_files("huggan/faulty", {p.name: p.read_bytes() for p in (tmp_path / "repo").iterdir()})
    z = torch.randn(2, 12)
    with torch.no_grad():
        want = net(z.view(2, 12, 1, 1))
    for i, arm in enumerate([lambda: hub.fail(2, status=503), lambda: hub.cut(1, match="model.safetensors")]):
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / f"cache{i}"))
        hub.reset()
        arm()
        model = ganzoo.load(ganzoo.import_model("hf://huggan/faulty", tmp_path / f"m{i}"))
        with torch.no_grad():
            assert (model.generator(z) - want).abs().max() <= 1e-5
        reliability.check_hf_cache(tmp_path / f"cache{i}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache-down"))
    hub.reset()
    hub.fail(1000, status=500)
    code, _, err = cli("import", "hf://huggan/faulty", "-o", tmp_path / "down")
    assert code == 1 and len(err.splitlines()) == 1 and "HTTP 500" in err and "gave up after 3 tries" in err, err
    assert not (tmp_path / "down").exists()
    reliability.check_hf_cache(tmp_path / "cache-down")


THIRD_PARTY = """
from ganzoo import hookimpl, FormatSpec

@hookimpl
def register_formats(register):
    register(FormatSpec("tp-keras-ish", "a third party's own names", importer="tp_format:Flat",
                        exporter="tp_format:Npz"))
    register(FormatSpec("tp-broken", "a sniff that raises", importer="tp_format:Broken"))


class Flat:
    '''{"dense_0/kernel": (in, out), "dense_0/bias": ..., "dense_1/...": ...} onto mlp's generator.'''

    def sniff(self, source):
        return source.config is None and all(k.startswith("dense_") for k in source.tensors)

    def plan(self, source, request):
        from ganzoo.interop import ImportPlan

        k0 = source.tensors["dense_0/kernel"]
        hidden = [int(k0.shape[1])]
        last = source.tensors["dense_1/kernel"]
        keys = {"net.0.weight": k0.t().contiguous(), "net.0.bias": "dense_0/bias",
                "net.2.weight": last.t().contiguous(), "net.2.bias": "dense_1/bias"}
        config = {"sample_shape": [int(last.shape[1])], "latent_dim": int(k0.shape[0]), "g_hidden": hidden,
                  "d_hidden": [8]}
        return ImportPlan("mlp", config, {"generator": keys}, ignored=("dense_0/kernel", "dense_1/kernel"),
                          notes=["kernels transposed: (in, out) -> (out, in)"])


class Npz:
    suffix = ".npz"

    def export(self, model, path, *, component):
        import numpy as np

        with open(path, "wb") as fh:
            np.savez(fh, **{k: v.numpy() for k, v in model.components[component].state_dict().items()})
        return f"{len(model.components[component].state_dict())} arrays"


class Broken:
    def sniff(self, source):
        raise KeyError("oops")
"""


def test_a_third_party_format_plugs_in_without_editing_ganzoo(tmp_path, monkeypatch):
    """A format from an installed distribution: recognised by its sniff, its computed tensors and ignored
    names honoured, exported through `ganzoo export --format`; a sniff that raises is reported by its
    plugin's name and the other formats still answer."""
    from ganzoo import plugins
    from test_plugins import make_dist

    monkeypatch.syspath_prepend(str(tmp_path))
    make_dist(tmp_path, "ganzoo-tp-format", "tp-format", "tp_format", THIRD_PARTY)
    plugins.reset()
    try:
        ref = ganzoo.create("mlp", sample_shape=[2], latent_dim=3, g_hidden=[5], d_hidden=[8]).eval()
        sd = ref.generator.state_dict()
        torch.save({"dense_0/kernel": sd["net.0.weight"].t(), "dense_0/bias": sd["net.0.bias"],
                    "dense_1/kernel": sd["net.2.weight"].t(), "dense_1/bias": sd["net.2.bias"]}, tmp_path / "k.pt")
        code, out, _ = cli("list", "--formats")
        assert re.search(r"tp-keras-ish +import,export +tp-format", out), out
        code, _, err = cli("import", tmp_path / "k.pt", "-o", tmp_path / "m")   # recognised by tp-keras-ish
        assert code == 0, err
        assert err == "ganzoo: warning: format 'tp-broken' (tp-format): sniff failed: KeyError: 'oops'; skipped\n"
        model = ganzoo.load(tmp_path / "m")
        assert torch.equal(model.sample(6, seed=1), ref.sample(6, seed=1))
        assert "| `net.0.weight` | (computed by the importer) |" in (tmp_path / "m" / "README.md").read_text()
        code, out, err = cli("export", tmp_path / "m", "--format", "tp-keras-ish", "-o", tmp_path / "g.npz")
        assert code == 0 and out.strip() == f"wrote {tmp_path / 'g.npz'}: 4 arrays", err
        assert np.load(tmp_path / "g.npz")["net.2.bias"].shape == (2,)
    finally:
        plugins.reset()
        import sys

        sys.modules.pop("tp_format", None)


def test_an_imported_model_pushes_and_loads_back_with_its_card(tmp_path, hub, monkeypatch):
    examples_checkpoints(tmp_path, nz=8, ngf=4, ndf=4, nc=1)
    folder = ganzoo.import_model(tmp_path / "netG_epoch_24.pth", tmp_path / "m")
    monkeypatch.setenv("HF_TOKEN", hub.token)
    code, _, err = cli("push", folder, "me/imported-dcgan")
    assert code == 0, err
    monkeypatch.delenv("HF_TOKEN")
    back = ganzoo.load("hf://me/imported-dcgan")
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert torch.equal(back.generator(z), ganzoo.load(folder).generator(z))
    card = hub.repos["me/imported-dcgan"].commits[hub.repos["me/imported-dcgan"].branches["main"]]["files"]["README.md"]
    assert b"## Source" in card[0] and b"format `pytorch-examples`" in card[0]
