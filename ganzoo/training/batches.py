"""The real data a run trains on: loading and checking the dataset, then batches in a seeded epoch order.

:func:`load_data` resolves ``--data`` (or takes an in-memory :class:`~ganzoo.data.sources.TensorData`) and checks
it against the run (labels for ``--conditional``, images for ``--augment``). :class:`Batches` keeps the
whole dataset on the training device (images mapped to the generator's output range, in the model's memory
format) and hands out batches of ``M`` samples: each epoch is a fresh permutation from a generator seeded
with ``--seed``; under data parallelism each process takes every ``world``-th sample of it (its shard), and
the last incomplete batch of an epoch is dropped. Its position (permutation, offset, epoch, generator state)
is part of the checkpoint, so a resumed run sees exactly the batches an uninterrupted one would.
It also draws the labels of a conditional generator step (uniform classes, or clusters by their shares).
What the discriminator *sees* of a batch may be augmented on the way (:mod:`ganzoo.training.augment`).
"""

from __future__ import annotations

from typing import Optional

import torch

from ..errors import ConfigError


def load_data(config, data=None):
    """The dataset of ``config`` (``data``, if given, is used instead of loading ``config.data``), checked."""
    from ..data import load_dataset

    c = config
    if data is None:
        try:
            data = load_dataset(c.data, **c.data_options)
        except TypeError as exc:
            raise ConfigError(f"--data {c.data}: bad --data-opt ({exc})") from None
    if len(data) == 0:
        raise ConfigError(f"--data {c.data}: the dataset is empty")
    if c.conditional and (data.y is None or data.num_classes < 1):
        raise ConfigError(f"--conditional: dataset {c.data!r} has no class labels; to condition on k-means "
                          "clusters of the data instead (a self-conditioned GAN), add --data-opt clusters=K")
    if c.augment and not data.is_image:
        raise ConfigError(f"--augment {','.join(c.augment)} transforms images; {c.data!r} holds points, "
                          "so drop --augment")
    if data.label_source == "clusters" and not c.conditional:
        raise ConfigError("--data-opt clusters=K labels the data by k-means clusters for a self-conditioned "
                          "GAN; add --conditional to train on them")
    return data


class Batches:
    """Batches of ``batch_size`` real samples (and labels, for a conditional model) on ``device``."""

    def __init__(self, data, *, batch_size: int, seed: int, device, rank: int = 0, world: int = 1,
                 output_range=None, memory_format=torch.contiguous_format, num_classes: int = 0,
                 label_prior: Optional[torch.Tensor] = None):
        self.data, self.M, self.device, self.rank, self.world = data, batch_size, device, rank, world
        x = data.x
        if data.is_image and output_range is not None:
            lo, hi = output_range
            x = x * (hi - lo) + lo
        self.X = x.to(device).contiguous(memory_format=memory_format)
        self.num_classes = num_classes
        self.Y = data.y.to(device) if (data.y is not None and num_classes) else None
        self.label_prior = label_prior.float().to(device) if (label_prior is not None and num_classes) else None
        self.per_epoch = (len(data) // world) // batch_size
        if self.per_epoch < 1:
            raise ConfigError(f"--batch-size {batch_size} is larger than the data ({len(data)} samples"
                              f"{f' over {world} processes' if world > 1 else ''}); lower it")
        self.generator = torch.Generator().manual_seed(seed)
        self.perm, self.shard, self.pos, self.epoch = None, None, 0, 0

    def __len__(self) -> int:
        return len(self.data)

    def next(self):
        """The next (x, y) batch; y is None for an unconditional model."""
        if self.shard is None or self.pos + self.M > self.shard.numel():
            self._new_epoch()
        idx = self.shard[self.pos:self.pos + self.M]
        self.pos += self.M
        return self.X[idx], (self.Y[idx] if self.Y is not None else None)

    def draw_labels(self, n: int) -> Optional[torch.Tensor]:
        """Labels for ``n`` generated samples: drawn from the clusters' shares, uniform classes, or None."""
        if self.label_prior is not None:
            return torch.multinomial(self.label_prior, n, replacement=True)
        return torch.randint(self.num_classes, (n,), device=self.device) if self.num_classes else None

    def _new_epoch(self):
        self.perm = torch.randperm(len(self.data), generator=self.generator)
        self._set_shard()
        self.pos = 0
        self.epoch += 1

    def _set_shard(self):
        shard = self.perm[self.rank::self.world][: self.per_epoch * self.M]
        self.shard = shard.to(self.device)

    # -- checkpoint state -----------------------------------------------------------------------------
    def state(self) -> tuple[dict, dict]:
        """(tensors, JSON) of the position in the data."""
        tensors = {"rng.data": self.generator.get_state()}
        if self.perm is not None:
            tensors["data.perm"] = self.perm.cpu()
        return tensors, {"epoch": self.epoch, "pos": self.pos}

    def restore(self, tensors: dict, meta: dict) -> None:
        self.generator.set_state(tensors["rng.data"])
        self.epoch, self.pos = int(meta["epoch"]), int(meta["pos"])
        if "data.perm" in tensors:
            self.perm = tensors["data.perm"]
            if self.perm.numel() != len(self.data):
                raise ConfigError(f"--resume: the data changed size ({self.perm.numel()} -> {len(self.data)} samples)")
            self._set_shard()
