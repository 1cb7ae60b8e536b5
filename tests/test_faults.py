"""Faults while writing: a full disk (ENOSPC) during a checkpoint or a model save, and kill -9 during
export (Model.save, ``ganzoo import``, ``ganzoo sample -o``), pull and push. Afterwards every
file is complete and valid or absent (hidden temp files are never read), and a re-run succeeds."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
import reliability
from ganzoo import fsutil
from ganzoo.training import checkpoint as ckpt
from ganzoo.errors import DiskFullError, GanzooError
from ganzoo import train
from helpers import cli, env as _env, popen

pytestmark = pytest.mark.reliability("fault")

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(g_hidden=[8], d_hidden=[8])


def _enospc(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _cli(args) -> int:
    return cli(*args).code


def _hidden(root) -> list[Path]:
    root = Path(root)
    return [p for p in root.rglob(".*")]


# -- a full disk ---------------------------------------------------------------------------------------------
def _run(out, steps, **kw):
    return train("mlp", data="ring8", out=out, steps=steps, batch_size=32, progress=False, log_every=5,
                 checkpoint_every=5, sample_every=1000, seed=0, **TINY, **kw)


class DiskFills:
    """Make the Nth matching write of a checkpoint (or model file) fail with ENOSPC after writing
    half of its bytes, like a disk that fills up mid-write."""

    def __init__(self, monkeypatch, where: str, nth: int):
        import pathlib

        import safetensors.torch as st

        self.calls, self.fired = 0, False
        real_save_file, real_write_text = st.save_file, pathlib.Path.write_text
        real_fsync_file, real_atomic_text = ckpt._fsync_file, ckpt.atomic_write_text
        real_write_chunks = fsutil.write_chunks

        def hit(name_ok: bool) -> bool:
            if not name_ok:
                return False
            self.calls += 1
            return self.calls == nth
            return False

        def enospc(path) -> OSError:  # raised by the injected writer: the fault is observed here
            self.fired = True
            reliability.fault("ENOSPC (disk full)")
            return _enospc(path)

        def save_file(tensors, filename, metadata=None):  # a checkpoint's tensors
            if hit(where == "tensors" and Path(filename).name == "state.safetensors"):
                data = st.save(tensors, metadata=metadata)
                with open(filename, "wb") as fh:
                    fh.write(data[: len(data) // 2])
                raise enospc(filename)
            return real_save_file(tensors, filename, metadata=metadata)

        def write_chunks(path, chunks):  # a model's weights
            if hit(where == "model" and Path(path).name.startswith(".generator")):
                data = b"".join(chunks)
                real_write_chunks(path, [data[: len(data) // 2]])
                raise enospc(path)
            return real_write_chunks(path, chunks)

        def write_text(self_, data, *a, **k):
            if hit(where == "meta" and self_.name == "state.json"):
                real_write_text(self_, data[: len(data) // 2], *a, **k)
                raise enospc(self_)
            return real_write_text(self_, data, *a, **k)

        def fsync_file(path):
            if hit(where == "fsync" and Path(path).name == "state.json"):
                raise enospc(path)
            return real_fsync_file(path)

        def atomic_text(path, text):
            if hit(where == "latest"):
                from ganzoo.fsutil import atomic_path

                with atomic_path(path) as tmp:
                    Path(tmp).write_bytes(text.encode()[:2])
                    raise enospc(tmp)
            return real_atomic_text(path, text)

        monkeypatch.setattr(st, "save_file", save_file)
        monkeypatch.setattr(fsutil, "write_chunks", write_chunks)
        monkeypatch.setattr(pathlib.Path, "write_text", write_text)
        monkeypatch.setattr(ckpt, "_fsync_file", fsync_file)
        monkeypatch.setattr(ckpt, "atomic_write_text", atomic_text)


@pytest.mark.parametrize("where,kept", [("tensors", 5), ("meta", 5), ("fsync", 5), ("latest", 5), ("model", 10)])
def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, where, kept):
    out = tmp_path / "run"
    # checkpoints at steps 5 and 10; the second one (or, for "model", the model export after it) hits ENOSPC
    disk = DiskFills(monkeypatch, where, nth=2)
    with pytest.raises(DiskFullError) as info:
        _run(out, 15)
    assert disk.fired
    msg = str(info.value)
    assert "disk full" in msg and "\n" not in msg and isinstance(info.value, GanzooError)
    if where != "model":
        assert msg.startswith("checkpoint step-00000010 not saved: disk full") and "(step-00000005) is kept" in msg
    monkeypatch.undo()
    torch.manual_seed(0)

    root = out / "checkpoints"
    latest = ckpt.find_latest(root)
    assert latest.name == f"step-{kept:08d}"
    assert (root / "latest").read_text().strip() == latest.name
    ckpt.read(latest)  # digest matches: intact and loadable
    assert not _hidden(out), _hidden(out)  # no temp garbage left, so nothing half-written can be picked up
    reliability.check_tree(out)
    assert ganzoo.load(out).meta["training"]["steps_done"] in (5, 10)

    model = _run(out, 15, resume=True)  # --resume continues from the checkpoint that was kept
    assert model.meta["training"]["steps_done"] == 15
    assert ckpt.find_latest(root).name == "step-00000015"
    reliability.check_tree(out)


def test_disk_full_in_the_cli_is_one_line_and_resume_works(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = ["train", "mlp", "--data", "ring8", "--out", str(out), "--steps", "15", "--batch-size", "32",
            "--checkpoint-every", "5", "--log-every", "5", "--sample-every", "1000", "--no-progress",
            "--set", "g_hidden=[8]", "--set", "d_hidden=[8]"]
    disk = DiskFills(monkeypatch, "tensors", nth=2)
    r = cli(*args)
    assert disk.fired and r.code == 1
    # --no-progress: one plain line per --log-every, then the error
    err = "".join(line + "\n" for line in r.err.splitlines() if not line.startswith("step "))
    assert err.count("\n") == 1 and err.startswith("ganzoo: error: checkpoint step-00000010 not saved: disk full")
    assert "step-00000005) is kept" in err and "--resume" in err and "Traceback" not in err
    monkeypatch.undo()
    assert _cli(["train", "--resume", "--out", str(out), "--steps", "15", "--no-progress"]) == 0
    assert ckpt.find_latest(out / "checkpoints").name == "step-00000015"
    reliability.check_tree(out)


@pytest.mark.parametrize("nth_file", ["generator", "discriminator", "config"])
def test_disk_full_during_model_save_keeps_the_previous_files(tmp_path, monkeypatch, nth_file):
    import pathlib

    folder = tmp_path / "m"
    old = ganzoo.create("mlp", **TINY)
    old.save(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    new = ganzoo.create("mlp", **TINY)  # same shapes, other weights
    real_write_chunks, real_write_bytes = fsutil.write_chunks, pathlib.Path.write_bytes

    def write_chunks(path, chunks):
        if Path(path).name.startswith(f".{nth_file}."):
            data = b"".join(chunks)
            real_write_chunks(path, [data[: len(data) // 3]])
            reliability.fault("ENOSPC (disk full)")
            raise _enospc(path)
        return real_write_chunks(path, chunks)

    def write_bytes(self_, data):
        if self_.name.startswith(f".{nth_file}.json."):
            real_write_bytes(self_, data[:10])
            reliability.fault("ENOSPC (disk full)")
            raise _enospc(self_)
        return real_write_bytes(self_, data)

    monkeypatch.setattr(fsutil, "write_chunks", write_chunks)
    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    with pytest.raises(DiskFullError, match=rf"{nth_file}\.(safetensors|json): disk full .*previous .* is intact"):
        new.save(folder)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)  # no temp files
    other = tmp_path / "ref"
    new.save(other)
    new_bytes = {p.name: p.read_bytes() for p in other.iterdir()}
    for name, data in before.items():  # every file is the old or the new version, whole
        reliability.check_file(folder / name, one_of=(data, new_bytes[name]))
    failed = f"{nth_file}.{'json' if nth_file == 'config' else 'safetensors'}"
    reliability.check_file(folder / failed, expect=before[failed])  # the file being written: the old one, whole
    ganzoo.load(folder)
    new.save(folder)  # with space again: the re-run succeeds
    for name, data in new_bytes.items():
        reliability.check_file(folder / name, expect=data)


# -- kill -9 while writing -----------------------------------------------------------------------------------
# HANG runs ganzoo in a child process whose Nth write of a file named like MATCH stops half-way: half of
# the bytes are on disk, the temp path is reported through the READY file, and the writer waits for the
# kill. The test kills it only then, so every kill lands mid-file, and the fault is observed, not hoped for.
HANG = r'''
import pathlib, sys, threading
import safetensors.torch as st
ready, match, nth, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
seen = 0
import ganzoo.fsutil as fsutil
real_save_file, real_write_bytes = st.save_file, pathlib.Path.write_bytes
real_write_chunks = fsutil.write_chunks

def pause_here(path):
    global seen
    if match not in pathlib.Path(path).name:
        return False
    seen += 1
    return seen == nth

def hang(path, data):
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])   # half of the file is on disk ...
        fh.flush()
        pathlib.Path(ready).write_text(str(path))
        threading.Event().wait()           # ... when the test kills this process

def save_file(tensors, filename, metadata=None):
    if pause_here(filename):
        hang(filename, st.save(tensors, metadata=metadata))
    return real_save_file(tensors, filename, metadata=metadata)

def write_chunks(path, chunks):
    if pause_here(path):
        hang(path, b"".join(chunks))
    return real_write_chunks(path, chunks)

def write_bytes(self, data):
    if self.name.startswith(".") and self.name.endswith(".tmp") and pause_here(self):
        hang(self, data)
    return real_write_bytes(self, data)

st.save_file = save_file
fsutil.write_chunks = write_chunks
pathlib.Path.write_bytes = write_bytes
if args[0] == "--save":                    # --save SRC DEST: ganzoo.load(SRC).save(DEST)
    import ganzoo
    ganzoo.load(args[1]).save(args[2])
else:
    from ganzoo.cli import main
    main(args)
'''


def _kill_mid_write(args, tmp_path, *, match: str = "", nth: int = 1) -> Path:
    """Run ``ganzoo ARGS`` under HANG, kill -9 it while it is half-way through the write; the temp path."""
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", HANG, str(ready), match, str(nth), *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reliability.kill_when(proc, ready.exists, what="the write") == -signal.SIGKILL
    return Path(ready.read_text())


@pytest.mark.slow
def test_kill_during_import_leaves_no_folder_and_rerun_works(tmp_path):
    m = ganzoo.create("mlp", **TINY)
    torch.save({"netG": m.generator.state_dict()}, tmp_path / "old.pth")
    out = tmp_path / "imported"
    args = ["import", str(tmp_path / "old.pth"), "--format", "state-dict", "--variant", "mlp", "--key", "netG",
            "--set", "g_hidden=[8]", "--set", "d_hidden=[8]", "-o", str(out)]
    partial = _kill_mid_write(args, tmp_path)
    assert partial.is_file() and out not in partial.parents  # the half-written file was in a hidden temp folder
    assert not out.exists()                                  # the destination is absent, not half there
    assert _cli(args) == 0  # a re-run succeeds (and clears the dead run's temp folder)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "generator.safetensors"]
    reliability.check_tree(out)
    assert not list(tmp_path.glob(".imported.*"))
    m.eval()
    assert torch.equal(ganzoo.load(out).sample(4, seed=0), m.sample(4, seed=0))


@pytest.mark.slow
def test_kill_during_sample_output_keeps_the_old_file(tmp_path):
    import numpy as np

    folder = tmp_path / "m"
    ganzoo.create("mlp", **TINY).save(folder)
    npy = tmp_path / "s.npy"
    assert _cli(["sample", str(folder), "-n", "5", "-o", str(npy), "--seed", "0"]) == 0
    old = npy.read_bytes()
    partial = _kill_mid_write(["sample", str(folder), "-n", "500", "-o", str(npy), "--seed", "1"], tmp_path)
    assert partial.name.startswith(".s.npy.")
    reliability.check_file(npy, expect=old)  # the previous output, whole
    assert _cli(["sample", str(folder), "-n", "500", "-o", str(npy), "--seed", "1"]) == 0
    reliability.check_file(npy)
    assert np.load(npy).shape == (500, 2)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["generator.safetensors", "discriminator.safetensors", "config.json"])
def test_kill_during_model_save_mid_each_file(tmp_path, moment):
    """A model saved over an older one is killed half-way through each of its files in turn."""
    folder, a_dir, b_dir = tmp_path / "m", tmp_path / "a", tmp_path / "b"
    a, b = ganzoo.create("mlp", g_hidden=[64, 64], d_hidden=[64, 64]), ganzoo.create("mlp", g_hidden=[64, 64], d_hidden=[64, 64])
    a.save(a_dir), b.save(b_dir), a.save(folder)
    versions = {name: ((a_dir / name).read_bytes(), (b_dir / name).read_bytes())
                for name in ("config.json", "generator.safetensors", "discriminator.safetensors")}
    partial = _kill_mid_write(["--save", str(b_dir), str(folder)], tmp_path, match=moment)
    assert partial.parent == folder and partial.name.startswith(f".{moment}.")
    assert 0 < partial.stat().st_size < len(versions[moment][1])  # the kill landed half-way through the file
    assert sorted(p.name for p in reliability.visible_files(folder)) == sorted(versions)
    for name, both in versions.items():
        reliability.check_file(folder / name, one_of=both)
    reliability.check_file(folder / moment, expect=versions[moment][0])  # the file being written: the old one
    ganzoo.load(folder)
    ganzoo.load(a_dir).save(folder)  # the re-run
    for name, (a_bytes, _) in versions.items():
        reliability.check_file(folder / name, expect=a_bytes)


@pytest.mark.slow
def test_kill_mid_checkpoint_then_resume(tmp_path):
    """kill -9 half-way through the second checkpoint's tensors: the first is the latest, and resume works."""
    out = tmp_path / "run"
    args = ["train", "mlp", "--data", "ring8", "--out", str(out), "--steps", "1000", "--batch-size", "32",
            "--checkpoint-every", "5", "--log-every", "5", "--sample-every", "1000", "--no-progress", "--seed", "1",
            "--set", "g_hidden=[8]", "--set", "d_hidden=[8]"]
    partial = _kill_mid_write(args, tmp_path, match=ckpt.TENSORS, nth=2)
    assert partial.parent.name.startswith(".tmp-step-00000010")  # in the hidden folder of checkpoint 10
    root = out / "checkpoints"
    assert ckpt.find_latest(root).name == "step-00000005"
    ckpt.read(ckpt.find_latest(root))  # digest matches
    reliability.check_tree(out)
    assert _cli(["train", "--resume", "--out", str(out), "--steps", "15", "--no-progress"]) == 0
    assert ckpt.find_latest(root).name == "step-00000015"
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # the dead run's temp folder is gone
    reliability.check_tree(out)


