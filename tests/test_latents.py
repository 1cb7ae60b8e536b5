"""Latents belong to the generator: ``Generator.sample_latent`` is the one place a latent is drawn (the
training step, the training pictures, ``Model.sample``, ``ganzoo eval`` and ``ganzoo sample --interpolate``),
and the existing variants' seeded runs are what they were before the draw moved there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.interfaces import Generator

pytestmark = pytest.mark.usefixtures("one_thread")


def _pre_contract_sample_latent(self, n, *, seed=None, device=None, training=False, truncation=None):
    """The draws as the engine made them before ``sample_latent`` owned them: ``torch.randn(M, latent_dim,
    device=device)`` in the training step, a CPU generator seeded for the pictures, then moved."""
    if training:
        return torch.randn(n, self.latent_dim, device=device)
    gen = torch.Generator(device="cpu").manual_seed(int(seed)) if seed is not None else None
    return torch.randn(n, self.latent_dim, generator=gen).to(device or self._device())


def _run(out, **kw):
    ganzoo.train(out=out, progress=False, log_every=5, sample_every=10, checkpoint_every=20, seed=2, **kw)
    lines = [{k: v for k, v in json.loads(x).items() if k not in ("time", "steps_per_s")}
             for x in (out / "metrics.jsonl").read_text().splitlines()]
    from safetensors.torch import load_file

    weights = {f.name: load_file(str(f)) for f in sorted(out.glob("*.safetensors"))}
    return lines, weights, (out / "samples.png").read_bytes()


RUNS = {
    "mlp-ring8": dict(variant="mlp", data="ring8", steps=20, batch_size=32, g_hidden=[32], d_hidden=[32]),
    "dcgan-conditional-ema-pl": dict(variant="dcgan", data="digits", steps=20, batch_size=16, conditional=True,
                                     ema=0.9, pl=1.0, g_width=8, d_width=8, latent_dim=8),
    "mlp-wgan-gp-fresh": dict(variant="mlp", objective="wgan-gp", data="ring8", steps=10, batch_size=32,
                              g_hidden=[32], d_hidden=[32], d_steps=2),
}


@pytest.mark.parametrize("case", list(RUNS))
def test_seeded_runs_are_bit_identical_to_the_pre_contract_draws(tmp_path, monkeypatch, case):
    """A seeded run through the generator's sample_latent gives the metric lines, weights and training
    picture of the same run with the latents drawn as the engine drew them before (inline torch.randn)."""
    now = _run(tmp_path / "now", **RUNS[case])
    monkeypatch.setattr(Generator, "sample_latent", _pre_contract_sample_latent)
    before = _run(tmp_path / "before", **RUNS[case])
    assert now[0] == before[0]
    assert now[1].keys() == before[1].keys()
    for name in now[1]:
        for key, value in now[1][name].items():
            assert torch.equal(value, before[1][name][key]), (name, key)
    assert now[2] == before[2]


class _Spy:
    """Records each call of a generator's sample_latent (and still draws)."""

    def __init__(self, monkeypatch, cls):
        self.calls = []
        original = cls.sample_latent

        def spy(g, n, **kw):
            self.calls.append({"n": n, **kw})
            return original(g, n, **kw)

        monkeypatch.setattr(cls, "sample_latent", spy)


def test_every_draw_goes_through_the_generator(tmp_path, monkeypatch):
    from ganzoo.images import latent_walks
    from ganzoo.metrics.suite import generate
    from ganzoo.training import TrainConfig, Trainer

    spy = _Spy(monkeypatch, Generator)
    t = Trainer(TrainConfig(variant="mlp", objective="wgan-gp", data="ring8", out=tmp_path / "r", steps=2,
                            batch_size=16, d_steps=2, reuse_fake=False, config={"g_hidden": [8], "d_hidden": [8]}))
    t.setup()
    t.out.mkdir()
    t.step()
    # the training step: K = 2 D steps and a fresh G step, each a training latent on the run's device
    assert [c["training"] for c in spy.calls] == [True] * 3 and {c["n"] for c in spy.calls} == {16}
    assert all(c["device"] == t.device and c.get("seed") is None for c in spy.calls)
    spy.calls.clear()
    t.monitor.pictures(t)                       # the mixture evaluation: seeded with the run's seed + 1
    assert [(c["n"], c["seed"]) for c in spy.calls] == [(2000, 1)]
    m = t.export_model()
    spy.calls.clear()
    m.sample(5, seed=7)
    generate(m, 6, seed=8)
    latent_walks(m, 3, 4, seed=9)
    assert [(c["n"], c["seed"]) for c in spy.calls] == [(5, 7), (6, 8), (3, 9), (3, 10)]


