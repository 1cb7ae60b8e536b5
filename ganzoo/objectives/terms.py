"""Auxiliary loss terms: pieces that an objective, a discriminator or a run option adds to the losses of
an adversarial step, with no special case in the engine.

A term is any object with

* ``name``: its key in the progress bar and ``metrics.jsonl`` (its unweighted value is logged there);
* ``phases``: the losses it adds to, a subset of ``("d", "g")``;
* ``__call__(step) -> (weighted term, unweighted value)``: ``step`` is the
  :class:`~ganzoo.objectives.step.StepInputs` of that loss (``step.phase`` says which).

Where terms come from, in the order they are added after the objective's own loss (docs/training.md,
"Order of application"): the objective's ``terms``, then the discriminator's ``loss_terms``, then the run
options' regularisers ``--r1``, ``--r2``, ``--gp`` (:class:`~ganzoo.objectives.regularisers.Regulariser`,
D's steps) and ``--pl`` (:class:`~ganzoo.objectives.regularisers.PathLength`, G's step) in that order. Two
terms of the same name are refused. A term with running statistics keeps them in ``state`` (a dict of
tensors updated in place), which checkpoints save and restore.

    ClassLoss(weight)   ACGAN: cross-entropy of D's class_logits, on raw logits (never a softmax first):
                        D's steps  CE(c(x), y) + CE(c(G(z)), y_fake);  G's step  CE(c(G(z)), y_fake)
    InfoLoss(weight)    InfoGAN: the mutual-information lower bound for continuous codes c ~ N(0, I) with a
                        unit-variance Gaussian Q: 1/2 E ||q(G(z)) - c||^2 in D's and G's steps
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from ..errors import ConfigError


def _needs(value, what, term):
    if value is None:
        raise ConfigError(f"loss term {term!r} needs {what}; use it with a model that provides it")
    return value


@dataclass(frozen=True)
class ClassLoss:
    """ACGAN's auxiliary classifier loss on D's ``class_logits`` (raw logits; ``F.cross_entropy`` applies
    the log-softmax itself)."""

    weight: float = 1.0
    name: str = "cls"
    phases = ("d", "g")

    def __call__(self, step):
        fake = _needs(step.fake.class_logits, "a discriminator that returns class_logits", self.name)
        labels = _needs(step.fake_y, "class labels (a conditional run)", self.name)
        value = F.cross_entropy(fake, labels)
        if step.phase == "d":
            value = value + F.cross_entropy(step.real.class_logits, step.y)
        return self.weight * value, value


@dataclass(frozen=True)
class InfoLoss:
    """InfoGAN's mutual-information term for continuous codes: 1/2 E ||q - c||^2 on generated samples,
    with ``q`` D's prediction and ``c = G.latent_codes(z)``."""

    weight: float = 1.0
    name: str = "info"
    phases = ("d", "g")

    def __call__(self, step):
        q = _needs(step.fake.q, "a discriminator that returns q", self.name)
        codes = _needs(step.codes, "a generator whose latent_codes(z) returns the codes", self.name)
        value = 0.5 * (q - codes).square().sum(1).mean()
        return self.weight * value, value
