"""Untrusted files: a malicious pickle is never executed by any ganzoo entry point."""

import os
import pickle

import pytest
import torch

import ganzoo
import reliability
from ganzoo.errors import WeightsError
from helpers import run as cli


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_evil(path, marker):
    with open(path, "wb") as fh:
        pickle.dump({"weight": Evil(str(marker))}, fh)


@pytest.mark.slow
@pytest.mark.reliability("input")
def test_legacy_import_refuses_pickled_code(tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    write_evil(evil, marker)
    out = cli("import-legacy", str(evil), "--variant", "mlp", "-o", str(tmp_path / "out"))
    assert not marker.exists()
    reliability.refused_cli("pickle (import-legacy)", out,
                            rf"^ganzoo: error: {evil}: refused to import legacy checkpoint: .*which ganzoo never "
                            r"unpickles; save a plain state dict")
    assert "weights_only" not in out.err
    assert not (tmp_path / "out").exists()                 # nothing half-written
    # the same through torch.save'd code objects
    torch.save({"x": Evil(str(marker))}, tmp_path / "evil2.pt")
    assert not marker.exists()                             # (saving ran nothing either)
    out = cli("import-legacy", str(tmp_path / "evil2.pt"), "--variant", "mlp", "-o", str(tmp_path / "out"))
    assert not marker.exists() and not (tmp_path / "out").exists()
    reliability.refused_cli("pickle (import-legacy)", out,
                            r"^ganzoo: error: .*evil2\.pt: refused to import legacy checkpoint: it pickles code or objects")
    # a file that is no checkpoint at all: said so, not a struct error
    (tmp_path / "junk.pth").write_bytes(b"junk")
    out = cli("import-legacy", str(tmp_path / "junk.pth"), "--variant", "mlp", "-o", str(tmp_path / "out"))
    assert out.err.strip().endswith("refused to import legacy checkpoint: not a PyTorch checkpoint (a .pt/.pth "
                                    "file written by torch.save): torch.load cannot read it"), out.err


@pytest.mark.slow
def test_legacy_import_of_a_real_state_dict(tmp_path):
    m = ganzoo.create("mlp", g_hidden=[8], d_hidden=[8])
    torch.save({"netG": m.generator.state_dict()}, tmp_path / "old.pth")
    out = cli("import-legacy", str(tmp_path / "old.pth"), "--variant", "mlp", "--key", "netG",
              "--set", "g_hidden=[8]", "--set", "d_hidden=[8]", "-o", str(tmp_path / "new"))
    assert out.returncode == 0, out.stderr
    loaded = ganzoo.load(tmp_path / "new")
    m.eval()
    assert torch.equal(loaded.sample(4, seed=0), m.sample(4, seed=0))
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["config.json", "generator.safetensors"]


@pytest.mark.slow
@pytest.mark.reliability("input")
@pytest.mark.parametrize("victim,cls,why", [
    ("generator.safetensors", WeightsError, r"generator\.safetensors: corrupt safetensors header \(claims \d+ bytes; file has \d+\)"),
    ("config.json", WeightsError, r"config\.json: cannot read: 'utf-8' codec can't decode"),
])
def test_pickles_disguised_as_model_files_are_not_executed(tmp_path, victim, cls, why):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "m"
    ganzoo.create("mlp", g_hidden=[8], d_hidden=[8]).save(folder)
    write_evil(folder / victim, marker)
    out = cli("sample", folder, "-o", tmp_path / "s.npy")
    reliability.refused_cli(f"pickle disguised as {victim}", out, "^ganzoo: error: " + str(folder) + "/" + why)
    assert not (tmp_path / "s.npy").exists()
    with reliability.refuses(f"pickle disguised as {victim}", cls, why):
        ganzoo.load(folder)
    assert not marker.exists()
