"""Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2019). Public through
:mod:`ganzoo.layers`."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class SelfAttention(nn.Module):
    """SAGAN's self-attention block on (N, C, H, W) feature maps (Zhang et al. 2019, sec. 3):

    query ``f(x)`` and key ``g(x)`` are 1x1 convolutions to C/8 channels, value ``h(x)`` a 1x1 convolution to
    C/2 channels; ``beta[j, i] = softmax over i of f(x_j) . g(x_i)`` is how much output position j attends to
    position i; the attended values ``o_j = v(sum_i beta[j, i] h(x_i))`` go back to C channels through a
    last 1x1 convolution ``v``, and the block returns ``x + gamma * o``. ``gamma`` is learned and starts at 0,
    so the network first relies on local convolutions and brings in distant positions as it learns (the
    paper's reasoning). The value and output widths (C/2, then C) follow the authors' code; the paper's
    keys are not max-pooled here (every position attends to every position). ``spectral`` normalises the
    four convolutions (SAGAN does so in G and D).

    ``record = True`` keeps the last forward's attention map, detached, in :attr:`attention`: (N, H*W
    queries, H*W keys), each row a distribution over the positions (row-major, position ``r * W + c``).
    Off by default; the forward is otherwise pure (traceable)."""

    def __init__(self, channels: int, *, spectral: bool = False):
        super().__init__()
        inner, value = max(1, channels // 8), max(1, channels // 2)

        def conv(cin, cout):
            c = nn.Conv2d(cin, cout, 1, bias=False)
            nn.init.xavier_uniform_(c.weight)
            return spectral_norm(c) if spectral else c

        self.query, self.key, self.value, self.out = conv(channels, inner), conv(channels, inner), \
            conv(channels, value), conv(value, channels)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.record = False
        self.attention: torch.Tensor | None = None

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H*W, H*W): for each query position (rows), its softmax weights over the key positions."""
        q = self.query(x).flatten(2)                     # (N, C/8, HW)
        k = self.key(x).flatten(2)
        return torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        beta = self.attention_map(x)                     # (N, HW queries, HW keys)
        v = self.value(x).flatten(2)                     # (N, C/2, HW)
        o = torch.bmm(v, beta.transpose(1, 2)).view(n, -1, h, w)
        if self.record:
            self.attention = beta.detach()
        return x + self.gamma * self.out(o)
