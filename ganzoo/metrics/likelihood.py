"""The metrics of encoders and decoders, in nats per image: ``elbo`` (the ELBO and the importance-weighted
estimate of log p(x), Burda et al. 2016), ``kl-dims`` (how the KL splits over the latent dimensions) and
``recon`` (the reconstruction error). The importance-weighted estimate::

    log p(x) ~= log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x)

It is a lower bound that tightens as K grows (IWAE_1 = ELBO in expectation). The observation
model is the one the VAE was trained with (``likelihood`` of its ``elbo`` objective: Bernoulli on
the decoder logits by default, which for grey-level data in [0, 1] is the usual 'nats' convention).
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from ganzoo.errors import ConfigError

LOG_2PI = math.log(2 * math.pi)
ELBO_N = 1000             # held-out images for the ELBO / IWAE, the KL per dimension and the reconstructions
IWAE_K = 100


def _likelihood_of(model) -> str:
    try:
        return getattr(model.make_objective(), "likelihood", "bernoulli")
    except Exception:  # pragma: no cover - an objective without a likelihood setting
        return "bernoulli"


@torch.no_grad()
def elbo_and_iwae(model, x: torch.Tensor, y: Optional[torch.Tensor] = None, *, k: int = 100, seed: int = 0,
                  likelihood: Optional[str] = None, batch: int = 4000) -> dict:
    """Per-image averages over ``x`` (N, *shape) in [0, 1]: ``elbo`` (analytic KL, E log p(x|z)
    from the same K draws), ``recon`` (-E log p(x|z)), ``kl``, and ``iwae`` (K importance samples).

    ``model`` needs ``encoder(x[, y]) -> (mu, logvar)`` (labels for a conditional encoder) and
    ``generator.logits(z, y)``."""
    from ganzoo.objectives.autoencoding import encode, gaussian_kl, log_likelihood

    if k < 1:
        raise ConfigError("k must be at least 1")
    likelihood = likelihood or _likelihood_of(model)
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(int(seed))
    per_chunk = max(1, batch // k)
    elbos, lls, kls, iwaes = [], [], [], []
    try:
        for i in range(0, x.shape[0], per_chunk):
            xb = x[i:i + per_chunk].float()
            yb = y[i:i + per_chunk] if y is not None else None
            mu, logvar = encode(model, xb, yb)
            b, dz = mu.shape
            std = (0.5 * logvar).exp()
            eps = torch.randn(k, b, dz, generator=gen)
            z = mu[None] + std[None] * eps                                   # (K, B, dz)
            log_q = -0.5 * (eps.pow(2) + logvar[None] + LOG_2PI).sum(-1)     # (K, B)
            log_p_z = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
            xk = xb[None].expand(k, *xb.shape).reshape(k * b, *xb.shape[1:])
            yk = yb[None].expand(k, b).reshape(-1) if yb is not None else None
            ll = log_likelihood(likelihood, model.generator.logits(z.reshape(k * b, dz), yk), xk).view(k, b)
            log_w = ll + log_p_z - log_q
            kl = gaussian_kl(mu, logvar)
            lls.append(ll.mean(0))
            kls.append(kl)
            elbos.append(ll.mean(0) - kl)
            iwaes.append(torch.logsumexp(log_w, 0) - math.log(k))
    finally:
        model.train(was)
    cat = lambda parts: torch.cat(parts).double()  # noqa: E731
    return {
        "n": int(x.shape[0]),
        "elbo": float(cat(elbos).mean()),
        "recon": float(-cat(lls).mean()),
        "kl": float(cat(kls).mean()),
        "iwae": float(cat(iwaes).mean()),
        "iwae_k": int(k),
    }


@torch.no_grad()
def kl_per_dimension(model, x: torch.Tensor, y: Optional[torch.Tensor] = None, *, batch: int = 1000) -> dict:
    """How a VAE spends its KL, per latent dimension, over ``x`` (N, *shape) in [0, 1]: ``kl_dim_k``, the mean over
    the images of KL(q(z_k | x) || N(0, 1)) in nats (the ELBO's KL is their sum); ``active_dims``, the dimensions
    whose posterior mean varies across the images (Var_x E_q[z_k] > 0.01: Burda et al. 2016's active units); and
    ``kl_top_share``, the largest dimension's share of the total KL (near 1/d when spread evenly)."""
    from ganzoo.objectives.autoencoding import encode

    was = model.training
    model.eval()
    try:
        parts = [encode(model, x[i:i + batch].float(), None if y is None else y[i:i + batch])
                 for i in range(0, x.shape[0], batch)]
    finally:
        model.train(was)
    mu = torch.cat([p[0] for p in parts]).double()
    logvar = torch.cat([p[1] for p in parts]).double()
    kl = (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)
    active = int((mu.var(0) > 0.01).sum()) if len(mu) > 1 else 0
    return {"n": int(x.shape[0]), "active_dims": active, "kl_top_share": float(kl.max() / kl.sum().clamp(min=1e-12)),
            **{f"kl_dim_{k}": float(v) for k, v in enumerate(kl)}}


# -- the metrics (registered in ganzoo.metrics) -------------------------------------------------
def _elbo_items(model, data, n, metric: str):
    """The held-out images (and labels) the likelihood metrics read: ``n`` (1,000) of ``data``, seed 0."""
    if model.encoder is None or not getattr(model.encoder, "variational", False):
        raise ConfigError(f"metric {metric!r} needs a VAE with its encoder loaded")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model takes {list(model.sample_shape)} inputs; {data.name} has {list(data.sample_shape)}")
    if model.num_classes and data.y is None:
        raise ConfigError(f"the model is class-conditional but {data.name} has no labels")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[: int(n or ELBO_N)]
    return data.x[idx], (data.y[idx] if model.num_classes else None)


def elbo_metric(model, data, *, n=None, seed=0, k: int = IWAE_K):
    x, y = _elbo_items(model, data, n, "elbo")
    return elbo_and_iwae(model, x, y, k=int(k), seed=seed)


def kl_dims_metric(model, data, *, n=None, seed=0):
    """The KL per latent dimension and the active dimensions (:func:`ganzoo.metrics.likelihood.kl_per_dimension`),
    on the ``elbo`` metric's images."""
    x, y = _elbo_items(model, data, n, "kl-dims")
    return kl_per_dimension(model, x, y)


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
    logits = model.generator.logits(model.encoder.latent(x, model.encoder_labels(y, len(x))), y)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    mse = (torch.sigmoid(logits) - x).pow(2).flatten(1).mean(1)
    return {"n": len(idx), "recon_nll": float(bce.mean()), "recon_mse": float(mse.mean())}
