"""The ``codes`` metric: what a generator's latent codes (:attr:`ganzoo.interfaces.Generator.code_layout`,
InfoGAN's) do to its images.

*A categorical code* (on data with a judge classifier): ``n`` samples are drawn as :meth:`ganzoo.Model.sample`
draws them (seed ``seed``), the judge classifies each, and each value of the code is mapped to the class the
judge gives most of its samples (its majority class). ``code_accuracy`` is the share of samples whose judge
class is the majority class of their code value: Chen et al. 2016 (sec. 5) report about 0.95 for MNIST's
10-way code, where the code matches the digit. Several values may map to one class (a code that splits the 1s
by slant and merges 4 with 9): ``code_classes`` counts the distinct majority classes (10: one value per
digit), and ``code_purity_min`` is the lowest share of a value's samples in its majority class.

*Each continuous code K* (images): along ``STYLE_ROWS`` rows of :meth:`ganzoo.Model.traverse_code` (the code
walking -2..2 in ``STYLE_STEPS`` steps, everything else fixed per row), how the ink's width (the standard
deviation of its columns, in pixels) and slant (the shear dx/dy of its second moments; positive leans right)
follow the code: ``codeK_width`` and ``codeK_slant`` are rank correlations with the code's value, averaged
over the rows (1 or -1: every row's width or slant moves one way as the code grows; 0: no relation).
"""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError

CODES_N = 5000
STYLE_ROWS, STYLE_STEPS, STYLE_SPAN = 50, 9, 2.0


@torch.no_grad()
def code_metric(model, data, *, n=None, seed=0, code=None):
    from .judge import has_judge

    layout = getattr(model.generator, "code_layout", None)
    if layout is None:
        raise ConfigError("metric 'codes' needs a generator with latent codes (an InfoGAN-style code_layout, "
                          "e.g. the infogan variant)")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < len(layout)
                             or not layout.categories_of(code)):
        raise ConfigError(f"metric 'codes': code names a categorical code, one of 0..{len(layout.categories) - 1}; "
                          f"not {code!r}")
    out = {}
    if layout.categories and data.is_image and model.is_image and has_judge(data.name):
        out.update(_accuracy(model, data, int(n or CODES_N), seed, 0 if code is None else code))
    if model.is_image:
        for k in range(len(layout.categories), len(layout)):
            out.update(_style(model, k, seed))
    if not out:
        raise ConfigError(f"metric 'codes' scores image models: a categorical code on data with a judge classifier "
                          f"(digits, mnist), continuous codes on any images; not {list(model.sample_shape)} samples "
                          f"on {data.name!r}")
    return out


def _accuracy(model, data, n, seed, code):
    from .judge import load_judge
    from .draws import generate

    judge = load_judge(data.name)
    if model.sample_shape != (judge.channels, judge.size, judge.size):
        raise ConfigError(f"the {data.name.partition(':')[0]} judge scores images of shape "
                          f"{[judge.channels, judge.size, judge.size]}; this model makes {list(model.sample_shape)}")
    layout = model.generator.code_layout
    k = layout.categories_of(code)
    z = model.generator.sample_latent(n, seed=seed, **model.sampling)   # the latent generate() draws
    values = layout.values(z, code).cpu()
    _, probs = judge.predict(generate(model, n, seed))
    table = torch.zeros(k, judge.num_classes, dtype=torch.long)
    table.index_put_((values, probs.argmax(1)), torch.ones(n, dtype=torch.long), accumulate=True)
    used = table.sum(1) > 0
    best = table.max(1).values
    return {
        "n": n,
        "code": code,
        "categories": k,
        "code_accuracy": float(best.sum()) / max(n, 1),
        "code_classes": len(set(table.argmax(1)[used].tolist())),
        "code_purity_min": float((best[used].double() / table.sum(1)[used]).min()) if bool(used.any()) else 0.0,
    }


def ink_shape(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(width, slant) of images ``x`` (N, C, H, W) in [0, 1], the ink being the mean over channels: width the
    standard deviation of the ink's columns (pixels), slant its shear -cov(x, y) / var(y) (rows grow
    downwards, so a stroke leaning right has a positive slant)."""
    ink = x.float().mean(1)
    h, w = ink.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=ink.dtype), torch.arange(w, dtype=ink.dtype), indexing="ij")
    total = ink.sum((1, 2)).clamp_min(1e-8)

    def mean(f):
        return (ink * f).sum((1, 2)) / total

    dx = xs - mean(xs)[:, None, None]
    dy = ys - mean(ys)[:, None, None]
    return mean(dx * dx).sqrt(), -mean(dx * dy) / mean(dy * dy).clamp_min(1e-8)


def _rank_correlation(rows: torch.Tensor) -> float:
    """Mean over rows of the rank correlation of each row's values with their position (0, 1, 2, ...);
    tied values share their mean rank (a row of equal values correlates 0)."""
    rows = rows.double()
    below = (rows[:, None, :] < rows[:, :, None]).sum(2)
    ties = (rows[:, None, :] == rows[:, :, None]).sum(2)
    ranks = below + (ties - 1) / 2
    pos = torch.arange(rows.shape[1], dtype=torch.float64)
    ranks, pos = ranks - ranks.mean(1, keepdim=True), pos - pos.mean()
    denom = ranks.norm(dim=1) * pos.norm()
    return float(((ranks * pos).sum(1) / denom.clamp_min(1e-12)).mean())


def _style(model, k, seed):
    x = model.traverse_code(k, rows=STYLE_ROWS, steps=STYLE_STEPS, span=STYLE_SPAN, seed=seed)
    width, slant = ink_shape(x.flatten(0, 1))
    return {f"code{k}_width": _rank_correlation(width.view(STYLE_ROWS, STYLE_STEPS)),
            f"code{k}_slant": _rank_correlation(slant.view(STYLE_ROWS, STYLE_STEPS))}
