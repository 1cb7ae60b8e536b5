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
@pytest.mark.parametrize("command", [["import"], ["import", "--format", "state-dict", "--variant", "mlp"],
                                     ["import-legacy", "--variant", "mlp"]])
def test_import_refuses_pickled_code_without_running_it(tmp_path, command):
    """Plain pickle, torch's zip format and its legacy format, each carrying os.system: refused unread by
    every import path, with no advice to retry with weights_only=False."""
    marker = tmp_path / "PWNED"
    write_evil(tmp_path / "evil.pt", marker)
    torch.save({"x": Evil(str(marker))}, tmp_path / "evil2.pt")
    torch.save({"x": Evil(str(marker))}, tmp_path / "evil3.pt", _use_new_zipfile_serialization=False)
    assert not marker.exists()                             # (saving ran nothing either)
    for name in ("evil.pt", "evil2.pt", "evil3.pt"):
        out = cli(command[0], str(tmp_path / name), *command[1:], "-o", str(tmp_path / "out"))
        assert not marker.exists() and not (tmp_path / "out").exists()   # nothing run, nothing half-written
        assert "weights_only" not in out.stderr
        reliability.refused_cli(f"pickle ({command[0]})", out, rf"^ganzoo: error: .*{name}: refused: the checkpoint "
                                r"holds a pickled Python object \(posix\.system\), not only tensors; ganzoo never runs")
    (tmp_path / "junk.pth").write_bytes(b"junk")           # no checkpoint at all: said so, not a struct error
    out = cli(command[0], str(tmp_path / "junk.pth"), *command[1:], "-o", str(tmp_path / "out"))
    assert out.code == 1 and "junk.pth: refused: not a checkpoint of tensors" in out.err, out.err
    assert not (tmp_path / "out").exists()


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
