"""What ganzoo knows by name: variants, objectives, datasets, metrics and pretrained models.

Plugins fill a :class:`Registry` through the hooks in :mod:`ganzoo.hookspecs`. Specs are plain
data (no torch import): the code they point to is named by an import path such as
``"ganzoo_plugins.mlp.model:build"`` and imported only when it is used.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Union

from .errors import ConfigError, IncompatibleError, NotFoundError, PluginError, did_you_mean, first_line

Target = Union[str, Callable[..., Any]]

KINDS = ("gan", "vae", "ae")
KIND_NAMES = {"gan": "adversarial", "vae": "variational", "ae": "autoencoding"}
DEFAULT_OBJECTIVES = {"gan": "non-saturating", "vae": "elbo", "ae": "reconstruction"}


def _check_kind(what: str, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise PluginError(f"{what} {name!r}: kind must be one of {', '.join(KINDS)} "
                          f"({', '.join(KIND_NAMES.values())}), not {kind!r}")

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
    :data:`DEFAULT_OBJECTIVES` (non-saturating, elbo, reconstruction).
    """

    name: str
    summary: str
    kind: str
    build: Target
    defaults: dict = field(default_factory=dict)
    default_objective: str | None = None
    plugin: str = ""

    def __post_init__(self):
        _check_kind("variant", self.name, self.kind)
        if self.default_objective is None:
            object.__setattr__(self, "default_objective", DEFAULT_OBJECTIVES[self.kind])


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
    """A data source. ``factory(arg, **options)`` returns a :class:`ganzoo.data.TensorData`;
    ``arg`` is what follows the colon in ``name:arg`` (a path for ``mnist:DIR``)."""

    name: str
    summary: str
    factory: Target
    needs_argument: bool = False
    plugin: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """An evaluation metric. ``factory(model, data, *, n, seed) -> dict`` of numbers."""

    name: str
    summary: str
    factory: Target
    applies_to: tuple[str, ...] = ("gan", "vae", "ae")
    plugin: str = ""


@dataclass(frozen=True)
class ModelEntry:
    """A pretrained model in the zoo.

    ``source`` says where weights come from: ``{"bundled": "<folder>"}`` for a copy shipped in a
    package and/or ``{"repo": "org/name", "revision": "<sha>", "files": {"generator.safetensors":
    "<sha256>", ...}}`` for the Hub."""

    name: str
    variant: str
    objective: str
    dataset: str
    summary: str = ""
    metrics: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    recipe: str = ""          # the command that made the weights (provenance of the bundled copy)
    aliases: tuple[str, ...] = ()   # former names that still load this model (with a deprecation note)
    plugin: str = ""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "variant": self.variant,
            "objective": self.objective,
            "dataset": self.dataset,
            "summary": self.summary,
            "metrics": dict(self.metrics),
            "source": {k: v for k, v in self.source.items() if k != "path"},
            "weights_from": weights_from(self),
            "recipe": self.recipe,
            "plugin": self.plugin,
        }


def weights_from(entry: ModelEntry) -> str:
    src = entry.source
    where = []
    if src.get("bundled"):
        where.append("bundled")
    if src.get("repo") and src.get("revision"):  # a Hub copy counts once it is published and pinned
        where.append(f"hf://{src['repo']}@{src['revision'][:10]}")
    return " + ".join(where) or "none"


