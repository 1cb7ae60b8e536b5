"""The training engine: objectives learn ring8, VAE/AE learn digits, exact resume, SIGKILL safety,
non-finite stops and the errors a user can cause."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
import reliability
from helpers import cli, env
from ganzoo.training import checkpoint as ckpt
from ganzoo.errors import ConfigError, TrainingError
from ganzoo import train

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(g_hidden=[64, 64], d_hidden=[64, 64])


pytestmark = pytest.mark.usefixtures("one_thread")


def _records(out):
    return [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]


def _logs(out):
    return [r for r in _records(out) if "event" not in r]


def _evals(out):
    return [r for r in _records(out) if r.get("event") == "eval"]


def _subprocess_env():
    return env()


# -- every GAN objective learns ring8 --------------------------------------------------------------
LR = {"wgan": 5e-4, "wgan-gp": 1e-3}


@pytest.mark.parametrize("objective", ["non-saturating", "minimax", pytest.param("wgan", marks=pytest.mark.slow),
                                       pytest.param("wgan-gp", marks=pytest.mark.slow), "hinge", "lsgan"])
def test_gan_objectives_learn_ring8(tmp_path, objective):
    out = tmp_path / "run"
    model = train("mlp", objective, data="ring8", out=out, steps=300, batch_size=256, lr=LR.get(objective, 1e-3),
                  ema=0.99, seed=0, progress=False, log_every=50, sample_every=100, **SMALL)
    logs, evals = _logs(out), _evals(out)
    assert [r["step"] for r in logs] == [50, 100, 150, 200, 250, 300]
    for r in logs:
        for key in ("d_loss", "g_loss", "d_x", "d_g_z"):
            assert math.isfinite(r[key]), (key, r)
    # samples move toward the data: mean distance to the nearest mode falls clearly
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 300
    assert evals[-1]["mode_distance"] < 0.8 * evals[0]["mode_distance"], evals
    assert model.meta["metrics"]["mode_distance"] == evals[-1]["mode_distance"]

    spec = ganzoo.load(out).meta["training"]
    assert spec["objective"] == objective and spec["steps_done"] == 300
    D = ganzoo.load(out, components=["discriminator"]).discriminator
    last = logs[-1]
    if objective in ("non-saturating", "minimax"):
        for r in logs:  # D(.) is reported as a probability
            assert 0 < r["d_x"] < 1 and 0 < r["d_g_z"] < 1
        assert 0.2 < last["d_x"] < 0.9 and 0.1 < last["d_g_z"] < 0.9   # near equilibrium, not collapsed
        for r in logs:  # Jensen: the logged losses are the logged probabilities' objective
            if objective == "minimax":   # g_loss = E log(1 - D(G(z))) <= log(1 - E D(G(z))) < 0
                assert r["g_loss"] <= math.log(1 - r["d_g_z_g"]) + 1e-4 and r["g_loss"] < 0
            else:                        # g_loss = -E log D(G(z)) >= -log E D(G(z)) > 0
                assert r["g_loss"] >= -math.log(r["d_g_z_g"]) - 1e-4 and r["g_loss"] > 0
        assert spec["d_steps"] == 1 and spec["reuse_fake"] is True
    if objective == "wgan":
        clip = 0.01
        assert all(p.abs().max() <= clip + 1e-7 for p in D.parameters())
        assert spec["d_steps"] == 5 and spec["optimizer"] == "rmsprop" and spec["reuse_fake"] is False
        assert all(abs(r["d_x"]) < 5 for r in logs)  # raw critic scores, tiny with clipped weights
    if objective == "wgan-gp":
        assert all(r["gp"] >= 0 and math.isfinite(r["gp"]) for r in logs)
        assert spec["d_steps"] == 5
        assert max(p.abs().max() for p in D.parameters()) > 0.01  # no clipping here
    if objective == "hinge":
        assert all(r["d_loss"] >= 0 for r in logs)
    if objective == "lsgan":
        assert all(r["d_loss"] >= 0 and r["g_loss"] >= 0 for r in logs)
    # the folder is a publishable model folder with pictures and curves
    for name in ("config.json", "generator.safetensors", "discriminator.safetensors", "samples.png", "curves.png",
                 "samples/step-00000300.png"):
        assert (out / name).is_file(), name


# -- VAE and AE on digits ------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["vae", "ae"])
def test_autoencoders_train_on_digits(tmp_path, variant):
    out = tmp_path / variant
    model = train(variant, data="digits", out=out, steps=150, batch_size=64, seed=0, progress=False, log_every=25,
                  hidden=[128, 64], latent_dim=8)
    logs = _logs(out)
    assert logs[-1]["loss"] < 0.8 * logs[0]["loss"], logs
    assert all(math.isfinite(r["recon"]) for r in logs)
    if variant == "vae":
        assert all(r["kl"] >= 0 for r in logs)
    loaded = ganzoo.load(out)
    assert loaded.sample_shape == (1, 8, 8) and loaded.encoder is not None
    x = loaded.sample(4, seed=0)
    assert x.shape == (4, 1, 8, 8) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.equal(model.sample(4, seed=0), x)
    assert (out / "samples.png").is_file() and (out / "curves.png").is_file()


# -- exact resume ----------------------------------------------------------------------------------------
RESUME_CASES = {
    # BatchNorm in G, K=5 critic steps, gradient penalty noise, EMA, epochs turning over (500 samples)
    "mlp-wgan-gp-ema": dict(variant="mlp", objective="wgan-gp", data="ring8", data_options={"n": 500},
                            batch_size=64, ema=0.9, g_hidden=[32], d_hidden=[32], g_norm=True),
    # conv + BatchNorm, class-conditional, fake batch reused in the G step
    "dcgan-conditional": dict(variant="dcgan", objective="non-saturating", data="digits", batch_size=32,
                              conditional=True, g_width=8, d_width=8, latent_dim=8),
    # an unconditional hinge DCGAN with DiffAugment: the augmentation's random shifts and holes must resume too
    "dcgan-augment": dict(variant="dcgan", objective="hinge", data="digits", batch_size=32, augment="translation,cutout",
                          g_width=8, d_width=8, latent_dim=8),
    # a spectrally normalised conditional hinge D (SNGAN): its power-iteration vectors must resume too
    "dcgan-spectral": dict(variant="dcgan", objective="hinge", data="digits", batch_size=32, conditional=True,
                           d_norm="spectral", g_width=8, d_width=8, latent_dim=8),
    # conditional BatchNorm in G (per-class scale and shift) with that D: the self-conditioned DCGAN card's networks
    "dcgan-cbn": dict(variant="dcgan", objective="hinge", data="digits", batch_size=32, conditional=True,
                      g_norm="conditional", d_norm="spectral", g_width=8, d_width=8, latent_dim=8),
    # self-conditioned on k-means clusters (recomputed on resume), G-step clusters drawn from their shares
    "mlp-selfcond-fresh-noise": dict(variant="mlp", data="ring8", data_options={"n": 500, "clusters": 8},
                                     batch_size=64, conditional=True, reuse_fake=False, g_hidden=[32], d_hidden=[32]),
    # the regularisers as run options: R1 and R2's double backward, the gradient penalty's random alphas
    "mlp-regularisers": dict(variant="mlp", objective="non-saturating", data="ring8", data_options={"n": 500},
                             batch_size=64, r1=1.0, r2=0.5, gp=2.0, g_hidden=[32], d_hidden=[32]),
    # lazy R1 and path length (every 7th D step of K = 2, every 5th G step): the schedule and the terms' last
    # logged values must resume too (the resume at step 12 falls inside both periods: D indices 24, 25 and G
    # step 12 skip, and log the values of D index 21 and G step 10)
    "mlp-lazy-r1-pl": dict(variant="mlp", objective="non-saturating", data="ring8", data_options={"n": 500},
                           batch_size=64, d_steps=2, r1=1.0, r1_every=7, pl=0.5, pl_every=5, g_hidden=[32],
                           d_hidden=[32]),
    # the path-length regulariser (--pl) on a conditional conv G: its running mean and its noise must resume too
    "dcgan-path-length": dict(variant="dcgan", objective="non-saturating", data="digits", batch_size=32,
                              conditional=True, pl=2.0, g_width=8, d_width=8, latent_dim=8),
    # InfoGAN: codes drawn from z, a Q head on D's trunk, the mutual-information term in both losses
    "infogan": dict(variant="infogan", objective="non-saturating", data="digits", batch_size=32, g_hidden=32, g_width=8,
                    d_width=8, d_hidden=32, q_hidden=16, noise=4, g_lr=1e-3, d_lr=2e-4),
    # VAE: the reparameterisation noise must resume too
    "vae": dict(variant="vae", data="digits", batch_size=64, hidden=[32], latent_dim=4),
}


def _tensors(folder):
    from safetensors.torch import load_file

    return {f.name: load_file(str(f)) for f in sorted(Path(folder).glob("*.safetensors"))}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_is_exact(tmp_path, case):
    kw = dict(RESUME_CASES[case])
    n = 12
    common = dict(progress=False, log_every=4, checkpoint_every=4, sample_every=6, seed=3)
    train(**kw, out=tmp_path / "straight", steps=2 * n, **common)
    train(**kw, out=tmp_path / "split", steps=n, **common)
    model = train(out=tmp_path / "split", resume=True, steps=2 * n, **common)
    assert model.meta["training"]["steps_done"] == 2 * n
    a, b = _tensors(tmp_path / "straight"), _tensors(tmp_path / "split")
    assert a.keys() == b.keys() and a
    for fname in a:
        for key in a[fname]:
            assert torch.equal(a[fname][key], b[fname][key]), (fname, key)
        # and the same bytes: equal weights hash the same (safetensors' own metadata order varies)
        assert (tmp_path / "straight" / fname).read_bytes() == (tmp_path / "split" / fname).read_bytes(), fname
    # optimiser state and RNG states too
    sa, _ = ckpt.read(ckpt.find_latest(tmp_path / "straight" / "checkpoints"))
    sb, _ = ckpt.read(ckpt.find_latest(tmp_path / "split" / "checkpoints"))
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    # the metric lines match step for step (same losses after the resume)
    la = [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in _logs(tmp_path / "straight")]
    lb = [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in _logs(tmp_path / "split")]
    assert la == lb


@pytest.mark.reliability("input")
def test_resume_refuses_incompatible_arguments(tmp_path):
    out = tmp_path / "run"
    train("mlp", data="ring8", out=out, steps=4, batch_size=32, progress=False, **SMALL)
    with reliability.refuses("resume arguments", ConfigError, "batch_size 16 differs from the checkpoint's 32"):
        train(out=out, resume=True, steps=8, batch_size=16)
    with reliability.refuses("resume arguments", ConfigError, "objective"):
        train("mlp", "hinge", out=out, resume=True, steps=8)
    with reliability.refuses("resume arguments", ConfigError, r'augment \["translation"\] differs from the checkpoint'):
        train(out=out, resume=True, steps=8, augment="translation")
    with reliability.refuses("resume arguments", ConfigError, "already holds a training run"):
        train("mlp", data="ring8", out=out, steps=4, progress=False)
    with reliability.refuses("resume arguments", ConfigError, "no checkpoint"):
        train(out=tmp_path / "empty", resume=True, steps=4)
    with reliability.refuses("resume arguments", ConfigError, "past steps"):
        train(out=out, resume=True, steps=2, progress=False)
    # compatible: same arguments repeated, more steps
    m = train("mlp", data="ring8", out=out, resume=True, steps=8, batch_size=32, progress=False, **SMALL)
    assert m.meta["training"]["steps_done"] == 8


# -- SIGKILL -----------------------------------------------------------------------------------------------
def _check_folder_is_sound(out: Path):
    """Every file is complete and valid, or a hidden temp file that nothing reads."""
    reliability.check_tree(out)  # (metrics.jsonl: a kill can at most leave a partial last line)
    latest = ckpt.find_latest(out / "checkpoints")
    assert latest is not None
    ckpt.read(latest)  # digest matches
    return latest


@pytest.mark.slow
@pytest.mark.reliability("fault")
def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ganzoo.cli", "train", "mlp", "--data", "ring8", "--out", str(out),
           "--steps", "1000000", "--checkpoint-every", "7", "--log-every", "3", "--sample-every", "50",
           "--batch-size", "32", "--set", "g_hidden=[32]", "--set", "d_hidden=[32]", "--no-progress", "--seed", "1"]
    proc = subprocess.Popen(cmd, env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def two_checkpoints():  # `latest` (what a resume trusts) names step 21 or later
        try:
            name = (out / "checkpoints" / "latest").read_text().strip()
        except OSError:
            return False
        return name.startswith("step-") and int(name[5:]) >= 21

    # killed while it runs (test_faults.py kills it half-way through a checkpoint)
    reliability.kill_when(proc, two_checkpoints, what="two checkpoints", timeout=60,
                          kind="kill -9 (mid-training, at no chosen point)")
    assert proc.returncode == -signal.SIGKILL
    latest = _check_folder_is_sound(out)
    step = int(latest.name[5:])
    assert step >= 21 and step % 7 == 0
    assert len(list((out / "checkpoints").glob("step-*"))) <= 3  # keep=2 (+1 being written at most)

    done = subprocess.run([*cmd[:4], "--out", str(out), "--resume", "--steps", str(step + 10), "--no-progress"],
                          env=_subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_folder_is_sound(out)
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]  # temp leftovers cleaned
    assert sorted(p.name for p in (out / "checkpoints").glob("step-*"))[-1] == f"step-{step + 10:08d}"
    assert (out / "metrics.jsonl").read_text().endswith("\n")
    steps_logged = [r["step"] for r in _logs(out)]
    assert steps_logged == sorted(set(steps_logged)) and steps_logged[-1] == step + 10  # no duplicates after resume
    m = ganzoo.load(out)
    assert m.meta["training"]["steps_done"] == step + 10
    sample = subprocess.run([sys.executable, "-m", "ganzoo.cli", "sample", str(out), "-n", "100",
                             "-o", str(tmp_path / "s.png")], env=_subprocess_env(), capture_output=True, text=True)
    assert sample.returncode == 0, sample.stderr
    assert (tmp_path / "s.png").is_file()


# -- non-finite losses ----------------------------------------------------------------------------------
@pytest.mark.reliability("fault")
def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from ganzoo.objectives import gan

    calls = {"n": 0}
    original = gan.NonSaturating.g_loss

    def poisoned(self, fake):
        calls["n"] += 1
        loss = original(self, fake)
        return loss * float("nan") if calls["n"] >= 23 else loss

    monkeypatch.setattr(gan.NonSaturating, "g_loss", poisoned)
    out = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"non-finite loss at step 23: g_loss = nan.*step-00000020"):
        train("mlp", "non-saturating", data="ring8", out=out, steps=40, batch_size=32, progress=False,
              log_every=5, checkpoint_every=10, **SMALL)
    assert calls["n"] >= 23  # the poisoned loss was computed
    reliability.fault("non-finite loss")
    latest = ckpt.find_latest(out / "checkpoints")
    assert latest.name == "step-00000020"
    m = ganzoo.load(out)  # the folder holds the last good (finite) model
    assert m.meta["training"]["steps_done"] == 20
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert max(r["step"] for r in _logs(out)) == 20


@pytest.mark.slow
@pytest.mark.reliability("fault")
def test_cli_reports_non_finite_and_exits_nonzero(tmp_path):
    out = tmp_path / "run"
    script = (
        "import sys, ganzoo.objectives.gan as g\n"
        "orig = g.Hinge.d_loss\n"
        "g.Hinge.d_loss = lambda self, r, f: orig(self, r, f) + (float('inf') if r.sum() != r.sum() or "
        "getattr(g, 'n', 0) > 6 else 0.0) + (setattr(g, 'n', getattr(g, 'n', 0) + 1) or 0.0)\n"
        "from ganzoo.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    r = subprocess.run([sys.executable, "-c", script, "train", "mlp", "--objective", "hinge", "--data", "ring8",
                        "--out", str(out), "--steps", "50", "--set", "g_hidden=[16]", "--set", "d_hidden=[16]",
                        "--log-every", "3", "--checkpoint-every", "5", "--no-progress"],
                       env=_subprocess_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    err = "\n".join(line for line in r.stderr.splitlines() if not line.startswith("step "))  # the log lines
    assert err.strip() == ("ganzoo: error: non-finite loss at step 8: d_loss = inf; stopped, the last good "
                           f"checkpoint (step-00000005) is in {out / 'checkpoints'}. Lower the learning rate "
                           "(--lr) or try another objective, then --resume"), r.stderr
    reliability.fault("non-finite loss")  # observed: the run reports the injected inf


# -- CUDA graphs: the wrapper's bookkeeping, on the CPU -----------------------------------------------------
@pytest.mark.parametrize("variant,objective,d_steps", [("mlp", "wgan-gp", 2), ("vae", None, None)])
def test_cuda_graph_wrapper_feeds_the_captured_step_on_cpu(tmp_path, graph_stand_ins, variant, objective, d_steps):
    """CudaGraphStep with torch's graph API replaced by stand-ins (the capture runs the step once, as
    the real capture plus its first replay do; later replays run nothing here): the warm-up steps and the
    captured step see the same batches and give the same losses as the plain engine, K batches per
    iteration reach the graph's static buffers in order, and the replays return the captured outputs.
    tests/test_gpu.py runs the real thing where there is a GPU."""
    from ganzoo.training import TrainConfig, Trainer
    from ganzoo.training.cuda_graphs import CudaGraphStep

    replays = graph_stand_ins
    rows, batches = {}, {}
    for mode in ("eager", "graph"):
        t = Trainer(TrainConfig(variant=variant, objective=objective, data="digits" if variant == "vae" else "ring8",
                                out=tmp_path / mode, steps=100, batch_size=16, seed=0, device="cpu",
                                d_steps=d_steps)).setup()
        seen = batches[mode] = []

        def spy(plain_next=t.batches.next, seen=seen):
            x, y = plain_next()
            seen.append(x.clone())
            return x, y

        it = CudaGraphStep(t.iteration, t.device) if mode == "graph" else t.iteration
        rows[mode] = [[float(v) for v in it(spy).values()] for _ in range(CudaGraphStep.WARMUP + 3)]
    n = CudaGraphStep.WARMUP + 1  # eager warm-up steps, then the capture
    assert rows["graph"][:n] == rows["eager"][:n]
    assert rows["graph"][n:] == [rows["graph"][n - 1]] * 2  # replays hand back the captured outputs
    assert len(replays) == 3  # after the capture and at each later iteration
    k = d_steps or 1
    assert len(batches["graph"]) == len(batches["eager"]) == (n + 2) * k  # K fresh batches per iteration
    assert all(torch.equal(a, b) for a, b in zip(batches["graph"], batches["eager"]))


def test_cuda_graph_learning_rate_lives_in_a_tensor_on_cpu(tmp_path):
    """Under --cuda-graphs each optimiser group's learning rate becomes a tensor that the linear schedule
    fills in place (the captured update reads it; tests/test_gpu.py checks the replays on a GPU), and a
    checkpoint stores it as a number."""
    from ganzoo.training import TrainConfig, Trainer
    from ganzoo.training.cuda_graphs import lr_on_device

    t = Trainer(TrainConfig(variant="mlp", objective="hinge", data="ring8", out=tmp_path / "run", steps=10,
                            batch_size=16, seed=0, device="cpu", lr_schedule="linear", g_lr=1e-3, d_lr=4e-3)).setup()
    g_opt, d_opt = t.optimizers["g"], t.optimizers["d"]
    for opt in (g_opt, d_opt):
        lr_on_device(opt, t.device)
    g_lr, d_lr = g_opt.param_groups[0]["lr"], d_opt.param_groups[0]["lr"]
    assert torch.is_tensor(g_lr) and torch.is_tensor(d_lr)
    t.set_learning_rates(0.25)
    assert g_opt.param_groups[0]["lr"] is g_lr and d_opt.param_groups[0]["lr"] is d_lr  # filled in place
    assert float(g_lr) == pytest.approx(2.5e-4) and float(d_lr) == pytest.approx(1e-3)
    meta = ckpt.split_optimizer("opt.g", g_opt.state_dict(), {})
    assert meta["param_groups"][0]["lr"] == pytest.approx(2.5e-4) and isinstance(meta["param_groups"][0]["lr"], float)


# -- the run arguments: one list, TrainConfig ---------------------------------------------------------------
def test_cli_options_and_train_keywords_come_from_train_config():
    """Every TrainConfig field with an option is in `ganzoo train --help`, and every train() keyword that is a
    field reaches the run (not the variant's config): the three lists cannot drift apart."""
    import dataclasses

    from click.testing import CliRunner

    from ganzoo.cli import cli
    from ganzoo.training import TrainConfig

    help_text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    opts = [f for f in dataclasses.fields(TrainConfig) if f.metadata["cli"]]
    assert len(opts) >= 30
    for f in opts:
        for decl in f.metadata["cli"]["decls"]:
            assert decl.replace("/", " / ") in help_text, decl
    assert set(TrainConfig.keywords()) == {f.name for f in dataclasses.fields(TrainConfig)} - {"optimizer", "world_size"}
    stored = TrainConfig(variant="mlp", steps=3).to_args()
    assert "out" not in stored and "lr" not in stored and stored["world_size"] == 1


# -- errors a user can cause ----------------------------------------------------------------------------
@pytest.mark.reliability("input")
def test_clear_errors(tmp_path):
    from ganzoo.data.sources import TensorData

    with reliability.refuses("training arguments", ConfigError, "is not a folder"):
        train("dcgan", data=f"mnist:{tmp_path / 'nope'}", out=tmp_path / "a", steps=1)
    bad = tmp_path / "badmnist"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 64)
    (bad / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 64)
    with reliability.refuses("training arguments", ConfigError, "bad magic"):
        train("dcgan", data=f"mnist:{bad}", out=tmp_path / "b", steps=1)
    odd = TensorData(torch.rand(16, 1, 11, 11), name="odd")
    with reliability.refuses("training arguments", ConfigError, r"cannot be built with this config for samples of shape \[1, 11, 11\].*image size 11"):
        train("dcgan", data=odd, out=tmp_path / "c", steps=1, batch_size=8)
    with reliability.refuses("training arguments", ConfigError, "does not match the data"):
        train("mlp", data="digits", out=tmp_path / "d", steps=1, sample_shape=[1, 28, 28])
    with reliability.refuses("training arguments", ConfigError, "does not work with objective"):
        train("vae", "wgan", data="digits", out=tmp_path / "e", steps=1)
    with reliability.refuses("training arguments", ConfigError, "no class labels"):
        train("mlp", data="ring8", out=tmp_path / "f", steps=1, conditional=True)
    with reliability.refuses("training arguments", ConfigError, "larger than the data"):
        train("mlp", data=odd, out=tmp_path / "g", steps=1, batch_size=64)
    with reliability.refuses("training arguments", ConfigError, "steps N or epochs E"):
        train("mlp", data="ring8", out=tmp_path / "h")
    with reliability.refuses("training arguments", ConfigError, r"^train: unknown keyword 'nonsense'\. Run options: .*; variant 'mlp''s config keys: d_hidden"):
        train("mlp", data="ring8", out=tmp_path / "i", steps=1, nonsense=3)
    with reliability.refuses("training arguments", ConfigError, r"^cuda_graphs needs a CUDA device \(device cuda\); on CPU drop it$"):
        train("mlp", data="ring8", out=tmp_path / "j", steps=1, device="cpu", cuda_graphs=True)
    with reliability.refuses("training arguments", ConfigError, r"^precision bf16 needs a CUDA device"):
        train("mlp", data="ring8", out=tmp_path / "k", steps=1, device="cpu", precision="bf16")
    with reliability.refuses("training arguments", ConfigError, r"^augment translation transforms images; 'ring8' holds points"):
        train("mlp", data="ring8", out=tmp_path / "l", steps=1, augment="translation")
    with reliability.refuses("training arguments", ConfigError, r"^augment transforms what a GAN's discriminator sees; 'vae' is a VAE"):
        train("vae", data="digits", out=tmp_path / "m", steps=1, augment="cutout")
    with reliability.refuses("training arguments", ConfigError, r"^augment: unknown policy 'flip'; choose from translation, cutout"):
        train("dcgan", data="digits", out=tmp_path / "n", steps=1, augment="translation,flip")
    # a Python caller reads the keyword it passed, not the CLI's option; a mistyped run option is named as one
    with reliability.refuses("training arguments", ConfigError, r"^steps must be in \(0, 1000000000\], not -1$"):
        train("mlp", data="ring8", out=tmp_path / "o", steps=-1)
    with reliability.refuses("training arguments", ConfigError, r"^train: unknown keyword 'batchsize'; did you mean "
                             r"'batch_size'\? Run options: "):
        train("mlp", data="ring8", out=tmp_path / "p", steps=1, batchsize=3)
    assert not any((tmp_path / x).exists() for x in "abcdefghijklmnop")  # nothing written before validation


