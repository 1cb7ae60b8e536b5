"""``ganzoo export --format onnx``: every registered variant's components run in onnxruntime with torch's
numbers (within 1e-4), with the documented inputs, outputs and a dynamic batch.

The variants are enumerated from the registry, so a variant added later is exported by this test or
fails it; one that cannot export must be listed in CANNOT_EXPORT with the reason the exporter gives.
The comparison here is the test's own (onnxruntime on fresh inputs), not the exporter's self-check."""

import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import ganzoo
from ganzoo.interfaces import Generator, discriminator_output
from ganzoo.sampling import SamplingOption
from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")

TOLERANCE = 1e-4
#: (variant, component) -> regex of the exporter's reason: what cannot be exported, and why.
CANNOT_EXPORT: dict = {("vqvae", "prior"): "vqvae's prior has none to trace .a prior draws its latents step by step."}


#: configs beside the defaults whose graphs differ in kind: PacGAN's grouped batch axis, conditional
#: BatchNorm, a Gaussian-mixture latent, an auxiliary classifier's second output, a k-sparse code (for variants
#: registered)
EXTRA = {"dcgan": [{"pack": 2, "d_norm": "spectral"}, {"num_classes": 3, "g_norm": "conditional"}],
         "mlp": [{"mixture": 4, "latent_dim": 2, "pack": 2}],
         "resnet": [{"num_classes": 3, "d_label": "acgan"}],
         "ae": [{"hidden": [], "latent_dim": 32, "topk": 4}]}


def builds(variant):
    """The configs a variant is exported in: its defaults, class-conditional where it has classes, EXTRA."""
    defaults = ganzoo.plugins.get_registry().variant(variant).defaults
    yield {}
    if "num_classes" in defaults:
        yield {"num_classes": 3}
    yield from EXTRA.get(variant, [])


CASES = [(v, json.dumps(c)) for v in ganzoo.list_variants() for c in builds(v)]


def onnx_run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session, session.run(None, {k: v.numpy() for k, v in feeds.items()})


def torch_run(model, component, feeds):
    comp = model.components[component]
    with torch.no_grad():
        if component == "encoder":
            out = comp(*feeds.values())   # x, and y for a conditional encoder
            return list(out) if isinstance(out, tuple) else [out]
        out = comp(*feeds.values())
        if component == "generator":
            return [out]
        d = discriminator_output(out)
        return [t for t in (d.score, d.class_logits, d.q) if t is not None]


def feeds_for(model, component, n):
    comp = model.components[component]
    g = torch.Generator().manual_seed(n)
    feeds = {"z": comp.sample_latent(n, seed=n)} if component == "generator" else \
        {"x": torch.rand(n, *model.sample_shape, generator=g) * 2 - 1}
    if comp.num_classes and (component != "encoder" or comp.conditional):
        feeds["y"] = torch.randint(0, comp.num_classes, (n,), generator=g)
    return feeds


@pytest.mark.slow
@pytest.mark.parametrize("variant,config", CASES)
def test_every_variant_exports_each_component_to_onnx(tmp_path, variant, config):
    model = ganzoo.create(variant, **json.loads(config)).eval()
    for component in model.components:
        path = tmp_path / f"{component}.onnx"
        if (variant, component) in CANNOT_EXPORT:
            with pytest.raises(ganzoo.errors.IncompatibleError, match=CANNOT_EXPORT[variant, component]):
                ganzoo.export_model(model, path, component=component)
            continue
        ganzoo.export_model(model, path, component=component)
        comp = model.components[component]
        if component == "generator" and type(comp).generate is not Generator.generate \
                and "truncation" in comp.sampling_options:  # a style model: truncation fixed in the graph
            ganzoo.export_model(model, tmp_path / "psi.onnx", sampling={"truncation": 0.7})
            feeds = feeds_for(model, component, 3)
            _, got = onnx_run(tmp_path / "psi.onnx", feeds)
            with torch.no_grad():
                want = comp.generate(*feeds.values(), truncation=0.7)
            assert np.abs(got[0] - want.numpy()).max() <= TOLERANCE, (variant, "truncation 0.7")
        pack = getattr(comp, "pack", 1) if component == "discriminator" else 1
        for n in (pack, 5 * pack):  # batch sizes the export never saw
            feeds = feeds_for(model, component, n)
            session, got = onnx_run(path, feeds)
            want = torch_run(model, component, feeds)
            assert [i.name for i in session.get_inputs()] == list(feeds)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert g.shape == tuple(w.shape) and g.dtype == np.float32
                assert np.abs(g - w.numpy()).max() <= TOLERANCE, (variant, component, n)