SECTIONS = {
    VariantSpec: "variant",
    ObjectiveSpec: "objective",
    DatasetSpec: "dataset",
    MetricSpec: "metric",
    ModelEntry: "model",
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


# -- registry.yaml ----------------------------------------------------------------------------
MAX_REGISTRY_BYTES = 1_000_000
ENTRY_KEYS = {"name": str, "variant": str, "objective": str, "dataset": str, "summary": str, "metrics": dict,
              "bundled": str, "files": dict, "hub": dict, "tags": list, "recipe": str, "aliases": list}
HUB_KEYS = {"repo": str, "revision": str}


def _strict_yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader without aliases (no billion-laughs) and without custom tags."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise ConfigError("registry: YAML aliases/anchors are not allowed")
            return super().compose_node(parent, index)

    return Loader


def parse_registry(text: str, *, where: str = "registry.yaml", base=None) -> list[ModelEntry]:
    """Parse and validate a registry file; raise :class:`ConfigError` (only) on bad input."""
    import yaml
    from pathlib import Path

    if len(text) > MAX_REGISTRY_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_REGISTRY_BYTES} bytes")
    try:
        doc = yaml.load(text, Loader=_strict_yaml_loader())  # noqa: S506 - strict safe loader
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({first_line(exc)})") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    if not isinstance(doc, dict) or set(doc) - {"version", "models"} or doc.get("version") != 1:
        raise ConfigError(f"{where}: expected a mapping with 'version: 1' and 'models: [...]'")
    models = doc.get("models", [])
    models = [] if models is None else models
    if not isinstance(models, list):
        raise ConfigError(f"{where}: 'models' must be a list")
    out, seen, seen_aliases = [], set(), {}
    for i, raw in enumerate(models):
        at = f"{where}: models[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{at} must be a mapping")
        for key, value in raw.items():
            if key not in ENTRY_KEYS:
                raise ConfigError(f"{at}: unknown key {key!r}")
            if not isinstance(value, ENTRY_KEYS[key]):
                raise ConfigError(f"{at}: {key} must be a {ENTRY_KEYS[key].__name__}")
        for key in ("name", "variant", "objective", "dataset"):
            if not raw.get(key) or len(raw[key]) > 128 or any(c.isspace() for c in raw[key]):
                raise ConfigError(f"{at}: {key} must be a non-empty name without spaces")
        if raw["name"] in seen:
            raise ConfigError(f"{at}: duplicate name {raw['name']!r}")
        seen.add(raw["name"])
        for alias in raw.get("aliases", []):
            if not isinstance(alias, str) or not alias or len(alias) > 128 or any(c.isspace() for c in alias):
                raise ConfigError(f"{at}: aliases must be non-empty names without spaces")
            if alias in seen_aliases or alias == raw["name"]:
                raise ConfigError(f"{at}: alias {alias!r} is listed twice")
            seen_aliases[alias] = raw["name"]
        files = raw.get("files", {})
        for fname, digest in files.items():
            if (not isinstance(fname, str) or not isinstance(digest, str) or "/" in fname or "\\" in fname
                    or fname.startswith(".") or len(digest) != 64 or set(digest) - set("0123456789abcdef")):
                raise ConfigError(f"{at}: files must map plain file names to sha256 hex digests")
        for metric, value in raw.get("metrics", {}).items():
            if not isinstance(metric, str) or isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ConfigError(f"{at}: metrics must map names to numbers")
        source: dict = {}
        if files:
            source["files"] = dict(files)
        if "bundled" in raw:
            folder = raw["bundled"]
            if "/" in folder or "\\" in folder or folder.startswith(".") or not folder:
                raise ConfigError(f"{at}: bundled must be a plain folder name")
            if not files:
                raise ConfigError(f"{at}: a bundled copy needs sha256 pins in 'files'")
            source["bundled"] = folder
            if base is not None:
                source["path"] = str(Path(base) / folder)
        if "hub" in raw:
            hub = raw["hub"]
            for key, value in hub.items():
                if key not in HUB_KEYS or not isinstance(value, str):
                    raise ConfigError(f"{at}: hub takes repo and revision (strings)")
            if "repo" not in hub or hub["repo"].count("/") != 1:
                raise ConfigError(f"{at}: hub.repo must be 'org/name'")
            source.update(hub)
        out.append(ModelEntry(
            name=raw["name"], variant=raw["variant"], objective=raw["objective"], dataset=raw["dataset"],
            summary=raw.get("summary", ""), metrics=dict(raw.get("metrics", {})), source=source,
            tags=tuple(str(t) for t in raw.get("tags", [])), recipe=raw.get("recipe", ""),
            aliases=tuple(raw.get("aliases", [])),
        ))
    clash = sorted(set(seen_aliases) & seen)
    if clash:
        raise ConfigError(f"{where}: alias {clash[0]!r} (of {seen_aliases[clash[0]]!r}) is also a model's name; "
                          "an alias must be a former name that no model uses")
    return out
