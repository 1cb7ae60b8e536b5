"""Relativistic GANs (Jolicoeur-Martineau 2019, "The relativistic discriminator: a key element missing from
standard GAN"): D estimates how much more realistic a real sample is than a generated one.

With C the critic's raw score, C_r = C(x) on the real batch, C_f = C(G(z)) on the generated batch, and a bar
for the batch mean (the "average" variants compare each sample with the other batch's mean):

    rsgan    L_D = E softplus(-(C_r - C_f))                                  (paired samples)
             L_G = E softplus(-(C_f - C_r))
    rasgan   L_D = E softplus(-(C_r - mean C_f)) + E softplus(C_f - mean C_r)
             L_G = E softplus(-(C_f - mean C_r)) + E softplus(C_r - mean C_f)
    ralsgan  L_D = E (C_r - mean C_f - 1)^2 + E (C_f - mean C_r + 1)^2
             L_G = E (C_f - mean C_r - 1)^2 + E (C_r - mean C_f + 1)^2
    rahinge  L_D = E max(0, 1 - (C_r - mean C_f)) + E max(0, 1 + (C_f - mean C_r))
             L_G = E max(0, 1 - (C_f - mean C_r)) + E max(0, 1 + (C_r - mean C_f))

(softplus(-a) = -log sigmoid(a).) In each, G's loss is D's with the real and generated batches swapped, so
:meth:`Relativistic.relative` is written once; G's loss needs the real batch, which the step contract
(:class:`~ganzoo.objectives.step.StepInputs`) hands it.
"""

from __future__ import annotations

import torch.nn.functional as F

from .gan import GANObjective


class Relativistic(GANObjective):
    """D's loss ``relative(real, fake)``; G's ``relative(fake, real)``."""

    probabilistic = False   # C(x) alone is not a logit of P(real): the progress bar shows raw scores

    def relative(self, a, b):
        raise NotImplementedError

    def d_loss(self, real, fake):
        return self.relative(real, fake)

    def g_loss(self, fake, real):
        return self.relative(fake, real)

    def g_loss_step(self, step):
        real, fake = step.scores()
        return self.g_loss(fake, real), {"d_fake": fake.detach()}


class RSGAN(Relativistic):
    """Relativistic standard GAN: E softplus(-(C(a) - C(b))) over paired samples."""

    def relative(self, a, b):
        return F.softplus(b - a).mean()


class RaSGAN(Relativistic):
    """Relativistic average standard GAN: E softplus(-(C_a - mean C_b)) + E softplus(C_b - mean C_a)."""

    def relative(self, a, b):
        return F.softplus(b.mean() - a).mean() + F.softplus(b - a.mean()).mean()


class RaLSGAN(Relativistic):
    """Relativistic average least squares: E (C_a - mean C_b - 1)^2 + E (C_b - mean C_a + 1)^2."""

    def relative(self, a, b):
        return (a - b.mean() - 1.0).square().mean() + (b - a.mean() + 1.0).square().mean()


class RaHinge(Relativistic):
    """Relativistic average hinge: E max(0, 1 - (C_a - mean C_b)) + E max(0, 1 + (C_b - mean C_a))."""

    def relative(self, a, b):
        return F.relu(1.0 - (a - b.mean())).mean() + F.relu(1.0 + (b - a.mean())).mean()
