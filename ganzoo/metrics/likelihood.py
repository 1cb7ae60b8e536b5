"""Likelihood metrics for VAEs, in nats per image: the ELBO and the importance-weighted estimate
of log p(x) (Burda et al. 2016)::

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

    ``model`` needs ``encoder(x) -> (mu, logvar)`` and ``generator.logits(z, y)``."""
    from ganzoo.objectives.autoencoding import gaussian_kl, log_likelihood

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
            mu, logvar = model.encoder(xb)
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
