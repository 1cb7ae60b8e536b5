"""Differentiable augmentation of what the discriminator sees (DiffAugment, Zhao et al., NeurIPS 2020).

With ``--augment translation,cutout`` every image D judges -- real or generated, in D's steps and in G's
-- is first transformed at random by the same policy, and G's gradient flows back through the transform.
D then cannot memorise a small training set (10,000 MNIST images are seen hundreds of times in a long
run), while G is still pushed towards the untransformed data: the transforms are applied to both
sides, so the augmented distributions match only when the originals do.

Policies, applied in the order given, each drawing new randomness per image:

- ``translation``: shift by up to 1/8 of the height and width (whole pixels), filling the uncovered
  border by repeating the edge pixels (for digits on a plain background, more background);
- ``cutout``: set a square of half the height and width at a random centre to 0 (DiffAugment's choice).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError


def translation(x: torch.Tensor, frac: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * frac + 0.5), int(w * frac + 0.5)
    padded = F.pad(x, (sw, sw, sh, sh), mode="replicate")
    rows = torch.arange(h, device=x.device)[None, :, None] + torch.randint(0, 2 * sh + 1, (n, 1, 1), device=x.device)
    cols = torch.arange(w, device=x.device)[None, None, :] + torch.randint(0, 2 * sw + 1, (n, 1, 1), device=x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, frac: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * frac + 0.5), int(w * frac + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    hole = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


POLICIES = {"translation": translation, "cutout": cutout}


def parse_policy(text) -> tuple:
    """``"translation,cutout"`` (or a list of names) -> ``("translation", "cutout")``; ``None``/``""`` -> ``()``."""
    if not text:
        return ()
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    for name in names:
        if name not in POLICIES:
            raise ConfigError(f"--augment: unknown policy {name!r}; choose from {', '.join(POLICIES)} "
                              "(comma-separated, e.g. --augment translation,cutout)")
    return tuple(names)


def augment(x: torch.Tensor, policy) -> torch.Tensor:
    for name in policy:
        x = POLICIES[name](x)
    return x


class Augmented:
    """``D`` seen through the policy: ``Augmented(D, policy)(x, y) == D(augment(x, policy), y)``; other
    attributes (``batch_independent``, ``pack``, ...) are ``D``'s."""

    def __init__(self, D, policy):
        self.D, self.policy = D, tuple(policy)

    def __call__(self, x, y=None):
        return self.D(augment(x, self.policy), y)

    def __getattr__(self, name):
        return getattr(self.D, name)
