"""``ganzoo list``, ``ganzoo info``, ``ganzoo plugins``: what is in the zoo (no torch needed)."""

from __future__ import annotations

import json

import click


def _table(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


@click.command("list")
@click.argument("pattern", required=False)
@click.option("--variants", is_flag=True, help="List model variants instead.")
@click.option("--objectives", is_flag=True, help="List training objectives instead.")
@click.option("--datasets", is_flag=True, help="List data sources instead.")
@click.option("--metrics", is_flag=True, help="List evaluation metrics instead.")
@click.option("--formats", is_flag=True, help="List checkpoint formats (ganzoo import / export) instead.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (a JSON list).")
def list_cmd(pattern, variants, objectives, datasets, metrics, formats, as_json):
    """List pretrained models (or variants, objectives, datasets, metrics, formats).

    PATTERN filters names with shell wildcards or a substring.

    \b
    Examples:
      ganzoo list
      ganzoo list 'ring8*' --json
      ganzoo list --variants
    """
    from ..plugins import get_registry
    from ..registry import match, weights_from

    chosen = [w for w, on in (("variant", variants), ("objective", objectives), ("dataset", datasets),
                              ("metric", metrics), ("format", formats)) if on]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(f'--{w}s' for w in chosen)} conflict: pass one of them "
                               "(one list at a time)")
    reg = get_registry()
    what = chosen[0] if chosen else "model"
    items = [reg.get(what, n) for n in match(reg.names(what), pattern)]
    if what == "model":
        data = [e.to_json() for e in items]
        rows = [(e.name, e.variant, e.objective, e.dataset, weights_from(e), e.summary) for e in items]
        headers = ("NAME", "VARIANT", "OBJECTIVE", "DATASET", "WEIGHTS", "SUMMARY")
    elif what == "variant":
        data = [{"name": v.name, "kind": v.kind, "objectives": reg.objectives_for(v.name),
                 "default_objective": v.default_objective, "config": v.defaults, "optimizer": v.optimizer,
                 "summary": v.summary, "plugin": v.plugin} for v in items]
        rows = [(v.name, v.kind, ",".join(reg.objectives_for(v.name)), v.plugin, v.summary) for v in items]
        headers = ("VARIANT", "KIND", "OBJECTIVES", "PLUGIN", "SUMMARY")
    elif what == "objective":
        data = [{"name": o.name, "kind": o.kind, "variants": reg.variants_for(o.name), "d_steps": o.d_steps,
                 "config": o.defaults, "optimizer": o.optimizer, "summary": o.summary, "plugin": o.plugin}
                for o in items]
        rows = [(o.name, o.kind, ",".join(reg.variants_for(o.name)), o.d_steps, o.plugin, o.summary) for o in items]
        headers = ("OBJECTIVE", "KIND", "VARIANTS", "D_STEPS", "PLUGIN", "SUMMARY")
    elif what == "format":
        data = [{"name": f.name, "import": f.importer is not None, "export": f.exporter is not None,
                 "summary": f.summary, "plugin": f.plugin} for f in items]
        rows = [(f.name, ",".join(w for w, on in (("import", f.importer), ("export", f.exporter)) if on), f.plugin,
                 f.summary) for f in items]
        headers = ("FORMAT", "DIRECTIONS", "PLUGIN", "SUMMARY")
    else:
        data = [{"name": i.name, "summary": i.summary, "plugin": i.plugin} for i in items]
        rows = [(i.name, i.plugin, i.summary) for i in items]
        headers = (what.upper(), "PLUGIN", "SUMMARY")
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    elif rows:
        click.echo(_table(rows, headers))
    else:
        click.echo(f"no {what}s match {pattern!r}" if pattern else f"no {what}s registered", err=True)