def test_onnx_contract_inputs_outputs_metadata(tmp_path):
    """Names, dtypes, a symbolic batch axis, the opset and the metadata; y (N,) int64 for a conditional G."""
    model = ganzoo.create("dcgan", sample_shape=[1, 16, 16], latent_dim=6, g_width=4, d_width=4, num_classes=4,
                          g_norm="conditional").eval()
    code, out, err = cli("export", save(model, tmp_path), "-o", tmp_path / "G.onnx")
    assert code == 0, err
    assert "dcgan's generator as ONNX (opset 18): z (N, 6) float32, y (N,) int64 -> x (N, 1, 16, 16)" in out
    proto = onnx.load(str(tmp_path / "G.onnx"))
    assert [(o.domain, o.version) for o in proto.opset_import if o.domain == ""] == [("", 18)]

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    ins = {i.name: (i.type.tensor_type.elem_type, dims(i)) for i in proto.graph.input}
    assert ins == {"z": (onnx.TensorProto.FLOAT, ["N", 6]), "y": (onnx.TensorProto.INT64, ["N"])}
    assert [(o.name, dims(o)) for o in proto.graph.output] == [("x", ["N", 1, 16, 16])]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["ganzoo.variant"] == "dcgan" and json.loads(meta["ganzoo.output_range"]) == [-1.0, 1.0]
    assert meta["ganzoo.latent_dim"] == "6" and meta["ganzoo.num_classes"] == "4"
    feeds = feeds_for(model, "generator", 9)
    _, got = onnx_run(tmp_path / "G.onnx", feeds)
    assert np.abs(got[0] - torch_run(model, "generator", feeds)[0].numpy()).max() <= TOLERANCE


def save(model, tmp_path):
    model.save(tmp_path / "m")
    return tmp_path / "m"


class ToyStyleG(ganzoo.Generator):
    """A mapping network z -> w and a synthesis w -> x, truncated in w like StyleGAN:
    w = w_avg + psi (w - w_avg), declared as its truncation option and applied in generate."""

    sampling_options = {"truncation": SamplingOption("w = w_avg + psi (w - w_avg)", low=0.0, low_open=True)}

    def __init__(self):
        super().__init__(4, [6], output_range=None)
        self.mapping = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 8))
        self.synthesis = torch.nn.Linear(8, 6)
        self.register_buffer("w_avg", torch.randn(8))

    def forward(self, z, y=None):
        return self.generate(z, y)

    def generate(self, z, y=None, truncation=None, **options):
        w = self.mapping(z)
        if truncation is not None:
            w = self.w_avg + truncation * (w - self.w_avg)
        return self.synthesis(w)


