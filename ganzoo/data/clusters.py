"""Cluster labels for unlabelled training: ``--data-opt clusters=K`` replaces a dataset's labels by
the k-means clusters of its samples (raw pixels or coordinates), so that a class-conditional GAN can
be trained without class labels -- a *self-conditioned* GAN (Liu et al., CVPR 2020, here with one
fixed clustering instead of re-clustering on the discriminator's features). The model then draws
its cluster from the clusters' frequencies whenever it is sampled without a label."""

from __future__ import annotations

import copy

import torch

from ganzoo.errors import ConfigError

MAX_ITERS = 100
RESTARTS = 4


def kmeans(x: torch.Tensor, k: int, *, seed: int = 0, restarts: int = RESTARTS,
           iters: int = MAX_ITERS) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means on the rows of ``x`` (N, D): ``(centres (k, D), assignment (N,))``, the best (least
    squared error) of ``restarts`` runs of Lloyd's algorithm from k-means++ seeds. Deterministic for
    a seed."""
    x = x.reshape(x.shape[0], -1).double()
    gen = torch.Generator().manual_seed(int(seed))
    best = None
    for _ in range(max(1, restarts)):
        centres, assign = _lloyd(x, k, gen, iters)
        err = (x - centres[assign]).square().sum()
        if best is None or err < best[0]:
            best = (err, centres, assign)
    return best[1].float(), best[2]


def _lloyd(x, k, gen, iters):
    """One k-means run from a k-means++ seed; an emptied cluster restarts at the worst-fitting point."""
    n = x.shape[0]
    centres = x[torch.randint(n, (1,), generator=gen)]
    d2 = torch.cdist(x, centres).square().squeeze(1)
    for _ in range(1, k):
        pick = torch.multinomial(d2 / d2.sum(), 1, generator=gen) if d2.sum() > 0 else torch.randint(n, (1,), generator=gen)
        centres = torch.cat([centres, x[pick]])
        d2 = torch.minimum(d2, torch.cdist(x, x[pick]).square().squeeze(1))
    assign = None
    for _ in range(iters):
        dist = torch.cdist(x, centres)
        new = dist.argmin(1)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        if (counts == 0).any():   # an emptied cluster restarts at the worst-fitting point
            fit = dist.gather(1, assign[:, None]).squeeze(1)
            for j in torch.nonzero(counts == 0).flatten().tolist():
                far = int(fit.argmax())
                old = int(assign[far])
                sums[old] -= x[far]
                counts[old] -= 1
                sums[j], counts[j], assign[far], fit[far] = x[far], 1, j, -1.0
        centres = sums / counts.clamp(min=1)[:, None]
    return centres, assign


def with_cluster_labels(data, k, *, seed: int = 0):
    """A copy of ``data`` (same class: a 2-D mixture keeps its modes) whose labels are its k-means
    clusters 0..k-1, with ``label_source = "clusters"``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"clusters must be a whole number of clusters >= 2, such as clusters=50; not {k!r}")
    if k > len(data) // 2:
        raise ConfigError(f"clusters={k} is too many for {len(data)} samples; use at most {len(data) // 2}")
    _, assign = kmeans(data.x, k, seed=seed)
    out = copy.copy(data)
    out.y, out.num_classes, out.labels, out.name, out.label_source = assign, k, None, f"{data.name}[clusters={k}]", "clusters"
    return out


def label_prior(data) -> list[float]:
    """The share of each label in ``data`` (what a self-conditioned model draws its clusters from)."""
    counts = torch.bincount(data.y, minlength=data.num_classes).double()
    return (counts / counts.sum()).tolist()
