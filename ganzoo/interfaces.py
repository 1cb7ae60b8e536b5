"""The typed contract every variant's components follow.

* :class:`Generator` maps latent codes ``z`` (N, latent_dim) -- and, for a conditional model,
  class labels ``y`` (N,) -- to samples of shape (N, *sample_shape) in ``output_range``.
* :class:`Discriminator` maps samples to raw scores/logits of shape (N,); the objective picks the
  link function (sigmoid for the GAN losses, none for WGAN/hinge). It may instead return a
  :class:`DiscriminatorOutput` (the score plus class logits, features, an InfoGAN ``q``);
  :func:`discriminator_output` turns either into one.
* :class:`Encoder` maps samples to a latent code (N, latent_dim), or to ``(mu, logvar)`` for a VAE.
* :class:`Decoder` is the generator of an autoencoder or VAE: ``logits(z, y=None)`` gives the
  pre-activation of a Bernoulli observation model and ``forward`` = sigmoid(logits), in [0, 1].
  The autoencoding objectives (``elbo``, ``reconstruction``) need one.
* :class:`Prior` is a learned distribution over a generator's latent (a VQ-VAE's PixelCNN over its codes),
  fitted in a second training stage; attached to the generator, it is what :meth:`Generator.sample_latent`
  draws from instead of N(0, I).

Every component checks its labels with :meth:`check_labels` (a conditional component needs ``y``
of shape (N,) in ``0..num_classes-1``; an unconditional one refuses labels), which raises
:class:`ganzoo.errors.ConfigError`.

Images are (C, H, W) and generators emit them in ``output_range`` (``(-1, 1)`` for tanh outputs,
``(0, 1)`` for Bernoulli decoders); vectors have ``output_range = None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Optional, Sequence

import torch
from torch import nn

from .errors import ConfigError


class _Component(nn.Module):
    """What every component has: ``sample_shape``, ``num_classes`` (0: unconditional) and
    :meth:`check_labels`."""

    def __init__(self, sample_shape: Sequence[int], num_classes: int = 0):
        super().__init__()
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.num_classes = int(num_classes)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def check_labels(self, y: Optional[torch.Tensor], n: int) -> Optional[torch.Tensor]:
        """The labels ``y`` for a batch of ``n``, checked: None for an unconditional component (which
        refuses labels), else a long tensor of shape (n,) with values in ``0..num_classes-1``.
        Raises :class:`ConfigError` (a ``ValueError``) naming the problem."""
        if not self.conditional:
            if y is not None:
                raise ConfigError(f"{type(self).__name__} is unconditional; do not pass labels")
            return None
        if y is None:
            raise ConfigError(f"{type(self).__name__} is conditional on {self.num_classes} classes; pass labels y")
        y = torch.as_tensor(y, dtype=torch.long)
        if y.shape != (n,):
            raise ConfigError(f"labels must have shape ({n},), got {tuple(y.shape)}")
        capturing = y.is_cuda and torch.cuda.is_current_stream_capturing()  # (a CUDA graph cannot read values)
        if n and not capturing and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ConfigError(f"labels must lie in 0..{self.num_classes - 1}")
        return y


class Generator(_Component):
    """``forward(z, y=None) -> x``; ``sample(n, seed=..., y=...)`` draws z ~ N(0, I)."""

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0,
                 output_range: Optional[tuple[float, float]] = (-1.0, 1.0)):
        super().__init__(sample_shape, num_classes)
        self.latent_dim = int(latent_dim)
        self.output_range = tuple(output_range) if output_range is not None else None

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @property
    def prior(self) -> Optional["Prior"]:
        """The learned :class:`Prior` this generator's latents are drawn from (:meth:`attach_prior`), or None:
        z ~ N(0, I)."""
        return self.__dict__.get("_prior")

    def attach_prior(self, prior: Optional["Prior"]) -> None:
        """Draw this generator's latents from ``prior`` (None: from N(0, I) again). The prior stays its own
        component: it is not a submodule, so the generator's weights never include it. :class:`ganzoo.Model`
        attaches its ``prior`` component when it has one."""
        if prior is not None and prior.latent_dim != self.latent_dim:
            raise ConfigError(f"a prior over latents of size {prior.latent_dim} cannot draw this generator's "
                              f"latents of size {self.latent_dim}")
        self.__dict__["_prior"] = prior

    def sample_latent(self, n: int, *, seed: Optional[int] = None, device: Optional[torch.device] = None,
                      truncation: Optional[float] = None) -> torch.Tensor:
        """z ~ N(0, I), shape (n, latent_dim); with ``truncation=psi`` from the normal truncated to
        [-psi, psi] (:func:`truncated_normal`, the truncation trick). With a :attr:`prior` attached, z is the
        prior's draw (:meth:`Prior.sample_latent`), seeded the same way."""
        n = sample_count(n)
        gen = None
        if seed is not None:
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
        if self.prior is not None:
            if truncation is not None:
                raise ConfigError("this model draws its latents from a learned prior, which has no truncation; "
                                  "drop truncation")
            return self.prior.sample_latent(self, n, rng=gen).to(device or self._device())
        if truncation is None:
            z = torch.randn(n, self.latent_dim, generator=gen)
        else:
            z = truncated_normal((n, self.latent_dim), truncation, generator=gen)
        return z.to(device or self._device())

    def latent_codes(self, z: torch.Tensor) -> Optional[torch.Tensor]:
        """The part of ``z`` that a discriminator's ``q`` output predicts (InfoGAN's codes c), or None
        (the default: no codes): categorical codes first, one-hot
        (:func:`ganzoo.objectives.terms.categorical_codes`), then continuous ones. The training step hands
        it to the loss terms as ``step.codes``."""
        return None

    @torch.no_grad()
    def sample(self, n: int, *, seed: Optional[int] = None, y=None, truncation: Optional[float] = None) -> torch.Tensor:
        """Draw ``n`` samples (eval mode, no grad; ``n == 0``: an empty batch). Same seed, same samples,
        on CPU. ``truncation=psi`` draws z from the normal truncated to [-psi, psi]."""
        n = sample_count(n)
        was_training = self.training
        self.eval()
        try:
            kw = {} if truncation is None else {"truncation": truncation}  # (an override may predate it)
            z = self.sample_latent(n, seed=seed, **kw)
            if y is not None:
                y = torch.as_tensor(y, dtype=torch.long).to(z.device)
                if y.dim() == 0:
                    y = y.expand(n)
            return self(z, y)
        finally:
            self.train(was_training)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


