"""The VQ-VAE's encoder and decoder (van den Oord et al. 2017, the image model of section 4.1, smaller):
two stride-2 convolutions down to a grid of ``code_dim`` vectors (7x7 for 28x28 images), residual blocks, and
the mirror image up; the codebook lives in the decoder, so the generator alone samples.

The generator's latent ``z`` is the code grid flattened, (N, code_dim * grid * grid): the decoder maps it to its
nearest codes (:mod:`.quantise`) and decodes those, so a grid of codebook vectors -- what the prior draws
(:mod:`.prior`) -- decodes as it is, and an encoder output decodes as its quantisation.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Decoder, Encoder

from .quantise import CodebookLoss, Commitment, Perplexity, VectorQuantiser

DOWN = 4   # two stride-2 convolutions


def grid_size(sample_shape) -> int:
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] % DOWN:
        raise ConfigError(f"vqvae needs square images [C, S, S] with S a multiple of {DOWN}, not {list(sample_shape)}")
    return sample_shape[1] // DOWN


class Residual(nn.Module):
    """x + conv1x1(relu(conv3x3(relu(x)))), the paper's residual block."""

    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.ReLU(), nn.Conv2d(width, width // 2, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width // 2, width, 1))

    def forward(self, x):
        return x + self.net(x)


class VQEncoder(Encoder):
    """x (N, C, S, S) -> z_e, the grid of ``code_dim`` vectors (N, code_dim, S/4, S/4), flattened: what the
    decoder quantises."""

    def __init__(self, sample_shape, code_dim, width, blocks):
        self.grid_size = grid_size(sample_shape)
        super().__init__(code_dim * self.grid_size ** 2, sample_shape)
        self.net = nn.Sequential(
            nn.Conv2d(self.sample_shape[0], width // 2, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width // 2, width, 4, 2, 1), *[Residual(width) for _ in range(blocks)], nn.ReLU(),
            nn.Conv2d(width, code_dim, 1))

    def forward(self, x):
        return self.net(x).flatten(1)


class VQDecoder(Decoder):
    """z (N, code_dim * grid^2) -> Bernoulli logits: the grid quantised to its nearest codes (straight-through
    gradient), then two stride-2 transposed convolutions. ``loss_terms``: the batch's code ``perplexity``
    (logged only), the commitment loss (and the codebook's EMA update), or the codebook loss without EMA."""

    def __init__(self, sample_shape, codes, code_dim, width, blocks, decay, restart, beta):
        self.grid_size = grid_size(sample_shape)
        super().__init__(code_dim * self.grid_size ** 2, sample_shape)
        self.code_dim = code_dim
        self.quantiser = VectorQuantiser(codes, code_dim, decay, restart)
        self.loss_terms = [Perplexity(), Commitment(beta)] + ([] if self.quantiser.ema else [CodebookLoss()])
        self.net = nn.Sequential(
            nn.Conv2d(code_dim, width, 3, padding=1), *[Residual(width) for _ in range(blocks)], nn.ReLU(),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, self.sample_shape[0], 4, 2, 1))

    def grid(self, z: torch.Tensor) -> torch.Tensor:
        """A latent (N, latent_dim) as the grid (N, code_dim, h, w)."""
        return z.reshape(z.shape[0], self.code_dim, self.grid_size, self.grid_size)

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """The code indices (N, h, w) of a latent (N, latent_dim): an encoder output's nearest codes."""
        return self.quantiser.quantise(self.grid(z))[1]

    def embed_codes(self, idx: torch.Tensor) -> torch.Tensor:
        """Code indices (N, h, w) -> the latent (N, latent_dim) of their codebook vectors (what the prior draws)."""
        return self.quantiser.lookup(idx).permute(0, 3, 1, 2).flatten(1)

    def logits(self, z, y=None):
        self.check_labels(y, z.shape[0])
        return self.net(self.quantiser.straight_through(self.grid(z)))


def build(sample_shape, codes, code_dim, width, blocks, decay, restart, beta, prior_width, prior_layers):
    from .prior import CodePrior

    if width < 2 or width % 2:
        raise ConfigError(f"width must be an even number >= 2, not {width}")
    dec = VQDecoder(sample_shape, codes, code_dim, width, blocks, decay, restart, beta)
    return {
        "encoder": VQEncoder(sample_shape, code_dim, width, blocks),
        "generator": dec,
        "prior": CodePrior(dec.latent_dim, sample_shape, codes, dec.grid_size, prior_width, prior_layers),
    }
