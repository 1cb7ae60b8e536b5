"""The VQ-VAE plugin: the quantiser's maths (nearest code, straight-through gradient, the EMA update formula,
dead-code restarts), its terms in the autoencoding step's loss, and the PixelCNN prior's causal masks."""

from __future__ import annotations

import copy

import pytest
import torch

import ganzoo
from ganzoo.sampling import RandomSource
from ganzoo.training import TrainConfig, Trainer
from ganzoo_plugins.vqvae.prior import CodePrior, pick
from ganzoo_plugins.vqvae.quantise import VectorQuantiser, perplexity

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"sample_shape": [1, 8, 8], "codes": 8, "code_dim": 4, "width": 8, "blocks": 1, "prior_width": 8,
         "prior_layers": 2}


def _codebook(vq, rows):
    with torch.no_grad():
        vq.embed.copy_(torch.tensor(rows))
        if vq.ema:
            vq.embed_sum.copy_(vq.embed)


def test_nearest_code_and_the_straight_through_gradient():
    vq = VectorQuantiser(3, 2, decay=0.0)
    _codebook(vq, [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.4, 0.1], [0.6, 0.0], [0.1, 1.2], [0.5, 0.0]])   # the last one ties: the lower index
    assert vq.nearest(z).tolist() == [0, 1, 2, 0]
    grid = z.reshape(1, 2, 2, 2).permute(0, 3, 1, 2).clone().requires_grad_(True)   # (N, D, h, w), raster order
    out = vq.straight_through(grid)
    assert torch.equal(out.detach().permute(0, 2, 3, 1).reshape(4, 2), vq.embed.detach()[[0, 1, 2, 0]])
    w = torch.randn_like(out)
    (out * w).sum().backward()
    assert torch.equal(grid.grad, w)                       # the identity backward
    assert vq.embed.grad is None                           # the reconstruction does not train the codebook


def test_the_ema_update_is_the_papers_formula_with_laplace_smoothing():
    vq = VectorQuantiser(3, 2, decay=0.9, restart=0.0, eps=1e-5)
    e0 = vq.embed.detach().clone()
    assert vq.cluster_size.tolist() == [1.0, 1.0, 1.0] and torch.equal(vq.embed_sum, e0)
    batches = [(torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]]), torch.tensor([0, 0, 2])),
               (torch.tensor([[2.0, 2.0], [-1.0, 4.0]]), torch.tensor([1, 2]))]
    N, M = [1.0, 1.0, 1.0], e0.tolist()
    for z, idx in batches:
        vq.update(z, idx)
        for j in range(3):      # plain floats: N_j <- 0.9 N_j + 0.1 n_j, M_j <- 0.9 M_j + 0.1 sum of its vectors
            mine = [row for row, k in zip(z.tolist(), idx.tolist()) if k == j]
            N[j] = 0.9 * N[j] + 0.1 * len(mine)
            M[j] = [0.9 * m + 0.1 * sum(r[d] for r in mine) for d, m in enumerate(M[j])]
        total = sum(N)
        smoothed = [(n + 1e-5) / (total + 3e-5) * total for n in N]
        assert vq.cluster_size.tolist() == pytest.approx(N, abs=1e-6)
        assert vq.embed_sum.flatten().tolist() == pytest.approx(sum(M, []), abs=1e-6)
        assert vq.embed.detach().flatten().tolist() == pytest.approx(
            [m / s for row, s in zip(M, smoothed) for m in row], abs=1e-5)


def test_dead_codes_restart_at_vectors_of_the_batch():
    vq = VectorQuantiser(4, 2, decay=0.5, restart=1.0)
    z = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    before = copy.deepcopy(vq)
    torch.manual_seed(7)
    vq.update(z, torch.tensor([0, 0, 1]))      # N = 0.5 + 0.5 n: [1.5, 1.0, 0.5, 0.5]: codes 2 and 3 are dead
    torch.manual_seed(7)
    pick = z[torch.randint(0, 3, (2,))]
    assert torch.equal(vq.embed.detach()[2:], pick) and torch.equal(vq.embed_sum[2:], pick)
    assert vq.cluster_size.tolist() == [1.5, 1.0, 1.0, 1.0]
    before.restart = 0.0                        # the same update without restarts: codes 0 and 1 agree
    before.update(z, torch.tensor([0, 0, 1]))
    assert torch.allclose(vq.embed.detach()[:2], before.embed.detach()[:2])
    assert not torch.allclose(vq.embed.detach()[2:], before.embed.detach()[2:])


def test_perplexity_counts_codes_in_use():
    assert perplexity(torch.tensor([0, 1, 2, 3]), 8).item() == pytest.approx(4.0)
    assert perplexity(torch.tensor([5, 5, 5]), 8).item() == pytest.approx(1.0)