class ZeroLatentG(Generator):
    """A generator whose latent is always 0: every sample through any path is the same."""

    def __init__(self):
        super().__init__(3, [2], output_range=None)
        self.net = torch.nn.Linear(3, 2)

    def sample_latent(self, n, *, seed=None, device=None, training=False, **options):
        return torch.zeros(n, 3, device=device)

    def forward(self, z, y=None):
        return self.net(z)


def test_a_generator_that_owns_its_latent_is_sampled_through_it():
    from ganzoo.metrics.suite import generate

    m = ganzoo.create("mlp", sample_shape=[2], g_hidden=[8], d_hidden=[8])
    m.components["generator"] = ZeroLatentG()
    for x in (m.sample(4, seed=0), m.sample(4), generate(m, 4, seed=3)):
        assert torch.equal(x, x[:1].expand(4, 2))
    assert not torch.equal(m.sample(4, seed=0), ganzoo.create("mlp", sample_shape=[2]).sample(4, seed=0))


def test_unseeded_draws_come_from_the_global_rng_on_the_device_and_seeded_ones_do_not_touch_it():
    g = ganzoo.create("mlp", sample_shape=[2], g_hidden=[8], d_hidden=[8]).generator
    torch.manual_seed(5)
    a = g.sample_latent(4, training=True)
    torch.manual_seed(5)
    assert torch.equal(a, torch.randn(4, g.latent_dim))
    state = torch.get_rng_state()
    s = g.sample_latent(4, seed=1, truncation=0.5)
    assert torch.equal(torch.get_rng_state(), state)        # a seeded draw leaves the global RNG alone
    assert torch.equal(s, g.sample_latent(4, seed=1, truncation=0.5)) and s.abs().max() <= 0.5


# -- sampling options: one way from Model.sample, ganzoo sample and ganzoo eval to the generator ------------
def _saved(tmp_path, **config):
    m = ganzoo.create("mlp", sample_shape=[2], g_hidden=[16], d_hidden=[8], dataset="ring8", **config)
    m.save(tmp_path / "m")
    return ganzoo.load(str(tmp_path / "m"))


def test_with_sampling_is_the_same_model_sampling_with_its_options(tmp_path):
    m = _saved(tmp_path)
    t = m.with_sampling(truncation=0.5)
    assert t.generator is m.generator and m.sampling == {} and t.sampling == {"truncation": 0.5}
    assert torch.equal(t.sample(30, seed=1), m.sample(30, seed=1, truncation=0.5))
    assert not torch.equal(t.sample(30, seed=1), m.sample(30, seed=1))
    assert torch.equal(t.sample(30, seed=1, truncation=2.0), m.sample(30, seed=1, truncation=2.0))  # a call wins
    assert torch.equal(t.sample_unit(4, seed=2), m.sample_unit(4, seed=2, truncation=0.5))
    with pytest.raises(ganzoo.errors.ConfigError, match=r"takes no sampling option 'noise' \(its options: truncation\)"):
        m.with_sampling(noise="const")
    with pytest.raises(ganzoo.errors.ConfigError, match=r"sampling option truncation must be a number > 0, not -1"):
        m.sample(3, truncation=-1)


