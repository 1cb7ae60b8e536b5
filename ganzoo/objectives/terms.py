"""Auxiliary loss terms: pieces that an objective, a component or a run option adds to the losses of a
training step, with no special case in the engine.

A term is any object with

* ``name``: its key in the progress bar and ``metrics.jsonl`` (its unweighted value is logged there);
* ``phases``: the losses it adds to, a subset of ``("d", "g")`` in an adversarial step, ``("ae",)`` in an
  autoencoding one;
* ``__call__(step) -> (weighted term, unweighted value)``: ``step`` is the
  :class:`~ganzoo.objectives.step.StepInputs` of that loss (``step.phase`` says which), or in an autoencoding
  step the :class:`~ganzoo.objectives.step.AutoencodingInputs` of the batch (the objective's ``terms``, then
  the encoder's and the decoder's ``loss_terms``, after the objective's loss).

Where terms come from, in the order they are added after the objective's own loss (docs/training.md,
"Order of application"): the objective's ``terms``, then the discriminator's ``loss_terms``, then the run
options' regularisers ``--r1``, ``--r2``, ``--gp`` (:class:`~ganzoo.objectives.regularisers.Regulariser`,
D's steps) and ``--pl`` (:class:`~ganzoo.objectives.regularisers.PathLength`, G's step) in that order. Two
terms of the same name are refused. A term with running statistics keeps them in ``state`` (a dict of
tensors updated in place), which checkpoints save and restore.

    ClassLoss(weight)   ACGAN: cross-entropy of D's class_logits, on raw logits (never a softmax first):
                        D's steps  CE(c(x), y) + CE(c(G(z)), y_fake);  G's step  CE(c(G(z)), y_fake)
    InfoLoss(weight, categories=(), continuous_weight=None)
                        InfoGAN: the mutual-information lower bound, in D's and G's steps: for continuous
                        codes c ~ N(0, I) with a unit-variance Gaussian Q, 1/2 E ||q(G(z)) - c||^2; for each
                        categorical code (k categories, one-hot in c, logits in q), cross-entropy on the raw
                        logits (never a softmax first); the categorical codes come first in c and in q

A categorical code is drawn from the generator's z ~ N(0, I) itself (:func:`categorical_codes`: the one-hot
of the argmax of k columns of z, uniform over the k categories), so the engine draws z as for any GAN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
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


def categorical_codes(z, categories) -> torch.Tensor:
    """The categorical codes that ``z`` ~ N(0, I) draws: for each ``k`` in ``categories``, the one-hot of the
    argmax of the next ``k`` columns of ``z`` (from column 0), concatenated, shape (N, sum(categories)).
    z's entries are independent and identically distributed, so each code is uniform over its k categories
    (with a truncated z too). An InfoGAN generator feeds these to its network and returns them first in
    ``latent_codes(z)``."""
    blocks, start = [], 0
    for k in categories:
        blocks.append(F.one_hot(z[:, start:start + k].argmax(1), k).to(z.dtype))
        start += k
    return torch.cat(blocks, 1) if blocks else z[:, :0]


@dataclass(frozen=True)
class InfoLoss:
    """InfoGAN's mutual-information term on generated samples, with ``q`` D's prediction and
    ``c = G.latent_codes(z)`` of the same layout: first one block per categorical code (``categories``: the
    number of categories of each), one-hot in ``c`` and raw logits in ``q``, each adding
    ``F.cross_entropy(q_block, argmax c_block)``; then the continuous codes, adding 1/2 E ||q - c||^2
    (continuous codes only, ``categories=()``: just that, as before). ``continuous_weight`` weighs the
    continuous codes' part apart from the categorical one (InfoGAN's lambda: 1 for discrete codes, smaller for
    continuous ones); None: ``weight`` for both. The logged value is the unweighted sum."""

    weight: float = 1.0
    name: str = "info"
    categories: tuple = ()
    continuous_weight: Optional[float] = None
    phases = ("d", "g")

    def __post_init__(self):
        cats = tuple(self.categories)
        if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 2 for k in cats):
            raise ConfigError(f"InfoLoss categories are the number of categories of each categorical code, "
                              f"whole numbers >= 2; not {self.categories!r}")
        object.__setattr__(self, "categories", cats)

    def __call__(self, step):
        q = _needs(step.fake.q, "a discriminator that returns q", self.name)
        codes = _needs(step.codes, "a generator whose latent_codes(z) returns the codes", self.name)
        if q.shape != codes.shape or codes.shape[1] == 0 or sum(self.categories) > codes.shape[1]:
            raise ConfigError(f"loss term {self.name!r}: D's q has shape {tuple(q.shape)} and the codes "
                              f"{tuple(codes.shape)}, with categorical codes of {list(self.categories)} categories; "
                              "q predicts the codes in their layout (a logit per category, a value per "
                              "continuous code)")
        categorical, start = 0.0, 0
        for k in self.categories:
            categorical = categorical + F.cross_entropy(q[:, start:start + k], codes[:, start:start + k].argmax(1))
            start += k
        if start == codes.shape[1]:   # no continuous codes
            return self.weight * categorical, categorical
        continuous = 0.5 * (q[:, start:] - codes[:, start:]).square().sum(1).mean()
        value, cw = categorical + continuous, self.continuous_weight
        return (self.weight * value if cw is None else self.weight * categorical + cw * continuous), value
