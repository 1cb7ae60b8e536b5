"""Loss terms that know the iteration: lazy regularisation (a term every N steps of its phase with N times its
weight: --r1-every, --pl-every, a term's own ``every``), loss terms from the generator, and the path length
measured in w for a generator with a mapping network."""

from __future__ import annotations

import json
import math

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.objectives.regularisers import PathLength, Regulariser, path_lengths
from ganzoo.objectives.step import StepInputs
from ganzoo.training import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"g_hidden": [16], "d_hidden": [16]}


def _trainer(tmp_path, name="t", **kw):
    cfg = dict(variant="mlp", objective="non-saturating", data="ring8", out=tmp_path / name, steps=40, batch_size=32,
               seed=2, device="cpu", progress=False, log_every=4, sample_every=40, checkpoint_every=40, config=SMALL)
    cfg.update(kw)
    return Trainer(TrainConfig(**cfg))


def test_lazy_r1_runs_every_nth_d_step_with_n_times_the_weight(tmp_path):
    gamma, n, k = 2.0, 3, 2
    t = _trainer(tmp_path, objective="wgan-gp", objective_config={"gp_weight": 0.0}, d_steps=k, r1=gamma,
                 r1_every=n).setup()
    step = t.iteration
    assert [(term.name, term.every) for term in step.terms] == [("r1", 3)]
    x, _ = t.batches.next()
    fake = torch.randn(32, 2)
    plain, _ = t.objective.discriminator_step_loss(t.model.discriminator, x, fake)
    xr = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(t.model.discriminator(xr).sum(), xr)
    r1 = g.square().sum(1).mean().item()
    ran = []
    for iteration in range(4):
        for j in range(k):
            loss, stats = step.discriminator_loss(x, fake, iteration=iteration, k=j)
            extra = (loss - plain).item()
            index = iteration * k + j                        # D's steps are counted one by one
            if index % n == 0:
                ran.append(index)
                assert extra == pytest.approx(n * gamma / 2 * r1, rel=1e-5)     # N times the weight
            else:
                assert extra == pytest.approx(0.0, abs=1e-6)
            assert stats["r1"].item() == pytest.approx(r1, rel=1e-5)             # the last value, also when skipped
    assert ran == [0, 3, 6]
    assert step.schedule(0) == (True, False) and step.schedule(1) == (False, True) and step.schedule(2) == (False,
                                                                                                             False)


def test_lazy_terms_log_their_last_value_and_train(tmp_path, monkeypatch):
    from ganzoo.objectives import regularisers

    calls = {"r1": 0, "pl": 0}
    r1, factor = regularisers.PENALTIES["r1"]
    lengths = regularisers.path_lengths

    def count(name, fn):
        def counted(*a, **kw):
            calls[name] += 1
            return fn(*a, **kw)
        return counted

    monkeypatch.setitem(regularisers.PENALTIES, "r1", (count("r1", r1), factor))
    monkeypatch.setattr(regularisers, "path_lengths", count("pl", lengths))
    t = _trainer(tmp_path, r1=1.0, r1_every=4, pl=0.5, pl_every=3)
    model = t.fit()
    assert calls == {"r1": 10, "pl": 14}          # 40 iterations: D steps 0, 4, ..., 36; G steps 0, 3, ..., 39
    rows = [json.loads(x) for x in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "event" not in r]
    assert len(rows) == 10 and all(r["r1"] > 0 and r["pl"] > 0 and math.isfinite(r["pl"]) for r in rows)
    assert {k: model.meta["training"][k] for k in ("r1", "r1_every", "pl", "pl_every")} == {
        "r1": 1.0, "r1_every": 4, "pl": 0.5, "pl_every": 3}
    tensors, _ = t.state_dict()
    assert torch.equal(tensors["term.r1.last_d.0"], t.iteration.held["d.r1"])  # checkpointed for exact resume
    assert "term.pl.last_g.0" in tensors and "term.pl.mean.0" in tensors


def test_every_one_is_the_plain_regulariser_bit_for_bit(tmp_path):
    a = _trainer(tmp_path, "a", r1=1.0, steps=8)
    b = _trainer(tmp_path, "b", r1=1.0, r1_every=1, steps=8)
    a.fit()
    b.fit()
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_lazy_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"^--r1-every makes --r1 lazy; give --r1 too"):
        _trainer(tmp_path, r1_every=16)
    with pytest.raises(ConfigError, match=r"^--pl-every must be an integer, not 2.5"):
        _trainer(tmp_path, pl=1.0, pl_every=2.5)
    with pytest.raises(ConfigError, match=r"^--r1-every must be in \(0, 1000000\], not 0"):
        _trainer(tmp_path, r1=1.0, r1_every=0)
    t = _trainer(tmp_path).setup()
    from ganzoo.training.steps import AdversarialStep

    t.model.discriminator.loss_terms = [Regulariser("r2", 1.0, every=0)]
    with pytest.raises(ConfigError, match=r"loss term 'r2': every must be a whole number >= 1, not 0"):
        AdversarialStep(t)


