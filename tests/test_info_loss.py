"""InfoGAN's mutual-information term (ganzoo.objectives.terms.InfoLoss) with categorical codes: the mixed
value against a hand computation, the softmax-before-cross-entropy pitfall, uniform one-hot codes drawn from
z, continuous-only codes unchanged bit for bit, and a tiny InfoGAN plugin training through ganzoo.train."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from test_plugins import make_dist, site  # noqa: F401 - the fixture

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.interfaces import DiscriminatorOutput
from ganzoo.objectives.step import StepInputs
from ganzoo.objectives.terms import InfoLoss, categorical_codes

pytestmark = pytest.mark.usefixtures("one_thread")

# two samples; codes: a 3-category code, a 2-category code (one-hot), then two continuous codes
Q = torch.tensor([[2.0, -1.0, 0.5, 0.3, -0.2, 0.7, -1.1],
                  [0.1, 0.2, 3.0, -0.4, 1.5, 0.0, 0.4]])
CODES = torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.5, -1.0],
                      [0.0, 1.0, 0.0, 1.0, 0.0, 0.2, 0.9]])


def _step(q, codes, phase="g"):
    x = torch.zeros(q.shape[0], 1)
    D = lambda x, y=None: DiscriminatorOutput(x[:, 0], q=q)  # noqa: E731
    return StepInputs(D, x, x, codes=codes, phase=phase)


def _ce(logits, target):
    return -(logits[target] - math.log(sum(math.exp(v) for v in logits)))


def _hand(q, codes):
    """Plain floats: mean over samples of CE(3-way) + CE(2-way) + 1/2 ||q_cont - c_cont||^2."""
    total = 0.0
    for qi, ci in zip(q.tolist(), codes.tolist()):
        total += _ce(qi[0:3], ci[0:3].index(1.0)) + _ce(qi[3:5], ci[3:5].index(1.0))
        total += 0.5 * sum((a - b) ** 2 for a, b in zip(qi[5:], ci[5:]))
    return total / len(q)


def _info_softmax_first(q, codes):
    """BUG: a softmax before cross_entropy (which applies log-softmax itself)."""
    value = F.cross_entropy(torch.softmax(q[:, 0:3], 1), codes[:, 0:3].argmax(1))
    value = value + F.cross_entropy(torch.softmax(q[:, 3:5], 1), codes[:, 3:5].argmax(1))
    return value + 0.5 * (q[:, 5:] - codes[:, 5:]).square().sum(1).mean()


def test_mixed_codes_match_hand_computation():
    hand = _hand(Q, CODES)
    term = InfoLoss(2.0, categories=(3, 2))
    for phase in ("d", "g"):  # the same term in D's and G's steps
        weighted, value = term(_step(Q, CODES, phase))
        assert value.item() == pytest.approx(hand, abs=1e-6) and weighted.item() == pytest.approx(2 * hand, abs=1e-6)
    # a categorical code alone (no continuous columns): its cross-entropy only
    only = InfoLoss(categories=(3,))(_step(Q[:, :3], CODES[:, :3]))[1]
    assert only.item() == pytest.approx((_ce(Q[0, :3].tolist(), 0) + _ce(Q[1, :3].tolist(), 1)) / 2, abs=1e-6)


def test_pitfall_info_loss_takes_raw_logits():
    hand = _hand(Q, CODES)
    assert InfoLoss(categories=(3, 2))(_step(Q, CODES))[1].item() == pytest.approx(hand, abs=1e-6)
    assert abs(_info_softmax_first(Q, CODES).item() - hand) > 0.1       # the buggy version is another number


def test_continuous_codes_alone_are_unchanged_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    q, codes = torch.randn(16, 3, generator=g), torch.randn(16, 3, generator=g)
    value = InfoLoss()(_step(q, codes))[1]
    assert torch.equal(value, 0.5 * (q - codes).square().sum(1).mean())   # the formula before categorical codes


def test_categorical_codes_are_uniform_one_hot_draws_of_z():
    z = torch.randn(200_000, 7, generator=torch.Generator().manual_seed(1))
    c = categorical_codes(z, (3, 4))
    assert c.shape == (200_000, 7) and torch.equal(c.sum(1), torch.full((200_000,), 2.0))
    assert torch.equal(c[:, :3].argmax(1), z[:, :3].argmax(1)) and torch.equal(c[:, 3:].argmax(1), z[:, 3:7].argmax(1))
    for block, k in ((c[:, :3], 3), (c[:, 3:], 4)):
        assert (block.mean(0) - 1.0 / k).abs().max() < 0.01     # uniform over the k categories
    assert categorical_codes(z[:4], ()).shape == (4, 0)


@pytest.mark.reliability("input")
def test_bad_categories_and_layouts_are_refused():
    with pytest.raises(ConfigError, match=r"^InfoLoss categories are the number of categories .* not \(3, 1\)$"):
        InfoLoss(categories=(3, 1))
    with pytest.raises(ConfigError, match=r"^loss term 'info': D's q has shape \(2, 6\) and the codes \(2, 7\)"):
        InfoLoss(categories=(3, 2))(_step(Q[:, :6], CODES))
    with pytest.raises(ConfigError, match=r"^loss term 'info': D's q has shape \(2, 3\) and the codes \(2, 3\), "
                                          r"with categorical codes of \[3, 2\] categories"):
        InfoLoss(categories=(3, 2))(_step(Q[:, :3], CODES[:, :3]))
    with pytest.raises(ConfigError, match=r"^loss term 'info': D's q has shape \(2, 0\) and the codes \(2, 0\)"):
        InfoLoss()(_step(Q[:, :0], CODES[:, :0]))   # no codes: nothing to predict (was a nan loss)


# -- a tiny InfoGAN as a third-party plugin, through the public API only ------------------------------------
INFOGAN = """
import torch

