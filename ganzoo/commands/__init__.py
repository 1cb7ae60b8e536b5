"""Built-in CLI commands; each module imports only click at top level (``ganzoo --help`` stays fast)."""

import click

from ..config import MAX_SEED

SEED = click.IntRange(0, MAX_SEED)   # every command's --seed


def key_values(pairs, flag: str) -> dict:
    """``["latent_dim=2", "arch=conv"]`` -> ``{"latent_dim": 2, "arch": "conv"}`` (JSON values; a bare
    word is a string)."""
    import json

    from ..errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} takes KEY=VALUE (a JSON value), not {pair!r}")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw  # a bare word is a string: --set arch=conv
    return out


def sampling_flags(command):
    """The sampling options of ``ganzoo sample`` and ``ganzoo eval``: ``--truncation PSI`` and
    ``--sample-opt KEY=VALUE`` (any option the model's generator declares); :func:`sampling_from` reads them."""
    import click

    command = click.option("--sample-opt", "sample_opts", multiple=True, metavar="KEY=VALUE",
                           help="A sampling option the model declares (JSON value), repeatable, e.g. "
                           "--sample-opt noise=none; a model refuses options it does not take.")(command)
    return click.option("--truncation", type=float, default=None, metavar="PSI",
                        help="The truncation trick: z from the normal truncated to [-PSI, PSI]; for a style "
                        "model (a mapping network) w = w_avg + PSI (w - w_avg), PSI = 1 the plain samples.")(command)


def sampling_from(truncation, pairs) -> dict:
    """``--truncation`` and ``--sample-opt`` as one dict of sampling options (``--truncation`` wins)."""
    options = key_values(pairs, "--sample-opt")
    if truncation is not None:
        options["truncation"] = truncation
    return options


def label_index(m, model, label: str) -> int:
    """``--label`` of model ``m`` (named ``model``): a class name it stores (its data's labels), else an index
    0..C-1; anything else is a ConfigError naming the classes."""
    from ..errors import ConfigError

    names = [str(x) for x in (m.meta.get("labels") or [])]
    if label in names:
        return names.index(label)
    if label.strip().lstrip("-").isdigit() and 0 <= int(label) < m.num_classes:
        return int(label)
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    known = f"its classes are {shown} (or their indices 0..{m.num_classes - 1})" if names else \
        f"use an index 0..{m.num_classes - 1}"
    raise ConfigError(f"--label {label!r} is not a class of {model}; {known}")
