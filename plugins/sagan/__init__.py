"""``sagan``: Self-Attention GAN (Zhang et al. 2019) on the ResNet trunk, with ``ganzoo attention`` to draw its maps."""

import click

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec
from ganzoo_plugins.resnet import DEFAULTS as RESNET_DEFAULTS


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
        # the resnet variant's keys (spectral norm in G on, as SAGAN has it), and the resolution of the maps
        # that G and D attend over (auto: half the image)
        defaults={**RESNET_DEFAULTS, "g_spectral": True, "attention": "auto"},
        # the two time-scale update rule (Heusel et al. 2017) as SAGAN trains: D 4x G's learning rate
        optimizer={"g_lr": 1e-4, "d_lr": 4e-4, "betas": [0.0, 0.9]},
    ))


@hookimpl
def register_commands(cli):
    from .command import attention_cmd

    cli.add_command(attention_cmd)
