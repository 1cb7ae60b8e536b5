"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``checkpoints/step-00001000/`` holding ``state.safetensors`` (model,
EMA, optimiser state tensors, RNG states, the data order) and ``state.json`` (step, optimiser
hyper-parameters, training arguments, the sha256 of the tensor file). It is written into a
hidden temp folder, fsynced and renamed into place, then the ``latest`` pointer is replaced
atomically; only the newest ``keep`` checkpoints are kept. A reader trusts only folders named
``step-*`` whose JSON parses and whose tensor file matches its digest, so a run killed at any
moment leaves either a complete checkpoint or nothing it will ever pick up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Optional

import torch

from ..errors import DiskFullError, TrainingError
from ..fsutil import atomic_write_text, follow_umask, is_disk_full, sha256_file

FORMAT = "ganzoo-checkpoint/1"
TENSORS, META = "state.safetensors", "state.json"
NAME = re.compile(r"^step-(\d{8,})$")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


# -- optimiser state <-> (tensors, JSON) -----------------------------------------------------------
def _jsonable(value):
    if isinstance(value, tuple):
        return {"__tuple__": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:  # a learning rate kept on the GPU (--cuda-graphs)
        return float(value)
    raise TrainingError(f"checkpoint: cannot store optimiser value of type {type(value).__name__}")


def _unjson(value):
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_unjson(v) for v in value["__tuple__"])
        return {k: _unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def split_optimizer(prefix: str, state_dict: dict, tensors: dict) -> dict:
    """Move an optimiser state dict's tensors into ``tensors``; return the JSON-able rest."""
    meta_state = {}
    for idx, entries in state_dict["state"].items():
        plain = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                plain[key] = _jsonable(value)
        meta_state[str(idx)] = plain
    return {"state": meta_state, "param_groups": _jsonable(state_dict["param_groups"])}


def join_optimizer(prefix: str, meta: dict, tensors: dict) -> dict:
    state: dict = {int(i): dict(_unjson(v)) for i, v in meta["state"].items()}
    head = prefix + "."
    for name, t in tensors.items():
        if name.startswith(head):
            idx, _, key = name[len(head):].partition(".")
            state.setdefault(int(idx), {})[key] = t
    return {"state": state, "param_groups": _unjson(meta["param_groups"])}


# -- folders ----------------------------------------------------------------------------------------
def step_name(step: int) -> str:
    return f"step-{step:08d}"


def write(root, step: int, tensors: dict, meta: dict, *, keep: int = 2) -> Path:
    """Write checkpoint ``step`` under ``root`` atomically, point ``latest`` at it, prune old ones."""
    from safetensors.torch import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_name(step)
    tmp = root / f".tmp-{step_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / TENSORS),
                  metadata={"format": FORMAT})
        follow_umask(tmp / TENSORS)  # (safetensors writes 0600)
        _fsync_file(tmp / TENSORS)
        meta = dict(meta, format=FORMAT, step=int(step), tensors_sha256=sha256_file(tmp / TENSORS))
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        _fsync_file(tmp / META)
        _fsync_dir(tmp)
        if final.exists():  # re-writing the same step (e.g. after a resume): replace it whole
            old = root / f".old-{step_name(step)}-{os.getpid()}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
        _fsync_dir(root)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(exc):
            raise _disk_full(root, step, exc) from None
        raise
    try:
        atomic_write_text(root / "latest", final.name + "\n")
    except DiskFullError as exc:  # the new folder is complete; ``latest`` still names the previous one
        raise _disk_full(root, step, exc) from None
    prune(root, keep=keep)
    return final


def _disk_full(root: Path, step: int, exc: OSError) -> DiskFullError:
    prev = find_latest(root)
    kept = f"the previous checkpoint ({prev.name}) is kept" if prev is not None else "no earlier checkpoint exists"
    reason = getattr(exc, "strerror", None) or "No space left on device"
    return DiskFullError(f"checkpoint {step_name(step)} not saved: disk full in {root} ({reason}); {kept}. "
                         "Free some space, then continue with --resume")


def prune(root, *, keep: int = 2) -> None:
    """Drop all but the newest ``keep`` checkpoints and any leftover temp folders."""
    root = Path(root)
    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.name.startswith((".tmp-", ".old-")):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    steps = sorted(p for p in root.iterdir() if NAME.match(p.name) and p.is_dir())
    for p in steps[: max(0, len(steps) - keep)]:
        shutil.rmtree(p, ignore_errors=True)


def _valid(folder: Path) -> Optional[dict]:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        if sha256_file(folder / TENSORS) != meta.get("tensors_sha256"):
            return None
        return meta
    except (OSError, ValueError):
        return None


def find_latest(root) -> Optional[Path]:
    """The checkpoint ``latest`` points at, else the newest valid ``step-*`` folder, else None."""
    root = Path(root)
    if not root.is_dir():
        return None
    with contextlib.suppress(OSError):
        name = (root / "latest").read_text(encoding="utf-8").strip()
        if NAME.match(name) and _valid(root / name) is not None:
            return root / name
    for p in sorted((p for p in root.iterdir() if NAME.match(p.name)), reverse=True):
        if _valid(p) is not None:
            return p
    return None


def skipped_newer(root, chosen: Path) -> list[str]:
    """Checkpoints newer than ``chosen`` (the one :func:`find_latest` picked) that exist but are
    incomplete or corrupt (checked again here), newest first: what a resume falls back past."""
    return sorted((p.name for p in Path(root).iterdir()
                   if NAME.match(p.name) and p.name > chosen.name and _valid(p) is None), reverse=True)


def read(folder) -> tuple[dict, dict]:
    """(tensors, meta) of a checkpoint folder, verified against its digest."""
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = _valid(folder)
    if meta is None and not folder.is_dir():  # not corrupt: gone (removed by something else since it was found)
        raise TrainingError(f"checkpoint {folder} no longer exists; run the command again")
    if meta is None:
        raise TrainingError(f"checkpoint {folder} is incomplete or corrupt; delete it to fall back to an older one")
    return load_file(str(folder / TENSORS)), meta
