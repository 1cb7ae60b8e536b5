"""What a stranger's file or a user's request may make ganzoo spend, priced before it is spent.

* **Parameters.** Every model a config describes (``ganzoo.create``, a training run, a folder's
  ``config.json``, a zoo entry, a Hub repo) is first built on PyTorch's ``meta`` device, which records
  shapes and allocates nothing, and counted (:func:`price`): parameters and buffers together, at most
  :func:`max_parameters` (``GANZOO_MAX_PARAMETERS``, default 200,000,000: 800 MB of float32) in at most
  :data:`MAX_TENSORS` tensors. Only then is it built for real. A build that cannot run on the meta
  device is built under a guard that stops it once its allocations pass twice the limit.
* **Output memory.** A command that makes samples, walks, codes or pictures in memory calls
  :func:`check_output_memory` with the array it will hold, before making it: at most
  :func:`max_output_bytes` (``GANZOO_MAX_OUTPUT_MEMORY`` in bytes, default 2 GiB; suffixes K, M, G).
* **Downloads** are bounded by what the Hub announces and by what the config's model needs
  (:mod:`ganzoo.hub`, with :func:`weights_bound`).

Every refusal is a :class:`~ganzoo.errors.TooLargeError`: one line naming what asked, how much, the
limit and how to get it (fewer samples, or the variable that raises the limit).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass

from .errors import ConfigError, TooLargeError

DEFAULT_MAX_PARAMETERS = 200_000_000
DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024**3
MAX_TENSORS = 10_000             # a build making more tensors than this is refused (65,536 layers per resolution ...)
HEADER_ALLOWANCE = 1024**2       # a weights file may be this much larger than its tensors (header, metadata)
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _env_number(name: str, default: int, *, sizes: bool = False) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    m = re.fullmatch(r"([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[0-9]+)?)\s*([KMGT]?)(?:i?B)?", raw, flags=re.I)
    if m is None or (m.group(2) and not sizes):
        unit = " (or with a suffix K, M, G: 4G)" if sizes else ""
        raise ConfigError(f"{name} must be a whole number{unit}, not {raw!r}")
    value = int(float(m.group(1).replace("_", "").replace(",", "")) * UNITS[m.group(2).upper()])
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {raw!r}")
    return value


def max_parameters() -> int:
    """The most parameters (and buffer values) a model may have: ``GANZOO_MAX_PARAMETERS``, default 200,000,000."""
    return _env_number("GANZOO_MAX_PARAMETERS", DEFAULT_MAX_PARAMETERS)


def max_output_bytes() -> int:
    """The most bytes a command may hold as its output: ``GANZOO_MAX_OUTPUT_MEMORY`` (``4G``, ``500M`` or bytes),
    default 2 GiB."""
    return _env_number("GANZOO_MAX_OUTPUT_MEMORY", DEFAULT_MAX_OUTPUT_BYTES, sizes=True)


def human_bytes(n: float) -> str:
    """``24,000 bytes`` below 1 MiB, else ``18.7 GiB`` (binary units, as the budget's suffixes are)."""
    if n < 1024**2:
        return f"{int(n):,} bytes"
    for unit, size in (("MiB", 1024**2), ("GiB", 1024**3)):
        if n < size * 1024:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1024**4:,.1f} TiB"


# -- output memory ---------------------------------------------------------------------------------------
def check_output_memory(count: int, item_shape, *, what: str, advice: str, bytes_per_value: int = 4,
                        extra_per_item: int = 0) -> int:
    """Refuse (:class:`TooLargeError`) a request for ``count`` items of ``item_shape`` values each
    (float32: ``bytes_per_value`` 4, plus ``extra_per_item`` bytes per item, e.g. the picture drawn of it)
    that would hold more than :func:`max_output_bytes` in memory; returns the bytes it needs. ``what``
    names the request ("sample: 100,000 walks of 64 steps"), ``advice`` says how to ask for less, and
    the message adds how many items fit::

        check_output_memory(n * steps, model.sample_shape, what=f"{n:,} walks of {steps} steps",
                            advice="ask for fewer walks (-n) or fewer --steps")
    """
    per_item = math.prod(int(s) for s in item_shape) * bytes_per_value + extra_per_item
    need = int(count) * per_item
    limit = max_output_bytes()
    if need > limit:
        fits = limit // max(per_item, 1)
        fit = f"up to {fits:,} fit" if fits else "not even one fits"
        raise TooLargeError(
            f"{what} need {human_bytes(need)} in memory ({count:,} x {list(item_shape)} values), over the "
            f"{human_bytes(limit)} budget; {advice} ({fit}), or raise GANZOO_MAX_OUTPUT_MEMORY",
            need=need, limit=limit)
    return need


# -- parameters ------------------------------------------------------------------------------------------
@dataclass
class Price:
    """What a built model holds: ``parameters`` (parameter and buffer values, all components) and
    ``nbytes`` (component name -> bytes of its state dict: what its weights file holds)."""

    parameters: int
    nbytes: dict


