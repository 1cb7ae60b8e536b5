"""Residual blocks of the ResNet GANs (Gulrajani et al. 2017, "Improved training of Wasserstein GANs", app. F;
Miyato et al. 2018, SNGAN, app. B.4), spectral normalisation for a whole module, global sum pooling, and how a
class-conditional discriminator uses its label (:class:`LabelHead`: projection or ACGAN).

Public through :mod:`ganzoo.layers` (its ``__all__`` and ``docs/writing-a-plugin.md``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ..errors import ConfigError
from ..interfaces import DiscriminatorOutput
from ..objectives.terms import ClassLoss
from .common import ClassProjection, norm2d

SPECTRAL_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def spectral_norm_all(module: nn.Module, types: tuple = SPECTRAL_TYPES) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every layer of ``types`` in ``module`` (convolutions,
    transposed convolutions, linear layers and embeddings -- a projection discriminator's class embedding
    too): each weight is divided by its largest singular value, estimated by one power iteration per
    training-mode forward (``torch.nn.utils.parametrizations.spectral_norm``; transposed convolutions along
    their output dimension). Layers are taken in ``module.modules()`` order, so the same module gets the same
    power-iteration start vectors for the same seed. Already normalised layers are left as they are.
    Returns ``module``. In eval mode the stored vectors are used as they are (no update): traceable."""
    for m in list(module.modules()):
        if isinstance(m, types) and not parametrize.is_parametrized(m, "weight"):
            spectral_norm(m)
    return module


