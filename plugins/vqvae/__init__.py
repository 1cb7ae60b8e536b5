"""``vqvae``: the vector-quantised VAE (van den Oord et al. 2017) -- a convolutional encoder to a grid of codes, a
codebook with EMA updates and dead-code restarts, a decoder -- and a gated PixelCNN prior over the code grid,
fitted in a second stage (``ganzoo train --stage prior --init DIR``), from which the model samples."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import MetricSpec, VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="vqvae",
        summary="VQ-VAE: conv encoder -> grid of codes (EMA codebook) -> decoder; a PixelCNN prior "
                "(--stage prior) to sample",
        kind="ae",
        default_objective="reconstruction",
        build="ganzoo_plugins.vqvae.model:build",
        defaults={
            "sample_shape": [1, 28, 28],
            "codes": 128,          # codebook size K
            "code_dim": 16,        # size D of each code; the grid is S/4 x S/4 of them (7x7 for 28x28)
            "width": 64,           # channels of the encoder and decoder (even)
            "blocks": 2,           # residual blocks in each
            "decay": 0.99,         # EMA codebook updates; 0: a codebook loss trains it instead
            "restart": 1.0,        # restart codes used fewer than this many times a batch (EMA count; 0: never)
            "beta": 0.25,          # commitment loss weight
            "prior_width": 32,     # the PixelCNN prior's channels
            "prior_layers": 8,     # and gated layers
        },
    ))


@hookimpl
def register_metrics(register):
    register(MetricSpec("codebook", "VQ-VAE: codebook perplexity and codes in use on the data's code grids",
                        "ganzoo_plugins.vqvae.metrics:codebook", applies_to=("ae",),
                        primary=("perplexity", "codes_used")))