@pytest.mark.parametrize("decay", [0.99, 0.0])
def test_the_quantisers_terms_reach_the_loss(tmp_path, decay):
    t = Trainer(TrainConfig(variant="vqvae", data="digits", out=str(tmp_path / "r"), steps=1, batch_size=16,
                            progress=False, config={**SMALL, "decay": decay})).setup()
    names = ["perplexity", "commit"] + ([] if decay else ["codebook"])
    assert [term.name for term in t.iteration.terms] == names
    x, _ = t.batches.next()
    module = t.iteration.module
    dec, vq = module.generator, module.generator.quantiser
    expected_vq = copy.deepcopy(vq)
    with torch.no_grad():
        recon, _ = t.objective.loss(module, x)             # the decoder's forward changes nothing
        grid = dec.grid(module.encoder(x))
        zq, idx = vq.quantise(grid)
        commit = (grid - zq).square().flatten(1).sum(1).mean()
    rng = torch.get_rng_state()
    loss, stats = module(x)
    assert stats["commit"].item() == pytest.approx(commit.item(), rel=1e-5)
    assert stats["perplexity"].item() == pytest.approx(perplexity(idx, 8).item(), rel=1e-6)
    extra = stats["codebook"].item() if not decay else 0.0
    if not decay:
        assert extra == pytest.approx(commit.item(), rel=1e-5)   # ||sg(z) - e||^2: the same number, other gradient
    assert loss.item() == pytest.approx(recon.item() + 0.25 * commit.item() + extra, rel=1e-5)
    if decay:   # the codebook moved by one EMA step on this batch's codes (restarts too), and only by that
        torch.set_rng_state(rng)
        expected_vq.update(grid.permute(0, 2, 3, 1).reshape(-1, 4), idx.flatten())
        for a, b in zip(vq.state_dict().values(), expected_vq.state_dict().values()):
            assert torch.equal(a, b)
    else:       # the codebook loss trains the codebook by gradient
        loss.backward()
        assert vq.embed.grad is not None and vq.embed.grad.abs().sum() > 0


def test_the_prior_is_causal():
    torch.manual_seed(0)
    prior = CodePrior(4 * 16, [1, 16, 16], codes=5, grid=4, width=8, layers=3)
    idx = torch.randint(0, 5, (2, 4, 4))
    base = prior(idx)
    assert base.shape == (2, 5, 4, 4)
    order = torch.arange(16).view(4, 4)
    for p in range(16):
        i, j = divmod(p, 4)
        changed = idx.clone()
        changed[:, i, j] = (changed[:, i, j] + 1) % 5
        out = prior(changed)
        seen = order <= p            # the position itself and every one before it in raster order
        assert torch.equal(out[:, :, seen], base[:, :, seen]), f"logits before position {p} saw it"
        if p < 15:
            assert not torch.equal(out[:, :, ~seen], base[:, :, ~seen]), f"nothing after position {p} uses it"


def test_the_priors_loss_is_the_nll_of_the_models_codes():
    m = ganzoo.create("vqvae", **SMALL)
    x = torch.rand(6, 1, 8, 8)
    loss, stats = m.prior.loss(m, x)
    idx = m.generator.codes(m.encoder(x))
    logp = torch.log_softmax(m.prior(idx), 1).gather(1, idx[:, None]).flatten(1).sum(1)
    assert loss.item() == pytest.approx(-logp.mean().item(), rel=1e-6) and stats["nll"].item() == pytest.approx(loss.item())


def test_the_row_by_row_sampler_draws_what_whole_forwards_draw():
    """draw_codes caches each row's vertical stacks; its logits at every position are forward's, and a seed draws
    the same codes as the plain sampler (a whole forward per position)."""
    torch.manual_seed(1)
    prior = CodePrior(4 * 25, [1, 20, 20], codes=6, grid=5, width=8, layers=3)
    seen = {}
    codes = prior.draw_codes(7, rng=RandomSource(4),
                             logits_seen=lambda i, j, logits: seen.__setitem__((i, j), logits.clone()))
    full = prior(codes)
    assert len(seen) == 25
    for (i, j), logits in seen.items():
        assert torch.allclose(logits, full[:, :, i, j], atol=1e-5), (i, j)
    plain, rng = torch.zeros(7, 5, 5, dtype=torch.long), RandomSource(4)
    for i in range(5):
        for j in range(5):
            plain[:, i, j] = pick(prior(plain)[:, :, i, j], rng)
    assert torch.equal(plain, codes)
    assert len(codes.unique()) > 1
