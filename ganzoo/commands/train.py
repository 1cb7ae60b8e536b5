"""``ganzoo train``: train a variant with an objective on a dataset into a publishable model folder.

Its options are :class:`ganzoo.training.TrainConfig`'s fields, in field order: each field's ``cli``
metadata (declarations, help, type) becomes one click option, and ``parse`` says how the option's value
becomes the field's (``key_values``: repeated KEY=VALUE pairs; ``betas``: "0.5,0.999"; ``not``/``no``:
a flag that means the opposite)."""

from __future__ import annotations

import dataclasses

import click

from ..training.config import TrainConfig
from . import key_values

_TYPES = {int: int, float: float, str: str}


def _option(f: dataclasses.Field):
    cli = dict(f.metadata["cli"])
    decls, parse, choices = cli.pop("decls"), cli.pop("parse", None), cli.pop("choices", None)
    if cli.pop("argument", False):
        return click.argument(f.name, required=False)
    kind = cli.pop("type", None)
    if kind == "folder":
        cli["type"] = click.Path(file_okay=False)
    elif kind is not None:
        cli["type"] = _TYPES[kind]
    if choices:
        cli["type"] = click.Choice(list(choices))
    if cli.get("is_flag") and f.default is None and parse is None:
        cli["default"] = None
    elif "/" not in decls[0] and not cli.get("is_flag") and not cli.get("multiple"):
        cli.setdefault("default", f.default)
    if "/" in decls[0]:
        cli["default"] = None
    return click.option(*decls, f.name, **cli)


def _with_options(command):
    for f in reversed(dataclasses.fields(TrainConfig)):
        if f.metadata["cli"] is not None:
            command = _option(f)(command)
    return command


def _parse(name: str, value):
    """A CLI value -> the TrainConfig field's value."""
    from ..errors import ConfigError

    f = TrainConfig.__dataclass_fields__[name]
    parse = (f.metadata["cli"] or {}).get("parse")
    if isinstance(value, str) and not value.strip():  # --out "" would write into the current folder
        raise ConfigError(f"{f.metadata['label'] or name} is empty; give it a value or leave it out")
    if parse == "key_values":
        return key_values(value, f.metadata["cli"]["decls"][0]) or None
    if parse == "betas" and value is not None:
        try:
            return [float(b) for b in value.split(",")]
        except ValueError:
            raise ConfigError(f"--betas takes two numbers like 0.5,0.999, not {value!r}") from None
    if parse == "not":
        return None if value is None else not value
    if parse == "no":
        return False if value else None
    return value


@click.command("train")
@_with_options
def train_cmd(**options):
    """Train VARIANT with an objective on a dataset; write a model folder to --out.

    \b
    Examples:
      ganzoo train mlp --objective wgan-gp --data ring8 --out runs/ring8 --steps 5000
      ganzoo train dcgan --data mnist:data/mnist --out runs/mnist --epochs 5 --ema 0.999
      ganzoo train vae --data digits --out runs/vae --steps 2000 --set latent_dim=2
      ganzoo train mlp --objective non-saturating --r1 0.1 --data ring8 --out runs/r1 --steps 2000
      ganzoo train --resume --out runs/ring8 --steps 10000
      torchrun --nproc_per_node 2 -m ganzoo.cli train mlp --data ring8 --out runs/ddp --steps 1000
    """
    import os

    from ..training.trainer import Trainer

    config = TrainConfig(**{name: _parse(name, value) for name, value in options.items()})
    trainer = Trainer(config)
    model = trainer.fit()
    if os.environ.get("RANK", "0") in ("", "0"):
        click.echo(summary(trainer, model, options["out"]))


def summary(trainer, model, out) -> str:
    """The last line of ``ganzoo train``: what this invocation did."""
    start, done, name = trainer.started_at, trainer.steps_done, f"{model.variant}/{model.objective}"
    export = trainer.config.export
    which = f" (generator: {'the moving average' if export == 'ema' else 'the trained one'})" if export else ""
    if done == start:
        return (f"nothing to train: the run is at step {done} of {trainer.steps} (ask for more with --steps); "
                f"model folder written again{which}: {out}")
    did = f"for {done} step{'s' if done != 1 else ''}" if start == 0 else f"from step {start} to {done}"
    return f"trained {name} {did}; model folder{which}: {out}"
