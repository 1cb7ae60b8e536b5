"""``--ema``: the update is its formula (with the warm-up), BatchNorm statistics are recomputed for the averaged
weights, both generators are kept (``--export raw|ema``), and on MNIST the average is not worse than the trained
generator by the project's judge."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.training import checkpoint as ckpt
from ganzoo.training.ema import EMA, STANDING_BATCHES, STANDING_SEED, warmup_decay
from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")


class _G(nn.Module):
    """Linear -> BatchNorm -> a buffer that is not a normalisation statistic."""

    def __init__(self):
        super().__init__()
        self.lin, self.bn = nn.Linear(3, 4), nn.BatchNorm1d(4)
        self.register_buffer("other", torch.zeros(4))

    def forward(self, z, y=None):
        return self.bn(self.lin(z)) + self.other


def test_warmup_decay_is_tensorflows_num_updates_formula():
    assert warmup_decay(0.999, 0) == 0.1                       # (1 + 0) / (10 + 0)
    assert warmup_decay(0.999, 8) == 0.5                       # 9 / 18
    assert warmup_decay(0.999, 10**6) == 0.999                 # the decay itself once the ramp passes it
    assert warmup_decay(0.5, 8) == 0.5 and warmup_decay(0.5, 9) == 0.5   # min(decay, ...)


def test_one_update_equals_its_formula_exactly():
    torch.manual_seed(0)
    G = _G()
    ema = EMA({"generator": G}, 0.6)
    for t in range(14):                      # through the ramp (beta_t < 0.6 for t < 12.5) and past it
        with torch.no_grad():
            for p in G.parameters():
                p.add_(torch.randn_like(p))
            G.bn.running_mean.add_(1.0)
            G.other.add_(1.0)
        before = [p.detach().clone() for p in ema.module.parameters()]
        ema.update()
        beta = min(0.6, (1 + t) / (10 + t))
        for e, b, p in zip(ema.module.parameters(), before, G.parameters()):
            assert torch.equal(e, torch.lerp(b, p.detach(), torch.tensor(1 - beta, dtype=torch.float32))), t
            expect = b.double() * beta + p.detach().double() * (1 - beta)
            assert torch.allclose(e.double(), expect, rtol=0, atol=1e-6), t
        assert int(ema.count) == t + 1
        assert torch.equal(ema.module.other, G.other)          # other buffers follow the trained G
        assert torch.equal(ema.module.bn.running_mean, torch.zeros(4))   # BN statistics are not copied


def test_refresh_recomputes_batchnorm_statistics_for_the_average_without_touching_the_rng():
    torch.manual_seed(0)
    G = _G()
    with torch.no_grad():
        for p in G.parameters():
            p.add_(torch.randn_like(p))

    def standing_pass(modules, n):
        modules["generator"](torch.randn(n, 3))

    ema = EMA({"generator": G}, 0.999, standing_pass=standing_pass)
    ema.update()
    rng = torch.get_rng_state()
    ema.refresh(32)
    assert torch.equal(torch.get_rng_state(), rng)             # the training run's random stream is untouched
    torch.manual_seed(STANDING_SEED)
    with torch.no_grad():
        h = [ema.module.lin(torch.randn(32, 3)) for _ in range(STANDING_BATCHES)]
    mean = torch.stack([b.mean(0) for b in h]).mean(0)
    var = torch.stack([b.var(0, unbiased=True) for b in h]).mean(0)
    assert torch.allclose(ema.module.bn.running_mean, mean, atol=1e-6)
    assert torch.allclose(ema.module.bn.running_var, var, atol=1e-5)
    assert ema.module.bn.momentum == G.bn.momentum            # restored after the cumulative pass
    before = ema.module.bn.running_mean.clone()
    ema.refresh(32)                                            # nothing changed since: nothing recomputed
    assert torch.equal(ema.module.bn.running_mean, before)


def _run(tmp_path, *extra):
    out = tmp_path / "run"
    cli("train", "dcgan", "--data", "digits", "--out", str(out), "--steps", "6", "--batch-size", "32",
        "--set", "g_width=8", "--set", "d_width=8", "--set", "latent_dim=8", "--no-progress", *extra)
    return out


def _folder_generator(out):
    from safetensors.torch import load_file

    return load_file(str(out / "generator.safetensors"))


def test_export_raw_or_ema_and_both_in_the_checkpoint(tmp_path):
    out = _run(tmp_path, "--ema", "0.999")
    tensors, meta = ckpt.read(ckpt.find_latest(out / "checkpoints"))
    assert meta["args"]["export"] == "ema" and float(tensors["ema.count"]) == 6
    folder = _folder_generator(out)
    params = [k for k in folder if "running_" not in k and "num_batches" not in k]
    assert params and all(torch.equal(folder[k], tensors[f"ema.generator.{k}"]) for k in params)
    assert not all(torch.equal(folder[k], tensors[f"model.generator.{k}"]) for k in params)
    # BatchNorm statistics of the folder's generator are its own (recomputed), not the trained G's
    stats = [k for k in folder if k.endswith("running_mean")]
    assert stats and not all(torch.equal(folder[k], tensors[f"model.generator.{k}"]) for k in stats)
    assert ganzoo.load(out).meta["training"]["export"] == "ema"
    # switch the finished run's folder to the trained generator: no more steps, the folder written again
    r = cli("train", "--resume", "--out", str(out), "--steps", "6", "--export", "raw", "--no-progress")
    assert r.code == 0, (r.out + r.err)
    assert "nothing to train" in r.out and "(generator: the trained one)" in r.out, r.out + r.err
    folder = _folder_generator(out)
    assert all(torch.equal(folder[k], tensors[f"model.generator.{k}"]) for k in folder)
    assert ganzoo.load(out).meta["training"]["export"] == "raw"


def test_export_ema_needs_ema(tmp_path):
    r = cli("train", "dcgan", "--data", "digits", "--out", str(tmp_path / "x"), "--steps", "2", "--export", "ema")
    assert r.code == 1, (r.out + r.err)
    assert "--export ema exports the moving average of G; train with --ema" in (r.out + r.err)
    assert not (tmp_path / "x").exists()


def test_an_autoencoders_encoder_is_averaged_with_its_decoder(tmp_path):
    out = tmp_path / "ae"
    ganzoo.train("ae", data="digits", out=out, steps=5, batch_size=32, ema=0.99, progress=False, hidden=[16],
                 latent_dim=4)
    tensors, _ = ckpt.read(ckpt.find_latest(out / "checkpoints"))
    assert any(k.startswith("ema.encoder.") for k in tensors) and any(k.startswith("ema.generator.") for k in tensors)
    m = ganzoo.load(out)
    enc = m.encoder.state_dict()
    assert all(torch.equal(v, tensors[f"ema.encoder.{k}"]) for k, v in enc.items())


# -- the average on MNIST, by the judge ----------------------------------------------------------------
@pytest.mark.slow
def test_ema_is_not_worse_than_the_trained_generator_on_a_short_mnist_run(tmp_path, mnist_dir):
    """The README's DCGAN with --ema 0.999, cut to 400 steps (where the average without a warm-up drew noise):
    the judge's Frechet ratio of the average is within the draws' standard error of the trained G's (or
    better), and it finds as many classes."""
    from ganzoo.training import TrainConfig, Trainer

    data = f"mnist:{mnist_dir}"
    t = Trainer(TrainConfig(variant="dcgan", data=data, out=tmp_path / "run", steps=400, ema=0.999, seed=0,
                            progress=False))
    ema = t.fit()
    t.config = dataclasses.replace(t.config, export="raw")
    raw = t.export_model().eval()
    scores = {name: ganzoo.evaluate(m, data, metrics=["judge"])["metrics"]["judge"]
              for name, m in (("ema", ema), ("raw", raw))}
    e, r = scores["ema"], scores["raw"]
    se = math.hypot(e["fd_ratio_sd"], r["fd_ratio_sd"]) / math.sqrt(e["draws"])
    assert e["fd_ratio"] <= r["fd_ratio"] + 2 * se, scores
    assert e["classes"] >= r["classes"], scores
