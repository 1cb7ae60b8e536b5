"""What ganzoo knows by name: variants, objectives, datasets, metrics and pretrained models.

Pretrained-model entries (:class:`ModelEntry`) and the ``registry.yaml`` format
(:func:`parse_registry`) live in :mod:`ganzoo.entries`; both are importable from here too.

Plugins fill a :class:`Registry` through the hooks in :mod:`ganzoo.hookspecs`. Specs are plain
data (no torch import): the code they point to is named by an import path such as
``"ganzoo_plugins.mlp.model:build"`` and imported only when it is used.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

from .entries import ModelEntry, parse_registry, weights_from
from .errors import IncompatibleError, NotFoundError, PluginError, did_you_mean

Target = Union[str, Callable[..., Any]]

KINDS = ("gan", "vae", "ae")
"""The kinds of model and objective: adversarial, variational, autoencoding (pairing is by kind)."""
KIND_NAMES = {"gan": "adversarial", "vae": "variational", "ae": "autoencoding"}
"""Each kind's adjective, for messages."""
DEFAULT_OBJECTIVES = {"gan": "non-saturating", "vae": "elbo", "ae": "reconstruction"}
"""The objective a variant of each kind trains with when it names none (``VariantSpec.default_objective``)."""


def _check_kind(what: str, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise PluginError(f"{what} {name!r}: kind must be one of {', '.join(KINDS)} "
                          f"({', '.join(KIND_NAMES.values())}), not {kind!r}")

OPTIMIZER_KEYS = ("name", "lr", "g_lr", "d_lr", "betas")


def _check_optimizer(what: str, opt) -> None:
    """A spec's optimiser defaults: known keys, learning rates in (0, 10], two betas in [0, 1)."""
    if not isinstance(opt, dict):
        raise PluginError(f"{what}: optimizer must be a dict, not {type(opt).__name__}")
    for key, value in opt.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key not in OPTIMIZER_KEYS:
            bad = f"unknown key {key!r} (known: {', '.join(OPTIMIZER_KEYS)})"
        elif key == "name":
            bad = "" if isinstance(value, str) else f"name must be a string, not {value!r}"
        elif key == "betas":
            ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in value)
            bad = "" if ok else f"betas must be two numbers in [0, 1), not {value!r}"
        else:
            bad = "" if number and 0 < value <= 10 else f"{key} must be a number in (0, 10], not {value!r}"
        if bad:
            raise PluginError(f"{what}: optimizer {bad}")


def resolve(target: Target) -> Callable[..., Any]:
    """Import ``"package.module:attribute"`` (or return a callable as it is)."""
    if callable(target):
        return target
    module, _, attr = str(target).partition(":")
    if not module or not attr:
        raise PluginError(f"bad import path {target!r}; expected 'package.module:attribute'")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot import {target!r}: {exc}") from exc
    return obj


@dataclass(frozen=True)
class VariantSpec:
    """A model family: how to build its components from a JSON config.

    ``kind`` says which objectives train it: ``"gan"`` (adversarial), ``"vae"`` (variational) or
    ``"ae"`` (autoencoding); it pairs with every objective of the same kind, built-in or from a
    plugin. ``build(**config)`` returns a dict with a ``"generator"`` and, as the kind needs them,
    a ``"discriminator"`` (gan) or an ``"encoder"`` (vae, ae). ``defaults`` lists every config key
    the variant accepts (JSON values); anything else is rejected. ``default_objective`` is what
    ``ganzoo train`` uses without ``--objective``; left out, the kind's default in
    :data:`DEFAULT_OBJECTIVES` (non-saturating, elbo, reconstruction). ``resolve_config(config) ->
    config``, if given, replaces the variant's ``"auto"`` values by what they stand for (e.g. sizes
    chosen from the sample shape) before ``build``; a value the user gave for an ``"auto"`` key is then
    checked against the type of what ``"auto"`` stands for, and the model's config records the result.
    ``former_defaults``: for a config key added after models were saved, the value that builds what
    the variant built before the key existed; a saved ``config.json`` that lacks the key is loaded
    with it (not the default).
    ``optimizer``: the optimiser settings the architecture was published with, any of ``lr``, ``g_lr``,
    ``d_lr``, ``betas`` and ``name`` (SAGAN's two time-scale rule: ``{"g_lr": 1e-4, "d_lr": 4e-4, "betas":
    [0.0, 0.9]}``). They replace the objective's defaults (:attr:`ObjectiveSpec.optimizer`) key by key when
    the two name the same optimiser (``adam`` when unnamed) -- ``wgan`` keeps its RMSprop and learning
    rate -- and the run options (``--lr``, ``--g-lr``, ``--d-lr``, ``--betas``) replace both.
    """

    name: str
    summary: str
    kind: str
    build: Target
    defaults: dict = field(default_factory=dict)
    default_objective: str | None = None
    plugin: str = ""
    resolve_config: Target | None = None
    former_defaults: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)

    def __post_init__(self):
        _check_kind("variant", self.name, self.kind)
        _check_optimizer(f"variant {self.name!r}", self.optimizer)
        if self.default_objective is None:
            object.__setattr__(self, "default_objective", DEFAULT_OBJECTIVES[self.kind])


