"""The ResNet GAN of SNGAN (Miyato et al. 2018, app. B.4) and WGAN-GP (Gulrajani et al. 2017, app. F), with
optional self-attention (SAGAN, Zhang et al. 2019): the ``resnet`` and ``sagan`` variants share these."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.layers import (D_LABELS, LabelHead, ResBlockDown, ResBlockUp, SelfAttention, conv_plan, global_sum_pool,
                           norm2d, spectral_norm_all)

D_NORMS = ("spectral", "layer", "batch", "none")


def square(sample_shape, who):
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
        raise ConfigError(f"{who} needs square images [C, S, S], not {list(sample_shape)}")
    return sample_shape[0], sample_shape[1]


def _attention_at(resolutions, attention, who, where):
    """The index in ``resolutions`` (the maps' sizes along the trunk) of the maps the attention block takes
    (None: off)."""
    if not attention:
        return None
    if attention not in resolutions:
        raise ConfigError(f"{who}: attention={attention} is not a resolution of {where}'s feature maps; use one of "
                          f"{', '.join(map(str, sorted(set(resolutions))))}")
    return resolutions.index(attention)


def _run(blocks, h, y):
    for block in blocks:
        h = block(h, y) if isinstance(block, ResBlockUp) else block(h)
    return h


class ResNetGenerator(Generator):
    """z -> a linear layer to ``width`` maps of base x base (4 for 32 and 8 px, 7 for 28 px; ``conv_plan``)
    -> one :class:`~ganzoo.layers.ResBlockUp` per doubling -> BatchNorm, ReLU, 3x3 conv, tanh. Every block
    has ``width`` channels (SNGAN's CIFAR generator). A class-conditional G takes the label through
    conditional BatchNorm in every block (per-class scale and shift; the projection discriminator's
    generator), not beside z. ``attention`` > 0 puts a :class:`~ganzoo.layers.SelfAttention` on the maps of
    that resolution (after the block that reaches it, or on the linear layer's base maps; SAGAN); ``spectral`` normalises every convolution and linear layer
    of G (SAGAN), not the BatchNorm's per-class gains."""

    def __init__(self, sample_shape, latent_dim=128, width=64, num_classes=0, attention=0, spectral=False,
                 who="resnet"):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=(-1.0, 1.0))
        channels, size = square(self.sample_shape, who)
        base, k = conv_plan(size)
        self.base, self.width = base, int(width)
        norm = "conditional" if num_classes else "batch"
        self.linear = nn.Linear(latent_dim, width * base * base)
        blocks: list[nn.Module] = [ResBlockUp(width, width, norm=norm, num_classes=num_classes) for _ in range(k)]
        at = _attention_at([base * 2 ** i for i in range(k + 1)], attention, who, "the generator")
        if at is not None:    # after the linear layer's maps (at 0) or after the block that reaches the size
            blocks.insert(at, SelfAttention(width))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(norm2d("batch", width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        for m in (self.linear, self.out[2]):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        if spectral:
            spectral_norm_all(self, types=(nn.Conv2d, nn.Linear))

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            y = y.to(z.device)
        h = self.linear(z).view(z.shape[0], self.width, self.base, self.base)
        return self.out(_run(self.blocks, h, y))


class ResNetDiscriminator(Discriminator):
    """An optimised first :class:`~ganzoo.layers.ResBlockDown` (it halves the image), down-blocks while the
    maps are larger than 8 x 8 (28 px: 14 -> 7; 32 px: 16 -> 8), ``extra`` blocks at that resolution (SNGAN:
    2), then ReLU, :func:`~ganzoo.layers.global_sum_pool` and a linear head to the score; every block has
    ``width`` channels. ``norm``: ``spectral`` (SNGAN: every weight spectrally normalised, no norm layers),
    ``layer`` (per-sample GroupNorm, for a gradient penalty: the WGAN-GP ResNet), ``batch`` or ``none``. A
    class-conditional D uses the label through a :class:`~ganzoo.layers.LabelHead` on the pooled features:
    ``label="projection"`` (Miyato & Koyama 2018) or ``"acgan"`` (an auxiliary classifier and its class loss,
    weight ``class_weight``). ``attention`` > 0 puts a :class:`~ganzoo.layers.SelfAttention` after the block
    whose output has that resolution (SAGAN)."""

    def __init__(self, sample_shape, width=64, num_classes=0, norm="spectral", extra=2, attention=0,
                 label="projection", class_weight=1.0, who="resnet"):
        super().__init__(sample_shape, num_classes)
        channels, size = square(self.sample_shape, who)
        if norm not in D_NORMS:
            raise ConfigError(f"{who}: unknown d_norm {norm!r}; use {', '.join(D_NORMS)}")
        if label not in D_LABELS:
            raise ConfigError(f"{who}: d_label must be {' or '.join(D_LABELS)}, not {label!r}")
        if label == "acgan" and not num_classes:
            raise ConfigError(f"{who}: d_label=acgan needs a class-conditional model; add --conditional")
        if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
            raise ConfigError(f"{who}: d_extra must be a whole number >= 0, not {extra!r}")
        self.batch_independent = norm != "batch"
        spectral, block_norm = norm == "spectral", "none" if norm == "spectral" else norm
        blocks: list[nn.Module] = [ResBlockDown(channels, width, first=True, spectral=spectral, norm=block_norm)]
        res = [size // 2]
        while res[-1] > 8 and res[-1] % 2 == 0:
            blocks.append(ResBlockDown(width, width, spectral=spectral, norm=block_norm))
            res.append(res[-1] // 2)
        for _ in range(extra):
            blocks.append(ResBlockDown(width, width, downsample=False, spectral=spectral, norm=block_norm))
            res.append(res[-1])
        at = _attention_at(res, attention, who, "the discriminator")   # (res[i]: block i's output size)
        if at is not None:
            blocks.insert(at + 1, SelfAttention(width))
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 1)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.label = LabelHead(label, num_classes, width, class_weight) if num_classes else None
        self.loss_terms = self.label.loss_terms if num_classes else ()
        if spectral:
            spectral_norm_all(self)

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        h = global_sum_pool(torch.relu(self.blocks(x)))
        score = self.head(h).squeeze(1)
        return score if y is None else self.label(score, h, y)


def build(sample_shape, latent_dim, g_width, d_width, num_classes, g_spectral, d_norm, d_extra, d_label,
          class_weight):
    return {
        "generator": ResNetGenerator(sample_shape, latent_dim, g_width, num_classes, spectral=g_spectral),
        "discriminator": ResNetDiscriminator(sample_shape, d_width, num_classes, d_norm, d_extra, label=d_label,
                                             class_weight=class_weight),
    }
