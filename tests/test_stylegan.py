"""The ``stylegan`` variant (StyleGAN2-lite, issue 46): every built-in GAN objective and a third-party one, class-
and self-conditioned, bit-exact resume; style mixing at its probability, truncation in w (psi = 1 the plain
samples, psi = 0 the average w), lazy R1's weight, the path length in w, same seed same samples. Tiny networks
on scikit-learn's 8x8 digits."""

from __future__ import annotations

import math

import pytest
import torch

import ganzoo
from ganzoo import plugins
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError
from test_architectures import TINY, builtin_gan_objectives, check_trains_and_resumes, digits, third_party  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
STYLE = {"g_width": 16, "d_width": 16, "latent_dim": 8, "w_dim": 8, "mapping_layers": 2}
TINY.setdefault("stylegan", STYLE)       # the shared helpers' tiny config for this variant


def tiny(sample_shape=(1, 8, 8), **kw):
    return ganzoo.create("stylegan", sample_shape=list(sample_shape), **{**STYLE, **kw})


def test_registered_and_listed():
    from helpers import cli

    spec = plugins.get_registry().variant("stylegan")
    assert spec.kind == "gan" and spec.default_objective == "non-saturating"
    r = cli("list", "--variants")
    assert r.code == 0 and any(line.startswith("stylegan ") for line in r.out.splitlines()), r.out


@pytest.mark.parametrize("objective", builtin_gan_objectives())
def test_trains_and_resumes_with_every_builtin_gan_objective(tmp_path, digits, objective):  # noqa: F811
    check_trains_and_resumes(tmp_path, "stylegan", objective, digits)


def test_trains_with_a_third_party_objective(tmp_path, digits, third_party):  # noqa: F811
    t, _ = check_trains_and_resumes(tmp_path, "stylegan", third_party, digits)
    assert t.model.objective == third_party


@pytest.mark.parametrize("label", ["projection", "acgan"])
def test_class_conditional_trains_and_resumes(tmp_path, digits, label):  # noqa: F811
    t, stats = check_trains_and_resumes(tmp_path, "stylegan", "non-saturating", digits, conditional=True,
                                        config={"d_label": label})
    assert t.model.generator.w_avg.shape == (10, 8) and ("cls" in stats) == (label == "acgan")


def test_self_conditioned_trains_on_clusters(tmp_path):
    t, _ = check_trains_and_resumes(tmp_path, "stylegan", "hinge", load_dataset("digits", clusters=4),
                                    conditional=True)
    m = t.export_model()
    assert m.num_classes == 4 and m.label_prior is not None and m.sample(6, seed=0).shape == (6, 1, 8, 8)


@pytest.mark.parametrize("shape,base,num_ws", [((1, 28, 28), 7, 6), ((3, 32, 32), 4, 8), ((1, 8, 8), 4, 4)])
def test_shapes(shape, base, num_ws):
    m = tiny(shape)
    G, D = m.generator, m.discriminator
    assert G.num_ws == num_ws and G.const.shape[-1] == base and G.w_dim == 8
    x = G(G.sample_latent(5, training=True))
    assert x.shape == (5, *shape) and D(x).shape == (5,)
    assert G.eval().sample(3, seed=0).abs().max() <= 1.0          # clamped to the output range outside training


# -- the latent: style mixing at its probability -----------------------------------------------------------------
def test_style_mixing_happens_with_the_set_probability():
    G = tiny((1, 28, 28), mixing=0.9).generator
    torch.manual_seed(0)
    z = G.sample_latent(4000, training=True)
    assert z.shape == (4000, 6, 8)
    switch = (z[:, 1:] != z[:, :-1]).any(2)                         # (N, L-1): where the styles change
    assert switch.sum(1).max() == 1                                 # two z's at most, one crossover
    mixed = switch.any(1)
    assert abs(mixed.float().mean().item() - 0.9) < 0.02            # p = 0.9, 4,000 draws: sd 0.005
    cross = switch[mixed].float().argmax(1) + 1                     # crossover points 1..L-1, uniform
    counts = torch.bincount(cross, minlength=6)[1:]
    assert counts.min() > 0.8 * counts.float().mean()
    assert G.sample_latent(7, seed=1).shape == (7, 8)                # sampling: one z per sample
    assert tiny(mixing=0.0).generator.sample_latent(5, training=True).shape == (5, 8)
    # the synthesis gets the two styles: the layers from the crossover on use the second z's w
    _, ws = G(z[:8], return_w=True)
    assert ws.shape == (8, 6, 8)
    assert torch.equal((ws[:, 1:] != ws[:, :-1]).any(2), switch[:8])


