"""Evaluation metrics: the maths against hand computations, the shipped judges, and ``ganzoo eval``."""

import json
import math
import warnings

import numpy as np
import pytest
import torch

from ganzoo.errors import ConfigError, IntegrityError, NotFoundError
from ganzoo.interfaces import Generator
from ganzoo.metrics.features import frechet_distance, frechet_from_stats, prdc
from ganzoo.metrics.mixture import HQ_TRUE_MIXTURE, mode_stats, reverse_kl


# -- 2-D mixture protocol ----------------------------------------------------------------------
class MixtureGenerator(Generator):
    """A 'perfect' generator: z -> a mode chosen by Phi(z0), plus std * (z1, z2). ``collapse``
    puts everything on mode 0."""

    def __init__(self, centres, std, collapse=False):
        super().__init__(3, [2], output_range=None)
        self.register_buffer("centres", torch.as_tensor(centres, dtype=torch.float32))
        self.std, self.collapse = std, collapse

    def forward(self, z, y=None):
        k = len(self.centres)
        idx = torch.zeros(len(z), dtype=torch.long) if self.collapse else \
            (torch.special.ndtr(z[:, 0]) * k).long().clamp(max=k - 1)
        return self.centres[idx] + self.std * z[:, 1:3]


def _model(generator, variant="mlp"):
    from ganzoo.model import Model

    return Model(variant=variant, objective="non-saturating", config={}, components={"generator": generator})


def _replay(data):
    """A 'generator' of real images: z picks one of ``data``'s images."""
    class Replay(Generator):
        def __init__(self):
            super().__init__(1, list(data.sample_shape), output_range=(0.0, 1.0))

        def forward(self, z, y=None):
            idx = (torch.special.ndtr(z[:, 0]) * len(data)).long().clamp(max=len(data) - 1)
            return data.x[idx]

    return _model(Replay(), variant="dcgan")


@pytest.mark.parametrize("name,k,kl_max", [("ring8", 8, 0.01), ("grid25", 25, 0.02)])
def test_true_mixture_scores_near_perfect(name, k, kl_max):
    from ganzoo.data import load_dataset
    from ganzoo.metrics import evaluate

    data = load_dataset(name, n=10)
    out = mode_stats(data.sample(2500, seed=1), data.centres, data.std)
    assert HQ_TRUE_MIXTURE == pytest.approx(0.98889, abs=1e-5)
    assert out["hq_fraction"] == pytest.approx(HQ_TRUE_MIXTURE, abs=0.01)
    assert out["modes"] == out["modes_total"] == k
    assert 0 <= out["reverse_kl"] < kl_max
    assert out["spread"] == pytest.approx(1.0, abs=0.04)

    result = evaluate(_model(MixtureGenerator(data.centres, data.std)), name)
    m = result["metrics"]["modes"]
    assert list(result["metrics"]) == ["modes"] and m["n"] == 2500
    assert m["hq_fraction"] == pytest.approx(HQ_TRUE_MIXTURE, abs=0.01)
    assert m["modes"] == k and m["reverse_kl"] < kl_max


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_collapsed_generator_has_reverse_kl_ln_k(name, k):
    from ganzoo.metrics import evaluate

    from ganzoo.data import load_dataset

    data = load_dataset(name, n=10)
    m = evaluate(_model(MixtureGenerator(data.centres, data.std, collapse=True)), name)["metrics"]["modes"]
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(k), abs=1e-9)
    assert m["hq_fraction"] == pytest.approx(HQ_TRUE_MIXTURE, abs=0.01)
    if k == 8:
        assert m["reverse_kl"] == pytest.approx(2.0794, abs=1e-4)


def test_spread_sees_collapse_inside_modes():
    """Points exactly at the centres score perfectly on modes, high quality and reverse KL; spread
    shows they are not the mixture. Samples with half the std have spread about 0.5."""
    from ganzoo.data import load_dataset

    data = load_dataset("grid25", n=10)
    points = data.centres.repeat(100, 1)
    out = mode_stats(points, data.centres, data.std)
    assert out["hq_fraction"] == 1.0 and out["modes"] == 25 and out["reverse_kl"] == 0.0 and out["spread"] == 0.0
    tight = points + 0.5 * data.std * torch.randn(points.shape, generator=torch.Generator().manual_seed(0))
    assert mode_stats(tight, data.centres, data.std)["spread"] == pytest.approx(0.5, abs=0.03)
    assert math.isnan(mode_stats(np.zeros((2, 3)), np.ones((1, 3)), 1.0)["spread"])   # defined for 2-D only


