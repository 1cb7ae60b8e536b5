"""Regularisers (--r1, --r2, --gp; --pl on G's side): the penalties against hand computations, their place in D's loss with any
adversarial objective, and that a penalty through the run option is the objective's built-in one, bit for bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import ganzoo
import reliability
from ganzoo.errors import ConfigError
from ganzoo.objectives.step import StepInputs
from ganzoo.objectives.regularisers import Regulariser, gradient_penalty, r1_penalty, r2_penalty, regularisers
from ganzoo.training import TrainConfig, Trainer

SMALL = dict(g_hidden=[32], d_hidden=[32])


pytestmark = pytest.mark.usefixtures("one_thread")


class Quadratic(torch.nn.Module):
    """D(x) = 1/2 sum_j a_j x_j^2 per sample: its input gradient is a * x, known in closed form."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x, y=None):
        return 0.5 * (self.a * x.square()).flatten(1).sum(1)


def _sq_norms(g):
    return [sum(v * v for v in row) for row in g.flatten(1).tolist()]


def test_penalties_match_hand_computation():
    a = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    D = Quadratic(a)
    real = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 0.0]]]).unsqueeze(1)  # (2, 1, 2, 2)
    fake = torch.tensor([[[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 2.0]]]).unsqueeze(1)
    # R1: mean over samples of ||a * x||^2, on the real batch; R2 the same on the fakes
    r1, scores = r1_penalty(D, real)
    assert r1.item() == pytest.approx(sum(_sq_norms(a * real)) / 2, abs=1e-6)
    assert torch.equal(scores, D(real))
    assert r2_penalty(D, fake)[0].item() == pytest.approx(sum(_sq_norms(a * fake)) / 2, abs=1e-6)
    # the gradient penalty: one alpha per sample, (||grad||_2 - 1)^2 per sample, then the mean
    alpha = torch.tensor([0.25, 0.75]).reshape(2, 1, 1, 1)
    x_hat = alpha * real + (1 - alpha) * fake
    want = sum((math.sqrt(s) - 1.0) ** 2 for s in _sq_norms(a * x_hat)) / 2
    assert gradient_penalty(D, real, fake, alpha=alpha).item() == pytest.approx(want, abs=1e-6)
    torch.manual_seed(7)
    drawn = gradient_penalty(D, real, fake)
    torch.manual_seed(7)
    per_sample = torch.rand(2, 1, 1, 1)  # what one alpha per sample draws
    assert drawn.item() == pytest.approx(gradient_penalty(D, real, fake, alpha=per_sample).item(), abs=1e-7)
    # as run options: R1/R2 weigh gamma / 2, the gradient penalty W; R1 sees only reals, R2 only fakes
    step = StepInputs(D, real, fake)
    (t1, v1), (t2, v2) = Regulariser("r1", 3.0)(step), Regulariser("r2", 3.0)(step)
    assert v1.item() == pytest.approx(r1.item()) and t1.item() == pytest.approx(1.5 * r1.item())
    assert v2.item() == pytest.approx(sum(_sq_norms(a * fake)) / 2, abs=1e-5)
    assert t2.item() == pytest.approx(1.5 * sum(_sq_norms(a * fake)) / 2, abs=1e-5)
    assert [r.name for r in regularisers({"gp": 1.0, "r1": 0.5, "r2": 0.0})] == ["r1", "gp"]  # applied in this order


def test_gradient_is_of_the_sum_of_scores():
    """Each sample's gradient row is that of its own score: a D that mixes samples (a batch mean) shares it."""

    class Mixing(torch.nn.Module):
        def forward(self, x, y=None):
            return x.flatten(1).sum(1) + x.flatten(1).sum(1).mean()

    x = torch.randn(4, 3)
    penalty, _ = r1_penalty(Mixing(), x)
    # d/dx_i of sum_k (s_k + mean(s)) = 1 + 4 * (1/4) = 2 per coordinate -> ||grad||^2 = 3 * 4
    assert penalty.item() == pytest.approx(12.0)