def sample_count(n) -> int:
    """``n`` as a number of samples (0 allowed: an empty batch); anything else is a ConfigError."""
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ConfigError(f"the number of samples must be a whole number >= 0, not {n!r}")
    return int(n)


@dataclass
class DiscriminatorOutput:
    """What a discriminator may return instead of a plain (N,) tensor of scores.

    ``score`` (N,): the raw adversarial score (a logit), what every objective uses;
    ``class_logits`` (N, num_classes): raw class logits (ACGAN's auxiliary classifier; no softmax);
    ``features`` (N, ...): an intermediate representation (feature matching and the like);
    ``q`` (N, n_codes): InfoGAN's prediction of the generator's latent codes, in their layout (raw logits
    for each categorical code, then the continuous codes; :class:`ganzoo.objectives.terms.InfoLoss`).
    Each optional output is None when D does not produce it."""

    score: torch.Tensor
    class_logits: Optional[torch.Tensor] = None
    features: Optional[torch.Tensor] = None
    q: Optional[torch.Tensor] = None

    def rows(self, index) -> "DiscriminatorOutput":
        """The same outputs for the samples ``index`` (a slice), e.g. one half of a joined batch."""
        return DiscriminatorOutput(*(None if (v := getattr(self, f.name)) is None else v[index] for f in fields(self)))


def discriminator_output(out) -> DiscriminatorOutput:
    """A discriminator's return value as a :class:`DiscriminatorOutput` (a plain tensor is its score)."""
    return out if isinstance(out, DiscriminatorOutput) else DiscriminatorOutput(out)


