"""StyleGAN2-lite (Karras et al. 2020) for small square images: a mapping network z -> w, a synthesis network
from a learned constant through modulated convolutions with per-pixel noise to an image built by skip
outputs, and a residual discriminator with a minibatch standard deviation. Read with rosinality's
stylegan2-pytorch and StyleGAN2-ADA; where this differs (bilinear resampling instead of the [1, 3, 3, 1] FIR
filters, average pooling in D's blocks, consecutive groups in the minibatch deviation) it says so.

The generator owns its latents (the ganzoo contract): :meth:`StyleGenerator.sample_latent` draws z, and in
training two of them with a crossover point (style mixing, probability ``mixing``); the sampling options are
``truncation`` (w = w_avg + psi (w - w_avg), w_avg the tracked mean of the mapping network's output, per class
for a conditional model) and ``noise`` (``const``: the fixed per-pixel noise buffers, so the same seed gives
the same samples; ``none``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.layers import D_LABELS, LabelHead, conv_plan, one_hot
from ganzoo.objectives.regularisers import PathLength, Regulariser
from ganzoo.sampling import RandomSource, SamplingOption

from .layers import EqualConv2d, EqualLinear, StyledConv, ToRGB, normalize

SAMPLING = {
    "truncation": SamplingOption("w = w_avg + psi (w - w_avg), w_avg the tracked mean w (of the class): 1 the plain "
                                 "samples, 0 every sample the average; 0.5-0.8 trade variety for typical samples",
                                 default=1.0, low=-1.0, high=2.0),
    "noise": SamplingOption("the per-pixel noise: const (fixed buffers: same seed, same samples) or none",
                            type="str", default="const", choices=("const", "none")),
}


OUTPUTS = ("linear", "tanh")


def _square(sample_shape):
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
        raise ConfigError(f"stylegan needs square images [C, S, S], not {list(sample_shape)}")
    return sample_shape[0], sample_shape[1]


def _widths(width: int, k: int, who: str) -> list:
    """Channels from the base resolution up: ``width``, halved at each doubling (at least 8)."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 8:
        raise ConfigError(f"stylegan: {who} must be a whole number >= 8 (channels at the base resolution), "
                          f"not {width!r}")
    return [max(width >> i, 8) for i in range(k + 1)]


def _number(name, value, lo, hi, *, integer=False):
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float)) and lo <= value <= hi
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"stylegan: {name} must be {kind} in [{lo}, {hi}], not {value!r}")
    return value


class Mapping(nn.Module):
    """z (and, class-conditional, the embedded label) -> w: pixel norm, then ``layers`` equalised linear layers
    with lrelu at 1/100 of the learning rate. z may be (N, z_dim) or per-layer (N, L, z_dim)."""

    def __init__(self, z_dim, w_dim, layers, num_classes=0):
        super().__init__()
        self.embed = EqualLinear(num_classes, z_dim) if num_classes else None
        dims = [z_dim * (2 if num_classes else 1)] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=0.01, act=True) for a, b in zip(dims, dims[1:])])
        self.num_classes = num_classes

    def forward(self, z, y=None):
        x = normalize(z)
        if self.embed is not None:    # StyleGAN2-ADA: the normalised label embedding beside the normalised z
            e = normalize(self.embed(one_hot(y, self.num_classes, z.dtype)))
            x = torch.cat([x, e.unsqueeze(1).expand(-1, z.shape[1], -1) if z.dim() == 3 else e], -1)
        return self.net(x)


