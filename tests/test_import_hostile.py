"""Hostile and broken files given to ``ganzoo import``: each is refused in one line that names the file
and the tensor or key (counted in the reliability tally), nothing is written, and what a file asks for
is priced before it is spent. Pickles carrying code: tests/test_security.py."""

import pickle
import struct
import zipfile

import pytest
import torch

import ganzoo
import reliability
from ganzoo.errors import ConfigError, NotFoundError, WeightsError
from helpers import cli
from interop_fixtures import MixinGenerator, examples_networks

pytestmark = [pytest.mark.reliability("input"), pytest.mark.usefixtures("one_thread")]

NZ, NGF, NC = 8, 4, 3


@pytest.fixture
def state():
    """A real examples generator's state dict (nz 8, ngf 4, nc 3)."""
    return dict(examples_networks(NZ, NGF, NGF, NC)[0](1).state_dict())


def refused_import(tmp_path, fmt, obj, match, cls=WeightsError, **kwargs):
    """Save ``obj`` as a checkpoint, import it: ``cls`` whose line matches ``match``; no folder written."""
    path = tmp_path / "netG.pth"
    if isinstance(obj, bytes):
        path.write_bytes(obj)
    else:
        torch.save(obj, path)
    with reliability.refuses(fmt, cls, match):
        ganzoo.import_model(path, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_wrong_shape_names_the_source_tensor_and_its_place(tmp_path, state):
    state["main.3.weight"] = torch.zeros(32, 15, 4, 4)
    refused_import(tmp_path, "PyTorch checkpoint (import)", state,
                   r"netG\.pth: tensor 'main\.3\.weight' has shape \(32, 15, 4, 4\); dcgan's generator needs "
                   r"\(32, 16, 4, 4\) for 'trunk\.net\.3\.weight'$")


def test_missing_tensor_is_named(tmp_path, state):
    del state["main.4.running_var"]
    refused_import(tmp_path, "PyTorch checkpoint (import)", state,
                   r"netG\.pth: tensor 'main\.4\.running_var' is missing \(dcgan's generator needs it for "
                   r"'trunk\.net\.4\.running_var'\)")


def test_extra_tensor_is_named(tmp_path, state):
    state["main.0.bias"] = torch.zeros(32)   # a conv with a bias: not the examples' network
    refused_import(tmp_path, "PyTorch checkpoint (import)", state,
                   r"netG\.pth: tensor 'main\.0\.bias' is not part of the network format pytorch-examples recognised "
                   r"\(1 unused\)")


@pytest.mark.parametrize("bad,match", [
    (float("nan"), r"tensor 'main\.6\.weight' contains NaN or infinite values"),
    ("int", r"tensor 'main\.6\.weight' has dtype int64; dcgan's generator needs float32 for 'trunk\.net\.6\.weight'"),
])
def test_bad_values_are_named(tmp_path, state, bad, match):
    w = state["main.6.weight"]
    state["main.6.weight"] = torch.ones_like(w, dtype=torch.long) if bad == "int" else w.clone().fill_(bad)
    refused_import(tmp_path, "PyTorch checkpoint (import)", state, match)


def test_not_a_checkpoint_truncated_or_a_stray_object(tmp_path, state):
    import argparse
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    refused_import(tmp_path, "PyTorch checkpoint (import)", buf.getvalue()[: len(buf.getvalue()) // 2],
                   r"netG\.pth: refused: not a checkpoint of tensors ganzoo can read without running code")
    refused_import(tmp_path, "PyTorch checkpoint (import)", b"\x00" * 64,
                   r"netG\.pth: refused: not a checkpoint of tensors ganzoo can read without running code")
    refused_import(tmp_path, "PyTorch checkpoint (import)", {"state_dict": state, "args": argparse.Namespace(lr=1)},
                   r"refused: the checkpoint holds a pickled Python object \(argparse\.Namespace\), not only tensors")
    refused_import(tmp_path, "PyTorch checkpoint (import)", {"epoch": 3, "name": "x"},
                   r"netG\.pth: holds no tensors; is it a checkpoint\?")
    with reliability.refuses("PyTorch checkpoint (import)", NotFoundError, r"nope\.pth: no such file or folder"):
        ganzoo.import_model(tmp_path / "nope.pth", tmp_path / "out")


def test_legacy_storage_bomb_is_refused_before_torch_allocates_it(tmp_path, state):
    """A 400-byte legacy-format file declaring an 8 GB storage: torch.load would allocate it first."""
    torch.save({"main.0.weight": torch.zeros(3, 4)}, tmp_path / "small.pth", _use_new_zipfile_serialization=False)
    data = (tmp_path / "small.pth").read_bytes()
    at = data.index(b"K\x0c", data.index(b"cpu"))  # BININT1 12: the storage's element count
    bomb = data[:at] + b"J" + struct.pack("<i", 2_000_000_000) + data[at + 2:]
    refused_import(tmp_path, "PyTorch checkpoint (import)", bomb,
                   r"netG\.pth: refused: its tensors declare 8,000,000,000 bytes but the file holds only \d+ "
                   r"\(truncated or crafted\)")


def test_sizes_are_priced_against_the_documented_limit(tmp_path, state, monkeypatch):
    """The file's size, and a zip's unpacked size (a deflated member of zeros), against GANZOO_IMPORT_MAX_BYTES."""
    with zipfile.ZipFile(tmp_path / "bomb.pth", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\0" * 20_000_000)
    assert (tmp_path / "bomb.pth").stat().st_size < 100_000
    monkeypatch.setenv("GANZOO_IMPORT_MAX_BYTES", "1000000")
    with reliability.refuses("PyTorch checkpoint (import)", WeightsError,
                             r"bomb\.pth: unpacks to 20,000,000 bytes in 1 entries, more than the import limit of "
                             r"1,000,000 bytes \(GANZOO_IMPORT_MAX_BYTES raises it\)"):
        ganzoo.import_model(tmp_path / "bomb.pth", tmp_path / "out")
    torch.save(state, tmp_path / "zip.pth")
    size = (tmp_path / "zip.pth").stat().st_size
    monkeypatch.setenv("GANZOO_IMPORT_MAX_BYTES", "1000")
    with reliability.refuses("PyTorch checkpoint (import)", WeightsError,
                             rf"zip\.pth: {size:,} bytes is more than the import limit of 1,000"):
        ganzoo.import_model(tmp_path / "zip.pth", tmp_path / "out")
    monkeypatch.setenv("GANZOO_IMPORT_MAX_BYTES", str(size))
    assert ganzoo.import_model(tmp_path / "zip.pth", tmp_path / "out").is_dir()   # at the limit: accepted


def test_discriminator_that_does_not_fit_the_generator(tmp_path, state):
    torch.save(state, tmp_path / "netG.pth")
    torch.save(examples_networks(NZ, NGF, NGF, 1)[1](1).state_dict(), tmp_path / "netD.pth")   # nc 1, not 3
    out = cli("import", tmp_path / "netG.pth", "--discriminator", tmp_path / "netD.pth", "-o", tmp_path / "o")
    reliability.refused_cli("PyTorch checkpoint (import)", out,
                            r"netD\.pth: the discriminator judges 1x64x64 images \(tensors 'main\.0\.weight', "
                            r"'main\.11\.weight'\); the generator makes 3x64x64")
    torch.save(state, tmp_path / "netD2.pth")   # a generator given as the discriminator
    out = cli("import", tmp_path / "netG.pth", "--discriminator", tmp_path / "netD2.pth", "-o", tmp_path / "o")
    reliability.refused_cli("PyTorch checkpoint (import)", out,
                            r"netD2\.pth: not a pytorch/examples discriminator \(25 tensors")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text,cls,match", [
    ("{not json", ConfigError, r"config\.json: not valid JSON"),
    ("[1, 2]", ConfigError, r"config\.json: must be a JSON object, not list"),
    ('{"latent_dim": 12, "x": "' + "a" * 1_100_000 + '"}', ConfigError, r"config\.json: 1,100,\d+ bytes is too large"),
    ('{"format": "ganzoo/1"}', ConfigError, r"is already a ganzoo model folder; load it as it is"),
])
def test_hostile_mixin_config(tmp_path, text, cls, match):
    MixinGenerator(num_channels=1, latent_dim=12, hidden_size=4).save_pretrained(tmp_path / "repo")
    (tmp_path / "repo" / "config.json").write_text(text)
    with reliability.refuses("Hub mixin config.json", cls, match):
        ganzoo.import_model(tmp_path / "repo", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_mixin_pickle_with_code_is_refused(tmp_path):
    """pytorch_model.bin of an old Hub repo is read with weights_only too."""
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    MixinGenerator(num_channels=1, latent_dim=12, hidden_size=4).save_pretrained(tmp_path / "repo")
    (tmp_path / "repo" / "model.safetensors").unlink()
    with open(tmp_path / "repo" / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"model.0.weight": Evil()}, fh)
    with reliability.refuses("pickle (import)", WeightsError,
                             r"pytorch_model\.bin: refused: the checkpoint holds a pickled Python object \(posix\.system\)"):
        ganzoo.import_model(tmp_path / "repo", tmp_path / "out")
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "out").exists()


def test_an_existing_output_folder_is_left_alone(tmp_path, state):
    torch.save(state, tmp_path / "netG.pth")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with reliability.refuses("import arguments", ConfigError, r"out exists and is not an empty folder"):
        ganzoo.import_model(tmp_path / "netG.pth", tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.txt"]


def test_a_wrong_tensor_under_an_explicit_format_is_not_called_another_format(tmp_path, state):
    state["main.3.weight"] = torch.zeros(32, 15, 4, 4)
    refused_import(tmp_path, "PyTorch checkpoint (import)", state,
                   r"for 'trunk\.net\.3\.weight'$", format="pytorch-examples")
