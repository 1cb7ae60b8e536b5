"""The plugin manager: built-in and third-party plugins, loaded lazily, once.

Nothing is loaded when ``ganzoo`` is imported; :func:`get_registry` loads the plugins on first use.
Built-ins (``DEFAULT_PLUGINS``) are registered through the same hooks a third-party plugin uses.
Third-party plugins come only from installed distributions' entry points in the ``ganzoo`` group.

Environment:
  ``GANZOO_PLUGINS_ALLOW``  comma-separated entry-point or distribution names to load (others are
                            skipped; set it empty to load no third-party plugin at all).
  ``GANZOO_PLUGINS_DENY``   comma-separated names never to load.

A plugin that fails to import, or whose hook raises, is reported by name (``ganzoo plugins`` and a
one-line warning on stderr) and the rest keep working.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from .errors import GanzooError, PluginError
from .registry import Registry

ENTRY_POINT_GROUP = "ganzoo"

DEFAULT_PLUGINS = (
    "ganzoo.objectives",
    "ganzoo.data",
    "ganzoo.metrics",
    "ganzoo_plugins.mlp",
    "ganzoo_plugins.dcgan",
    "ganzoo_plugins.resnet",
    "ganzoo_plugins.sagan",
    "ganzoo_plugins.stylegan",
    "ganzoo_plugins.ae",
    "ganzoo_plugins.vae",
    "ganzoo_plugins.vqvae",
    "ganzoo_plugins.infogan",
    "ganzoo_plugins.zoo",
    "ganzoo_plugins.formats",
    "ganzoo_plugins.demo",
)

REGISTER_HOOKS = (  # in this order: every plugin's kinds exist before any variant or objective names one
    "register_kinds",
    "register_variants",
    "register_objectives",
    "register_datasets",
    "register_metrics",
    "register_models",
    "register_formats",
)


@dataclass
class PluginInfo:
    name: str
    version: str
    source: str  # "builtin" or the distribution name
    module: str
    error: str | None = None
    registered: dict = field(default_factory=dict)


class _State:
    def __init__(self):
        self.pm = pluggy.PluginManager("ganzoo")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}


_state: _State | None = None
_lock = threading.Lock()


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def _warn(msg: str) -> None:
    print(f"ganzoo: warning: {msg}", file=sys.stderr)


def _load() -> _State:
    import importlib
    from importlib import metadata

    from . import __version__

    state = _State()
    for modname in DEFAULT_PLUGINS:
        info = PluginInfo(name=modname.rsplit(".", 1)[-1], version=__version__, source="builtin", module=modname)
        try:
            state.pm.register(importlib.import_module(modname), name=info.name)
        except Exception as exc:  # a broken built-in is a bug, but still report it cleanly
            info.error = f"{type(exc).__name__}: {exc}"
        state.plugins[info.name] = info

    allow, deny = _names("GANZOO_PLUGINS_ALLOW"), _names("GANZOO_PLUGINS_DENY") or set()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        if {ep.name, dist} & deny or (allow is not None and not {ep.name, dist} & allow):
            continue
        info = PluginInfo(name=ep.name, version=version, source=dist, module=ep.value)
        if ep.name in state.plugins:
            info.error = f"plugin name {ep.name!r} is already taken by {state.plugins[ep.name].source}"
            state.plugins[f"{ep.name} ({dist})"] = info
            continue
        try:
            state.pm.register(ep.load(), name=ep.name)
        except Exception as exc:
            info.error = f"{type(exc).__name__}: {exc}"
        state.plugins[ep.name] = info

    for hook_name in REGISTER_HOOKS:
        hook = getattr(state.pm.hook, hook_name)
        for impl in hook.get_hookimpls():  # registration order: built-ins first
            info = state.plugins[impl.plugin_name]
            if info.error:
                continue

            def register(item, _plugin=impl.plugin_name):
                state.registry.add(item, _plugin)

            try:
                impl.function(register=register)
            except Exception as exc:
                info.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"
                state.registry.remove_plugin(impl.plugin_name)  # nothing half-registered

    for info in state.plugins.values():
        info.registered = state.registry.by_plugin(info.name)

    for info in state.plugins.values():
        if info.error:
            _warn(f"plugin {info.name!r} ({info.source}) is disabled: {info.error}")
    return state


def _get() -> _State:
    global _state
    if _state is None:
        with _lock:
            if _state is None:
                _state = _load()
    return _state


def get_registry() -> Registry:
    """The registry of everything the loaded plugins registered (loads plugins on first call)."""
    return _get().registry


def get_plugin_manager() -> pluggy.PluginManager:
    return _get().pm


def plugin_infos() -> list[PluginInfo]:
    """Every plugin ganzoo found (built-in and entry points): name, version, source (``"builtin"`` or the
    distribution), module, the error that disabled it (None if it loaded) and what it registered."""
    return list(_get().plugins.values())


def provider(plugin: str) -> dict:
    """Who provides the loaded plugin named ``plugin``: ``{"name", "distribution", "version"}`` (a built-in's
    distribution is ``ganzoo``); what a model's config.json records, so that a folder trained with a plugin
    that is not installed can say which distribution to install."""
    from . import __version__

    info = _get().plugins.get(plugin)
    if info is None or info.source == "builtin":
        return {"name": plugin, "distribution": "ganzoo", "version": __version__}
    return {"name": info.name, "distribution": info.source, "version": info.version}


def register_commands(cli) -> None:
    """Let plugins add CLI commands; a plugin whose hook raises is reported, not fatal, and a command named
    like a built-in one (which would be unreachable) is refused by name."""
    state = _get()
    builtin = set(getattr(cli, "lazy", {}))
    for impl in state.pm.hook.register_commands.get_hookimpls():
        info = state.plugins[impl.plugin_name]
        if info.error:
            continue
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            info.error = f"register_commands failed: {type(exc).__name__}: {exc}"
            _warn(f"plugin {info.name!r} ({info.source}) is disabled: {info.error}")
            continue
        for name in sorted(set(cli.commands) - set(before)) + [n for n in before if cli.commands[n] is not before[n]]:
            if name in builtin or name in before:
                if name in before:
                    cli.commands[name] = before[name]
                else:
                    del cli.commands[name]
                _warn(f"plugin {info.name!r} ({info.source}): command {name!r} is already "
                      f"{'a built-in command' if name in builtin else 'taken'}; it is ignored (rename it)")


def reset() -> None:
    """Forget loaded plugins (tests, or after installing a plugin in-process)."""
    global _state
    with _lock:
        _state = None


__all__ = ["get_registry", "get_plugin_manager", "plugin_infos", "reset", "GanzooError", "PluginError"]
