"""Latent codes: where an InfoGAN-style generator's codes sit in its latent (:class:`LatentCodes`, a generator's
``code_layout``), and the traversal that varies one of them (:func:`traverse_code`, ``Model.traverse_code``,
``ganzoo traverse --code``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from .errors import ConfigError


@dataclass(frozen=True)
class LatentCodes:
    """Where an InfoGAN-style generator's codes sit in its latent z ~ N(0, I): its first columns, code by
    code. A categorical code of k ``categories`` takes the next k columns and is the one-hot of their argmax
    (uniform over the k categories, :func:`ganzoo.objectives.terms.categorical_codes`); each of the
    ``continuous`` codes then takes one column as it is (c ~ N(0, 1)); the columns after ``width`` are
    noise. Codes are numbered 0, 1, ...: the categorical ones first. Set it as a generator's
    :attr:`Generator.code_layout`; its discriminator predicts the same layout in ``q``
    (:class:`ganzoo.objectives.terms.InfoLoss` with ``categories=layout.categories``)."""

    categories: tuple = ()
    continuous: int = 0

    def __post_init__(self):
        cats = tuple(self.categories) if isinstance(self.categories, (list, tuple)) else None
        if cats is None or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 2 for k in cats):
            raise ConfigError(f"categorical codes are numbers of categories, whole numbers >= 2; not {self.categories!r}")
        if isinstance(self.continuous, bool) or not isinstance(self.continuous, int) or self.continuous < 0:
            raise ConfigError(f"the number of continuous codes must be a whole number >= 0, not {self.continuous!r}")
        if not cats and not self.continuous:
            raise ConfigError("a code layout needs at least one code (a categorical or a continuous one)")
        object.__setattr__(self, "categories", cats)

    @property
    def width(self) -> int:
        """The columns the codes take, in z and in c = :meth:`codes` (and in D's ``q``)."""
        return sum(self.categories) + self.continuous

    def __len__(self) -> int:
        return len(self.categories) + self.continuous

    def categories_of(self, index: int) -> int:
        """The number of categories of code ``index``, 0 for a continuous code."""
        self._check(index)
        return self.categories[index] if index < len(self.categories) else 0

    def describe(self, index: int) -> str:
        k = self.categories_of(index)
        return f"categorical, {k} values" if k else "continuous"

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """c of ``z``: (N, width), each categorical code one-hot, then the continuous ones."""
        from .objectives.terms import categorical_codes

        n = sum(self.categories)
        return torch.cat([categorical_codes(z, self.categories), z[:, n:self.width]], 1)

    def inputs(self, z: torch.Tensor) -> torch.Tensor:
        """What a generator's network takes: ``z`` with its code columns replaced by c (same shape)."""
        return torch.cat([self.codes(z), z[:, self.width:]], 1)

    def values(self, z: torch.Tensor, index: int) -> torch.Tensor:
        """The value of code ``index`` for each row of ``z``: the category (long) or the real number."""
        start, k = self._columns(index)
        return z[:, start:start + k].argmax(1) if k else z[:, start]

    def set(self, z: torch.Tensor, index: int, value) -> torch.Tensor:
        """A copy of ``z`` whose code ``index`` is ``value`` in every row (one value each: a tensor of N):
        a category in 0..k-1 for a categorical code (its columns become that one-hot), a real number for a
        continuous one. The other columns are unchanged."""
        start, k = self._columns(index)
        z = z.clone()
        value = torch.as_tensor(value, device=z.device)
        if k:
            if value.dtype.is_floating_point or int(value.min()) < 0 or int(value.max()) >= k:
                raise ConfigError(f"code {index} has categories 0..{k - 1}, not {value.tolist()!r}")
            z[:, start:start + k] = torch.nn.functional.one_hot(value.long().expand(z.shape[0]), k).to(z.dtype)
        else:
            z[:, start] = value.to(z.dtype)
        return z

    def _check(self, index) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise ConfigError(f"code {index!r} does not exist; the codes are 0..{len(self) - 1}")

    def _columns(self, index: int) -> tuple[int, int]:
        """(first column of code ``index`` in z, its number of categories or 0)."""
        self._check(index)
        cats = self.categories
        if index < len(cats):
            return sum(cats[:index]), cats[index]
        return sum(cats) + index - len(cats), 0


def traverse_code(model, code: int, *, rows: int = 10, steps: int = 15, span: float = 2.0,
                  seed: Optional[int] = 0, y=None) -> torch.Tensor:
    """Samples in which only latent code ``code`` varies, (rows, values, *sample_shape), images in [0, 1],
    for a generator that declares codes (:attr:`Generator.code_layout`). Row r is one draw of z (seed
    ``seed``): its other codes and noise stay fixed along the row, while column j sets code ``code`` to
    its j-th value: each category of a categorical code, or ``steps`` evenly spaced values from -span to span
    of a continuous one (c ~ N(0, 1): +-2 spans 95% of the prior). ``y``: a class, or one per row (default:
    :meth:`ganzoo.Model.draw_labels`, one per row). The model's sampling options
    (:meth:`ganzoo.Model.with_sampling`) apply as in :meth:`ganzoo.Model.sample`."""
    from .ranges import to_unit
    from .sampling import sample_count

    g = model.generator
    if g.code_layout is None:
        raise ConfigError(f"the {model.variant} generator declares no latent codes (code_layout)")
    k = g.code_layout.categories_of(code)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ConfigError(f"steps must be a whole number >= 2, not {steps!r}")
    if isinstance(span, bool) or not isinstance(span, (int, float)) or not 0 < span < float("inf"):
        raise ConfigError(f"span must be a number > 0, not {span!r}")
    if sample_count(rows) < 1:
        raise ConfigError("rows must be at least 1")
    values = torch.arange(k) if k else torch.linspace(-float(span), float(span), steps)
    z = g.sample_latent(rows, seed=seed, **model.sampling).repeat_interleave(len(values), 0)
    z = g.code_layout.set(z, code, values.repeat(rows).to(z.device))
    if y is None and model.num_classes:
        y = model.draw_labels(rows, None if seed is None else seed + 1)
    if y is not None:
        y = torch.as_tensor(y, dtype=torch.long)
        y = (y.expand(rows) if y.dim() == 0 else y).repeat_interleave(len(values))
    was = g.training
    g.eval()
    try:
        x = g.generate(z, None if y is None else y.to(z.device), **model.sampling)
    finally:
        g.train(was)
    return to_unit(x, g.output_range).view(rows, len(values), *model.sample_shape)
