"""The adversarial step does what Algorithm 1 says, counted directly rather than inferred from learning:
K discriminator updates (and K real batches) per iteration, one generator update; the G step's fake batch
is seen by D through the augmentation (DiffAugment in both players' steps); a self-conditioned GAN's
generator gets labels in the shares of its cluster prior."""

from __future__ import annotations

import pytest
import torch

from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.batches import Batches

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = {"g_hidden": [8], "d_hidden": [8]}


def _trainer(tmp_path, **kw) -> Trainer:
    kw = {"variant": "mlp", "objective": "non-saturating", "data": "ring8", "batch_size": 16, "steps": 10,
          "seed": 0, "progress": False, "config": TINY, **kw}
    return Trainer(TrainConfig(out=str(tmp_path / "run"), **kw)).setup()


def _count_calls(obj, name: str) -> list:
    calls, real = [], getattr(obj, name)

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    setattr(obj, name, counted)
    return calls


@pytest.mark.parametrize("k", [1, 2, 5])
def test_each_iteration_makes_k_discriminator_updates_and_one_generator_update(tmp_path, k):
    t = _trainer(tmp_path, d_steps=k)
    d_steps, g_steps = _count_calls(t.optimizers["d"], "step"), _count_calls(t.optimizers["g"], "step")
    batches = []

    def next_batch():
        batches.append(1)
        return t.batches.next()

    for _ in range(3):
        t.step(next_batch)
    assert (len(d_steps), len(g_steps), len(batches)) == (3 * k, 3, 3 * k)


def test_the_generator_step_shows_d_the_augmented_fake_batch(tmp_path, monkeypatch):
    """With --augment, D sees every image through the policy in G's step too (DiffAugment's point: G is
    trained against what D was trained on). The policy is replaced by a marker (+100) to see it."""
    from ganzoo.training import augment

    monkeypatch.setitem(augment.POLICIES, "cutout", lambda x: x + 100.0)
    t = _trainer(tmp_path, variant="dcgan", data="digits", augment="cutout",
                 config={"sample_shape": [1, 8, 8], "g_width": 4, "d_width": 4, "latent_dim": 4})
    D = t.model.discriminator
    seen = []  # (phase, smallest value D was shown)
    D.register_forward_pre_hook(lambda m, args: seen.append(
        ("g" if not next(m.parameters()).requires_grad else "d", float(args[0].detach().min()))))
    fakes = []
    t.model.generator.register_forward_hook(lambda m, args, out: fakes.append(out))
    t.step()
    g_views = [lo for phase, lo in seen if phase == "g"]
    assert g_views and all(lo >= 99.0 for lo in g_views), seen  # G's fakes (in [-1, 1]) were shifted: augmented
    assert all(lo >= 99.0 for phase, lo in seen if phase == "d"), seen
    assert fakes and float(fakes[-1].min()) >= -1.0 and float(fakes[-1].max()) <= 1.0
    # ... and G's gradient flows back through the transform
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in t.model.generator.parameters())


def test_draw_labels_follows_the_cluster_prior():
    """A self-conditioned GAN's generator draws its labels from the clusters' shares, not uniformly."""
    from ganzoo.data import load_dataset

    prior = torch.tensor([0.7, 0.2, 0.1])
    b = Batches(load_dataset("ring8", n=64), batch_size=8, seed=0, device="cpu", num_classes=3, label_prior=prior)
    torch.manual_seed(0)
    shares = torch.bincount(b.draw_labels(20_000), minlength=3) / 20_000
    assert torch.allclose(shares, prior, atol=0.015), shares
    plain = Batches(load_dataset("ring8", n=64), batch_size=8, seed=0, device="cpu", num_classes=3)
    shares = torch.bincount(plain.draw_labels(20_000), minlength=3) / 20_000
    assert torch.allclose(shares, torch.full((3,), 1 / 3), atol=0.015), shares  # a class-conditional GAN: uniform


def test_the_self_conditioned_generator_step_gets_labels_in_the_priors_shares(tmp_path):
    """Through a real step (fresh noise for G, so G's labels are drawn, not the real batch's): the labels G
    is given in its steps follow the model's label prior (made lopsided here to tell it from uniform)."""
    t = _trainer(tmp_path, conditional=True, data_options={"clusters": 3}, reuse_fake=False, batch_size=64)
    prior = torch.tensor([0.8, 0.15, 0.05])
    t.batches.label_prior = prior
    labels = []
    t.model.generator.register_forward_pre_hook(
        lambda m, args: labels.append(args[1].clone()) if torch.is_grad_enabled() else None)
    for _ in range(40):
        t.step()
    y = torch.cat(labels)
    assert len(y) == 40 * 64  # one labelled G step per iteration (the D step's fakes are made without grad)
    shares = torch.bincount(y, minlength=3) / len(y)
    assert torch.allclose(shares, prior, atol=0.03), shares
