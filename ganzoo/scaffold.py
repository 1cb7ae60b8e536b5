"""``ganzoo new-plugin``: write a pip-installable plugin package from ``ganzoo/templates/plugin``.

For ``NAME = "my-gan"`` the package is::

    ganzoo-my-gan/                     (DIR; the default)
      pyproject.toml                   distribution ganzoo-my-gan, entry point  my-gan = "ganzoo_my_gan.plugin"
      README.md
      ganzoo_my_gan/__init__.py
      ganzoo_my_gan/plugin.py          @hookimpl register_variants -> VariantSpec("my-gan", ...)
      ganzoo_my_gan/model.py           the generator, the discriminator and build()
      ganzoo_my_gan/objective.py       my-gan-rsgan: a relativistic GAN objective on the step contract
      tests/test_my_gan.py

Templates are plain files with ``{{key}}`` placeholders (in contents and in paths) and a
``.tmpl`` suffix, so neither pytest nor setuptools mistakes them for code; ``dot-NAME`` becomes
``.NAME``. Everything is written into a temporary folder next to DIR and renamed into place at the
end, so a failure never leaves a half-written package behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from .errors import ConfigError
from .fsutil import follow_umask

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MAX_NAME = 40
TEMPLATE = "plugin"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")


def check_name(name: str) -> str:
    """Validate a plugin NAME: lowercase letters, digits and single '-' between them."""
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"bad plugin name {name!r}: use lowercase letters, digits and '-', starting with a letter "
            f"(at most {MAX_NAME} characters), e.g. 'my-gan'"
        )
    return name


def names_for(name: str) -> dict:
    """The names derived from NAME that the templates use."""
    from . import __version__

    check_name(name)
    module = name.replace("-", "_")
    major, minor = (int(p) for p in __version__.split(".")[:2])
    major_minor, next_release = f"{major}.{minor}", (f"0.{minor + 1}" if major == 0 else f"{major + 1}")
    return {
        "name": name,                                   # variant and entry-point (plugin) name
        "dist": f"ganzoo-{name}",                       # distribution name (pip install ...)
        "package": f"ganzoo_{module}",                  # import package
        "module": module,                               # tests/test_<module>.py
        "class_prefix": "".join(part.capitalize() for part in name.split("-")),
        "ganzoo_version": major_minor,                  # the plugin depends on ganzoo>=this,<ganzoo_next
        "ganzoo_next": next_release,
    }


def _check_not_taken(values: dict) -> None:
    """Refuse names that would clash with what ganzoo already has (a reinstall of the same
    distribution is fine). Loading the registry imports no torch."""
    from .plugins import get_registry, plugin_infos

    name = values["name"]
    infos = {i.name: i for i in plugin_infos()}
    taken = infos.get(name)
    if taken is not None and taken.source != values["dist"]:
        who = "a built-in ganzoo plugin" if taken.source == "builtin" else taken.source
        raise ConfigError(f"plugin name {name!r} is taken by {who}; pick another NAME")
    reg = get_registry()
    if reg.has("variant", name):
        owner = infos.get(reg.variant(name).plugin)
        if owner is None or owner.source != values["dist"]:
            who = owner.source if owner else reg.variant(name).plugin
            raise ConfigError(f"variant {name!r} already exists (from {who}); pick another NAME")


def _render(text: str, values: dict, where: str) -> str:
    def sub(m):
        key = m.group(1)
        if key not in values:
            raise ConfigError(f"template {where}: unknown placeholder {{{{{key}}}}}")  # a ganzoo bug
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def _target_name(part: str, values: dict, where: str) -> str:
    part = _render(part, values, where)
    if part.endswith(".tmpl"):
        part = part[: -len(".tmpl")]
    if part.startswith("dot-"):
        part = "." + part[len("dot-"):]
    return part


def _copy_tree(src, dest: Path, values: dict, rel: str = "") -> list[str]:
    written = []
    for entry in sorted(src.iterdir(), key=lambda e: e.name):
        if entry.name in ("__pycache__",) or entry.name.endswith((".pyc", ".pyo")):
            continue
        where = f"{rel}{entry.name}"
        target = dest / _target_name(entry.name, values, where)
        if entry.is_dir():
            target.mkdir()
            written += _copy_tree(entry, target, values, f"{where}/")
        else:
            text = entry.read_text(encoding="utf-8")
            target.write_text(_render(text, values, where), encoding="utf-8", newline="\n")
            written.append(where)
    return written


def default_dest(name: str) -> Path:
    return Path(f"ganzoo-{check_name(name)}")


def new_plugin(name: str, dest=None, *, check_taken: bool = True) -> Path:
    """Write the plugin package for NAME into ``dest`` (default ``./ganzoo-NAME``); return its path.

    ``dest`` must not exist or be an empty folder. Raises :class:`ConfigError` (one line) on a bad
    name or an occupied destination."""
    values = names_for(name)
    if dest is not None and not str(dest).strip():
        raise ConfigError("DIR is empty; name the folder to write the plugin into (default: ./ganzoo-NAME)")
    dest = Path(dest) if dest is not None else default_dest(name)
    dest = Path(os.path.abspath(dest))
    if dest.exists():
        if not dest.is_dir():
            raise ConfigError(f"{dest} exists and is not a folder; choose another DIR")
        if any(dest.iterdir()):
            raise ConfigError(f"{dest} exists and is not empty; refusing to overwrite it (choose another DIR)")
    if check_taken:
        _check_not_taken(values)

    template = resources.files("ganzoo") / "templates" / TEMPLATE
    if not template.is_dir():
        raise ConfigError("ganzoo's plugin template is missing from this installation; reinstall ganzoo")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as exc:
        raise ConfigError(f"cannot create {dest} ({exc.strerror or exc}); choose a DIR in a folder you can "
                          "write to") from None
    moved = []
    try:
        written = _copy_tree(template, tmp, values)
        if not written:
            raise ConfigError("ganzoo's plugin template is empty; reinstall ganzoo")
        follow_umask(tmp, 0o777)
        if dest.exists():  # an empty folder (perhaps the current one): fill it, keep the folder itself
            for entry in sorted(tmp.iterdir()):
                os.replace(entry, dest / entry.name)
                moved.append(dest / entry.name)
            tmp.rmdir()
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for entry in moved:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        raise
    return dest


__all__ = ["new_plugin", "check_name", "names_for", "default_dest"]
