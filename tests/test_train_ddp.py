"""Data-parallel training under torchrun: two CPU processes (gloo) stay in sync, only rank 0 writes,
the run resumes with the same number of processes, and the folder loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
from ganzoo.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _torchrun(*args, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "GANZOO_DEBUG"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ganzoo.cli", "train", *args, "--no-progress"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_ddp_two_cpu_processes_stay_in_sync_and_resume(tmp_path):
    out = tmp_path / "ddp"
    common = ["--out", str(out), "--checkpoint-every", "3", "--log-every", "2"]
    r = _torchrun("mlp", "--objective", "non-saturating", "--data", "ring8", "--steps", "6", "--batch-size", "32",
                  "--set", "g_hidden=[32]", "--set", "d_hidden=[32]", "--ema", "0.9", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("trained mlp/non-saturating") == 1  # only rank 0 reports
    r = _torchrun("--resume", "--steps", "10", *common)
    assert r.returncode == 0, r.stderr[-3000:]

    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    syncs = [rec for rec in records if rec.get("event") == "sync"]
    assert [s["step"] for s in syncs] == [3, 6, 9, 10]
    for s in syncs:  # each rank's parameter checksum, gathered by rank 0: identical
        assert len(s["param_checksums"]) == 2 and s["param_checksums"][0] == s["param_checksums"][1], s
    assert len({s["param_checksums"][0] for s in syncs}) == 4  # and they did train
    logged = [rec["step"] for rec in records if "event" not in rec]
    assert logged == [2, 3, 4, 6, 8, 9, 10]  # log and checkpoint steps; one writer: no duplicates

    model = ganzoo.load(out)
    assert model.meta["training"]["world_size"] == 2 and model.meta["training"]["steps_done"] == 10
    assert model.sample(5, seed=0).shape == (5, 2)
    assert not list(out.rglob(".tmp-*"))

    with pytest.raises(ConfigError, match="the number of processes 1 differs from the checkpoint's 2"):
        ganzoo.train(out=out, resume=True, steps=12)
