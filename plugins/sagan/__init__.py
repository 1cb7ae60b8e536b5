"""``sagan``: Self-Attention GAN (Zhang et al. 2019) on the ResNet trunk, with ``ganzoo attention`` to draw its maps."""

import click

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="sagan",
        summary="Self-Attention GAN: ResNet G and D with self-attention, spectral norm in both, hinge loss, TTUR; "
                "conditional D: projection or ACGAN (d_label)",
        kind="gan",
        default_objective="hinge",   # SAGAN's loss
        build="ganzoo_plugins.sagan.model:build",
        resolve_config="ganzoo_plugins.sagan.model:resolve_auto",
        defaults={
            "sample_shape": [1, 28, 28],
            "latent_dim": 128,
            "g_width": 64,            # channels of every generator block
            "d_width": 64,            # channels of every discriminator block
            "num_classes": 0,         # --conditional: conditional BatchNorm in G, d_label in D
            "attention": "auto",      # the resolution of the maps that G and D attend over (auto: half the image)
            "d_norm": "spectral",     # spectral | layer | batch | none (wgan-gp asks for layer)
            "d_extra": 2,             # D's blocks at its last resolution, after the down-blocks
            "d_label": "projection",  # conditional D: projection | acgan (an auxiliary classifier, ClassLoss)
            "class_weight": 1.0,      # d_label=acgan: the weight of the class loss in D's and G's losses
        },
        # the two time-scale update rule (Heusel et al. 2017) as SAGAN trains: D 4x G's learning rate
        optimizer={"g_lr": 1e-4, "d_lr": 4e-4, "betas": [0.0, 0.9]},
    ))


@hookimpl
def register_commands(cli):
    from .command import attention_cmd

    cli.add_command(attention_cmd)
