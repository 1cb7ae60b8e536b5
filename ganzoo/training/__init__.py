"""The training engine: one loop for GANs, VAEs and autoencoders (see docs/training.md).

    >>> import ganzoo
    >>> model = ganzoo.train("mlp", "wgan-gp", data="ring8", out="runs/ring8", steps=2000)
    >>> model = ganzoo.train(out="runs/ring8", resume=True, steps=4000)     # continue it
    >>> from ganzoo.training import Trainer, TrainConfig                     # the engine itself

Its rooms, in the order data flows through them: :mod:`.config` (the run's arguments), :mod:`.batches`
(real data), :mod:`.augment` (what D sees), :mod:`.steps` (one iteration, by the objective's kind),
:mod:`.ema`, :mod:`.cuda_graphs`, :mod:`.distributed`, :mod:`.monitor` (logs and pictures), :mod:`.state` and
:mod:`.checkpoint` (exact resume), :mod:`.trainer` (ties them together), :mod:`.run` (``ganzoo.train``). Importing this package does not
import torch; ``Trainer`` and ``train`` load on first use.
"""

from .config import TrainConfig

_LAZY = {"Trainer": "trainer", "train": "run"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Trainer", "TrainConfig", "train"]
