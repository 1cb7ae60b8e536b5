"""Pretrained models: :class:`ModelEntry` and the strict parser of the zoo's ``registry.yaml``
(:func:`parse_registry`). Plain data, no torch; re-exported by :mod:`ganzoo.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError, first_line


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
