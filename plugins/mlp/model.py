from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.layers import (ClassProjection, activation, check_pack, init_label_inputs, mlp, one_hot, pack_groups,
                           unpack_scores)


class MLPGenerator(Generator):
    """An MLP from z to a sample. With ``mixture`` = K > 0 the latent is a Gaussian mixture with K
    equally likely components (DeLiGAN, Gurumurthy et al. 2017; GM-GAN, Ben-Yosef & Weinshall 2018):
    the noise z ~ N(0, I) has K + ``latent_dim`` coordinates; the component is the argmax of the first
    K (uniform over K), and the network sees its one-hot code -- the first layer's weights are the
    learned component means -- beside ``mixture_std`` times the remaining coordinates. The prior is the
    generator's latent (:meth:`sample_latent` draws it); ``forward`` takes that latent as it is. A continuous G
    maps a connected latent onto a connected set, so data in separate clusters forces samples onto
    bridges between them (Khayatkhoei et al. 2018); the gaps between mixture components give G
    somewhere to put those jumps where no latent mass lies."""

    def __init__(self, sample_shape, latent_dim, hidden, num_classes=0, output="auto", norm=False,
                 mixture=0, mixture_std=0.1):
        if output == "auto":
            output = "tanh" if len(sample_shape) == 3 else "linear"
        if output not in ("tanh", "linear", "sigmoid"):
            raise ConfigError(f"mlp: output must be auto, tanh, sigmoid or linear, not {output!r}")
        rng = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "linear": None}[output]
        if isinstance(mixture, bool) or not isinstance(mixture, int) or mixture < 0 or mixture == 1:
            raise ConfigError(f"mlp: mixture must be 0 (a Gaussian latent) or a number of components >= 2, not {mixture!r}")
        if isinstance(mixture_std, bool) or not isinstance(mixture_std, (int, float)) or not mixture_std > 0:
            raise ConfigError(f"mlp: mixture_std must be a positive number, not {mixture_std!r}")
        self.mixture, self.mixture_std = int(mixture), float(mixture_std)
        super().__init__(self.mixture + latent_dim, sample_shape, num_classes, output_range=rng)
        out = math.prod(self.sample_shape)
        self.net = mlp([self.latent_dim + num_classes, *hidden, out], act="relu", norm=norm)
        init_label_inputs(self.net[0], num_classes)  # the one-hot label as loud as z at the start
        self.out_act = activation("tanh") if output == "tanh" else (nn.Sigmoid() if output == "sigmoid" else nn.Identity())

    def sample_latent(self, n, *, seed=None, device=None, training=False, truncation=None):
        """The latent G's network sees: z ~ N(0, I) (``truncation``: the truncated normal) or, for a
        mixture prior, the one-hot component code (the argmax of the first K values drawn) beside
        ``mixture_std`` times the remaining ``latent_dim`` values."""
        z = super().sample_latent(n, seed=seed, device=device, training=training, truncation=truncation)
        if not self.mixture:
            return z
        k = self.mixture
        return torch.cat([one_hot(z[:, :k].argmax(1), k, z.dtype), self.mixture_std * z[:, k:]], 1)

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            z = torch.cat([z, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1)
        return self.out_act(self.net(z)).view(z.shape[0], *self.sample_shape)

    def component(self, z):
        """The mixture component (N,) that each latent code in ``z`` selects."""
        if not self.mixture:
            raise ConfigError("mlp: this generator has a Gaussian latent, not a mixture (config mixture=0)")
        return z[:, :self.mixture].argmax(1)


class MLPDiscriminator(Discriminator):
    """Scores (N,). With ``pack`` > 1 (PacGAN) consecutive groups of ``pack`` samples are judged
    jointly and the group's score is given to each of its members. A class-conditional D takes the
    label in one of two ways (``label``): ``"concat"``, its one-hot code beside the flattened sample
    at the input; ``"projection"`` (Miyato & Koyama 2018), the score ``head(h) + <embed(y), h>`` on
    the last hidden features ``h`` (:class:`ganzoo.layers.ClassProjection`; a packed group's
    embedding is the mean of its members')."""

    batch_independent = True

    def __init__(self, sample_shape, hidden, num_classes=0, pack=1, label="concat"):
        super().__init__(sample_shape, num_classes)
        self.pack = check_pack(pack, "mlp")
        if label not in LABEL_INPUTS:
            raise ConfigError(f"mlp: d_label must be auto, {' or '.join(LABEL_INPUTS)}, not {label!r}")
        d = math.prod(self.sample_shape)
        self.projection = bool(num_classes) and label == "projection"
        if self.projection:
            if not hidden:
                raise ConfigError("mlp: d_label=projection needs at least one hidden layer in d_hidden")
            self.net = mlp([d * self.pack, *hidden], act="leaky_relu", last_act=True)
            self.head = nn.Linear(hidden[-1], 1)
            self.embed = ClassProjection(num_classes, hidden[-1])
        else:
            self.net = mlp([(d + num_classes) * self.pack, *hidden, 1], act="leaky_relu")
            init_label_inputs(self.net[0], num_classes, blocks=self.pack)  # the label as loud as the sample

    def forward(self, x, y=None):
        n = x.shape[0]
        y = self.check_labels(y, n)
        h = x.reshape(n, -1)
        if self.projection:
            f = self.net(pack_groups(h, self.pack, "mlp"))
            e = self.embed(y.to(f.device))
            e = e.view(f.shape[0], self.pack, -1).mean(1) if self.pack > 1 else e
            return unpack_scores(self.head(f).squeeze(1) + (e * f).sum(1), self.pack)
        if y is not None:
            h = torch.cat([h, one_hot(y.to(h.device), self.num_classes, h.dtype)], 1)
        return unpack_scores(self.net(pack_groups(h, self.pack, "mlp")).squeeze(1), self.pack)


LABEL_INPUTS = ("concat", "projection")
# "auto" config values: (for vectors, e.g. 2-D toy data; for images, len(sample_shape) == 3)
AUTO = {
    "latent_dim": (16, 64),
    "g_hidden": ([256, 256], [256, 512]),
    "d_hidden": ([256, 256], [512, 256]),
    "g_norm": (False, True),
    "d_label": ("concat", "projection"),
}


def resolve_auto(config: dict) -> dict:
    """``config`` with each ``"auto"`` value of :data:`AUTO` replaced by its value for the sample shape
    (images: ``len(sample_shape) == 3``); ``ganzoo.create`` then checks every value against the type of
    what ``"auto"`` stands for."""
    image = len(config["sample_shape"]) == 3
    out = dict(config)
    for key, choices in AUTO.items():
        if out.get(key) == "auto":
            out[key] = choices[image]
            if key == "d_label" and not out["d_hidden"]:  # a projection needs hidden features
                out[key] = "concat"
    return out


def build(sample_shape, latent_dim, g_hidden, d_hidden, num_classes, output, g_norm, d_norm, pack, mixture=0,
          mixture_std=0.1, d_label="concat"):
    return {
        "generator": MLPGenerator(sample_shape, latent_dim, g_hidden, num_classes, output, g_norm, mixture,
                                  mixture_std),
        "discriminator": MLPDiscriminator(sample_shape, d_hidden, num_classes, pack, d_label),
    }
