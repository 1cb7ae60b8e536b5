"""Data-parallel training under ``torchrun``: one process per device, each on its own shard of the data.

When WORLD_SIZE > 1 the trainer joins the process group (gloo on CPU, NCCL on GPU), wraps G, D and the
encoder in DistributedDataParallel, averages the logged statistics over the processes and checks at every
checkpoint that their parameters agree; only rank 0 writes files. The batch size is per process.
With one process every method here is a no-op, so the trainer calls them unconditionally.
"""

from __future__ import annotations

import contextlib
import os

import torch


class Distributed:
    """This process's place in the run (``rank``, ``world``, ``local_rank``) and the collectives the trainer uses."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        self.rank = int(os.environ.get("RANK", "0") or 0)
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
        self.dist = None          # torch.distributed once joined (world > 1)
        self._owns_group = False
        self.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.dist is not None

    def join(self, device: torch.device) -> None:
        """Join the process group (world > 1); collectives then run on ``device`` if CUDA, else on the CPU."""
        self.device = device if device.type == "cuda" else torch.device("cpu")
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
                self._owns_group = True
            self.dist = dist

    def close(self) -> None:
        if self._owns_group and self.dist is not None and self.dist.is_initialized():
            self.dist.destroy_process_group()

    def wrap(self, module, device: torch.device):
        """``module`` in DistributedDataParallel (world > 1), else itself."""
        if self.dist is None:
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        return DDP(module, device_ids=[device.index] if device.type == "cuda" else None)

    def no_sync(self, module):
        """No gradient all-reduce for ``module`` inside this block (D's weights in the G step)."""
        return module.no_sync() if self.dist is not None else contextlib.nullcontext()

    def barrier(self) -> None:
        if self.dist is not None:
            self.dist.barrier()

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The average of ``t`` over the processes."""
        if self.dist is None:
            return t
        t = t.to(self.device)
        self.dist.all_reduce(t)
        return t / self.world

    def min(self, t: torch.Tensor) -> torch.Tensor:
        if self.dist is None:
            return t
        t = t.to(self.device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MIN)
        return t

    def gather(self, t: torch.Tensor) -> list:
        """Every process's ``t``, in rank order, on the CPU (``[t]`` with one process)."""
        if self.dist is None:
            return [t]
        t = t.to(self.device)
        out = [torch.empty_like(t) for _ in range(self.world)]
        self.dist.all_gather(out, t)
        return [o.cpu() for o in out]


PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "Broken pipe", "NCCL", "gloo")


def peer_lost(exc: BaseException, rank: int, step: int):
    """A :class:`TrainingError` for a collective that failed because another process of the run died
    (gloo/NCCL report it as a RuntimeError), else None."""
    from ..errors import GanzooError, TrainingError, first_line

    if not isinstance(exc, RuntimeError) or isinstance(exc, GanzooError) or not any(m in str(exc) for m in PEER_LOST):
        return None
    return TrainingError(f"data-parallel training stopped at step {step} on rank {rank}: another process of the "
                         f"run left it ({first_line(exc, 160)}); see that process's error, fix it, then --resume")

