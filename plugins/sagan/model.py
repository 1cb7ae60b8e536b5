"""SAGAN (Zhang et al. 2019): the ResNet generator and discriminator of ``resnet`` with a self-attention block
at one resolution in both, and spectral normalisation in G as well as D (``g_spectral``, on by default)."""

from __future__ import annotations

from ganzoo.errors import ConfigError
from ganzoo_plugins.resnet.model import ResNetDiscriminator, ResNetGenerator


def resolve_auto(config: dict) -> dict:
    """``attention="auto"``: half the image size (14 for 28 px, 16 for 32, 4 for 8), a map that G and D both have."""
    out = dict(config)
    if out.get("attention") == "auto":
        shape = out.get("sample_shape") or [0]
        out["attention"] = int(shape[-1]) // 2
    return out


def build(sample_shape, latent_dim, g_width, d_width, num_classes, g_spectral, attention, d_norm, d_extra, d_label,
          class_weight):
    if isinstance(attention, bool) or not isinstance(attention, int) or attention < 1:
        raise ConfigError(f"sagan: attention must be a map size >= 1 (or auto), not {attention!r}")
    return {
        "generator": ResNetGenerator(sample_shape, latent_dim, g_width, num_classes, attention=attention,
                                     spectral=g_spectral, who="sagan"),
        "discriminator": ResNetDiscriminator(sample_shape, d_width, num_classes, d_norm, d_extra, attention=attention,
                                             label=d_label, class_weight=class_weight, who="sagan"),
    }
