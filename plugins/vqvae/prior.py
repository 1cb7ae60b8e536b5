"""The VQ-VAE's prior: a gated PixelCNN over the grid of code indices (van den Oord et al. 2016, "Conditional
Image Generation with PixelCNN Decoders"), fitted to the codes of the trained autoencoder in the second stage.

p(k) = prod over positions (raster order) of p(k_ij | the codes before it). Each gated layer has a vertical stack
(what lies in the rows above) and a horizontal stack (what lies to the left in the row), with
``tanh(a) * sigmoid(b)`` gates; the first layer's masks exclude the position itself, which keeps the
stacks free of the blind spot of a plain masked convolution:

* vertical: a (k//2 + 1, k) convolution whose output row i sees input rows i - k//2 .. i; the first layer zeroes
  the kernel's last row, so the vertical stack at row i only ever sees rows < i;
* horizontal: a (1, k//2 + 1) convolution whose output column j sees columns j - k//2 .. j of its own row; the
  first layer zeroes the kernel's last column (so: columns < j) and has no residual connection; every layer
  adds a 1x1 convolution of the vertical stack at the same row (rows < i).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Prior
from ganzoo.sampling import RandomSource, SamplingOption


class GatedLayer(nn.Module):
    def __init__(self, width: int, kernel: int, first: bool):
        super().__init__()
        self.first, k = first, kernel
        self.v = nn.Conv2d(width, 2 * width, (k // 2 + 1, k), padding=(k // 2, k // 2))
        self.v2h = nn.Conv2d(2 * width, 2 * width, 1)
        self.h = nn.Conv2d(width, 2 * width, (1, k // 2 + 1), padding=(0, k // 2))
        self.h_out = nn.Conv2d(width, width, 1)
        vmask, hmask = torch.ones_like(self.v.weight), torch.ones_like(self.h.weight)
        if first:   # the position itself is not an input to its own prediction
            vmask[:, :, -1] = 0
            hmask[:, :, :, -1] = 0
        self.register_buffer("vmask", vmask, persistent=False)
        self.register_buffer("hmask", hmask, persistent=False)

    @staticmethod
    def gate(x):
        a, b = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def vertical(self, xv, rows_padded: bool = False):
        """The vertical stack's pre-activation (N, 2 width, h, w) of ``xv``: row i from rows i - k//2 .. i. With
        ``rows_padded``, ``xv`` already holds the k//2 rows above its first output row (no row padding)."""
        pad = (0, self.v.padding[1]) if rows_padded else self.v.padding
        return F.conv2d(xv, self.v.weight * self.vmask, self.v.bias, padding=pad)[:, :, :xv.shape[-2]]

    def horizontal(self, xh, v2h):
        """The horizontal stack's output from its input ``xh`` and ``v2h`` = ``self.v2h(v)`` of the same rows."""
        w = xh.shape[-1]
        hz = F.conv2d(xh, self.h.weight * self.hmask, self.h.bias, padding=self.h.padding)[:, :, :, :w]
        out = self.h_out(self.gate(hz + v2h))
        return out if self.first else out + xh

    def forward(self, xv, xh):
        v = self.vertical(xv)
        return self.gate(v), self.horizontal(xh, self.v2h(v))


TEMPERATURE = SamplingOption("divide the PixelCNN's logits by T before each code is drawn (T < 1: likelier, "
                             "less varied samples; 1, the default: the fitted distribution)", low=0.0, low_open=True,
                             high=10.0)


