"""The pretrained zoo: every registry entry loads from its verified bundled copy, its recorded
metrics reproduce, and the pictures users look for can be drawn from it."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.api import entry_folder
from ganzoo.errors import IntegrityError
from ganzoo.plugins import get_registry
from helpers import run

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "plugins" / "zoo" / "models"
ENTRIES = ganzoo.list_models()
QUICKSTART = "digits-dcgan-nonsat"


def cli(*args):
    return run(*args, timeout=300)


def test_the_zoo_has_the_promised_models():
    want = {f"{d}-mlp-{o}" for d in ("ring8", "grid25") for o in ("nonsat", "minimax", "wgan", "wgangp", "hinge", "lsgan")}
    want |= {"ring8-mlp-pacgan2", "grid25-mlp-pacgan2", "ring8-mlp-selfcond", "grid25-mlp-selfcond"}
    want |= {"digits-dcgan-nonsat", "digits-vae", "digits-ae", "mnist-mlp-selfcond", "mnist-dcgan-selfcond",
             "mnist-cdcgan-hinge", "mnist-cdcgan-rahinge", "mnist-vae-2d", "mnist-vae-16d", "mnist-ae"}
    want |= {"mnist-resnet-hinge", "mnist-sagan", "mnist-acgan"}   # issue 46
    want |= {"mnist-infogan"}   # issue 47
    want |= {"mnist-vqvae"}
    want |= {"mnist-stylegan"}
    want |= {"mnist-cvae", "mnist-betavae", "mnist-cbetavae", "mnist-sparseae"}   # issue 47
    missing = sorted(want - set(ENTRIES))
    assert not missing, f"not in the zoo yet: {missing}"


def test_bundled_zoo_is_small():
    """The zoo ships inside the wheel, so its size is a budget: 15 MiB held 25 models; it became 16 MiB for
    the relativistic MNIST GAN (issue 38, about 1.1 MiB), then 40 MiB for the new architectures and latent
    models (issues 46 and 47: ResNet, SAGAN, StyleGAN2-lite, ACGAN, InfoGAN, beta-VAE, CVAE, VQ-VAE, about
    2-3 MiB each). A model past 40 MiB needs a decision (a Hub-only entry, or a smaller network), not a
    quiet raise."""
    size = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert size <= 40 * 1024 * 1024, f"bundled zoo is {size / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", ENTRIES)
def test_every_entry_loads_verified_and_samples(name):
    entry = get_registry().model(name)
    assert entry.source.get("bundled") and entry.source.get("repo") == f"ganzoo/{name}"
    model = ganzoo.load(name, components=["generator"])
    assert model.variant == entry.variant and model.objective == entry.objective
    y = 3 if model.num_classes else None
    if "sample" not in model.capabilities:   # a plain autoencoder: no prior, so its encoder and decoder are used
        with pytest.raises(ganzoo.errors.ConfigError, match="cannot be sampled: it has no prior"):
            model.sample(4, seed=0, y=y)
        model = ganzoo.load(name, components=["encoder", "generator"])
        x = model.reconstruct(torch.rand(4, *model.sample_shape), y)
    else:
        x = model.sample(4, seed=0, y=y)
    assert x.shape == (4, *model.sample_shape) and torch.isfinite(x).all()
    card = (Path(entry.source["path"]) / "README.md").read_text()
    assert "library_name: ganzoo" in card and "ganzoo train" in card and "ganzoo eval" in card
    assert (Path(entry.source["path"]) / "samples.png").is_file()


def test_list_json_reports_metrics_and_weights():
    data = {m["name"]: m for m in json.loads(cli("list", "--json").stdout)}
    for name in ENTRIES:
        assert data[name]["weights_from"].startswith("bundled"), name
        assert data[name]["metrics"], name


def test_a_tampered_bundled_copy_is_refused(tmp_path):
    entry = get_registry().model(ENTRIES[0])
    copy = tmp_path / entry.name
    shutil.copytree(entry.source["path"], copy)
    raw = bytearray((copy / "generator.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (copy / "generator.safetensors").write_bytes(bytes(raw))
    bad = replace(entry, source={**entry.source, "path": str(copy)})
    with pytest.raises(IntegrityError, match="generator.safetensors has sha256"):
        entry_folder(bad, components=["generator"])


CHEAP = [n for n in ENTRIES if n.startswith(("ring8", "grid25"))]


@pytest.mark.parametrize("name", CHEAP)
def test_recorded_mixture_metrics_reproduce(name):
    """The numbers in registry.yaml come from `ganzoo eval NAME --data DATASET` (same seed)."""
    from ganzoo.metrics import evaluate

    entry = get_registry().model(name)
    got = evaluate(name, entry.dataset)["metrics"]["modes"]
    for key in ("modes", "hq_fraction", "reverse_kl"):
        if key in entry.metrics:
            assert got[key] == pytest.approx(entry.metrics[key], abs=1e-3), key


def test_the_zoo_shows_which_objectives_cover_the_ring():
    """Every GAN objective is in the zoo for both mixtures, with its measured numbers, and the
    non-saturating MLP covers all 8 ring modes (what the README's table is read against)."""
    reg = get_registry()
    for ds in ("ring8", "grid25"):
        for short in ("nonsat", "minimax", "wgan", "wgangp", "hinge", "lsgan"):
            m = reg.model(f"{ds}-mlp-{short}").metrics
            assert {"modes", "hq_fraction"} <= set(m)
    assert reg.model("ring8-mlp-nonsat").metrics["modes"] == 8


@pytest.mark.parametrize("name", ["ring8-mlp-pacgan2", "grid25-mlp-pacgan2", "ring8-mlp-selfcond",
                                  "grid25-mlp-selfcond"])
def test_the_best_2d_models_meet_the_goal(name):
    """Issue 6's bar for the best 2-D configurations, measured afresh: every mode, >= 97% high
    quality, reverse KL <= 0.02 (no published row in BENCHMARKS.md reaches all three at once)."""
    from ganzoo.metrics import evaluate

    entry = get_registry().model(name)
    m = evaluate(name, entry.dataset)["metrics"]["modes"]
    assert m["modes"] == m["modes_total"] and m["hq_fraction"] >= 0.97 and m["reverse_kl"] <= 0.02, m


def test_quickstart_sample_png(tmp_path):
    out = cli("sample", QUICKSTART, "-n", "16", "-o", str(tmp_path / "s.png"), "--seed", "0")
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "s.png").size[0] >= 64


