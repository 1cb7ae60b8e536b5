"""A model's learned prior (ganzoo.interfaces.Prior, the fourth component): the first stage trains and saves no
prior, ``--stage prior --init DIR`` fits one to the fixed autoencoder, both stages resume bit for bit, the prior
is saved, loaded with the generator (it draws the generator's latents), pinned, pushed and pulled. The VQ-VAE
plugin (a PixelCNN over its codes) is the example."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo import hub as ghub
from ganzoo.api import entry_folder
from ganzoo.errors import ConfigError, IntegrityError
from ganzoo.fsutil import sha256_file
from ganzoo.registry import ModelEntry
from ganzoo.training import TrainConfig, Trainer
from ganzoo.training import checkpoint as ckpt
from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"sample_shape": [1, 8, 8], "codes": 8, "code_dim": 4, "width": 8, "blocks": 1, "prior_width": 8,
         "prior_layers": 2}
COMMON = dict(data="digits", batch_size=16, progress=False, log_every=2, checkpoint_every=2, sample_every=100, seed=1)


def _tensors(folder):
    from safetensors.torch import load_file

    return {f.name: load_file(str(f)) for f in sorted(Path(folder).glob("*.safetensors"))}


def _same(a, b):
    return a.keys() == b.keys() and all(a[k].keys() == b[k].keys() and all(torch.equal(a[k][t], b[k][t])
                                                                            for t in a[k]) for k in a)


def _one_thread(train):
    """Run ``train`` on one intra-op thread, as the tests that compare with it run (module fixtures come before
    the function-scoped ``one_thread``; another thread count sums convolutions in another order)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train()
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A first stage, 4 steps."""
    out = tmp_path_factory.mktemp("prior") / "s1"
    _one_thread(lambda: ganzoo.train("vqvae", out=out, steps=4, config=SMALL, **COMMON))
    return out


@pytest.fixture(scope="module")
def second(first):
    """The prior stage on it, 4 steps."""
    out = first.parent / "s2"
    _one_thread(lambda: ganzoo.train(init=str(first), stage="prior", out=out, steps=4, **COMMON))
    return out


def test_the_first_stage_trains_and_saves_no_prior(first, tmp_path):
    cfg = json.loads((first / "config.json").read_text())
    assert sorted(cfg["components"]) == ["encoder", "generator"] and not (first / "prior.safetensors").exists()
    assert ganzoo.load(first).prior is None and ganzoo.load(first).generator.prior is None
    ganzoo.train("vqvae", out=tmp_path / "split", steps=2, config=SMALL, **COMMON)   # EMA codebook, restarts: exact
    ganzoo.train(out=tmp_path / "split", resume=True, steps=4, progress=False)
    assert _same(_tensors(first), _tensors(tmp_path / "split"))


def test_the_prior_stage_fits_the_prior_and_keeps_the_autoencoder(first, second, tmp_path):
    a, b = _tensors(first), _tensors(second)
    assert sorted(b) == ["encoder.safetensors", "generator.safetensors", "prior.safetensors"]
    assert _same({k: a[k] for k in a}, {k: b[k] for k in a})            # encoder and codebook untouched
    cfg = json.loads((second / "config.json").read_text())
    assert cfg["training"]["stage"] == "prior" and cfg["training"]["init"] == str(first)
    rows = [json.loads(ln) for ln in (second / "metrics.jsonl").read_text().splitlines()]
    nll = [r["nll"] for r in rows if "nll" in r]
    assert len(nll) == 2 and all(v > 0 for v in nll)
    fresh = ganzoo.create("vqvae", **SMALL).prior.state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in b["prior.safetensors"].items())   # it trained
    # the prior stage resumes bit for bit
    ganzoo.train(init=str(first), stage="prior", out=tmp_path / "split", steps=2, **COMMON)
    ganzoo.train(out=tmp_path / "split", resume=True, steps=4, progress=False)
    assert _same(b, _tensors(tmp_path / "split"))
    sa, _ = ckpt.read(ckpt.find_latest(second / "checkpoints"))
    sb, _ = ckpt.read(ckpt.find_latest(tmp_path / "split" / "checkpoints"))
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_generator_draws_its_latents_from_the_prior(second):
    m = ganzoo.load(second, components=["generator"])          # the generator brings its prior
    assert sorted(m.components) == ["generator", "prior"] and m.generator.prior is m.prior
    z = m.generator.sample_latent(5, seed=3)
    codes = m.generator.codes(z)
    assert torch.equal(z, m.generator.embed_codes(codes))      # every latent is a grid of codebook vectors
    assert torch.equal(z, m.generator.sample_latent(5, seed=3))
    x = m.sample(5, seed=3)
    assert torch.equal(x, m.generator(z)) and torch.equal(x, m.sample(5, seed=3))
    with pytest.raises(ConfigError, match=r"takes no sampling option 'truncation' \(its options: temperature\)"):
        m.sample(2, seed=0, truncation=0.5)
    with pytest.raises(ConfigError, match="takes no sampling option 'truncation'"):
        m.generator.sample_latent(2, seed=0, truncation=0.5)
    cold = m.sample(5, seed=3, temperature=0.5)                 # the prior's own option: another draw
    assert not torch.equal(cold, x) and torch.equal(cold, m.with_sampling(temperature=0.5).sample(5, seed=3))
    assert set(m.generator.sampling_options) == {"temperature"}
    m.generator.attach_prior(None)                               # back to N(0, I)
    assert not torch.equal(m.generator.sample_latent(5, seed=3), z) and "truncation" in m.generator.sampling_options
    res = cli("sample", str(second), "-n", "4", "-o", str(second.parent / "s.npy"))
    assert res.code == 0, res.err
    import numpy as np

    np.testing.assert_array_equal(np.load(second.parent / "s.npy"), ganzoo.load(second).sample_unit(4, seed=0).numpy())


def test_stage_options_are_checked(first, tmp_path):
    def go(**kw):
        return Trainer(TrainConfig(out=str(tmp_path / "x"), steps=2, **{**COMMON, **kw})).setup()

    with pytest.raises(ConfigError, match="--stage prior trains a later stage of a model: pass --init MODEL"):
        go(variant="vqvae", stage="prior")
    with pytest.raises(ConfigError, match="--ema acts on the model's first stage"):
        go(init=str(first), stage="prior", ema=0.99)
    ganzoo.train("ae", out=tmp_path / "ae", steps=1, config={"hidden": [8], "latent_dim": 2, "sample_shape": [1, 8, 8]},
                 **COMMON)
    with pytest.raises(ConfigError, match="variant 'ae' has no prior component to train"):
        go(init=str(tmp_path / "ae"), stage="prior")
    res = cli("train", "--stage", "posterior", "--init", str(first), "--out", str(tmp_path / "y"), "--steps", "1")
    assert res.code == 2 and "'posterior' is not" in res.err and not (tmp_path / "y").exists()


def test_the_prior_is_pinned_pushed_and_pulled(second, hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub.token)
    repo = f"org/vq-{os.getpid()}-{tmp_path.name}"
    sha = ghub.push(second, repo)
    monkeypatch.delenv("HF_TOKEN")
    hub.reset()
    assert "prior.safetensors" in ghub.list_files(repo)
    here = ganzoo.load(second)
    there = ganzoo.load(f"hf://{repo}", components=["generator"])
    got = {p.rsplit("/", 1)[-1] for meth, p in hub.requests if meth == "GET"}
    assert {"generator.safetensors", "prior.safetensors"} <= got and "encoder.safetensors" not in got
    assert torch.equal(there.sample(4, seed=1), here.sample(4, seed=1))
    pins = {f: sha256_file(second / f) for f in ("config.json", "generator.safetensors", "prior.safetensors")}

    def entry(files):
        return ModelEntry(name="toy-vq", variant="vqvae", objective="reconstruction", dataset="digits",
                          source={"repo": repo, "revision": sha, "files": files})

    assert (entry_folder(entry(pins), components=["generator"]) / "prior.safetensors").is_file()
    with pytest.raises(IntegrityError, match="prior.safetensors has no sha256 pin"):
        entry_folder(entry({k: v for k, v in pins.items() if k != "prior.safetensors"}), components=["generator"])
    with pytest.raises(IntegrityError, match="prior.safetensors has sha256"):
        entry_folder(entry(dict(pins, **{"prior.safetensors": "0" * 64})), components=["generator"])
