"""registry.yaml and config.json parsers: strict schemas, and fuzzed to raise only ganzoo errors."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganzoo
import reliability
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.registry import match, parse_registry

SHA = "a" * 64

GOOD = f"""
version: 1
models:
  - name: ring8-mlp-x
    variant: mlp
    objective: hinge
    dataset: ring8
    summary: test entry
    metrics: {{modes: 8, hq: 0.98}}
    bundled: ring8-mlp-x
    files: {{config.json: {SHA}, generator.safetensors: {SHA}}}
    hub: {{repo: ganzoo/ring8-mlp-x, revision: "0123456789abcdef0123456789abcdef01234567"}}
"""


def test_parse_a_good_registry(tmp_path):
    (entry,) = parse_registry(GOOD, base=tmp_path)
    assert entry.name == "ring8-mlp-x" and entry.metrics == {"modes": 8, "hq": 0.98}
    assert entry.source["repo"] == "ganzoo/ring8-mlp-x" and entry.source["bundled"] == "ring8-mlp-x"
    assert entry.source["path"] == str(tmp_path / "ring8-mlp-x")
    assert entry.to_json()["weights_from"].startswith("bundled + hf://ganzoo/ring8-mlp-x@")


@pytest.mark.reliability("input")
@pytest.mark.parametrize("text,msg", [
    ("version: 2\nmodels: []", "version: 1"),
    ("version: 1\nmodels: {}", "must be a list"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, colour: red}]", "unknown key 'colour'"),
    ("version: 1\nmodels: [{name: a b, variant: mlp, objective: hinge, dataset: ring8}]", "without spaces"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, bundled: ../../x, files: {}}]", "plain folder"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, bundled: x}]", "sha256 pins"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, files: {../x: " + SHA + "}}]", "plain file names"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, files: {x: abc}}]", "sha256"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, hub: {repo: nope}}]", "org/name"),
    ("version: 1\nmodels: !!python/object/apply:os.system ['echo pwned']", "not valid YAML"),
    ("a: &a [1, 2]\nb: *a", "aliases"),
    ("version: 1\nmodels: [" * 5000, "YAML|nested"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, aliases: old}]", "aliases must be a list"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, aliases: [old one]}]", "without spaces"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, aliases: [a]}]", "listed twice"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, aliases: [x]},"
     " {name: b, variant: mlp, objective: hinge, dataset: ring8, aliases: [x]}]", "listed twice"),
    ("version: 1\nmodels: [{name: a, variant: mlp, objective: hinge, dataset: ring8, aliases: [b]},"
     " {name: b, variant: mlp, objective: hinge, dataset: ring8}]", "alias 'b' .of 'a'. is also a model's name"),
])
def test_bad_registries_are_rejected(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_registry(text)


@pytest.mark.reliability("input")
def test_billion_laughs_is_refused_before_expansion():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    with pytest.raises(ConfigError, match="aliases"):
        parse_registry(bomb)


@pytest.mark.reliability("input")
def test_duplicate_names_and_size_limit():
    two = GOOD + GOOD.split("models:\n", 1)[1]
    with pytest.raises(ConfigError, match="duplicate name"):
        parse_registry(two)
    with pytest.raises(ConfigError, match="larger than"):
        parse_registry("#" * 2_000_000)


def test_match_supports_wildcards_and_substrings():
    names = ["ring8-mlp-hinge", "grid25-mlp-hinge", "mnist-dcgan"]
    assert match(names, "ring8*") == ["ring8-mlp-hinge"]
    assert match(names, "mlp") == ["grid25-mlp-hinge", "ring8-mlp-hinge"]
    assert match(names, None) == sorted(names)


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(yaml_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
                           max_leaves=20)


@pytest.mark.reliability("input")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_registry_text_raises_only_config_errors(text):
    reliability.tried("fuzz: registry.yaml text")
    try:
        parse_registry(text)
    except ConfigError:
        pass


@pytest.mark.slow
@pytest.mark.reliability("input")
@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "variant", "objective", "dataset", "summary", "metrics",
                                        "bundled", "files", "hub", "tags", "other"]), json_values, max_size=8))
def test_fuzz_registry_entries(entry):
    reliability.tried("fuzz: registry entry")
    doc = json.dumps({"version": 1, "models": [entry]})   # JSON is YAML
    try:
        parse_registry(doc)
    except ConfigError:
        pass


@pytest.mark.reliability("input")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=st.one_of(json_values, st.fixed_dictionaries(
    {"format": st.just("ganzoo/1"), "variant": st.sampled_from(["mlp", "vae", "dcgan", "zzz"]),
     "objective": st.sampled_from(["hinge", "elbo", "wgan"]),
     "config": st.dictionaries(st.sampled_from(["sample_shape", "latent_dim", "g_hidden", "hidden", "num_classes",
                                                "arch", "pack", "x"]), json_values, max_size=4)},
    optional={"components": json_values, "objective_config": json_values, "num_classes": json_values})))
def test_fuzz_config_json_raises_only_ganzoo_errors(tmp_path, cfg):
    reliability.tried("fuzz: config.json")
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    try:
        ganzoo.load(tmp_path)
    except GanzooError:
        pass


def test_aliases_parse_and_register_without_collisions():
    from ganzoo.errors import PluginError
    from ganzoo.registry import ModelEntry, Registry

    text = GOOD.replace("    summary: test entry\n", "    summary: test entry\n    aliases: [ring8-old, ring8-older]\n")
    (entry,) = parse_registry(text)
    assert entry.aliases == ("ring8-old", "ring8-older")
    reg = Registry()
    reg.add(entry, "zoo")
    assert reg.renamed("ring8-old") == reg.renamed("ring8-older") == "ring8-mlp-x"
    assert reg.renamed("ring8-mlp-x") is None and reg.names("model") == ["ring8-mlp-x"]   # aliases are not names
    other = dict(variant="mlp", objective="hinge", dataset="ring8")
    with pytest.raises(PluginError, match="alias 'ring8-mlp-x' of model 'b' is already a model"):
        reg.add(ModelEntry("b", aliases=("ring8-mlp-x",), **other), "p2")
    with pytest.raises(PluginError, match="alias 'ring8-old' of model 'c' is already a former name of 'ring8-mlp-x'"):
        reg.add(ModelEntry("c", aliases=("ring8-old",), **other), "p2")
    with pytest.raises(PluginError, match="'ring8-older' .* is already a former name"):
        reg.add(ModelEntry("ring8-older", **other), "p2")
    reg.add(ModelEntry("d", aliases=("d-old",), **other), "p3")
    reg.remove_plugin("p3")
    assert reg.renamed("d-old") is None and reg.renamed("ring8-old") == "ring8-mlp-x"
