"""Regularisers of a discriminator (critic): penalties on the gradient of its scores with respect to its input.

    r1_penalty(D, real_x, y)               E ||grad_x D(x)||^2 on real data          (Mescheder et al. 2018)
    r2_penalty(D, fake_x, y)               E ||grad_x D(G(z))||^2 on generated data  (Mescheder et al. 2018)
    gradient_penalty(D, real_x, fake_x, y) E (||grad D(x_hat)||_2 - 1)^2 at x_hat = a x + (1 - a) G(z),
                                           one a ~ U(0, 1) per sample            (Gulrajani et al. 2017)

The gradient is that of the *sum* of the scores over the batch, so each sample's row is the gradient of its
own score. Each function returns the unweighted penalty. The built-in objectives use them (hinge's
``r1`` option, wgan-gp's ``gp_weight``), and the run options ``--r1 GAMMA``, ``--r2 GAMMA`` and ``--gp W``
(:class:`Regulariser`) add them to the discriminator loss of *any* adversarial objective:
R1/R2 as ``GAMMA / 2 * penalty``, the gradient penalty as ``W * penalty``, in the order r1, r2, gp, after
the objective's own loss; their unweighted values are logged under their names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
    (:mod:`ganzoo.objectives.terms`) of the discriminator's steps only."""

    name: str
    weight: float
    phases = ("d",)

    @property
    def coefficient(self) -> float:
        return PENALTIES[self.name][1] * self.weight

    def __call__(self, step):
        """(the weighted term to add to D's loss, the unweighted penalty) for a
        :class:`~ganzoo.objectives.step.StepInputs`."""
        penalty = PENALTIES[self.name][0](step.D, step.real_x, step.fake_x, step.y)
        return self.coefficient * penalty, penalty


def regularisers(weights: dict) -> list:
    """The :class:`Regulariser` s with a non-zero weight, in the order of :data:`PENALTIES`."""
    return [Regulariser(name, float(weights[name])) for name in PENALTIES if weights.get(name)]
