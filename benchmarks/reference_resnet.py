"""Plain-PyTorch ResNet GANs for the speed benchmark: SNGAN's generator and discriminator (Miyato et al. 2018,
app. B.4; the WGAN-GP ResNet's layout) and SAGAN's self-attention (Zhang et al. 2019), written here with torch
alone, module for module in the order ganzoo's ``resnet`` and ``sagan`` variants register theirs (so
``speed.copy_weights`` can give both the same weights). Unconditional; no ganzoo import."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _sn(m, on):
    return spectral_norm(m) if on else m


class Attention(nn.Module):
    def __init__(self, c, sn):
        super().__init__()
        self.query, self.key = _sn(nn.Conv2d(c, c // 8, 1, bias=False), sn), _sn(nn.Conv2d(c, c // 8, 1, bias=False), sn)
        self.value, self.out = _sn(nn.Conv2d(c, c // 2, 1, bias=False), sn), _sn(nn.Conv2d(c // 2, c, 1, bias=False), sn)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        n, c, h, w = x.shape
        beta = torch.softmax(torch.bmm(self.query(x).flatten(2).transpose(1, 2), self.key(x).flatten(2)), -1)
        o = torch.bmm(self.value(x).flatten(2), beta.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.out(o)


class Up(nn.Module):
    def __init__(self, c, sn):
        super().__init__()
        self.norm1, self.norm2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
        self.conv1, self.conv2 = _sn(nn.Conv2d(c, c, 3, 1, 1), sn), _sn(nn.Conv2d(c, c, 3, 1, 1), sn)

    def forward(self, x):
        h = F.interpolate(F.relu(self.norm1(x)), scale_factor=2.0)
        return self.conv2(F.relu(self.norm2(self.conv1(h)))) + F.interpolate(x, scale_factor=2.0)


class Down(nn.Module):
    def __init__(self, cin, cout, down, first):
        super().__init__()
        self.down, self.first = down, first
        self.conv1, self.conv2 = spectral_norm(nn.Conv2d(cin, cout, 3, 1, 1)), spectral_norm(nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = spectral_norm(nn.Conv2d(cin, cout, 1)) if (cin != cout or down) else None

    def forward(self, x):
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        h = F.avg_pool2d(h, 2) if self.down else h
        if self.shortcut is None:
            return h + x
        if self.first:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.down else s)


class Generator(nn.Module):
    """z -> linear -> width x base x base -> k up-blocks -> image; ``attention``: on the maps of that size."""

    def __init__(self, nz, nc, base, k, width, sn=False, attention=0):
        super().__init__()
        self.base, self.width = base, width
        self.linear = _sn(nn.Linear(nz, width * base * base), sn)
        blocks = [Up(width, sn) for _ in range(k)]
        if attention:
            blocks.insert([base * 2 ** i for i in range(k + 1)].index(attention), Attention(width, sn))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), _sn(nn.Conv2d(width, nc, 3, 1, 1), sn), nn.Tanh())

    def forward(self, z):
        h = self.linear(z).view(z.shape[0], self.width, self.base, self.base)
        for b in self.blocks:
            h = b(h)
        return self.out(h)


class Discriminator(nn.Module):
    """First block (down), down-blocks while larger than 8 x 8, ``extra`` plain blocks, ReLU, sum, linear;
    ``attention``: after the first block whose maps have that size."""

    def __init__(self, nc, size, width, extra, attention=0):
        super().__init__()
        blocks, res = [Down(nc, width, True, True)], [size // 2]
        while res[-1] > 8 and res[-1] % 2 == 0:
            blocks.append(Down(width, width, True, False))
            res.append(res[-1] // 2)
        blocks += [Down(width, width, False, False) for _ in range(extra)]
        if attention:
            blocks.insert(res.index(attention) + 1, Attention(width, True))
        self.blocks = nn.Sequential(*blocks)
        self.head = spectral_norm(nn.Linear(width, 1))

    def forward(self, x):
        return self.head(F.relu(self.blocks(x)).sum((2, 3))).squeeze(1)
