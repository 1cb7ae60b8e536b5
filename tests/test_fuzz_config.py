"""config.json, fuzzed: random JSON against a reference reading of the documented schema (docs/json.md,
ganzoo/1), and structure-aware mutations of real configs (valid JSON and schema; values of the wrong
type, out of range or huge) that reach the variant's own checks and the parameter budget. Each refusal's
class is predicted independently of what ganzoo raised, and its message names the file or the key; the
tally counts how far each input got (JSON, schema, names, variant config, budget, weights, loaded)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

import ganzoo
import reliability
from ganzoo.errors import ConfigError, IncompatibleError, NotFoundError, TooLargeError, WeightsError
from ganzoo.plugins import get_registry

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(yaml_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
                           max_leaves=20)

CONFIG_KEYS = {"format": str, "ganzoo_version": str, "variant": str, "objective": str, "objective_config": dict,
               "config": dict, "dataset": (str, type(None)), "latent_dim": int, "sample_shape": list,
               "num_classes": int, "output_range": (list, type(None)), "components": dict, "training": dict,
               "metrics": dict, "labels": (list, type(None)), "label_prior": (list, type(None)), "plugin": dict}


def reference_config(text: str):
    """config.json as documented (docs/json.md, ganzoo/1), read with json: None when the schema holds,
    else a regex for the reason it must be refused."""
    try:
        cfg = json.loads(text)
    except ValueError:
        return "not valid JSON"
    if not isinstance(cfg, dict):
        return "must be a JSON object"
    for key in ("format", "variant", "objective", "config"):
        if key not in cfg:
            return f"missing key '{key}'"
    for key, value in cfg.items():
        if key not in CONFIG_KEYS:
            return rf"unknown key {re.escape(repr(key))}"
        if isinstance(value, bool) or not isinstance(value, CONFIG_KEYS[key]):
            return f"{key} has the wrong type"
    if cfg.get("label_prior") is not None:
        return "label_prior must be"  # (the fuzz never writes a valid one)
    if cfg["format"] != "ganzoo/1":
        return "format .* is not 'ganzoo/1'"
    for comp, info in cfg.get("components", {}).items():
        if comp not in ("generator", "discriminator", "encoder") or not isinstance(info, dict):
            return rf"unknown component {re.escape(repr(comp))}"
        f = info.get("file")
        if not isinstance(f, str) or "/" in f or "\\" in f or f.startswith("."):
            return rf"component {re.escape(repr(comp))} names a bad file"
    return None


def predicted(cfg: dict):
    """(class, regex, check) that loading a schema-valid ``cfg`` from a folder without weights must refuse
    with, from the registry's declared names, kinds and keys and from ``ganzoo.create`` on the same values
    -- never from what the load raised."""
    reg = get_registry()
    variant, objective = cfg["variant"], cfg["objective"]
    if not reg.has("variant", variant):
        return NotFoundError, rf"unknown variant '{re.escape(variant)}'", "names"
    if not reg.has("objective", objective):
        return NotFoundError, rf"unknown objective '{re.escape(objective)}'", "names"
    if reg.variant(variant).kind != reg.objective(objective).kind:
        return IncompatibleError, "does not work with objective", "names"
    unknown = sorted(set(cfg["config"]) - set(reg.variant(variant).defaults))
    if unknown:
        return ConfigError, rf"unknown config key {re.escape(repr(unknown[0]))}", "variant config"
    try:
        ganzoo.create(variant, objective, objective_config=cfg.get("objective_config") or {}, **cfg["config"])
    except TooLargeError as exc:
        return TooLargeError, re.escape(str(exc)), "budget"
    except ConfigError as exc:
        return type(exc), "^" + re.escape(str(exc)) + "$", "variant config"
    return (WeightsError, r"(has no weights for the|generator: .*generator\.safetensors is missing|config\.json: names no "
            r"weights files)", "weights")


@pytest.mark.reliability("input")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=st.one_of(json_values, st.fixed_dictionaries(
    {"format": st.just("ganzoo/1"), "variant": st.sampled_from(["mlp", "vae", "dcgan", "zzz"]),
     "objective": st.sampled_from(["hinge", "elbo", "wgan"]),
     "config": st.dictionaries(st.sampled_from(["sample_shape", "latent_dim", "g_hidden", "hidden", "num_classes",
                                                "arch", "pack", "x"]), json_values | st.integers(1, 64)
                               | st.lists(st.integers(1, 16), min_size=1, max_size=3), max_size=4)},
    optional={"components": json_values | st.just({"generator": {"file": "generator.safetensors"}}),
              "objective_config": json_values, "num_classes": json_values})),
    garble=st.sampled_from([None, 0, 1, -1]))
@example(cfg={"format": "ganzoo/1", "variant": "mlp", "objective": "hinge", "config": {}}, garble=None)  # no weights
def test_fuzz_config_json(tmp_path, cfg, garble):
    """Where json + the documented schema reject config.json, ganzoo names the file and the reason; where
    they accept it, ganzoo refuses it with the class :func:`predicted` names (the unknown variant or
    objective, the pairing, the config key, the budget, the missing weights) -- there are no weights here."""
    text = json.dumps(cfg)
    if garble is not None and text:
        text = text[:garble] if garble >= 0 else text + "}"
    path = tmp_path / "config.json"
    path.write_text(text)
    why = reference_config(text)
    if why is not None:
        with reliability.refuses("config.json", ConfigError, "^" + re.escape(str(path)) + ": " + why):
            ganzoo.load(tmp_path)
        reliability.reached("config.json", "JSON" if why == "not valid JSON" else "schema")
        return
    cls, stated, check = predicted(cfg)
    with reliability.refuses("config.json", cls, stated) as info:
        ganzoo.load(tmp_path)
    assert type(info.value) is cls, f"expected exactly {cls.__name__}, got {type(info.value).__name__}: {info.value}"
    reliability.reached("config.json", check)


# -- structure-aware: real configs with lying values ---------------------------------------------------------------
BASES = {  # real saved models, small
    "mlp": dict(variant="mlp", g_hidden=[8], d_hidden=[8]),
    "dcgan": dict(variant="dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4),
    "vae": dict(variant="vae", sample_shape=[1, 8, 8], hidden=[8], latent_dim=2),
}
BAD_VALUES = st.one_of(st.sampled_from(["8", "auto", "", None, True, 1.5, -1, 0, 2, 65537, 10**9, [], [0], [-3], ["8"],
                                        [65536, 65536], [65536] * 3, [3, 512, 512], [1, 64, 64], {}, {"a": 1}]),
                       st.integers(-2, 70000), st.lists(st.integers(0, 70000), max_size=4))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = {}
    for name, kw in BASES.items():
        folder = tmp_path_factory.mktemp(name) / "m"
        kw = dict(kw)
        ganzoo.create(kw.pop("variant"), **kw).save(folder)
        out[name] = folder
    return out


def _weight_shapes(folder, comp):
    with safe_open(str(folder / f"{comp}.safetensors"), "pt") as fh:
        return {k: list(fh.get_slice(k).get_shape()) for k in fh.keys()}


@pytest.mark.slow
@pytest.mark.reliability("input")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(base=st.sampled_from(sorted(BASES)), edits=st.lists(st.tuples(st.integers(0, 50), BAD_VALUES), min_size=1, max_size=2))
def test_fuzz_config_json_with_lying_values(saved, tmp_path_factory, monkeypatch, base, edits):
    """A real config.json (beside its real weights) with one or two of its variant's keys set to a wrong type,
    an out-of-range or a huge value: valid JSON, valid schema, so these reach the variant's checks, the
    parameter budget and the strict weight loading. ganzoo must refuse exactly as ``ganzoo.create`` refuses
    the same values (a huge model: TooLargeError naming the file), or, when the values build, load the
    weights when their shapes fit the model and refuse them (naming the tensor) when not."""
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "2000000")  # what the fuzz builds for real stays small
    src = saved[base]
    cfg = json.loads((src / "config.json").read_text())
    keys = sorted(cfg["config"])
    for i, value in edits:
        cfg["config"][keys[i % len(keys)]] = value
    folder = tmp_path_factory.mktemp("lying") / "m"
    folder.mkdir()
    for f in src.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    path = folder / "config.json"
    path.write_text(json.dumps(cfg))
    try:
        ref = ganzoo.create(cfg["variant"], cfg["objective"], objective_config=cfg.get("objective_config") or {},
                            **cfg["config"])
    except TooLargeError as exc:
        with reliability.refuses("config.json (lying values)", TooLargeError, "^" + re.escape(f"{path}: {exc}") + "$"):
            ganzoo.load(folder)
        reliability.reached("config.json", "budget")
        return
    except ConfigError as exc:
        with reliability.refuses("config.json (lying values)", type(exc), "^" + re.escape(str(exc)) + "$") as info:
            ganzoo.load(folder)
        assert type(info.value) is type(exc)
        reliability.reached("config.json", "variant config")
        return
    expected = {c: {k: list(v.shape) for k, v in m.state_dict().items()} for c, m in ref.components.items()}
    if all(_weight_shapes(folder, c) == expected[c] for c in expected):
        model = ganzoo.load(folder)
        assert model.config == ref.config
        reliability.loaded_equal("config.json (lying values)")
        reliability.reached("config.json", "loaded")
        return
    with reliability.refuses("config.json (lying values)", WeightsError,
                             r"\.safetensors: (tensor '[^']+' (is missing|has shape)|unexpected tensor)"):
        ganzoo.load(folder)
    reliability.reached("config.json", "weights")