class _Counting:
    """What a build has made so far: tensors made by factory calls, and the values in them (temporaries too).
    Over :data:`MAX_TENSORS` tensors, or ``factor`` times the parameter limit in values, it is stopped: on the
    meta device (``factor`` 64) that only stops a runaway build early, for real (2) it is the price."""

    def __init__(self, what: str, limit: int, factor: int):
        self.what, self.limit, self.most, self.values, self.calls = what, limit, factor * limit, 0, 0

    def made(self, func, args, kwargs) -> None:
        size = _factory_size(func, args, kwargs)
        if size is None:
            return
        self.calls += 1
        if self.calls > MAX_TENSORS:
            raise TooLargeError(f"{self.what} makes more than {MAX_TENSORS:,} tensors while being built; refusing it",
                                need=self.calls, limit=MAX_TENSORS)
        self.values += size
        if self.values > self.most:
            raise TooLargeError(f"{self.what} allocates more than {self.most:,} values while being built, "
                                f"over the limit of {self.limit:,} parameters; set GANZOO_MAX_PARAMETERS to raise it",
                                need=self.values, limit=self.limit)


def _mode(counting: _Counting, *, meta: bool):
    """A dispatch mode that counts what a build makes (:class:`_Counting`) and, on the meta device, gives a
    value read from a meta tensor (``.item()``, ``float(t)``, ``if t``, ``torch.equal``, ``nonzero``) a
    stand-in, since only shapes matter for a count."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            first = args[0] if args else None
            if meta and isinstance(first, torch.Tensor) and first.is_meta:
                if func is aten._local_scalar_dense.default:
                    return True if first.dtype == torch.bool else (1.0 if first.is_floating_point() else 1)
                if func is aten.nonzero.default:  # as if every element were nonzero
                    return torch.empty((first.numel(), first.dim()), dtype=torch.long, device="meta")
                if func is aten.equal.default:
                    return True
            counting.made(func, args, kwargs)
            return func(*args, **kwargs)

    return Mode()


@contextlib.contextmanager
def on_meta(what: str = "this model"):
    """Build on the meta device (nothing allocated), value reads answered by stand-ins, stopped when the build
    runs away (:data:`MAX_TENSORS` tensors, or 64 times :func:`max_parameters` values)."""
    import torch

    with torch.device("meta"), _mode(_Counting(what, max_parameters(), 64), meta=True):
        yield


def price(build, config: dict, *, what: str) -> Price | None:
    """Build ``build(**config)`` on the meta device and count it; refuse it over :func:`max_parameters`
    (:class:`TooLargeError` naming ``what``: "variant 'mlp' with this config"). None when the build cannot
    run on the meta device (then :func:`guarded` builds it). A :class:`~ganzoo.errors.GanzooError` of the
    build (a config the variant refuses) is raised as it is."""
    from .errors import GanzooError

    try:
        with on_meta(what):
            comps = build(**config)
    except GanzooError:
        raise
    except Exception:  # noqa: BLE001 - a build that needs real values: priced by the guard instead
        return None
    if not isinstance(comps, dict):
        return None  # create() names the broken plugin
    nbytes, values = {}, 0
    for name, module in comps.items():
        state = list(module.state_dict().values()) if hasattr(module, "state_dict") else []
        nbytes[name] = sum(t.numel() * t.element_size() for t in state)
        values += sum(t.numel() for t in state)
    check_parameters(values, what=what)
    return Price(values, nbytes)


def check_parameters(count: int, *, what: str) -> None:
    limit = max_parameters()
    if count > limit:
        raise TooLargeError(f"{what} has {count:,} parameters, over the limit of {limit:,}; "
                            "set GANZOO_MAX_PARAMETERS to raise it", need=count, limit=limit)


def guarded(build, config: dict, *, what: str):
    """``build(**config)`` for real, stopped (:class:`TooLargeError`) once the tensors it has made hold more
    than twice :func:`max_parameters` values: the price of a build that cannot run on the meta device."""
    with _mode(_Counting(what, max_parameters(), 2), meta=False):
        return build(**config)


def _factory_size(func, args, kwargs):
    """The number of values a tensor-making aten call will allocate (None: not a factory call)."""
    import torch

    name = func.__name__.split(".")[0] if hasattr(func, "__name__") else ""
    if name in ("empty", "zeros", "ones", "full", "randn", "rand", "empty_strided", "new_empty", "new_zeros",
                "new_ones", "new_full", "randint", "normal"):
        for a in list(args) + [kwargs.get("size")]:
            if isinstance(a, (list, tuple, torch.Size)) and all(isinstance(d, int) for d in a):
                return math.prod(a)
        return None
    if name.endswith("_like") and args and isinstance(args[0], torch.Tensor):
        return args[0].numel()
    return None


def weights_bound(nbytes: int) -> int:
    """The most bytes a safetensors file of tensors holding ``nbytes`` may have: theirs, the 8-byte length
    and a header of at most :data:`HEADER_ALLOWANCE` bytes."""
    return int(nbytes) + 8 + HEADER_ALLOWANCE
