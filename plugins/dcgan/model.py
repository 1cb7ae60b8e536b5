from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.layers import (D_LABELS, DownConv, LabelHead, UpConv, check_pack, dcgan_init, init_label_inputs, one_hot,
                           pack_groups, spectral_norm_all, unpack_scores)


NORMS = ("batch", "layer", "spectral", "none")
G_NORMS = ("batch", "conditional")


def _square(sample_shape):
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
        raise ConfigError(f"dcgan needs square images [C, S, S], not {list(sample_shape)}")
    return sample_shape[0], sample_shape[1]


class DCGANGenerator(Generator):
    """Transposed-conv trunk with BatchNorm and ReLU, then a Tanh head. A conditional G sees the one-hot
    label beside z; with ``norm="conditional"`` every BatchNorm also takes its scale and shift from the
    label (conditional BatchNorm, as the generators of the projection discriminator's paper and BigGAN),
    so the class steers every layer, not only the first."""

    def __init__(self, sample_shape, latent_dim=100, width=64, num_classes=0, norm="batch", depth=1):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=(-1.0, 1.0))
        channels, size = _square(self.sample_shape)
        if norm not in G_NORMS:
            raise ConfigError(f"dcgan: unknown g_norm {norm!r}; use {' or '.join(G_NORMS)}")
        if norm == "conditional" and not num_classes:
            raise ConfigError("dcgan: g_norm=conditional needs a class-conditional model; add --conditional")
        self.trunk = UpConv(latent_dim + num_classes, size, width, norm, num_classes, depth)
        self.head = nn.Sequential(nn.ConvTranspose2d(self.trunk.out_channels, channels, 4, 2, 1, bias=False), nn.Tanh())
        dcgan_init(self)
        init_label_inputs(self.trunk.net[0], num_classes)  # the one-hot label as loud as z at the start

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            y = y.to(z.device)
            z = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], 1)
        return self.head(self.trunk(z, y))


class DCGANDiscriminator(Discriminator):
    """Conv trunk, then a base x base conv to one score; a conditional D uses the label as ``label`` says
    (:class:`ganzoo.layers.LabelHead`): ``"projection"`` adds a projection term <embed(y), features> (Miyato &
    Koyama 2018), ``"acgan"`` gives class logits from the features instead (an auxiliary classifier, Odena et
    al. 2017, trained by its ClassLoss term, weight ``class_weight``). With ``pack`` > 1 (PacGAN, Lin et al. 2018)
    consecutive groups of ``pack`` images are stacked along the channels and judged jointly; the
    group's score is given to each of its members. ``norm="spectral"`` (SNGAN, Miyato et al. 2018)
    has no norm layers; instead every weight (convolutions, head, class embedding) is divided by
    its largest singular value, estimated by one power iteration per training-mode call."""

    def __init__(self, sample_shape, width=64, num_classes=0, norm="batch", pack=1, depth=1, label="projection",
                 class_weight=1.0):
        super().__init__(sample_shape, num_classes)
        channels, size = _square(self.sample_shape)
        self.pack = check_pack(pack, "dcgan")
        if norm not in NORMS:
            raise ConfigError(f"dcgan: unknown d_norm {norm!r}; use {', '.join(NORMS)}")
        self.batch_independent = norm != "batch"  # layer / spectral / none: no batch statistics
        if pack > 1 and num_classes:
            raise ConfigError("dcgan: pack > 1 does not combine with a class-conditional D; use pack=1 with --conditional")
        self.trunk = DownConv(channels * pack, size, width, "none" if norm == "spectral" else norm, depth)
        c, b = self.trunk.out_channels, self.trunk.base
        self.head = nn.Conv2d(c, 1, b, 1, 0, bias=False)
        if label not in D_LABELS:
            raise ConfigError(f"dcgan: d_label must be {' or '.join(D_LABELS)}, not {label!r}")
        if label == "acgan" and not num_classes:
            raise ConfigError("dcgan: d_label=acgan needs a class-conditional model; add --conditional")
        self.embed = LabelHead(label, num_classes, c * b * b, class_weight) if num_classes else None
        self.loss_terms = self.embed.loss_terms if num_classes else ()
        dcgan_init(self)
        if norm == "spectral":
            spectral_norm_all(self)

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        h = self.trunk(pack_groups(x, self.pack, "dcgan"))
        out = self.head(h).flatten()
        if y is not None:
            return self.embed(out, h, y)    # (pack is 1 for a conditional D)
        return unpack_scores(out, self.pack)


def build(sample_shape, latent_dim, g_width, d_width, num_classes, d_norm, pack=1, g_norm="batch", g_depth=1,
          d_depth=1, d_label="projection", class_weight=1.0):
    return {
        "generator": DCGANGenerator(sample_shape, latent_dim, g_width, num_classes, g_norm, g_depth),
        "discriminator": DCGANDiscriminator(sample_shape, d_width, num_classes, d_norm, pack, d_depth, d_label,
                                            class_weight),
    }
