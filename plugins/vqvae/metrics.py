"""``codebook``: how much of a VQ-VAE's codebook its encoder uses on the data given (pass held-out data)."""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError

from .quantise import perplexity

N = 1000


@torch.no_grad()
def codebook(model, data, *, n=None, seed=0):
    """``perplexity``: exp of the entropy of the code histogram over ``n`` images' grids (the number of codes in
    use, were they used equally), ``codes_used`` (codes used at least once), ``codes`` (the codebook's size)."""
    quantiser = getattr(model.generator, "quantiser", None)
    if quantiser is None or model.encoder is None:
        raise ConfigError("metric 'codebook' needs a VQ-VAE with its encoder loaded")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model takes {list(model.sample_shape)} inputs; {data.name} has {list(data.sample_shape)}")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[: int(n or N)]
    codes = torch.cat([model.generator.codes(model.encoder(data.x[chunk])) for chunk in idx.split(500)])
    return {"n": len(idx), "perplexity": float(perplexity(codes, quantiser.codes)),
            "codes_used": int(codes.unique().numel()), "codes": quantiser.codes}
