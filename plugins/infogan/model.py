"""InfoGAN's networks (Chen et al. 2016, appendix C.1, the MNIST ones; other square sizes by the same rule).

z = [categorical codes | continuous codes | noise] ~ N(0, I): the generator declares the layout
(:class:`ganzoo.interfaces.LatentCodes`), feeds its network the one-hot of each categorical code in place of
the columns it came from, and returns the codes from ``latent_codes(z)``. The discriminator shares one trunk
between its score and the Q head, which predicts the codes (a logit per category, a mean per continuous code);
its ``loss_terms`` carry :class:`ganzoo.objectives.terms.InfoLoss`, which the engine adds to D's steps (training
Q and the shared trunk) and to G's step (training G)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, DiscriminatorOutput, Generator, LatentCodes
from ganzoo.layers import ClassProjection, DownConv, conv_plan, dcgan_init, one_hot, spectral_norm_all
from ganzoo.objectives.terms import InfoLoss

NORMS = ("batch", "layer", "spectral", "none")


def _square(sample_shape):
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
        raise ConfigError(f"infogan makes square images [C, S, S], not {list(sample_shape)}")
    return sample_shape[0], sample_shape[1]


def _norm1d(kind: str, n: int) -> nn.Module:
    return nn.BatchNorm1d(n) if kind == "batch" else nn.LayerNorm(n) if kind == "layer" else nn.Identity()


class InfoGANGenerator(Generator):
    """FC -> FC to a base x base map -> transposed convolutions doubling the size, BatchNorm and ReLU
    throughout, a Tanh head. 28 x 28: FC g_hidden, FC 2 g_width x 7 x 7, up-conv g_width, up-conv C."""

    def __init__(self, sample_shape, layout: LatentCodes, noise=62, hidden=1024, width=64, num_classes=0):
        super().__init__(layout.width + noise, sample_shape, num_classes, output_range=(-1.0, 1.0))
        channels, size = _square(self.sample_shape)
        base, k = conv_plan(size)
        self.code_layout = layout
        top = width * 2 ** (k - 1)
        self.base, self.top = base, top
        self.fc = nn.Sequential(nn.Linear(self.latent_dim + num_classes, hidden, bias=False), nn.BatchNorm1d(hidden),
                                nn.ReLU(True), nn.Linear(hidden, top * base * base, bias=False),
                                nn.BatchNorm1d(top * base * base), nn.ReLU(True))
        ups, c = [], top
        for _ in range(k - 1):
            ups += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        self.up = nn.Sequential(*ups, nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        h = self.code_layout.inputs(z)
        if y is not None:
            h = torch.cat([h, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1)
        return self.up(self.fc(h).view(z.shape[0], self.top, self.base, self.base))


class InfoGANDiscriminator(Discriminator):
    """A DCGAN trunk (conv d_width, LeakyReLU; conv 2 d_width, norm, LeakyReLU; ...) and FC d_hidden (norm,
    LeakyReLU), shared by D's score (plus a projection term <embed(y), h> when class-conditional) and the Q head
    (FC q_hidden, norm, LeakyReLU, FC to the codes). Returns a DiscriminatorOutput with ``q``."""

    def __init__(self, sample_shape, layout: LatentCodes, width=64, hidden=1024, q_hidden=128, num_classes=0,
                 norm="batch", info=1.0, info_continuous=0.1):
        super().__init__(sample_shape, num_classes)
        channels, size = _square(self.sample_shape)
        if norm not in NORMS:
            raise ConfigError(f"infogan: unknown d_norm {norm!r}; use {', '.join(NORMS)}")
        self.batch_independent = norm != "batch"
        self.trunk = DownConv(channels, size, width, "none" if norm == "spectral" else norm)
        features = self.trunk.out_channels * self.trunk.base ** 2
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(features, hidden), _norm1d(norm, hidden), nn.LeakyReLU(0.2, True))
        self.score = nn.Linear(hidden, 1)
        self.embed = ClassProjection(num_classes, hidden) if num_classes else None
        self.q = nn.Sequential(nn.Linear(hidden, q_hidden), _norm1d(norm, q_hidden), nn.LeakyReLU(0.2, True),
                               nn.Linear(q_hidden, layout.width))
        self.loss_terms = [InfoLoss(info, categories=layout.categories, continuous_weight=info_continuous)]
        dcgan_init(self)
        if norm == "spectral":   # the score's path is 1-Lipschitz; Q's own head is left as it is
            for part in (self.trunk, self.fc, self.score, self.embed):
                if part is not None:
                    spectral_norm_all(part)

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        h = self.fc(self.trunk(x))
        score = self.score(h).squeeze(1)
        if y is not None:
            score = score + self.embed.score(h, y)
        return DiscriminatorOutput(score, q=self.q(h))


def _positive(name, value):
    if value < 1:
        raise ConfigError(f"infogan: {name} must be at least 1, not {value}")


def build(sample_shape, categories, continuous, noise, g_hidden, g_width, d_width, d_hidden, q_hidden, info,
          info_continuous, num_classes, d_norm):
    for name, value in (("g_hidden", g_hidden), ("g_width", g_width), ("d_width", d_width), ("d_hidden", d_hidden),
                        ("q_hidden", q_hidden)):
        _positive(name, value)
    if info < 0 or info_continuous < 0:
        raise ConfigError(f"infogan: info and info_continuous are weights >= 0, not {info} and {info_continuous}")
    layout = LatentCodes(tuple(categories), continuous)
    return {
        "generator": InfoGANGenerator(sample_shape, layout, noise, g_hidden, g_width, num_classes),
        "discriminator": InfoGANDiscriminator(sample_shape, layout, d_width, d_hidden, q_hidden, num_classes, d_norm,
                                              info, info_continuous),
    }