def test_cli_sample_and_eval_take_the_options_and_refuse_what_a_model_does_not_take(tmp_path):
    from helpers import cli

    m = _saved(tmp_path)
    folder = str(tmp_path / "m")
    for flags in (["--truncation", "0.5"], ["--sample-opt", "truncation=0.5"]):
        out = tmp_path / f"x{len(flags[0])}.npy"
        r = cli("sample", folder, "-n", "40", "-o", str(out), "--seed", "3", *flags)
        assert r.code == 0, r.err
        assert torch.equal(torch.from_numpy(__import__("numpy").load(out)), m.sample(40, seed=3, truncation=0.5))
    r = cli("sample", folder, "-n", "4", "-o", str(tmp_path / "w.npy"), "--interpolate", "--truncation", "0.5")
    assert r.code == 0, r.err
    walks = __import__("numpy").load(tmp_path / "w.npy")
    ends = m.sample(4, seed=0, truncation=0.5).numpy()
    assert abs(walks[:, 0] - ends).max() < 1e-5                            # a walk starts at a truncated sample
    for flags, message in ((["--sample-opt", "noise=none"], f"ganzoo: error: {folder} takes no sampling option "
                            "'noise' (its options: truncation)"),
                           (["--truncation", "0"], "ganzoo: error: sampling option truncation must be a number > 0, "
                            "not 0.0")):
        for command in (["sample", folder, "-o", str(tmp_path / "no.png")], ["eval", folder, "--data", "ring8"]):
            r = cli(*command, *flags)
            assert (r.code, r.err.strip()) == (1, message), r.err
    assert not (tmp_path / "no.png").exists()
    zoo = "ring8-mlp-nonsat"                    # a trained model: truncation moves its samples towards the modes
    r = cli("eval", zoo, "-n", "500", "--truncation", "0.5", "--json")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    trained = ganzoo.load(zoo)
    want = ganzoo.evaluate(trained.with_sampling(truncation=0.5), n=500)
    assert got["sampling"] == {"truncation": 0.5} and got["metrics"] == want["metrics"]
    assert ganzoo.evaluate(trained, n=500, sampling={"truncation": 0.5})["metrics"] == want["metrics"]
    plain = ganzoo.evaluate(trained, n=500)
    assert "sampling" not in plain and plain["metrics"]["modes"]["hq_fraction"] != want["metrics"]["modes"]["hq_fraction"]
    assert "truncation 0.5" in cli("eval", zoo, "-n", "500", "--truncation", "0.5").out.splitlines()[0]


class ChoiceG(ZeroLatentG):
    """A generator that declares an option of its own (acted on in generate) instead of truncation."""

    from ganzoo.sampling import SamplingOption

    sampling_options = {"shift": SamplingOption("add this to every sample", default=0.0, low=-1.0, high=1.0),
                        "mode": SamplingOption("what to draw", type="str", default="plain", choices=("plain", "flip"))}

    def generate(self, z, y=None, shift=0.0, mode="plain", **options):
        x = self(z, y) + shift
        return -x if mode == "flip" else x


def test_a_generator_declares_its_options_for_the_cli_and_a_user_interface():
    g = ChoiceG()
    base = g.sample(3)
    assert torch.equal(g.sample(3, shift=0.5), base + 0.5) and torch.equal(g.sample(3, mode="flip"), -base)
    assert g.check_sampling({"shift": "0.25", "mode": None}) == {"shift": 0.25}   # command-line strings convert
    with pytest.raises(ganzoo.errors.ConfigError, match="takes no sampling option 'truncation'"):
        g.sample(3, truncation=0.7)
    with pytest.raises(ganzoo.errors.ConfigError, match="sampling option mode must be one of plain, flip, not 'up'"):
        g.sample(3, mode="up")
    with pytest.raises(ganzoo.errors.ConfigError, match="shift must be a number >= -1 and <= 1, not 2"):
        g.sample(3, shift=2)
    assert json.loads(json.dumps({k: o.describe() for k, o in g.sampling_options.items()}))["mode"] == {
        "help": "what to draw", "type": "str", "default": "plain", "low": None, "high": None, "low_open": False,
        "choices": ["plain", "flip"]}