def _trainer(tmp_path, name, **kw):
    cfg = dict(variant="mlp", data="ring8", out=tmp_path / name, steps=40, batch_size=64, seed=2, device="cpu",
               progress=False, log_every=4, sample_every=20, checkpoint_every=20, config=SMALL)
    cfg.update(kw)
    return Trainer(TrainConfig(**cfg))


def test_r1_with_non_saturating_changes_d_loss_by_gamma_half_and_trains(tmp_path):
    gamma = 2.0
    t = _trainer(tmp_path, "r1", objective="non-saturating", r1=gamma).setup()
    step = t.iteration
    assert step.headline[-1] == "r1"  # shown in the progress bar
    x, _ = t.batches.next()
    with torch.no_grad():
        fake = t.model.generator(torch.randn(64, t.model.generator.latent_dim))
    loss, stats = step.discriminator_loss(x, fake)
    plain, _ = t.objective.discriminator_step_loss(t.model.discriminator, x, fake)
    xr = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(t.model.discriminator(xr).sum(), xr)
    hand = g.square().sum(1).mean().item()
    assert stats["r1"].item() == pytest.approx(hand, rel=1e-5)
    assert (loss - plain).item() == pytest.approx(gamma / 2 * hand, rel=1e-5)
    model = t.fit()
    logs = [json.loads(line) for line in (tmp_path / "r1" / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in logs if "event" not in r]
    evals = [r for r in logs if r.get("event") == "eval"]
    assert len(rows) == 10 and all(r["r1"] >= 0 and math.isfinite(r["r1"]) for r in rows)
    assert evals[-1]["mode_distance"] < evals[0]["mode_distance"]
    assert model.meta["training"]["r1"] == gamma and "gp" not in model.meta["training"]


def test_gp_through_the_option_is_wgan_gp_bit_for_bit(tmp_path):
    """wgan-gp with gp_weight 0 plus --gp 10 is wgan-gp (gp_weight 10): same losses, same weights."""
    _trainer(tmp_path, "builtin", objective="wgan-gp", steps=12).fit()
    _trainer(tmp_path, "option", objective="wgan-gp", objective_config={"gp_weight": 0.0}, gp=10.0, steps=12).fit()
    from safetensors.torch import load_file

    for name in ("generator.safetensors", "discriminator.safetensors"):
        a, b = load_file(str(tmp_path / "builtin" / name)), load_file(str(tmp_path / "option" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name

    def rows(name):
        return [{k: v for k, v in json.loads(line).items() if k not in ("time", "steps_per_s")}
                for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]

    assert rows("builtin") == rows("option") and "gp" in rows("option")[1]


def test_r1_option_equals_hinge_r1_on_a_fixed_batch(tmp_path):
    built_in = _trainer(tmp_path, "a", objective="hinge", objective_config={"r1": 0.1}).setup()
    option = _trainer(tmp_path, "b", objective="hinge", r1=0.1).setup()
    x, _ = built_in.batches.next()
    fake = torch.randn(64, 2)
    la, sa = built_in.iteration.discriminator_loss(x, fake)
    lb, sb = option.iteration.discriminator_loss(x, fake)
    assert la.item() == pytest.approx(lb.item(), abs=1e-6) and sa["r1"].item() == pytest.approx(sb["r1"].item())
    both = _trainer(tmp_path, "c", objective="hinge", objective_config={"r1": 0.1}, r1=0.1).setup()
    with pytest.raises(ConfigError, match=r"^--r1: objective Hinge already adds its own 'r1' term"):
        both.iteration.discriminator_loss(x, fake)


@pytest.mark.reliability("input")
def test_cli_gp_with_hinge_and_resume(tmp_path):
    from helpers import cli

    out = tmp_path / "run"
    base = ["train", "mlp", "--objective", "hinge", "--data", "ring8", "--out", str(out), "--batch-size", "32",
            "--set", "g_hidden=[16]", "--set", "d_hidden=[16]", "--log-every", "2", "--checkpoint-every", "3",
            "--no-progress"]
    r = cli(*base, "--steps", "6", "--gp", "10", "--r2", "0.5")
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "event" not in r]
    assert rows and all(r["gp"] >= 0 and r["r2"] >= 0 for r in rows)
    training = ganzoo.load(out).meta["training"]
    assert training["gp"] == 10.0 and training["r2"] == 0.5 and "r1" not in training
    r = cli("train", "--resume", "--out", out, "--steps", "9", "--gp", "5", "--no-progress")
    assert r.code == 1 and r.err == ("ganzoo: error: --resume: --gp 5.0 differs from the checkpoint's 10.0; "
                                     "drop it or start a new --out\n")
    r = cli("train", "--resume", "--out", out, "--steps", "9", "--no-progress")
    assert r.code == 0, r.err
    assert ganzoo.load(out).meta["training"]["gp"] == 10.0


@pytest.mark.reliability("input")
def test_regulariser_errors(tmp_path):
    with reliability.refuses("training arguments", ConfigError, r"^r1 regularises a GAN's discriminator; 'vae' is a VAE$"):
        ganzoo.train("vae", data="digits", out=tmp_path / "a", steps=1, r1=1.0)
    with reliability.refuses("training arguments", ConfigError, r"^gp must be in \[0, 1000000\], not -1"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "b", steps=1, gp=-1)
    with reliability.refuses("training arguments", ConfigError, r"^pl regularises a GAN's generator; 'ae' is an autoencoder$"):
        ganzoo.train("ae", data="digits", out=tmp_path / "c", steps=1, pl=1.0)
    with reliability.refuses("training arguments", ConfigError, r"^pl must be in \[0, 1000000\], not -0.5"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "d", steps=1, pl=-0.5)
    with reliability.refuses("training arguments", ConfigError, r"^pl differentiates a gradient of the generator "
                             r"\(a double backward\), which torch.compile does not support; drop compile$"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "e", steps=1, pl=1.0, compile=True)
    assert not any(Path(tmp_path / n).exists() for n in "abcde")


# -- the path-length regulariser (--pl): StyleGAN2's penalty on G's Jacobian in z --------------------------------

class LinearImages(torch.nn.Module):
    """G(z) = A z as (N, 2, 2, 2) images: its Jacobian in z is A, so J^T u = A^T u in closed form."""

    def __init__(self, A):
        super().__init__()
        self.A = A

    def forward(self, z, y=None):
        return (z @ self.A.T).reshape(-1, 2, 2, 2)


def _hand_lengths(A, u):
    """||A^T u_i||_2 per sample, on plain floats (u: (N, 8) rows)."""
    rows = A.tolist()
    return [math.sqrt(sum(sum(rows[p][j] * ui[p] for p in range(8)) ** 2 for j in range(3))) for ui in u.tolist()]


def test_path_length_matches_hand_computation():
    from ganzoo.objectives.regularisers import PathLength, path_lengths

    A = torch.tensor([[1.0, 0.0, 2.0], [0.0, -1.0, 0.5], [3.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                      [-2.0, 1.0, 1.0], [0.5, 0.5, 0.5], [1.0, -1.0, 0.0], [0.0, 2.0, -1.0]])
    G = LinearImages(A)
    z = torch.randn(4, 3)
    torch.manual_seed(11)
    lengths = path_lengths(G, z)
    torch.manual_seed(11)
    u = torch.randn(4, 2, 2, 2).flatten(1) / 2.0            # u ~ N(0, I) / sqrt(H * W), H * W = 4 (not C*H*W = 8)
    hand = _hand_lengths(A, u)
    assert lengths.tolist() == pytest.approx(hand, abs=1e-6)
    # the term: a <- a + 0.01 (mean(l) - a) from a = 0, then weight * mean((l - a)^2) with the updated a
    term = PathLength(3.0)
    assert (term.name, term.phases) == ("pl", ("g",)) and term.state["mean"].item() == 0.0
    a = 0.0
    for seed in (11, 12):
        torch.manual_seed(seed)
        weighted, value = term(StepInputs(None, None, G(z), z=z, phase="g", G=G))
        torch.manual_seed(seed)
        ls = _hand_lengths(A, torch.randn(4, 2, 2, 2).flatten(1) / 2.0)
        a = a + 0.01 * (sum(ls) / 4 - a)
        want = sum((li - a) ** 2 for li in ls) / 4
        assert term.state["mean"].item() == pytest.approx(a, abs=1e-6)     # the running mean, updated per call
        assert value.item() == pytest.approx(want, abs=1e-6) and weighted.item() == pytest.approx(3 * want, abs=1e-5)
    # differentiable in G's weights (create_graph): the penalty trains G
    W = torch.nn.Parameter(A.clone())
    Gw = LinearImages(W)
    weighted, _ = PathLength(1.0)(StepInputs(None, None, Gw(z), z=z, phase="g", G=Gw))
    (g,) = torch.autograd.grad(weighted, W)
    assert g.abs().sum() > 0
    # vectors: u is scaled by the number of values of one sample
    flat = lambda z, y=None: z @ A.T  # noqa: E731
    torch.manual_seed(3)
    lv = path_lengths(flat, z)
    torch.manual_seed(3)
    assert lv.tolist() == pytest.approx(_hand_lengths(A, torch.randn(4, 8) / math.sqrt(8)), abs=1e-6)
    with pytest.raises(ConfigError, match="--pl needs the generator"):
        term(StepInputs(None, None, G(z), z=z, phase="g"))


def test_path_length_option_adds_to_g_loss_only_and_is_logged(tmp_path):
    from ganzoo.objectives.regularisers import path_lengths

    w = 2.0
    t = _trainer(tmp_path, "pl", objective="non-saturating", pl=w, steps=8).setup()
    step, G = t.iteration, t.model.generator
    assert step.headline[-1] == "pl" and [term.name for term in step.terms] == ["pl"]
    x, _ = t.batches.next()
    z = torch.randn(64, G.latent_dim)
    fake = G(z)
    _, d_stats = step.discriminator_loss(x, fake.detach(), z=z)
    assert "pl" not in d_stats                                        # a term of G's loss, not D's
    torch.manual_seed(5)
    loss, stats = step.generator_loss(fake, z=z, real_x=x)
    plain, _ = t.objective.generator_step_loss(t.model.discriminator, fake)
    torch.manual_seed(5)
    lengths = path_lengths(G, z)                                       # with respect to z (the same draw of u)
    a = 0.01 * lengths.mean()
    hand = (lengths - a).square().mean().item()
    assert stats["pl"].item() == pytest.approx(hand, rel=1e-5)
    assert (loss - plain).item() == pytest.approx(w * hand, rel=1e-5)
    assert step.terms[0].state["mean"].item() == pytest.approx(a.item(), rel=1e-6)
    model = t.fit()
    rows = [json.loads(line) for line in (tmp_path / "pl" / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "event" not in r]
    assert len(rows) == 2 and all(r["pl"] > 0 and math.isfinite(r["pl"]) for r in rows)
    assert model.meta["training"]["pl"] == w
    tensors, _ = t.state_dict()
    assert torch.equal(tensors["term.pl.mean.0"], step.terms[0].state["mean"])   # checkpointed
    with pytest.raises(ConfigError, match=r"^resume: pl 1.0 differs from the checkpoint's 2.0"):
        ganzoo.train(out=tmp_path / "pl", resume=True, steps=10, pl=1.0)