@pytest.mark.slow
def test_pictures_from_zoo_models(tmp_path):
    vae = next(n for n in ENTRIES if get_registry().model(n).variant == "vae")
    out = cli("traverse", vae, "--dims", "0,1", "--steps", "5", "-o", str(tmp_path / "m.png"))
    assert out.returncode == 0, out.stderr
    out = cli("reconstruct", "digits-ae", "--data", "digits", "-n", "8", "-o", str(tmp_path / "r.png"))
    assert out.returncode == 0, out.stderr
    out = cli("sample", QUICKSTART, "--interpolate", "-n", "3", "--steps", "5", "-o", str(tmp_path / "w.npy"))
    assert out.returncode == 0, out.stderr
    walks = np.load(tmp_path / "w.npy")
    assert walks.shape == (3, 5, 1, 8, 8)
    # a walk starts and ends at the samples of its endpoints and moves in between
    assert not np.allclose(walks[:, 0], walks[:, -1])
    out = cli("sample", "ring8-mlp-nonsat", "-n", "500", "-o", str(tmp_path / "ring.png"))
    assert out.returncode == 0, out.stderr
    bad = cli("traverse", "ring8-mlp-nonsat", "-o", str(tmp_path / "x.png"))
    assert bad.returncode == 1 and "does not make images" in bad.stderr


@pytest.mark.parametrize("name", ["mnist-cdcgan-hinge", "mnist-cdcgan-rahinge", "mnist-resnet-hinge", "mnist-acgan",
                                  "mnist-cvae"])
def test_conditional_zoo_model_follows_the_label(name, mnist_dir):
    """NAME --label k draws digits that the MNIST judge reads as k."""
    from ganzoo.metrics.judge import load_judge

    model = ganzoo.load(name, components=["generator"])
    judge = load_judge("mnist")
    hits = 0
    for k in range(10):
        x = model.sample_unit(20, seed=k, y=k)
        with torch.no_grad():
            hits += int((judge(x).argmax(1) == k).sum())
    assert hits / 200 >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist-cdcgan-hinge", "mnist-cdcgan-rahinge", "mnist-dcgan-selfcond",
                                  "mnist-mlp-selfcond", "mnist-acgan"])
