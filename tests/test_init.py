"""``ganzoo train --init MODEL``: a run that starts from a model's weights (a folder, a zoo name)."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError, WeightsError
from ganzoo.training import TrainConfig, Trainer
from helpers import cli

SMALL = dict(g_hidden=[32, 32], d_hidden=[32, 32])
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("init") / "base"
    ganzoo.train("mlp", "hinge", data="ring8", out=out, steps=30, batch_size=64, seed=3, progress=False, **SMALL)
    return out


def _equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_init_starts_from_every_component_and_takes_the_models_run(trained, tmp_path):
    base = ganzoo.load(trained)
    t = Trainer(TrainConfig(init=str(trained), data="ring8", out=str(tmp_path / "b"), steps=5, seed=9)).setup()
    assert t.config.variant == "mlp" and t.config.objective == "hinge"
    assert t.model.config["g_hidden"] == [32, 32]          # the model's config, not the variant's defaults
    for name in ("generator", "discriminator"):
        assert _equal(t.model.components[name], base.components[name]), name
    fresh = Trainer(TrainConfig(variant="mlp", objective="hinge", data="ring8", out=str(tmp_path / "c"), steps=5,
                                seed=9, config=SMALL)).setup()
    assert not _equal(fresh.model.generator, base.generator)  # (so the equality above is not the seed's doing)


def test_init_from_a_zoo_model_keeps_its_generator_and_says_the_discriminator_is_fresh(tmp_path):
    res = cli("train", "--init", "ring8-mlp-nonsat", "--data", "ring8", "--out", str(tmp_path / "z"), "--steps", "3",
              "--no-progress")
    assert res.code == 0, res.err
    assert "has no discriminator; it starts from a fresh initialisation" in res.err
    record = json.loads((tmp_path / "z" / "config.json").read_text())["training"]
    assert record["init"] == "ring8-mlp-nonsat"
    t = Trainer(TrainConfig(init="ring8-mlp-nonsat", data="ring8", out=str(tmp_path / "w"), steps=3)).setup()
    assert _equal(t.model.generator, ganzoo.load("ring8-mlp-nonsat").generator)


def test_init_refuses_another_variant_a_changed_shape_and_a_label_mismatch(trained, tmp_path):
    def go(**kw):
        return Trainer(TrainConfig(init=str(trained), data="ring8", out=str(tmp_path / "x"), steps=3, **kw)).setup()

    with pytest.raises(ConfigError, match="it is a 'mlp' model, not 'dcgan'"):
        go(variant="dcgan")
    with pytest.raises(WeightsError, match=r"\(generator\): tensor '.*' has shape"):
        go(config={"g_hidden": [16, 32]})
    with pytest.raises(ConfigError, match="the model is unconditional; drop --conditional"):
        Trainer(TrainConfig(init=str(trained), data="ring8", out=str(tmp_path / "y"), steps=3, conditional=True,
                            data_options={"clusters": 4})).setup()
    res = cli("train", "--init", str(tmp_path / "nothing"), "--data", "ring8", "--out", str(tmp_path / "n"),
              "--steps", "3")
    assert res.code == 1 and res.err.startswith(f"ganzoo: error: --init {tmp_path / 'nothing'}: ")
    assert not (tmp_path / "n").exists()


def test_a_resumed_init_run_keeps_its_init_and_refuses_another(trained, tmp_path):
    out = tmp_path / "r"
    assert cli("train", "--init", str(trained), "--data", "ring8", "--out", str(out), "--steps", "4",
               "--no-progress").code == 0
    res = cli("train", "--resume", "--out", str(out), "--steps", "6", "--no-progress")
    assert res.code == 0, res.err
    assert json.loads((out / "config.json").read_text())["training"]["init"] == str(trained)
    res = cli("train", "--resume", "--out", str(out), "--steps", "8", "--init", "ring8-mlp-nonsat")
    assert res.code == 1 and "--init ring8-mlp-nonsat differs from the checkpoint's" in res.err
