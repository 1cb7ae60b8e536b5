"""Regularisers: penalties on the gradient of D's scores with respect to its input, and on G's Jacobian.

    r1_penalty(D, real_x, y)               E ||grad_x D(x)||^2 on real data          (Mescheder et al. 2018)
    r2_penalty(D, fake_x, y)               E ||grad_x D(G(z))||^2 on generated data  (Mescheder et al. 2018)
    gradient_penalty(D, real_x, fake_x, y) E (||grad D(x_hat)||_2 - 1)^2 at x_hat = a x + (1 - a) G(z),
                                           one a ~ U(0, 1) per sample            (Gulrajani et al. 2017)
    path_lengths(G, z, y, in_w=False)      ||J^T u||_2 per sample (J in z, or in w), u ~ N(0, I) / sqrt(pixels),
                                           the lengths of StyleGAN2's path-length penalty (Karras et al. 2020)

The gradient is that of the *sum* of the scores over the batch, so each sample's row is the gradient of its
own score. Each function returns the unweighted penalty. The built-in objectives use them (hinge's
``r1`` option, wgan-gp's ``gp_weight``), and the run options ``--r1 GAMMA``, ``--r2 GAMMA`` and ``--gp W``
(:class:`Regulariser`) add them to the discriminator loss of *any* adversarial objective:
R1/R2 as ``GAMMA / 2 * penalty``, the gradient penalty as ``W * penalty``, in the order r1, r2, gp, after
the objective's own loss; their unweighted values are logged under their names. ``--pl W``
(:class:`PathLength`) adds StyleGAN2's path-length penalty ``W * E (||J^T u||_2 - a)^2`` to the
*generator's* loss (J in z, or in w for a generator with a mapping network), with ``a`` the running mean of the
lengths (its state, kept in checkpoints). ``--r1-every N`` / ``--pl-every N`` make R1 / the path length lazy
(StyleGAN2): every N-th step of their phase, with N times the weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..interfaces import discriminator_output


def input_gradient(D, x, y=None):
    """(gradient of the sum of D's scores at ``x`` with respect to ``x``, the scores); both differentiable."""
    x = x.detach().requires_grad_(True)
    scores = discriminator_output(D(x, y)).score
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad, scores


def r1_penalty(D, real_x, y=None):
    """R1: E ||grad_x D(x)||^2 on real data; returns (penalty, D's scores of ``real_x``)."""
    grad, real_s = input_gradient(D, real_x, y)
    return grad.flatten(1).square().sum(1).mean(), real_s


def r2_penalty(D, fake_x, y=None):
    """R2: E ||grad_x D(x)||^2 on generated data; returns (penalty, D's scores of ``fake_x``)."""
    return r1_penalty(D, fake_x, y)


def gradient_penalty(D, real_x, fake_x, y=None, *, alpha=None):
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = alpha x + (1 - alpha) G(z), one alpha per sample."""
    n = real_x.shape[0]
    if alpha is None:
        alpha = torch.rand(n, *([1] * (real_x.dim() - 1)), device=real_x.device, dtype=real_x.dtype)
    grad, _ = input_gradient(D, alpha * real_x.detach() + (1 - alpha) * fake_x.detach(), y)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


# name -> (penalty(D, real_x, fake_x, y), factor on the weight)
PENALTIES = {
    "r1": (lambda D, real_x, fake_x, y: r1_penalty(D, real_x, y)[0], 0.5),
    "r2": (lambda D, real_x, fake_x, y: r2_penalty(D, fake_x, y)[0], 0.5),
    "gp": (gradient_penalty, 1.0),
}


@dataclass(frozen=True)
class Regulariser:
    """One penalty term of D's loss, ``coefficient * penalty``; ``name`` is its key in the logs. A loss term
    (:mod:`ganzoo.objectives.terms`) of the discriminator's steps only; ``every`` = N > 1: lazy, at every N-th
    D step with N times the weight (StyleGAN2's lazy R1, N = 16)."""

    name: str
    weight: float
    every: int = 1
    phases = ("d",)

    @property
    def coefficient(self) -> float:
        return PENALTIES[self.name][1] * self.weight

    def __call__(self, step):
        """(the weighted term to add to D's loss, the unweighted penalty) for a
        :class:`~ganzoo.objectives.step.StepInputs`."""
        penalty = PENALTIES[self.name][0](step.D, step.real_x, step.fake_x, step.y)
        return self.coefficient * penalty, penalty


def path_lengths(G, z, y=None, *, in_w: bool = False):
    """StyleGAN2's path lengths: ``||J^T u||_2`` per sample, with J the Jacobian of ``x = G(z, y)`` and u ~ N(0, I)
    of x's shape over sqrt(pixels per sample) (H * W for (N, C, H, W) images, as StyleGAN2 scales; the number of
    values of one sample otherwise). ``in_w=False``: J in G's latent input z. ``in_w=True``, for a generator
    with a mapping network (``Generator.w_dim``): J in w, StyleGAN2's choice -- ``G(z, y, return_w=True)``
    returns ``(x, ws)`` with the per-layer styles ws (N, L, w_dim), and a sample's length is
    ``sqrt(mean over layers of ||J_l^T u||^2)`` as in StyleGAN2's code. ``J^T u`` is the gradient of
    ``sum(x * u)``, taken with ``create_graph=True``: the lengths are differentiable in G's weights."""
    if in_w:
        x, wrt = G(z, y, return_w=True)
    else:
        wrt = z.detach().requires_grad_(True)
        x = G(wrt, y)
    pixels = x.shape[2] * x.shape[3] if x.dim() == 4 else math.prod(x.shape[1:])
    u = torch.randn_like(x) / math.sqrt(pixels)
    (grad,) = torch.autograd.grad((x * u).sum(), wrt, create_graph=True)
    if in_w and grad.dim() == 3:
        return grad.square().sum(2).mean(1).sqrt()
    return grad.flatten(1).norm(2, dim=1)


class PathLength:
    """StyleGAN2's path-length regulariser, a term of the generator's loss: with ``l`` the
    :func:`path_lengths` of a fresh G(z) (the step's z and labels; in w when ``in_w``), the running mean ``a``
    of the lengths becomes ``a + decay * (mean(l) - a)`` (StyleGAN2's ``pl_decay`` 0.01, starting from 0) and
    the term is ``weight * mean((l - a)^2)``, with the updated ``a`` (which, as in StyleGAN2's code, carries the
    gradient of ``mean(l)``). ``a`` is training state: ``state`` holds it and the trainer saves it with each
    checkpoint. ``every`` = N > 1: lazy, at every N-th G step with N times the weight (StyleGAN2: N = 4)."""

    name = "pl"
    phases = ("g",)
    decay = 0.01

    def __init__(self, weight: float, device=None, *, every: int = 1, in_w: bool = False):
        self.weight = self.coefficient = float(weight)
        self.every, self.in_w = every, bool(in_w)
        self.state = {"mean": torch.zeros((), device=device)}   # updated in place (a CUDA graph replays it)

    def __call__(self, step):
        """(the weighted term to add to G's loss, the unweighted penalty) for a
        :class:`~ganzoo.objectives.step.StepInputs`."""
        if step.G is None or step.z is None:
            raise ConfigError("--pl needs the generator and the latent z of the step; call it through the "
                              "training step")
        lengths = path_lengths(step.G, step.z, step.fake_y, in_w=self.in_w)
        a = self.state["mean"]
        a = a + self.decay * (lengths.mean() - a)
        self.state["mean"].copy_(a.detach())
        penalty = (lengths - a).square().mean()
        return self.weight * penalty, penalty

    def __repr__(self):
        return f"PathLength(weight={self.weight}, every={self.every}, in_w={self.in_w})"


def regularisers(weights: dict, device=None, *, every=None, in_w: bool = False) -> list:
    """The regularisers with a non-zero weight: the :class:`Regulariser` s in the order of :data:`PENALTIES`,
    then ``pl`` (:class:`PathLength`, its running mean on ``device``, in w when ``in_w``); ``every``: name ->
    N for lazy ones (``--r1-every``, ``--pl-every``)."""
    every = {k: int(v) for k, v in (every or {}).items() if v}
    out = [Regulariser(name, float(weights[name]), every.get(name, 1)) for name in PENALTIES if weights.get(name)]
    if weights.get("pl"):
        out.append(PathLength(weights["pl"], device, every=every.get("pl", 1), in_w=in_w))
    return out
