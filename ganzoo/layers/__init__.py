"""Building blocks of the first-party variants, public for plugins (listed in ``__all__`` and in
``docs/writing-a-plugin.md``).

* fully connected: :func:`mlp`, :func:`activation`;
* DCGAN trunks for square images: :class:`UpConv` (generator), :class:`DownConv` (discriminator),
  their size rule :func:`conv_plan` and :func:`dcgan_init`;
* ResNet trunks (SNGAN, WGAN-GP, SAGAN): :class:`ResBlockUp` (generator), :class:`ResBlockDown`
  (discriminator; the optimised first block too), :func:`global_sum_pool`;
* self-attention (SAGAN): :class:`SelfAttention`;
* normalisation: :func:`norm2d`, :class:`ConditionalBatchNorm2d`, :func:`spectral_norm_all`;
* conditioning: :func:`one_hot`, :func:`init_label_inputs` (a one-hot label's input columns at the
  scale of the rest), :class:`ClassProjection` (a projection discriminator's class term),
  :class:`LabelHead` (a conditional discriminator's use of the label: projection or ACGAN);
* PacGAN (Lin et al. 2018): :func:`pack_groups`, :func:`unpack_scores`;
* config checks: :func:`check_depth`, :func:`check_pack`.

Bad configuration raises :class:`ganzoo.errors.ConfigError` (a ``ValueError``).
"""

from .attention import SelfAttention
from .common import (ACTIVATIONS, BASE_SIZES, NORMS, ClassProjection, ConditionalBatchNorm2d, DownConv, UpConv,
                     activation, check_depth, check_pack, conv_plan, dcgan_init, init_label_inputs, mlp, norm2d,
                     one_hot, pack_groups, unpack_scores)
from .residual import D_LABELS, LabelHead, ResBlockDown, ResBlockUp, global_sum_pool, spectral_norm_all

__all__ = [
    "mlp", "activation", "conv_plan", "check_depth", "norm2d", "ConditionalBatchNorm2d", "UpConv", "DownConv",
    "dcgan_init", "one_hot", "init_label_inputs", "ClassProjection", "check_pack", "pack_groups", "unpack_scores",
    "BASE_SIZES", "ACTIVATIONS", "NORMS",
    "spectral_norm_all", "ResBlockUp", "ResBlockDown", "global_sum_pool", "SelfAttention", "LabelHead", "D_LABELS",
]
