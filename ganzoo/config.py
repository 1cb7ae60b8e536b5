"""Validation of JSON configs (variant configs, ``config.json``) before anything is allocated."""

from __future__ import annotations

from .errors import ConfigError

MAX_INT = 65536          # no width, latent size or class count beyond this
MAX_LIST = 64            # no list (hidden sizes, shapes) longer than this
MAX_STR = 256
FORMAT = "ganzoo/1"


MAX_NUMBER = 1e6         # no float option beyond +-this
MAX_SEED = 2**32 - 1     # seeds: 0..this (numpy's range; derived seeds such as seed + 1 stay in torch's)


def check_value(what: str, value, default, *, least: int = 0, most: int | None = MAX_INT):
    """``value`` checked against the type of ``default`` (and normalised: a float option's int becomes
    a float, a tuple a list); a wrong one is a one-line ConfigError ``"{what} must be ..., not ..."``
    naming the valid values. The one checker of typed options: variant and objective configs
    (:func:`validate`) and dataset options (``ganzoo.data.check_options``). An integer must lie in
    ``least..most`` (no upper bound for ``most=None``); the caller picks the bounds."""
    def bad(msg):
        raise ConfigError(f"{what} must be {msg}, not {value!r}")

    if default == "auto" and value != "auto":  # the variant resolves "auto"; a value given is checked as what it is
        if not isinstance(value, (bool, int, float, str, list, tuple)):
            bad('"auto" or a plain value')
        default = [] if isinstance(value, (list, tuple)) else value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            bad("true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < least or (most is not None and value > most):
            bad(f"an integer >= {least}" if most is None else f"an integer between {least} and {most}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= MAX_NUMBER:
            bad(f"a number between {-MAX_NUMBER:,.0f} and {MAX_NUMBER:,.0f}")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str) or len(value) > MAX_STR:
            bad(f"a string of at most {MAX_STR} characters")
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple)) and len(value) <= MAX_LIST
        if not ok or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INT for v in value):
            bad(f"a list of at most {MAX_LIST} integers between 1 and {MAX_INT}")
        value = list(value)
    elif default is None:
        if value is not None and not isinstance(value, (int, float, str, bool)):
            bad("a plain value (a number, string or true/false)")
    return value


def validate(config: dict, defaults: dict, where: str) -> dict:
    """Merge ``config`` over ``defaults``; unknown keys and wrong types are errors."""
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: config must be a mapping, not {type(config).__name__}")
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        if not defaults:
            raise ConfigError(f"{where}: unknown config key {unknown[0]!r}; it takes no config keys, drop it")
        raise ConfigError(f"{where}: unknown config key {unknown[0]!r}; known keys: {', '.join(sorted(defaults))}")
    out = {}
    for key, default in defaults.items():
        value = config.get(key, default)
        out[key] = check_value(f"{where}: {key}", value, default)
    if "sample_shape" in out:
        shape = out["sample_shape"]
        if not 1 <= len(shape) <= 3:
            raise ConfigError(f"{where}: sample_shape must have 1 to 3 dimensions, not {shape}")
        numel = 1
        for s in shape:
            numel *= s
        if numel > 3 * 512 * 512:
            raise ConfigError(f"{where}: sample_shape {shape} is too large (max 3x512x512 values)")
    return out


COMPONENT_NAMES = ("generator", "discriminator", "encoder", "prior")


def components_to_load(asked, available) -> list:
    """The components to load when ``asked`` for (None: all ``available``): as asked, plus the ``prior`` with
    the generator when the model has one -- the generator draws its latents from it, so sampling needs both."""
    wanted = list(available) if asked is None else list(asked)
    if "generator" in wanted and "prior" in available and "prior" not in wanted:
        wanted.append("prior")
    return wanted


MODEL_KEYS = {
    "format": str, "ganzoo_version": str, "variant": str, "objective": str, "objective_config": dict,
    "config": dict, "dataset": (str, type(None)), "latent_dim": int, "sample_shape": list,
    "num_classes": int, "output_range": (list, type(None)), "components": dict, "training": dict,
    "metrics": dict, "labels": (list, type(None)), "label_prior": (list, type(None)), "plugin": dict,
}
REQUIRED_KEYS = ("format", "variant", "objective", "config")


def validate_model_config(cfg, where: str = "config.json") -> dict:
    """Check the shape of a ganzoo ``config.json``; the variant's own keys are checked by ``create``."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: must be a JSON object")
    for key in REQUIRED_KEYS:
        if key not in cfg:
            raise ConfigError(f"{where}: missing key {key!r}; is this a ganzoo model folder?")
    for key, value in cfg.items():
        if key not in MODEL_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if not isinstance(value, MODEL_KEYS[key]) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    prior = cfg.get("label_prior")
    if prior is not None:
        ok = all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 1 for p in prior)
        if not ok or len(prior) != cfg.get("num_classes") or abs(sum(prior) - 1) > 1e-6:
            raise ConfigError(f"{where}: label_prior must be num_classes shares in [0, 1] that sum to 1")
    if cfg["format"] != FORMAT:
        raise ConfigError(f"{where}: format {cfg['format']!r} is not {FORMAT!r}; upgrade ganzoo")
    for comp, info in cfg.get("components", {}).items():
        if comp not in COMPONENT_NAMES or not isinstance(info, dict):
            raise ConfigError(f"{where}: unknown component {comp!r}")
        fname = info.get("file")
        if not isinstance(fname, str) or "/" in fname or "\\" in fname or fname.startswith("."):
            raise ConfigError(f"{where}: component {comp!r} names a bad file {fname!r}")
    return cfg
