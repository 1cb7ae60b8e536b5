"""A run folder has one writer: a second ``train`` into a folder that a running ``train`` holds is refused
in one line naming that process, and the first run never notices; the lock dies with its process
(``kill -9``). A resume calls a checkpoint corrupt only when it is."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
import reliability
from ganzoo.errors import ConfigError, TrainingError
from ganzoo.fsutil import LOCK_NAME, FolderLock
from ganzoo.training import checkpoint as ckpt
from helpers import cli, env as child_env, run


# `ganzoo train` in a child that pauses right after its first checkpoint (ready file written) until the
# test creates the go file: the second run is started while the first one is certainly mid-run.
PAUSE = r'''
import pathlib, sys, threading
from ganzoo.training import checkpoint as ckpt
ready, go, args = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
real = ckpt.write
def write(*a, **k):
    out = real(*a, **k)
    if not ready.exists():
        ready.write_text("paused after " + out.name)
        while not go.exists():
            threading.Event().wait(0.01)   # polls the go file
    return out
ckpt.write = write
from ganzoo.cli import main
main(args)
'''
ARGS = ["--data", "ring8", "--batch-size", "32", "--checkpoint-every", "5", "--log-every", "5",
        "--sample-every", "1000", "--no-progress", "--seed", "2", "--set", "g_hidden=[8]", "--set", "d_hidden=[8]"]


def paused_run(tmp_path, out, steps=20):
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", PAUSE, ready, go, "train", "mlp", *ARGS, "--out", out,
                             "--steps", str(steps)], env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not ready.exists():
        if proc.poll() is not None:
            pytest.fail(f"the first run ended before its first checkpoint: {proc.stderr.read().decode()[-2000:]}")
        try:
            proc.wait(timeout=0.05)  # (returns early if it exits)
        except subprocess.TimeoutExpired:
            pass
    return proc, go


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def steps_logged(out: Path) -> list:
    return [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "event" not in r]


@pytest.mark.slow
@pytest.mark.reliability("input")
def test_a_second_train_into_a_running_runs_folder_is_refused_and_the_first_never_notices(tmp_path):
    out = tmp_path / "run"
    first, go = paused_run(tmp_path, out)
    before = snapshot(out)
    assert LOCK_NAME in before and before[LOCK_NAME].decode().split()[0] == str(first.pid)
    busy = rf"^ganzoo: error: {out} is being written by another training run \(pid {first.pid}\); wait for it to end, or choose another --out$"
    # the case: `ganzoo train --resume --out run` in a second terminal (a second process) ...
    reliability.refused_cli("run folder in use", run("train", "--resume", "--out", out, "--steps", "30", "--no-progress"), busy)
    # ... and a fresh run into the same folder, from this process
    reliability.refused_cli("run folder in use", cli("train", "mlp", *ARGS, "--out", out, "--steps", "5"), busy)
    in_python = busy[len("^ganzoo: error: "):].replace("--out", "out")  # ganzoo.train names its keyword
    with reliability.refuses("run folder in use", ConfigError, in_python):
        ganzoo.train(out=out, resume=True, steps=30)
    assert snapshot(out) == before  # the refused runs wrote nothing

    go.write_text("go")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-2000:]  # the first run never noticed
    assert steps_logged(out) == [5, 10, 15, 20]        # each step once, in order
    assert not (out / LOCK_NAME).exists()              # released (and removed) at the end
    assert cli("train", "--resume", "--out", out, "--steps", "25", "--no-progress").code == 0  # now free
    assert steps_logged(out) == [5, 10, 15, 20, 25] and ckpt.find_latest(out / "checkpoints").name == "step-00000025"


@pytest.mark.slow
@pytest.mark.reliability("fault")
def test_the_lock_dies_with_its_process(tmp_path):
    """kill -9 while the run holds its folder: the kernel drops the lock, so the folder is never locked
    forever, and a resume continues from the last checkpoint."""
    out = tmp_path / "run"
    first, _ = paused_run(tmp_path, out)
    reliability.kill_when(first, what="the paused run", kind="kill -9 (run holding its folder's lock)")
    assert first.returncode == -signal.SIGKILL
    assert (out / LOCK_NAME).exists()  # the file stays; the lock on it does not
    reliability.check_tree(out)
    FolderLock(out).check()  # nobody holds it
    r = cli("train", "--resume", "--out", out, "--steps", "10", "--no-progress")
    assert r.code == 0, r.err
    assert ckpt.find_latest(out / "checkpoints").name == "step-00000010" and not (out / LOCK_NAME).exists()


def test_a_refused_run_leaves_no_folder_behind(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match="is not a folder"):  # (found when the data is loaded: the lock is held)
        ganzoo.train("mlp", data=f"mnist:{tmp_path / 'nowhere'}", out=out, steps=2, progress=False)
    assert not out.exists()


# -- a corrupt checkpoint is reported only when it is --------------------------------------------------------
def test_a_complete_newer_checkpoint_is_not_called_corrupt(tmp_path):
    """Killed between renaming checkpoint 10 into place and pointing `latest` at it: checkpoint 10 is whole,
    `latest` names 5. The resume falls back to 5 (what `latest` promises) without calling 10 corrupt."""
    out = tmp_path / "run"
    assert cli("train", "mlp", *ARGS, "--out", out, "--steps", "10").code == 0
    root = out / "checkpoints"
    (root / "latest").write_text("step-00000005\n")
    r = cli("train", "--resume", "--out", out, "--steps", "15", "--no-progress")
    assert r.code == 0, r.err
    assert "corrupt" not in r.err and "incomplete" not in r.err, r.err
    assert ckpt.find_latest(root).name == "step-00000015"


def test_a_checkpoint_that_vanished_is_not_called_corrupt(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "mlp", *ARGS, "--out", out, "--steps", "5").code == 0
    gone = out / "checkpoints" / "step-00000005"
    ckpt.read(gone)
    import shutil

    shutil.rmtree(gone)
    with pytest.raises(TrainingError, match=rf"^checkpoint {gone} no longer exists; run the command again$"):
        ckpt.read(gone)
