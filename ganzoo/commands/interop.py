"""``ganzoo import``, ``ganzoo export`` (and the deprecated ``ganzoo import-legacy``): checkpoints of
other code bases in, other formats out. The formats are plugins (``ganzoo list --formats``)."""

from __future__ import annotations

import click

from . import sampling_flags


@click.command("import")
@click.argument("source")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Model folder to write (new).")
@click.option("--format", "fmt", default=None, help="The source's format (default: recognised from the file; "
              "ganzoo list --formats).")
@click.option("--discriminator", default=None, metavar="SOURCE", help="A second file with the discriminator "
              "(pytorch/examples' netD_*.pth).")
@click.option("--key", default=None, help="Entry of a checkpoint dict that holds the network (e.g. netG).")
@click.option("--variant", default=None, help="Variant, where the format cannot tell (--format state-dict).")
@click.option("--objective", default=None, help="Objective to record (default: the format's or variant's).")
@click.option("--set", "settings", multiple=True, metavar="KEY=JSON", help="Variant config over what the format "
              "reads, e.g. --set latent_dim=100.")
@click.option("--component", default=None, type=click.Choice(["generator", "discriminator", "encoder"]),
              help="Which component a plain state dict is (--format state-dict; default generator).")
def import_cmd(source, out, fmt, discriminator, key, variant, objective, settings, component):
    """Import a GAN trained elsewhere as a ganzoo model folder -- tensors only, never code.

    SOURCE is a file (pytorch/examples' netG_*.pth), a PyTorchModelHubMixin folder
    (config.json + model.safetensors) or hf://org/repo[@rev]. Pickles are read with
    torch.load(weights_only=True); one holding code is refused unread. The folder gets a model card
    naming the source, its sha256 and the tensor mapping; sample, eval, push, load and
    `ganzoo train VARIANT --init DIR` take it like any model folder.

    \b
    Examples:
      ganzoo import netG_epoch_24.pth --discriminator netD_epoch_24.pth -o my-dcgan
      ganzoo import hf://huggan/my-dcgan -o my-dcgan
      ganzoo import old.pth --format state-dict --variant mlp --key netG -o my-mlp
    """
    from ..interop import import_model

    from . import key_values

    folder = import_model(source, out, format=fmt, discriminator=discriminator, key=key, variant=variant,
                          objective=objective, config=key_values(settings, "--set"), component=component)
    click.echo(f"wrote {folder} (imported from {source}; the mapping is in {folder}/README.md)")


@click.command("export")
@click.argument("model")
@click.option("--format", "fmt", default="onnx", show_default=True, help="onnx, pytorch-examples, or a plugin's "
              "(ganzoo list --formats).")
@click.option("--component", default="generator", show_default=True,
              help="Which network to export: generator, discriminator, encoder (or another component the model has).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write (G.onnx, netG.pth).")
@sampling_flags
def export_cmd(model, fmt, component, output, truncation, sample_opts):
    """Export a model's generator (or discriminator, encoder) to another format.

    MODEL is a zoo name, hf://org/repo or a model folder. ONNX (pip install 'ganzoo[onnx]'):
    inputs z (N, latent_dim) float32 and, for a class-conditional model, y (N,) int64; output x
    (N, *sample_shape); N dynamic; opset 18; checked against onnxruntime before it is written.
    pytorch-examples: a netG.pth (netD.pth) that pytorch/examples' DCGAN classes load.
    --truncation (a style model's w = w_avg + PSI (w - w_avg)) is fixed in the graph and recorded
    in its metadata; where a generator truncates the draw of z instead, z is yours to draw.

    \b
    Examples:
      ganzoo export mnist-cdcgan-hinge -o G.onnx
      ganzoo export mnist-vae-2d --component encoder -o encoder.onnx
      ganzoo export my-dcgan --format pytorch-examples -o netG.pth
    """
    from ..interop import export_model

    from . import sampling_from

    description = export_model(model, output, format=fmt, component=component,
                               sampling=sampling_from(truncation, sample_opts))
    click.echo(f"wrote {output}: {description}")


@click.command("import-legacy", hidden=True)
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--variant", required=True, help="Variant the weights belong to.")
@click.option("--objective", default=None, help="Objective (default: the variant's).")
@click.option("--component", default="generator", show_default=True,
              type=click.Choice(["generator", "discriminator", "encoder"]), help="Which component the state dict is.")
@click.option("--key", default=None, help="Entry of the checkpoint dict that holds the state dict (e.g. netG).")
@click.option("--set", "settings", multiple=True, metavar="KEY=JSON", help="Variant config, e.g. --set latent_dim=100.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
def legacy_cmd(checkpoint, variant, objective, component, key, settings, out):
    """Deprecated (removed in ganzoo 0.3): use `ganzoo import`, which also reads pytorch/examples and
    PyTorchModelHubMixin checkpoints by itself.

    \b
    Example (and what replaces it):
      ganzoo import-legacy old.pth --variant mlp --key netG -o my-mlp
      ganzoo import old.pth --format state-dict --variant mlp --key netG -o my-mlp
    """
    from ..interop import import_model

    from . import key_values

    click.echo("ganzoo: note: import-legacy is deprecated and goes in ganzoo 0.3; use `ganzoo import` (it reads "
               "pytorch/examples and PyTorchModelHubMixin checkpoints itself; ganzoo-named state dicts with "
               "--format state-dict --variant V)", err=True)
    import_model(checkpoint, out, format="state-dict", key=key, variant=variant, objective=objective,
                 config=key_values(settings, "--set"), component=component)
    click.echo(f"wrote {out} ({component} of {variant}, safetensors)")
