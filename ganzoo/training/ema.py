"""An exponential moving average of the generator's weights (``--ema DECAY``).

After every optimiser step each EMA weight moves ``1 - decay`` of the way to the trained weight (one fused
``lerp`` over all of them) and the buffers (BatchNorm statistics) are copied. The EMA generator is what
samples, evaluations and the exported model use; it is part of the checkpoint.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``EMA(G, decay)``: ``.module`` is the averaged copy of ``G``; call :meth:`update` after each G update."""

    def __init__(self, generator: nn.Module, decay: float):
        self.decay = float(decay)
        self.module = copy.deepcopy(generator).requires_grad_(False)
        self._params = (list(self.module.parameters()), list(generator.parameters()))
        self._buffers = list(zip(self.module.buffers(), generator.buffers()))

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self._params[0], self._params[1], 1.0 - self.decay)
        for b_ema, b in self._buffers:
            b_ema.copy_(b)
