"""Adversarial objectives, written on raw discriminator scores (logits) for numerical stability.

With s the discriminator's logit and D = sigmoid(s):
  -log D = softplus(-s),   -log(1 - D) = softplus(s),   log(1 - D) = -softplus(s).

Every objective offers the pure functions ``d_loss(real_scores, fake_scores)`` and
``g_loss(fake_scores)``; the training engine calls :meth:`~GANObjective.d_loss_step` and
:meth:`~GANObjective.g_loss_step` with a :class:`~ganzoo.objectives.step.StepInputs` (the step contract),
which also cover built-in penalties, and :meth:`after_discriminator_step`. The 0.1 entry points
``discriminator_step_loss(D, real_x, fake_x, y)`` and ``generator_step_loss(D, fake_x, y)`` remain and
build the step object.
Gradient penalties are :mod:`ganzoo.objectives.regularisers`'; the run options ``--r1``, ``--r2`` and
``--gp`` add them to any of these objectives (see :mod:`ganzoo.training.steps`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .regularisers import gradient_penalty, r1_penalty  # noqa: F401 - the penalties hinge and wgan-gp build in
from .step import StepInputs, outputs


class GANObjective:
    """The base of the adversarial objectives: subclass it and write ``d_loss(real, fake)`` and ``g_loss(fake)``
    on raw scores (or ``d_loss_step(step)`` / ``g_loss_step(step)`` on the step contract); it supplies the rest
    of the protocol (``report``, ``after_discriminator_step``, the 0.1 entry points for fixed batches)."""

    kind = "gan"
    d_steps = None          # filled from the spec unless a subclass fixes it
    probabilistic = True    # scores are logits of D(x) = P(real)
    terms = ()              # auxiliary loss terms (ganzoo.objectives.terms) this objective adds

    # -- the maths ---------------------------------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- what the engine calls (the step contract) -------------------------------------------
    def d_loss_step(self, step: StepInputs):
        """D's loss and statistics (detached ``d_real``, ``d_fake`` scores) for one step."""
        real_s, fake_s = step.scores()
        return self.d_loss(real_s, fake_s), {"d_real": real_s.detach(), "d_fake": fake_s.detach()}

    def g_loss_step(self, step: StepInputs):
        """G's loss and statistics (detached ``d_fake``) for one step."""
        fake_s = step.fake.score
        return self.g_loss(fake_s), {"d_fake": fake_s.detach()}

    # -- the ganzoo 0.1 entry points, on fixed batches -----------------------------------------
    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        return self.d_loss_step(StepInputs(D, real_x, fake_x, y, phase="d"))

    def generator_step_loss(self, D, fake_x, y=None, *, real_x=None):
        return self.g_loss_step(StepInputs(D, real_x, fake_x, y, phase="g"))

    def after_discriminator_step(self, D) -> None:
        pass

    def report(self, scores: torch.Tensor) -> torch.Tensor:
        """What the progress bar shows as D(.): a probability where the scores are logits."""
        return torch.sigmoid(scores) if self.probabilistic else scores


def scores(D, real_x, fake_x, y=None):
    """D's scores of a real and a fake batch (both with labels ``y`` where conditional): one call on
    the two batches joined when D declares ``batch_independent`` and the join keeps its PacGAN
    groups whole, else one call each."""
    real, fake = outputs(D, real_x, fake_x, y)
    return real.score, fake.score


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

    def d_loss_step(self, step):
        loss, stats = super().d_loss_step(step)
        if not self.gp_weight:
            return loss, stats
        gp = gradient_penalty(step.D, step.real_x, step.fake_x, step.y)
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

    def d_loss_step(self, step):
        if not self.r1:
            return super().d_loss_step(step)
        penalty, real_s = r1_penalty(step.D, step.real_x, step.y)
        fake_s = step.fake.score
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


__all__ = ["GANObjective", "scores", "gradient_penalty", "r1_penalty", "Minimax", "NonSaturating", "WGAN", "WGANGP",
           "Hinge", "LSGAN"]