# -- kill -9 while pulling and pushing ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fname", ["config.json", "generator.safetensors"])
def test_kill_during_pull_leaves_a_sound_cache_and_rerun_works(hub, tmp_path, monkeypatch, fname):
    from test_hub import pushed, same_state

    m, repo, sha, _ = pushed(tmp_path, monkeypatch, hub)
    hub.hold(1, match=f"/{fname}")  # half of the file is sent, then the transfer hangs
    cache = Path(os.environ["HF_HUB_CACHE"])
    proc = popen(["pull", f"hf://{repo}"])
    # killed while the Hub holds the file half-sent and the client is downloading it into the cache
    reliability.kill_when(proc, lambda: hub.holding.is_set() and any(cache.rglob("*.incomplete")),
                          what="the download", kind="kill -9 (download held mid-file)")
    hub.placed_kill("hold")  # the held transfer only placed the kill: one fault, counted as the kill
    hub.reset()
    snap = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / sha
    assert not (snap / fname).exists()  # the file being fetched is absent, not half there
    reliability.check_hf_cache(cache)
    loaded = ganzoo.load(f"hf://{repo}")  # a re-run resumes / refetches and verifies
    assert same_state(loaded.generator, m.generator) and same_state(loaded.discriminator, m.discriminator)
    assert reliability.check_hf_cache(cache) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["/_lfs/", "/commit/"])
