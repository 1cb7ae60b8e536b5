"""An exponential moving average of the generator's weights (``--ema DECAY``), with a warm-up and
BatchNorm statistics that belong to the averaged weights.

**The update.** After the ``t``-th generator update (``t`` = 0, 1, ...) every averaged weight moves toward the
trained one, ``ema <- beta_t * ema + (1 - beta_t) * w`` (one fused ``lerp``), with

    beta_t = min(decay, (1 + t) / (10 + t))

the warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``: the average covers roughly the
last ``t / 9`` steps until that reaches the ``1 / (1 - decay)`` steps of ``decay`` (9,000 steps for 0.999),
so a short run's average is not dragged back toward the random initial weights (StyleGAN2's ``ema_rampup``
does the same in images seen). The count ``t`` lives on the device (a CUDA graph replays the update) and is
part of the checkpoint, so a resumed run averages exactly as an uninterrupted one.

**BatchNorm.** Running statistics gathered by the trained generator do not fit the averaged weights. Instead of
copying or averaging them, :meth:`EMA.refresh` recomputes them for the averaged generator as BigGAN's
"standing statistics" do: ``STANDING_BATCHES`` forward passes in training mode on what the components see in a
training step (the step's ``standing_pass``: fresh latents and drawn labels for a GAN's generator, random
real batches for an autoencoder), with a cumulative average (``momentum=None``), under a fixed seed and a
forked RNG (the training run's random stream is untouched). It runs before the average is used (samples, pictures, the exported model), only when
the weights changed since. Other buffers (e.g. spectral normalisation's power-iteration vectors) are copied
from the trained components at each update.

Every component the generator's optimiser trains is averaged (an autoencoder's encoder with its decoder, so
that reconstructions pair matching weights).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

STANDING_BATCHES = 16   # BigGAN-PyTorch's default number of standing-statistics accumulations
STANDING_SEED = 1234   # the seed of the inputs the statistics are gathered on (any fixed number)


def warmup_decay(decay: float, t: int) -> float:
    """``beta_t = min(decay, (1 + t) / (10 + t))``: the weight kept by the ``t``-th update (``t`` from 0)."""
    return min(float(decay), (1.0 + t) / (10.0 + t))


def _norms(module: nn.Module) -> list:
    """The normalisation layers with running statistics (BatchNorm and the like) in ``module``."""
    return [m for m in module.modules() if getattr(m, "track_running_stats", False)
            and getattr(m, "running_mean", None) is not None and hasattr(m, "reset_running_stats")]


class EMA:
    """``EMA(components, decay)``: averaged copies of ``components`` (a dict name -> module, e.g.
    ``{"generator": G}``); call :meth:`update` after each generator update. ``modules`` holds the copies;
    ``module`` is the averaged generator (call :meth:`refresh` first where its BatchNorm statistics matter);
    ``count`` the number of updates so far (a 0-dim tensor on the device)."""

    def __init__(self, components, decay: float, *, standing_pass=None):
        if isinstance(components, nn.Module):
            components = {"generator": components}
        self.decay = float(decay)
        self.modules = nn.ModuleDict({k: copy.deepcopy(m).requires_grad_(False) for k, m in components.items()})
        self.module = self.modules["generator"]
        self.standing_pass = standing_pass   # (modules, n) -> None: one training-mode forward (None: no refresh)
        ema_params = [p for m in self.modules.values() for p in m.parameters()]
        params = [p for m in components.values() for p in m.parameters()]
        self._params = (ema_params, params)
        norm_buffers = {id(b) for m in self.modules.values() for n in _norms(m) for b in n.buffers()}
        self._buffers = [(b_ema, b) for m_ema, m in zip(self.modules.values(), components.values())
                         for b_ema, b in zip(m_ema.buffers(), m.buffers()) if id(b_ema) not in norm_buffers]
        device = params[0].device if params else torch.device("cpu")
        self.count = torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)
        self._stale = True

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average (:func:`warmup_decay` of the count); no host synchronisation."""
        ema, params = self._params
        if ema:
            beta = torch.clamp((1.0 + self.count) / (10.0 + self.count), max=self.decay)
            torch._foreach_lerp_(ema, params, (1.0 - beta).to(ema[0].dtype))
        for b_ema, b in self._buffers:
            b_ema.copy_(b)
        self.count += 1
        self._stale = True

    @torch.no_grad()
    def refresh(self, batch_size: int = 64) -> None:
        """Recompute the averaged components' BatchNorm statistics for their weights (if they changed since
        the last refresh): ``STANDING_BATCHES`` calls of ``standing_pass(modules, batch_size)``."""
        norms = [n for m in self.modules.values() for n in _norms(m)]
        if not self._stale or not norms or self.standing_pass is None:
            self._stale = False
            return
        was = [m.training for m in self.modules.values()]
        devices = [self.count.device] if self.count.device.type == "cuda" else []
        momenta = [n.momentum for n in norms]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(STANDING_SEED)
            for n in norms:
                n.reset_running_stats()
                n.momentum = None   # a cumulative average over the batches below
            self.modules.train()
            try:
                for _ in range(STANDING_BATCHES):
                    self.standing_pass(self.modules, batch_size)
            finally:
                for n, m in zip(norms, momenta):
                    n.momentum = m
                for m, w in zip(self.modules.values(), was):
                    m.train(w)
        self._stale = False

    def state(self) -> dict:
        """Tensors to checkpoint: every averaged component's state (``<component>.<key>``) and ``count``."""
        out = {f"{k}.{name}": v for k, m in self.modules.items() for name, v in m.state_dict().items()}
        out["count"] = self.count
        return out

    def load_state(self, tensors: dict) -> None:
        """Put :meth:`state` back (strict); a checkpoint of before the count starts the warm-up over."""
        count = tensors.pop("count", None)
        if not any(k.startswith("generator.") for k in tensors):   # ganzoo <= 0.1: the generator's keys bare
            tensors = {f"generator.{k}": v for k, v in tensors.items()}
        self.modules.load_state_dict(tensors, strict=True)
        self.count.copy_(count if count is not None else torch.zeros(()))
        self._stale = True