def global_sum_pool(h: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C): the sum over positions, as SNGAN's and SAGAN's ResNet discriminators pool
    before their linear head (a sum, not a mean: the score grows with the image, as in their code)."""
    return h.sum(dim=(2, 3))


def _conv(cin: int, cout: int, k: int, spectral: bool, gain: float) -> nn.Module:
    """A k x k convolution (same padding), Xavier-uniform with ``gain`` (the SNGAN authors' initialisation),
    spectrally normalised after its initialisation when ``spectral``."""
    conv = nn.Conv2d(cin, cout, k, 1, k // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return spectral_norm(conv) if spectral else conv


class ResBlockUp(nn.Module):
    """A generator's residual block: ``norm``, ReLU, nearest-neighbour 2x upsampling, 3x3 conv, ``norm``,
    ReLU, 3x3 conv; the shortcut is the upsampled input, through a learned 1x1 conv where the channels
    change (identity otherwise). ``norm``: ``batch``, ``conditional`` (:class:`ConditionalBatchNorm2d`:
    the class steers every block; ``forward(x, y)`` then needs labels) or ``none`` (``norm2d``'s names).
    ``spectral=True`` normalises its convolutions (SAGAN and BigGAN do so in G too). ``upsample=False``
    keeps the resolution. Weights start Xavier-uniform (gain sqrt(2) on the residual path), as in the
    SNGAN authors' code."""

    def __init__(self, cin: int, cout: int, *, norm: str = "batch", num_classes: int = 0, spectral: bool = False,
                 upsample: bool = True):
        super().__init__()
        if norm not in ("batch", "conditional", "none"):
            raise ConfigError(f"a residual up-block's norm is batch, conditional or none, not {norm!r}")
        self.upsample, self.conditional = upsample, norm == "conditional"
        self.norm1, self.norm2 = norm2d(norm, cin, num_classes), norm2d(norm, cout, num_classes)
        self.conv1, self.conv2 = _conv(cin, cout, 3, spectral, 2 ** 0.5), _conv(cout, cout, 3, spectral, 2 ** 0.5)
        self.shortcut = _conv(cin, cout, 1, spectral, 1.0) if cin != cout else None

    def _norm(self, layer, h, y):
        return layer(h, y) if self.conditional else layer(h)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional and y is None:
            raise ConfigError("a conditional-BatchNorm residual block needs labels y")
        h = F.relu(self._norm(self.norm1, x, y))
        if self.upsample:
            h, x = F.interpolate(h, scale_factor=2.0, mode="nearest"), F.interpolate(x, scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self._norm(self.norm2, self.conv1(h), y)))
        return h + (x if self.shortcut is None else self.shortcut(x))


class ResBlockDown(nn.Module):
    """A discriminator's residual block: ReLU, 3x3 conv, ReLU, 3x3 conv, 2x2 average pooling; the shortcut
    is a learned 1x1 conv then the pooling, where the channels or the resolution change (identity
    otherwise). ``first=True`` is SNGAN's *optimised* first block, which sees the image itself: no ReLU
    before its first conv, and its shortcut pools before its 1x1 conv. ``spectral`` (the default)
    normalises every convolution (SNGAN); ``norm`` adds a normalisation before each ReLU: ``none`` (the
    default), ``layer`` (per sample, safe with gradient penalties: the WGAN-GP ResNet) or ``batch``.
    ``downsample=False`` keeps the resolution (SNGAN's last blocks)."""

    def __init__(self, cin: int, cout: int, *, downsample: bool = True, first: bool = False, spectral: bool = True,
                 norm: str = "none"):
        super().__init__()
        if norm not in ("none", "layer", "batch"):
            raise ConfigError(f"a residual down-block's norm is none, layer or batch, not {norm!r}")
        self.downsample, self.first = downsample, first
        self.norm1 = nn.Identity() if first else norm2d(norm, cin)
        self.norm2 = norm2d(norm, cout)
        self.conv1, self.conv2 = _conv(cin, cout, 3, spectral, 2 ** 0.5), _conv(cout, cout, 3, spectral, 2 ** 0.5)
        self.shortcut = _conv(cin, cout, 1, spectral, 1.0) if (cin != cout or downsample) else None

    def _pool(self, h):
        return F.avg_pool2d(h, 2) if self.downsample else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        h = self._pool(self.conv2(F.relu(self.norm2(self.conv1(h)))))
        if self.shortcut is None:
            return h + x
        return h + (self.shortcut(self._pool(x)) if self.first else self._pool(self.shortcut(x)))


D_LABELS = ("projection", "acgan")
"""How a conditional discriminator uses the label (:class:`LabelHead`): a projection term or an auxiliary classifier."""


class LabelHead(ClassProjection):
    """How a class-conditional discriminator uses the label ``y`` on its last features ``h`` (N, F), by
    ``kind``:

    * ``"projection"`` (Miyato & Koyama 2018): the score plus ``<embed(y), h>``; ``forward`` returns the (N,)
      scores. Exactly :class:`ClassProjection` (the same ``weight``, initialisation and state-dict key).
    * ``"acgan"`` (Odena et al. 2017): D's score ignores the label, and an auxiliary classifier -- a linear
      layer on ``h`` with the same (num_classes, F) ``weight`` and a ``bias`` -- gives raw class logits;
      ``forward`` returns a :class:`~ganzoo.interfaces.DiscriminatorOutput` with ``class_logits``, and
      :attr:`loss_terms` holds the :class:`~ganzoo.objectives.terms.ClassLoss` (weight ``class_weight``; the
      cross-entropy takes the raw logits, its softmax is inside it) that trains the classifier on real and
      generated images in D's steps and G to make images of their class in G's step.

    A discriminator sets ``self.loss_terms = head.loss_terms``. :func:`spectral_norm_all` normalises the
    weight as it does any embedding (a matrix, rows per class, in both kinds)."""

    def __init__(self, kind: str, num_classes: int, features: int, class_weight: float = 1.0):
        if kind not in D_LABELS:
            raise ConfigError(f"d_label must be {' or '.join(D_LABELS)}, not {kind!r}")
        if num_classes < 1:
            raise ConfigError(f"d_label={kind} needs a class-conditional model (num_classes >= 1; --conditional)")
        super().__init__(num_classes, features)
        self.kind = kind
        self.loss_terms: tuple = ()
        if kind == "acgan":
            if isinstance(class_weight, bool) or not isinstance(class_weight, (int, float)) or not class_weight > 0:
                raise ConfigError(f"class_weight must be a number > 0, not {class_weight!r}")
            self.bias = nn.Parameter(torch.zeros(num_classes))
            self.loss_terms = (ClassLoss(float(class_weight)),)

    def forward(self, score: torch.Tensor, h: torch.Tensor, y: torch.Tensor):
        if self.kind == "projection":
            return score + self.score(h, y)
        return DiscriminatorOutput(score, class_logits=F.linear(h.flatten(1), self.weight, self.bias))
