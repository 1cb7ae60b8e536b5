"""One training iteration, chosen once by the kind of the objective: :data:`STEPS`.

**Adversarial** (``"gan"``, :class:`AdversarialStep`) is Goodfellow et al.'s Algorithm 1: ``K`` discriminator
steps, each on ``M`` real samples and ``M`` samples G(z), then one generator step. Each loss gets one
:class:`~ganzoo.objectives.step.StepInputs` (real batch, labels, z and its codes, fake batch, D's outputs
computed once); the objective supplies the losses (:func:`~ganzoo.objectives.step.loss_functions`: its
``d_loss_step``/``g_loss_step`` or the 0.1 methods) and its extras (weight clipping in
``after_discriminator_step``). Each loss is the objective's, then the auxiliary terms
(:mod:`ganzoo.objectives.terms`) of that phase in order: the objective's ``terms``, the discriminator's
``loss_terms``, the generator's ``loss_terms``, the run options' regularisers (``--r1``, ``--r2``, ``--gp`` in
D's steps, ``--pl`` in G's) -- :meth:`AdversarialStep.loss` is the one place a loss is assembled. A lazy term
(``every`` = N) runs at every N-th loss of its phase with N times its weight (:meth:`AdversarialStep.schedule`).

*Reusing the fake batch.* With ``K == 1`` the generator step reuses the batch G(z) made for the
discriminator step (``reuse_fake``, the default then), exactly as the pytorch/examples DCGAN loop does: G is
unchanged between the two steps, so this is the same update as a fresh forward pass of the same z, minus one
generator forward. Goodfellow's paper draws fresh noise for the G step (``--fresh-noise``, the default for
``K > 1``). *Conditional models*: the D steps generate fakes for the real batch's labels; the G step draws its
labels (:meth:`Batches.draw_labels`) or reuses the D step's. D's weights get no gradients in the G step.

**Autoencoding / variational** (``"ae"``, ``"vae"``, :class:`AutoencodingStep`): one optimiser step on
``objective.loss(model, x, y)`` over encoder and decoder together, plus the auxiliary terms of phase ``"ae"``
(the objective's ``terms``, the encoder's and the decoder's ``loss_terms``, in that order; each gets one
:class:`~ganzoo.objectives.step.AutoencodingInputs`) -- :class:`AutoencoderLoss` assembles that loss.

A step is called with ``next_batch`` (a function returning the next real ``(x, y)``) and returns its
statistics as a dict of 0-dim tensors on the device (no host synchronisation): the first entries are the
losses, then what the objective and the regularisers report.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from ..errors import ConfigError
from ..objectives.regularisers import regularisers
from ..objectives.step import AutoencodingInputs, StepInputs, loss_functions
from .augment import Augmented


class AdversarialStep:
    """K D steps, then one G step. ``step.optimizers`` is ``{"g": ..., "d": ...}``."""

    headline = ("d_loss", "g_loss", "d_x", "d_g_z")  # what the progress bar shows (with the auxiliary terms)

    def __init__(self, trainer):
        t, c = trainer, trainer.config
        self.objective, self.batches, self.amp, self.dist = t.objective, t.batches, t.autocast, t.dist
        self.k, self.M, self.reuse_fake = c.d_steps, c.batch_size, c.reuse_fake
        self.device = t.device
        self.latent = t.model.generator.sample_latent   # the generator draws its training latents
        self.D = t.model.discriminator                   # the module (weight clipping acts on it)
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.optimizers = {"g": t.make_optimizer(t.model.generator.parameters(), c.g_lr),
                           "d": t.make_optimizer(self.D.parameters(), c.d_lr)}
        self.G_run, self.D_run = t.dist.wrap(t.model.generator, t.device), t.dist.wrap(self.D, t.device)
        if t.config.compile:
            self.G_run, self.D_run = torch.compile(self.G_run), torch.compile(self.D_run)
        self.judge = Augmented(self.D_run, c.augment) if c.augment else self.D_run  # what D sees (--augment)
        G = t.model.generator
        self.regularisers = regularisers({"r1": c.r1, "r2": c.r2, "gp": c.gp, "pl": c.pl}, device=t.device,
                                         every={"r1": c.r1_every, "pl": c.pl_every}, in_w=G.w_dim is not None)
        self.terms, names = [], {}
        for source, terms in ((f"objective {getattr(self.objective, 'name', type(self.objective).__name__)!r}",
                               getattr(self.objective, "terms", ())), ("the discriminator", self.D.loss_terms),
                              ("the generator", G.loss_terms), ("the run options", self.regularisers)):
            for term in terms:
                if term.name in names:
                    raise ConfigError(f"two auxiliary loss terms share a name: {term.name!r} comes from "
                                      f"{names[term.name]} and from {source}; drop one")
                names[term.name] = source
                self.terms.append(term)
                for key, value in getattr(term, "state", {}).items():   # running statistics on the run's device
                    term.state[key] = value.to(t.device)
        self.every = {term.name: lazy_every(term) for term in self.terms}
        self.losses = dict(zip("dg", loss_functions(self.objective)))
        self.phase_terms = {p: [term for term in self.terms if p in term.phases] for p in "dg"}
        # a lazy term's last value, logged at the steps it skips (checkpointed: the metric lines resume exactly)
        self.held = {f"{p}.{term.name}": torch.zeros((), device=t.device) for p in "dg"
                     for term in self.phase_terms[p] if self.every[term.name] > 1}
        self.codes = t.model.generator.latent_codes
        self.after_update = t.after_update
        self.batches_per_call = self.k
        self.headline = self.headline + tuple(names)

    def schedule(self, iteration: int) -> tuple:
        """Which lazy terms (``every`` > 1) run in iteration ``iteration`` (D's k-th loss has the index
        iteration * K + k, G's the iteration): what a CUDA graph of the iteration depends on."""
        d = [e for e in (self.every[term.name] for term in self.phase_terms["d"]) if e > 1]
        g = [e for e in (self.every[term.name] for term in self.phase_terms["g"]) if e > 1]
        return (tuple((iteration * self.k + k) % e == 0 for k in range(self.k) for e in d)
                + tuple(iteration % e == 0 for e in g))

    def loss(self, step: StepInputs):
        """The loss of ``step.phase`` and its statistics: the objective's loss, then each auxiliary term of
        that phase in order (their unweighted values under their names)."""
        loss, stats = self.losses[step.phase](step)
        for term in self.phase_terms[step.phase]:
            if term.name in stats:
                raise ConfigError(f"--{term.name}: objective {type(self.objective).__name__} already adds its own "
                                  f"{term.name!r} term; set it through --objective-set, or drop --{term.name}")
            every, held = self.every[term.name], f"{step.phase}.{term.name}"
            if every > 1 and step.index % every:    # lazy: not this time; its last value is logged
                stats[term.name] = self.held[held].clone()
                continue
            weighted, value = term(step)
            loss = loss + (weighted * every if every > 1 else weighted)   # every N-th loss, N times the weight
            stats[term.name] = value.detach()
            if every > 1:
                self.held[held].copy_(stats[term.name])
        return loss, stats

    def discriminator_loss(self, real_x, fake_x, y=None, *, z=None, iteration=0, k=0):
        """D's loss on a real and a generated batch (made from ``z``, for the real batch's labels), and
        its statistics; ``iteration`` and ``k`` (the k-th D step of the iteration) place it in the run."""
        return self.loss(StepInputs(self.judge, real_x, fake_x, y, z=z, codes=self._codes(z), phase="d",
                                    G=self.G_run, iteration=iteration, index=iteration * self.k + k))

    def generator_loss(self, fake_x, y=None, *, real_x=None, real_y=None, z=None, iteration=0):
        """G's loss on a generated batch (still attached to G's graph, labels ``y``) and its statistics;
        ``real_x`` (labels ``real_y``) is the step's real batch, for objectives that compare with it."""
        return self.loss(StepInputs(self.judge, real_x, fake_x, real_y, fake_y=y, z=z, codes=self._codes(z),
                                    phase="g", G=self.G_run, iteration=iteration, index=iteration))

    def _codes(self, z):
        return None if z is None else self.codes(z)

    def __call__(self, next_batch, iteration: int = 0) -> dict:
        G, obj, M, d_opt, g_opt = self.G_run, self.objective, self.M, self.optimizers["d"], self.optimizers["g"]
        fake = y = None
        for k in range(self.k):
            x, y = next_batch()
            z = self.latent(M, device=self.device, training=True)
            keep = self.reuse_fake and k == self.k - 1
            with self.amp():
                if keep:
                    fake = G(z, y)
                else:
                    with torch.no_grad():
                        fake = G(z, y)
                d_loss, d_stats = self.discriminator_loss(x, fake.detach(), y, z=z, iteration=iteration, k=k)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            obj.after_discriminator_step(self.D)
        real_x, real_y = x, y
        if not self.reuse_fake:
            z = self.latent(M, device=self.device, training=True)
            y = self.batches.draw_labels(M)
            with self.amp():
                fake = G(z, y)
        for p in self.d_params:  # D's weight gradients are not needed in the G step
            p.requires_grad_(False)
        try:
            with self.amp(), self.dist.no_sync(self.D_run):
                g_loss, g_stats = self.generator_loss(fake, y, real_x=real_x, real_y=real_y, z=z,
                                                      iteration=iteration)
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

    def standing_pass(self, modules, n: int) -> None:
        """One forward of the averaged generator (``modules["generator"]``, :mod:`.ema`) on what G sees in a
        step: its training latents (drawn by it) and, for a conditional model, drawn labels (for its BatchNorm
        statistics)."""
        G = modules["generator"]
        G(G.sample_latent(n, device=self.device, training=True), self.batches.draw_labels(n))

    @staticmethod
    def panels(names) -> dict:
        """The curves plot's panels: title -> the statistics drawn in it."""
        extra = [k for k in names if k not in ("d_loss", "g_loss", "d_x", "d_g_z", "d_g_z_g")]
        return {"losses": ["d_loss", "g_loss"], "D(x) and D(G(z))": ["d_x", "d_g_z"],
                **({"extras": extra} if extra else {})}


class AutoencoderLoss(nn.Module):
    """Encoder + decoder as one module whose forward is the step's loss (so DDP sees both): the objective's
    ``loss(self, x, y)`` -- ``self`` is the ``model`` it receives, with ``encoder`` and ``generator`` -- then
    each auxiliary term on one :class:`~ganzoo.objectives.step.AutoencodingInputs` of the batch, whose
    ``encoded`` is the encoder's output recorded in the objective's loss (a forward hook, only while it runs)."""

    def __init__(self, encoder, generator, objective, terms=()):
        super().__init__()
        self.encoder, self.generator = encoder, generator
        self.objective = objective
        self.terms = tuple(terms)

    def forward(self, x, y=None):
        if not self.terms:
            return self.objective.loss(self, x, y)
        step = AutoencodingInputs(x, y, self.encoder, self.generator)
        hook = self.encoder.register_forward_hook(lambda module, args, out: step.record(out))
        try:
            loss, stats = self.objective.loss(self, x, y)
        finally:
            hook.remove()
        stats = dict(stats)
        for term in self.terms:
            if term.name in stats:
                raise ConfigError(f"loss term {term.name!r}: objective {type(self.objective).__name__} already reports "
                                  f"a statistic of that name; rename the term")
            weighted, value = term(step)
            loss = loss + weighted
            stats[term.name] = value.detach()
        return loss, stats


def autoencoding_terms(objective, encoder, generator) -> list:
    """The auxiliary loss terms of an autoencoding step, in order: the objective's ``terms``, the encoder's
    ``loss_terms``, the decoder's ``loss_terms``. Each must be of phase ``"ae"``, and names must differ."""
    terms = []
    for who, source in (("objective", objective), ("encoder", encoder), ("decoder", generator)):
        for term in getattr(source, "terms" if who == "objective" else "loss_terms", ()):
            if "ae" not in tuple(getattr(term, "phases", ())):
                raise ConfigError(f"loss term {getattr(term, 'name', term)!r} of the {who} "
                                  f"({type(source).__name__}) has phases {tuple(getattr(term, 'phases', ()))}; "
                                  "an autoencoding step adds only terms of phase 'ae'")
            terms.append(term)
    names = [term.name for term in terms]
    if len(set(names)) < len(names):
        raise ConfigError(f"two auxiliary loss terms share a name ({', '.join(names)}); drop one")
    return terms


class AutoencodingStep:
    """One optimiser step on the objective's loss plus the auxiliary terms (:func:`autoencoding_terms`).
    ``step.optimizers`` is ``{"g": ...}``."""

    headline = None  # the progress bar shows every statistic
    held: dict = {}  # no lazy terms

    @staticmethod
    def schedule(iteration: int) -> tuple:
        return ()

    def __init__(self, trainer):
        t = trainer
        enc, gen = t.model.encoder, t.model.generator
        self.terms = autoencoding_terms(t.objective, enc, gen)
        self.module = AutoencoderLoss(enc, gen, t.objective, self.terms)
        self.optimizers = {"g": t.make_optimizer(self.module.parameters(), t.config.g_lr)}
        self.run = t.dist.wrap(self.module, t.device)
        if t.config.compile:
            self.run = torch.compile(self.run)
        self.amp, self.after_update = t.autocast, t.after_update
        self.batches, self.objective = t.batches, t.objective
        self.batches_per_call = 1

    def standing_pass(self, modules, n: int) -> None:
        """The objective's loss on the averaged encoder and decoder (:mod:`.ema`) for ``n`` random real
        samples (for their BatchNorm statistics)."""
        b = self.batches
        idx = torch.randint(len(b.X), (n,), device=b.X.device)
        AutoencoderLoss(modules["encoder"], modules["generator"], self.objective)(
            b.X[idx], None if b.Y is None else b.Y[idx])

    def __call__(self, next_batch, iteration: int = 0) -> dict:
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


def lazy_every(term) -> int:
    """A term's ``every`` (default 1: each loss of its phases), checked."""
    every = getattr(term, "every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(f"loss term {term.name!r}: every must be a whole number >= 1, not {every!r}")
    return every


class PriorLoss(nn.Module):
    """The prior as one module whose forward is its loss on a batch (so DDP sees the prior alone); the model's
    encoder and generator, fixed, reach ``prior.loss`` as ``model.encoder``, ``model.generator``."""

    def __init__(self, prior, encoder, generator):
        super().__init__()
        self.prior = prior
        self.fixed = SimpleNamespace(encoder=encoder, generator=generator)   # not submodules: nothing to train

    def forward(self, x, y=None):
        return self.prior.loss(self.fixed, x, y)


class PriorStep(AutoencodingStep):
    """``--stage prior``: one optimiser step on the prior's ``loss(model, x, y)``; the encoder and the generator
    of the first stage stay fixed (eval mode, no gradients). ``step.optimizers`` is ``{"g": ...}`` (the
    learning rate is ``--lr`` / ``--g-lr``)."""

    def __init__(self, trainer):
        t, m = trainer, trainer.model
        self.terms = ()
        self.fixed = [m.encoder, m.generator]
        for module in self.fixed:
            module.requires_grad_(False)
        self.module = PriorLoss(m.prior, m.encoder, m.generator)
        self.optimizers = {"g": t.make_optimizer(m.prior.parameters(), t.config.g_lr)}
        self.run = t.dist.wrap(self.module, t.device)
        if t.config.compile:
            self.run = torch.compile(self.run)
        self.amp, self.after_update = t.autocast, t.after_update
        self.batches_per_call = 1

    def __call__(self, next_batch, iteration: int = 0) -> dict:
        for module in self.fixed:   # (the trainer puts the whole model in training mode)
            module.eval()
        return super().__call__(next_batch, iteration)


# the kind of an objective -> its step (adversarial, autoencoding, variational)
STEPS = {"gan": AdversarialStep, "ae": AutoencodingStep, "vae": AutoencodingStep}
# a later training stage (--stage) -> its step, whatever the kind
STAGE_STEPS = {"prior": PriorStep}
