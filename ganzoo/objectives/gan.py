"""Adversarial objectives, written on raw discriminator scores (logits) for numerical stability.

With s the discriminator's logit and D = sigmoid(s):
  -log D = softplus(-s),   -log(1 - D) = softplus(s),   log(1 - D) = -softplus(s).

Every objective offers the pure functions ``d_loss(real_scores, fake_scores)`` and
``g_loss(fake_scores)``; the training engine calls :meth:`discriminator_step_loss` and
:meth:`generator_step_loss`, which also cover penalties, and :meth:`after_discriminator_step`.
Gradient penalties are :mod:`ganzoo.objectives.regularisers`'; the run options ``--r1``, ``--r2`` and
``--gp`` add them to any of these objectives (see :mod:`ganzoo.training.steps`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .regularisers import gradient_penalty, r1_penalty  # noqa: F401 - the penalties hinge and wgan-gp build in


class GANObjective:
    kind = "gan"
    d_steps = None          # filled from the spec unless a subclass fixes it
    probabilistic = True    # scores are logits of D(x) = P(real)

    # -- the maths ---------------------------------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- what the engine calls ---------------------------------------------------------------
    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        real_s, fake_s = scores(D, real_x, fake_x, y)
        return self.d_loss(real_s, fake_s), {"d_real": real_s.detach(), "d_fake": fake_s.detach()}

    def generator_step_loss(self, D, fake_x, y=None):
        fake_s = D(fake_x, y)
        return self.g_loss(fake_s), {"d_fake": fake_s.detach()}

    def after_discriminator_step(self, D) -> None:
        pass

    def report(self, scores: torch.Tensor) -> torch.Tensor:
        """What the progress bar shows as D(.): a probability where the scores are logits."""
        return torch.sigmoid(scores) if self.probabilistic else scores


def scores(D, real_x, fake_x, y=None):
    """D's scores of a real and a fake batch (both with labels ``y`` where conditional): one call on
    the two batches joined when D declares ``batch_independent`` and the join keeps its PacGAN
    groups whole, else one call each."""
    n = real_x.shape[0]
    if getattr(D, "batch_independent", False) and fake_x.shape[0] == n and n % getattr(D, "pack", 1) == 0:
        both = D(torch.cat([real_x, fake_x]), None if y is None else torch.cat([y, y]))
        return both[:n], both[n:]
    return D(real_x, y), D(fake_x, y)


class Minimax(GANObjective):
    """min_G max_D E log D(x) + E log(1 - D(G(z))) -- G's gradient vanishes when D(G(z)) -> 0."""

    def d_loss(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake):
        return -F.softplus(fake).mean()          # = E log(1 - D(G(z)))


class NonSaturating(Minimax):
    """Same D; G maximises log D(G(z)) instead -- strong gradients early in training."""

    def g_loss(self, fake):
        return F.softplus(-fake).mean()          # = -E log D(G(z))


class WGAN(GANObjective):
    """Critic maximises E f(x) - E f(G(z)), kept Lipschitz by clipping weights to [-c, c]."""

    probabilistic = False

    def __init__(self, clip: float = 0.01):
        self.clip = clip

    def d_loss(self, real, fake):
        return fake.mean() - real.mean()

    def g_loss(self, fake):
        return -fake.mean()

    @torch.no_grad()
    def after_discriminator_step(self, D):
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)


class WGANGP(WGAN):
    """WGAN with the gradient penalty (:func:`~ganzoo.objectives.regularisers.gradient_penalty`) weighted
    ``gp_weight`` instead of weight clipping; ``gp_weight=0`` is the unclipped WGAN loss alone."""

    def __init__(self, gp_weight: float = 10.0):
        self.gp_weight = gp_weight

    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        loss, stats = super().discriminator_step_loss(D, real_x, fake_x, y)
        if not self.gp_weight:
            return loss, stats
        gp = gradient_penalty(D, real_x, fake_x, y)
        stats["gp"] = gp.detach()
        return loss + self.gp_weight * gp, stats

    def after_discriminator_step(self, D):
        pass


class Hinge(GANObjective):
    """Hinge loss; ``r1 = gamma > 0`` adds gamma/2 E ||grad_x D(x)||^2 on real data (R1) to D's loss."""

    probabilistic = False

    def __init__(self, r1: float = 0.0):
        if isinstance(r1, bool) or not isinstance(r1, (int, float)) or not r1 >= 0:
            from ganzoo.errors import ConfigError

            raise ConfigError(f"--objective-set r1 must be a weight >= 0, such as r1=0.1; not {r1!r}")
        self.r1 = float(r1)

    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        if not self.r1:
            return super().discriminator_step_loss(D, real_x, fake_x, y)
        penalty, real_s = r1_penalty(D, real_x, y)
        fake_s = D(fake_x, y)
        stats = {"d_real": real_s.detach(), "d_fake": fake_s.detach(), "r1": penalty.detach()}
        return self.d_loss(real_s, fake_s) + 0.5 * self.r1 * penalty, stats

    def d_loss(self, real, fake):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(self, fake):
        return -fake.mean()


class LSGAN(GANObjective):
    """D: 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2;  G: 1/2 E (D(G(z)) - 1)^2."""

    probabilistic = False

    def d_loss(self, real, fake):
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()

    def g_loss(self, fake):
        return 0.5 * ((fake - 1.0) ** 2).mean()
