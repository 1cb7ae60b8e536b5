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
        resolve_config="ganzoo_plugins.mlp.model:resolve_auto",  # "auto" sizes from the sample shape
        former_defaults={"d_label": "concat"},  # models saved before d_label existed
        defaults={
            # "auto" sizes (ganzoo_plugins.mlp.model.AUTO): for vectors (2-D toy data) latent 16, G and D
            # [256, 256], no BatchNorm; for images (C, H, W) latent 64, G [256, 512] with BatchNorm, D [512, 256]
            "sample_shape": [2],
            "latent_dim": "auto",
            "g_hidden": "auto",
            "d_hidden": "auto",
            "num_classes": 0,
            "output": "auto",       # auto: tanh for images, linear for vectors
            "g_norm": "auto",        # BatchNorm in G; auto: for images
            "d_norm": "none",        # accepted for objectives' hints; mlp D has no norm layers
            "pack": 1,               # PacGAN: D judges `pack` samples at once
            "mixture": 0,            # K >= 2: a Gaussian-mixture latent with K components (noise size K + latent_dim)
            "mixture_std": 0.1,      # the components' std (in the latent_dim continuous coordinates)
            "d_label": "auto",       # conditional D: concat (one-hot beside the input) or projection; auto: projection for images
        },
    ))
