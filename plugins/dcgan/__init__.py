"""``dcgan``: convolutional G and D (Radford et al. 2015) for square images of 8 to 64+ px."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="dcgan",
        summary="Deep convolutional GAN for square images (8, 28, 32, 64 px; 1 or 3 channels); conditional D: "
                "projection or ACGAN (d_label)",
        kind="gan",                  # adversarial: trains with every objective of kind "gan"
        default_objective="non-saturating",
        build="ganzoo_plugins.dcgan.model:build",
        defaults={
            "sample_shape": [1, 28, 28],
            "latent_dim": 100,
            "g_width": 64,           # ngf
            "d_width": 64,           # ndf
            "num_classes": 0,
            "g_norm": "batch",       # batch | conditional (per-class BatchNorm scale and shift; --conditional)
            "d_norm": "batch",       # batch | layer | spectral | none (wgan-gp asks for layer)
            "g_depth": 1,            # convolutions per resolution in G (2+: 3x3 convs after each upsampling)
            "d_depth": 1,            # convolutions per resolution in D (2+: 3x3 convs after each downsampling)
            "pack": 1,               # PacGAN: D judges `pack` images at once (stacked along the channels)
            "d_label": "projection", # conditional D: projection | acgan (an auxiliary classifier, ClassLoss)
            "class_weight": 1.0,     # d_label=acgan: the weight of the class loss in D's and G's losses
        },
    ))