# -- truncation in w ------------------------------------------------------------------------------------------
def trained_w_avg(G, steps=30):
    """Some training-mode forwards, so that w_avg is a tracked mean rather than its initial zeros."""
    with torch.no_grad():
        for _ in range(steps):
            G(G.sample_latent(64, training=True), None if not G.num_classes else torch.arange(64) % G.num_classes)
    return G.eval()


def test_truncation_psi_one_is_the_plain_samples_and_psi_zero_the_average_w():
    G = trained_w_avg(tiny().generator)
    assert G.w_avg.abs().sum() > 0
    plain = G.sample(16, seed=3)
    assert torch.equal(G.sample(16, seed=3, truncation=1.0), plain)
    z = G.sample_latent(16, seed=3)
    _, ws = G(z, truncation=0.0, return_w=True)
    assert torch.equal(ws, G.w_avg.expand(16, G.num_ws, -1))       # every sample the same w: the average
    flat = G.sample(16, seed=3, truncation=0.0)
    assert (flat - flat[:1]).abs().max() < 1e-5
    half = G.sample(16, seed=3, truncation=0.5)
    _, w1 = G(z, return_w=True)
    _, wh = G(z, truncation=0.5, return_w=True)
    assert torch.allclose(wh, G.w_avg + 0.5 * (w1 - G.w_avg), atol=1e-6)   # w_avg + psi (w - w_avg), not z / psi
    assert not torch.equal(half, plain) and half.std(0).mean() < plain.std(0).mean()


def test_conditional_truncation_moves_toward_the_class_average():
    G = trained_w_avg(tiny(num_classes=3).generator)
    assert G.w_avg.shape == (3, 8) and not torch.allclose(G.w_avg[0], G.w_avg[1])
    y = torch.tensor([0, 1, 2, 1])
    _, ws = G(G.sample_latent(4, seed=0), y, truncation=0.0, return_w=True)
    assert torch.equal(ws[:, 0], G.w_avg[y])


def test_w_avg_tracks_the_mapping_output_in_training_only():
    G = tiny().generator.train()
    z = G.sample_latent(32, seed=1)
    with torch.no_grad():
        G(z)
        assert torch.allclose(G.w_avg[0], 0.005 * G.mapping(z).mean(0), atol=1e-7)   # from 0: (1 - 0.995) mean(w)
        before = G.w_avg.clone()
        G.eval()(z)
    assert torch.equal(G.w_avg, before)


def test_truncation_from_python_and_the_cli(tmp_path):
    from helpers import cli

    m = tiny((1, 28, 28))
    trained_w_avg(m.generator)
    m.save(tmp_path / "m")
    loaded = ganzoo.load(str(tmp_path / "m"))
    want = loaded.sample(10, seed=2, truncation=0.6)
    assert torch.equal(want, m.sample(10, seed=2, truncation=0.6))
    out = tmp_path / "t.npy"
    assert cli("sample", str(tmp_path / "m"), "-n", "10", "-o", str(out), "--seed", "2", "--truncation", "0.6").code == 0
    import numpy as np

    assert np.abs(np.load(out) - ((want + 1) / 2).numpy()).max() < 1e-6
    r = cli("sample", str(tmp_path / "m"), "-o", str(tmp_path / "x.png"), "--truncation", "3")
    assert r.code == 1 and "truncation must be a number >= -1 and <= 2, not 3.0" in r.err
    none = cli("sample", str(tmp_path / "m"), "-n", "4", "-o", str(tmp_path / "n.npy"), "--sample-opt", "noise=none")
    assert none.code == 0 and not np.array_equal(np.load(tmp_path / "n.npy"), np.load(out)[:4])


# -- same seed, same samples ----------------------------------------------------------------------------------
def test_same_seed_same_samples_with_fixed_noise(tmp_path):
    m = tiny()
    G = m.generator.eval()
    a = G.sample(6, seed=4)
    assert torch.equal(a, G.sample(6, seed=4)) and not torch.equal(a, G.sample(6, seed=5))
    with torch.no_grad():
        for conv in G.convs:
            conv.noise_strength.fill_(0.5)
    noisy = G.sample(6, seed=4)
    assert torch.equal(noisy, G.sample(6, seed=4))                  # the noise is the fixed buffers: seeded
    assert not torch.equal(noisy, G.sample(6, seed=4, noise="none"))
    m.save(tmp_path / "m")
    assert torch.equal(ganzoo.load(str(tmp_path / "m")).sample(6, seed=4), noisy)   # buffers saved with the weights
    G.train()
    torch.manual_seed(0)
    z = G.sample_latent(6, seed=4)
    assert not torch.equal(G(z), G(z))                              # training: fresh noise each forward


