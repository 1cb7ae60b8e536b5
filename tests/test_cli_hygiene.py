"""CLI hygiene: every command has --help with an example, help and listing never import torch, and
the --json formats are the ones documented in docs/json.md."""

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

HEAVY = ("torch", "huggingface_hub", "safetensors", "numpy")

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
result["heavy_after_help"] = sorted(m for m in HEAVY if m in sys.modules)
result["listing"] = {" ".join(a): run(a)["code"] for a in (["list"], ["list", "--json"], ["list", "--variants"],
                     ["list", "--objectives", "--json"], ["info", "mlp"], ["info", "hinge", "--json"],
                     ["plugins"], ["plugins", "--json"])}
result["heavy_after_listing"] = sorted(m for m in HEAVY if m in sys.modules)
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


def test_help_and_listing_never_import_torch(probe):
    assert probe["heavy_after_help"] == [], "--help imported " + ", ".join(probe["heavy_after_help"])
    assert all(code == 0 for code in probe["listing"].values()), probe["listing"]
    assert probe["heavy_after_listing"] == [], "list/info/plugins imported " + ", ".join(probe["heavy_after_listing"])


# -- docs/json.md ---------------------------------------------------------------------------------
def documented() -> dict:
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- json: ([\w-]+) -->\s*```json\n(.*?)```", text, flags=re.S)
    return {case: json.loads(body) for case, body in found}


def _cli_json(args, capsys):
    from ganzoo.cli import main

    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


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
