"""The DCGAN of pytorch/examples ``dcgan/main.py`` as tensor names: recognise it in a state dict and map
it onto ganzoo's ``dcgan`` variant (and back).

The examples' networks are one ``nn.Sequential`` each (``main`` there, ``model`` in the huggan copies):

* Generator: ``ConvTranspose2d(nz, ngf*8, 4, 1, 0)``, BatchNorm, ReLU, then ``ConvTranspose2d(4, 2, 1)``
  halving the width, each with BatchNorm and ReLU, and a last ``ConvTranspose2d(ngf, nc, 4, 2, 1)`` +
  Tanh: convolutions at indices 0, 3, 6, 9, 12, BatchNorms at 1, 4, 7, 10 -- exactly ganzoo's
  ``dcgan`` generator with ``g_width = ngf`` (``trunk.net.0`` .. ``trunk.net.10``, then ``head.0``).
* Discriminator: ``Conv2d(nc, ndf, 4, 2, 1)``, LeakyReLU, then ``Conv2d(4, 2, 1)`` doubling the width,
  each with BatchNorm and LeakyReLU, and ``Conv2d(ndf*8, 1, 4, 1, 0)`` + Sigmoid: convolutions at 0, 2,
  5, 8, 11, BatchNorms at 3, 6, 9 -- ganzoo's ``dcgan`` discriminator with ``d_width = ndf``, whose
  score is the logit the examples' Sigmoid takes.

The examples make 64x64 images (5 convolutions of kernel 4); the same family with k + 1 convolutions
and a first (last) kernel ``base`` makes ``base * 2**k`` pixels and is read as well (32x32, 28x28, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

LAYER = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<index>\d+)\.(?P<param>weight|bias|running_mean|running_var|"
                   r"num_batches_tracked)$")
BN_PARAMS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@dataclass
class Network:
    """One recognised network: ``role`` generator or discriminator, the ``prefix`` of its tensor names,
    its sizes and ``keys`` (ganzoo tensor name -> source tensor name)."""

    role: str
    prefix: str
    size: int
    base: int
    channels: int        # nc
    width: int           # ngf or ndf
    latent_dim: int = 0  # nz (generator)
    keys: dict = field(default_factory=dict)
    first: str = ""      # the tensor that gives latent_dim (G) or channels (D)
    last: str = ""       # the tensor that gives channels (G) or ends the network (D)
    missing_counts: list = field(default_factory=list)  # BatchNorms saved without num_batches_tracked


def layout(role: str, k: int) -> tuple[list, list]:
    """(convolution indices, BatchNorm indices) of the examples' network with k + 1 convolutions."""
    if role == "generator":
        return [3 * i for i in range(k + 1)], [3 * i + 1 for i in range(k)]
    return [0] + [3 * j - 1 for j in range(1, k + 1)], [3 * j for j in range(1, k)]


def ganzoo_name(role: str, k: int, index: int) -> str:
    """ganzoo's module path for the examples' layer ``index``."""
    convs, _ = layout(role, k)
    if index == convs[-1]:
        return "head.0" if role == "generator" else "head"
    return f"trunk.net.{index}"


def key_map(role: str, k: int, prefix: str) -> dict:
    """ganzoo tensor name -> examples tensor name (``prefix`` + index + param) for every tensor."""
    convs, norms = layout(role, k)
    out = {}
    for i in sorted(convs + norms):
        for param in (BN_PARAMS if i in norms else ("weight",)):
            out[f"{ganzoo_name(role, k, i)}.{param}"] = f"{prefix}{i}.{param}"
    return out


def find_networks(tensors: dict) -> list:
    """Every examples-style generator or discriminator among ``tensors``, one per name prefix."""
    groups: dict[str, dict[int, dict]] = {}
    for name, t in tensors.items():
        m = LAYER.match(name)
        if m:
            groups.setdefault(m["prefix"], {}).setdefault(int(m["index"]), {})[m["param"]] = t
    found = []
    for prefix, layers in groups.items():
        net = _recognise(prefix, layers)
        if net is not None:
            found.append(net)
    return found


def _recognise(prefix: str, layers: dict) -> Optional[Network]:
    convs = sorted(i for i, p in layers.items() if "weight" in p and p["weight"].dim() == 4)
    norms = sorted(i for i, p in layers.items() if "running_mean" in p)
    if len(convs) < 2:
        return None
    role = "generator" if convs[1] == 3 else "discriminator" if convs[1] == 2 else None
    if role is None:
        return None
    k = len(convs) - 1
    want_convs, want_norms = layout(role, k)
    if convs != want_convs or norms != want_norms:
        return None
    w0, wk = layers[convs[0]]["weight"], layers[convs[-1]]["weight"]
    keys = key_map(role, k, prefix)
    missing = [v for v in keys.values() if v.endswith(".num_batches_tracked")
               and "num_batches_tracked" not in layers[int(v[len(prefix):].split(".")[0])]]
    if role == "generator":  # ConvTranspose2d weights are (in, out, kh, kw)
        base = int(w0.shape[2])
        return Network(role, prefix, base * 2**k, base, int(wk.shape[1]), int(wk.shape[0]), int(w0.shape[0]),
                       keys, f"{prefix}{convs[0]}.weight", f"{prefix}{convs[-1]}.weight", missing)
    base = int(wk.shape[2])  # Conv2d weights are (out, in, kh, kw)
    return Network(role, prefix, base * 2**k, base, int(w0.shape[1]), int(w0.shape[0]), 0, keys,
                   f"{prefix}{convs[0]}.weight", f"{prefix}{convs[-1]}.weight", missing)
