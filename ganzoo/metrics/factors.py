"""The ``factors`` metric: what each latent dimension of an image model changes when it moves alone.

For each dimension k of a generator's latent vector z, ``ROWS`` latents are drawn as the model samples them
(seed ``seed``; a class-conditional model's rows take the classes in turn, so each row keeps its label)
and dimension k alone is set to -SPAN and to +SPAN (SPAN = 2: 95% of N(0, 1)). Between the two images of
each row three properties of the ink are compared -- its width and slant
(:func:`ganzoo.metrics.codes.ink_shape`) and its thickness: the mean pixel beyond what the width and
slant explain (a wider digit has longer strokes, so more ink: the least-squares line of the mean pixel on
width and slant over real images is taken off) -- and ``dimK_width``, ``dimK_slant``, ``dimK_thickness``
are the mean absolute change over the rows in units of the property's standard deviation over the first
``REAL`` real images of the data (1.0: dimension k moves it by one spread of the real images). On data with
a judge classifier (digits, mnist), ``dimK_class`` is the share of rows whose two ends are judged
different classes (the dimension changes the digit).

A dimension is *active* when one of its three ink effects reaches ``ACTIVE`` (0.5) or its class share
reaches 0.5; it changes *one factor* when it is active, keeps the digit (class share < ``KEEP``, 0.2) and
its largest ink effect is at least ``ONE`` (2) times its second. ``factor_dims`` counts the active
dimensions and ``single_factor_dims`` those changing one factor: a beta-VAE whose traversals each change
one factor has them equal.
"""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError

ROWS, SPAN = 200, 2.0
ACTIVE, KEEP, ONE = 0.5, 0.2, 2.0
PROPERTIES = ("width", "slant", "thickness")
REAL = 2000                      # real images whose spread sets the units


def ink_properties(x: torch.Tensor) -> torch.Tensor:
    """(N, 3): the width, slant and mean pixel of images ``x`` (N, C, H, W) in [0, 1], float64."""
    from .codes import ink_shape

    width, slant = ink_shape(x)
    return torch.stack([width, slant, x.float().flatten(1).mean(1)], 1).double()


def thickness_basis(real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From real images' :func:`ink_properties` (N, 3): the matrix that maps properties to (width, slant,
    thickness) -- thickness being the mean pixel minus its least-squares fit on width and slant (with an
    intercept) -- and those three's standard deviations over the real images."""
    design = torch.cat([real[:, :2], torch.ones(len(real), 1, dtype=real.dtype)], 1)
    coef = torch.linalg.lstsq(design, real[:, 2:]).solution[:2, 0]
    basis = torch.eye(3, dtype=real.dtype)
    basis[:2, 2] = -coef                        # thickness = ink - coef . (width, slant); differences drop the intercept
    return basis, (real @ basis).std(0).clamp_min(1e-12)


@torch.no_grad()
def factors_metric(model, data, *, n=None, seed=0):
    """Per latent dimension, how far moving it alone changes the ink's width, slant and thickness (in real
    spreads) and, with a judge, how often it changes the class; ``n``: the rows (default ``ROWS``)."""
    from ganzoo.model import to_unit

    from .judge import has_judge, load_judge

    if not (model.is_image and data.is_image) or model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"metric 'factors' scores image models on their images; not {list(model.sample_shape)} "
                          f"samples on {data.name!r}")
    g, options = model.generator, model.sampling
    rows = int(n or ROWS)
    z = g.sample_latent(rows, seed=seed, **options)
    if z.dim() != 2 or not z.is_floating_point():
        raise ConfigError(f"metric 'factors' moves latent dimensions one at a time; this model's latents are "
                          f"{tuple(z.shape[1:])} {z.dtype} tensors, not vectors")
    y = model.draw_labels(rows, seed)
    y2 = None if y is None else y.repeat(2)
    basis, spread = thickness_basis(ink_properties(data.x[:REAL]))
    judge = load_judge(data.name) if has_judge(data.name) else None
    out: dict = {"n": rows, "span": SPAN}
    active = single = 0
    g.eval()
    for k in range(z.shape[1]):
        ends = torch.cat([z, z])                 # a new tensor: z stays as drawn
        ends[:rows, k], ends[rows:, k] = -SPAN, SPAN
        x = to_unit(g.generate(ends, y2, **options), g.output_range)
        p = ink_properties(x) @ basis
        effect = ((p[rows:] - p[:rows]).abs().mean(0) / spread).tolist()
        for name, e in zip(PROPERTIES, effect):
            out[f"dim{k}_{name}"] = e
        share = 0.0
        if judge is not None:
            cls = judge.predict(x)[1].argmax(1)
            share = float((cls[:rows] != cls[rows:]).double().mean())
            out[f"dim{k}_class"] = share
        first, second = sorted(effect, reverse=True)[:2]
        if first >= ACTIVE or share >= 0.5:
            active += 1
            single += int(share < KEEP and first >= ACTIVE and first >= ONE * second)
    out.update(factor_dims=active, single_factor_dims=single)
    return out
