"""Self-conditioned GANs: k-means cluster labels (``--data-opt clusters=K``), the clusters' shares kept
in the model (``label_prior``) and used wherever the model is sampled without labels."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.data import load_dataset
from ganzoo.data.clusters import kmeans
from ganzoo.errors import ConfigError


def test_kmeans_finds_separated_blobs_and_is_deterministic():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0], [10.0, 10.0]])
    truth = torch.arange(500) % 5
    x = centres[truth] + 0.3 * torch.randn(500, 2, generator=gen)
    found, assign = kmeans(x, 5, seed=3)
    # one cluster per blob: the assignment is the truth up to renaming
    pairs = {(int(a), int(t)) for a, t in zip(assign, truth)}
    assert len(pairs) == 5 and len({a for a, _ in pairs}) == 5
    assert torch.cdist(found, centres).min(1).values.max() < 0.1
    again, assign2 = kmeans(x, 5, seed=3)
    assert torch.equal(assign, assign2) and torch.equal(found, again)


def test_kmeans_never_leaves_a_cluster_empty():
    # 6 distinct points, 4 of them stacked on one spot: k = 6 must still use every cluster
    x = torch.tensor([[0.0, 0.0]] * 4 + [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0]])
    for seed in range(5):
        _, assign = kmeans(x, 6, seed=seed)
        assert torch.bincount(assign, minlength=6).min() >= 1


@pytest.mark.slow
def test_cluster_labels_replace_the_classes():
    d = load_dataset("ring8", n=4000, clusters=8)
    assert d.label_source == "clusters" and d.num_classes == 8 and d.labels is None
    assert d.name == "ring8[clusters=8]" and hasattr(d, "centres")     # still a mixture with its modes
    nearest = torch.cdist(d.x, d.centres).argmin(1)
    assert sorted(int(torch.unique(nearest[d.y == k]).numel()) for k in range(8)) == [1] * 8
    part = load_dataset("digits", subset="0:600", clusters=10)         # the subset is clustered
    assert len(part) == 600 and part.y.max() == 9 and part.name == "digits[0:600][clusters=10]"
    assert load_dataset("digits").label_source == "classes"


@pytest.mark.parametrize("k, match", [(1, ">= 2"), (True, ">= 2"), ("many", ">= 2"), (5000, "too many")])
def test_bad_cluster_counts_are_refused(k, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset("ring8", n=2000, clusters=k)


@pytest.mark.slow
def test_a_self_conditioned_gan_follows_its_clusters_and_samples_without_labels(tmp_path):
    with pytest.raises(ConfigError, match="add conditional to train on them"):  # Python: the keyword's name
        ganzoo.train("mlp", data="ring8", out=tmp_path / "no", steps=1, data_options={"clusters": 8})
    torch.set_num_threads(1)
    m = ganzoo.train("mlp", data="ring8", out=tmp_path / "sc", steps=1500, batch_size=128, conditional=True,
                     data_options={"clusters": 8}, progress=False, g_hidden=[64, 64], d_hidden=[64, 64], seed=0)
    data = load_dataset("ring8", clusters=8)
    shares = torch.bincount(data.y, minlength=8).double() / len(data)
    assert torch.allclose(m.label_prior, shares)
    loaded = ganzoo.load(tmp_path / "sc")
    assert torch.allclose(loaded.label_prior, shares) and loaded.num_classes == 8
    for k in range(8):  # label k lands on cluster k (whose points all sit on one mode)
        x = loaded.sample(200, seed=k, y=torch.full((200,), k))
        assert (x - data.x[data.y == k].mean(0)).norm(dim=1).median() < 0.25
    # without labels it draws its clusters from their shares: all eight modes, seeded
    x = loaded.sample(400, seed=1)
    assert torch.equal(x, loaded.sample(400, seed=1))
    assert torch.unique(torch.cdist(x, data.centres).argmin(1)).numel() == 8
    from ganzoo.metrics import evaluate

    assert evaluate(loaded, "ring8", n=2000)["metrics"]["modes"]["modes"] == 8


@pytest.mark.slow
def test_labels_are_drawn_from_the_prior_by_sample_eval_and_cli(tmp_path):
    m = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4, num_classes=3,
                      label_prior=[0.7, 0.3, 0.0])
    counts = torch.bincount(m.draw_labels(4000, seed=0), minlength=3)
    assert counts[2] == 0 and abs(counts[0] / 4000 - 0.7) < 0.03
    assert torch.equal(m.draw_labels(50, seed=5), m.draw_labels(50, seed=5))
    plain = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, num_classes=3)
    assert plain.label_prior is None and plain.draw_labels(5).tolist() == [0, 1, 2, 0, 1]  # every class in turn
    from ganzoo.metrics.suite import generate

    g = m.generator
    z = g.sample_latent(30, seed=2)
    want = torch.cat([g.eval()(z[i:i + 16], m.draw_labels(30, 3)[i:i + 16]) for i in range(0, 30, 16)])
    assert torch.allclose(generate(m, 30, seed=2, batch=16), (want + 1) / 2)
    m.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["label_prior"] == [0.7, 0.3, 0.0]
    for extra in ([], ["--interpolate", "--steps", "3"]):
        out = subprocess.run([sys.executable, "-m", "ganzoo.cli", "sample", str(tmp_path / "m"), "-n", "4", "-o",
                              str(tmp_path / "s.npy"), *extra], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert np.load(tmp_path / "s.npy").shape[-3:] == (1, 8, 8)
