"""The building blocks of the first-party MLP and DCGAN variants: fully connected stacks, the DCGAN trunks,
normalisation, class conditioning, PacGAN and config checks. Public through :mod:`ganzoo.layers`."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError


def mlp(sizes: Sequence[int], *, act: str = "leaky_relu", norm: bool = False, last_act: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with activations ``act`` between them (and
    BatchNorm1d before each activation with ``norm=True``); ``last_act`` adds one after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_act:
            if norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(activation(act))
    return nn.Sequential(*layers)


ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}
"""The activations :func:`activation` builds, by name (each entry makes a fresh module)."""


def activation(name: str) -> nn.Module:
    """A fresh activation module by name: relu, leaky_relu (slope 0.2), tanh or elu."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; use {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


BASE_SIZES = (4, 7, 3, 5)
"""The sizes a DCGAN trunk starts from; an image size must be one of them times 2^k (:func:`conv_plan`)."""


def conv_plan(size: int) -> tuple[int, int]:
    """Return (base, doublings) with ``size == base * 2**doublings`` and doublings >= 1.

    8 -> (4, 1), 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    for base in BASE_SIZES:
        k = size / base
        if k >= 2 and k == int(k) and math.log2(k) == int(math.log2(k)):
            return base, int(math.log2(k))
    raise ConfigError(
        f"image size {size} is not supported; use base*2^k with base in {BASE_SIZES}, "
        "e.g. 8, 14, 16, 28, 32, 56, 64"
    )


def check_depth(depth, key: str) -> int:
    """``depth`` (convolutions per resolution) if it is a whole number >= 1, else a ConfigError naming ``key``."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ConfigError(f"{key} must be a whole number >= 1 (convolutions per resolution), not {depth!r}")
    return depth


NORMS = ("batch", "conditional", "layer", "none")
"""The normalisations :func:`norm2d` builds."""


def norm2d(kind: str, channels: int, num_classes: int = 0) -> nn.Module:
    """A 2-D normalisation layer by name: ``batch`` (BatchNorm2d), ``conditional``
    (:class:`ConditionalBatchNorm2d`, needs ``num_classes``), ``layer`` (GroupNorm with one group:
    per sample, safe with gradient penalties) or ``none`` (Identity)."""
    if kind == "conditional":
        return ConditionalBatchNorm2d(channels, num_classes)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # per-sample normalisation: safe with gradient penalties
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown norm {kind!r}; use batch, conditional, layer or none")


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (de Vries et al. 2017; the generator
    of Miyato & Koyama 2018 and BigGAN): the batch is normalised as usual, without affine
    parameters of its own, then sample i is scaled by ``gain[y_i]`` and shifted by ``bias[y_i]``.
    The gains start at 1 and the shifts at 0, so at initialisation it is a plain BatchNorm."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        if num_classes < 1:
            raise ConfigError("conditional BatchNorm needs a class-conditional model (num_classes >= 1; --conditional)")
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class UpConv(nn.Module):
    """DCGAN generator trunk: (N, in_dim) -> (N, width, size, size) feature maps (the last upsampling
    is the caller's head). ``norm="conditional"`` uses a ConditionalBatchNorm2d after each convolution,
    which needs the labels ``y`` in forward. ``depth`` > 1 follows each resolution's transposed
    convolution with ``depth - 1`` 3x3 convolutions of the same width (each with norm and ReLU): more
    layers at each resolution, not more channels; ``depth=1`` is the DCGAN trunk."""

    def __init__(self, in_dim: int, size: int, width: int, norm: str = "batch", num_classes: int = 0,
                 depth: int = 1):
        super().__init__()
        base, k = conv_plan(size)
        depth = check_depth(depth, "g_depth")
        chans = [width * 2 ** (k - 1 - i) for i in range(k)]  # e.g. 512, 256, 128, 64

        def block(conv: nn.Module, c: int) -> list[nn.Module]:
            out = [conv, norm2d(norm, c, num_classes), nn.ReLU(True)]
            for _ in range(depth - 1):
                out += [nn.Conv2d(c, c, 3, 1, 1, bias=False), norm2d(norm, c, num_classes), nn.ReLU(True)]
            return out

        layers = block(nn.ConvTranspose2d(in_dim, chans[0], base, 1, 0, bias=False), chans[0])
        for a, b in zip(chans[:-1], chans[1:]):
            layers += block(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), b)
        self.net = nn.Sequential(*layers)
        self.out_channels = chans[-1]
        self.conditional = norm == "conditional"

    def forward(self, z, y=None):
        h = z[:, :, None, None]
        if not self.conditional:
            return self.net(h)
        if y is None:
            raise ConfigError("a conditional-BatchNorm trunk needs labels y")
        for layer in self.net:
            h = layer(h, y) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
        return h


