"""The built-in metrics' factories and :func:`evaluate`, which picks the metrics that apply.

Every factory is ``factory(model, data, *, n=None, seed=0, **options) -> dict`` of numbers, where
``data`` is a loaded :class:`ganzoo.data.TensorData` whose ``name`` is its ref (``"mnist:/dir"``)
and ``n=None`` means the metric's own default. Within one :func:`evaluate` call, generated samples,
the real reference split and judge features are computed once and shared between metrics.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Optional

import torch

from ganzoo.errors import ConfigError

FORMAT = "ganzoo-eval/1"
MIXTURE_N = 2500          # VEEGAN/PacGAN protocol
CLASS_FLOOR = 0.01         # a class is present when the judge gives it at least 1% of the samples
REAL_CAP = 10_000         # at most this many real images (two halves of 5,000)
ELBO_N = 1000             # held-out images for the ELBO / IWAE
IWAE_K = 100
FID_N = 2000
PRDC_K = 5
JUDGE_DRAWS = 20          # the judge's Frechet ratio averages this many sample draws and real splits
PRDC_MAX = 10_000         # k-NN balls of at most this many generated samples (O(n^2))

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


def conditional_on_classes(model, data) -> bool:
    """Whether ``model`` is class-conditional on ``data``'s classes (not self-conditioned on k-means clusters):
    what the ``intra`` metric (per-class Fréchet distance) needs."""
    return bool(model.num_classes) and model.label_prior is None and data.y is not None \
        and getattr(data, "label_source", "classes") == "classes" and model.num_classes == data.num_classes


# -- factories ---------------------------------------------------------------------------------
def modes_metric(model, data, *, n=None, seed=0, threshold: float = 3.0):
    from .mixture import mode_stats

    if not hasattr(data, "centres"):
        raise ConfigError(f"metric 'modes' needs a 2-D Gaussian mixture (ring8, grid25), not {data.name!r}")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model makes {list(model.sample_shape)} samples; {data.name} has {list(data.sample_shape)}")
    x = generate(model, int(n or MIXTURE_N), seed)
    return mode_stats(x, data.centres, data.std, threshold=threshold)


def judge_metric(model, data, *, n=None, seed=0, draws: int = JUDGE_DRAWS):
    """Class statistics and the judge-feature Frechet ratio. One draw of n samples against one split of
    the real images gives a noisy ratio (for the MNIST GANs, n = 1,000, the per-draw ratios spread by
    0.4 to 0.7), so ``draws`` draws (seeds seed, seed + 1, ...) each meet their own real split (0, 1, ...):
    ``fd`` and ``fd_real_halves`` are the means over draws, ``fd_ratio`` their quotient, and
    ``fd_ratio_sd`` the spread of the per-draw ratios. The class statistics pool all draws."""
    from .features import frechet_distance

    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ConfigError(f"judge draws must be a whole number >= 1, not {draws!r}")
    fds, refs, pfs = [], [], []
    for split in range(draws):
        n, (fa, pa), (fb, pb), (ff, pf), excluded = _judge_outputs(model, data, n, seed, split)
        fds.append(frechet_distance(ff, fb))
        refs.append(frechet_distance(fa, fb))
        pfs.append(pf)
        if split == 0:
            pb0, nb0 = pb, int(len(fb))
    pf = torch.cat(pfs)
    fd, ref = sum(fds) / draws, sum(refs) / draws
    labelled = model.num_classes == pf.shape[1] and model.label_prior is None  # class-conditional (not clusters)
    hits = (pf.argmax(1) == balanced_labels(n, pf.shape[1]).repeat(draws)).double().mean() if labelled else None
    ratios = torch.tensor([f / r if r > 0 else float("inf") for f, r in zip(fds, refs)], dtype=torch.float64)
    return {
        "n": n,
        "n_real": nb0,
        "draws": draws,
        "real_excludes_judge_train": int(excluded),
        "classes": classes_present(pf),
        "classes_real": classes_present(pb0),
        "class_kl": class_kl(pf),
        "class_kl_real": class_kl(pb0),
        "max_prob": float(pf.max(1).values.mean()),
        "max_prob_real": float(pb0.max(1).values.mean()),
        "fd": fd,
        "fd_real_halves": ref,
        "fd_ratio": fd / ref if ref > 0 else float("inf"),
        "fd_ratio_sd": float(ratios.std()) if draws > 1 else 0.0,
        **({"label_accuracy": float(hits)} if labelled else {}),
    }


def prdc_metric(model, data, *, n=None, seed=0, k: int = PRDC_K):
    from .features import prdc

    n, (fa, _), (fb, _), (ff, _), _ = _judge_outputs(model, data, n, seed)
    ff = ff[:PRDC_MAX]
    out = {"n": int(len(ff)), "n_real": int(len(fb)), "k": int(k)}
    out.update(prdc(fb, ff, k=k))
    out.update({f"{key}_real_halves": v for key, v in prdc(fb, fa, k=k).items()})
    return out


def elbo_metric(model, data, *, n=None, seed=0, k: int = IWAE_K):
    from .likelihood import elbo_and_iwae

    if model.encoder is None or not getattr(model.encoder, "variational", False):
        raise ConfigError("metric 'elbo' needs a VAE with its encoder loaded")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model takes {list(model.sample_shape)} inputs; {data.name} has {list(data.sample_shape)}")
    if model.num_classes and data.y is None:
        raise ConfigError(f"the model is class-conditional but {data.name} has no labels")
    gen = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(data), generator=gen)[: int(n or ELBO_N)]
    y = data.y[idx] if model.num_classes else None
    return elbo_and_iwae(model, data.x[idx], y, k=int(k), seed=seed)


@torch.no_grad()
def recon_metric(model, data, *, n=None, seed=0):
    """AE/VAE reconstruction of ``n`` items of ``data`` (pass held-out data): per-image Bernoulli
    negative log-likelihood (nats) and mean squared error per pixel, decoding the encoder's mean."""
    if model.encoder is None:
        raise ConfigError("metric 'recon' needs an autoencoder or VAE with its encoder loaded")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model takes {list(model.sample_shape)} inputs; {data.name} has {list(data.sample_shape)}")
    gen = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(data), generator=gen)[: int(n or ELBO_N)]
    x = data.x[idx]
    y = data.y[idx] if model.num_classes else None
    logits = model.generator.logits(model.encode(x), y)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    mse = (torch.sigmoid(logits) - x).pow(2).flatten(1).mean(1)
    return {"n": len(idx), "recon_nll": float(bce.mean()), "recon_mse": float(mse.mean())}


