"""``ganzoo import-legacy``: turn a legacy ``.pt``/``.pth`` state dict into a safetensors model folder."""

from __future__ import annotations

import click


@click.command("import-legacy")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--variant", required=True, help="Variant the weights belong to.")
@click.option("--objective", default=None, help="Objective (default: the variant's).")
@click.option("--component", default="generator", show_default=True,
              type=click.Choice(["generator", "discriminator", "encoder"]), help="Which component the state dict is.")
@click.option("--key", default=None, help="Entry of the checkpoint dict that holds the state dict (e.g. netG).")
@click.option("--set", "settings", multiple=True, metavar="KEY=JSON", help="Variant config, e.g. --set latent_dim=100.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
def legacy_cmd(checkpoint, variant, objective, component, key, settings, out):
    """Import a legacy PyTorch checkpoint -- tensors only, never code.

    The file is read with torch.load(weights_only=True), which refuses pickled objects other
    than tensors and plain containers; the result is written as safetensors.

    \b
    Example:
      ganzoo import-legacy netG_epoch_24.pth --variant dcgan --set sample_shape=[3,64,64] -o my-dcgan
    """
    from pathlib import Path

    from ..errors import ConfigError
    from ..model import create
    from ..weights import import_legacy

    from . import key_values

    config = key_values(settings, "--set")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; choose a new folder")
    model = create(variant, objective, **config)
    import_legacy(checkpoint, model.components[component], key=key)
    from ..fsutil import atomic_dir

    with atomic_dir(out) as tmp:  # the folder appears whole or not at all (kill -9, full disk)
        model.save(tmp, components=[component])
    click.echo(f"wrote {out} ({component} of {variant}, safetensors)")
