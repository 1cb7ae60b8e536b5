"""The registry.yaml parser: a strict schema, fuzzed against a reference reader (config.json: test_fuzz_config.py)."""

import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import reliability
from ganzoo.errors import ConfigError
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


# -- differential fuzzing: yaml.safe_load / json plus the documented keys decide ---------------------------------
ENTRY_TYPES = {"name": str, "variant": str, "objective": str, "dataset": str, "summary": str, "metrics": dict,
               "bundled": str, "files": dict, "hub": dict, "tags": list, "recipe": str, "aliases": list}
HEX = set("0123456789abcdef")


def _plain_name(v) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 128 and not any(c.isspace() for c in v)


def reference_registry(text: str):
    """registry.yaml as documented, read with yaml.safe_load: a list of expected entries (dicts), or a
    regex for the reason it must be refused (the entry index and key named where there is one)."""
    import yaml

    if len(text) > 1_000_000:
        return "larger than"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return r"not valid YAML|aliases/anchors|nested too deeply"
    except RecursionError:
        return "nested too deeply"
    if not isinstance(doc, dict) or set(doc) - {"version", "models"} or doc.get("version") != 1:
        return r"expected a mapping with 'version: 1'"
    models = doc.get("models", [])
    models = [] if models is None else models  # `models:` with nothing after it: no models
    if not isinstance(models, list):
        return "'models' must be a list"
    out, names, aliases = [], set(), {}
    for i, raw in enumerate(models):
        at = rf"models\[{i}\]"
        if not isinstance(raw, dict):
            return at + " must be a mapping"
        for key, value in raw.items():
            if key not in ENTRY_TYPES:
                return at + rf": unknown key {re.escape(repr(key))}"
            if not isinstance(value, ENTRY_TYPES[key]):
                return at + rf": {key} must be a"
        for key in ("name", "variant", "objective", "dataset"):
            if not _plain_name(raw.get(key)):
                return at + rf": {key} must be a non-empty name without spaces"
        if raw["name"] in names:
            return at + ": duplicate name"
        names.add(raw["name"])
        for alias in raw.get("aliases", []):
            if not _plain_name(alias):
                return at + ": aliases must be non-empty names without spaces"
            if alias in aliases or alias == raw["name"]:
                return at + rf": alias {re.escape(repr(alias))} is listed twice"
            aliases[alias] = raw["name"]
        files = raw.get("files", {})
        for fname, digest in files.items():
            if not (isinstance(fname, str) and isinstance(digest, str) and "/" not in fname and "\\" not in fname
                    and not fname.startswith(".") and len(digest) == 64 and not set(digest) - HEX):
                return at + ": files must map plain file names to sha256"
        for metric, value in raw.get("metrics", {}).items():
            if not isinstance(metric, str) or isinstance(value, bool) or not isinstance(value, (int, float, str)):
                return at + ": metrics must map names to numbers"
        if "bundled" in raw:
            if not raw["bundled"] or "/" in raw["bundled"] or "\\" in raw["bundled"] or raw["bundled"].startswith("."):
                return at + ": bundled must be a plain folder name"
            if not files:
                return at + ": a bundled copy needs sha256 pins"
        if "hub" in raw:
            if any(k not in ("repo", "revision") or not isinstance(v, str) for k, v in raw["hub"].items()):
                return at + ": hub takes repo and revision"
            if not isinstance(raw["hub"].get("repo"), str) or raw["hub"]["repo"].count("/") != 1:
                return at + ": hub.repo must be 'org/name'"
        out.append(raw)
    clash = sorted(set(aliases) & names)
    if clash:
        return rf"alias {re.escape(repr(clash[0]))} .* is also a model's name"
    return out


def _registry_differential(text: str, fmt: str) -> None:
    ref = reference_registry(text)
    try:
        got = parse_registry(text)
    except ConfigError as exc:
        assert isinstance(ref, str), f"ganzoo refused a registry the reference accepts: {exc}"
        reliability.refused(fmt, exc, ConfigError, r"^registry\.yaml: .*(" + ref + ")")
        return
    assert not isinstance(ref, str), f"ganzoo accepted a registry the reference refuses ({ref})"
    assert len(got) == len(ref)
    for entry, raw in zip(got, ref):
        assert (entry.name, entry.variant, entry.objective, entry.dataset) == \
            (raw["name"], raw["variant"], raw["objective"], raw["dataset"])
        assert entry.summary == raw.get("summary", "") and entry.recipe == raw.get("recipe", "")
        assert entry.metrics == raw.get("metrics", {}) and entry.aliases == tuple(raw.get("aliases", []))
        assert entry.tags == tuple(str(t) for t in raw.get("tags", []))
        assert entry.source.get("files", {}) == raw.get("files", {})
        assert entry.source.get("bundled") == raw.get("bundled")
        for k, v in raw.get("hub", {}).items():
            assert entry.source[k] == v
    reliability.loaded_equal(fmt)


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(yaml_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
                           max_leaves=20)
names = st.sampled_from(["a", "b", "ring8-x", "a b", "", "x" * 130])
hexes = st.sampled_from([SHA, "b" * 64, "abc", "A" * 64])


@pytest.mark.reliability("input")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400) | st.builds(lambda body: "version: 1\nmodels:\n" + body, st.text(max_size=300)))
@example("version: 1\nmodels:\n|")  # an empty string is not a list of models
def test_fuzz_registry_text(text):
    _registry_differential(text, "registry.yaml (text)")


@pytest.mark.slow
@pytest.mark.reliability("input")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(
    st.sampled_from(["name", "variant", "objective", "dataset", "summary", "metrics", "bundled", "files", "hub",
                     "tags", "aliases", "recipe", "other"]),
    json_values | names | st.lists(names, max_size=3) | st.dictionaries(st.sampled_from(["config.json", "../x", "g.safetensors"]), hexes)
    | st.dictionaries(st.sampled_from(["repo", "revision", "x"]), st.sampled_from(["org/n", "n", "main"])),
    max_size=9) | st.fixed_dictionaries({"name": names, "variant": names, "objective": names, "dataset": names},
                                        optional={"aliases": st.lists(names, max_size=2), "metrics": json_values,
                                                  "files": st.dictionaries(st.sampled_from(["config.json", ".x"]), hexes),
                                                  "bundled": names, "tags": json_values}),
    max_size=3))
def test_fuzz_registry_entries(entries):
    doc = json.dumps({"version": 1, "models": entries})   # JSON is YAML
    _registry_differential(doc, "registry.yaml (entries)")


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