class StyleGenerator(Generator):
    """Mapping network z -> w; synthesis from a learned constant of base x base (7 for 28 px, 4 for 32 px) with
    one :class:`StyledConv` at the base, then per doubling an upsampling StyledConv and a StyledConv, each
    resolution's :class:`ToRGB` added to the image so far. ``num_ws`` = 2 + 2 * doublings styles: w_0 the base
    conv, w_1 its ToRGB, then per doubling (up conv, conv, ToRGB) the next three, overlapping by one as in
    StyleGAN2. ``output``: ``linear`` (StyleGAN2's; clamped to [-1, 1] outside training) or ``tanh`` (bounded in
    training too: on MNIST, whose pixels sit mostly at exactly -1 and 1, a linear output collapsed to one image
    in every run tried, a tanh output did not -- docs/zoo-notes.md)."""

    sampling_options = SAMPLING

    def __init__(self, sample_shape, latent_dim=64, w_dim=64, mapping_layers=4, width=128, num_classes=0,
                 mixing=0.9, pl=0.0, pl_every=4, fused=False, w_avg_beta=0.995, output="linear"):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=(-1.0, 1.0))
        if output not in OUTPUTS:
            raise ConfigError(f"stylegan: output must be {' or '.join(OUTPUTS)}, not {output!r}")
        self.tanh = output == "tanh"
        channels, size = _square(self.sample_shape)
        base, k = conv_plan(size)
        widths = _widths(width, k, "g_width")
        self.w_dim, self.mixing, self.w_avg_beta = int(w_dim), float(mixing), float(w_avg_beta)
        self.num_ws = 2 + 2 * k
        self.mapping = Mapping(latent_dim, w_dim, mapping_layers, num_classes)
        self.const = nn.Parameter(torch.randn(1, widths[0], base, base))
        self.convs = nn.ModuleList([StyledConv(widths[0], widths[0], w_dim, fused=fused)])
        self.rgbs = nn.ModuleList([ToRGB(widths[0], channels, w_dim, fused=fused)])
        for a, b in zip(widths, widths[1:]):
            self.convs.extend([StyledConv(a, b, w_dim, up=True, fused=fused), StyledConv(b, b, w_dim, fused=fused)])
            self.rgbs.append(ToRGB(b, channels, w_dim, fused=fused))
        sizes = [base] + [base * 2 ** (i // 2 + 1) for i in range(2 * k)]    # each StyledConv's output size
        for i, s in enumerate(sizes):   # the sampling noise: fixed, drawn with the model (saved with the weights)
            self.register_buffer(f"noise_{i}", torch.randn(1, 1, s, s))
        self.register_buffer("w_avg", torch.zeros(max(num_classes, 1), w_dim))
        self.loss_terms = [PathLength(pl, every=pl_every, in_w=True)] if pl else []

    # -- the latent and the options ------------------------------------------------------------------------
    def sample_latent(self, n, *, seed=None, device=None, training=False, truncation=None, noise=None):
        """z ~ N(0, I), (n, latent_dim). ``training=True`` with ``mixing`` > 0: per-layer latents (n, num_ws,
        latent_dim) -- with probability ``mixing`` the layers from a crossover point drawn uniformly in
        1..num_ws-1 take a second z (style mixing regularisation), else all layers the first. The options act
        in :meth:`generate` (truncation in w, never on z)."""
        rng = RandomSource(seed, device, module=self)
        z = rng.randn(int(n), self.latent_dim)
        if not training or not self.mixing:
            return z
        z2 = rng.randn(int(n), self.latent_dim)
        mixed = rng.rand(int(n)) < self.mixing
        cross = torch.where(mixed, rng.randint(self.num_ws - 1, (int(n),)) + 1, torch.full_like(mixed, self.num_ws,
                                                                                             dtype=torch.long))
        second = torch.arange(self.num_ws, device=z.device).unsqueeze(0) >= cross.unsqueeze(1)   # (n, L)
        return torch.where(second.unsqueeze(2), z2.unsqueeze(1), z.unsqueeze(1))

    def generate(self, z, y=None, truncation=None, noise="const", **options):
        return self(z, y, truncation=truncation, noise=noise)

    # -- the networks ----------------------------------------------------------------------------------------
    def forward(self, z, y=None, truncation=None, noise=None, return_w=False):
        """Images from z (N, latent_dim) or per-layer latents (N, num_ws, latent_dim). ``truncation`` psi (a
        number or a 0-dim tensor, e.g. an ONNX input): w = lerp(w_avg, w, psi), exactly w at 1 and w_avg at 0.
        ``noise``: ``random`` (the default in training), ``const`` (the default otherwise) or ``none``.
        ``return_w``: also the (N, num_ws, w_dim) styles used (for the path length in w)."""
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            y = y.to(z.device)
        w = self.mapping(z, y)
        if self.training:
            self._track(w[:, 0] if w.dim() == 3 else w, y)
        if truncation is not None:
            avg = self.w_avg[y] if y is not None else self.w_avg[:1].expand(w.shape[0], -1)
            w = torch.lerp(avg.unsqueeze(1) if w.dim() == 3 else avg, w, truncation)
        ws = w if w.dim() == 3 else w.unsqueeze(1).expand(-1, self.num_ws, -1)
        x = self.synthesis(ws, noise or ("random" if self.training else "const"))
        if not self.training:
            x = x.clamp(-1.0, 1.0)
        return (x, ws) if return_w else x

    def synthesis(self, ws, noise: str):
        """The image from per-layer styles ``ws`` (N, num_ws, w_dim): conv i takes w_i, the ToRGB after it w_i+1.
        ``noise``: ``random`` (drawn from the global RNG on the device), ``const`` (the buffers) or ``none``."""
        if noise not in ("random", "const", "none"):
            raise ConfigError(f"stylegan: noise must be random, const or none, not {noise!r}")
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        img = None
        for i, conv in enumerate(self.convs):
            x = conv(x, ws[:, i], getattr(self, f"noise_{i}") if noise == "const" else noise)
            if i % 2 == 0:       # the base conv, then each doubling's second conv: that resolution's image
                img = self.rgbs[i // 2](x, ws[:, i + 1], img)
        return torch.tanh(img) if self.tanh else img

    @torch.no_grad()
    def _track(self, w, y):
        """w_avg <- mean(w) + beta (w_avg - mean(w)) over the batch (each class's own, for the classes in it)."""
        if y is None:
            self.w_avg.copy_(w.mean(0, keepdim=True).lerp(self.w_avg, self.w_avg_beta))
            return
        hot = one_hot(y, self.num_classes, w.dtype)               # (N, C): no host sync (a CUDA graph replays it)
        count = hot.sum(0).unsqueeze(1)
        mean = (hot.t() @ w) / count.clamp(min=1.0)
        self.w_avg.copy_(torch.where(count > 0, mean.lerp(self.w_avg, self.w_avg_beta), self.w_avg))


class DBlock(nn.Module):
    """3x3 conv, 3x3 conv to ``out``, 2x average pooling, beside a 1x1 conv of the pooled input; their sum over
    sqrt(2) (StyleGAN2's residual D block; it blurs and strides, this pools)."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1, self.conv2 = EqualConv2d(in_ch, in_ch, 3), EqualConv2d(in_ch, out_ch, 3)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False, act=False)

    def forward(self, x):
        out = F.avg_pool2d(self.conv2(self.conv1(x)), 2)
        return (out + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


def minibatch_stddev(x, group: int = 4):
    """StyleGAN's minibatch standard deviation, one feature map: for consecutive groups of ``group`` samples
    (the last group smaller when the batch does not divide), the standard deviation of each feature over the
    group, averaged over features, for every member. Written with a same-group matrix, so the batch size
    may be anything (an ONNX graph with a dynamic batch)."""
    n = x.shape[0]
    gid = torch.arange(n, device=x.device) // group
    same = (gid.unsqueeze(0) == gid.unsqueeze(1)).to(x.dtype)             # (N, N)
    count = same.sum(1, keepdim=True)
    flat = x.reshape(n, -1)
    dev = flat - (same @ flat) / count                                     # from the own group's mean
    std = torch.sqrt((same @ dev.square()) / count + 1e-8).mean(1)        # (N,)
    return torch.cat([x, std.view(n, 1, 1, 1).expand(-1, 1, *x.shape[2:])], 1)


class StyleDiscriminator(Discriminator):
    """fromRGB (1x1 conv) at full resolution, one :class:`DBlock` per halving down to the base, the minibatch
    standard deviation, a 3x3 conv, a linear layer to ``width`` features h and a linear score; a
    class-conditional D adds the label through a :class:`~ganzoo.layers.LabelHead` on h (projection or
    ACGAN). Channels double at each halving up to ``width`` at the base. ``r1`` > 0: lazy R1 on real data in
    D's loss (``loss_terms``: γ = r1, every ``r1_every`` D steps with that many times the weight)."""

    def __init__(self, sample_shape, width=128, num_classes=0, r1=0.0, r1_every=16, label="projection",
                 class_weight=1.0):
        super().__init__(sample_shape, num_classes)
        channels, size = _square(self.sample_shape)
        base, k = conv_plan(size)
        if label not in D_LABELS:
            raise ConfigError(f"stylegan: d_label must be {' or '.join(D_LABELS)}, not {label!r}")
        widths = _widths(width, k, "d_width")[::-1]                          # full resolution first
        self.from_rgb = EqualConv2d(channels, widths[0], 1)
        self.blocks = nn.Sequential(*[DBlock(a, b) for a, b in zip(widths, widths[1:])])
        self.conv = EqualConv2d(width + 1, width, 3)
        self.fc = EqualLinear(width * base * base, width, act=True)
        self.out = EqualLinear(width, 1)
        self.label = LabelHead(label, num_classes, width, class_weight) if num_classes else None
        terms = list(self.label.loss_terms) if self.label is not None else []
        self.loss_terms = ([Regulariser("r1", float(r1), every=int(r1_every))] if r1 else []) + terms

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        h = self.conv(minibatch_stddev(self.blocks(self.from_rgb(x))))
        h = self.fc(h.flatten(1))
        score = self.out(h).squeeze(1)
        return score if y is None else self.label(score, h, y.to(x.device))


def build(sample_shape, latent_dim, w_dim, mapping_layers, g_width, d_width, num_classes, mixing, r1, r1_every,
          pl, pl_every, fused_modconv, d_label, class_weight, output):
    _number("mixing", mixing, 0.0, 1.0)
    _number("r1", r1, 0.0, 1e6)
    _number("pl", pl, 0.0, 1e6)
    for key, value in (("latent_dim", latent_dim), ("w_dim", w_dim), ("mapping_layers", mapping_layers),
                       ("r1_every", r1_every), ("pl_every", pl_every)):
        _number(key, value, 1, 65536, integer=True)
    return {
        "generator": StyleGenerator(sample_shape, latent_dim, w_dim, mapping_layers, g_width, num_classes, mixing,
                                    pl, pl_every, fused_modconv, output=output),
        "discriminator": StyleDiscriminator(sample_shape, d_width, num_classes, r1, r1_every, d_label, class_weight),
    }