class CodePrior(Prior):
    """A gated PixelCNN over the decoder's (grid x grid) code indices: ``forward(idx)`` gives the logits
    (N, codes, grid, grid) of each position given the codes before it; ``loss`` is the negative log-likelihood
    of the codes the frozen autoencoder gives a batch (nats per image); ``sample_latent`` draws codes position
    by position (:meth:`draw_codes`) and returns their codebook vectors, the decoder's latent."""

    sampling_options = MappingProxyType({"temperature": TEMPERATURE})

    def __init__(self, latent_dim, sample_shape, codes, grid, width, layers, kernel=3):
        super().__init__(latent_dim, sample_shape)
        if layers < 1 or width < 1:
            raise ConfigError(f"the prior needs prior_layers >= 1 and prior_width >= 1, not {layers} and {width}")
        self.codes, self.grid_size, self.reach = int(codes), int(grid), kernel // 2
        self.embed = nn.Embedding(codes, width)
        self.layers = nn.ModuleList([GatedLayer(width, kernel, i == 0) for i in range(layers)])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(width, width, 1), nn.ReLU(), nn.Conv2d(width, codes, 1))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx).permute(0, 3, 1, 2)
        xv = xh = x
        for layer in self.layers:
            xv, xh = layer(xv, xh)
        return self.head(xh)

    def loss(self, model, x, y=None):
        self.check_labels(y, x.shape[0])
        with torch.no_grad():
            idx = model.generator.codes(model.encoder(x))
        nll = F.cross_entropy(self(idx), idx, reduction="none").flatten(1).sum(1)
        return nll.mean(), {"nll": nll.detach().mean()}

    @torch.no_grad()
    def sample_latent(self, generator, n: int, *, rng: RandomSource, temperature: Optional[float] = None):
        return generator.embed_codes(self.draw_codes(n, rng=rng, temperature=temperature))

    @torch.no_grad()
    def draw_codes(self, n: int, *, rng: Optional[RandomSource] = None, temperature: Optional[float] = None,
                   logits_seen=None) -> torch.Tensor:
        """``n`` code grids (n, grid, grid), drawn position by position in raster order, each from the logits
        :meth:`forward` gives it -- computed row by row instead: a vertical stack's row i sees only rows < i, so
        each row's vertical stacks are computed once, when the rows above are drawn, and each position's
        horizontal stacks on its row up to it (about 20 times less work than a whole forward per position).
        ``rng``: the draw's random numbers (None: torch's global RNG on the CPU); ``temperature``: each
        position's logits are divided by it (1, the default: the fitted distribution). ``logits_seen(i, j,
        logits)``: called with each position's logits (tests compare them with forward)."""
        g, r, dev = self.grid_size, self.reach, self.embed.weight.device
        rng = rng if rng is not None else RandomSource(None, "cpu")
        scale = 1.0 / (temperature or 1.0)
        idx = torch.zeros(n, g, g, dtype=torch.long, device=dev)
        width = self.embed.embedding_dim
        xv = [torch.zeros(n, width, g + r, g, device=dev) for _ in self.layers]   # r zero rows above row 0
        for i in range(g):
            v2h = []
            for k, layer in enumerate(self.layers):      # the vertical stacks of row i, from rows i - r .. i
                v = layer.vertical(xv[k][:, :, i:i + r + 1], rows_padded=True)
                v2h.append(layer.v2h(v))
                if k + 1 < len(self.layers):
                    xv[k + 1][:, :, i + r] = layer.gate(v)[:, :, 0]
            for j in range(g):      # columns 0 .. j of row i (j not yet drawn: code 0; column j sees columns < j)
                xh = self.embed(idx[:, i, :j + 1]).permute(0, 2, 1)[:, :, None]
                for layer, hv in zip(self.layers, v2h):
                    xh = layer.horizontal(xh, hv[..., :j + 1])
                logits = self.head(xh[..., j:])[:, :, 0, 0]
                if logits_seen is not None:
                    logits_seen(i, j, logits)
                idx[:, i, j] = pick(logits * scale, rng)
            xv[0][:, :, i + r] = self.embed(idx[:, i]).permute(0, 2, 1)
        return idx


def pick(logits: torch.Tensor, rng: RandomSource) -> torch.Tensor:
    """One category per row of ``logits`` (n, K), drawn by the inverse CDF of softmax(logits) (in float64, on
    ``rng``'s draw device) at one uniform of ``rng`` per row: a seeded ``rng`` gives the same draw on any device."""
    p = torch.softmax(logits.double(), 1).to(rng.draw_device)
    u = torch.rand(p.shape[0], 1, generator=rng.generator, device=rng.draw_device, dtype=torch.float64)
    choice = (p.cumsum(1) < u * p.sum(1, keepdim=True)).sum(1).clamp_(max=p.shape[1] - 1)
    return choice.to(logits.device)
