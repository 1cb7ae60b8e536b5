"""Strict safetensors I/O: every tensor present, right shape and dtype, finite; errors name the
file and the tensor. No pickle anywhere (legacy ``.pt`` import lives in :func:`import_legacy`)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from torch import nn

from .errors import WeightsError, first_line
from . import fsutil
from .fsutil import atomic_path

MAX_HEADER_BYTES = 16 * 1024 * 1024


def state_dict_for_save(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}


def save_module(module: nn.Module, path, metadata: dict | None = None) -> None:
    """Write ``module``'s state dict to ``path`` (atomically) as safetensors, byte for byte the same for the same
    tensors and metadata (:func:`safetensors_bytes`), so equal weights have equal sha256 pins."""
    data = safetensors_bytes(state_dict_for_save(module), {"format": "pt", **(metadata or {})})
    with atomic_path(path) as tmp:
        fsutil.write_chunks(tmp, data)


def safetensors_bytes(tensors: dict, metadata: dict) -> tuple:
    """A safetensors file as (length, header, data) byte strings, deterministic: safetensors itself writes the
    metadata in hash-map order, which changes from process to process; the header is written again here with
    sorted keys (same entries, same offsets, padded to 8 bytes as safetensors pads it)."""
    from safetensors.torch import save

    raw = memoryview(save(tensors, metadata=metadata))
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(bytes(raw[8:8 + n]))
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)), text, raw[8 + n:]


def read_header(path) -> dict:
    """Parse and sanity-check a safetensors header without reading the tensors."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise WeightsError(f"{path}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER_BYTES or n + 8 > size:
                raise WeightsError(f"{path}: corrupt safetensors header (claims {n} bytes; file has {size})")
            header = json.loads(fh.read(n))
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read weights: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WeightsError(f"{path}: corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: corrupt safetensors header")
    data_len = size - 8 - n

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    for name, info in header.items():
        if name == "__metadata__":
            continue
        if (not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys()
                or not isinstance(info["dtype"], str) or not isinstance(info["shape"], list)
                or not all(is_int(d) and d >= 0 for d in info["shape"])
                or not isinstance(info["data_offsets"], list) or len(info["data_offsets"]) != 2
                or not all(is_int(o) for o in info["data_offsets"])):
            raise WeightsError(f"{path}: corrupt entry for tensor {str(name)[:80]!r}")
        start, end = info["data_offsets"]
        if not (0 <= start <= end <= data_len):
            raise WeightsError(f"{path}: tensor {str(name)[:80]!r} points outside the file (truncated?)")
    return header


DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
               torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def check_tensors(path, expected: dict, shapes: dict) -> None:
    """Every tensor of ``expected`` (a state dict) present in ``shapes`` (name -> shape), nothing
    extra, every shape equal; otherwise a :class:`WeightsError` naming the first offending tensor."""
    missing, extra = sorted(expected.keys() - shapes.keys()), sorted(shapes.keys() - expected.keys())
    if missing:
        raise WeightsError(f"{path}: tensor {missing[0]!r} is missing ({len(missing)} missing in all)")
    if extra:
        raise WeightsError(f"{path}: unexpected tensor {extra[0]!r} ({len(extra)} extra in all)")
    for name, ref in expected.items():
        if list(shapes[name]) != list(ref.shape):
            raise WeightsError(
                f"{path}: tensor {name!r} has shape {tuple(shapes[name])}, the model expects {tuple(ref.shape)}")


def load_into(module: nn.Module, path, *, what: str = "weights") -> None:
    """Load ``path`` into ``module`` strictly; raise :class:`WeightsError` naming the tensor."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what}: {path} is missing")
    header = read_header(path)
    expected = module.state_dict()
    check_tensors(path, expected, {k: v["shape"] for k, v in header.items() if k != "__metadata__"})
    for name, ref in expected.items():
        if header[name]["dtype"] != DTYPE_NAMES.get(ref.dtype, "?"):
            raise WeightsError(f"{path}: tensor {name!r} has dtype {header[name]['dtype']}, "
                               f"the model expects {DTYPE_NAMES.get(ref.dtype)}")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: corrupt safetensors file: {exc}") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise WeightsError(f"{path}: tensor {name!r} contains NaN or infinite values")
    module.load_state_dict(tensors, strict=True)


def _legacy_refusal(exc: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, without torch's advice to unpickle it anyway."""
    import pickle
    import re

    text = str(exc)
    found = re.search(r"(?:Unsupported global: |unsupported )GLOBAL ([\w.]+)", text)
    how = "save a plain state dict, torch.save(model.state_dict(), PATH), where the model's code lives, and import that"
    if found:
        return f"it pickles code or objects ({found.group(1)}), which ganzoo never unpickles; {how}"
    if "Weights only load failed" in text or isinstance(exc, pickle.UnpicklingError):
        return f"its pickle holds more than tensors and plain containers, which ganzoo never unpickles; {how}"
    return f"not a PyTorch checkpoint (a .pt/.pth file written by torch.save): torch.load cannot read it"


def import_legacy(path, module: nn.Module, *, key: str | None = None) -> None:
    """Import a legacy ``.pt``/``.pth`` state dict -- explicitly, and never by unpickling code:
    ``torch.load(weights_only=True)`` refuses anything but tensors and plain containers."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch's advice (weights_only=False) is not for a CLI to give
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: refused to import legacy checkpoint: {_legacy_refusal(exc)}") from None
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise WeightsError(f"{path}: no entry {key!r} in the checkpoint")
        obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: not a state dict of tensors (use --key to pick one)")
    expected = module.state_dict()
    check_tensors(path, expected, {k: v.shape for k, v in obj.items()})
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in obj.items()}, strict=True)