def test_kill_during_push_then_push_again(hub, tmp_path, monkeypatch, moment):
    from test_hub import make_folder, repo_name, same_state

    torch.manual_seed(4242 + len(moment))  # weights no earlier test pushed: the LFS upload really happens
    m, folder = make_folder(tmp_path)
    repo = repo_name("killed")
    hub.stall(1, match=moment)  # the Hub holds its answer back until released
    proc = popen(["push", folder, repo], HF_TOKEN=hub.token)
    reliability.kill_when(proc, lambda: hub.stalled_now == 1, what=f"the push reaching {moment}",
                          kind="kill -9 (push held by the Hub)")
    hub.placed_kill("stall")  # the held answer only placed the kill: one fault, counted as the kill
    hub.reset()  # the stalled request goes on without its client ...
    assert hub.wait_idle()  # ... and is finished before the Hub is inspected
    reliability.check_tree(folder)  # the folder is whole (README.md and samples.png only follow a finished push)
    remote = hub.repos.get(repo)
    if remote is not None:  # whatever the Hub holds is whole: the commit landed or it did not
        for name, (data, _) in remote.commits[remote.branches["main"]]["files"].items():
            (tmp_path / "remote").mkdir(exist_ok=True)
            (tmp_path / "remote" / name).write_bytes(data)
            mine = folder / name  # the card and picture were made in a temporary copy, not in the folder
            reliability.check_file(tmp_path / "remote" / name, expect=mine.read_bytes() if mine.exists() else None)
    from ganzoo import hub as ghub

    monkeypatch.setenv("HF_TOKEN", hub.token)
    ghub.push(folder, repo)  # the re-run succeeds
    monkeypatch.delenv("HF_TOKEN")
    loaded = ganzoo.load(f"hf://{repo}")
    assert same_state(loaded.generator, m.generator) and same_state(loaded.discriminator, m.discriminator)
    assert json.loads((folder / "config.json").read_text())["variant"] == "mlp"