from ganzoo import Discriminator, Generator, VariantSpec, hookimpl
from ganzoo.interfaces import DiscriminatorOutput
from ganzoo.layers import mlp
from ganzoo.objectives.terms import InfoLoss, categorical_codes

CATEGORIES = (4,)


class G(Generator):
    def __init__(self, sample_shape, latent_dim, continuous):
        super().__init__(latent_dim, sample_shape, output_range=None)
        self.continuous = continuous
        self.net = mlp([latent_dim, 32, 32, sample_shape[0]], act="relu")

    def forward(self, z, y=None):
        self.check_labels(y, z.shape[0])
        return self.net(torch.cat([categorical_codes(z, CATEGORIES), z[:, sum(CATEGORIES):]], 1))

    def latent_codes(self, z):
        n = sum(CATEGORIES)
        return torch.cat([categorical_codes(z, CATEGORIES), z[:, n:n + self.continuous]], 1)


class D(Discriminator):
    batch_independent = True

    def __init__(self, sample_shape, continuous, info):
        super().__init__(sample_shape)
        self.trunk = mlp([sample_shape[0], 32, 32], act="relu", last_act=True)
        self.score = torch.nn.Linear(32, 1)
        self.q = torch.nn.Linear(32, sum(CATEGORIES) + continuous)   # 4 logits, then 1 continuous prediction
        self.loss_terms = [InfoLoss(info, categories=CATEGORIES)]

    def forward(self, x, y=None):
        self.check_labels(y, x.shape[0])
        h = self.trunk(x)
        return DiscriminatorOutput(self.score(h).squeeze(1), q=self.q(h))


def build(sample_shape, latent_dim, continuous, info):
    return {"generator": G(sample_shape, latent_dim, continuous), "discriminator": D(sample_shape, continuous, info)}


@hookimpl
def register_variants(register):
    register(VariantSpec("tp-infogan", "InfoGAN with a categorical code", "gan", "tp_infogan:build",
                         defaults={"sample_shape": [2], "latent_dim": 6, "continuous": 1, "info": 1.0}))
"""


def test_an_infogan_plugin_with_a_categorical_code_trains_and_logs_the_term(site, tmp_path):  # noqa: F811
    make_dist(site, "ganzoo-tp-infogan", "tp-infogan", "tp_infogan", INFOGAN)
    out = tmp_path / "infogan"
    ganzoo.train("tp-infogan", "non-saturating", data="ring8", out=out, steps=300, batch_size=64, lr=2e-3, progress=False,
                 log_every=50, sample_every=1000, checkpoint_every=1000)
    rows = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    info = [r["info"] for r in rows if "d_loss" in r]
    assert len(info) == 6 and all(math.isfinite(v) and v > 0 for v in info)       # logged under its name
    # Q learns to tell the categories apart: the term falls well below chance, log 4 (+ the Gaussian part)
    assert info[-1] < 0.5 * info[0] and info[-1] < 0.5 * math.log(4), info
    # the value the step logs is the hand formula on D's q and G's codes
    from ganzoo.training import Trainer, TrainConfig

    t = Trainer(TrainConfig(variant="tp-infogan", objective="non-saturating", data="ring8", out=str(tmp_path / "t"),
                            steps=1, batch_size=8, progress=False)).setup()
    z = torch.randn(8, 6)
    fake = t.model.generator(z).detach()
    x, _ = t.batches.next()
    _, stats = t.iteration.discriminator_loss(x, fake, z=z)
    q = t.model.discriminator(fake).q
    codes = torch.cat([F.one_hot(z[:, :4].argmax(1), 4).float(), z[:, 4:5]], 1)
    want = F.cross_entropy(q[:, :4], z[:, :4].argmax(1)) + 0.5 * (q[:, 4:] - codes[:, 4:]).square().sum(1).mean()
    assert stats["info"].item() == pytest.approx(want.item(), abs=1e-6)


def test_continuous_codes_can_have_their_own_weight():
    """InfoGAN's lambda: 1 for the categorical codes, smaller (e.g. 0.1) for the continuous ones; the logged
    value stays the unweighted sum."""
    cat = _ce(Q[0, 0:3].tolist(), 0) + _ce(Q[1, 0:3].tolist(), 1) + _ce(Q[0, 3:5].tolist(), 1) + _ce(Q[1, 3:5].tolist(), 0)
    cont = sum(0.5 * sum((a - b) ** 2 for a, b in zip(qi[5:], ci[5:])) for qi, ci in zip(Q.tolist(), CODES.tolist()))
    cat, cont = cat / 2, cont / 2
    weighted, value = InfoLoss(2.0, categories=(3, 2), continuous_weight=0.1)(_step(Q, CODES))
    assert weighted.item() == pytest.approx(2.0 * cat + 0.1 * cont, abs=1e-6)
    assert value.item() == pytest.approx(cat + cont, abs=1e-6) == pytest.approx(_hand(Q, CODES), abs=1e-6)
    weighted, value = InfoLoss(0.5, continuous_weight=3.0)(_step(Q[:, 5:], CODES[:, 5:]))   # continuous only
    assert weighted.item() == pytest.approx(3.0 * cont, abs=1e-6) and value.item() == pytest.approx(cont, abs=1e-6)
