"""``mlp``: fully connected G and D for vectors (2-D toy data) and flattened images."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="mlp",
        summary="Fully connected GAN for vectors and flattened images",
        kind="gan",                  # adversarial: trains with every objective of kind "gan"
        default_objective="non-saturating",
        build="ganzoo_plugins.mlp.model:build",
        defaults={
            "sample_shape": [2],
            "latent_dim": 16,
            "g_hidden": [256, 256],
            "d_hidden": [256, 256],
            "num_classes": 0,
            "output": "auto",       # auto: tanh for images, linear for vectors
            "g_norm": False,         # BatchNorm in G
            "d_norm": "none",        # accepted for objectives' hints; mlp D has no norm layers
            "pack": 1,               # PacGAN: D judges `pack` samples at once
            "mixture": 0,            # K >= 2: a Gaussian-mixture latent with K components (noise size K + latent_dim)
            "mixture_std": 0.1,      # the components' std (in the latent_dim continuous coordinates)
        },
    ))
