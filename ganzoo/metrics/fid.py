"""Optional FID (Heusel et al. 2017) with Inception-v3 pool features.

ganzoo ships no Inception network (torchvision is not a dependency). Point
``GANZOO_INCEPTION_WEIGHTS`` (or ``ganzoo eval --inception PATH``) at the TorchScript feature
extractor ``inception-2015-12-05.pt`` used by clean-fid and StyleGAN2-ADA (a port of the original
TF FID graph): it is called as ``net(images, return_features=True)`` on float images in [0, 255],
(N, 3, 299, 299), and returns (N, 2048) pool features. Grey images are repeated to 3 channels and
resized bilinearly to 299x299 here, so values are comparable between ganzoo runs, not to the last
digit with other tools that resize differently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError, NotFoundError, WeightsError, first_line

ENV = "GANZOO_INCEPTION_WEIGHTS"
SIZE = 299


def inception_path(path=None) -> Path:
    """The Inception weights file to use, or a one-line :class:`NotFoundError` saying how to get FID."""
    raw = path or os.environ.get(ENV)
    if not raw:
        raise NotFoundError(
            f"FID needs Inception-v3 weights, which ganzoo does not ship: set {ENV}=/path/to/"
            "inception-2015-12-05.pt (the TorchScript file used by clean-fid/StyleGAN2-ADA) or pass --inception PATH")
    p = Path(raw).expanduser()
    if not p.is_file():
        raise NotFoundError(f"FID: Inception weights file {p} does not exist (from {'--inception' if path else ENV})")
    return p


_NETS: dict = {}


def load_inception(path=None):
    p = inception_path(path)
    key = str(p.resolve())
    if key not in _NETS:
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                net = torch.jit.load(str(p), map_location="cpu")
        except Exception as exc:
            raise WeightsError(f"FID: {p} is not a TorchScript Inception feature extractor "
                               f"({type(exc).__name__}: {first_line(exc)})") from None
        net.eval()
        _NETS[key] = net
    return _NETS[key]


@torch.no_grad()
def inception_features(net, x01: torch.Tensor, batch: int = 50, size: int = SIZE) -> torch.Tensor:
    """(N, C, H, W) images in [0, 1] -> (N, F) features from ``net(img255, return_features=True)``."""
    out = []
    for i in range(0, x01.shape[0], batch):
        x = x01[i:i + batch].float()
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        f = net(x.clamp(0, 1) * 255.0, return_features=True)
        out.append(f.reshape(f.shape[0], -1).double())
    return torch.cat(out)


def fid(real01: torch.Tensor, fake01: torch.Tensor, *, path: Optional[str] = None) -> float:
    from .features import frechet_distance

    net = load_inception(path)
    return frechet_distance(inception_features(net, real01), inception_features(net, fake01))


FID_N = 2000   # samples (and held-out real images) the fid metric compares by default


def fid_metric(model, data, *, n=None, seed=0, inception: Optional[str] = None):
    """The ``fid`` metric: FID of ``n`` samples against as many held-out real images (needs Inception weights)."""
    from .draws import generate, real_halves

    load_inception(inception)  # fail fast with the one-line message
    if not data.is_image or not model.is_image:
        raise ConfigError("metric 'fid' needs image data and an image model")
    _, b, _ = real_halves(data)
    n = int(n or min(len(b), FID_N))
    return {"n": n, "n_real": int(min(len(b), n)), "fid": fid(b[:n], generate(model, n, seed), path=inception)}