def test_the_mnist_gans_measure_as_their_cards_say(name, mnist_dir):
    """Issue 6's bar for the MNIST GANs, measured afresh: all 10 classes, class KL <= 0.05 and a judge
    Frechet distance within 2x of the distance between two real halves (both means over the judge
    metric's 20 draws). These five zoo GANs meet it, and the Frechet ratios are the ones the cards and
    registry.yaml record."""
    from ganzoo.metrics import evaluate

    entry = get_registry().model(name)
    m = evaluate(name, f"mnist:{mnist_dir}", metrics=["judge"])["metrics"]["judge"]
    assert m["classes"] == 10 and m["class_kl"] <= 0.05, m
    assert m["fd_ratio"] <= 2.0, m
    assert m["fd_ratio"] == pytest.approx(entry.metrics["fd_ratio"], abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist-dcgan-selfcond", "mnist-mlp-selfcond"])
def test_self_conditioned_zoo_model_samples_every_digit_without_labels(name, mnist_dir, tmp_path):
    """The self-conditioned MNIST GANs were trained on k-means clusters, not classes; sampled without a
    label they draw their clusters from their shares, and the MNIST judge finds every digit in
    near-equal shares."""
    from ganzoo.metrics.judge import load_judge

    model = ganzoo.load(name, components=["generator"])
    assert model.num_classes == 50 and model.label_prior is not None and model.meta.get("labels") is None
    x = model.sample_unit(2000, seed=0)
    with torch.no_grad():
        p = torch.bincount(load_judge("mnist")(x).argmax(1), minlength=10).double() / len(x)
    assert p.min() >= 0.05, p
    assert float((p * (p * 10).log()).sum()) <= 0.05      # class KL to uniform, the issue's bar
    out = cli("sample", name, "-n", "16", "-o", str(tmp_path / "s.png"))   # no --label needed
    assert out.returncode == 0, out.stderr


# -- issue 47: every zoo model with an encoder has its probe on its card, and the card's numbers re-measure ---------
ENCODERS = [n for n in ENTRIES if "encoder.safetensors" in get_registry().model(n).source.get("files", {})]


def _probe_fit(name):
    """The --probe-fit of NAME's card command (build_zoo's recipe), or the metric's default share."""
    import re

    card = (Path(get_registry().model(name).source["path"]) / "README.md").read_text()
    m = re.search(r"--metric linear-probe(?: --probe-fit (\S+))? --json", card)
    assert m, f"{name}: no linear-probe command on its card"
    return int(m.group(1)) if m.group(1) else 0.8


PROBE_PENDING: dict = {}   # name -> why its card has no probe yet (none today)


@pytest.mark.parametrize("name", ENCODERS)
def test_every_unconditional_encoder_has_its_probe_on_its_card(name):
    if name in PROBE_PENDING:
        pytest.skip(f"{name}: {PROBE_PENDING[name]}")
    model = ganzoo.load(name, components=["encoder"])
    metrics = get_registry().model(name).metrics
    if model.encoder.conditional:   # the probe would read the class the encoder is given
        assert "probe_accuracy" not in metrics
        return
    assert {"probe_accuracy", "probe_pixels"} <= set(metrics), f"{name}: no probe numbers on its card"
    _probe_fit(name)


@pytest.mark.parametrize("name", [n for n in ENCODERS if n.startswith("digits")])
def test_the_digits_encoders_probe_as_their_cards_say(name):
    entry = get_registry().model(name)
    got = ganzoo.evaluate(name, data="digits", metrics=["linear-probe"],
                          options={"linear-probe": {"fit": _probe_fit(name)}})["metrics"]["linear-probe"]
    one = 1.5 / got["n_test"]   # deterministic here; another CPU's float64 sums may move one borderline item
    assert got["probe_accuracy"] == pytest.approx(entry.metrics["probe_accuracy"], abs=one)
    assert got["probe_pixels"] == pytest.approx(entry.metrics["probe_pixels"], abs=one)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ENCODERS if n.startswith("mnist") and n not in PROBE_PENDING])