_KIND_PHRASES = {"gan": "a GAN", "vae": "a VAE", "ae": "an autoencoder"}


def a_kind(kind: str) -> str:
    """A kind as a message says it: ``"a GAN"``, ``"a VAE"``, ``"an autoencoder"`` (else ``"of kind 'x'"``)."""
    return _KIND_PHRASES.get(kind, f"of kind {kind!r}")


@dataclass(frozen=True)
class ObjectiveSpec:
    """A training objective. ``factory(**config)`` returns an objective object (the protocol is in
    ``docs/writing-a-plugin.md``); ``kind`` (``"gan"``, ``"vae"`` or ``"ae"``) says which variants
    it trains: every variant of the same kind. ``d_steps`` is the default number of
    discriminator/critic steps per generator step (Goodfellow's k; 0 for non-adversarial kinds).
    ``defaults`` lists the objective's config keys, ``optimizer`` its default optimiser and
    ``variant_defaults`` config values it suggests to the variant (used where the variant has the key)."""

    name: str
    summary: str
    kind: str
    factory: Target
    d_steps: int = 1
    defaults: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)
    variant_defaults: dict = field(default_factory=dict)
    plugin: str = ""

    def __post_init__(self):
        _check_kind("objective", self.name, self.kind)


@dataclass(frozen=True)
class DatasetSpec:
    """A data source. ``factory(arg, **options)`` returns a :class:`ganzoo.data.sources.TensorData`;
    ``arg`` is what follows the colon in ``name:arg`` (a path for ``mnist:DIR``). ``hub_dataset``: the public
    Hugging Face Hub dataset this source reads a copy of (``"ylecun/mnist"``), which model cards list as their
    dataset; None for generated data or a user's own folder."""

    name: str
    summary: str
    factory: Target
    needs_argument: bool = False
    plugin: str = ""
    hub_dataset: Optional[str] = None


@dataclass(frozen=True)
class MetricSpec:
    """An evaluation metric. ``factory(model, data, *, n, seed) -> dict`` of numbers. ``primary``: the keys of
    its result that matter most -- starred by ``ganzoo eval``, recorded in the zoo's registry and model cards
    (the built-in metrics' are :data:`ganzoo.metrics.report.PRIMARY`)."""

    name: str
    summary: str
    factory: Target
    applies_to: tuple[str, ...] = ("gan", "vae", "ae")
    plugin: str = ""
    primary: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormatSpec:
    """A checkpoint format other code bases write (``ganzoo import`` / ``ganzoo export --format``).

    ``importer`` (an import path, or None) names an object with ``sniff(source) -> bool`` (does this
    :class:`ganzoo.interop.Source` look like the format? cheap, never raises for a foreign source) and
    ``plan(source, request) -> ganzoo.interop.ImportPlan`` (the variant, its config and the key map of
    each component onto it). ``exporter`` (an import path, or None) names an object with
    ``export(model, path, *, component) -> str`` (write ``path``; return a one-line description) and
    ``suffix`` (the file ending it writes, e.g. ``".onnx"``). The protocol is in
    ``docs/writing-a-plugin.md`` ("register_formats")."""

    name: str
    summary: str
    importer: Target | None = None
    exporter: Target | None = None
    plugin: str = ""

    def __post_init__(self):
        if self.importer is None and self.exporter is None:
            raise PluginError(f"format {self.name!r} has neither an importer nor an exporter")


SECTIONS = {
    VariantSpec: "variant",
    ObjectiveSpec: "objective",
    DatasetSpec: "dataset",
    MetricSpec: "metric",
    ModelEntry: "model",
    FormatSpec: "format",
}


class ModelRenamedWarning(FutureWarning):
    """A zoo model was loaded by a former name (an ``aliases:`` entry); the message names the new one."""


