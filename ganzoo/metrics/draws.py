"""What the metrics share: the samples a model draws for scoring (:func:`generate`, with the labels of
:func:`eval_labels`), the real reference halves (:func:`real_halves`), the judge's outputs on both, and the
per-:func:`~ganzoo.metrics.suite.evaluate` cache (:func:`shared_cache`) that computes each of them once."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Optional

import torch

from ganzoo.errors import ConfigError

CLASS_FLOOR = 0.01         # a class is present when the judge gives it at least 1% of the samples
REAL_CAP = 10_000         # at most this many real images (two halves of 5,000)

_cache: contextvars.ContextVar[Optional[dict]] = contextvars.ContextVar("ganzoo_eval_cache", default=None)


@contextlib.contextmanager
def shared_cache():
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _cached(key, fn):
    store = _cache.get()
    if store is None:
        return fn()
    if key not in store:
        store[key] = fn()
    return store[key]


# -- shared pieces -----------------------------------------------------------------------------
def balanced_labels(n: int, num_classes: int) -> Optional[torch.Tensor]:
    """0, 1, ..., C-1, 0, 1, ... for a class-conditional model (None otherwise)."""
    return torch.arange(n) % num_classes if num_classes else None


def eval_labels(model, n: int, seed: int = 0) -> Optional[torch.Tensor]:
    """Labels for ``n`` samples scored without labels: a self-conditioned model's clusters drawn from
    their shares (seeded with ``seed + 1``, as :meth:`Model.sample` does), balanced labels for a
    class-conditional model, None for an unconditional one."""
    y = model.draw_labels(n, seed + 1)
    return y if y is not None else balanced_labels(n, model.num_classes)


@torch.no_grad()
def generate(model, n: int, seed: int = 0, *, batch: int = 500) -> torch.Tensor:
    """``n`` samples in [0, 1] (images) or as generated (vectors): exactly ``model.sample(n, seed=seed)``
    (its sampling options included, ``model.sampling``), the latent drawn at once and run in batches;
    class-conditional models get balanced labels, self-conditioned ones (trained on k-means clusters) labels
    drawn from their clusters' shares."""
    from ganzoo.model import to_unit

    def make():
        g, options = model.generator, model.sampling
        was = g.training
        g.eval()
        try:
            z = g.sample_latent(n, seed=seed, **options)
            y = eval_labels(model, n, seed)
            out = [g.generate(z[i:i + batch], None if y is None else y[i:i + batch].to(z.device), **options).cpu()
                   for i in range(0, n, batch)]
        finally:
            g.train(was)
        x = torch.cat(out) if out else torch.zeros(0, *g.sample_shape)
        return to_unit(x.float(), g.output_range)

    return _cached(("samples", id(model), n, seed), make)


def real_halves(data, split: int = 0) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Two disjoint halves (A, B) of a fixed random permutation (seed ``split``: 0 unless a metric
    averages several splits) of at most REAL_CAP real samples. B is the reference the generated
    samples are compared with; A vs B is the real-vs-real baseline (``fd_real_halves``). Images the
    dataset's judge was trained on are left out when at least MIN_POOL others remain (a judge's
    features of its own training images are tighter than of new images, which would make the
    real-vs-real floor too low)."""
    ia, ib, excluded = _real_indices(data, split)
    return data.x[ia], data.x[ib], excluded


def _real_indices(data, split: int = 0) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Indices into ``data`` of the halves A and B of split ``split`` (see :func:`real_halves`)."""
    pool = _cached(("pool", id(data)), lambda: _reference_pool(data))
    gen = torch.Generator().manual_seed(split)
    idx = pool[torch.randperm(len(pool), generator=gen)[:REAL_CAP]]
    half = len(idx) // 2
    return idx[:half], idx[half:2 * half], len(pool) < len(data)


MIN_POOL = 1000


def _image_keys(x: torch.Tensor) -> list[bytes]:
    q = (x.detach().cpu().float().clamp(0, 1) * 255).round().to(torch.uint8).reshape(x.shape[0], -1).numpy()
    return [row.tobytes() for row in q]


def _reference_pool(data) -> torch.Tensor:
    """Indices of ``data`` usable as the real reference (see :func:`real_halves`)."""
    from .judge import has_judge, judge_splits

    everything = torch.arange(len(data))
    if not (data.is_image and has_judge(data.name)):
        return everything
    try:
        judge_train, _, _ = judge_splits(data.name)
    except ConfigError:
        return everything
    if tuple(judge_train.sample_shape) != tuple(data.sample_shape):
        return everything
    seen = set(_image_keys(judge_train.x))
    keep = torch.tensor([k not in seen for k in _image_keys(data.x)], dtype=torch.bool)
    return everything[keep] if int(keep.sum()) >= MIN_POOL else everything


def _real_judge_outputs(judge, data, idx: torch.Tensor):
    """The judge's (features, probabilities) of real images ``data.x[idx]``, each image run through the
    judge once per :func:`evaluate` call however many splits it falls in."""
    store = _cached(("judge", "real", id(data)), lambda: {"done": torch.zeros(len(data), dtype=torch.bool)})
    need = idx[~store["done"][idx]]
    if len(need):
        f, p = judge.predict(data.x[need])
        if "f" not in store:
            store["f"] = f.new_zeros((len(data), f.shape[1]))
            store["p"] = p.new_zeros((len(data), p.shape[1]))
        store["f"][need], store["p"][need] = f, p
        store["done"][need] = True
    return store["f"][idx], store["p"][idx]


def _judge_outputs(model, data, n, seed, split: int = 0):
    """Judge outputs (features, class probabilities) of real halves A and B of split ``split`` and of
    ``n`` samples drawn with seed ``seed + split``."""
    from .judge import load_judge

    judge = load_judge(data.name)
    ia, ib, excluded = _real_indices(data, split)
    if len(ib) < 10:
        raise ConfigError(f"{data.name}: too few real images ({len(data)}) for judge metrics")
    n = int(n or len(ib))
    if model.sample_shape != (judge.channels, judge.size, judge.size):
        raise ConfigError(f"the {data.name.partition(':')[0]} judge scores images of shape "
                          f"{[judge.channels, judge.size, judge.size]}; this model makes {list(model.sample_shape)}")
    fa, fb = _real_judge_outputs(judge, data, ia), _real_judge_outputs(judge, data, ib)
    ff = _cached(("judge", "fake", id(model), n, seed + split),
                 lambda: judge.predict(generate(model, n, seed + split)))
    return n, fa, fb, ff, excluded


def class_kl(probs: torch.Tensor) -> float:
    """KL(histogram of argmax classes || uniform), in nats."""
    from .mixture import reverse_kl

    c = probs.shape[1]
    return reverse_kl(torch.bincount(probs.argmax(1), minlength=c).double().numpy())


def classes_present(probs: torch.Tensor, floor: float = CLASS_FLOOR) -> int:
    """How many classes the judge gives at least ``floor`` of the samples (argmax), e.g. 10 of 10."""
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1])
    return int((counts >= floor * len(probs)).sum())
