"""The step contract: what an adversarial objective's losses (and every auxiliary loss term) receive.

Both of an adversarial step's losses get ONE :class:`StepInputs` -- the real batch ``real_x`` and its labels
``y``, the latent ``z`` and its ``codes``, the generated batch ``fake_x`` and its labels ``fake_y`` (and the
generator ``G`` that made it, for the generator-side regulariser ``--pl``), and D's
outputs on the real and the generated batch, computed at most once per step and only when asked for::

    class RSGAN(GANObjective):                      # the relativistic standard GAN, in full
        probabilistic = False

        def d_loss_step(self, step):
            real, fake = step.scores()
            return F.softplus(fake - real).mean(), {"d_real": real.detach(), "d_fake": fake.detach()}

        def g_loss_step(self, step):
            real, fake = step.scores()
            return F.softplus(real - fake).mean(), {"d_fake": fake.detach()}

``step.phase`` is ``"d"`` in a discriminator step (``fake_x`` is detached) and ``"g"`` in the generator step
(``fake_x`` is attached to G's graph; D's weights get no gradient). ``step.iteration`` is the training iteration
and ``step.index`` the loss's place among its phase's losses (D's k-th of K steps: ``iteration * K + k``); a
lazy term (``every = N``) runs where ``index % N == 0``. A discriminator may return a plain (N,)
tensor of scores or a :class:`~ganzoo.interfaces.DiscriminatorOutput`; ``step.real`` / ``step.fake`` are
always the latter, ``step.scores()`` the (real, fake) score tensors.

**The two protocols.** An objective implements the step protocol with ``d_loss_step(step)`` and
``g_loss_step(step)``; one written for ganzoo 0.1 implements ``discriminator_step_loss(D, real_x, fake_x, y)``
and ``generator_step_loss(D, fake_x, y)``, which keep working (D then hands them plain scores). For each of the
two losses, :func:`loss_functions` takes the one that the most derived class in the objective's MRO defines,
so a subclass of :class:`~ganzoo.objectives.gan.GANObjective` that overrides the old method still gets it
called. That function is the only place the engine tells the protocols apart.

**Autoencoding steps.** An autoencoding objective's ``loss(model, x, y=None)`` gets ``model``, a module with
``encoder`` and ``generator`` (the decoder), and computes its loss itself; the auxiliary terms of the step
(the objective's ``terms``, then the encoder's and the decoder's ``loss_terms``: phase ``"ae"``) then each get
one :class:`AutoencodingInputs`, whose ``encoded`` is the encoder's output from that same loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch

from ..errors import ConfigError
from ..interfaces import DiscriminatorOutput, discriminator_output


def outputs(D, real_x, fake_x, y=None, fake_y=None):
    """D's :class:`DiscriminatorOutput` s on a real and a fake batch (labels ``y``, ``fake_y``, the latter
    ``y`` by default): one call on the two batches joined when D declares ``batch_independent`` and the
    join keeps its PacGAN groups whole, else one call each (real first)."""
    fake_y = y if fake_y is None else fake_y
    n = real_x.shape[0]
    if getattr(D, "batch_independent", False) and fake_x.shape[0] == n and n % getattr(D, "pack", 1) == 0:
        both = discriminator_output(D(torch.cat([real_x, fake_x]), None if y is None else torch.cat([y, fake_y])))
        return both.rows(slice(None, n)), both.rows(slice(n, None))
    return discriminator_output(D(real_x, y)), discriminator_output(D(fake_x, fake_y))


@dataclass(eq=False)
class StepInputs:
    """Everything one loss of an adversarial step may use; D's outputs are computed lazily, once."""

    D: Callable                              # what D sees (with --augment: the augmented batches)
    real_x: Optional[torch.Tensor]
    fake_x: torch.Tensor
    y: Optional[torch.Tensor] = None         # labels of real_x (None: unconditional)
    fake_y: Optional[torch.Tensor] = None    # labels fake_x was generated with (default: y)
    z: Optional[torch.Tensor] = None         # the latent fake_x was generated from
    codes: Optional[torch.Tensor] = None     # G.latent_codes(z): what an InfoGAN's q predicts
    phase: str = "d"                         # "d": a discriminator step, "g": the generator step
    G: Optional[Callable] = None             # the generator that made fake_x (G(z, fake_y); --pl calls it again)
    iteration: int = 0                       # the training iteration (0-based: iterations done before this one)
    index: int = 0                           # this loss among its phase's: D's k-th step iteration * K + k, G's iteration
    _out: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.fake_y is None:
            self.fake_y = self.y

    def _need_real(self):
        if self.real_x is None:
            raise ConfigError("this objective needs the real batch in the generator's loss; call it through the "
                              "training step (or pass real_x)")

    @property
    def real(self) -> DiscriminatorOutput:
        """D's outputs on the real batch."""
        if "real" not in self._out:
            self._need_real()
            self._out["real"] = discriminator_output(self.D(self.real_x, self.y))
        return self._out["real"]

    @property
    def fake(self) -> DiscriminatorOutput:
        """D's outputs on the generated batch."""
        if "fake" not in self._out:
            self._out["fake"] = discriminator_output(self.D(self.fake_x, self.fake_y))
        return self._out["fake"]

    def both(self) -> tuple[DiscriminatorOutput, DiscriminatorOutput]:
        """(real, fake) outputs; computed together (one call for a batch-independent D) if neither is yet."""
        if not self._out:
            self._need_real()
            self._out["real"], self._out["fake"] = outputs(self.D, self.real_x, self.fake_x, self.y, self.fake_y)
        return self.real, self.fake

    def scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(D's scores of the real batch, of the generated batch), each (N,)."""
        real, fake = self.both()
        return real.score, fake.score


@dataclass(eq=False)
class AutoencodingInputs:
    """Everything an auxiliary loss term of an autoencoding step may use (``phase == "ae"``): the batch ``x``
    (in the decoder's range, [0, 1] for a Bernoulli decoder) and its labels ``y`` (None unless class-conditional),
    the ``encoder`` and the ``generator`` (the decoder) being trained, and :attr:`encoded`, the encoder's output
    on ``x`` as the objective's loss computed it."""

    x: torch.Tensor
    y: Optional[torch.Tensor]
    encoder: Callable
    generator: Callable
    phase: str = "ae"
    _out: dict = field(default_factory=dict, repr=False)

    def record(self, output) -> None:
        """Keep the encoder's first output of this step (the training step calls this from a forward hook)."""
        self._out.setdefault("encoded", output)

    @property
    def encoded(self):
        """The encoder's output on ``x`` -- ``z`` (N, latent_dim) or ``(mu, logvar)`` for a variational
        encoder -- with its graph: the output of the objective's first encoder call in this loss, so a term
        and the loss share one forward; computed here (once) if the objective did not call the encoder."""
        if "encoded" not in self._out:
            self._out["encoded"] = self.encoder(self.x)
        return self._out["encoded"]


class scores_only:
    """D as an objective written for ganzoo 0.1 sees it: called, it returns the (N,) scores; its other
    attributes (``batch_independent``, ``pack``, parameters) are D's."""

    def __init__(self, D):
        self.D = D

    def __call__(self, x, y=None):
        return discriminator_output(self.D(x, y)).score

    def __getattr__(self, name):
        return getattr(self.D, name)


def _defines(obj, new: str, old: str) -> bool:
    """True when the most derived class of ``obj`` that defines ``new`` or ``old`` defines ``new``."""
    for cls in type(obj).__mro__:
        if new in vars(cls):
            return True
        if old in vars(cls):
            return False
    return hasattr(obj, new) or not hasattr(obj, old)   # set on the instance, or neither: the step protocol


def loss_functions(objective) -> tuple[Callable[[StepInputs], Any], Callable[[StepInputs], Any]]:
    """(D's loss, G's loss) of ``objective`` as functions of a :class:`StepInputs`, whichever protocol it
    implements (see the module's docstring)."""
    if _defines(objective, "d_loss_step", "discriminator_step_loss"):
        d_loss = objective.d_loss_step
    else:
        def d_loss(step):
            return objective.discriminator_step_loss(scores_only(step.D), step.real_x, step.fake_x, step.y)
    if _defines(objective, "g_loss_step", "generator_step_loss"):
        g_loss = objective.g_loss_step
    else:
        def g_loss(step):
            return objective.generator_step_loss(scores_only(step.D), step.fake_x, step.fake_y)
    return d_loss, g_loss