def test_cli_train_epochs_and_sample(tmp_path):
    out = tmp_path / "digits"
    r = cli("train", "mlp", "--data", "digits", "--out", out, "--epochs", "1", "--batch-size", "128",
            "--set", "g_hidden=[32]", "--set", "d_hidden=[32]", "--conditional", "--no-progress", "--ema", "0.9")
    assert r.code == 0, r.err
    m = ganzoo.load(out)
    assert m.num_classes == 10 and m.meta["training"]["steps"] == 1797 // 128
    assert m.meta["dataset"] == "digits" and m.meta["labels"] == [str(i) for i in range(10)]
    assert m.generator.output_range == (-1.0, 1.0)   # tanh for images: data were mapped to [-1, 1]
    r = cli("sample", out, "-o", tmp_path / "x.png", "--label", "3")
    assert r.code == 0, r.err


@pytest.mark.reliability("input")
def test_cli_resume_takes_data_and_objective_options_from_the_checkpoint(tmp_path):
    """`ganzoo train --resume --out DIR --steps N` needs only those flags: the options a run was started
    with (--data-opt, --objective-set, --set, --conditional) come from the checkpoint. Changing one is refused."""
    out = tmp_path / "run"
    first = ["train", "mlp", "--objective", "wgan-gp", "--data", "ring8", "--data-opt", "n=500",
             "--data-opt", "clusters=8", "--conditional", "--objective-set", "gp_weight=5", "--out", str(out),
             "--steps", "6", "--checkpoint-every", "3", "--batch-size", "32", "--set", "g_hidden=[32]",
             "--set", "d_hidden=[32]", "--no-progress"]
    r = cli(*first)
    assert r.code == 0, r.err
    r = cli("train", "--resume", "--out", out, "--steps", "9", "--no-progress")
    assert r.code == 0, r.err
    m = ganzoo.load(out)
    assert m.meta["training"]["steps_done"] == 9 and m.num_classes == 8
    r = cli("train", "--resume", "--out", out, "--steps", "12", "--data-opt", "n=400", "--no-progress")
    assert r.code == 1 and r.err.startswith("ganzoo: error: --resume: --data-opt ") and r.err.count("\n") == 1
    assert "differs from the checkpoint" in r.err
    assert ganzoo.load(out).meta["training"]["steps_done"] == 9


