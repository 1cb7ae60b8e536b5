"""The 2-D mixture protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).

A sample is *high quality* when it lies within ``threshold`` (3) standard deviations of its nearest
mode centre; a mode is *captured* when at least one high-quality sample is nearest to it; the
reverse KL is KL(histogram of high-quality samples over the modes || uniform), in nats.

For samples from the true mixture the expected high-quality share is P(chi_2 < 3) =
1 - exp(-4.5) = 0.98889; a generator that puts all its mass on one of 8 modes has reverse KL
ln 8 = 2.079.

These three numbers cannot see collapse *inside* a mode: a generator that emits a few points at
each centre scores perfectly. ganzoo adds ``spread``: the root-mean-square distance of the
high-quality samples to their centre, divided by what the true mixture gives (std times
sqrt(E[chi^2_2 | chi^2_2 <= 9]) = std x 1.378; 2-D mixtures only). About 1 for the true mixture, 0 for points at the
centres, below 1 for samples bunched too tightly.
"""

from __future__ import annotations

import math

import numpy as np

from ganzoo.errors import ConfigError


def mode_stats(samples, centres, std: float, *, threshold: float = 3.0) -> dict:
    """``samples`` (N, 2), ``centres`` (K, 2) -> hq_fraction, modes (captured), modes_total,
    reverse_kl (NaN when no sample is high quality) and n."""
    x = np.asarray(samples.detach().cpu() if hasattr(samples, "detach") else samples, dtype=np.float64)
    c = np.asarray(centres.detach().cpu() if hasattr(centres, "detach") else centres, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ConfigError(f"samples {x.shape} and centres {c.shape} must be (N, D) and (K, D)")
    k = c.shape[0]
    d = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)) if len(x) else np.zeros((0, k))
    nearest = d.argmin(1) if len(x) else np.zeros(0, dtype=int)
    dist = d[np.arange(len(x)), nearest] if len(x) else np.zeros(0)
    finite = np.isfinite(x).all(1)
    hq = finite & (dist <= threshold * std)
    counts = np.bincount(nearest[hq], minlength=k).astype(np.float64)
    spread = float(np.sqrt((dist[hq] ** 2).mean() / true_mean_square(threshold)) / std) \
        if hq.any() and c.shape[1] == 2 else float("nan")
    return {
        "n": int(len(x)),
        "hq_fraction": float(hq.mean()) if len(x) else 0.0,
        "modes": int((counts > 0).sum()),
        "modes_total": int(k),
        "reverse_kl": reverse_kl(counts),
        "spread": spread,
    }


def reverse_kl(counts) -> float:
    """KL(p || uniform) for a histogram ``counts`` over K bins, in nats (NaN for an empty one)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(max((p * np.log(p * len(counts))).sum(), 0.0))


HQ_TRUE_MIXTURE = 1.0 - math.exp(-4.5)


def true_mean_square(threshold: float = 3.0) -> float:
    """E[r^2 / std^2 | r <= threshold std] for a 2-D Gaussian: chi^2_2 is exponential with mean 2."""
    a = threshold ** 2
    return 2.0 - a * math.exp(-a / 2) / (1.0 - math.exp(-a / 2))
