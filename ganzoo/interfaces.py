"""The typed contract every variant's components follow.

* :class:`Generator` maps latent codes ``z`` (N, latent_dim) -- and, for a conditional model,
  class labels ``y`` (N,) -- to samples of shape (N, *sample_shape) in ``output_range``. It draws its own
  latents (:meth:`Generator.sample_latent`, the one place a latent is drawn) and declares the sampling
  options it understands (``sampling_options``; :mod:`ganzoo.sampling`).
* :class:`Discriminator` maps samples to raw scores/logits of shape (N,); the objective picks the
  link function (sigmoid for the GAN losses, none for WGAN/hinge). It may instead return a
  :class:`DiscriminatorOutput` (the score plus class logits, features, an InfoGAN ``q``);
  :func:`discriminator_output` turns either into one.
* :class:`Encoder` maps samples (and, when conditional, labels) to a latent code (N, latent_dim), or to
  ``(mu, logvar)`` for a VAE; ``latent`` and ``features`` are what decoders and ``Model.encode`` use.
* :class:`Decoder` is the generator of an autoencoder or VAE: ``logits(z, y=None)`` gives the
  pre-activation of a Bernoulli observation model and ``forward`` = sigmoid(logits), in [0, 1].
  The autoencoding objectives (``elbo``, ``reconstruction``) need one.
* :class:`Prior` is a learned distribution over a generator's latent (a VQ-VAE's PixelCNN over its codes),
  fitted in a second training stage; attached to the generator, it is what :meth:`Generator.sample_latent`
  draws from instead of N(0, I), with its own sampling options.

Every component checks its labels with :meth:`check_labels` (a conditional component needs ``y``
of shape (N,) in ``0..num_classes-1``; an unconditional one refuses labels), which raises
:class:`ganzoo.errors.ConfigError`.

Images are (C, H, W) and generators emit them in ``output_range`` (``(-1, 1)`` for tanh outputs,
``(0, 1)`` for Bernoulli decoders); vectors have ``output_range = None``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Mapping, Optional, Sequence

import torch
from torch import nn

from .errors import ConfigError
from .codes import LatentCodes  # noqa: F401 (a generator's code_layout; public as ganzoo.interfaces.LatentCodes)
from .sampling import TRUNCATION, RandomSource, SamplingOption, check_options, sample_count, truncated_normal


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
        # A CUDA graph being captured or a graph being exported (ONNX) cannot read values: shapes only.
        capturing = (y.is_cuda and torch.cuda.is_current_stream_capturing()) or torch.compiler.is_exporting()
        if n and not capturing and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ConfigError(f"labels must lie in 0..{self.num_classes - 1}")
        return y


class Generator(_Component):
    """``forward(z, y=None) -> x``. Latents belong to the generator: :meth:`sample_latent` is the one place a
    latent is drawn -- by the training step, the training pictures, ``Model.sample``, ``ganzoo sample`` and
    ``ganzoo eval`` -- and :meth:`generate` turns a drawn latent into samples with the user's sampling options
    (``sampling_options`` declares which it understands).

    ``loss_terms``: auxiliary loss terms this generator calls for (StyleGAN2's path length, say), added to the
    training losses after the discriminator's (docs/training.md, "Order of application").

    ``w_dim``: None, or the width of w for a generator with a mapping network z -> w (StyleGAN). Its forward
    then also takes ``return_w=True`` and returns ``(x, ws)``, ``ws`` the (N, L, w_dim) per-layer styles that
    made ``x`` (part of the graph): ``--pl`` measures the path length in w there.

    ``has_prior``: whether :meth:`sample_latent` draws what this generator was trained to decode (True: a GAN,
    a VAE). False for a plain autoencoder's decoder (``Model.sample`` refuses it) and for one that samples only
    through a learned :attr:`prior` attached later (a VQ-VAE's)."""

    sampling_options: Mapping[str, SamplingOption] = MappingProxyType({"truncation": TRUNCATION})
    loss_terms = ()
    w_dim: Optional[int] = None
    has_prior = True

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
        """Draw this generator's latents from ``prior`` (None: from N(0, I) again); the prior's
        ``sampling_options`` then are the generator's. The prior stays its own component: it is not a
        submodule, so the generator's weights never include it. :class:`ganzoo.Model` attaches its ``prior``."""
        if prior is not None and prior.latent_dim != self.latent_dim:
            raise ConfigError(f"a prior over latents of size {prior.latent_dim} cannot draw this generator's "
                              f"latents of size {self.latent_dim}")
        self.__dict__["_prior"] = prior
        if prior is None:
            self.__dict__.pop("sampling_options", None)
        else:   # (an instance attribute over the class's declaration)
            self.__dict__["sampling_options"] = prior.sampling_options

    def sample_latent(self, n: int, *, seed: Optional[int] = None, device=None, training: bool = False,
                      truncation: Optional[float] = None, **options) -> torch.Tensor:
        """The latent of ``n`` samples, the one place a latent is drawn: z ~ N(0, I) of shape (n, latent_dim).

        ``seed``: drawn with a generator of its own (same seed, same latent, on any ``device``); None: from
        torch's global RNG directly on ``device`` (default: the generator's), as the training step draws
        (no host synchronisation; a CUDA graph replays it). ``training=True``: the latent of a training
        step (a generator that mixes styles in training draws them here). Sampling options come as
        keywords (each one of ``sampling_options``; :meth:`generate` gets them too): ``truncation=psi``
        draws z from the normal truncated to [-psi, psi] (:func:`truncated_normal`).

        An override returns a tensor with ``n`` rows that ``forward`` takes (any shape and dtype: a
        learned prior may return code indices), drawing its random numbers from
        ``RandomSource(seed, device, module=self)`` (:class:`ganzoo.sampling.RandomSource`).

        With a :attr:`prior` attached, the latent is the prior's draw, ``prior.sample_latent(self, n,
        rng=RandomSource(...), **options)`` with the prior's sampling options."""
        rng = RandomSource(seed, device, module=self)
        n = sample_count(n)
        if self.prior is not None:
            options = self.check_sampling({**options, "truncation": truncation})
            return self.prior.sample_latent(self, n, rng=rng, **options)
        if options:
            raise ConfigError(f"{type(self).__name__} takes no sampling option {sorted(options)[0]!r}")
        if truncation is None:
            return rng.randn(n, self.latent_dim)
        return rng.truncated_normal((n, self.latent_dim), truncation)

    def generate(self, z: torch.Tensor, y: Optional[torch.Tensor] = None, **options) -> torch.Tensor:
        """Samples from a latent that :meth:`sample_latent` drew with the same sampling ``options``: by
        default ``forward(z, y)`` (the default options act in the draw). A generator whose options act on
        the way from the latent to the sample (a style model's truncation in w) takes them here."""
        return self(z, y)

    def check_sampling(self, options: Mapping, who: Optional[str] = None) -> dict:
        """``options`` checked against :attr:`sampling_options` (None values dropped); a ConfigError names an
        option this generator (``who``, by default its class name) does not take, or a bad value."""
        return check_options(options, self.sampling_options, who or type(self).__name__)

    code_layout: Optional["LatentCodes"] = None
    """InfoGAN-style codes at the head of z (:class:`LatentCodes`), or None (the default: no codes). A
    generator that declares them gets :meth:`latent_codes` from them, and ``ganzoo traverse --code`` and
    the ``codes`` metric work on it."""

    def latent_codes(self, z: torch.Tensor) -> Optional[torch.Tensor]:
        """The part of ``z`` that a discriminator's ``q`` output predicts (InfoGAN's codes c), or None
        (no codes): categorical codes first, one-hot
        (:func:`ganzoo.objectives.terms.categorical_codes`), then continuous ones. The training step hands
        it to the loss terms as ``step.codes``. The default reads them with :attr:`code_layout`."""
        return None if self.code_layout is None else self.code_layout.codes(z)

    @torch.no_grad()
    def sample(self, n: int, *, seed: Optional[int] = None, y=None, **options) -> torch.Tensor:
        """Draw ``n`` samples (eval mode, no grad; ``n == 0``: an empty batch): ``generate(sample_latent(n,
        seed=seed, **options), y, **options)``. Same seed, same samples. ``options``: sampling options
        (:attr:`sampling_options`; ``truncation=psi`` for most generators)."""
        n = sample_count(n)
        options = self.check_sampling(options)
        was_training = self.training
        self.eval()
        try:
            z = self.sample_latent(n, seed=seed, **options)
            if y is not None:
                y = torch.as_tensor(y, dtype=torch.long).to(self._device())
                if y.dim() == 0:
                    y = y.expand(n)
            return self.generate(z, y, **options)
        finally:
            self.train(was_training)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


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
    """``forward(x, y=None) -> z`` (autoencoder) or ``(mu, logvar)`` (VAE: ``variational = True``).

    A conditional encoder (``num_classes > 0``: q(z | x, y), a conditional VAE) takes and checks the labels
    ``y``; an unconditional one refuses them. Callers pass labels only when ``encoder.conditional``.
    ``loss_terms``: auxiliary loss terms of phase ``"ae"`` this encoder calls for; the autoencoding step
    adds them after the objective's loss and terms (see docs/training.md, "Order of application")."""

    variational = False
    loss_terms = ()

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0):
        super().__init__(sample_shape, num_classes)
        self.latent_dim = int(latent_dim)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None):  # pragma: no cover
        raise NotImplementedError

    def latent(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The code a decoder reconstructs ``x`` from: ``forward``'s z, or a VAE's posterior mean."""
        out = self(x) if y is None else self(x, y)  # (an encoder written before labels takes x alone)
        return out[0] if isinstance(out, tuple) else out

    def features(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N, d) features for ``Model.encode``, ``ganzoo encode``, the linear probe: :meth:`latent` flattened."""
        return self.latent(x, y).flatten(1)


class Prior(_Component):
    """A learned distribution over a generator's latent z, fitted after the autoencoder in its own training stage
    (``ganzoo train --stage prior --init DIR``) and saved as its own component, ``prior.safetensors``.

    ``Prior.__init__(latent_dim, sample_shape, num_classes=0)``: ``latent_dim`` is the generator's.
    ``loss(model, x, y=None) -> (loss, stats)``: what the prior stage minimises on a real batch ``x`` (labels
    ``y`` for a conditional prior), typically the negative log-likelihood of the latents that the model's
    encoder gives ``x``; ``model`` has ``encoder`` and ``generator``, frozen (eval mode, no gradients), as an
    autoencoding objective's ``model`` has them.
    ``sample_latent(generator, n, *, rng, **options) -> z``: ``n`` latents that ``generator`` (the one it is
    attached to) takes, drawn from ``rng``, the draw's :class:`ganzoo.sampling.RandomSource` (same seed, same
    latents); ``options`` are its ``sampling_options`` (none by default), which replace the generator's."""

    sampling_options: Mapping[str, SamplingOption] = MappingProxyType({})

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], num_classes: int = 0):
        super().__init__(sample_shape, num_classes)
        self.latent_dim = int(latent_dim)

    def loss(self, model, x: torch.Tensor, y: Optional[torch.Tensor] = None):  # pragma: no cover
        raise NotImplementedError

    def sample_latent(self, generator: Generator, n: int, *, rng: RandomSource, **options):  # pragma: no cover
        raise NotImplementedError


__all__ = ["Generator", "Discriminator", "DiscriminatorOutput", "Encoder", "Decoder", "Prior", "discriminator_output",
           "truncated_normal", "LatentCodes"]
