"""What a latent space gives: features out (`ganzoo encode`, `Model.encode`), the linear probe, the beta-VAE's
capacity schedule and KL per dimension, the conditional VAE sampled by class."""

import json

import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError, TooLargeError
from helpers import cli

TINY_VAE = {"sample_shape": [1, 8, 8], "hidden": [32], "latent_dim": 4}


# -- ganzoo encode --------------------------------------------------------------------------------------------
def test_encode_writes_the_features_in_the_dataset_s_order(tmp_path):
    code, out, err = cli("encode", "digits-vae", "--data", "digits", "-o", str(tmp_path / "f.npz"))
    assert code == 0 and out.strip() == f"wrote z (1,797 x 8) and y to {tmp_path / 'f.npz'}", err
    got = np.load(tmp_path / "f.npz")
    data = load_dataset("digits")
    want = ganzoo.load("digits-vae").encode(data.x)                     # the posterior mean, item by item
    assert got["z"].dtype == np.float32 and got["z"].shape == (1797, 8)
    assert np.allclose(got["z"], want.numpy(), atol=1e-6) and np.array_equal(got["y"], data.y.numpy())
    assert sorted(got.files) == ["y", "z"]
    code, out, err = cli("encode", "digits-ae", "--data", "digits", "--data-opt", "subset=100:110", "--batch-size", "3",
                         "-o", str(tmp_path / "f.npy"))
    assert code == 0, err
    z = np.load(tmp_path / "f.npy")                                       # z alone
    assert z.shape == (10, 8) and np.allclose(z, ganzoo.load("digits-ae").encode(data.x[100:110]).numpy(), atol=1e-6)


def test_encode_refuses_what_it_cannot_do_in_one_line(tmp_path, monkeypatch):
    code, out, err = cli("encode", "digits-dcgan-nonsat", "--data", "digits", "-o", str(tmp_path / "f.npz"))
    assert code == 1 and err.startswith("ganzoo: error: digits-dcgan-nonsat has no encoder (it ships generator); "
                                        "ganzoo encode needs an encoder, e.g. digits-ae"), err
    assert len(err.strip().splitlines()) == 1
    code, out, err = cli("encode", "digits-vae", "--data", "digits", "-o", str(tmp_path / "f.txt"))
    assert code == 1 and "must end in .npz (z and y) or .npy (z alone)" in err
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "40K")               # 1,797 x 8 floats: 57 KB, priced first
    code, out, err = cli("encode", "digits-vae", "--data", "digits", "-o", str(tmp_path / "f.npz"))
    assert code == 1 and "encode: 1,797 items of 8 features" in err and "--data-opt subset=0:N" in err, err
    assert not (tmp_path / "f.npz").exists()
    with pytest.raises(TooLargeError):
        from ganzoo.limits import check_output_memory

        check_output_memory(1797, (8,), what="encode", advice="")


def test_a_conditional_encoder_is_given_each_item_s_label(tmp_path):
    m = ganzoo.create("vae", num_classes=10, **TINY_VAE)
    m.save(tmp_path / "cvae")
    code, out, err = cli("encode", str(tmp_path / "cvae"), "--data", "digits", "-o", str(tmp_path / "f.npz"))
    assert code == 0, err
    data = load_dataset("digits")
    assert np.allclose(np.load(tmp_path / "f.npz")["z"], m.encode(data.x, data.y).numpy(), atol=1e-6)
    folder = tmp_path / "imgs"                                            # unlabelled images of the same shape
    folder.mkdir()
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(folder / f"x{i}.png")
    code, out, err = cli("encode", str(tmp_path / "cvae"), "--data", f"folder:{folder}", "--data-opt", "image_size=8",
                         "--data-opt", "channels=1", "-o", str(tmp_path / "g.npz"))
    assert code == 1 and "encoder is conditional on 10 classes" in err and "has no labels" in err, err


# -- the linear probe -----------------------------------------------------------------------------------------
def test_the_probe_is_a_softmax_regression_that_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.linear_model")
    from ganzoo.metrics.probe import L2, probe

    data = load_dataset("digits")
    x, y = data.x.flatten(1), data.y.long()
    got = probe(x[:1400], y[:1400], x[1400:], y[1400:], 10)
    assert got == probe(x[:1400], y[:1400], x[1400:], y[1400:], 10)   # deterministic
    mean, std = x[:1400].double().mean(0), x[:1400].double().std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    ref = sklearn.LogisticRegression(C=1.0 / (L2 * 1400), max_iter=5000, tol=1e-10)
    ref.fit(((x[:1400] - mean) / std).numpy(), y[:1400].numpy())
    want = float((ref.predict(((x[1400:] - mean) / std).numpy()) == y[1400:].numpy()).mean())
    assert got["dim"] == 64 and abs(got["accuracy"] - want) <= 2 / 397, (got, want)