# -- the losses: lazy R1 and the path length in w --------------------------------------------------------------
def test_lazy_r1_is_the_discriminators_term_every_16_steps_with_16_times_the_weight(tmp_path, digits):  # noqa: F811
    from ganzoo.objectives.regularisers import r1_penalty
    from ganzoo.training import TrainConfig, Trainer

    t = Trainer(TrainConfig(variant="stylegan", data=None, out=tmp_path / "r", steps=4, batch_size=8, progress=False,
                            config={**STYLE, "r1": 0.5}), data=digits).setup()
    D = t.model.discriminator
    assert [(term.name, term.weight, term.every) for term in D.loss_terms] == [("r1", 0.5, 16)]
    x, _ = t.batches.next()
    fake = torch.randn(8, 1, 8, 8)
    plain, _ = t.objective.discriminator_step_loss(D, x, fake)
    penalty = r1_penalty(D, x)[0].item()
    for iteration, factor in ((0, 16), (1, 0), (15, 0), (16, 16)):
        loss, stats = t.iteration.discriminator_loss(x, fake, iteration=iteration)
        assert (loss - plain).item() == pytest.approx(factor * 0.5 / 2 * penalty, rel=1e-4, abs=1e-6)
        assert stats["r1"].item() == pytest.approx(penalty, rel=1e-4)
    assert tiny(r1=0.0).discriminator.loss_terms == []


def test_path_length_in_w_is_the_generators_lazy_term(tmp_path, digits):  # noqa: F811
    from ganzoo.training import TrainConfig, Trainer

    t = Trainer(TrainConfig(variant="stylegan", data=None, out=tmp_path / "p", steps=4, batch_size=8, progress=False,
                            config={**STYLE, "pl": 2.0}), data=digits).setup()
    (term,) = t.model.generator.loss_terms
    assert (term.name, term.weight, term.every, term.in_w) == ("pl", 2.0, 4, True)
    stats = [t.step() for _ in range(5)]
    assert all(math.isfinite(float(s["pl"])) and float(s["pl"]) > 0 for s in stats)
    assert float(term.state["mean"]) > 0                             # updated at steps 0 and 4
    with pytest.raises(ConfigError, match="'pl' comes from the generator and from the run options"):
        Trainer(TrainConfig(variant="stylegan", data=None, out=tmp_path / "q", steps=4, batch_size=8, pl=1.0,
                            progress=False, config={**STYLE, "pl": 2.0}), data=digits).setup()


def test_lazy_terms_schedule_and_a_resume_across_them_is_bit_exact(tmp_path, digits):  # noqa: F811
    """Lazy R1 every 3rd D step and the path length in w every 2nd G step (the variant's own terms): each is
    computed at its steps only (the logged value is held between); a snapshot after 2 steps, restored into a
    fresh trainer, takes steps 2 and 3 -- the path length's step 2 and R1's step 3 -- to the same weights,
    buffers (w_avg, the path-length mean) and statistics, bit for bit."""
    lazy = {"r1": 0.5, "r1_every": 3, "pl": 1.0, "pl_every": 2}
    t, _ = check_trains_and_resumes(tmp_path, "stylegan", "non-saturating", digits, config=lazy)
    stats = [{k: float(v) for k, v in t.step().items()} for _ in range(6)]          # steps 4..9
    r1 = [s["r1"] for s in stats]
    pl = [s["pl"] for s in stats]
    assert r1[0] == r1[1] and r1[1] != r1[2] and r1[2] == r1[3] == r1[4] and r1[4] != r1[5]   # new at 6, 9
    assert pl[0] == pl[1] != pl[2] == pl[3] != pl[4] == pl[5]                                  # new at 4, 6, 8
    (term,) = t.model.generator.loss_terms
    assert term.in_w and term.every == 2


def test_the_pl_run_option_is_measured_in_w(tmp_path, digits):  # noqa: F811
    from ganzoo.training import TrainConfig, Trainer

    t = Trainer(TrainConfig(variant="stylegan", data=None, out=tmp_path / "p", steps=4, batch_size=8, pl=1.0,
                            pl_every=2, progress=False, config=STYLE), data=digits).setup()
    assert t.model.generator.loss_terms == []
    assert [(x.name, x.in_w, x.every) for x in t.iteration.regularisers] == [("pl", True, 2)]
    assert math.isfinite(float(t.step()["pl"]))

# -- the layers ------------------------------------------------------------------------------------------------
def test_the_grouped_convolution_is_the_same_function():
    a, b = tiny((1, 28, 28)).generator.eval(), tiny((1, 28, 28), fused_modconv=True).generator.eval()
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        for conv in a.convs:
            conv.noise_strength.fill_(0.3)
        b.load_state_dict(a.state_dict())
    assert (a.sample(8, seed=1) - b.sample(8, seed=1)).abs().max() < 1e-5