def test_mode_stats_by_hand():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    # two HQ samples at mode 0, one at mode 1, one too far (4 std) from mode 1, one non-finite
    x = np.array([[0.1, 0.0], [0.0, -0.2], [10.0, 0.29], [10.4, 0.0], [np.nan, 0.0]])
    out = mode_stats(x, centres, 0.1)
    ms = 2 - 9 * math.exp(-4.5) / (1 - math.exp(-4.5))                  # E[chi2_2 | chi2_2 <= 9] = 1.899
    assert out == {"n": 5, "hq_fraction": pytest.approx(3 / 5), "modes": 2, "modes_total": 2,
                   "reverse_kl": pytest.approx(2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3)),
                   "spread": pytest.approx(math.sqrt((0.01 + 0.04 + 0.0841) / 3 / ms) / 0.1)}
    assert math.isnan(mode_stats(np.full((3, 2), 50.0), centres, 0.1)["reverse_kl"])
    assert reverse_kl([5, 5, 5, 5]) == 0.0 and reverse_kl([0, 7, 0]) == pytest.approx(math.log(3))


# -- Fréchet distance, PRDC --------------------------------------------------------------------
def test_frechet_distance_matches_a_direct_computation():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.7
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    want = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(a, b) == pytest.approx(want, rel=1e-6)
    assert frechet_distance(torch.from_numpy(a).float(), b) == pytest.approx(want, rel=1e-4)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_diagonal_gaussians_by_hand():
    # diag covariances: ||mu1 - mu2||^2 + sum (sigma1 - sigma2)^2
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    s1, s2 = np.diag([4.0, 1.0]), np.diag([1.0, 9.0])
    assert frechet_from_stats(mu1, s1, mu2, s2) == pytest.approx(9 + 4 + (2 - 1) ** 2 + (1 - 3) ** 2)


def test_classes_present_counts_classes_above_the_floor():
    from ganzoo.metrics.suite import classes_present

    # 200 samples: class 0 gets 150, class 1 gets 48, class 2 gets 2 (exactly 1%), class 3 none
    labels = torch.tensor([0] * 150 + [1] * 48 + [2] * 2)
    probs = torch.nn.functional.one_hot(labels, 4).float() * 0.7 + 0.075
    assert classes_present(probs) == 3
    assert classes_present(probs[:-1]) == 2          # class 2 drops to 1 of 199 < 1%
    assert classes_present(probs, floor=0.25) == 1


