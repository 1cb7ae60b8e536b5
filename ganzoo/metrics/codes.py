"""The ``codes`` metric: does a generator's categorical code pick the classes a judge sees?

For a generator that declares InfoGAN-style codes (:attr:`ganzoo.interfaces.Generator.code_layout`) with a
categorical code, ``n`` samples are drawn as :meth:`ganzoo.Model.sample` draws them (seed ``seed``), the
dataset's judge classifies each, and each value of the code is mapped to the class the judge gives most of
its samples (its majority class). ``code_accuracy`` is the share of samples whose judge class is the majority
class of their code value: Chen et al. 2016 (sec. 7.1) report about 0.95 for MNIST's 10-way code, where the
code matches the digit. Several values may map to one class (a code that splits the 1s by slant and merges
4 with 9): ``code_classes`` counts the distinct majority classes (10: one value per digit), and
``code_purity_min`` is the lowest share of a value's samples in its majority class.
"""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError

CODES_N = 5000


@torch.no_grad()
def code_metric(model, data, *, n=None, seed=0, code: int = 0):
    from .judge import has_judge, load_judge
    from .suite import generate

    layout = getattr(model.generator, "code_layout", None)
    if layout is None or not layout.categories:
        raise ConfigError("metric 'codes' needs a generator with a categorical latent code (an InfoGAN-style "
                          "code_layout, e.g. the infogan variant)")
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < len(layout):
        raise ConfigError(f"metric 'codes': code must be one of 0..{len(layout) - 1}, not {code!r}")
    k = layout.categories_of(code)
    if not k:
        raise ConfigError(f"metric 'codes': code {code} is continuous; name a categorical one "
                          f"(0..{len(layout.categories) - 1})")
    if not (data.is_image and model.is_image and has_judge(data.name)):
        raise ConfigError(f"metric 'codes' needs image data with a judge classifier (digits, mnist), not {data.name!r}")
    judge = load_judge(data.name)
    if model.sample_shape != (judge.channels, judge.size, judge.size):
        raise ConfigError(f"the {data.name.partition(':')[0]} judge scores images of shape "
                          f"{[judge.channels, judge.size, judge.size]}; this model makes {list(model.sample_shape)}")
    n = int(n or CODES_N)
    values = layout.values(model.generator.sample_latent(n, seed=seed), code).cpu()   # the z generate() draws
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
