"""``--cuda-graphs``: each whole training iteration replayed as one captured CUDA graph.

G and D steps, optimiser updates and EMA launch as a single graph instead of hundreds of kernels from Python,
which is what a small GAN is limited by on a GPU. :class:`CudaGraphStep` wraps a step
(:mod:`ganzoo.training.steps`): the first :attr:`~CudaGraphStep.WARMUP` iterations run eagerly on a side
stream (real training steps, which also create the optimiser state and settle cuDNN's algorithm choices, as
``torch.cuda.graph`` asks), the next is captured; then each iteration copies its real batches into the
graph's static input buffers and replays. Noise is drawn inside the graph (fresh each replay; the generator's
``sample_latent`` draws on the device from the global RNG). Lazy loss terms (``--r1-every``) change an
iteration's work every N steps: each pattern of them gets a graph of its own.

The optimisers must be ``capturable`` and their learning rates tensors on the GPU (:func:`lr_on_device`),
so that the linear schedule can change them in place: a float would be frozen into the graph at capture.
"""

from __future__ import annotations

import torch

from ..errors import TrainingError, first_line


def lr_on_device(opt, device) -> None:
    """Make each parameter group's learning rate a tensor on ``device`` (also after a checkpoint load,
    which stores numbers)."""
    for group in opt.param_groups:
        if not torch.is_tensor(group["lr"]):
            group["lr"] = torch.tensor(float(group["lr"]), device=device)


class CudaGraphStep:
    """``CudaGraphStep(step, device)(next_batch, iteration)``: like ``step(next_batch, iteration)``, replayed as a
    CUDA graph. An iteration's work depends on which lazy loss terms run in it (``step.schedule(iteration)``,
    e.g. R1 at every 16th D step): each such schedule gets its own graph, warmed up and captured the first
    :attr:`WARMUP` + 1 times it comes round (a run without lazy terms has one)."""

    WARMUP = 3

    def __init__(self, step, device):
        self.step, self.device = step, device
        self.n_batches = step.batches_per_call
        self.bufs, self.i = None, 0
        self.graphs, self.outs, self.warm = {}, {}, {}   # per schedule: the graph, its outputs, eager runs so far
        for name in ("optimizers", "headline", "panels", "terms", "held", "schedule"):  # the wrapped step's
            setattr(self, name, getattr(step, name))

    def _static_next(self):
        pair = self.bufs[self.i]
        self.i += 1
        return pair

    def __call__(self, next_batch, iteration: int = 0) -> dict:
        batches = [next_batch() for _ in range(self.n_batches)]
        if self.bufs is None:
            self.bufs = [(x.clone(memory_format=torch.preserve_format), None if y is None else y.clone())
                         for x, y in batches]
        else:
            for (sx, sy), (x, y) in zip(self.bufs, batches):
                sx.copy_(x)
                if sy is not None:
                    sy.copy_(y)
        self.i = 0
        key = self.step.schedule(iteration)
        if key in self.graphs:
            self.graphs[key].replay()
            return self.outs[key]
        if self.warm.get(key, 0) < self.WARMUP:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                out = self.step(self._static_next, iteration)
            torch.cuda.current_stream(self.device).wait_stream(side)
            self.warm[key] = self.warm.get(key, 0) + 1
            return out
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.outs[key] = self.step(self._static_next, iteration)
        except Exception as exc:
            raise TrainingError(f"--cuda-graphs: this model and objective cannot be captured as a CUDA "
                                f"graph ({type(exc).__name__}: {first_line(exc)}); train without "
                                "--cuda-graphs") from exc
        self.graphs[key] = graph
        graph.replay()
        return self.outs[key]
