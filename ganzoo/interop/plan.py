"""The records an importer works with, plain data (no torch import): :class:`Source` (what was read),
:class:`ImportRequest` (what the user asked for) and :class:`ImportPlan` (the importer's answer: a
variant, its config and a key map of each component onto it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Source:
    """A checkpoint read for import. ``tensors``: every tensor, nested entries joined with ``"."``
    (``{"g_ema": {"conv.weight": t}}`` gives ``"g_ema.conv.weight"``); ``values``: its other plain
    entries (numbers, strings) by the same names; ``config``: the ``config.json`` of a folder or Hub
    repo (None for a single file); ``files``: name -> sha256 of every file read; ``revision``: the Hub
    commit of an ``hf://`` source. ``ref`` is what the user named; ``name`` the short label errors use."""

    ref: str
    tensors: dict
    config: Optional[dict] = None
    values: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    revision: Optional[str] = None

    @property
    def name(self) -> str:
        return self.ref

    def describe(self, limit: int = 4) -> str:
        """``'25 tensors (main.0.weight, main.1.weight, ...)'``: what a sniff saw, for error lines."""
        names = list(self.tensors)
        shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
        return f"{len(names)} tensors ({shown})" if names else "no tensors"


@dataclass
class ImportRequest:
    """What the user gave beside the source (``ganzoo import`` options); every field optional.
    ``variant``/``objective``/``config`` (``--variant``, ``--objective``, ``--set``): ganzoo applies
    ``objective`` and ``config`` over the plan's, so an importer need not; ``component``: which
    component a single state dict is (``--component``); ``parts``: further sources by component
    (``--discriminator FILE`` gives ``{"discriminator": Source}``)."""

    variant: Optional[str] = None
    objective: Optional[str] = None
    config: dict = field(default_factory=dict)
    component: Optional[str] = None
    parts: dict = field(default_factory=dict)


@dataclass
class ImportPlan:
    """An importer's answer: build ``variant`` with ``config`` (trained with ``objective``, default the
    variant's) and fill each component from ``keys[component]``, a dict of *every* tensor of that
    component's state dict (ganzoo's name) -> the source tensor's name, or a tensor the importer
    computed (a transposed or rescaled weight). ``sources[component]`` is the :class:`Source` those
    names refer to (default: the main source). Every source tensor must be used or ``ignored``
    (exact names, or prefixes ending in ``"."``); ganzoo checks shapes, dtypes and finiteness and
    names the tensor that fails. ``notes`` are lines for the model card: where each config value came
    from (``"latent_dim = 100: main.0.weight has 100 input channels"``)."""

    variant: str
    config: dict
    keys: dict
    objective: Optional[str] = None
    sources: dict = field(default_factory=dict)
    ignored: tuple = ()
    notes: list = field(default_factory=list)
