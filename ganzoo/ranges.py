"""Data in [0, 1] (as datasets hold images) and a generator's ``output_range`` ((-1, 1), (0, 1), or None for
vectors), both ways: what the encoders and discriminators train on, and what pictures show."""

from __future__ import annotations

import torch


def from_unit(x: torch.Tensor, output_range) -> torch.Tensor:
    """Data in [0, 1] mapped into a generator's ``output_range``; None (vectors): as it is."""
    if output_range is None:
        return x
    lo, hi = output_range
    return x * (hi - lo) + lo


def to_unit(x: torch.Tensor, output_range) -> torch.Tensor:
    """A generator's outputs mapped from its ``output_range`` into [0, 1] (clamped); None (vectors): as they are."""
    if output_range is None:
        return x
    lo, hi = output_range
    return ((x - lo) / (hi - lo)).clamp_(0.0, 1.0)
