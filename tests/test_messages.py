"""What users read must be true (issue 48): labels by name or a clear refusal, strict JSON in metrics.jsonl, a
generator-only folder still scored by the metrics that need only its generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError
from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")
ZOO = Path(ganzoo.__file__).parents[1] / "plugins" / "zoo" / "models"


def test_sample_takes_class_names_and_refuses_other_labels_in_one_line():
    m = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4, num_classes=3,
                      labels=["cat", "dog", "cow"]).eval()
    assert torch.equal(m.sample(4, seed=0, y="dog"), m.sample(4, seed=0, y=1))
    assert torch.equal(m.sample(2, seed=0, y=["cow", 0]), m.sample(2, seed=0, y=[2, 0]))
    with pytest.raises(ConfigError, match=r"^y='7' is not a label of this model; pass one of its class names "
                                          r"\(cat, dog, cow\) or a class index 0\.\.2$"):
        m.sample(4, y="7")
    for bad in (3.5, {"a": 1}, [0.5, 1.0]):
        with pytest.raises(ConfigError, match=r"^y must be class indices \(an int, a list or a tensor of ints\)"):
            m.sample(2, y=bad)


def test_metrics_jsonl_is_strict_json_with_null_for_non_finite_numbers(tmp_path):
    from ganzoo.training import TrainConfig, Trainer

    t = Trainer(TrainConfig(variant="mlp", data="ring8", out=tmp_path / "r", steps=1, progress=False,
                            config={"g_hidden": [8], "d_hidden": [8]}))
    t.fit()
    t.monitor.log({"step": 1, "event": "eval", "mode_distance": float("inf"), "x": float("nan")})

    def refuse(name):
        raise ValueError(f"bare {name} in metrics.jsonl")

    rows = [json.loads(line, parse_constant=refuse) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["mode_distance"] is None and rows[-1]["x"] is None
    t.monitor.curves()   # the curves skip what is missing


@pytest.mark.slow
def test_eval_of_a_generator_only_folder_scores_what_needs_only_the_generator(tmp_path):
    folder = tmp_path / "vae"
    folder.mkdir()
    for name in ("config.json", "generator.safetensors"):
        shutil.copy(ZOO / "digits-vae" / name, folder / name)
    r = cli("eval", folder, "--data", "digits", "-n", "200", "--draws", "1", "--json")
    assert r.code == 0, r.err
    assert "encoder" in r.err and "scoring the generator alone" in r.err
    metrics = json.loads(r.out)["metrics"]
    assert "judge" in metrics and "elbo" not in metrics


def test_the_same_weights_are_the_same_bytes_in_every_process(tmp_path):
    """safetensors writes its metadata in hash-map order, which differs between processes; ganzoo's files do not."""
    import hashlib
    import subprocess
    import sys

    code = ("import sys, torch, ganzoo; torch.manual_seed(0); "
            "m = ganzoo.create('dcgan', sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4); "
            "m.save(sys.argv[1])")
    digests = set()
    for i in range(4):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(i))], check=True, timeout=300)
        digests.add(hashlib.sha256((tmp_path / str(i) / "generator.safetensors").read_bytes()).hexdigest())
    assert len(digests) == 1
    from safetensors.torch import load_file

    torch.manual_seed(0)
    m = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4)
    got = load_file(str(tmp_path / "0" / "generator.safetensors"))
    assert got.keys() == m.generator.state_dict().keys()
    assert all(torch.equal(got[k], v) for k, v in m.generator.state_dict().items())


def test_a_run_records_its_data_beside_the_folder_so_eval_works_from_anywhere(tmp_path, monkeypatch):
    """folder:DIR given relative to where training ran: the model folder records it relative to itself, and
    ganzoo eval RUN (no --data) finds it from another directory."""
    from PIL import Image

    work = tmp_path / "work"
    for cls in ("a", "b"):
        (work / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            Image.new("L", (8, 8), color=20 * i + (100 if cls == "b" else 0)).save(work / "imgs" / cls / f"{i}.png")
    monkeypatch.chdir(work)
    assert cli("train", "ae", "--data", "folder:imgs", "--out", "runs/r", "--steps", "1", "--batch-size", "8",
               "--set", "hidden=[8]", "--set", "latent_dim=2", "--no-progress").code == 0
    cfg = json.loads((work / "runs" / "r" / "config.json").read_text())
    assert cfg["dataset"] == "folder:../../imgs" and cfg["training"]["data"] == "folder:imgs"
    monkeypatch.chdir(tmp_path)
    r = cli("eval", work / "runs" / "r", "--metric", "recon", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["data"].startswith("folder:") and "imgs" in json.loads(r.out)["data"]


def test_info_shows_the_card_of_a_zoo_model_and_of_a_model_folder(tmp_path):
    r = cli("info", "mnist-ae")
    assert r.code == 0, r.err
    assert "recipe: python tools/build_zoo.py mnist-ae (in a clone of the repository)" in r.out
    card = r.out[r.out.index("# mnist-ae"):]
    assert "ganzoo reconstruct" in card and "ganzoo sample" not in card      # no prior: the card does not sample
    assert "../shared" not in r.out and "## Evaluation protocol" in card
    m = ganzoo.create("mlp", dataset="ring8", g_hidden=[8], d_hidden=[8])
    m.save(tmp_path / "run")
    r = cli("info", tmp_path / "run")
    assert r.code == 0, r.err
    assert r.out.startswith(f"model folder {tmp_path / 'run'}\n  variant: mlp") and "ganzoo sample" in r.out
    r = cli("info", tmp_path / "run", "--json")
    assert json.loads(r.out) == json.loads((tmp_path / "run" / "config.json").read_text())
    r = cli("info", tmp_path / "nothing-here")
    assert r.code == 1 and "no config.json; is this a ganzoo model folder?" in r.err