@click.command("info")
@click.argument("name")
@click.option("--variant", "kind", flag_value="variant", help="NAME is a variant.")
@click.option("--objective", "kind", flag_value="objective", help="NAME is an objective.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_cmd(name, kind, as_json):
    """Show everything about a pretrained model -- its registry entry, then its model card -- or a model
    folder (its config.json and card), a variant or an objective.

    \b
    Examples:
      ganzoo info ring8-mlp-nonsat        # the entry, then the card (how it was trained and measured)
      ganzoo info runs/mnist              # a model folder: its config.json and card
      ganzoo info dcgan --variant
    """
    from dataclasses import asdict
    from pathlib import Path

    from ..plugins import get_registry

    if kind is None and (name.startswith((".", "/", "~")) or Path(name).expanduser().is_dir()):
        return _folder_info(Path(name).expanduser(), as_json)
    reg = get_registry()
    if kind in (None, "model") and reg.renamed(name):
        from ..api import current_name

        name, kind = current_name(name), "model"
    if kind is None:
        kind = next((k for k in ("model", "variant", "objective") if reg.has(k, name)), None)
        if kind is None:
            from ..errors import NotFoundError, did_you_mean

            known = set(reg.names("model")) | set(reg.names("variant")) | set(reg.names("objective"))
            raise NotFoundError(did_you_mean(name, known, "model, variant or objective"))
    item = reg.get(kind, name)
    data = item.to_json() if kind == "model" else {k: v for k, v in asdict(item).items() if not callable(v)}
    for key in ("build", "factory", "resolve_config", "former_defaults"):  # code paths and loading details
        data.pop(key, None)
    if kind == "variant":  # pairing is by kind: every objective of the variant's kind trains it
        data["objectives"] = reg.objectives_for(name)
    elif kind == "objective":
        data["variants"] = reg.variants_for(name)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    click.echo(f"{kind} {name}")
    for key, value in data.items():
        if key != "name":
            _show(key, value, 1)
    if kind == "model":
        from pathlib import Path

        folder = item.source.get("path")
        card = Path(folder) / "README.md" if folder else None
        if card is not None and card.is_file():
            click.echo("\n" + _card_body(card.read_text(encoding="utf-8")))
        elif item.source.get("repo"):
            click.echo(f"\ncard: https://huggingface.co/{item.source['repo']}")


def _folder_info(folder, as_json: bool) -> None:
    """``ganzoo info FOLDER``: the folder's config.json (checked as ganzoo.load checks it) and its card (the
    folder's README.md, else the card ganzoo push would write)."""
    from .. import config as cfgmod
    from ..card import render_card
    from ..errors import NotFoundError

    path = folder / "config.json"
    if not path.is_file():
        raise NotFoundError(f"{folder}: no config.json; is this a ganzoo model folder?")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        from ..errors import ConfigError

        raise ConfigError(f"{path}: not readable JSON ({exc})") from None
    cfg = cfgmod.validate_model_config(cfg, where=str(path))
    if as_json:
        click.echo(json.dumps(cfg, indent=2, sort_keys=True))
        return
    click.echo(f"model folder {folder}")
    for key in ("variant", "objective", "dataset", "latent_dim", "sample_shape", "num_classes", "components",
                "training", "metrics"):
        if key in cfg:
            _show(key, cfg[key], 1)
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else render_card(cfg, sample_image=None)
    click.echo("\n" + _card_body(text))


def _card_body(text: str) -> str:
    """A model card without its YAML front matter (what a reader reads)."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            text = text[end + 5:]
    return text.strip("\n")


def _show(key, value, depth: int) -> None:
    """``key: value`` as plain text: a mapping as indented lines, a list as ``a, b, c``, no Python reprs."""
    pad = "  " * depth
    if isinstance(value, dict):
        if not value:
            click.echo(f"{pad}{key}: -")
        else:
            click.echo(f"{pad}{key}:")
            for k, v in value.items():
                _show(k, v, depth + 1)
    else:
        click.echo(f"{pad}{key}: {_plain(value)}")


def _plain(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) if all(not isinstance(v, (list, tuple, dict)) for v in value) \
            else json.dumps(value, default=str)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(as_json):
    """List loaded plugins, their versions and what each registered.

    \b
    Third-party plugins are found by the entry-point group 'ganzoo'; control loading with
    GANZOO_PLUGINS_ALLOW / GANZOO_PLUGINS_DENY (comma-separated names).
    Example:
      ganzoo plugins --json
    """
    from ..plugins import plugin_infos

    infos = plugin_infos()
    if as_json:
        click.echo(json.dumps([{"name": i.name, "version": i.version, "source": i.source, "module": i.module,
                                "error": i.error, "registered": i.registered} for i in infos], indent=2, sort_keys=True))
        return
    rows = []
    for i in infos:
        what = "; ".join(f"{k}s: {', '.join(v)}" for k, v in i.registered.items()) or "-"
        rows.append((i.name, i.version, i.source, f"BROKEN: {i.error}" if i.error else what))
    click.echo(_table(rows, ("PLUGIN", "VERSION", "SOURCE", "REGISTERED")))
