"""``ganzoo import``: a foreign checkpoint -> an ordinary ganzoo model folder.

The source is read by :mod:`ganzoo.interop.sources` (tensors only, never code); the format is the one
registered importer whose ``sniff`` recognises it (or ``format=``); its :class:`ImportPlan` says which
variant to build and where each tensor goes. This module checks the plan against the built model (every
tensor mapped, every source tensor used, shapes, dtypes, finite values; an error names the source's tensor),
then writes ``config.json``, the safetensors and a model card naming the source, its sha256 and the mapping,
all at once (:func:`ganzoo.fsutil.atomic_dir`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from ..errors import ConfigError, GanzooError, PluginError, WeightsError, first_line
from ..plugins import get_registry
from ..registry import resolve
from .plan import ImportPlan, ImportRequest, Source
from .sources import read_source


def format_object(spec, side: str):
    """The importer or exporter object a :class:`ganzoo.registry.FormatSpec` names (a class is instantiated)."""
    target = getattr(spec, side)
    if target is None:
        other = [f.name for f in get_registry().items("format") if getattr(f, side) is not None]
        verb = "import" if side == "importer" else "export"
        raise ConfigError(f"format {spec.name!r} cannot {verb}; formats that {verb}: {', '.join(other) or '(none)'}")
    obj = resolve(target)
    return obj() if isinstance(obj, type) else obj


def sniff(src: Source) -> str:
    """The name of the one registered format whose importer recognises ``src``."""
    hits = []
    for spec in get_registry().items("format"):
        if spec.importer is None:
            continue
        try:
            ok = format_object(spec, "importer").sniff(src)
        except GanzooError:
            ok = False
        except Exception as exc:  # noqa: BLE001 - a plugin's bug: say whose, and let the others answer
            from ..plugins import _warn

            _warn(f"format {spec.name!r} ({spec.plugin}): sniff failed: {type(exc).__name__}: {first_line(exc)}; "
                  "skipped")
            ok = False
        if ok:
            hits.append(spec.name)
    if len(hits) > 1:
        raise ConfigError(f"{src.name}: several formats recognise it ({', '.join(hits)}); pick one with --format")
    if not hits:
        known = [f.name for f in get_registry().items("format") if f.importer is not None]
        raise WeightsError(f"{src.name}: no importer recognises it ({src.describe()}); formats: {', '.join(known)} "
                           "(pass --format NAME; a plain ganzoo state dict: --format state-dict --variant V)")
    return hits[0]


def import_model(source, out, *, format: Optional[str] = None, discriminator=None, key: Optional[str] = None,
                 variant: Optional[str] = None, objective: Optional[str] = None, config: Optional[dict] = None,
                 component: Optional[str] = None) -> Path:
    """Import ``source`` (a file, a folder or ``hf://org/repo[@rev]``) into the new model folder ``out``.

    ``format``: the importer (default: the one that recognises the source); ``discriminator``: a second
    source holding the discriminator (pytorch/examples' ``netD_*.pth``); ``key``: the entry of a
    checkpoint dict to read (``netG``); ``variant``, ``objective``, ``config``, ``component``: what
    an importer cannot read from the source (see :class:`ImportRequest`). Returns ``out``."""
    from ..fsutil import atomic_dir

    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty folder; choose a new folder")
    src = read_source(source, key=key)
    request = ImportRequest(variant=variant, objective=objective, config=dict(config or {}), component=component,
                            parts={"discriminator": read_source(discriminator)} if discriminator else {})
    name = format or sniff(src)
    spec = get_registry().format(name)
    try:
        plan = format_object(spec, "importer").plan(src, request)
        if not isinstance(plan, ImportPlan):
            raise PluginError(f"format {name!r}: plan() must return a ganzoo.interop.ImportPlan")
        model = build(plan, request, src, name)
    except WeightsError as exc:
        if format is None:
            raise
        try:  # the format was chosen by hand: say if the file is another one ganzoo knows
            other = sniff(src)
        except GanzooError:
            raise exc from None
        if other == format:
            raise
        raise WeightsError(f"{exc}; it is a {other} checkpoint, which `ganzoo import {src.ref} -o DIR` reads "
                           "without --format") from None
    model.meta["training"] = provenance(src, request, name)
    with atomic_dir(out) as tmp:  # the folder appears whole or not at all
        model.save(tmp, components=list(plan.keys))
        write_card(tmp, out, model, src, request, plan, name)
    return out


def build(plan: ImportPlan, request: ImportRequest, src: Source, fmt: str):
    """The model the plan describes, its components filled from the sources (strictly)."""
    from ..model import create

    model = create(plan.variant, request.objective or plan.objective, **{**plan.config, **request.config})
    for comp, mapping in plan.keys.items():
        if comp not in model.components:
            raise ConfigError(f"variant {plan.variant!r} has no {comp}; {fmt} cannot import one")
        source = plan.sources.get(comp, src)
        module = model.components[comp]
        module.load_state_dict(_tensors(module.state_dict(), mapping, source, f"{plan.variant}'s {comp}", fmt),
                               strict=True)
    _check_all_used(plan, src, fmt)
    model.keep_only(plan.keys)
    model.eval()
    return model


def _tensors(expected: dict, mapping: dict, source: Source, who: str, fmt: str) -> dict:
    unmapped = [k for k in expected if k not in mapping]
    if unmapped:
        raise WeightsError(f"{source.name}: nothing in it for {who} tensor {unmapped[0]!r} ({len(unmapped)} in all; "
                           f"format {fmt} found no match)")
    extra = [k for k in mapping if k not in expected]
    if extra:
        raise PluginError(f"format {fmt!r} maps onto {who} tensor {extra[0]!r}, which it does not have")
    out = {}
    for dst, ref in mapping.items():
        want = expected[dst]
        label = f"tensor {ref!r}" if isinstance(ref, str) else f"the tensor computed for {dst!r}"
        t = source.tensors.get(ref) if isinstance(ref, str) else ref
        if not isinstance(t, torch.Tensor):
            raise WeightsError(f"{source.name}: {label} is missing ({who} needs it"
                               + (")" if ref == dst else f" for {dst!r})"))
        if tuple(t.shape) != tuple(want.shape):
            raise WeightsError(f"{source.name}: {label} has shape {tuple(t.shape)}; {who} needs "
                               f"{tuple(want.shape)} for {dst!r}")
        if t.is_floating_point() != want.is_floating_point() or t.is_complex():
            raise WeightsError(f"{source.name}: {label} has dtype {str(t.dtype).replace('torch.', '')}; {who} "
                               f"needs {str(want.dtype).replace('torch.', '')} for {dst!r}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise WeightsError(f"{source.name}: {label} contains NaN or infinite values")
        out[dst] = t.detach().to(dtype=want.dtype, device="cpu").clone()
    return out


def _check_all_used(plan: ImportPlan, src: Source, fmt: str) -> None:
    """A source tensor the plan neither maps nor ignores means the network is not the one recognised."""
    ignored = tuple(plan.ignored)
    by_source: dict[int, tuple[Source, set]] = {}
    for comp, mapping in plan.keys.items():
        source = plan.sources.get(comp, src)
        by_source.setdefault(id(source), (source, set()))[1].update(v for v in mapping.values() if isinstance(v, str))
    for source, used in by_source.values():
        unused = [k for k in source.tensors
                  if k not in used and not any(k == i or (i.endswith(".") and k.startswith(i)) for i in ignored)]
        if unused:
            raise WeightsError(f"{source.name}: tensor {unused[0]!r} is not part of the network format {fmt} "
                               f"recognised ({len(unused)} unused); is it a different network?")


def provenance(src: Source, request: ImportRequest, fmt: str) -> dict:
    """The ``training`` record of an imported model: where it came from, byte for byte."""
    files = dict(src.files)
    for part in request.parts.values():
        files.update(part.files)
    record = {"imported_from": src.ref, "import_format": fmt, "source_sha256": files}
    if src.revision:
        record["source_revision"] = src.revision
    for comp, part in request.parts.items():
        record[f"imported_{comp}_from"] = part.ref
    return record


def write_card(folder: Path, out: Path, model, src: Source, request: ImportRequest, plan: ImportPlan,
               fmt: str) -> None:
    """The model card: the source, its sha256, how the config was read, the key map, how to fine-tune."""
    from ..card import render_card
    from ..fsutil import atomic_write_text
    from ..model import read_config

    lines = [f"Imported by `ganzoo import` (format `{fmt}`) from `{src.ref}`"
             + (f" at commit `{src.revision}`" if src.revision else "") + "."]
    lines += [""] + [f"- `{name}`: sha256 `{digest}`" for name, digest in provenance(src, request, fmt)
                     ["source_sha256"].items()]
    if plan.notes:
        lines += ["", "How the configuration was read:", ""] + [f"- {n}" for n in plan.notes]
    for comp, mapping in plan.keys.items():
        where = plan.sources.get(comp, src).ref
        lines += ["", f"The {comp} (from `{where}`), ganzoo tensor ← source tensor:", "",
                  "| ganzoo | source |", "|---|---|"]
        lines += [f"| `{dst}` | " + (f"`{ref}`" if isinstance(ref, str) else "(computed by the importer)") + " |"
                  for dst, ref in mapping.items()]
    lines += ["", "Fine-tune it like any ganzoo model:", "", "```bash",
              f"ganzoo train {model.variant} --init {out} --data DATA --out RUN", "```"]
    text = render_card(read_config(folder), sample_image=None, provenance=lines)
    atomic_write_text(folder / "README.md", text)

