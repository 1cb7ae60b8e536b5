"""CLI hygiene: every command has --help with an example; importing ganzoo, help and listing never
import torch (the one place that is checked); the --json formats are the ones documented in docs/json.md."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import contextlib, io, json, sys
from ganzoo.cli import BUILTIN_COMMANDS, cli, main

def run(args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code or 0
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

names = sorted(set(BUILTIN_COMMANDS) | set(cli.list_commands(None)))
result = {"builtin": sorted(BUILTIN_COMMANDS), "help": {"": run(["--help"])}}
for name in names:
    result["help"][name] = run([name, "--help"])
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def probe():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GANZOO_DEBUG", None)
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_every_command_has_help_with_an_example(probe):
    from ganzoo.cli import BUILTIN_COMMANDS

    assert probe["builtin"] == sorted(BUILTIN_COMMANDS)
    assert set(BUILTIN_COMMANDS) <= set(probe["help"])
    for name, res in probe["help"].items():
        shown = f"ganzoo {name} --help".replace("  ", " ")
        assert res["code"] == 0, (shown, res)
        assert "Example" in res["out"], f"{shown} shows no example"
        assert res["out"].lstrip().startswith("Usage: ganzoo"), shown
        assert res["err"] == "", (shown, res["err"])


# -- light paths: no torch (the only place this is checked) ------------------------------------------
HEAVY = ("torch", "huggingface_hub", "safetensors", "numpy")
LIGHT = r"""
import contextlib, io, json, sys
HEAVY = %r
code, steps = 0, json.loads(sys.argv[1])
for step in steps:
    if isinstance(step, str):  # a module to import
        __import__(step)
        continue
    from ganzoo.cli import BUILTIN_COMMANDS, cli, main
    if step == ["*", "--help"]:  # every command's help
        step = [[name, "--help"] for name in sorted(set(BUILTIN_COMMANDS) | set(cli.list_commands(None)))]
    else:
        step = [step]
    for args in step:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(args)
            except SystemExit as exc:
                code = code or exc.code or 0
print(json.dumps({"code": code, "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
""" % (HEAVY,)

LIGHT_PATHS = {
    "import ganzoo": ["ganzoo"],
    "import ganzoo.metrics": ["ganzoo.metrics"],
    "ganzoo --help": [["--help"]],
    "ganzoo COMMAND --help, every command": [["*", "--help"]],
    "ganzoo list": [["list"]],
    "ganzoo list --json": [["list", "--json"]],
    "ganzoo list --variants": [["list", "--variants"]],
    "ganzoo list --objectives --json": [["list", "--objectives", "--json"]],
    "ganzoo list --datasets": [["list", "--datasets"]],
    "ganzoo info mlp": [["info", "mlp"]],
    "ganzoo info hinge --json": [["info", "hinge", "--json"]],
    "ganzoo plugins": [["plugins"]],
    "ganzoo plugins --json": [["plugins", "--json"]],
    "ganzoo new-plugin": [["new-plugin", "light", "{tmp}/light"]],
}


@pytest.mark.parametrize("path", sorted(LIGHT_PATHS))
def test_light_paths_never_import_torch(path, tmp_path):
    """Importing ganzoo, help, listing and the plugin scaffold load none of torch, huggingface_hub,
    safetensors, numpy (so ``ganzoo list`` stays a fraction of ``import torch``)."""
    steps = json.loads(json.dumps(LIGHT_PATHS[path]).replace("{tmp}", str(tmp_path)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GANZOO_DEBUG", None)
    r = subprocess.run([sys.executable, "-c", LIGHT, json.dumps(steps)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["code"] == 0, (path, r.stderr)
    assert got["heavy"] == [], f"{path} imported " + ", ".join(got["heavy"])


# -- docs/json.md ---------------------------------------------------------------------------------
def documented() -> dict:
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- json: ([\w-]+) -->\s*```json\n(.*?)```", text, flags=re.S)
    return {case: json.loads(body) for case, body in found}


def _cli_json(args, capsys):
    from helpers import cli

    r = cli(*args)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_documented_json_keys_match_real_output(tmp_path, capsys):
    docs = documented()
    first_model = _cli_json(["list", "--json"], capsys)
    cases = {
        "list": ["list", "--json"],
        "list-variants": ["list", "--variants", "--json"],
        "list-objectives": ["list", "--objectives", "--json"],
        "list-datasets": ["list", "--datasets", "--json"],
        "list-metrics": ["list", "--metrics", "--json"],
        "info-variant": ["info", "mlp", "--variant", "--json"],
        "info-objective": ["info", "hinge", "--objective", "--json"],
        "plugins": ["plugins", "--json"],
    }
    if first_model:
        cases["info-model"] = ["info", first_model[0]["name"], "--json"]
    folder = tmp_path / "m"
    ganzoo.create("mlp", g_hidden=[8], d_hidden=[8], dataset="ring8").save(folder)
    cases["eval"] = ["eval", str(folder), "--data", "ring8", "-n", "200", "--json"]
    assert set(cases) <= set(docs), f"undocumented: {sorted(set(cases) - set(docs))}"
    for case, args in cases.items():
        real, doc = _cli_json(args, capsys), docs[case]
        if isinstance(doc, list):
            assert isinstance(real, list) and real, case
            for item in real:
                assert set(item) == set(doc[0]), (case, sorted(set(item) ^ set(doc[0])))
        else:
            assert set(real) == set(doc), (case, sorted(set(real) ^ set(doc)))
    # inside eval's metrics: the documented metric's keys
    real = _cli_json(cases["eval"], capsys)
    assert real["format"] == docs["eval"]["format"] == "ganzoo-eval/1"
    assert set(real["metrics"]["modes"]) == set(docs["eval"]["metrics"]["modes"])