def test_the_mnist_encoders_probe_as_their_cards_say(name, mnist_dir):
    entry = get_registry().model(name)
    if "probe_accuracy" not in entry.metrics:
        pytest.skip(f"{name}'s encoder is conditional: no probe")
    got = ganzoo.evaluate(name, data=f"mnist:{mnist_dir}", metrics=["linear-probe"],
                          options={"linear-probe": {"fit": _probe_fit(name)}})["metrics"]["linear-probe"]
    assert got["probe_accuracy"] == pytest.approx(entry.metrics["probe_accuracy"], abs=1.5 / got["n_test"])


def test_the_best_mnist_encoder_reaches_issue_47s_probe_goal():
    """The zoo's best MNIST encoder by its card's probe (re-measured by the test above) reaches 0.95 held out and
    beats raw pixels: mnist-sparseae."""
    probed = {n: get_registry().model(n).metrics for n in ENCODERS if n.startswith("mnist")}
    best = max((m["probe_accuracy"], n) for n, m in probed.items() if "probe_accuracy" in m)
    assert best[1] == "mnist-sparseae" and best[0] >= 0.95 > probed[best[1]]["probe_pixels"], best


@pytest.mark.slow
@pytest.mark.parametrize("name,single", [("mnist-cbetavae", True), ("mnist-betavae", False)])
def test_the_beta_vaes_factors_measure_as_their_cards_say(name, single, mnist_dir):
    """Issue 47's beta-VAE: in mnist-cbetavae (the digit given as a label) every active latent changes one factor
    of the ink and keeps the digit; in mnist-betavae (unconditional) the active latents switch digits. Re-measured
    with the card's command: the numbers are the card's."""
    from ganzoo.metrics import evaluate

    import re

    entry = get_registry().model(name)
    card = (Path(entry.source["path"]) / "README.md").read_text()
    recorded = json.loads(re.search(r"Raw evaluation:\n\n```json\n(.*?)\n```", card, re.S).group(1))["factors"]
    m = evaluate(name, f"mnist:{mnist_dir}", metrics=["factors"], data_options={"subset": "8000:"})["metrics"]["factors"]
    assert (m["factor_dims"], m["single_factor_dims"]) == (entry.metrics["factor_dims"], entry.metrics["single_factor_dims"])
    for key in [k for k in m if k.startswith("dim")]:
        assert m[key] == pytest.approx(recorded[key], abs=1e-3), key
    assert m["factor_dims"] >= 3
    assert (m["single_factor_dims"] == m["factor_dims"]) == single, m


@pytest.mark.slow
@pytest.mark.parametrize("name,meets", [("mnist-resnet-hinge", True), ("mnist-sagan", True), ("mnist-acgan", True)])
def test_issue_46_models_measure_as_their_cards_say(name, meets, mnist_dir):
    """The ResNet, SAGAN and ACGAN zoo models (issue 46) re-scored: the overall and intra-class Frechet ratios,
    class KL and recall are the cards' (20-draw means), and each card says whether the issue's bar (fd_ratio <= 2,
    10 classes, class KL <= 0.05) is met: all three meet it (mnist-sagan with spectral norm off in G, 12k steps: 1.66;
    its earlier recipes collapsed or missed, and it is no longer labelled a failure example)."""
    from ganzoo.metrics import evaluate

    entry = get_registry().model(name)
    m = evaluate(name, f"mnist:{mnist_dir}", metrics=["judge", "intra", "prdc"])["metrics"]
    for group, key in (("judge", "fd_ratio"), ("judge", "class_kl"), ("intra", "intra_fd_ratio"), ("prdc", "recall")):
        assert m[group][key] == pytest.approx(entry.metrics[key], abs=1e-3), (key, m[group])
    assert m["judge"]["classes"] == 10
    bar = m["judge"]["fd_ratio"] <= 2.0 and m["judge"]["class_kl"] <= 0.05
    assert bar == meets, m["judge"]
    card = (Path(entry.source["path"]) / "README.md").read_text()
    assert ("Meets issue 46's bar" in card) == meets and ("Misses issue 46's bar" in card) == (not meets)
    assert "a failure example" not in entry.summary


