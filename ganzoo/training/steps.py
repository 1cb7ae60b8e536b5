"""One training iteration, chosen once by the kind of the objective: :data:`STEPS`.

**Adversarial** (``"gan"``, :class:`AdversarialStep`) is Goodfellow et al.'s Algorithm 1: ``K`` discriminator
steps, each on ``M`` real samples and ``M`` samples G(z), then one generator step. The objective supplies the
losses (``discriminator_step_loss``, ``generator_step_loss``) and its extras (weight clipping in
``after_discriminator_step``); D's loss is the objective's, then each regulariser's term (``--r1``, ``--r2``,
``--gp``: :mod:`ganzoo.objectives.regularisers`) in that order -- :meth:`AdversarialStep.discriminator_loss`
and :meth:`AdversarialStep.generator_loss` are the one place each loss is assembled.

*Reusing the fake batch.* With ``K == 1`` the generator step reuses the batch G(z) made for the
discriminator step (``reuse_fake``, the default then), exactly as the pytorch/examples DCGAN loop does: G is
unchanged between the two steps, so this is the same update as a fresh forward pass of the same z, minus one
generator forward. Goodfellow's paper draws fresh noise for the G step (``--fresh-noise``, the default for
``K > 1``). *Conditional models*: the D steps generate fakes for the real batch's labels; the G step draws its
labels (:meth:`Batches.draw_labels`) or reuses the D step's. D's weights get no gradients in the G step.

**Autoencoding / variational** (``"ae"``, ``"vae"``, :class:`AutoencodingStep`): one optimiser step on
``objective.loss(model, x, y)`` over encoder and decoder together.

A step is called with ``next_batch`` (a function returning the next real ``(x, y)``) and returns its
statistics as a dict of 0-dim tensors on the device (no host synchronisation): the first entries are the
losses, then what the objective and the regularisers report.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from ..objectives.regularisers import regularisers
from .augment import Augmented


class AdversarialStep:
    """K D steps, then one G step. ``step.optimizers`` is ``{"g": ..., "d": ...}``."""

    headline = ("d_loss", "g_loss", "d_x", "d_g_z")  # what the progress bar shows (with the regularisers)

    def __init__(self, trainer):
        t, c = trainer, trainer.config
        self.objective, self.batches, self.amp, self.dist = t.objective, t.batches, t.autocast, t.dist
        self.k, self.M, self.reuse_fake = c.d_steps, c.batch_size, c.reuse_fake
        self.device, self.latent_dim = t.device, t.model.generator.latent_dim
        self.D = t.model.discriminator                   # the module (weight clipping acts on it)
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.optimizers = {"g": t.make_optimizer(t.model.generator.parameters(), c.g_lr),
                           "d": t.make_optimizer(self.D.parameters(), c.d_lr)}
        self.G_run, self.D_run = t.dist.wrap(t.model.generator, t.device), t.dist.wrap(self.D, t.device)
        if t.config.compile:
            self.G_run, self.D_run = torch.compile(self.G_run), torch.compile(self.D_run)
        self.judge = Augmented(self.D_run, c.augment) if c.augment else self.D_run  # what D sees (--augment)
        self.regularisers = regularisers({"r1": c.r1, "r2": c.r2, "gp": c.gp})
        self.after_update = t.after_update
        self.batches_per_call = self.k
        self.headline = self.headline + tuple(r.name for r in self.regularisers)

    def discriminator_loss(self, real_x, fake_x, y=None):
        """D's loss on a real and a generated batch, and its statistics: the objective's loss, plus the
        regularisers' terms in order (their unweighted values under their names)."""
        loss, stats = self.objective.discriminator_step_loss(self.judge, real_x, fake_x, y)
        for reg in self.regularisers:
            if reg.name in stats:
                raise ConfigError(f"--{reg.name}: objective {type(self.objective).__name__} already adds its own "
                                  f"{reg.name!r} term; set it through --objective-set, or drop --{reg.name}")
            term, value = reg(self.judge, real_x, fake_x, y)
            loss = loss + term
            stats[reg.name] = value.detach()
        return loss, stats

    def generator_loss(self, fake_x, y=None):
        """G's loss on a generated batch (still attached to G's graph) and its statistics: the objective's."""
        return self.objective.generator_step_loss(self.judge, fake_x, y)

    def __call__(self, next_batch) -> dict:
        G, obj, M, d_opt, g_opt = self.G_run, self.objective, self.M, self.optimizers["d"], self.optimizers["g"]
        fake = y = None
        for k in range(self.k):
            x, y = next_batch()
            z = torch.randn(M, self.latent_dim, device=self.device)
            keep = self.reuse_fake and k == self.k - 1
            with self.amp():
                if keep:
                    fake = G(z, y)
                else:
                    with torch.no_grad():
                        fake = G(z, y)
                d_loss, d_stats = self.discriminator_loss(x, fake.detach(), y)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            obj.after_discriminator_step(self.D)
        if not self.reuse_fake:
            z = torch.randn(M, self.latent_dim, device=self.device)
            y = self.batches.draw_labels(M)
            with self.amp():
                fake = G(z, y)
        for p in self.d_params:  # D's weight gradients are not needed in the G step
            p.requires_grad_(False)
        try:
            with self.amp(), self.dist.no_sync(self.D_run):
                g_loss, g_stats = self.generator_loss(fake, y)
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        g_opt.step()
        self.after_update()
        rep = obj.report
        stats = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "d_x": rep(d_stats["d_real"].float()).mean(),
                 "d_g_z": rep(d_stats["d_fake"].float()).mean(), "d_g_z_g": rep(g_stats["d_fake"].float()).mean()}
        for key, val in list(d_stats.items()) + list(g_stats.items()):
            if key not in ("d_real", "d_fake"):
                stats[key] = val.float().mean()
        return stats

    @staticmethod
    def panels(names) -> dict:
        """The curves plot's panels: title -> the statistics drawn in it."""
        extra = [k for k in names if k not in ("d_loss", "g_loss", "d_x", "d_g_z", "d_g_z_g")]
        return {"losses": ["d_loss", "g_loss"], "D(x) and D(G(z))": ["d_x", "d_g_z"],
                **({"extras": extra} if extra else {})}