def test_resume_rebuilds_the_saved_model_when_the_defaults_changed(tmp_path, monkeypatch):
    """A run resumes the model it saved (its config.json), not whatever the variant's defaults build today: the
    mlp's image sizes are "auto" defaults, and a release that changes them must not break resuming a run
    started before it (here they change between the two halves; the result equals the uninterrupted run)."""
    from ganzoo_plugins.mlp import model as mlp_model

    common = dict(variant="mlp", data="digits", batch_size=32, conditional=True, progress=False, log_every=4,
                  checkpoint_every=4, sample_every=8, seed=1)
    train(**common, out=tmp_path / "straight", steps=8)
    train(**common, out=tmp_path / "split", steps=4)
    monkeypatch.setitem(mlp_model.AUTO, "g_hidden", ([256, 256], [64]))   # what a later release might pick
    monkeypatch.setitem(mlp_model.AUTO, "d_hidden", ([256, 256], [64]))
    assert ganzoo.create("mlp", sample_shape=[1, 8, 8]).config["g_hidden"] == [64]
    model = train(out=tmp_path / "split", resume=True, steps=8, progress=False)
    assert model.config["g_hidden"] == [256, 512] and model.meta["training"]["steps_done"] == 8
    a, b = _tensors(tmp_path / "straight"), _tensors(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[f][k], b[f][k]) for f in a for k in a[f])
