"""The hooks a ganzoo plugin can implement.

Every hook takes a ``register`` callback (style of simonw/llm). Built-in variants, objectives,
datasets, metrics and the pretrained zoo are plugins that use exactly these hooks; so does any
third-party package that declares an entry point in the ``ganzoo`` group::

    [project.entry-points.ganzoo]
    my_variant = "my_package.plugin"

The public names a plugin may use are listed in ``docs/writing-a-plugin.md`` ("The public API").
Keep hook modules light: register *import paths* (``"my_package.model:build"``) rather than
importing torch at module level, so that ``ganzoo list`` stays fast.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")
"""The decorator of a plugin's hook functions: ``@ganzoo.hookimpl def register_variants(register): ...``."""


@hookspec
def register_variants(register):
    """Register model variants: ``register(ganzoo.VariantSpec(...))``. A variant trains with every
    registered objective of its ``kind`` (gan, vae or ae)."""


@hookspec
def register_objectives(register):
    """Register training objectives: ``register(ganzoo.ObjectiveSpec(...))``. An objective trains
    every registered variant of its ``kind``; the protocol it implements is in
    ``docs/writing-a-plugin.md``."""


@hookspec
def register_datasets(register):
    """Register data sources: ``register(ganzoo.DatasetSpec(...))``."""


@hookspec
def register_metrics(register):
    """Register evaluation metrics: ``register(ganzoo.MetricSpec(...))``."""


@hookspec
def register_models(register):
    """Register pretrained models: ``register(ganzoo.ModelEntry(...))`` (``aliases`` keep former
    names loading)."""


@hookspec
def register_formats(register):
    """Register checkpoint formats of other code bases: ``register(ganzoo.FormatSpec(...))``, with an
    importer (a sniff test on the source and a key map onto a variant; ``ganzoo import``) and/or an
    exporter (``ganzoo export --format``)."""


@hookspec
def register_commands(cli):
    """Add click commands to the ``ganzoo`` command group: ``@cli.command() ...``."""
