"""Objectives for encoder/decoder models: the VAE's ELBO and the autoencoder's reconstruction.

The model's generator must be a :class:`ganzoo.interfaces.Decoder`: ``logits(z, y=None)``
(pre-activation) and ``forward`` = sigmoid(logits), the mean of the observation model, for data in
[0, 1]. What the engine calls: ``loss(model, x, y=None) -> (loss, stats)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError, IncompatibleError
from ganzoo.interfaces import Decoder


class AutoencodingObjective:
    """Base class of the one-step objectives: ``loss(model, x, y=None)`` returns the scalar loss to
    minimise and a dict of detached statistics for the progress bar and ``metrics.jsonl``."""

    kind = "ae"
    d_steps = 0

    def loss(self, model, x, y=None):
        raise NotImplementedError


def decoder(model, objective: str, *, variational: bool = False) -> Decoder:
    """``model.generator`` if it is a :class:`Decoder` (or has a ``logits`` method like one) and ``model.encoder`` is there (and, with
    ``variational=True``, returns ``(mu, logvar)``); else an :class:`IncompatibleError` naming what
    the variant lacks."""
    g, enc, variant = model.generator, model.encoder, getattr(model, "variant", "?")
    if not isinstance(g, Decoder) and not callable(getattr(g, "logits", None)):
        raise IncompatibleError(f"objective {objective!r} needs a decoder: variant {variant!r}'s generator "
                                f"{type(g).__name__} must be a ganzoo.interfaces.Decoder (with logits(z, y))")
    if enc is None or (variational and not getattr(enc, "variational", False)):
        what = "a variational encoder (variational = True, returning mu, logvar)" if variational else "an encoder"
        raise IncompatibleError(f"objective {objective!r} needs {what}; variant {variant!r} has none")
    return g


def encode(model, x: torch.Tensor, y=None):
    """``model.encoder``'s output for ``x``: it gets the labels ``y`` when it is conditional (q(z | x, y), a
    conditional VAE) and not otherwise (an unconditional encoder refuses labels)."""
    enc = model.encoder
    return enc(x, y) if getattr(enc, "conditional", False) else enc(x)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)


def log_likelihood(likelihood: str, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z) per sample: Bernoulli on logits, or unit-variance Gaussian on sigmoid(logits)."""
    if likelihood == "bernoulli":
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    if likelihood == "gaussian":
        d = x[0].numel()
        return -0.5 * (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1) - 0.5 * d * math.log(2 * math.pi)
    raise ConfigError(f"unknown likelihood {likelihood!r}; use bernoulli or gaussian")


class CapacitySchedule:
    """Burgess et al. 2018's capacity C for a beta-VAE: 0 at the first step, growing linearly to ``c_max`` nats
    over ``steps`` training steps (at once with ``steps=0``), then held. It is an auxiliary loss term of the
    autoencoding step (phase ``"ae"``) that adds nothing to the loss: it counts the steps in ``state``
    (checkpointed, so a resumed run continues the schedule exactly) and logs C; the ELBO objective reads
    :meth:`value` for its beta * |KL - C|."""

    name = "capacity"
    phases = ("ae",)

    def __init__(self, c_max: float, steps: int):
        self.c_max, self.steps = float(c_max), int(steps)
        self.state = {"step": torch.zeros((), dtype=torch.float64)}   # steps taken (updated in place)

    def value(self) -> torch.Tensor:
        """C (nats) after the steps taken so far."""
        t = self.state["step"]
        return self.c_max * ((t / self.steps).clamp(max=1.0) if self.steps > 0 else torch.ones_like(t))

    def __call__(self, step):
        if self.state["step"].device != step.x.device:      # lives where the step runs (a CUDA graph replays it)
            self.state["step"] = self.state["step"].to(step.x.device)
        c = self.value().float()
        self.state["step"].add_(1)
        return torch.zeros((), device=step.x.device), c


class ELBO(AutoencodingObjective):
    """The negative ELBO, -E_q log p(x|z) + beta KL(q(z|x) || N(0, I)) (Kingma & Welling 2014; beta != 1: the
    beta-VAE of Higgins et al. 2017). With ``capacity`` = C_max > 0 the KL enters as beta * |KL - C| with C
    growing linearly from 0 to C_max over ``capacity_steps`` steps (Burgess et al. 2018; their gamma is
    ``beta`` here): the :class:`CapacitySchedule` in :attr:`terms` counts the steps."""

    kind = "vae"

    def __init__(self, likelihood: str = "bernoulli", beta: float = 1.0, capacity: float = 0.0,
                 capacity_steps: int = 0):
        if likelihood not in ("bernoulli", "gaussian"):
            raise ConfigError(f"elbo: unknown likelihood {likelihood!r}; use bernoulli or gaussian")
        if not beta >= 0 or not capacity >= 0:
            raise ConfigError(f"elbo: beta and capacity must be >= 0, not {beta!r} and {capacity!r}")
        self.likelihood, self.beta = likelihood, beta
        self.schedule = CapacitySchedule(capacity, capacity_steps) if capacity > 0 else None
        self.terms = [self.schedule] if self.schedule is not None else []

    def elbo(self, model, x, y=None, *, sample: bool = True):
        """Per-sample ELBO terms: (elbo, log-likelihood, KL) with one z ~ q(z|x)."""
        g = decoder(model, "elbo", variational=True)
        mu, logvar = encode(model, x, y)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        ll = log_likelihood(self.likelihood, g.logits(z, y), x)
        kl = gaussian_kl(mu, logvar)
        return ll - kl, ll, kl

    def loss(self, model, x, y=None):
        _, ll, kl = self.elbo(model, x, y)
        if self.schedule is None:
            loss = (-ll + self.beta * kl).mean()
        else:   # Burgess et al.: the batch's mean KL held near the capacity C
            loss = -ll.mean() + self.beta * (kl.mean() - self.schedule.value().to(kl)).abs()
        return loss, {"recon": -ll.detach().mean(), "kl": kl.detach().mean()}


class Reconstruction(AutoencodingObjective):
    def __init__(self, loss: str = "bce"):
        if loss not in ("bce", "mse"):
            raise ConfigError(f"reconstruction: unknown loss {loss!r}; use bce or mse")
        self.kind_of_loss = loss

    def loss(self, model, x, y=None):
        g = decoder(model, "reconstruction")
        logits = g.logits(encode(model, x, y), y)
        if self.kind_of_loss == "bce":
            per = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        else:
            per = (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1)
        return per.mean(), {"recon": per.detach().mean()}
