"""Adversarial objectives, written on raw discriminator scores (logits) for numerical stability.

With s the discriminator's logit and D = sigmoid(s):
  -log D = softplus(-s),   -log(1 - D) = softplus(s),   log(1 - D) = -softplus(s).

Every objective offers the pure functions ``d_loss(real_scores, fake_scores)`` and
``g_loss(fake_scores)``; the training engine calls :meth:`discriminator_step_loss` and
:meth:`generator_step_loss`, which also cover penalties, and :meth:`after_discriminator_step`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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


def _input_gradient(D, x, y=None):
    """D's scores at ``x`` and their gradient with respect to ``x``, kept differentiable (for penalties)."""
    x = x.detach().requires_grad_(True)
    scores = D(x, y)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad, scores


def gradient_penalty(D, real_x, fake_x, y=None, *, alpha=None):
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = alpha x + (1 - alpha) G(z)."""
    n = real_x.shape[0]
    if alpha is None:
        alpha = torch.rand(n, *([1] * (real_x.dim() - 1)), device=real_x.device, dtype=real_x.dtype)
    grad, _ = _input_gradient(D, alpha * real_x.detach() + (1 - alpha) * fake_x.detach(), y)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


class WGANGP(WGAN):
    def __init__(self, gp_weight: float = 10.0):
        self.gp_weight = gp_weight

    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        loss, stats = super().discriminator_step_loss(D, real_x, fake_x, y)
        gp = gradient_penalty(D, real_x, fake_x, y)
        stats["gp"] = gp.detach()
        return loss + self.gp_weight * gp, stats

    def after_discriminator_step(self, D):
        pass


def r1_penalty(D, real_x, y=None):
    """R1 (Mescheder et al. 2018): E ||grad_x D(x)||^2 on real data, and D's scores of ``real_x``."""
    grad, real_s = _input_gradient(D, real_x, y)
    return grad.flatten(1).square().sum(1).mean(), real_s


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