def test_prdc_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0]])
    # k=1: real radii 1; fake radii 9.5. Precision: 0.5 is in real balls, 10 is not -> 1/2.
    # Recall: every real point is within 9.5 of fake 0.5 -> 1. Density: 0.5 lies in the balls of
    # 0 and 1, 10 in none -> (2 + 0) / 2 / k = 1. Coverage: real 0 and 1 have a fake within 1 -> 1/2.
    assert prdc(real, fake, k=1) == {"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.5}


def test_prdc_identical_and_disjoint_sets():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 8))
    same = prdc(a, a, k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] == pytest.approx(1.0)
    far = prdc(a, a + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    near = prdc(a, rng.normal(size=(300, 8)), k=5)
    assert near["recall"] > 0.8 and near["coverage"] > 0.8


# -- judges --------------------------------------------------------------------------------------
def _check_judge(ref, bar):
    from ganzoo.fsutil import sha256_file
    from ganzoo.metrics.judge import JUDGE_DIR, accuracy, card, judge_splits, load_judge

    name = ref.partition(":")[0]
    info = card(name)
    weights = JUDGE_DIR / f"{name}.safetensors"
    assert weights.stat().st_size < 1_000_000 and sha256_file(weights) == info["sha256"]
    assert info["held_out_accuracy"] >= bar
    _, held, _ = judge_splits(ref)
    assert len(held) == info["held_out_size"]
    acc = accuracy(load_judge(ref), held.x, held.y)
    assert acc >= bar and acc == pytest.approx(info["held_out_accuracy"], abs=2e-3)


def test_digits_judge_accuracy():
    pytest.importorskip("sklearn")
    _check_judge("digits", 0.95)


def test_mnist_judge_accuracy(mnist_dir):
    _check_judge(f"mnist:{mnist_dir}", 0.97)


def test_judge_sha_mismatch_and_missing_judge(tmp_path):
    import shutil

    from ganzoo.metrics.judge import JUDGE_DIR, load_judge

    for f in ("digits.json", "digits.safetensors"):
        shutil.copy(JUDGE_DIR / f, tmp_path / f)
    raw = bytearray((tmp_path / "digits.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (tmp_path / "digits.safetensors").write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="sha256"):
        load_judge("digits", tmp_path)
    with pytest.raises(NotFoundError, match="no judge classifier for dataset 'cifar'"):
        load_judge("cifar")


def _noise_vs_held_out(ref):
    """Primary numbers separate uniform noise from real images the judge did not train on (the
    evaluation's real half A, scored against half B). Precision/density are deliberately not
    asserted: in a small classifier's feature space they can rate noise highly."""
    from ganzoo.data import load_dataset
    from ganzoo.metrics.judge import load_judge
    from ganzoo.metrics.suite import class_kl, classes_present, real_halves

    judge = load_judge(ref)
    data = load_dataset(ref) if ref == "digits" else load_dataset(ref, split="test")
    a, b, _ = real_halves(data)
    f_ref, _ = judge.predict(b)
    f_real, p_real = judge.predict(a)
    f_noise, p_noise = judge.predict(torch.rand(len(a), *a.shape[1:], generator=torch.Generator().manual_seed(0)))
    fd_real, fd_noise = frechet_distance(f_real, f_ref), frechet_distance(f_noise, f_ref)
    real_m, noise_m = prdc(f_ref, f_real), prdc(f_ref, f_noise)
    assert fd_noise > 10 * fd_real
    assert class_kl(p_noise) > class_kl(p_real) + 0.3 and class_kl(p_real) < 0.05
    assert classes_present(p_real) == 10
    assert noise_m["coverage"] < 0.2 < 0.8 < real_m["coverage"]
    assert noise_m["recall"] < 0.2 < 0.8 < real_m["recall"]


def test_noise_scores_worse_than_real_digits():
    pytest.importorskip("sklearn")
    _noise_vs_held_out("digits")


@pytest.mark.slow
def test_noise_scores_worse_than_real_mnist(mnist_dir):
    _noise_vs_held_out(f"mnist:{mnist_dir}")


def test_mnist_reference_leaves_out_judge_training_images(mnist_dir):
    from ganzoo.data import load_dataset
    from ganzoo.metrics.suite import _image_keys, real_halves

    data = load_dataset(f"mnist:{mnist_dir}", split="test")
    a, b, excluded = real_halves(data)
    assert excluded and len(a) == len(b) == 1000
    train_keys = set(_image_keys(data.x[:8000]))
    assert not train_keys & set(_image_keys(torch.cat([a, b])))


@pytest.mark.slow
def test_judge_metrics_on_real_images_pass_the_bar():
    """A 'generator' that replays real digits meets the zoo bar (fd within 2x of real halves)."""
    pytest.importorskip("sklearn")
    from ganzoo.data import load_dataset
    from ganzoo.metrics import evaluate

    data = load_dataset("digits")
    out = evaluate(_replay(data), data, metrics=["judge", "prdc"])["metrics"]
    assert out["judge"]["fd_ratio"] < 2.0 and out["judge"]["class_kl"] < 0.05
    assert out["judge"]["classes"] == out["judge"]["classes_real"] == 10
    assert out["prdc"]["recall"] > 0.8 and out["prdc"]["coverage"] > 0.8


# -- VAE likelihood ----------------------------------------------------------------------------
@pytest.mark.slow
def test_judge_frechet_ratio_averages_draws_by_hand():
    """fd and fd_real_halves are means over draws: draw r scores the samples of seed `seed + r` against
    half B of real split r, and the floor is FD(A_r, B_r). One draw is the single split 0 and seed."""
    pytest.importorskip("sklearn")
    from ganzoo.data import load_dataset
    from ganzoo.metrics import evaluate
    from ganzoo.metrics.judge import load_judge
    from ganzoo.metrics.suite import generate, real_halves

    data, judge = load_dataset("digits"), load_judge("digits")
    model = _replay(data)
    fds, refs = [], []
    for r in range(3):
        a, b, _ = real_halves(data, r)
        fb = judge.predict(b)[0]
        fds.append(frechet_distance(judge.predict(generate(model, 300, 5 + r))[0], fb))
        refs.append(frechet_distance(judge.predict(a)[0], fb))
    assert len({round(x, 6) for x in refs}) == len({round(x, 6) for x in fds}) == 3   # splits and draws differ
    three = evaluate(model, data, n=300, seed=5, metrics=["judge"], options={"judge": {"draws": 3}})["metrics"]["judge"]
    assert three["draws"] == 3 and three["n"] == 300
    assert three["fd"] == pytest.approx(sum(fds) / 3, rel=1e-4)
    assert three["fd_real_halves"] == pytest.approx(sum(refs) / 3, rel=1e-4)
    assert three["fd_ratio"] == pytest.approx(sum(fds) / sum(refs), rel=1e-4)
    ratios = torch.tensor(fds, dtype=torch.float64) / torch.tensor(refs, dtype=torch.float64)
    assert three["fd_ratio_sd"] == pytest.approx(float(ratios.std()), rel=1e-4) and three["fd_ratio_sd"] > 0
    one = evaluate(model, data, n=300, seed=5, metrics=["judge"], options={"judge": {"draws": 1}})["metrics"]["judge"]
    assert one["fd_ratio"] == pytest.approx(fds[0] / refs[0], rel=1e-4) and one["fd_ratio_sd"] == 0
    default = evaluate(model, data, n=300, seed=5, metrics=["judge"])["metrics"]["judge"]
    assert default["draws"] == 20
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="judge draws must be a whole number"):
            evaluate(model, data, n=300, metrics=["judge"], options={"judge": {"draws": bad}})


def test_iwae_bounds_elbo_and_grows_with_k():
    pytest.importorskip("sklearn")
    import ganzoo
    from ganzoo.data import load_dataset
    from ganzoo.metrics.likelihood import elbo_and_iwae

    torch.manual_seed(0)
    model = ganzoo.create("vae", sample_shape=[1, 8, 8], latent_dim=4, hidden=[32])
    x = load_dataset("digits").x[:300]
    runs = {k: elbo_and_iwae(model, x, k=k, seed=1) for k in (1, 10, 100)}
    assert runs[1]["iwae"] == pytest.approx(runs[1]["elbo"], abs=0.5)  # IWAE_1 = ELBO in expectation
    assert runs[100]["iwae"] >= runs[100]["elbo"]
    assert runs[1]["iwae"] < runs[10]["iwae"] < runs[100]["iwae"]
    # the ELBO agrees with the training objective's (one-sample) estimate
    elbo_obj, _, _ = model.make_objective().elbo(model, x)
    assert float(elbo_obj.detach().mean()) == pytest.approx(runs[100]["elbo"], abs=1.0)
    assert runs[100]["elbo"] == pytest.approx(-(runs[100]["recon"] + runs[100]["kl"]))


# -- evaluate / CLI ----------------------------------------------------------------------------
def test_metrics_are_registered():  # without importing torch: tests/test_cli_hygiene.py
    from ganzoo.plugins import get_registry

    assert {"modes", "judge", "prdc", "elbo", "fid"} <= set(get_registry().names("metric"))


def test_class_conditional_models_get_balanced_labels():
    import ganzoo
    from ganzoo.metrics import evaluate
    from ganzoo.metrics.suite import balanced_labels

    assert torch.bincount(balanced_labels(100, 8)).tolist() == [13, 13, 13, 13, 12, 12, 12, 12]
    assert balanced_labels(10, 0) is None
    from ganzoo.metrics.suite import generate

    plain = ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=8, d_width=8)
    assert torch.equal(generate(plain, 50, seed=2, batch=16), plain.sample_unit(50, seed=2))  # same z, batched
    m = ganzoo.create("mlp", sample_shape=[2], num_classes=8, g_hidden=[16], d_hidden=[16])
    out = evaluate(m, "ring8", n=80)["metrics"]["modes"]
    assert out["n"] == 80 and out["modes_total"] == 8


def _run(capsys, args):
    """``ganzoo ARGS`` in-process: (exit code, stdout, stderr)."""
    from helpers import cli

    return tuple(cli(*args))


EVAL_KEYS = {"format", "model", "variant", "objective", "kind", "data", "seed", "metrics"}


@pytest.mark.slow
def test_eval_cli_on_saved_models(tmp_path, capsys):
    pytest.importorskip("sklearn")
    import ganzoo

    ganzoo.create("mlp", sample_shape=[2], g_hidden=[16], d_hidden=[16], dataset="ring8").save(tmp_path / "gan")
    code, out, err = _run(capsys, ["eval", str(tmp_path / "gan"), "--json", "--seed", "3"])  # data from config.json
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == EVAL_KEYS and result["format"] == "ganzoo-eval/1"
    assert result["data"] == "ring8" and result["kind"] == "gan" and result["seed"] == 3
    assert set(result["metrics"]["modes"]) == {"n", "hq_fraction", "modes", "modes_total", "reverse_kl", "spread"}

    ganzoo.create("vae", sample_shape=[1, 8, 8], latent_dim=4, hidden=[32]).save(tmp_path / "vae")
    code, out, err = _run(capsys, ["eval", str(tmp_path / "vae"), "--data", "digits", "--json", "-n", "200", "--iwae-k", "5"])
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert set(metrics) == {"judge", "prdc", "elbo", "kl-dims", "recon", "linear-probe"}
    assert {"recon_nll", "recon_mse"} <= set(metrics["recon"]) and metrics["recon"]["recon_nll"] > 0
    assert {"n", "n_real", "classes", "class_kl", "max_prob", "fd", "fd_real_halves", "fd_ratio"} <= set(metrics["judge"])
    assert {"precision", "recall", "density", "coverage", "k"} <= set(metrics["prdc"])
    assert metrics["judge"]["n"] == 200 and metrics["elbo"]["iwae_k"] == 5 and metrics["elbo"]["n"] == 200
    assert metrics["judge"]["draws"] == 20 and metrics["judge"]["fd_ratio_sd"] > 0
    code, out, err = _run(capsys, ["eval", str(tmp_path / "vae"), "--data", "digits", "--json", "-n", "200", "--metric",
                                   "judge", "--draws", "2"])
    assert code == 0, err
    two = json.loads(out)["metrics"]["judge"]
    assert two["draws"] == 2 and two["fd_ratio"] != metrics["judge"]["fd_ratio"]
    assert metrics["elbo"]["iwae"] >= metrics["elbo"]["elbo"] - 0.5

    code, out, _ = _run(capsys, ["eval", str(tmp_path / "gan"), "--data", "ring8", "-n", "100"])
    assert code == 0 and "[modes]" in out and "hq_fraction" in out


def test_eval_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    import ganzoo

    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS", raising=False)
    ganzoo.create("mlp", sample_shape=[2], g_hidden=[16], d_hidden=[16]).save(tmp_path / "gan")
    cases = [
        (["--data", "ring8", "--metric", "elbo"], "metric 'elbo' needs a model that bounds log p(x); this mlp can: sample, discriminate"),
        (["--data", "ring8", "--metric", "fid"], "FID needs Inception-v3 weights"),
        ([], "records no dataset"),
        (["--data", "ring8", "--metric", "nope"], "unknown metric 'nope'"),
    ]
    for extra, message in cases:
        code, out, err = _run(capsys, ["eval", str(tmp_path / "gan"), *extra])
        assert code == 1 and message in err and len(err.strip().splitlines()) == 1, (extra, err)


@pytest.mark.slow
def test_fid_with_a_torchscript_feature_extractor(tmp_path, monkeypatch):
    """The FID path with a stand-in for Inception (same call convention), since no real
    Inception weights are available here."""
    pytest.importorskip("sklearn")

    class FakeInception(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3 * 16, 8)

        def forward(self, x, return_features: bool = False):
            assert x.shape[1] == 3 and x.shape[2] == 299
            f = self.proj(torch.nn.functional.adaptive_avg_pool2d(x / 255.0, 4).flatten(1))
            return f if return_features else f.sum(1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.manual_seed(0)
        torch.jit.save(torch.jit.script(FakeInception()), str(tmp_path / "inception.pt"))
    from ganzoo.data import load_dataset
    from ganzoo.metrics import evaluate
    from ganzoo.metrics.fid import fid

    x = load_dataset("digits").x[:120]
    assert fid(x, x, path=str(tmp_path / "inception.pt")) == pytest.approx(0.0, abs=1e-6)
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "inception.pt"))
    import ganzoo

    vae = ganzoo.create("vae", sample_shape=[1, 8, 8], latent_dim=4, hidden=[32])
    out = evaluate(vae, "digits", n=60, options={"elbo": {"k": 2}})["metrics"]
    assert list(out) == ["judge", "prdc", "elbo", "kl-dims", "recon", "linear-probe", "fid"] and out["fid"]["fid"] > 0
    (tmp_path / "bad.pt").write_bytes(b"not torchscript")
    from ganzoo.errors import WeightsError

    with pytest.raises(WeightsError, match=r"bad\.pt is not a TorchScript"):
        fid(x, x, path=str(tmp_path / "bad.pt"))


def test_evaluate_rejects_mismatched_shapes():
    import ganzoo
    from ganzoo.metrics import evaluate

    m = ganzoo.create("dcgan", sample_shape=[1, 28, 28], g_width=8, d_width=8)
    with pytest.raises(ConfigError, match="judge scores images of shape"):
        evaluate(m, "digits", metrics=["judge"], n=10)
    with pytest.raises(ConfigError, match="no built-in metric applies"):
        evaluate(m, "ring8")