# -- the generator's own terms ----------------------------------------------------------------------------------
class Offset:
    """A G-side term: 0.5 * mean(fake_x), logged as 'offset'."""

    name, phases, every = "offset", ("g",), 2

    def __call__(self, step):
        value = step.fake_x.mean()
        return 0.5 * value, value


def test_generator_loss_terms_join_the_generator_loss_after_the_discriminator_terms(tmp_path):
    from ganzoo.training.steps import AdversarialStep

    t = _trainer(tmp_path, r1=0.1).setup()
    t.model.generator.loss_terms = [Offset()]
    t.model.discriminator.loss_terms = [Regulariser("r2", 0.5)]
    step = AdversarialStep(t)
    assert [term.name for term in step.terms] == ["r2", "offset", "r1"]         # objective, D, G, run options
    fake = torch.randn(32, 2, requires_grad=True)
    plain, _ = t.objective.generator_step_loss(t.model.discriminator, fake)
    loss, stats = step.generator_loss(fake, iteration=0)
    assert (loss - plain).item() == pytest.approx(2 * 0.5 * fake.mean().item(), abs=1e-6)   # every 2: twice the weight
    loss, stats = step.generator_loss(fake, iteration=1)
    assert (loss - plain).item() == pytest.approx(0.0, abs=1e-6) and "offset" in stats
    t2 = _trainer(tmp_path, "b", pl=1.0).setup()
    t2.model.generator.loss_terms = [PathLength(1.0)]
    with pytest.raises(ConfigError, match=r"share a name: 'pl' comes from the generator and from the run options"):
        AdversarialStep(t2)


# -- the path length in w ---------------------------------------------------------------------------------------
class MappedImages(torch.nn.Module):
    """w = B z (a 'mapping network'), the same w for each of 2 layers, x = sum_l tanh(C_l w_l) as (N, 2, 2, 2)
    images: the Jacobian of x in layer l's style is diag(1 - tanh(C_l w)^2) C_l."""

    w_dim = 3

    def __init__(self, B, C):
        super().__init__()
        self.B, self.C = B, C

    def forward(self, z, y=None, return_w=False):
        ws = (z @ self.B.T).unsqueeze(1).expand(-1, 2, -1)
        x = (torch.tanh(ws[:, 0] @ self.C[0].T) + torch.tanh(ws[:, 1] @ self.C[1].T)).reshape(-1, 2, 2, 2)
        return (x, ws) if return_w else x


def test_path_length_in_w_matches_hand_computation(tmp_path, monkeypatch):
    torch.manual_seed(0)
    B, C = torch.randn(3, 5, requires_grad=True), torch.randn(2, 8, 3)
    G, z = MappedImages(B, C), torch.randn(4, 5)
    torch.manual_seed(7)
    lengths = path_lengths(G, z, in_w=True)
    torch.manual_seed(7)
    u = torch.randn(4, 8) / 2.0                             # / sqrt(H * W)
    with torch.no_grad():
        w = z @ B.T
        per_layer = torch.stack([((u * (1 - torch.tanh(w @ C[i].T) ** 2)) @ C[i]).square().sum(1)
                                 for i in range(2)], 1)                          # ||J_l^T u||^2
    assert torch.allclose(lengths, per_layer.mean(1).sqrt(), atol=1e-6)           # StyleGAN2: the mean over layers
    (g,) = torch.autograd.grad(PathLength(1.0, in_w=True)(StepInputs(None, None, G(z), z=z, phase="g", G=G))[0], B)
    assert g.abs().sum() > 0                               # through the mapping network: it trains it
    # the engine measures --pl in w for a generator that declares w_dim, in z otherwise
    from ganzoo_plugins.mlp.model import MLPGenerator

    assert _trainer(tmp_path, "z", pl=1.0).setup().iteration.terms[0].in_w is False
    monkeypatch.setattr(MLPGenerator, "w_dim", 8, raising=False)
    assert _trainer(tmp_path, "w", pl=1.0).setup().iteration.terms[0].in_w is True


def test_cuda_graph_wrapper_keeps_a_graph_per_lazy_schedule(tmp_path, graph_stand_ins):
    """With R1 every 2nd D step (K = 1) the iterations alternate between two kinds of work: each kind is
    warmed up WARMUP times and captured on its own, and each replay hands back its own graph's outputs."""
    from ganzoo.training.cuda_graphs import CudaGraphStep

    rows = {}
    for mode in ("eager", "graph"):
        t = _trainer(tmp_path, mode, r1=1.0, r1_every=2).setup()
        it = CudaGraphStep(t.iteration, t.device) if mode == "graph" else t.iteration
        rows[mode] = [[float(v) for v in it(t.batches.next, i).values()] for i in range(12)]
        if mode == "graph":
            assert sorted(it.graphs) == [(False,), (True,)]
    w = CudaGraphStep.WARMUP
    captured = 2 * (w + 1)                    # iterations 0..7: warm-ups, then a capture of each schedule
    assert rows["graph"][:captured] == rows["eager"][:captured]
    assert rows["graph"][captured:] == [rows["graph"][2 * w], rows["graph"][2 * w + 1]] * 2   # replays alternate
    assert len(graph_stand_ins) == 2 + 4      # a replay after each capture, then one per later iteration