def fid_metric(model, data, *, n=None, seed=0, inception: Optional[str] = None):
    from .fid import fid, load_inception

    load_inception(inception)  # fail fast with the one-line message
    if not data.is_image or not model.is_image:
        raise ConfigError("metric 'fid' needs image data and an image model")
    _, b, _ = real_halves(data)
    n = int(n or min(len(b), FID_N))
    return {"n": n, "n_real": int(min(len(b), n)), "fid": fid(b[:n], generate(model, n, seed), path=inception)}


# -- choosing and running ----------------------------------------------------------------------
def default_metrics(model, data, options: Optional[dict] = None) -> list[str]:
    """What ``evaluate`` runs when no metric is named ('fid' only with Inception weights given)."""
    import os

    from .fid import ENV
    from .judge import has_judge

    names = []
    if model.kind == "ae" and model.prior is None:  # nothing to sample from: scored on its reconstructions
        return ["recon"] if model.encoder is not None and model.sample_shape == tuple(data.sample_shape) else []
    if hasattr(data, "centres") and model.sample_shape == tuple(data.sample_shape):
        names.append("modes")
    if data.is_image and model.is_image and has_judge(data.name):
        names += ["judge", "prdc"] + (["intra"] if conditional_on_classes(model, data) else [])
    if model.is_image and data.is_image and getattr(model.generator, "code_layout", None) is not None:
        names.append("codes")   # latent codes (InfoGAN): what each does to the images
    if model.kind == "vae" and model.encoder is not None and model.sample_shape == tuple(data.sample_shape):
        names.append("elbo")
    if model.encoder is not None and model.sample_shape == tuple(data.sample_shape):
        names.append("recon")
    if names and data.is_image and (os.environ.get(ENV) or (options or {}).get("fid", {}).get("inception")):
        names.append("fid")
    return names


