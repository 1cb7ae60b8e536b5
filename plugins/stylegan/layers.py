"""StyleGAN2's layers (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), in plain
PyTorch: nothing to compile, so they run on CPU, CUDA and MPS alike.

* equalised learning rate: :class:`EqualLinear`, :class:`EqualConv2d` keep N(0, 1) weights and scale them by
  He's constant at run time (``lr_mul`` slows a layer down: the mapping network's 0.01);
* :func:`normalize` (the pixel norm of z), :func:`lrelu` (leaky ReLU 0.2 times sqrt(2), after the bias);
* :class:`ModulatedConv2d`: a convolution whose input channels are scaled by a style and whose output is
  demodulated (each output channel's weights to unit norm), per sample -- as one grouped convolution with a
  weight per sample (``fused=True``, the paper's implementation) or, equivalently, by scaling the
  activations around one shared convolution (``fused=False``, StyleGAN2-ADA's training path; a dynamic
  batch for ONNX and faster on a CPU);
* :class:`StyledConv` (modulated 3x3 convolution, per-pixel noise with a learned strength, bias, lrelu; an
  optional bilinear 2x upsampling first) and :class:`ToRGB` (a modulated 1x1 convolution without
  demodulation, whose output is added to the upsampled image of the resolution below: the skip generator).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def normalize(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``x`` over the root mean square of its last dimension (StyleGAN's pixel norm of z)."""
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def lrelu(x: torch.Tensor, bias=None) -> torch.Tensor:
    """``leaky_relu(x + bias, 0.2) * sqrt(2)`` (the gain keeps the activations' scale); ``bias`` per channel."""
    if bias is not None:
        x = x + (bias.view(1, -1, 1, 1) if x.dim() == 4 else bias)
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    """A linear layer with an equalised learning rate: weight ~ N(0, 1) / lr_mul, used as weight * lr_mul /
    sqrt(in); the bias (``bias_init``) is used times lr_mul. ``act``: :func:`lrelu` after it."""

    def __init__(self, in_dim: int, out_dim: int, *, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(in_dim), lr_mul, act

    def forward(self, x):
        if self.act:
            return lrelu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """A convolution with an equalised learning rate (weight ~ N(0, 1), used as weight / sqrt(fan in)), 'same'
    padding; ``act``: :func:`lrelu` after the bias; ``bias=False``: none."""

    def __init__(self, in_ch: int, out_ch: int, k: int, *, bias: bool = True, act: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, k, k))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale, self.pad, self.act = 1 / math.sqrt(in_ch * k * k), k // 2, act

    def forward(self, x):
        out = F.conv2d(x, self.weight * self.scale, padding=self.pad)
        if self.act:
            return lrelu(out, self.bias)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution: per sample, weight_oikl * s_i (the style ``s = affine(w)``, bias 1),
    then, with ``demodulate``, each output channel's weights scaled to unit norm (1 / sqrt(sum s_i^2 w_oikl^2 +
    1e-8)). ``fused``: one grouped convolution with a weight per sample; else the input scaled by s, one
    shared convolution, the output scaled by the demodulation -- the same function."""

    def __init__(self, in_ch: int, out_ch: int, k: int, w_dim: int, *, demodulate: bool = True, fused: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, k, k))
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.scale, self.pad, self.demodulate, self.fused = 1 / math.sqrt(in_ch * k * k), k // 2, demodulate, fused

    def forward(self, x, w):
        n, c, h, wd = x.shape
        s = self.affine(w)                                          # (N, in)
        weight = self.weight * self.scale                           # (out, in, k, k)
        if self.fused:
            wt = weight.unsqueeze(0) * s.view(n, 1, c, 1, 1)        # (N, out, in, k, k)
            if self.demodulate:
                wt = wt * torch.rsqrt(wt.square().sum((2, 3, 4)) + 1e-8).view(n, -1, 1, 1, 1)
            out = F.conv2d(x.reshape(1, n * c, h, wd), wt.reshape(-1, c, *weight.shape[2:]), padding=self.pad,
                           groups=n)
            return out.reshape(n, -1, h, wd)
        out = F.conv2d(x * s.view(n, c, 1, 1), weight, padding=self.pad)
        if self.demodulate:                                         # sum_i s_i^2 sum_kl w_oikl^2, per sample
            out = out * torch.rsqrt(s.square() @ weight.square().sum((2, 3)).t() + 1e-8).view(n, -1, 1, 1)
        return out


class StyledConv(nn.Module):
    """(bilinear 2x upsampling, with ``up``) -> :class:`ModulatedConv2d` 3x3 -> + strength * noise (one value per
    pixel, shared by the channels; the strength is learned, from 0) -> bias, :func:`lrelu`."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, *, up: bool = False, fused: bool = False):
        super().__init__()
        self.up = up
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, fused=fused)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x, w, noise=None):
        """``noise``: a (1 or N, 1, H, W) tensor, ``"random"`` (drawn now from the global RNG on the device) or
        None / ``"none"`` (no noise)."""
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = self.conv(x, w)
        if isinstance(noise, str):
            noise = torch.randn_like(out[:, :1]) if noise == "random" else None
        if noise is not None:
            out = out + self.noise_strength * noise
        return lrelu(out, self.bias)


class ToRGB(nn.Module):
    """A modulated 1x1 convolution to the image channels (no demodulation) plus a bias, added to the image
    ``skip`` of the resolution below, upsampled bilinearly (StyleGAN2's skip generator)."""

    def __init__(self, in_ch: int, channels: int, w_dim: int, *, fused: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, channels, 1, w_dim, demodulate=False, fused=fused)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x, w, skip=None):
        out = self.conv(x, w) + self.bias.view(1, -1, 1, 1)
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out
