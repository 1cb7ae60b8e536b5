"""The command line: listing formats, one-line errors, sample outputs (every class of a class-conditional
model, one row each). That listing never imports torch is checked in tests/test_cli_hygiene.py."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo

def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_list_json_is_stable():
    out = run("list", "--variants", "--json")
    data = json.loads(out.stdout)
    mlp = next(v for v in data if v["name"] == "mlp")
    assert set(mlp) == {"name", "kind", "objectives", "default_objective", "config", "optimizer", "summary", "plugin"}
    assert "wgan-gp" in mlp["objectives"]
    models = json.loads(run("list", "--json").stdout)
    for m in models:
        assert {"name", "variant", "objective", "dataset", "metrics", "weights_from"} <= set(m)


@pytest.mark.slow
def test_errors_are_one_line_with_nonzero_exit(tmp_path):
    out = run("sample", "no-such-model", "-o", str(tmp_path / "x.png"))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: unknown model 'no-such-model'")
    assert "Traceback" not in out.stderr
    out = run("--debug", "sample", "no-such-model", "-o", str(tmp_path / "x.png"))
    assert out.returncode != 0 and "Traceback" in out.stderr
    out = run("lst")
    assert out.returncode == 2 and "did you mean 'list'" in out.stderr
    out = run("info", "mpl")
    assert out.returncode == 1 and "did you mean" in out.stderr


def _save_tiny(folder, variant="dcgan", **kw):
    m = ganzoo.create(variant, **kw)
    m.save(folder)
    return m


@pytest.mark.slow
def test_sample_png_and_npy_from_a_folder(tmp_path):
    m = _save_tiny(tmp_path / "img", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4)
    png, npy = tmp_path / "g.png", tmp_path / "g.npy"
    assert run("sample", str(tmp_path / "img"), "-n", "9", "-o", str(png), "--seed", "4").returncode == 0
    assert Image.open(png).size[0] > 8
    assert run("sample", str(tmp_path / "img"), "-n", "9", "-o", str(npy), "--seed", "4").returncode == 0
    arr = np.load(npy)
    assert arr.shape == (9, 1, 8, 8) and arr.dtype == np.float32
    assert arr.min() >= 0 and arr.max() <= 1
    m.eval()
    want = ((m.sample(9, seed=4) + 1) / 2).clamp(0, 1).numpy()
    np.testing.assert_allclose(arr, want, atol=1e-6)


@pytest.mark.slow
def test_sample_vectors_and_bad_outputs(tmp_path):
    _save_tiny(tmp_path / "vec", "mlp", g_hidden=[8], d_hidden=[8])
    npy = tmp_path / "v.npy"
    assert run("sample", str(tmp_path / "vec"), "-n", "5", "-o", str(npy)).returncode == 0
    assert np.load(npy).shape == (5, 2)
    assert run("sample", str(tmp_path / "vec"), "-n", "50", "-o", str(tmp_path / "v.png")).returncode == 0
    bad = run("sample", str(tmp_path / "vec"), "-o", str(tmp_path / "v.jpg"))
    assert bad.returncode == 1 and "must end in .png or .npy" in bad.stderr
    bad = run("sample", str(tmp_path / "vec"), "-o", str(tmp_path / "nowhere" / "v.npy"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    assert not (tmp_path / "nowhere").exists()


def test_class_conditional_default_labels_are_equal_counts_seeded():
    m = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4, num_classes=10)
    y = m.draw_labels(60, seed=3)
    assert torch.bincount(y, minlength=10).tolist() == [6] * 10  # exactly equal
    assert y[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]  # every class in turn
    assert torch.bincount(m.draw_labels(64), minlength=10).tolist() == [7] * 4 + [6] * 6
    m.eval()
    x = m.sample(60, seed=3)
    assert torch.equal(x, m.sample(60, seed=3)) and not torch.equal(x, m.sample(60, seed=4))
    assert torch.equal(x, m.generator.sample(60, seed=3, y=y))
    assert torch.equal(m.sample_unit(60, seed=3), ((x + 1) / 2).clamp(0, 1))
    from ganzoo.metrics.suite import generate

    assert torch.allclose(generate(m, 60, seed=3, batch=16), m.sample_unit(60, seed=3))  # what eval scores


def test_sample_cli_without_label_writes_every_class_one_row_each(tmp_path, capsys):
    from test_hub import cli

    from ganzoo import images

    m = _save_tiny(tmp_path / "c", sample_shape=[1, 8, 8], g_width=4, d_width=4, num_classes=4)
    npy, png = tmp_path / "c.npy", tmp_path / "c.png"
    code, out, err = cli("sample", str(tmp_path / "c"), "-n", "7", "-o", str(npy), "--seed", "2", capsys=capsys)
    assert code == 0, err
    assert out.strip() == (f"wrote 8 samples (2 per class, in class order; -n 7 rounded up to a multiple "
                                  f"of 4 classes) to {npy}")
    m.eval()
    labels, per = images.class_rows(4, 7)  # -n 7, 4 classes: rounded up to 2 of each, class by class
    assert (labels.tolist(), per) == ([0, 0, 1, 1, 2, 2, 3, 3], 2)
    want = m.sample_unit(8, seed=2, y=labels)  # the samples images.sample_picture draws (cards, Hub, training)
    np.testing.assert_allclose(np.load(npy), want.numpy(), atol=1e-6)
    code, out, err = cli("sample", str(tmp_path / "c"), "-n", "7", "-o", str(png), "--seed", "2", capsys=capsys)
    assert code == 0 and "wrote 8 samples (2 per class, one row per class; -n 7 rounded up" in out, err
    assert np.array_equal(np.asarray(Image.open(png)), np.asarray(images.grid(want, nrow=2)))
    assert png.read_bytes() == images.png_bytes(images.sample_picture(m, 7, seed=2))  # one implementation
    code, out, err = cli("sample", str(tmp_path / "c"), "-o", str(npy), "--label", "3", "-n", "3", capsys=capsys)
    assert code == 0 and np.load(npy).shape == (3, 1, 8, 8), err
    np.testing.assert_allclose(np.load(npy), m.sample_unit(3, seed=0, y=3).numpy(), atol=1e-6)
    # without -n the default 64 becomes 64 (16 a class): no note about a rounding the user did not ask for
    code, out, err = cli("sample", str(tmp_path / "c"), "-o", str(npy), capsys=capsys)
    assert code == 0 and out.strip() == f"wrote 64 samples (16 per class, in class order) to {npy}", out + err
    # --steps shapes --interpolate's walks; alone it would be ignored, so it is refused
    code, out, err = cli("sample", str(tmp_path / "c"), "-o", str(npy), "--steps", "5", capsys=capsys)
    assert code == 1 and "--steps sets the points of each --interpolate walk; add --interpolate" in err, err
    # traverse takes the class by name too, as sample does
    tm = _save_tiny(tmp_path / "named", sample_shape=[1, 8, 8], g_width=4, d_width=4, num_classes=2, labels=["cat", "dog"])
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert cli("traverse", str(tmp_path / "named"), "--label", "dog", "--steps", "3", "-o", str(a), capsys=capsys)[0] == 0
    assert cli("traverse", str(tmp_path / "named"), "--label", "1", "--steps", "3", "-o", str(b), capsys=capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes() and tm.num_classes == 2
    code, out, err = cli("traverse", str(tmp_path / "named"), "--label", "cow", "-o", str(a), capsys=capsys)
    assert code == 1 and "--label 'cow' is not a class of" in err and "its classes are cat, dog" in err, err


def test_hf_repo_of_a_class_conditional_model_samples_without_labels(hub, tmp_path, monkeypatch, capsys):
    from test_hub import cli, pushed

    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub, variant="dcgan", num_classes=3)
    m.eval()
    assert torch.equal(ganzoo.load(f"hf://{repo}").sample(6, seed=1), m.sample(6, seed=1))
    code, out, err = cli("sample", f"hf://{repo}", "-n", "6", "-o", str(tmp_path / "h.npy"), capsys=capsys)
    assert code == 0, err
    assert "wrote 6 samples (2 per class, in class order) to" in out
    assert np.load(tmp_path / "h.npy").shape == (6, 1, 16, 16)


def _tiles(png, size, nrow):
    """The images of a ``images.grid(x, nrow)`` PNG of ``size`` x ``size`` samples, as rows of tiles."""
    arr = np.asarray(Image.open(png), dtype=np.float32) / 255
    pad = 2
    scale = arr.shape[1] // (nrow * (size + pad) + pad)
    arr = arr[::scale, ::scale]
    rows = (arr.shape[0] - pad) // (size + pad)
    return torch.tensor(np.stack([[arr[pad + r * (size + pad):][:size, pad + c * (size + pad):][:, :size]
                                   for c in range(nrow)] for r in range(rows)]))[:, :, None]


def test_zoo_class_conditional_png_has_one_class_per_row(tmp_path, capsys):
    """`ganzoo sample mnist-cdcgan-hinge` (no --label): row r of the PNG holds digits the project's
    MNIST judge (bundled weights, no data needed) classifies as r."""
    from test_hub import cli

    from ganzoo.metrics.judge import load_judge

    png = tmp_path / "digits.png"
    code, out, err = cli("sample", "mnist-cdcgan-hinge", "-n", "100", "-o", str(png), "--seed", "0", capsys=capsys)
    assert code == 0, err
    assert "wrote 100 samples (10 per class, one row per class) to" in out
    from ganzoo import images  # the same picture as the model card's (tools/build_zoo.py: sample_picture)

    card = images.sample_picture(ganzoo.load("mnist-cdcgan-hinge", components=["generator"]))
    assert png.read_bytes() == images.png_bytes(card)
    tiles = _tiles(png, 28, 10)
    assert tiles.shape == (10, 10, 1, 28, 28)
    _, probs = load_judge("mnist").predict(tiles.reshape(100, 1, 28, 28))
    pred = probs.argmax(1).reshape(10, 10)
    hits = (pred == torch.arange(10)[:, None]).float().mean(1)
    assert hits.min() >= 0.7 and hits.mean() >= 0.9, pred
