from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.interfaces import Discriminator, Generator
from ganzoo.layers import activation, mlp, one_hot


class MLPGenerator(Generator):
    def __init__(self, sample_shape, latent_dim, hidden, num_classes=0, output="auto", norm=False):
        if output == "auto":
            output = "tanh" if len(sample_shape) == 3 else "linear"
        if output not in ("tanh", "linear", "sigmoid"):
            raise ValueError(f"mlp: output must be auto, tanh, sigmoid or linear, not {output!r}")
        rng = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "linear": None}[output]
        super().__init__(latent_dim, sample_shape, num_classes, output_range=rng)
        out = math.prod(self.sample_shape)
        self.net = mlp([latent_dim + num_classes, *hidden, out], act="relu", norm=norm)
        self.out_act = activation("tanh") if output == "tanh" else (nn.Sigmoid() if output == "sigmoid" else nn.Identity())

    def forward(self, z, y=None):
        y = self._check_labels(y, z.shape[0])
        if y is not None:
            z = torch.cat([z, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1)
        return self.out_act(self.net(z)).view(z.shape[0], *self.sample_shape)


class MLPDiscriminator(Discriminator):
    """Scores (N,). With ``pack`` > 1 (PacGAN) consecutive groups of ``pack`` samples are judged
    jointly and the group's score is given to each of its members."""

    def __init__(self, sample_shape, hidden, num_classes=0, pack=1):
        super().__init__(sample_shape, num_classes)
        self.pack = int(pack)
        d = math.prod(self.sample_shape)
        self.net = mlp([(d + num_classes) * self.pack, *hidden, 1], act="leaky_relu")

    def forward(self, x, y=None):
        n = x.shape[0]
        y = self._check_labels(y, n)
        h = x.reshape(n, -1)
        if y is not None:
            h = torch.cat([h, one_hot(y.to(h.device), self.num_classes, h.dtype)], 1)
        if self.pack == 1:
            return self.net(h).squeeze(1)
        if n % self.pack:
            raise ValueError(f"mlp: batch size {n} must be a multiple of pack={self.pack}")
        scores = self.net(h.reshape(n // self.pack, -1)).squeeze(1)
        return scores.repeat_interleave(self.pack)


def build(sample_shape, latent_dim, g_hidden, d_hidden, num_classes, output, g_norm, d_norm, pack):
    return {
        "generator": MLPGenerator(sample_shape, latent_dim, g_hidden, num_classes, output, g_norm),
        "discriminator": MLPDiscriminator(sample_shape, d_hidden, num_classes, pack),
    }
