"""``ganzoo export``: one component of a ganzoo model, written in another format by its exporter.

The exporter (``FormatSpec.exporter``) gets the loaded model in eval mode and a temporary path beside
the output; the file appears under its name only when the exporter returned (:func:`ganzoo.fsutil.atomic_path`).
An exporter that cannot export a model raises :class:`ganzoo.errors.IncompatibleError` saying why.
Sampling options (``--truncation``) reach the exporter as the model's ``sampling`` (``Model.with_sampling``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..errors import ConfigError, PluginError
from ..plugins import get_registry
from .importing import format_object


def export_model(model, out, *, format: str = "onnx", component: str = "generator",
                 sampling: Optional[dict] = None) -> str:
    from ..api import load
    from ..fsutil import atomic_path
    from ..model import COMPONENTS, Model

    if component not in COMPONENTS:
        raise ConfigError(f"unknown component {component!r}; use {', '.join(COMPONENTS)}")
    exporter = format_object(get_registry().format(format), "exporter")
    out = Path(out).expanduser()
    suffix = getattr(exporter, "suffix", "")
    if suffix and out.suffix != suffix:
        raise ConfigError(f"{out}: the {format} format writes a {suffix} file; name the output *{suffix}")
    if not out.parent.is_dir():
        raise ConfigError(f"folder {str(out.parent)!r} does not exist; create it first")
    if not isinstance(model, Model):  # the generator too: a Model's sizes are its generator's
        model = load(model, components=list(dict.fromkeys(["generator", component])))
    if component not in model.components:
        raise ConfigError(f"model of variant {model.variant!r} has no {component}; it has "
                          f"{', '.join(model.components)}")
    if sampling:
        if component != "generator":
            raise ConfigError(f"sampling options ({', '.join(sampling)}) shape a generator's samples, not a {component}")
        model = model.with_sampling(**sampling)  # checked against what the generator declares
    model.eval()
    with atomic_path(out) as tmp:
        description = exporter.export(model, tmp, component=component)
    if not isinstance(description, str):
        raise PluginError(f"format {format!r}: export() must return a one-line description")
    return description
