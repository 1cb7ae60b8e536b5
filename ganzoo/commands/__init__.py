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