def test_minibatch_stddev_groups_of_four_for_any_batch():
    from ganzoo_plugins.stylegan.model import minibatch_stddev

    x = torch.randn(10, 3, 2, 2)
    out = minibatch_stddev(x)
    assert out.shape == (10, 4, 2, 2) and torch.equal(out[:, :3], x)
    for group in (range(0, 4), range(4, 8), range(8, 10)):           # the last group is the remainder
        g = x[list(group)]
        want = torch.sqrt(g.var(0, unbiased=False) + 1e-8).mean()
        assert torch.allclose(out[list(group), 3], want.expand(len(group), 2, 2), atol=1e-6)


@pytest.mark.parametrize("config,match", [
    ({"sample_shape": [1, 28, 14]}, "square images"),
    ({"sample_shape": [1, 22, 22]}, "image size 22 is not supported"),
    ({"mixing": 1.5}, r"mixing must be a number in \[0.0, 1.0\], not 1.5"),
    ({"g_width": 4}, "g_width must be a whole number >= 8"),
    ({"mapping_layers": 0}, r"mapping_layers must be a whole number in \[1, 65536\], not 0"),
    ({"d_label": "concat"}, "d_label must be projection or acgan"),
    ({"output": "sigmoid"}, "output must be linear or tanh, not 'sigmoid'"),
])
def test_bad_configs_are_one_clear_line(config, match):
    with pytest.raises(ConfigError, match=match):
        ganzoo.create("stylegan", **config)


def test_a_tanh_output_bounds_the_training_images_and_is_tanh_of_the_linear_one():
    """``output=tanh``: the same weights give tanh of the linear generator's image -- bounded in training too,
    where the linear output is not clamped (the default stays StyleGAN2's linear output)."""
    torch.manual_seed(0)
    linear = tiny(sample_shape=(1, 8, 8))
    assert linear.config["output"] == "linear"
    bounded = tiny(sample_shape=(1, 8, 8), output="tanh")
    bounded.generator.load_state_dict(linear.generator.state_dict())
    z = torch.randn(16, STYLE["latent_dim"]) * 3
    linear.generator.train(), bounded.generator.train()
    with torch.no_grad():
        raw = linear.generator(z, noise="none")
        out = bounded.generator(z, noise="none")
    assert torch.allclose(out, torch.tanh(raw), atol=1e-6)
    assert raw.abs().max() > 1.0 and out.abs().max() < 1.0


# -- the zoo model ---------------------------------------------------------------------------------------------
def test_the_zoo_model_samples_offline_with_truncation_from_python_and_the_cli(tmp_path, monkeypatch):
    """mnist-stylegan loads from its bundled copy with the Hub off and samples; --truncation acts in w from Python
    and the CLI: psi 1 the plain samples, psi 0 one image (the tracked average w) for every latent."""
    import numpy as np
    from helpers import cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = ganzoo.load("mnist-stylegan")
    assert m.variant == "stylegan" and m.config["output"] == "tanh" and m.generator.w_avg.abs().sum() > 0
    plain = m.sample(20, seed=0)
    assert plain.shape == (20, 1, 28, 28) and torch.equal(m.sample(20, seed=0, truncation=1.0), plain)
    assert (plain[1:] - plain[:1]).abs().amax((1, 2, 3)).min() > 0.1    # not one image for every latent (collapse)
    flat = m.sample(20, seed=0, truncation=0.0)
    assert (flat - flat[:1]).abs().max() < 1e-5                       # psi 0: the average w, whatever z
    half = m.sample(10, seed=2, truncation=0.5)
    assert not torch.equal(half, m.sample(10, seed=2))
    r = cli("sample", "mnist-stylegan", "-n", "10", "--seed", "2", "--truncation", "0.5", "-o", str(tmp_path / "t.npy"))
    assert r.code == 0, r.err
    assert np.abs(np.load(tmp_path / "t.npy") - ((half + 1) / 2).numpy()).max() < 1e-6


@pytest.mark.slow
def test_the_zoo_model_measures_as_its_card_says(mnist_dir):
    """The judge's Frechet ratio of mnist-stylegan, measured afresh, is the one registry.yaml and the card record
    (2.60: all 10 digits, but it misses issue 46's goal of 2.0, and the card says so)."""
    from pathlib import Path

    from ganzoo.metrics import evaluate

    entry = plugins.get_registry().model("mnist-stylegan")
    m = evaluate("mnist-stylegan", f"mnist:{mnist_dir}", metrics=["judge"])["metrics"]["judge"]
    assert m["fd_ratio"] == pytest.approx(entry.metrics["fd_ratio"], abs=1e-3)
    assert m["classes"] == entry.metrics["classes"] == 10 and m["class_kl"] <= 0.05
    assert m["fd_ratio"] > 2.0 and "Misses issue 46's bar" in (Path(entry.source["path"]) / "README.md").read_text()