def test_linear_probe_scores_features_against_raw_pixels():
    ae = ganzoo.evaluate("digits-ae", data="digits", metrics=["linear-probe"])["metrics"]["linear-probe"]
    assert (ae["n_fit"], ae["n_test"], ae["dim"]) == (1437, 360, 8)
    assert 0.85 <= ae["probe_pixels"] <= 0.95 and 0.5 <= ae["probe_accuracy"] <= 1
    noise = ganzoo.create("ae", **TINY_VAE)                               # untrained: features of random weights
    torch.nn.init.zeros_(noise.encoder.net[-1][-1].weight)                # ... that carry nothing
    torch.nn.init.zeros_(noise.encoder.net[-1][-1].bias)
    flat = ganzoo.evaluate(noise, data="digits", metrics=["linear-probe"])["metrics"]["linear-probe"]
    assert flat["probe_accuracy"] < 0.2 and flat["probe_pixels"] == ae["probe_pixels"]


def test_linear_probe_refuses_what_it_cannot_score():
    cvae = ganzoo.create("vae", num_classes=10, **TINY_VAE)
    with pytest.raises(ConfigError, match=r"reads the class from the features, and this encoder is given the class"):
        ganzoo.evaluate(cvae, data="digits", metrics=["linear-probe"])
    assert "linear-probe" not in ganzoo.evaluate(cvae, data="digits", n=50)["metrics"]   # not by default either
    with pytest.raises(ConfigError, match=r"^metric 'linear-probe' needs a model that maps inputs to features"):
        ganzoo.evaluate("digits-dcgan-nonsat", data="digits", metrics=["linear-probe"])
    with pytest.raises(ConfigError, match="needs labelled data; ring8 has no labels"):
        ganzoo.evaluate(ganzoo.create("ae", sample_shape=[2], hidden=[8], latent_dim=2), data="ring8",
                        metrics=["linear-probe"])


# -- the k-sparse autoencoder (topk) -------------------------------------------------------------------------
def test_a_k_sparse_code_keeps_the_k_largest_entries_of_the_dense_one():
    sparse = ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[], latent_dim=20, topk=3)
    dense = ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[], latent_dim=20)
    dense.encoder.load_state_dict(sparse.encoder.state_dict())        # the same weights, no sparsity
    x = torch.rand(6, 1, 8, 8)
    z, h = sparse.encoder(x), dense.encoder(x)
    assert ((z != 0).sum(1) == 3).all()                               # exactly k entries per item
    kept = h.topk(3, dim=1)
    assert torch.equal(z.gather(1, kept.indices), kept.values)        # ... the k largest, unchanged
    assert torch.equal(sparse.encode(x), z)                           # the features are the sparse code
    sparse.encoder(x).pow(2).sum().backward()                         # only the kept units get a gradient
    w = sparse.encoder.net[-1][-1].weight.grad
    assert set(w.abs().sum(1).nonzero().flatten().tolist()) == set(kept.indices.flatten().tolist())


def test_topk_is_checked_in_one_line():
    with pytest.raises(ConfigError, match=r"topk is how many of the latent's 4 entries stay non-zero, 0 \(off\) to 4; not 5$"):
        ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[8], latent_dim=4, topk=5)
    code, out, err = cli("train", "vae", "--data", "digits", "--steps", "1", "--set", "topk=2", "--out", "unused")
    assert code != 0 and "topk" in err and "Traceback" not in err, err


def test_a_k_sparse_autoencoder_trains_and_its_code_beats_a_random_one(tmp_path):
    """A few hundred steps on digits: the learned sparse code is more linearly separable than the same-sized
    k-sparse code of the untrained encoder (what a learned feature extractor must show)."""
    run = tmp_path / "ksae"
    code, out, err = cli("train", "ae", "--data", "digits", "--steps", "800", "-b", "64", "--seed", "0", "--set",
                         "hidden=[]", "--set", "latent_dim=64", "--set", "topk=8", "--out", str(run))
    assert code == 0, err
    trained = ganzoo.evaluate(str(run), data="digits", metrics=["linear-probe"])["metrics"]["linear-probe"]
    torch.manual_seed(0)
    untrained = ganzoo.create("ae", sample_shape=[1, 8, 8], hidden=[], latent_dim=64, topk=8)
    random = ganzoo.evaluate(untrained, data="digits", metrics=["linear-probe"])["metrics"]["linear-probe"]
    assert trained["dim"] == 64 and trained["probe_accuracy"] > random["probe_accuracy"] + 0.04, (trained, random)


# -- the factors metric ---------------------------------------------------------------------------------------
def _bar_model():
    """A 3-d VAE whose decoder draws a bar on 8x8 images: z0 leans it (slant), z1 thickens it, z2 does nothing."""
    model = ganzoo.create("vae", sample_shape=[1, 8, 8], hidden=[8], latent_dim=3)
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")

    def draw(z, y=None):
        slant, half = 0.3 * z[:, 0, None, None], (1.0 + 0.3 * z[:, 1, None, None]).clamp_min(0.3)
        centre = 3.5 + slant * (rows - 3.5)
        ink = torch.sigmoid(6 * (half - (cols - centre).abs())) * ((rows >= 1) & (rows <= 6))
        return ink[:, None]

    model.generator.forward = draw
    return model


