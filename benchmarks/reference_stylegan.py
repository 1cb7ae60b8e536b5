"""A plain-PyTorch StyleGAN2-lite and its training step for the speed benchmark, written here with torch alone
(no ganzoo import): the networks of ganzoo's ``stylegan`` variant -- mapping network, modulated and demodulated
3x3 convolutions with per-pixel noise, skip ToRGB outputs, a residual D with the minibatch standard deviation --
with their tensors registered in the variant's order (so ``speed.copy_weights`` can give both the same
weights), and :class:`StyleLoop`, the step a StyleGAN2 user writes: style mixing with probability 0.9, the
non-saturating loss on logits, lazy R1 every 16 D steps with 16 times gamma, the tracked average w, Adam
(0.002, betas (0, 0.99)). Unconditional."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

G2 = math.sqrt(2.0)


def act(x, b):
    """Leaky ReLU 0.2 times sqrt 2 after the bias (per channel of a feature map, per feature of a vector)."""
    return F.leaky_relu(x + (b.view(1, -1, 1, 1) if x.dim() == 4 else b), 0.2) * G2


class Linear(nn.Module):
    def __init__(self, i, o, lr_mul=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = nn.Parameter(torch.full((o,), bias_init))
        self.c, self.m = lr_mul / math.sqrt(i), lr_mul


class ModConv(nn.Module):
    def __init__(self, i, o, k, w_dim, demod=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.affine = Linear(w_dim, i, bias_init=1.0)
        self.c, self.demod = 1 / math.sqrt(i * k * k), demod

    def forward(self, x, w):
        s = F.linear(w, self.affine.weight * self.affine.c, self.affine.bias)
        wt = self.weight * self.c
        y = F.conv2d(x * s[:, :, None, None], wt, padding=wt.shape[-1] // 2)
        if self.demod:
            y = y * torch.rsqrt(s.square() @ wt.square().sum((2, 3)).t() + 1e-8)[:, :, None, None]
        return y


class Layer(nn.Module):
    def __init__(self, i, o, w_dim, up=False):
        super().__init__()
        self.up = up
        self.conv = ModConv(i, o, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(o))

    def forward(self, x, w):
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = self.conv(x, w)
        return act(y + self.noise_strength * torch.randn_like(y[:, :1]), self.bias)


class RGB(nn.Module):
    def __init__(self, i, ch, w_dim):
        super().__init__()
        self.conv = ModConv(i, ch, 1, w_dim, demod=False)
        self.bias = nn.Parameter(torch.zeros(ch))

    def forward(self, x, w, skip):
        y = self.conv(x, w) + self.bias[None, :, None, None]
        return y if skip is None else y + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)


class Mapping(nn.Module):
    def __init__(self, z_dim, w_dim, layers):
        super().__init__()
        self.net = nn.ModuleList([Linear(z_dim if i == 0 else w_dim, w_dim, lr_mul=0.01) for i in range(layers)])

    def forward(self, z):
        x = z * torch.rsqrt(z.square().mean(-1, keepdim=True) + 1e-8)
        for lin in self.net:
            x = act(F.linear(x, lin.weight * lin.c), lin.bias * lin.m)
        return x


class Generator(nn.Module):
    def __init__(self, z_dim, w_dim, layers, channels, base, k, width):
        super().__init__()
        c = [max(width >> i, 8) for i in range(k + 1)]
        self.const = nn.Parameter(torch.randn(1, c[0], base, base))
        for i, s in enumerate([base] + [base * 2 ** (i // 2 + 1) for i in range(2 * k)]):
            self.register_buffer(f"noise_{i}", torch.randn(1, 1, s, s))
        self.register_buffer("w_avg", torch.zeros(1, w_dim))
        self.mapping = Mapping(z_dim, w_dim, layers)
        self.convs = nn.ModuleList([Layer(c[0], c[0], w_dim)])
        self.rgbs = nn.ModuleList([RGB(c[0], channels, w_dim)])
        for a, b in zip(c, c[1:]):
            self.convs.extend([Layer(a, b, w_dim, up=True), Layer(b, b, w_dim)])
            self.rgbs.append(RGB(b, channels, w_dim))
        self.num_ws = 2 + 2 * k

    def forward(self, ws):
        """Images from per-layer styles ws (N, num_ws, w_dim)."""
        x, img = self.const.expand(ws.shape[0], -1, -1, -1), None
        for i, conv in enumerate(self.convs):
            x = conv(x, ws[:, i])
            if i % 2 == 0:
                img = self.rgbs[i // 2](x, ws[:, i + 1], img)
        return img


class Conv(nn.Module):
    def __init__(self, i, o, k, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o)) if bias else None
        self.c = 1 / math.sqrt(i * k * k)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.c, padding=self.weight.shape[-1] // 2)


class Block(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv1, self.conv2, self.skip = Conv(i, i, 3), Conv(i, o, 3), Conv(i, o, 1, bias=False)

    def forward(self, x):
        y = act(self.conv2(act(self.conv1(x), self.conv1.bias)), self.conv2.bias)
        return (F.avg_pool2d(y, 2) + self.skip(F.avg_pool2d(x, 2))) / G2


class Discriminator(nn.Module):
    def __init__(self, channels, base, k, width):
        super().__init__()
        c = [max(width >> i, 8) for i in range(k + 1)][::-1]
        self.from_rgb = Conv(channels, c[0], 1)
        self.blocks = nn.Sequential(*[Block(a, b) for a, b in zip(c, c[1:])])
        self.conv = Conv(width + 1, width, 3)
        self.fc, self.out = Linear(width * base * base, width), Linear(width, 1)

    def forward(self, x):
        h = self.blocks(act(self.from_rgb(x), self.from_rgb.bias))
        n = h.shape[0]
        g = torch.arange(n, device=h.device) // 4                           # groups of 4 consecutive samples
        same = (g[None] == g[:, None]).to(h.dtype)
        flat = h.reshape(n, -1)
        dev = flat - same @ flat / same.sum(1, keepdim=True)
        std = torch.sqrt(same @ dev.square() / same.sum(1, keepdim=True) + 1e-8).mean(1)
        h = act(self.conv(torch.cat([h, std.view(n, 1, 1, 1).expand(-1, 1, *h.shape[2:])], 1)), self.conv.bias)
        h = act(F.linear(h.flatten(1), self.fc.weight * self.fc.c), self.fc.bias)
        return F.linear(h, self.out.weight * self.out.c, self.out.bias).squeeze(1)


class StyleLoop:
    """One StyleGAN2 iteration: D on real and on G(z) (styles mixed with probability 0.9 at a random layer),
    softplus losses, R1 every 16th step with 16 x gamma / 2; then G through D on the same fake batch. The
    random numbers are drawn in the engine's order (z, second z, mixing coin, crossover, per-layer noise)."""

    def __init__(self, G, D, *, nz, batch, data, gamma=0.1, every=16, mixing=0.9, device="cpu", **_):
        self.dev = torch.device(device)
        self.G, self.D, self.nz, self.batch = G.to(self.dev), D.to(self.dev), nz, batch
        self.gamma, self.every, self.mixing, self.i = gamma, every, mixing, 0
        self.optG = torch.optim.Adam(G.parameters(), lr=0.002, betas=(0.0, 0.99))
        self.optD = torch.optim.Adam(D.parameters(), lr=0.002, betas=(0.0, 0.99))
        self.data = data.to(self.dev) * 2 - 1
        G.train()
        D.train()

    def next_real(self):
        n = self.data.shape[0] // self.batch
        j = self.i % n
        return self.data[j * self.batch:(j + 1) * self.batch]

    def styles(self):
        b, L, G = self.batch, self.G.num_ws, self.G
        z1, z2 = torch.randn(b, self.nz, device=self.dev), torch.randn(b, self.nz, device=self.dev)
        mixed = torch.rand(b, device=self.dev) < self.mixing
        cross = torch.where(mixed, torch.randint(L - 1, (b,), device=self.dev) + 1, torch.full_like(mixed, L,
                                                                                                dtype=torch.long))
        z = torch.where((torch.arange(L, device=self.dev)[None] >= cross[:, None])[..., None], z2[:, None], z1[:, None])
        w = G.mapping(z)
        with torch.no_grad():
            G.w_avg.copy_(w[:, 0].mean(0, keepdim=True).lerp(G.w_avg, 0.995))
        return w

    def step(self, real=None):
        G, D = self.G, self.D
        real = self.next_real() if real is None else real
        fake = G(self.styles())
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        if self.i % self.every == 0:
            x = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            d_loss = d_loss + self.every * self.gamma / 2 * grad.flatten(1).square().sum(1).mean()
        self.optD.zero_grad(set_to_none=True)
        d_loss.backward()
        self.optD.step()
        D.requires_grad_(False)
        g_loss = F.softplus(-D(fake)).mean()
        self.optG.zero_grad(set_to_none=True)
        g_loss.backward()
        D.requires_grad_(True)
        self.optG.step()
        self.i += 1
        return float(d_loss.detach()), float(g_loss.detach())
