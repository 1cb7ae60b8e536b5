"""Checkpoint formats of other code bases (``ganzoo import``, ``ganzoo export --format``), registered
through ``register_formats`` like any third-party format:

* ``pytorch-examples``: the DCGAN of pytorch/examples ``dcgan/main.py`` (``netG_epoch_N.pth``,
  ``netD_epoch_N.pth``), both ways;
* ``hub-mixin``: a ``PyTorchModelHubMixin`` folder or ``hf://`` repo of that network (the huggan DCGANs);
* ``state-dict``: a plain state dict in ganzoo's own tensor names (what ``import-legacy`` read);
* ``onnx``: export of a generator, discriminator or encoder (``pip install 'ganzoo[onnx]'``).

This module imports no torch: the importers and exporters are named by import path.
"""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import FormatSpec

HERE = "ganzoo_plugins.formats"


@hookimpl
def register_formats(register):
    register(FormatSpec(
        "pytorch-examples", "pytorch/examples dcgan/main.py: netG_*.pth (and netD_*.pth) state dicts",
        importer=f"{HERE}.pytorch_examples:Examples", exporter=f"{HERE}.pytorch_examples:Examples"))
    register(FormatSpec(
        "hub-mixin", "PyTorchModelHubMixin folder or hf:// repo (config.json + model.safetensors) of that DCGAN",
        importer=f"{HERE}.hub_mixin:HubMixin"))
    register(FormatSpec(
        "state-dict", "a state dict in ganzoo's own tensor names (needs --variant; --component, --set)",
        importer=f"{HERE}.state_dict:StateDict"))
    register(FormatSpec(
        "onnx", "ONNX graph of the generator (or --component discriminator/encoder); pip install 'ganzoo[onnx]'",
        exporter=f"{HERE}.onnx:Onnx"))
