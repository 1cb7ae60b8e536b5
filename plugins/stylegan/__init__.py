"""``stylegan``: StyleGAN2-lite (Karras et al. 2020) for small square images (28 and 32 px, 8 and 16 too)."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="stylegan",
        summary="StyleGAN2-lite: mapping network, modulated convolutions, noise, skip outputs, style mixing, "
                "truncation in w, lazy R1 (28/32 px; pure PyTorch)",
        kind="gan",
        default_objective="non-saturating",          # StyleGAN2's loss
        build="ganzoo_plugins.stylegan.model:build",
        optimizer={"lr": 0.002, "betas": [0.0, 0.99]},   # StyleGAN2's Adam (its lr 0.002 below 1024 px)
        defaults={
            "sample_shape": [1, 28, 28],
            "latent_dim": 64,        # z
            "w_dim": 64,             # the mapping network's width and w's
            "mapping_layers": 4,     # StyleGAN2: 8
            "g_width": 128,          # G's channels at the base resolution (7 for 28 px), halved per doubling
            "d_width": 128,          # D's channels at the base resolution, halved per doubling up to the image
            "num_classes": 0,        # --conditional: the label embedded beside z in the mapping network; D: d_label
            "mixing": 0.9,           # style mixing: share of training samples whose styles switch to a second z
            "r1": 0.1,               # lazy R1 gamma on real data (0: none); D's own loss term
            "r1_every": 16,          # StyleGAN2: every 16 D steps, 16x the weight
            "pl": 0.0,               # path-length weight in w (StyleGAN2: 2); G's own loss term, lazy
            "pl_every": 4,           # StyleGAN2: every 4 G steps
            "fused_modconv": False,  # True: the grouped convolution (a weight per sample); same function
            "d_label": "projection", # conditional D: projection | acgan
            "class_weight": 1.0,     # d_label=acgan: the weight of the class loss
            "output": "linear",      # G's last step: linear (StyleGAN2) or tanh (bounded; what MNIST needed)
        },
    ))