def test_the_factors_metric_names_what_each_latent_dimension_changes():
    m = ganzoo.evaluate(_bar_model(), data="digits", metrics=["factors"])["metrics"]["factors"]
    effects = {k: [m[f"dim{k}_{p}"] for p in ("width", "slant", "thickness")] for k in range(3)}
    assert effects[2] == [0.0, 0.0, 0.0] and m["dim2_class"] == 0.0            # an unused dimension moves nothing
    assert effects[0][1] >= 0.5 and effects[0][1] >= 2 * max(effects[0][0], effects[0][2]), effects   # slant
    assert effects[1][2] >= 0.5 and effects[1][2] >= 2 * max(effects[1][0], effects[1][1]), effects   # thickness
    assert m["factor_dims"] == 2 and m["n"] == 200, m
    assert m["dim0_class"] > 0.5 and m["single_factor_dims"] == 1, m   # a leaning bar reads as another digit


def test_the_factors_metric_refuses_what_it_cannot_score():
    with pytest.raises(ConfigError, match="metric 'factors' scores image models on their images"):
        ganzoo.evaluate(ganzoo.create("vae", sample_shape=[2], hidden=[8], latent_dim=2), data="ring8",
                        metrics=["factors"])
    assert "factors" not in ganzoo.evaluate("digits-vae", data="digits", n=50)["metrics"]    # only when named


# -- the beta-VAE ---------------------------------------------------------------------------------------------
def test_the_capacity_grows_linearly_and_resumes_exactly(tmp_path):
    kw = dict(data="digits", batch_size=32, progress=False, log_every=1, sample_every=1000, seed=0,
              objective_config={"capacity": 6.0, "capacity_steps": 4}, config=TINY_VAE)
    ganzoo.train("vae", "beta-vae", out=tmp_path / "a", steps=6, checkpoint_every=1000, **kw)
    lines = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines() if '"capacity"' in x]
    assert [r["capacity"] for r in lines] == [0.0, 1.5, 3.0, 4.5, 6.0, 6.0]   # C = 6 min(1, t / 4), t = 0, 1, ...
    ganzoo.train("vae", "beta-vae", out=tmp_path / "b", steps=3, checkpoint_every=3, **kw)
    ganzoo.train("vae", "beta-vae", out=tmp_path / "b", steps=6, resume=True, progress=False)
    a, b = (ganzoo.load(tmp_path / n) for n in "ab")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_the_capacity_loss_is_beta_times_the_distance_of_the_kl_to_c():
    m = ganzoo.create("vae", "beta-vae", objective_config={"beta": 10.0, "capacity": 2.0}, **TINY_VAE)
    obj = m.make_objective()
    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(0)
    loss, stats = obj.loss(m, x)
    assert loss.item() == pytest.approx(stats["recon"].item() + 10.0 * abs(stats["kl"].item() - 2.0), rel=1e-5)
    plain = ganzoo.create("vae", "elbo", **TINY_VAE).make_objective()
    assert (plain.beta, plain.terms) == (1.0, []) and m.make_objective().beta == 10.0
    assert ganzoo.create("vae", "beta-vae", **TINY_VAE).make_objective().beta == 4.0
    with pytest.raises(ConfigError, match="beta and capacity must be >= 0"):
        ganzoo.create("vae", "beta-vae", objective_config={"capacity": -1.0}, **TINY_VAE).make_objective()


def test_kl_dims_splits_the_elbo_s_kl():
    r = ganzoo.evaluate("digits-vae", data="digits", metrics=["elbo", "kl-dims"], n=300)["metrics"]
    dims = [r["kl-dims"][f"kl_dim_{k}"] for k in range(8)]
    assert sum(dims) == pytest.approx(r["elbo"]["kl"], rel=1e-4) and min(dims) >= 0
    assert 1 <= r["kl-dims"]["active_dims"] <= 8 and max(dims) / sum(dims) == pytest.approx(r["kl-dims"]["kl_top_share"])


# -- the conditional VAE --------------------------------------------------------------------------------------
def test_a_conditional_vae_samples_a_class_grid_and_by_label(tmp_path):
    ganzoo.train("vae", data="digits", out=tmp_path / "cvae", steps=3, batch_size=32, conditional=True,
                 progress=False, sample_every=1000, config=TINY_VAE)
    code, out, err = cli("sample", str(tmp_path / "cvae"), "-o", str(tmp_path / "grid.png"))
    assert code == 0 and "(7 per class, one row per class)" in out, out + err   # -n 64 by default
    code, out, err = cli("sample", str(tmp_path / "cvae"), "--label", "3", "-n", "4", "-o", str(tmp_path / "3.npy"))
    assert code == 0, err
    m = ganzoo.load(tmp_path / "cvae")
    assert m.encoder.conditional and np.array_equal(np.load(tmp_path / "3.npy"), m.sample(4, seed=0, y=3).numpy())
