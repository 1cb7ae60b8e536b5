"""Distances between two sets of feature vectors: the Fréchet distance and k-NN
precision/recall (Kynkäänniemi et al. 2019) with density/coverage (Naeem et al. 2020).

Pure functions of arrays ``(N, D)`` (numpy or torch); everything is computed in float64.
"""

from __future__ import annotations

import numpy as np

from ganzoo.errors import ConfigError


def _as64(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"features must be a 2-D array (N, D), got shape {x.shape}")
    return x


def stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N-1) covariance of ``x`` (N, D)."""
    x = _as64(x)
    if x.shape[0] < 2:
        raise ConfigError("need at least 2 feature vectors for a covariance")
    return x.mean(0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((s1 s2)^1/2) for symmetric PSD matrices: the eigenvalues of s1 s2 are those of the
    symmetric PSD matrix s1^1/2 s2 s1^1/2 (no complex sqrtm, no scipy)."""
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ s2 @ root
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum())


def frechet_from_stats(mu1, s1, mu2, s2) -> float:
    """||mu1 - mu2||^2 + tr(s1 + s2 - 2 (s1 s2)^1/2) (Dowson & Landau 1982; Heusel et al. 2017)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))
    return max(d, 0.0)


def frechet_distance(x, y) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``x`` and ``y`` (the 'FID' formula)."""
    return frechet_from_stats(*stats(x), *stats(y))


# -- k-NN precision / recall / density / coverage ----------------------------------------------
def pairwise_distances(a, b, chunk: int = 2048) -> np.ndarray:
    """Euclidean distances (len(a), len(b)), in row chunks."""
    a, b = _as64(a), _as64(b)
    bb = (b * b).sum(1)
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(0, a.shape[0], chunk):
        x = a[i:i + chunk]
        d2 = (x * x).sum(1)[:, None] + bb[None, :] - 2.0 * x @ b.T
        out[i:i + chunk] = np.sqrt(np.clip(d2, 0.0, None))
    return out


def knn_radii(x, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance from each point to its k-th nearest *other* point of the same set."""
    x = _as64(x)
    if x.shape[0] <= k:
        raise ConfigError(f"need more than k={k} points for k-NN radii, got {x.shape[0]}")
    out = np.empty(x.shape[0])
    for i in range(0, x.shape[0], chunk):
        d = pairwise_distances(x[i:i + chunk], x)
        d[np.arange(d.shape[0]), np.arange(i, i + d.shape[0])] = 0.0
        out[i:i + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return out


def prdc(real, fake, k: int = 5, chunk: int = 1024) -> dict:
    """Precision, recall (Kynkäänniemi 2019), density and coverage (Naeem 2020) with k neighbours.

    * precision: share of fake points inside some real point's k-NN ball;
    * recall:    share of real points inside some fake point's k-NN ball;
    * density:   mean number of real balls holding a fake point, divided by k (1 for matching sets);
    * coverage:  share of real balls that hold at least one fake point.
    """
    real, fake = _as64(real), _as64(fake)
    r_real, r_fake = knn_radii(real, k), knn_radii(fake, k)
    in_real_ball = np.zeros(fake.shape[0], dtype=bool)
    real_balls_hit = np.zeros(fake.shape[0])
    recalled = np.zeros(real.shape[0], dtype=bool)
    nearest_fake = np.full(real.shape[0], np.inf)
    for j in range(0, fake.shape[0], chunk):
        d = pairwise_distances(real, fake[j:j + chunk])  # (R, chunk)
        inside = d < r_real[:, None]
        in_real_ball[j:j + chunk] = inside.any(0)
        real_balls_hit[j:j + chunk] = inside.sum(0)
        recalled |= (d < r_fake[None, j:j + chunk]).any(1)
        nearest_fake = np.minimum(nearest_fake, d.min(1))
    return {
        "precision": float(in_real_ball.mean()),
        "recall": float(recalled.mean()),
        "density": float(real_balls_hit.mean() / k),
        "coverage": float((nearest_fake < r_real).mean()),
    }
