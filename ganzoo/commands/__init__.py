"""Built-in CLI commands; each module imports only click at top level (``ganzoo --help`` stays fast)."""


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
