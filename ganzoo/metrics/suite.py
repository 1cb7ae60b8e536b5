"""The built-in metrics' factories and :func:`evaluate`, which picks the metrics that apply.

Every factory is ``factory(model, data, *, n=None, seed=0, **options) -> dict`` of numbers, where
``data`` is a loaded :class:`ganzoo.data.sources.TensorData` whose ``name`` is its ref (``"mnist:/dir"``)
and ``n=None`` means the metric's own default. Within one :func:`evaluate` call, generated samples,
the real reference split and judge features are computed once and shared between metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from ganzoo.errors import ConfigError
from ganzoo.limits import check_output_memory

from .draws import (CLASS_FLOOR, MIN_POOL, REAL_CAP, _cached, _image_keys, _judge_outputs, _real_indices,  # noqa: F401
                    balanced_labels, class_kl, classes_present, eval_labels, generate, real_halves, shared_cache)

FORMAT = "ganzoo-eval/1"
MIXTURE_N = 2500          # VEEGAN/PacGAN protocol
ELBO_N = 1000             # held-out images for the ELBO / IWAE
IWAE_K = 100
PRDC_K = 5
JUDGE_DRAWS = 20          # the judge's Frechet ratio averages this many sample draws and real splits
PRDC_MAX = 10_000         # k-NN balls of at most this many generated samples (O(n^2))

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


# -- choosing and running ----------------------------------------------------------------------
def default_metrics(model, data, options: Optional[dict] = None) -> list[str]:
    """What ``evaluate`` runs when no metric is named ('fid' only with Inception weights given)."""
    import os

    from .fid import ENV
    from .judge import conditional_on_classes, has_judge

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
    from ganzoo.data import load_dataset, ref_from
    from ganzoo.plugins import get_registry
    from ganzoo.registry import a_kind, resolve

    model_ref = None
    if not isinstance(model, torch.nn.Module):
        from ganzoo.api import load
        from ganzoo.errors import WeightsError, first_line

        model_ref = str(model)
        try:
            model = load(model)
        except WeightsError as exc:  # e.g. a generator-only folder (pull --generator-only): its metrics still apply
            model = load(model, components=["generator"])
            import sys

            print(f"ganzoo: note: {first_line(exc)}; scoring the generator alone (metrics that need the other "
                  "components are left out)", file=sys.stderr)
    if sampling:
        model = model.with_sampling(**model.generator.check_sampling(sampling, who=model_ref))
    model.eval()
    recorded = data_ref is None
    if recorded:
        data_ref = ref_from(model.meta.get("dataset"), model_ref if model_ref and Path(model_ref).is_dir() else None)
        if not data_ref:
            raise ConfigError("the model records no dataset; pass the data (--data ring8, --data mnist:DIR, ...)")
    try:
        data = load_dataset(data_ref) if isinstance(data_ref, str) else data_ref
    except ConfigError as exc:
        if not recorded:
            raise
        name = data_ref.partition(":")[0]  # a public id (mnist) or the training run's path, not found here
        where = f"{data_ref}, not found here ({exc})" if ":" in data_ref else f"{data_ref}, which needs a path"
        raise ConfigError(f"this model was trained on {where}; pass the data: "
                          f"--data {name}:DIR (data=\"{name}:DIR\" in Python)") from None
    if n is not None and (isinstance(n, bool) or int(n) < 2):
        raise ConfigError(f"n must be at least 2, not {n!r}")
    if n is not None:  # priced before anything is sampled
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
