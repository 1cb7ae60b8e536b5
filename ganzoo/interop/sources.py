"""Reading a stranger's checkpoint -- tensors only, never code.

:func:`read_source` turns what a user names (a ``.pth``/``.pt``/``.bin``/``.safetensors`` file, a folder
with ``config.json`` and weights, or ``hf://org/repo[@rev]``) into a :class:`Source`: the tensors by
flat dotted name, the folder's ``config.json`` and the sha256 of every file read. Pickles are read with
``torch.load(weights_only=True)`` alone: a file that carries code or any other Python object is refused
without running it. Sizes are priced first (:data:`MAX_BYTES`, ``GANZOO_IMPORT_MAX_BYTES``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Optional

import torch

from ..errors import ConfigError, NotFoundError, WeightsError, first_line
from .plan import Source

MAX_BYTES = 4 * 1024**3          # a checkpoint (its tensors, unpacked) larger than this is refused unread
MAX_CONFIG_BYTES = 1024 * 1024   # config.json
MAX_TENSORS = 100_000
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar")
#: weights files of a folder or Hub repo, in the order they are looked for (PyTorchModelHubMixin's names)
FOLDER_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def max_bytes() -> int:
    raw = os.environ.get("GANZOO_IMPORT_MAX_BYTES")
    if raw is None:
        return MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"GANZOO_IMPORT_MAX_BYTES must be a whole number of bytes, not {raw!r}") from None
    return max(1, value)


def read_source(ref, *, key: Optional[str] = None) -> Source:
    """Read ``ref`` (a file, a folder or ``hf://org/repo[@rev]``); ``key`` keeps only the entry of that
    name (``netG`` of ``{"netG": ..., "netD": ...}``), its prefix removed."""
    text = str(ref)
    if text.startswith("hf://"):
        src = _read_hub(text)
    else:
        path = Path(text).expanduser()
        if path.is_dir():
            src = _read_folder(path, text)
        elif path.is_file():
            tensors, values = read_weights(path)
            src = Source(text, tensors, values=values, files={path.name: _sha256(path)})
        else:
            raise NotFoundError(f"{text}: no such file or folder")
    return select(src, key) if key else src


def select(src: Source, key: str) -> Source:
    prefix = key.rstrip(".") + "."
    tensors = {k[len(prefix):]: v for k, v in src.tensors.items() if k.startswith(prefix)}
    if not tensors:
        tops = sorted({k.split(".", 1)[0] for k in src.tensors})
        raise WeightsError(f"{src.name}: no entry {key!r} holding tensors (top-level entries: "
                           f"{', '.join(tops[:8]) or 'none'})")
    values = {k[len(prefix):]: v for k, v in src.values.items() if k.startswith(prefix)}
    return Source(src.ref, tensors, config=src.config, values=values, files=src.files, revision=src.revision)


def read_weights(path: Path) -> tuple[dict, dict]:
    """(tensors, values) of one weights file: safetensors by its strict reader, anything else as a
    PyTorch checkpoint with ``torch.load(weights_only=True)``."""
    limit = max_bytes()
    size = path.stat().st_size
    if size > limit:
        raise WeightsError(f"{path}: {size:,} bytes is more than the import limit of {limit:,} "
                           "(GANZOO_IMPORT_MAX_BYTES raises it)")
    if path.suffix == ".safetensors":
        return _read_safetensors(path), {}
    named = _price(path, limit)
    obj = _torch_load(path, named)
    tensors, values = {}, {}
    _flatten(obj, "", tensors, values, path)
    if not tensors:
        raise WeightsError(f"{path}: holds no tensors; is it a checkpoint?")
    return tensors, values


def _price(path: Path, limit: int) -> list:
    """A zip checkpoint (torch.save's format) is refused when its members unpack to more than ``limit``;
    a legacy one by :func:`_price_legacy` (which returns the globals it names)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return _price_legacy(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable PyTorch checkpoint ({first_line(exc)})") from None
    total = sum(i.file_size for i in infos)
    if total > limit or len(infos) > MAX_TENSORS + 16:
        raise WeightsError(f"{path}: unpacks to {total:,} bytes in {len(infos):,} entries, more than the import "
                           f"limit of {limit:,} bytes (GANZOO_IMPORT_MAX_BYTES raises it)")
    return []


def _price_legacy(path: Path) -> list:
    """The legacy format allocates each storage at its declared size before reading it: a truthful file
    holds every byte it declares, so a declaration larger than the file is refused unread. Returns the
    globals outside torch that its pickles name (for the refusal, should torch refuse them)."""
    from .pickles import storage_bytes

    try:
        with open(path, "rb") as fh:
            declared, named = storage_bytes(fh)
    except (ValueError, EOFError, OSError, UnicodeDecodeError, RecursionError) as exc:
        raise WeightsError(f"{path}: refused: not a checkpoint of tensors ganzoo can read without running code "
                           f"({first_line(exc, 120)})") from None
    size = path.stat().st_size
    if declared > size:
        raise WeightsError(f"{path}: refused: its tensors declare {declared:,} bytes but the file holds only "
                           f"{size:,} (truncated or crafted)")
    return named


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_OPERAND = re.compile(r"Unsupported operand \d+")


def _torch_load(path: Path, named: list):
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True, mmap=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError,
            IndexError, OSError, UnicodeDecodeError, MemoryError) as exc:
        text = str(exc)
        found = _GLOBAL.search(text)
        if found or named:
            raise WeightsError(
                f"{path}: refused: the checkpoint holds a pickled Python object "
                f"({found.group(1) if found else named[0]}), not only "
                "tensors; ganzoo never runs code from a file (save the state dict alone and import that)") from None
        op = _OPERAND.search(text)
        why = op.group(0) if op else first_line(exc, 160)
        if text.startswith("Weights only load failed") and not op:
            why = "not a tensor-only pickle"
        raise WeightsError(f"{path}: refused: not a checkpoint of tensors ganzoo can read without running code "
                           f"({why})") from None


def _flatten(obj, name: str, tensors: dict, values: dict, path: Path, depth: int = 0) -> None:
    """Nested dicts and lists of tensors -> ``tensors`` by dotted name; plain leaves -> ``values``."""
    if depth > 16:
        raise WeightsError(f"{path}: nested more than 16 levels deep; is it a checkpoint?")
    if isinstance(obj, torch.Tensor):
        if len(tensors) >= MAX_TENSORS:
            raise WeightsError(f"{path}: more than {MAX_TENSORS:,} tensors; is it a checkpoint?")
        tensors[name or "tensor"] = obj
    elif isinstance(obj, (dict, list, tuple)):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for k, v in items:
            _flatten(v, f"{name}.{k}" if name else str(k), tensors, values, path, depth + 1)
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        values[name or "value"] = obj


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ..weights import read_header

    header = read_header(path)  # priced and sanity-checked before any tensor is read
    if len(header) > MAX_TENSORS:
        raise WeightsError(f"{path}: more than {MAX_TENSORS:,} tensors; is it a checkpoint?")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: corrupt safetensors file: {first_line(exc)}") from None


def read_config(path: Path) -> dict:
    """A foreign ``config.json``: a JSON object of at most :data:`MAX_CONFIG_BYTES`."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is too large for a config (limit {MAX_CONFIG_BYTES:,})")
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read: {first_line(exc)}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({getattr(exc, 'msg', 'too deeply nested')})") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: must be a JSON object, not {type(cfg).__name__}")
    return cfg


def _read_folder(folder: Path, ref: str, *, revision: Optional[str] = None) -> Source:
    cfg_path = folder / "config.json"
    config = read_config(cfg_path) if cfg_path.is_file() else None
    if config is not None and config.get("format", "") == "ganzoo/1":
        raise ConfigError(f"{ref} is already a ganzoo model folder; load it as it is (ganzoo.load, ganzoo sample)")
    weights = next((folder / n for n in FOLDER_WEIGHTS if (folder / n).is_file()), None)
    if weights is None:
        raise NotFoundError(f"{ref}: no weights file; expected one of {', '.join(FOLDER_WEIGHTS)} "
                            "(what PyTorchModelHubMixin.save_pretrained writes)")
    tensors, values = read_weights(weights)
    files = {weights.name: _sha256(weights)}
    if config is not None:
        files["config.json"] = _sha256(cfg_path)
    return Source(ref, tensors, config=config, values=values, files=files, revision=revision)


def _read_hub(ref: str) -> Source:
    from ..hub import download_files

    repo, _, revision = ref[len("hf://"):].partition("@")
    folder, commit = download_files(repo, revision=revision or None, files=("config.json",),
                                    one_of=FOLDER_WEIGHTS, label=ref)
    return _read_folder(folder, ref, revision=commit)


def _sha256(path: Path) -> str:
    from ..fsutil import sha256_file

    return sha256_file(path)
