"""Latents and sampling options: where a generator's random numbers come from, and what a user may ask of
its samples.

* :class:`RandomSource` -- the random numbers of one latent draw. With a ``seed``, a CPU
  ``torch.Generator`` of its own (same seed, same latent on every device; the values are moved to
  ``device``); without one, torch's global RNG directly on ``device`` (the training step's draw: no host
  synchronisation, capturable in a CUDA graph, restored by ``--resume`` with the RNG state).
* :class:`SamplingOption` -- one option a generator understands (``Generator.sampling_options``): its
  help, type, default and bounds or choices. :meth:`SamplingOption.check` validates a value,
  :meth:`SamplingOption.describe` is the JSON a user interface builds its control from.
* :data:`TRUNCATION` -- the option every generator takes unless it says otherwise: ``truncation=psi`` draws
  z from the normal truncated to [-psi, psi] (:func:`truncated_normal`; BigGAN's truncation trick).
* :func:`check_options` -- the options a generator declares, checked: one :class:`ConfigError` naming the
  first unknown option or bad value, and what the generator takes instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import torch

from .errors import ConfigError


class RandomSource:
    """The random numbers of one latent draw: ``RandomSource(seed, device)``, then ``randn``, ``rand``,
    ``randint``, :meth:`truncated_normal` (or ``.generator`` and ``.draw_device`` for any other torch
    sampler, e.g. ``torch.multinomial(p, k, generator=rs.generator)`` then ``rs.place(x)``).

    ``seed`` given: the numbers come from a CPU generator seeded with it and are moved to ``device`` -- same
    seed, same latent, on any device. ``seed=None``: torch's global RNG on ``device`` itself (the training
    step's draw; no host synchronisation). ``device=None``: the device of ``module``'s parameters (a
    generator passes itself), else the CPU."""

    def __init__(self, seed: Optional[int] = None, device=None, *, module=None):
        if device is None and module is not None:
            device = next((p.device for p in module.parameters()), None)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.generator = None if seed is None else torch.Generator(device="cpu").manual_seed(int(seed))
        self.draw_device = torch.device("cpu") if self.generator is not None else self.device

    def place(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (drawn on ``draw_device``) on ``device``."""
        return x.to(self.device)

    def randn(self, *shape, dtype=None) -> torch.Tensor:
        return self.place(torch.randn(*shape, generator=self.generator, device=self.draw_device, dtype=dtype))

    def rand(self, *shape, dtype=None) -> torch.Tensor:
        return self.place(torch.rand(*shape, generator=self.generator, device=self.draw_device, dtype=dtype))

    def randint(self, high: int, shape) -> torch.Tensor:
        return self.place(torch.randint(int(high), tuple(shape), generator=self.generator, device=self.draw_device))

    def truncated_normal(self, shape, psi: float) -> torch.Tensor:
        """:func:`truncated_normal` of ``shape`` from this source."""
        return self.place(truncated_normal(shape, psi, generator=self.generator, device=self.draw_device))


def truncated_normal(shape, psi: float, *, generator=None, device=None) -> torch.Tensor:
    """Samples of N(0, 1) conditioned on |z| <= psi (the truncation trick), by the inverse CDF: every
    value lies in [-psi, psi] and the shape of the density inside is the normal's -- not ``randn() / k``.
    Drawn on ``device`` (CPU by default) with ``generator``."""
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not psi > 0 or not math.isfinite(psi):
        raise ConfigError(f"truncation must be a number > 0, such as 0.7; not {psi!r}")
    lo = 0.5 * math.erfc(psi / math.sqrt(2.0))          # Phi(-psi)
    u = lo + (1.0 - 2.0 * lo) * torch.rand(shape, generator=generator, dtype=torch.float64, device=device)
    z = math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)
    return z.clamp_(-psi, psi).to(torch.float32)


TYPES = {"float": (float, int), "int": (int,), "str": (str,), "bool": (bool,)}


@dataclass(frozen=True)
class SamplingOption:
    """One sampling option a generator understands (a value of ``Generator.sampling_options``).

    ``help``: one line for ``--help``, ``ganzoo info`` and a UI; ``type``: ``"float"``, ``"int"``, ``"str"``
    or ``"bool"``; ``default``: what sampling without the option means (None: the option is off);
    ``low`` / ``high``: bounds of a number (inclusive; ``low_open``: ``low`` excluded); ``choices``: the
    allowed values of a string."""

    help: str
    type: str = "float"
    default: Any = None
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    choices: tuple = ()

    def check(self, name: str, value):
        """``value`` checked (a number given as a string, as the command line gives it, converted); a
        :class:`ConfigError` naming ``name`` and what it takes."""
        if isinstance(value, str) and self.type in ("float", "int"):
            try:
                value = float(value) if self.type == "float" else int(value)
            except ValueError:
                pass
        ok = isinstance(value, TYPES[self.type]) and (self.type == "bool" or not isinstance(value, bool))
        if ok and self.type == "float":
            value = float(value)
            ok = math.isfinite(value)
        if ok and self.type in ("float", "int"):
            ok = ((self.low is None or (value > self.low if self.low_open else value >= self.low))
                  and (self.high is None or value <= self.high))
        if ok and self.choices:
            ok = value in self.choices
        if not ok:
            raise ConfigError(f"sampling option {name} must be {self.wants()}, not {value!r}")
        return value

    def wants(self) -> str:
        """What a value must be, in words ("a number > 0", "one of const, none")."""
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        what = {"float": "a number", "int": "a whole number", "str": "a string", "bool": "true or false"}[self.type]
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"<= {self.high:g}")
        return what + (" " + " and ".join(bounds) if bounds else "")

    def describe(self) -> dict:
        """The option as JSON (what a user interface shows as a control)."""
        return {"help": self.help, "type": self.type, "default": self.default, "low": self.low, "high": self.high,
                "low_open": self.low_open, "choices": list(self.choices)}


TRUNCATION = SamplingOption("draw z from the normal truncated to [-psi, psi] (the truncation trick); off by default",
                            low=0.0, low_open=True)
"""The ``truncation`` sampling option (a psi > 0) of every generator whose latent is N(0, I)."""


def check_options(options: Mapping, declared: Mapping[str, SamplingOption], who: str) -> dict:
    """``options`` checked against the ``declared`` options of ``who`` (a name for messages); None values
    (the option's default) are dropped."""
    out = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in declared:
            takes = ", ".join(sorted(declared)) or "none"
            raise ConfigError(f"{who} takes no sampling option {name!r} (its options: {takes})")
        out[name] = declared[name].check(name, value)
    return out


__all__ = ["RandomSource", "SamplingOption", "TRUNCATION", "check_options", "truncated_normal"]


def sample_count(n) -> int:
    """``n`` as a number of samples (0 allowed: an empty batch); anything else is a ConfigError."""
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ConfigError(f"the number of samples must be a whole number >= 0, not {n!r}")
    return int(n)
