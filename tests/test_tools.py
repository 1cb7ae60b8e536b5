"""The maintainer tools in ``tools/`` (out of the installed package): they run from the checkout,
and what the package ships points at them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"_ganzoo_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_zoo_entry_has_a_recipe_and_its_card_says_how_to_rebuild_it():
    build_zoo = _tool("build_zoo")
    registry = yaml.safe_load((ROOT / "plugins" / "zoo" / "registry.yaml").read_text(encoding="utf-8"))
    names = [m["name"] for m in registry["models"]]
    assert sorted(names) == sorted(build_zoo.RECIPES)
    for m in registry["models"]:
        command = f"python tools/build_zoo.py {m['name']}"
        assert m["recipe"].startswith(command + " "), m["recipe"]
        card = (build_zoo.MODELS / m["bundled"] / "README.md").read_text(encoding="utf-8")
        assert (f"## Reproduce\n\nFrom a clone of ganzoo's repository (the wheel does not ship `tools/`):\n\n"
                f"```bash\n{command}\n```") in card, m["name"]
        assert "../shared" not in card and "../shared" not in m["recipe"], m["name"]   # no local paths shipped



def test_the_zoo_tables_in_the_docs_are_current(tmp_path):
    """docs/zoo.md's tables are what ``build_zoo.py --tables`` writes from registry.yaml: a model bundled (or
    re-scored) without rewriting them turns this red."""
    build_zoo = _tool("build_zoo")
    page = tmp_path / "zoo.md"
    page.write_text((ROOT / "docs" / "zoo.md").read_text(encoding="utf-8"), encoding="utf-8")
    build_zoo.zoo_tables(page)
    assert page.read_text(encoding="utf-8") == (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8"), \
        "docs/zoo.md is stale: run python tools/build_zoo.py --tables"


def test_zoo_tables_mark_every_failure_example(tmp_path):
    """A model whose recipe calls it a failure example (a 2-D model that captured no mode, or an image model
    that collapsed) is marked in docs/zoo.md's tables; the others are not."""
    build_zoo = _tool("build_zoo")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- zoo:begin -->\nold\n<!-- zoo:end -->\nrest\n", encoding="utf-8")
    build_zoo.zoo_tables(readme)
    rows = {line.split("`")[1]: line for line in readme.read_text(encoding="utf-8").splitlines() if line.startswith("| `")}
    failures = {n for n, r in build_zoo.RECIPES.items() if "a failure example" in r["summary"]}
    assert "ring8-mlp-hinge" in failures and "mnist-resnet-hinge" not in failures
    assert {n for n, line in rows.items() if "(failure example)" in line} == failures
    assert readme.read_text(encoding="utf-8").startswith("intro\n") and "old" not in readme.read_text(encoding="utf-8")


def test_build_zoo_lists_recipes_and_refuses_unknown_names():
    run = lambda *a: subprocess.run([sys.executable, str(TOOLS / "build_zoo.py"), *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    r = run("--list")
    assert r.returncode == 0 and "ganzoo train mlp --objective non-saturating --data ring8" in r.stdout
    r = run("no-such-model")
    assert r.returncode != 0 and "unknown recipe(s) ['no-such-model']; see --list" in r.stderr


def test_train_judge_writes_a_judge_that_loads_verified(tmp_path, monkeypatch):
    """The moved training code still trains, saves and pins a judge that ``ganzoo.metrics.judge``
    loads (a 2-epoch recipe on the digits, so it is quick)."""
    pytest.importorskip("sklearn")
    from ganzoo.metrics.judge import accuracy, judge_splits, load_judge

    train_judge = _tool("train_judge")
    monkeypatch.setitem(train_judge.RECIPES, "digits", {"epochs": 2, "batch": 64, "lr": 3e-3, "max_shift": 1})
    info = train_judge.train_and_save("digits", tmp_path, log=None)
    assert info["command"] == "python tools/train_judge.py train --data digits"
    assert json.loads((tmp_path / "digits.json").read_text())["sha256"] == info["sha256"]
    _, held, _ = judge_splits("digits")
    acc = accuracy(load_judge("digits", tmp_path), held.x, held.y)
    assert acc == pytest.approx(info["held_out_accuracy"], abs=1e-4) and acc > 0.3


def test_train_judge_check_reports_the_shipped_accuracy():
    pytest.importorskip("sklearn")
    from ganzoo.metrics.judge import card

    r = subprocess.run([sys.executable, str(TOOLS / "train_judge.py"), "check", "--data", "digits"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    measured = float(r.stdout.split("held-out accuracy ")[1].split()[0])
    assert measured == pytest.approx(card("digits")["held_out_accuracy"], abs=2e-3), r.stdout


def test_the_2d_cards_show_what_the_drawing_code_draws_today(tmp_path):
    """A card's samples.png is drawn once, when the model is built; when the drawing changes (issue 42: the
    scatter view holds every sample, so a failing model looks like one), the bundled pictures must be
    redrawn. Each 2-D card must equal a fresh draw with build_zoo's own arguments, byte for byte."""
    build_zoo = _tool("build_zoo")
    registry = yaml.safe_load((ROOT / "plugins" / "zoo" / "registry.yaml").read_text(encoding="utf-8"))
    two_d = [m["name"] for m in registry["models"] if m["dataset"] in ("ring8", "grid25")]
    assert len(two_d) == 16
    stale = []
    for name in two_d:
        fresh = tmp_path / f"{name}.png"
        build_zoo.sample_picture(build_zoo.MODELS / name, fresh, build_zoo.RECIPES[name]["data"])
        if fresh.read_bytes() != (build_zoo.MODELS / name / "samples.png").read_bytes():
            stale.append(name)
    assert not stale, f"redraw these cards (python tools/build_zoo.py --rescore NAME): {stale}"
