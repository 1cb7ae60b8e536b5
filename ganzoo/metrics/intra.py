"""The intra-class Fréchet distance of a class-conditional model (the ``intra`` metric; StudioGAN reports it as
IFID): for each class, the Fréchet distance between the judge features of the samples drawn for that class and
those of that class's real images, averaged over the classes, beside the same average for two halves of the
real images (the floor).

The overall Fréchet distance compares the mixture of all classes with the real mixture, so a model whose samples
follow their labels but vary too little inside each class can still score well there; per class, that lack of
variety shows. It reuses the judge metric's draws (:func:`ganzoo.metrics.suite.judge_metric`): the samples with
balanced labels (class ``c`` is every C-th sample, so each class gets n / C of them) and the real halves A and B
of each split, so within one evaluation the features are computed once.
"""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError

from .features import frechet_distance
from .judge import conditional_on_classes
from .draws import _judge_outputs, _real_indices, balanced_labels
from .suite import JUDGE_DRAWS


def intra_metric(model, data, *, n=None, seed=0, draws: int = JUDGE_DRAWS):
    """``intra_fd``: the mean over classes of the Fréchet distance between the judge features of a class's samples
    and of its real images in half B; ``intra_fd_real_halves``: the same mean between that class's images in halves
    A and B (the floor, with about as many images per class as the samples); ``intra_fd_ratio`` their quotient
    (1 is perfect); each a mean over ``draws`` draws and real splits, as the judge metric's. ``intra_fd_ratio_max``
    and ``worst_class``: the class whose own ratio (over the draws) is largest."""
    if not conditional_on_classes(model, data):
        raise ConfigError(f"metric 'intra' needs a class-conditional model on the data's classes (--conditional on "
                          f"labelled data, not clusters); this model has {model.num_classes} classes"
                          + ("" if model.label_prior is None else " (self-conditioned clusters)")
                          + f", {data.name} {'has no labels' if data.y is None else f'{data.num_classes} classes'}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ConfigError(f"intra draws must be a whole number >= 1, not {draws!r}")
    classes = model.num_classes
    fake_sum = torch.zeros(classes, dtype=torch.float64)
    real_sum = torch.zeros(classes, dtype=torch.float64)
    for split in range(draws):
        n_used, (fa, _), (fb, _), (ff, _), _ = _judge_outputs(model, data, n, seed, split)
        ia, ib, _ = _real_indices(data, split)
        ya, yb, yf = data.y[ia], data.y[ib], balanced_labels(n_used, classes)
        for c in range(classes):
            a, b, f = fa[ya == c], fb[yb == c], ff[yf == c]
            if min(len(a), len(b), len(f)) < 2:
                raise ConfigError(f"metric 'intra': class {c} has {min(len(a), len(b))} real images in a half and "
                                  f"{len(f)} samples; it needs at least 2 of each (more data, or a larger -n)")
            fake_sum[c] += frechet_distance(f, b)
            real_sum[c] += frechet_distance(a, b)
    fake, real = fake_sum / draws, real_sum / draws
    per_class = fake / real.clamp_min(1e-12)
    worst = int(per_class.argmax())
    fd, floor = float(fake.mean()), float(real.mean())
    return {
        "n": n_used,
        "draws": draws,
        "n_per_class": n_used // classes,
        "intra_fd": fd,
        "intra_fd_real_halves": floor,
        "intra_fd_ratio": fd / floor if floor > 0 else float("inf"),
        "intra_fd_ratio_max": float(per_class[worst]),
        "worst_class": worst,
    }
