"""The vector quantiser of a VQ-VAE (van den Oord et al. 2017) and the loss terms it calls for.

A codebook ``e`` of ``codes`` vectors of size ``dim``. Each vector ``z`` of the encoder's grid goes to its nearest
code ``k = argmin_j ||z - e_j||^2`` (ties: the lowest index); the decoder reads ``z + sg(e_k - z)``, which is
``e_k`` forward and passes the decoder's gradient straight through to ``z`` backward (sg: stop-gradient).

The codebook learns in one of two ways (``decay``):

* ``decay > 0`` -- exponential moving averages (the paper's appendix A.1), with ``n_j`` the number of the batch's
  vectors assigned to code j and ``m_j`` their sum::

      N_j <- decay N_j + (1 - decay) n_j        M_j <- decay M_j + (1 - decay) m_j
      e_j  = M_j / N~_j,   N~_j = (N_j + eps) / (sum_i N_i + codes eps) * sum_i N_i   (Laplace smoothing)

  starting from ``N_j = 1, M_j = e_j`` (so ``e`` is its initialisation until codes are used). A code whose
  ``N_j`` falls below ``restart`` (a dead code: fewer than about ``restart`` vectors a batch) is restarted at
  a vector of the batch drawn at random (``N_j = 1``, ``M_j = e_j = z``; Dhariwal et al. 2020's Jukebox);
* ``decay == 0`` -- ``e`` is a parameter trained by the codebook loss ``||sg(z) - e_k||^2`` (:class:`CodebookLoss`).

The commitment loss ``beta ||z - sg(e_k)||^2`` (:class:`Commitment`) keeps the encoder near its codes. Both
losses are per image: summed over the grid's vectors and their dimensions, averaged over the batch, as the
reconstruction loss is. The EMA update happens in :class:`Commitment`, after the reconstruction loss has used
the codebook and before the optimiser step -- once per training step, with the codes the loss used; nothing
else (sampling, evaluation, a decoder called in training mode) changes the codebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError


class VectorQuantiser(nn.Module):
    """``codes`` vectors of size ``dim`` (``embed``); EMA statistics ``cluster_size`` (N) and ``embed_sum`` (M)
    when ``decay > 0`` -- buffers, so checkpoints keep them and a resumed run is exact."""

    def __init__(self, codes: int, dim: int, decay: float = 0.99, restart: float = 1.0, eps: float = 1e-5):
        super().__init__()
        if codes < 2 or dim < 1:
            raise ConfigError(f"a codebook needs at least 2 codes of size >= 1, not {codes} of size {dim}")
        if not 0.0 <= decay < 1.0 or restart < 0:
            raise ConfigError(f"codebook decay must lie in [0, 1) (0: a codebook loss) and restart be >= 0, "
                              f"not {decay} and {restart}")
        self.codes, self.dim, self.decay, self.restart, self.eps = int(codes), int(dim), float(decay), float(restart), eps
        init = torch.empty(codes, dim).uniform_(-1.0 / codes, 1.0 / codes)
        self.embed = nn.Parameter(init, requires_grad=not self.ema)
        if self.ema:
            self.register_buffer("cluster_size", torch.ones(codes))
            self.register_buffer("embed_sum", init.clone())

    @property
    def ema(self) -> bool:
        return self.decay > 0

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """The index of the nearest code of each row of ``z`` (M, dim), squared Euclidean distance."""
        z = z.float()
        e = self.embed.detach().float()
        dist = z.square().sum(1, keepdim=True) - 2.0 * z @ e.t() + e.square().sum(1)[None]
        return dist.argmin(1)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """The codes ``e[idx]`` (idx of any shape; a trailing ``dim`` axis), differentiable in ``embed``."""
        return F.embedding(idx, self.embed)

    def quantise(self, z: torch.Tensor):
        """A grid ``z`` (N, dim, h, w) -> (its codes ``e_k`` (N, dim, h, w) with the codebook's gradient, the
        indices (N, h, w))."""
        n, d, h, w = z.shape
        idx = self.nearest(z.permute(0, 2, 3, 1).reshape(-1, d)).view(n, h, w)
        return self.lookup(idx).permute(0, 3, 1, 2).to(z.dtype), idx

    def straight_through(self, z: torch.Tensor) -> torch.Tensor:
        """``z + sg(e_k - z)``: the codes forward, the identity backward."""
        zq, _ = self.quantise(z)
        return z + (zq - z).detach()

    @torch.no_grad()
    def update(self, z: torch.Tensor, idx: torch.Tensor) -> None:
        """One EMA step on the vectors ``z`` (M, dim) assigned to codes ``idx`` (M,), then dead-code restarts
        (the formulas of the module docstring). Draws from torch's global generator when a code restarts."""
        z = z.detach().float()
        onehot = F.one_hot(idx, self.codes).to(z.dtype)
        self.cluster_size.lerp_(onehot.sum(0), 1.0 - self.decay)
        self.embed_sum.lerp_(onehot.t() @ z, 1.0 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codes * self.eps) * total
        self.embed.copy_(self.embed_sum / smoothed[:, None])
        dead = (self.cluster_size < self.restart).nonzero().flatten()
        if len(dead):
            pick = z[torch.randint(0, z.shape[0], (len(dead),), device=z.device)]
            self.embed[dead] = pick
            self.embed_sum[dead] = pick
            self.cluster_size[dead] = 1.0


def _grid_codes(step):
    """(the encoder's grid z (N, dim, h, w) of this step, its codes e_k, their indices) -- computed with the codebook
    the reconstruction loss used (the EMA update comes after)."""
    dec = step.generator
    z = dec.grid(step.encoded)
    zq, idx = dec.quantiser.quantise(z)
    return z, zq, idx


@dataclass(frozen=True)
class Commitment:
    """``beta ||z - sg(e_k)||^2`` per image (logged as ``commit``, unweighted); with an EMA codebook, then the
    codebook's EMA update on this batch (training mode only)."""

    beta: float = 0.25
    name = "commit"
    phases = ("ae",)

    def __call__(self, step):
        z, zq, idx = _grid_codes(step)
        value = (z - zq.detach()).square().flatten(1).sum(1).mean()
        vq = step.generator.quantiser
        if vq.ema and step.generator.training:
            vq.update(z.permute(0, 2, 3, 1).reshape(-1, vq.dim), idx.flatten())
        return self.beta * value, value


@dataclass(frozen=True)
class CodebookLoss:
    """``||sg(z) - e_k||^2`` per image: trains a codebook without EMA updates (``decay=0``); logged as ``codebook``."""

    weight: float = 1.0
    name = "codebook"
    phases = ("ae",)

    def __call__(self, step):
        z, zq, _ = _grid_codes(step)
        value = (z.detach() - zq).square().flatten(1).sum(1).mean()
        return self.weight * value, value


@dataclass(frozen=True)
class Perplexity:
    """Adds nothing to the loss; logs ``perplexity``, exp of the entropy of the batch's code usage (the number of
    codes in use, were they used equally; ``codes`` at most)."""

    name = "perplexity"
    phases = ("ae",)

    def __call__(self, step):
        _, _, idx = _grid_codes(step)
        value = perplexity(idx, step.generator.quantiser.codes)
        return value.new_zeros(()), value


def perplexity(idx: torch.Tensor, codes: int) -> torch.Tensor:
    """exp(entropy) of the histogram of the code indices ``idx`` (any shape)."""
    p = torch.bincount(idx.flatten(), minlength=codes).float()
    p = p / p.sum()
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())