class AutoencoderLoss(nn.Module):
    """Encoder + decoder as one module whose forward is the objective's loss (so DDP sees both)."""

    def __init__(self, encoder, generator, objective):
        super().__init__()
        self.encoder, self.generator = encoder, generator
        self.objective = objective

    def forward(self, x, y=None):
        return self.objective.loss(self, x, y)


class AutoencodingStep:
    """One optimiser step on the objective's loss. ``step.optimizers`` is ``{"g": ...}``."""

    headline = None  # the progress bar shows every statistic

    def __init__(self, trainer):
        t = trainer
        self.module = AutoencoderLoss(t.model.encoder, t.model.generator, t.objective)
        self.optimizers = {"g": t.make_optimizer(self.module.parameters(), t.config.g_lr)}
        self.run = t.dist.wrap(self.module, t.device)
        if t.config.compile:
            self.run = torch.compile(self.run)
        self.amp, self.after_update = t.autocast, t.after_update
        self.batches_per_call = 1

    def __call__(self, next_batch) -> dict:
        x, y = next_batch()
        with self.amp():
            loss, stats = self.run(x, y)
        opt = self.optimizers["g"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.after_update()
        out = {"loss": loss.detach()}
        for key, val in stats.items():
            out[key] = val.float().mean()
        return out

    @staticmethod
    def panels(names) -> dict:
        return {"loss": list(names)}


# the kind of an objective -> its step (adversarial, autoencoding, variational)
STEPS = {"gan": AdversarialStep, "ae": AutoencodingStep, "vae": AutoencodingStep}
