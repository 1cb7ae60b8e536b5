"""The Python API: ``list_models``, ``model_info``, ``create``, ``load`` (``evaluate``: :mod:`ganzoo.metrics`)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from .config import COMPONENT_NAMES, components_to_load
from .errors import ConfigError, NotFoundError, WeightsError, did_you_mean
from .pins import verify_files
from .plugins import get_registry
from .registry import ModelEntry, a_kind, match


def list_models(pattern: Optional[str] = None) -> list[str]:
    """Names of pretrained models, optionally filtered (``"ring8*"``, ``"mnist"``)."""
    return match(get_registry().names("model"), pattern)


def model_info(name: str) -> ModelEntry:
    """The zoo entry (:class:`ganzoo.registry.ModelEntry`) of model ``name`` (a former name works, with a
    :class:`ganzoo.registry.ModelRenamedWarning`); an unknown name raises ``NotFoundError``."""
    return get_registry().model(current_name(name))


def current_name(name: str) -> str:
    """``name``, or the current name of the zoo model that ``name`` used to be (then a
    :class:`ganzoo.registry.ModelRenamedWarning` says ``'old' is now 'new'``)."""
    new = get_registry().renamed(name) if isinstance(name, str) else None
    if new is None:
        return name
    import warnings

    from .registry import ModelRenamedWarning

    warnings.warn(ModelRenamedWarning(f"{name!r} is now {new!r}"), stacklevel=3)
    return new


def list_variants(pattern: Optional[str] = None) -> list[str]:
    """Names of the registered variants (built-in and plugins'), optionally filtered like :func:`list_models`."""
    return match(get_registry().names("variant"), pattern)


def list_objectives(pattern: Optional[str] = None) -> list[str]:
    """Names of the registered objectives, optionally filtered like :func:`list_models`."""
    return match(get_registry().names("objective"), pattern)


def create(variant: str, objective: Optional[str] = None, **config):
    """A fresh, untrained model: ``create("dcgan", "wgan-gp", sample_shape=[3, 32, 32])``."""
    from .model import create as _create

    return _create(variant, objective, **config)


def resolve_folder(ref, *, components: Optional[Iterable[str]] = None) -> Path:
    """Turn a registry name, ``hf://org/repo[@rev]`` or a folder into a verified local folder."""
    if isinstance(ref, str) and not ref.strip():
        raise ConfigError("no model given (an empty name); pass a zoo name (ganzoo list), a model folder or "
                          "hf://org/repo")
    if isinstance(ref, Path) or (isinstance(ref, str) and (ref.startswith((".", "/", "~")) or Path(ref).is_dir())):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise NotFoundError(f"{path} is not a folder; pass a model folder, a zoo name or hf://org/repo")
        return path
    ref = str(ref)
    if ref.startswith("hf://"):
        from . import hub

        repo, _, revision = ref[len("hf://"):].partition("@")
        return hub.download(repo, revision=revision or None, components=components)
    reg = get_registry()
    ref = current_name(ref)
    if not reg.has("model", ref):
        raise NotFoundError(did_you_mean(ref, reg.names("model"), "model") +
                            " (or pass a model folder or hf://org/repo)")
    return entry_folder(reg.model(ref), components=components)


def entry_folder(entry: ModelEntry, *, components: Optional[Iterable[str]] = None) -> Path:
    """The verified local folder of a zoo entry: its bundled copy, else its pinned Hub revision."""
    src = entry.source
    reg = get_registry()
    kind = reg.variant(entry.variant).kind if reg.has("variant", entry.variant) else None
    has = {"gan": ("generator", "discriminator"), "vae": ("generator", "encoder"), "ae": ("generator", "encoder")}
    for c in components or ():
        if kind in has and c not in has[kind]:  # e.g. a GAN's encoder: not a missing pin, a wrong request
            raise ConfigError(f"model {entry.name!r} has no {c}: it is {a_kind(kind)} "
                              f"({entry.variant}) and ships {', '.join(_all_components(src))}")
    wanted = ["config.json"] + [f"{c}.safetensors" for c in components_to_load(components, _all_components(src))]
    if src.get("path") and Path(src["path"]).is_dir():
        from .plugins import provider

        dist = provider(entry.plugin)["distribution"]   # who installed the bundled copy: only a reinstall repairs it
        verify_files(src["path"], src.get("files", {}), wanted, label=f"model {entry.name!r} (bundled)",
                     fix=f". The copy installed with {dist} is damaged: reinstall it (pip install --force-reinstall "
                         f"{dist}); ganzoo pull cannot repair a bundled file")
        return Path(src["path"])
    if src.get("repo"):
        from . import hub

        return hub.download(src["repo"], revision=src.get("revision"), components=components,
                            pins=src.get("files"), label=f"model {entry.name!r}", ref=entry.name)
    raise NotFoundError(f"model {entry.name!r} has neither a bundled copy nor a Hub repo; reinstall ganzoo")


def _all_components(src: dict) -> list[str]:
    return [f[: -len(".safetensors")] for f in src.get("files", {}) if f.endswith(".safetensors")]


def load(ref, *, components: Optional[Iterable[str]] = None, device=None):
    """Load a model by zoo name, ``hf://org/repo[@revision]`` or local folder.

    ``components=["generator"]`` loads (and downloads) only what sampling needs."""
    from .model import load_folder

    if components is not None:
        components = list(components)
        bad = [c for c in components if c not in COMPONENT_NAMES]
        if bad:
            raise ConfigError(f"unknown component {bad[0]!r}; use {', '.join(COMPONENT_NAMES[:-1])} or "
                              f"{COMPONENT_NAMES[-1]}")
    folder = resolve_folder(ref, components=components)
    try:
        return load_folder(folder, components=components, device=device)
    except WeightsError as exc:  # a downloaded file refused: out of the Hub cache, so a retry starts clean
        from .downloads import discard, in_cache
        from .hub_http import settings

        if getattr(exc, "file", None) is not None and in_cache(exc.file, settings().cache_dir):
            discard(exc.file)
        raise

