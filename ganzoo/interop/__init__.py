"""Interoperability: import the checkpoints other code bases write, export ganzoo models to other formats.

Formats are plugins (``register_formats``, :class:`ganzoo.registry.FormatSpec`): an importer sniffs a
:class:`Source` and answers an :class:`ImportPlan` (a variant, its config, a key map); an exporter writes
a model's component to a file. ganzoo reads the source (tensors only, never code), checks the plan and
writes the model folder; see ``docs/interop.md``. Importing this package imports no torch.
"""

from __future__ import annotations

from typing import Optional

from .plan import ImportPlan, ImportRequest, Source


def import_model(source, out, *, format: Optional[str] = None, discriminator=None, key: Optional[str] = None,
                 variant: Optional[str] = None, objective: Optional[str] = None, config: Optional[dict] = None,
                 component: Optional[str] = None):
    """Import ``source`` -- a pytorch/examples ``netG_*.pth``, a ``PyTorchModelHubMixin`` folder,
    ``hf://org/repo[@rev]``, or any format a plugin registers -- into the new model folder ``out``;
    returns its path. ``discriminator``: a second file with the discriminator (``netD_*.pth``);
    ``format``: skip the sniffing; ``key``: the entry of a checkpoint dict to read; ``variant``,
    ``objective``, ``config``, ``component``: what the format cannot read from the file."""
    from .importing import import_model as _import

    return _import(source, out, format=format, discriminator=discriminator, key=key, variant=variant,
                   objective=objective, config=config, component=component)


def export_model(model, out, *, format: str = "onnx", component: str = "generator",
                 sampling: Optional[dict] = None) -> str:
    """Write ``model``'s ``component`` (generator, discriminator or encoder) to the file ``out`` in
    ``format`` (``onnx``, ``pytorch-examples`` or a plugin's); ``model`` is a :class:`ganzoo.Model`, a zoo
    name, ``hf://org/repo`` or a model folder. ``sampling``: options the generator applies between its
    latent and its samples, fixed in the export (a style model's ``{"truncation": 0.7}``). Returns the
    exporter's one-line description."""
    from .exporting import export_model as _export

    return _export(model, out, format=format, component=component, sampling=sampling)


__all__ = ["import_model", "export_model", "Source", "ImportPlan", "ImportRequest"]