@pytest.mark.slow
def test_infogans_categorical_code_picks_the_digit(mnist_dir, tmp_path):
    """mnist-infogan (issue 47): each value of its 10-way code, mapped to the judge class most of its samples
    get, names a different digit per value and the digit of at least 90% of samples (the issue's bar; 97.6% on
    the card, the paper reports about 95%); its continuous codes change the digits' slant and width along the
    traversal rows (rank correlations -1.0 and 0.78 on the card). Measured afresh: the numbers are the card's."""
    from ganzoo.metrics import evaluate

    entry = get_registry().model("mnist-infogan")
    m = evaluate("mnist-infogan", f"mnist:{mnist_dir}", metrics=["codes"])["metrics"]["codes"]
    assert m["code_accuracy"] >= 0.90 and m["code_classes"] == 10, m   # issue 47's bar
    assert m["code_accuracy"] == pytest.approx(entry.metrics["code_accuracy"], abs=1e-3)
    style = {k: abs(v) for k, v in m.items() if k.endswith(("_width", "_slant"))}
    assert max(style["code1_slant"], style["code2_slant"]) >= 0.8, m
    assert max(style["code1_width"], style["code2_width"]) >= 0.6, m
    out = cli("traverse", "mnist-infogan", "--code", "0", "--rows", "3", "-o", str(tmp_path / "c.png"))
    assert out.returncode == 0 and "3x10 traversal of code 0 (categorical, 10 values)" in out.stdout, out.stderr


def test_the_vqvae_samples_new_digits_offline_from_its_learned_prior(tmp_path, mnist_dir):
    """mnist-vqvae ships its PixelCNN prior (pinned) and ``ganzoo sample`` draws the codes from it, offline;
    the samples are digits the judge reads, of most classes, and not the codes of one repeated grid."""
    from ganzoo.metrics.judge import load_judge
    from ganzoo.model import to_unit

    entry = get_registry().model("mnist-vqvae")
    assert {"prior.safetensors", "generator.safetensors", "encoder.safetensors"} <= set(entry.source["files"])
    model = ganzoo.load("mnist-vqvae", components=["generator"])
    assert model.prior is not None and model.generator.prior is model.prior   # the generator brings its prior
    codes = model.generator.sample_latent(200, seed=0)
    assert torch.equal(codes, model.generator.sample_latent(200, seed=0))      # seeded
    assert len({tuple(c.flatten().tolist()) for c in codes}) == 200            # 200 different code grids
    judge, g = load_judge("mnist"), model.generator
    with torch.no_grad():
        p = torch.softmax(judge(model.sample_unit(200, seed=0)), 1)
        noise = g.embed_codes(torch.randint(model.config["codes"], (200, 7, 7),
                                            generator=torch.Generator().manual_seed(0)))
        q = torch.softmax(judge(to_unit(g(noise), g.output_range)), 1)
    # the judge reads the prior's draws as digits (the card: max_prob 0.70, real digits 0.95), every class in
    # 7% or more of them; the same decoder on codes drawn uniformly makes scrawls it cannot read (about 0.36)
    assert p.max(1).values.mean() >= 0.6 and p.max(1).values.mean() >= q.max(1).values.mean() + 0.2
    assert torch.bincount(p.argmax(1), minlength=10).min() >= 10
    out = run("sample", "mnist-vqvae", "-n", "16", "-o", str(tmp_path / "s.png"), timeout=300,
              HF_HUB_OFFLINE="1")
    assert out.returncode == 0 and Image.open(tmp_path / "s.png").size[0] >= 4 * 28, out.stderr


@pytest.mark.slow
def test_the_vqvae_measures_as_its_card_says(mnist_dir):
    """mnist-vqvae's card numbers, measured afresh with the recipe's evaluations: reconstruction NLL and the
    codebook's use on the held-out 2,000 images, and the judge's scores of its samples (20 draws)."""
    entry = get_registry().model("mnist-vqvae")
    got = {}
    for opts in (["--data-opt", "subset=8000:", "--metric", "recon", "--metric", "codebook"],
                 ["--metric", "judge"]):
        out = cli("eval", "mnist-vqvae", "--data", f"mnist:{mnist_dir}", *opts, "--json")
        assert out.returncode == 0, out.stderr
        for values in json.loads(out.stdout)["metrics"].values():
            got.update(values)
    for key in ("recon_nll", "perplexity", "codes_used", "fd_ratio", "class_kl", "classes"):
        assert got[key] == pytest.approx(entry.metrics[key], abs=1e-3), key

