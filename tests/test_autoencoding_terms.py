"""Auxiliary loss terms in the autoencoding step: the objective's ``terms`` and the encoder's and decoder's
``loss_terms`` (phase "ae") reach the loss in that order, see the encoder's output of the objective's own
forward, are logged by name in metrics.jsonl, and their running state is checkpointed (resume stays exact)."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.objectives.autoencoding import Reconstruction
from ganzoo.objectives.step import AutoencodingInputs
from ganzoo.training import TrainConfig, Trainer
from ganzoo_plugins.ae.model import AEDecoder, AEEncoder

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(variant="ae", data="digits", batch_size=16, progress=False, config={"hidden": [16], "latent_dim": 4})


class CodeNorm:
    """weight * mean ||z||^2 of the step's encoded batch; counts its calls in ``state`` (training state)."""

    phases = ("ae",)

    def __init__(self, name, weight):
        self.name, self.weight = name, weight
        self.state = {"calls": torch.zeros(())}
        self.seen = []

    def __call__(self, step):
        self.seen.append(step)
        self.state["calls"] += 1
        value = step.encoded.square().sum(1).mean()
        return self.weight * value, value


@pytest.fixture
def terms(monkeypatch):
    """One term from each source: the objective, the encoder, the decoder (class attributes, as a plugin sets them)."""
    made = {"objective": CodeNorm("t_obj", 0.5), "encoder": CodeNorm("t_enc", 2.0), "decoder": CodeNorm("t_dec", 3.0)}
    monkeypatch.setattr(Reconstruction, "terms", [made["objective"]], raising=False)
    monkeypatch.setattr(AEEncoder, "loss_terms", [made["encoder"]])
    monkeypatch.setattr(AEDecoder, "loss_terms", [made["decoder"]])
    return made


def test_every_source_reaches_the_loss_in_order(tmp_path, terms):
    t = Trainer(TrainConfig(out=str(tmp_path / "r"), steps=1, **SMALL)).setup()
    assert [term.name for term in t.iteration.terms] == ["t_obj", "t_enc", "t_dec"]   # the order of application
    x, _ = t.batches.next()
    module = t.iteration.module
    calls = []
    hook = module.encoder.register_forward_hook(lambda *a: calls.append(1))
    loss, stats = module(x)
    hook.remove()
    assert len(calls) == 1                     # the terms share the objective's encoder forward
    plain, plain_stats = t.objective.loss(module, x)
    z = module.encoder(x)
    value = z.square().sum(1).mean()
    assert loss.item() == pytest.approx(plain.item() + (0.5 + 2.0 + 3.0) * value.item(), rel=1e-6)
    assert stats["recon"].item() == pytest.approx(plain_stats["recon"].item(), rel=1e-6)
    for name in ("t_obj", "t_enc", "t_dec"):
        assert stats[name].item() == pytest.approx(value.item(), rel=1e-6) and not stats[name].requires_grad
    step = terms["decoder"].seen[-1]
    assert isinstance(step, AutoencodingInputs) and step.phase == "ae" and step.x is x and step.y is None
    assert step.encoder is module.encoder and step.generator is module.generator
    # the terms' gradient reaches the encoder: it is the objective's plus the terms'
    module.zero_grad()
    loss.backward()
    with_terms = [p.grad.clone() for p in module.encoder.parameters()]
    module.zero_grad()
    plain.backward()
    assert any(not torch.allclose(a, p.grad) for a, p in zip(with_terms, module.encoder.parameters()))


def test_terms_are_logged_and_their_state_resumes(tmp_path, terms):
    common = dict(log_every=2, checkpoint_every=2, sample_every=100, seed=1, **SMALL)
    ganzoo.train(out=tmp_path / "straight", steps=4, **common)
    for term in terms.values():
        term.state["calls"].zero_()
    ganzoo.train(out=tmp_path / "split", steps=2, **common)
    for term in terms.values():
        term.state["calls"].zero_()
    resumed = Trainer(TrainConfig(out=str(tmp_path / "split"), resume=True, steps=4, progress=False)).setup()
    assert resumed.iteration.terms[0].state["calls"].item() == 2       # restored from term.t_obj.calls.0
    resumed.fit()
    rows = {}
    for run in ("straight", "split"):
        lines = [json.loads(ln) for ln in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        rows[run] = [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in lines
                     if "event" not in r]
    assert rows["straight"] == rows["split"] and len(rows["straight"]) == 2
    assert all({"loss", "recon", "t_obj", "t_enc", "t_dec"} <= r.keys() for r in rows["straight"])
    from ganzoo.training import checkpoint as ckpt

    tensors, _ = ckpt.read(ckpt.find_latest(tmp_path / "split" / "checkpoints"))
    assert tensors["term.t_dec.calls.0"].item() == 4


def test_bad_terms_are_refused(tmp_path, monkeypatch):
    from ganzoo.objectives.terms import ClassLoss

    cfg = TrainConfig(out=str(tmp_path / "r"), steps=1, **SMALL)
    monkeypatch.setattr(AEEncoder, "loss_terms", [ClassLoss()])           # a term of the adversarial phases
    with pytest.raises(ConfigError, match=r"loss term 'cls' of the encoder \(AEEncoder\) has phases \('d', 'g'\)"):
        Trainer(cfg).setup()
    monkeypatch.setattr(AEEncoder, "loss_terms", [CodeNorm("same", 1.0)])
    monkeypatch.setattr(AEDecoder, "loss_terms", [CodeNorm("same", 1.0)])
    with pytest.raises(ConfigError, match="share a name"):
        Trainer(cfg).setup()
    monkeypatch.setattr(AEDecoder, "loss_terms", [CodeNorm("recon", 1.0)])   # the objective's own statistic
    t = Trainer(cfg).setup()
    with pytest.raises(ConfigError, match="already reports a statistic of that name"):
        t.step()


def test_encoded_is_computed_once_when_the_objective_did_not():
    enc = torch.nn.Linear(3, 2)
    calls = []
    enc.register_forward_hook(lambda *a: calls.append(1))
    step = AutoencodingInputs(torch.ones(4, 3), None, enc, None)
    assert step.encoded is step.encoded and len(calls) == 1
    step = AutoencodingInputs(torch.ones(4, 3), None, enc, None)
    first = torch.zeros(4, 2)
    step.record(first)
    step.record(torch.ones(4, 2))                                         # the first output is kept
    assert step.encoded is first and len(calls) == 1