def test_a_style_models_truncation_is_fixed_in_the_graph_and_recorded(tmp_path):
    """Options that act between latent and sample (truncation in w) are exported as a documented fixed psi;
    a generator that truncates its draw of z says the graph's z is the caller's to draw."""
    model = ganzoo.Model(variant="toy-style", objective="non-saturating", config={},
                         components={"generator": ToyStyleG()}).eval()
    text = ganzoo.export_model(model, tmp_path / "psi.onnx", sampling={"truncation": 0.5})
    assert "(opset 18, truncation 0.5 fixed): z (N, 4) float32 -> x (N, 6)" in text
    z = torch.randn(5, 4)
    _, got = onnx_run(tmp_path / "psi.onnx", {"z": z})
    with torch.no_grad():
        want, plain = model.generator.generate(z, truncation=0.5), model.generator(z)
    assert np.abs(got[0] - want.numpy()).max() <= TOLERANCE and np.abs(got[0] - plain.numpy()).max() > 1e-3
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "psi.onnx")).metadata_props}
    assert json.loads(meta["ganzoo.sampling"]) == {"truncation": 0.5}
    with pytest.raises(ganzoo.errors.ConfigError, match="truncation"):
        ganzoo.export_model(model, tmp_path / "bad.onnx", sampling={"truncation": -1})
    plain_model = save(ganzoo.create("mlp"), tmp_path)
    code, _, err = cli("export", plain_model, "--truncation", "0.7", "-o", tmp_path / "G.onnx")
    assert code == 1 and "mlp's generator applies truncation where it draws z (sample_latent), before the " \
                          "graph's input z: draw z that way yourself" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "psi.onnx"]


def test_a_missing_onnx_install_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)   # import onnxruntime -> ImportError
    model = ganzoo.create("mlp")
    with pytest.raises(ganzoo.errors.ConfigError, match=r"ONNX export needs onnx, onnxscript and onnxruntime "
                                                        r"\(onnxruntime is missing\); install them with: "
                                                        r"pip install 'ganzoo\[onnx\]'$"):
        ganzoo.export_model(model, tmp_path / "G.onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_refusals_are_one_line(tmp_path):
    folder = save(ganzoo.create("vae", latent_dim=2), tmp_path)
    for args, match in [
        (["--component", "discriminator", "-o", tmp_path / "D.onnx"], "variant .vae. has no component .discriminator."),
        (["-o", tmp_path / "G.pth"], r"the onnx format writes a \.onnx file; name the output \*\.onnx"),
        (["--format", "hub-mixin", "-o", tmp_path / "x.pth"], "format 'hub-mixin' cannot export; formats that export: "
                                                             "onnx, pytorch-examples"),
        (["-o", tmp_path / "nowhere" / "G.onnx"], "does not exist; create it first"),
    ]:
        code, _, err = cli("export", folder, *args)
        assert code == 1 and len(err.splitlines()) == 1, err
        assert re.search(match, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.slow
def test_zoo_generators_export_with_their_trained_weights(tmp_path):
    """One bundled model per variant and label set: trained weights, not just an initialisation."""
    seen = set()
    for name in ganzoo.list_models():
        entry = ganzoo.model_info(name)
        model = ganzoo.load(name, components=["generator"])
        key = (entry.variant, model.num_classes > 0, model.is_image)
        if key in seen:
            continue
        seen.add(key)
        path = tmp_path / f"{name}.onnx"
        ganzoo.export_model(model, path)
        feeds = feeds_for(model, "generator", 4)
        _, got = onnx_run(path, feeds)
        assert np.abs(got[0] - torch_run(model, "generator", feeds)[0].numpy()).max() <= TOLERANCE, name
    assert len(seen) >= 4


def test_a_component_without_one_forward_pass_says_why(tmp_path):
    """What the exporter says of a component it cannot trace (a learned prior samples step by step)."""
    from ganzoo_plugins.formats.onnx import Onnx

    with pytest.raises(ganzoo.errors.IncompatibleError, match=r"ONNX export traces one forward pass of a generator, "
                       r"discriminator or encoder; vqvae's prior has none to trace .*export the generator"):
        Onnx().export(ganzoo.Model(variant="vqvae", objective="elbo", config={},
                                   components={"generator": ToyStyleG()}), tmp_path / "p.onnx", component="prior")
    assert list(tmp_path.iterdir()) == []