def truncated_normal(shape, psi: float, *, generator=None, device=None) -> torch.Tensor:
    """Samples of N(0, 1) conditioned on |z| <= psi (the truncation trick), by the inverse CDF: every
    value lies in [-psi, psi] and the shape of the density inside is the normal's -- not ``randn() / k``."""
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not psi > 0 or not math.isfinite(psi):
        raise ConfigError(f"truncation must be a number > 0, such as 0.7; not {psi!r}")
    lo = 0.5 * math.erfc(psi / math.sqrt(2.0))          # Phi(-psi)
    u = lo + (1.0 - 2.0 * lo) * torch.rand(shape, generator=generator, dtype=torch.float64)
    z = math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)
    return z.clamp_(-psi, psi).to(torch.float32).to(device or "cpu")


class Discriminator(_Component):
    """``forward(x, y=None) -> scores`` of shape (N,), or a :class:`DiscriminatorOutput`.

    ``loss_terms``: auxiliary loss terms this discriminator's outputs call for (e.g.
    ``[ganzoo.objectives.terms.ClassLoss()]`` for a D with class logits); the training step adds them
    to the objective's losses (see docs/training.md, "Order of application").

    ``batch_independent``: set True when a sample's score depends on that sample alone (or on its
    PacGAN group of ``pack`` consecutive samples) -- no batch statistics such as BatchNorm in
    training mode, no minibatch features. The objectives then score a real and a fake batch in one
    call on both (the same scores up to float rounding, half the calls); left False, two calls."""

    batch_independent = False
    pack = 1
    loss_terms = ()

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class Decoder(Generator):
    """A Generator for Bernoulli data in [0, 1] (autoencoders, VAEs): implement ``logits(z, y=None)``,
    the pre-activation of each output; ``forward(z, y)`` is ``sigmoid(logits(z, y))``, the mean of
    the observation model. The default ``output_range`` is (0, 1).

    ``loss_terms``: auxiliary loss terms of phase ``"ae"`` this decoder calls for (a VQ-VAE's commitment
    loss, say); the autoencoding step adds them after the objective's loss and its own terms and the
    encoder's (see docs/training.md, "Order of application")."""

    loss_terms = ()

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0,
                 output_range: Optional[tuple[float, float]] = (0.0, 1.0)):
        super().__init__(latent_dim, sample_shape, num_classes, output_range)

    def logits(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return torch.sigmoid(self.logits(z, y))


class Encoder(_Component):
    """``forward(x) -> z`` (autoencoder) or ``(mu, logvar)`` (VAE: ``variational = True``).

    ``loss_terms``: auxiliary loss terms of phase ``"ae"`` this encoder calls for; the autoencoding step
    adds them after the objective's loss and terms (see docs/training.md, "Order of application")."""

    variational = False
    loss_terms = ()

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0):
        super().__init__(sample_shape, num_classes)
        self.latent_dim = int(latent_dim)

    def forward(self, x: torch.Tensor):  # pragma: no cover
        raise NotImplementedError


class Prior(_Component):
    """A learned distribution over a generator's latent z, fitted after the autoencoder in its own training stage
    (``ganzoo train --stage prior --init DIR``) and saved as its own component, ``prior.safetensors``.

    ``Prior.__init__(latent_dim, sample_shape, num_classes=0)``: ``latent_dim`` is the generator's.
    ``loss(model, x, y=None) -> (loss, stats)``: what the prior stage minimises on a real batch ``x`` (labels
    ``y`` for a conditional prior), typically the negative log-likelihood of the latents that the model's
    encoder gives ``x``; ``model`` has ``encoder`` and ``generator``, frozen (eval mode, no gradients), as an
    autoencoding objective's ``model`` has them. ``sample_latent(generator, n, *, rng=None) -> z``: ``n``
    latents (n, latent_dim) for ``generator`` (the one it is attached to), drawn with the CPU
    ``torch.Generator`` ``rng`` (None: torch's global one), so the same seed gives the same latents."""

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0):
        super().__init__(sample_shape, num_classes)
        self.latent_dim = int(latent_dim)

    def loss(self, model, x: torch.Tensor, y: Optional[torch.Tensor] = None):  # pragma: no cover
        raise NotImplementedError

    def sample_latent(self, generator: Generator, n: int, *, rng: Optional[torch.Generator] = None):  # pragma: no cover
        raise NotImplementedError


__all__ = ["Generator", "Discriminator", "DiscriminatorOutput", "Encoder", "Decoder", "Prior",
           "discriminator_output", "truncated_normal"]