class Registry:
    """Everything registered by the loaded plugins, by kind and name."""

    def __init__(self):
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in SECTIONS.values()}
        self._aliases: dict[str, str] = {}   # former model name -> current name

    def add(self, item, plugin: str):
        kind = SECTIONS.get(type(item))
        if kind is None:
            raise PluginError(f"plugin {plugin!r} registered {type(item).__name__}, not a ganzoo spec")
        if not isinstance(item.name, str) or not item.name or any(c.isspace() for c in item.name):
            raise PluginError(f"plugin {plugin!r} registered a {kind} with a bad name {item.name!r}")
        table = self._items[kind]
        if item.name in table:
            other = table[item.name].plugin
            raise PluginError(
                f"{kind} {item.name!r} is registered by both {other!r} and {plugin!r}; "
                f"uninstall or rename one of them"
            )
        if kind == "model":
            self._check_aliases(item, plugin)
        table[item.name] = replace(item, plugin=plugin)
        for alias in getattr(item, "aliases", ()) if kind == "model" else ():
            self._aliases[alias] = item.name

    def _check_aliases(self, item, plugin: str) -> None:
        if item.name in self._aliases:
            raise PluginError(f"model {item.name!r} from {plugin!r} is already a former name of "
                              f"{self._aliases[item.name]!r}; pick another name")
        for alias in item.aliases:
            if not isinstance(alias, str) or not alias or any(c.isspace() for c in alias) or alias == item.name:
                raise PluginError(f"plugin {plugin!r}: model {item.name!r} has a bad alias {alias!r}")
            if alias in self._items["model"] or alias in self._aliases:
                taken = "a model" if alias in self._items["model"] else f"a former name of {self._aliases[alias]!r}"
                raise PluginError(f"plugin {plugin!r}: alias {alias!r} of model {item.name!r} is already {taken}")

    def remove_plugin(self, plugin: str) -> None:
        """Forget everything ``plugin`` registered (used when one of its hooks fails)."""
        for table in self._items.values():
            for name in [n for n, item in table.items() if item.plugin == plugin]:
                del table[name]
        self._aliases = {a: n for a, n in self._aliases.items() if n in self._items["model"]}

    def renamed(self, name: str) -> str | None:
        """The current name of a zoo model that ``name`` is a former name (alias) of, else None."""
        return self._aliases.get(name)

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def items(self, kind: str) -> list:
        return [self._items[kind][n] for n in self.names(kind)]

    def get(self, kind: str, name: str):
        try:
            return self._items[kind][name]
        except KeyError:
            raise NotFoundError(did_you_mean(name, self._items[kind], kind)) from None

    def has(self, kind: str, name: str) -> bool:
        return name in self._items[kind]

    def variant(self, name: str) -> VariantSpec:
        return self.get("variant", name)

    def objective(self, name: str) -> ObjectiveSpec:
        return self.get("objective", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self.get("dataset", name)

    def metric(self, name: str) -> MetricSpec:
        return self.get("metric", name)

    def model(self, name: str) -> ModelEntry:
        return self.get("model", name)

    def format(self, name: str) -> FormatSpec:
        return self.get("format", name)

    def by_plugin(self, plugin: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for kind, table in self._items.items():
            names = sorted(n for n, item in table.items() if item.plugin == plugin)
            if names:
                out[kind] = names
        return out

    def objectives_for(self, variant: str) -> list[str]:
        """The objectives that train ``variant``: every registered objective of its kind."""
        kind = self.variant(variant).kind
        return [o.name for o in self.items("objective") if o.kind == kind]

    def variants_for(self, objective: str) -> list[str]:
        """The variants ``objective`` trains: every registered variant of its kind."""
        kind = self.objective(objective).kind
        return [v.name for v in self.items("variant") if v.kind == kind]

    def check_pairing(self, variant: str, objective: str) -> None:
        """Raise :class:`IncompatibleError` unless ``objective`` is of ``variant``'s kind."""
        v, o = self.variant(variant), self.objective(objective)
        if o.kind != v.kind:
            fits = ", ".join(self.objectives_for(variant)) or "(none registered)"
            raise IncompatibleError(
                f"variant {variant!r} ({KIND_NAMES[v.kind]}, kind {v.kind}) does not work with objective "
                f"{objective!r} ({KIND_NAMES[o.kind]}, kind {o.kind}); use an objective of kind {v.kind}: {fits}"
            )

def match(names, pattern: str | None) -> list[str]:
    """timm-style filtering: shell wildcards, or a plain substring."""
    if not pattern:
        return sorted(names)
    if not any(ch in pattern for ch in "*?["):
        pattern = f"*{pattern}*"
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


__all__ = [
    "KINDS", "KIND_NAMES", "DEFAULT_OBJECTIVES", "resolve", "VariantSpec", "ObjectiveSpec", "DatasetSpec", "MetricSpec",
    "FormatSpec", "ModelEntry", "weights_from", "parse_registry", "ModelRenamedWarning", "Registry", "match",
]
