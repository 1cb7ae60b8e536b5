"""``ganzoo.train(...)``: the Python entry to the engine -- keywords sorted into run options
(:class:`~ganzoo.training.config.TrainConfig`'s fields) and the variant's config, then one
:class:`~ganzoo.training.trainer.Trainer` run."""

from __future__ import annotations

from typing import Optional

from ..errors import ConfigError
from .config import TrainConfig, python_names
from .trainer import Trainer


def train(variant=None, objective: Optional[str] = None, *, data=None, config: Optional[dict] = None, **kwargs):
    """Train ``variant`` (a name, or a :class:`~ganzoo.model.Model` to start from) with ``objective`` on
    ``data`` (a dataset reference such as ``"ring8"`` / ``"mnist:DIR"``, or a :class:`~ganzoo.data.sources.TensorData`)
    into the folder ``out``; return the trained model (with ``ema``, the moving average unless
    ``export="raw"``). The keyword arguments are :class:`TrainConfig`'s fields (``out``, ``steps``,
    ``batch_size``, ``resume``, ...); any other keyword, and ``config``, is the variant's config
    (``g_hidden=[64, 64]``)."""
    from ..model import Model

    run, variant_config = {}, dict(config or {})
    keywords = TrainConfig.keywords()
    for key, value in kwargs.items():
        (run if key in keywords else variant_config)[key] = value
    model = None
    if isinstance(variant, Model):
        model, objective = variant, objective or variant.objective
        variant_config, variant = {**variant.config, **variant_config}, variant.variant
    in_memory = None if isinstance(data, (str, type(None))) else data
    try:
        _check_keywords(variant, kwargs, keywords)
        cfg = TrainConfig(variant=variant, objective=objective, data=data if in_memory is None else None,
                          config=variant_config or None, **run)
        return Trainer(cfg, data=in_memory, model=model).fit()
    except ConfigError as exc:  # say it in Python's words: steps, not --steps
        raise type(exc)(python_names(str(exc))) from None


def _check_keywords(variant, kwargs: dict, keywords) -> None:
    """A keyword that is neither a run option nor a config key of the variant: one line naming both lists."""
    import difflib

    from ..plugins import get_registry

    reg = get_registry()
    if not isinstance(variant, str) or not reg.has("variant", variant):
        return
    known = set(reg.variant(variant).defaults)
    for key in kwargs:
        if key not in keywords and key not in known:
            close = difflib.get_close_matches(key, list(keywords) + sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ConfigError(f"train: unknown keyword {key!r}{hint} Run options: {', '.join(keywords)}; "
                              f"variant {variant!r}'s config keys: {', '.join(sorted(known))}")
