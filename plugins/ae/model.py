"""Encoder and decoder networks shared by ``ae`` and ``vae`` (a VAE is an AE whose encoder
outputs a distribution)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Decoder, Encoder
from ganzoo.layers import DownConv, UpConv, mlp, one_hot


def _check_arch(arch, sample_shape):
    if arch not in ("mlp", "conv"):
        raise ConfigError(f"arch must be mlp or conv, not {arch!r}")
    if arch == "conv" and (len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]):
        raise ConfigError(f"arch conv needs square images [C, S, S], not {list(sample_shape)}")


def top_k(h: torch.Tensor, k: int) -> torch.Tensor:
    """``h`` (N, d) with all but the ``k`` largest entries of each row set to 0 (Makhzani & Frey 2013's k-sparse
    code: the gradient reaches the kept units only)."""
    values, idx = h.topk(k, dim=1)
    return torch.zeros_like(h).scatter(1, idx, values)


class AEEncoder(Encoder):
    """x (and, when ``num_classes > 0``, its label: q(z | x, y), one-hot beside the flattened input or the
    conv trunk's features) -> z, or (mu, logvar) when ``variational``. ``topk`` > 0: z keeps its ``topk``
    largest entries and the rest are 0 (a k-sparse autoencoder)."""

    def __init__(self, sample_shape, latent_dim, arch="mlp", hidden=(512, 256), width=32, variational=False,
                 num_classes=0, topk=0):
        super().__init__(latent_dim, sample_shape, num_classes)
        _check_arch(arch, self.sample_shape)
        if isinstance(topk, bool) or not isinstance(topk, int) or not 0 <= topk <= latent_dim:
            raise ConfigError(f"topk is how many of the latent's {latent_dim} entries stay non-zero, 0 (off) to "
                              f"{latent_dim}; not {topk!r}")
        if topk and variational:
            raise ConfigError("topk makes a k-sparse autoencoder's code; a VAE's encoder gives a distribution: "
                              "leave topk at 0 for the vae variant")
        self.variational = bool(variational)
        self.topk = topk
        out = latent_dim * (2 if variational else 1)
        if arch == "mlp":
            self.net = nn.Sequential(nn.Flatten(), mlp([math.prod(self.sample_shape) + num_classes, *hidden, out],
                                                       act="relu"))
        else:
            trunk = DownConv(self.sample_shape[0], self.sample_shape[1], width, norm="none")
            feat = trunk.out_channels * trunk.base**2
            self.net = nn.Sequential(trunk, nn.Flatten(), nn.Linear(feat + num_classes, out))

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        h = self.net[:-1](x)  # flattened input (mlp) or trunk features (conv); the label joins them here
        if y is not None:
            h = torch.cat([h, one_hot(y.to(h.device), self.num_classes, h.dtype)], 1)
        h = self.net[-1](h)
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-30.0, 20.0)
        return top_k(h, self.topk) if self.topk else h


class AEDecoder(Decoder):
    """``logits(z)`` are Bernoulli logits per pixel; ``forward(z)`` (the Decoder's) is their mean in [0, 1]."""

    def __init__(self, sample_shape, latent_dim, arch="mlp", hidden=(512, 256), width=32, num_classes=0):
        super().__init__(latent_dim, sample_shape, num_classes)
        _check_arch(arch, self.sample_shape)
        if arch == "mlp":
            self.net = mlp([latent_dim + num_classes, *reversed(hidden), math.prod(self.sample_shape)], act="relu")
        else:
            trunk = UpConv(latent_dim + num_classes, self.sample_shape[1], width, norm="none")
            self.net = nn.Sequential(trunk, nn.ConvTranspose2d(trunk.out_channels, self.sample_shape[0], 4, 2, 1))

    def logits(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            z = torch.cat([z, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1)
        return self.net(z).view(z.shape[0], *self.sample_shape)


def build(sample_shape, latent_dim, arch, hidden, width, num_classes, encoder_labels, variational=False, topk=0):
    """The encoder and the decoder; ``encoder_labels``: a class-conditional model's encoder sees the label too
    (q(z | x, y), a conditional VAE: Sohn et al. 2015), else only the decoder does. A plain autoencoder's decoder
    has no prior to sample from (``has_prior`` False); a VAE's is N(0, I). ``topk``: see :class:`AEEncoder`."""
    decoder = AEDecoder(sample_shape, latent_dim, arch, hidden, width, num_classes)
    decoder.has_prior = bool(variational)
    return {
        "encoder": AEEncoder(sample_shape, latent_dim, arch, hidden, width, variational,
                             num_classes if encoder_labels else 0, topk),
        "generator": decoder,
    }
