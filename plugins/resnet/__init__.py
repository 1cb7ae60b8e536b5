"""``resnet``: the ResNet GAN of SNGAN (Miyato et al. 2018) and WGAN-GP (Gulrajani et al. 2017) for square images."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec

DEFAULTS = {                  # the config keys and their defaults (sagan has these and its attention)
    "sample_shape": [1, 28, 28],
    "latent_dim": 128,
    "g_width": 64,            # channels of every generator block
    "d_width": 64,            # channels of every discriminator block
    "g_spectral": False,      # spectral norm on every conv and linear layer of G (SAGAN: true)
    "num_classes": 0,         # --conditional: conditional BatchNorm in G, d_label in D
    "d_norm": "spectral",     # spectral | layer | batch | none (wgan-gp asks for layer)
    "d_extra": 2,             # D's blocks at its last resolution, after the down-blocks (SNGAN: 2)
    "d_label": "projection",  # conditional D: projection | acgan (an auxiliary classifier, ClassLoss)
    "class_weight": 1.0,      # d_label=acgan: the weight of the class loss in D's and G's losses
}


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="resnet",
        summary="ResNet GAN (SNGAN / WGAN-GP): residual G and spectral-norm D, 8/28/32 px; conditional D: "
                "projection or ACGAN (d_label)",
        kind="gan",
        default_objective="hinge",   # SNGAN's loss
        build="ganzoo_plugins.resnet.model:build",
        defaults=DEFAULTS,
        optimizer={"betas": [0.0, 0.9]},   # SNGAN's and WGAN-GP's Adam (lr 2e-4, the objective's)
    ))
