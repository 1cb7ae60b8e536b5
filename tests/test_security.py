"""Untrusted files: a malicious pickle is never executed by any ganzoo entry point."""

import os
import pickle
import subprocess
import sys

import pytest
import torch

import ganzoo
import reliability


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_evil(path, marker):
    with open(path, "wb") as fh:
        pickle.dump({"weight": Evil(str(marker))}, fh)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.reliability("input")
def test_legacy_import_refuses_pickled_code(tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    write_evil(evil, marker)
    out = cli("import-legacy", str(evil), "--variant", "mlp", "-o", str(tmp_path / "out"))
    reliability.tried("malicious pickle")
    assert out.returncode == 1 and "refused to import legacy checkpoint" in out.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists()                 # nothing half-written
    # the same through torch.save'd code objects
    torch.save({"x": Evil(str(marker))}, tmp_path / "evil2.pt")
    assert not marker.exists()                             # (saving ran nothing either)
    out = cli("import-legacy", str(tmp_path / "evil2.pt"), "--variant", "mlp", "-o", str(tmp_path / "out"))
    reliability.tried("malicious pickle")
    assert out.returncode == 1 and not marker.exists()


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
@pytest.mark.parametrize("victim", ["generator.safetensors", "config.json"])
def test_pickles_disguised_as_model_files_are_not_executed(tmp_path, victim):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "m"
    ganzoo.create("mlp", g_hidden=[8], d_hidden=[8]).save(folder)
    write_evil(folder / victim, marker)
    for args in (["sample", str(folder), "-o", str(tmp_path / "s.npy")], ["info", str(folder)]):
        out = cli(*args)
        reliability.tried("pickle disguised as a model file")
        assert out.returncode != 0 and "Traceback" not in out.stderr
    with pytest.raises(ganzoo.GanzooError):
        ganzoo.load(folder)
    assert not marker.exists()