class DownConv(nn.Module):
    """DCGAN discriminator trunk: (N, C, size, size) -> (N, width*2^(k-1), base, base). ``depth`` > 1
    follows each strided convolution with ``depth - 1`` 3x3 convolutions of the same width (each with
    norm and LeakyReLU), a deeper D in the manner of SNGAN's "standard CNN"; ``depth=1`` is DCGAN's."""

    def __init__(self, channels: int, size: int, width: int, norm: str = "batch", depth: int = 1):
        super().__init__()
        base, k = conv_plan(size)
        depth = check_depth(depth, "d_depth")
        chans = [width * 2**i for i in range(k)]  # e.g. 64, 128, 256, 512

        def extra(c: int) -> list[nn.Module]:
            out: list[nn.Module] = []
            for _ in range(depth - 1):
                out += [nn.Conv2d(c, c, 3, 1, 1, bias=False), norm2d(norm, c), nn.LeakyReLU(0.2, True)]
            return out

        layers: list[nn.Module] = [nn.Conv2d(channels, chans[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        layers += extra(chans[0])
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), norm2d(norm, b), nn.LeakyReLU(0.2, True)] + extra(b)
        self.net = nn.Sequential(*layers)
        self.out_channels, self.base = chans[-1], base

    def forward(self, x):
        return self.net(x)


def dcgan_init(module: nn.Module) -> None:
    """Weights from N(0, 0.02), norm scales from N(1, 0.02) (Radford et al. 2015)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def one_hot(y: torch.Tensor, num_classes: int, dtype) -> torch.Tensor:
    """Labels (N,) -> one-hot codes (N, num_classes) of ``dtype`` (to concatenate beside z or x)."""
    return torch.nn.functional.one_hot(y, num_classes).to(dtype)


# -- class conditioning: the label's path starts at the scale of the rest ---------------------------
class ClassProjection(nn.Embedding):
    """The class term of a projection discriminator (Miyato & Koyama 2018): ``score(h, y)`` is
    ``<embed(y), h>`` for features ``h`` (N, F), added to D's unconditional score. Its weight is a
    (num_classes, F) embedding initialised like SNGAN's (Xavier-uniform, std ~ sqrt(2 / F)), so at
    initialisation the class term is about as spread as a linear head's score on the same features.
    (nn.Embedding's own N(0, 1) start makes it ~sqrt(F) times larger -- 50 to 90x DCGAN's head --
    and D separates real from fake by the label path at once.) A subclass of nn.Embedding: the
    state-dict key is ``weight`` and spectral norm applies to it as to any embedding."""

    def __init__(self, num_classes: int, features: int):
        super().__init__(num_classes, features)

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)

    def score(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (nn.functional.embedding(y.to(h.device), self.weight) * h.flatten(1)).sum(1)


@torch.no_grad()
def init_label_inputs(layer: nn.Module, num_classes: int, blocks: int = 1) -> nn.Module:
    """Re-initialise the weights that a one-hot label concatenated as the LAST ``num_classes`` inputs
    of ``layer`` (nn.Linear, or nn.Conv2d / nn.ConvTranspose2d on 1x1 inputs) meets, so that the label
    shifts each unit as much as all the other inputs together do (unit-scale inputs assumed): normal
    with std = (std of the other inputs' weights) * sqrt(their number). ``blocks`` > 1: the inputs are
    that many equal blocks, each ending with its one-hot label (PacGAN's packed samples). With the
    layer's default init a one-hot input is one input among hundreds (784 pixels in an MLP D, 100
    latents in DCGAN's G), so the class moves each unit by ~1/sqrt(inputs) of what the image or noise
    does, and the model learns to use it slowly or not at all. Only initial values change, not the
    forward computation. Returns ``layer``."""
    if not num_classes:
        return layer
    w = layer.weight
    dim = 0 if isinstance(layer, nn.ConvTranspose2d) else 1  # ConvTranspose: (in, out, k, k)
    n_in = w.shape[dim]
    size = n_in // blocks
    if size * blocks != n_in or not 0 < num_classes < size:
        raise ConfigError(f"init_label_inputs: {n_in} inputs are not {blocks} block(s) of more than {num_classes}")
    is_label = (torch.arange(n_in, device=w.device) % size) >= size - num_classes
    other, label = w.index_select(dim, (~is_label).nonzero().flatten()), is_label.nonzero().flatten()
    fresh = torch.randn_like(w.index_select(dim, label)) * (float(other.std()) * math.sqrt(size - num_classes))
    w.index_copy_(dim, label, fresh)
    return layer


# -- PacGAN (Lin et al. 2018): D judges consecutive groups of `pack` samples jointly ----------------
def check_pack(pack, who: str) -> int:
    """``pack`` if it is a whole number >= 1, else a ConfigError naming ``who`` (the variant)."""
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ConfigError(f"{who}: pack must be a whole number >= 1, not {pack!r}")
    return pack


def pack_groups(x: torch.Tensor, pack: int, who: str) -> torch.Tensor:
    """(N, F, ...) -> (N / pack, pack * F, ...): each group of ``pack`` consecutive samples joined
    along the first feature axis (vector features or image channels)."""
    n = x.shape[0]
    if pack == 1:
        return x
    if n % pack:
        raise ConfigError(f"{who}: batch size {n} must be a multiple of pack={pack}")
    return x.reshape(n // pack, pack * x.shape[1], *x.shape[2:])


def unpack_scores(scores: torch.Tensor, pack: int) -> torch.Tensor:
    """One score per group -> the group's score for each of its ``pack`` members."""
    return scores if pack == 1 else scores.repeat_interleave(pack)