def evaluate(model, data_ref=None, *, n: Optional[int] = None, seed: int = 0, metrics=None,
             options: Optional[dict] = None, sampling: Optional[dict] = None) -> dict:
    """Score ``model`` (a :class:`Model` or anything ``ganzoo.load`` accepts) on ``data_ref`` (a ref
    such as ``"ring8"`` / ``"mnist:DIR"``, a loaded TensorData, or None for the dataset recorded
    in the model's config), its samples drawn with the ``sampling`` options. See :mod:`ganzoo.metrics` for
    the returned dict."""
    from ganzoo.data import load_dataset
    from ganzoo.plugins import get_registry
    from ganzoo.registry import a_kind, resolve

    model_ref = None
    if not isinstance(model, torch.nn.Module):
        from ganzoo.api import load

        model_ref = str(model)
        model = load(model)
    if sampling:
        model = model.with_sampling(**model.generator.check_sampling(sampling, who=model_ref))
    model.eval()
    recorded = data_ref is None
    if recorded:
        data_ref = model.meta.get("dataset")
        if not data_ref:
            raise ConfigError("the model records no dataset; pass the data (--data ring8, --data mnist:DIR, ...)")
    try:
        data = load_dataset(data_ref) if isinstance(data_ref, str) else data_ref
    except ConfigError as exc:
        if not recorded or ":" not in data_ref:
            raise
        name = data_ref.partition(":")[0]  # the training run's path, which need not exist here
        raise ConfigError(f"this model was trained on {data_ref}, not found here ({exc}); pass the data: "
                          f"--data {name}:DIR (data=\"{name}:DIR\" in Python)") from None
    if n is not None and (isinstance(n, bool) or int(n) < 2):
        raise ConfigError(f"n must be at least 2, not {n!r}")
    if n is not None:
        from ganzoo.limits import check_output_memory

        check_output_memory(int(n), model.sample_shape, what=f"eval: {int(n):,} samples", advice="ask for fewer (-n)")
    options = options or {}
    reg = get_registry()
    kind = model.kind
    if metrics:
        names = list(dict.fromkeys(metrics))
        for name in names:
            spec = reg.metric(name)
            if kind not in spec.applies_to:
                raise ConfigError(f"metric {name!r} applies to {', '.join(spec.applies_to)} models, not {kind}")
    else:
        names = default_metrics(model, data, options)
        if not names:
            raise ConfigError(f"no built-in metric applies to {a_kind(kind)} making {list(model.sample_shape)} samples on "
                              f"{data.name!r} (mixtures get 'modes', digits/mnist images the judge, VAEs 'elbo'); "
                              "name one with --metric")
    results = {}
    with shared_cache(), torch.no_grad():
        for name in names:
            factory = resolve(reg.metric(name).factory)
            out = factory(model, data, n=n, seed=seed, **options.get(name, {}))
            results[name] = {k: _number(v) for k, v in out.items()}
    return {
        "format": FORMAT,
        "model": model_ref or f"<{model.variant} model>",
        "variant": model.variant,
        "objective": model.objective,
        "kind": kind,
        "data": data.name,
        "seed": int(seed),
        **({"sampling": dict(model.sampling)} if model.sampling else {}),
        "metrics": results,
    }


def _number(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    return float(v)
