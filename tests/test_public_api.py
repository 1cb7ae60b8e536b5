"""The public plugin API is exactly what docs/writing-a-plugin.md lists under "The public API":
every listed name imports, the modules that declare ``__all__`` list nothing more or less, and the
first-party plugins and the new-plugin template import nothing else from ganzoo."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-a-plugin.md"


def public_names() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    head = "\n## The public API\n"
    assert head in text, "docs/writing-a-plugin.md has no '## The public API' section"
    section = text.split(head, 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^- `(ganzoo(?:\.[A-Za-z_]\w*)+)`", section, flags=re.M)
    assert len(names) == len(set(names)), "a name is listed twice"
    return names


def lookup(dotted: str):
    """Import ``ganzoo.a.b.Name``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)   # AttributeError: listed but missing
        return obj
    raise ModuleNotFoundError(dotted)


PUBLIC = public_names()


def test_the_guide_lists_a_public_api():
    assert len(PUBLIC) > 50
    assert {"ganzoo.interfaces.Decoder", "ganzoo.registry.VariantSpec", "ganzoo.layers.mlp",
            "ganzoo.errors.ConfigError", "ganzoo.hookspecs.hookimpl"} <= set(PUBLIC)
    assert not [n for n in PUBLIC if any(part.startswith("_") for part in n.split("."))], "private name listed"


@pytest.mark.parametrize("name", PUBLIC)
def test_every_listed_name_imports(name):
    try:
        obj = lookup(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"docs/writing-a-plugin.md lists {name}, which does not import: {exc}")
    assert obj is not None or name.rsplit(".", 1)[-1].isupper()


@pytest.mark.parametrize("module", ["ganzoo.layers", "ganzoo.interfaces", "ganzoo.sampling"])
def test_modules_with_all_match_the_guide(module):
    declared = {f"{module}.{n}" for n in importlib.import_module(module).__all__}
    listed = {n for n in PUBLIC if n.rsplit(".", 1)[0] == module}
    assert declared == listed, f"in __all__ only: {sorted(declared - listed)}; in the guide only: {sorted(listed - declared)}"


def ganzoo_imports(source: str) -> list[str]:
    """``ganzoo.x.Name`` for every ``from ganzoo.x import Name`` and every ``ganzoo.x.Name`` attribute
    used after ``import ganzoo``; sibling first-party plugin imports as ``ganzoo_plugins.x.Name``."""
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ganzoo" or node.module.startswith(("ganzoo.", "ganzoo_plugins")):
                out += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("ganzoo.")]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ganzoo":
            out.append(f"ganzoo.{node.attr}")
    return out


def check_imports(files: dict) -> list[str]:
    allowed = set(PUBLIC)
    bad = []
    for where, source in files.items():
        for name in ganzoo_imports(source):
            if name.startswith("ganzoo_plugins"):
                if name.rsplit(".", 1)[-1].startswith("_"):   # first-party plugins may share public code
                    bad.append(f"{where}: {name}")
            elif name not in allowed:
                bad.append(f"{where}: {name}")
    return bad


def test_first_party_plugins_use_public_names_only():
    files = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "plugins").rglob("*.py"))}
    assert len(files) >= 8
    bad = check_imports(files)
    assert not bad, "first-party plugins import names that docs/writing-a-plugin.md does not list:\n" + "\n".join(bad)


def test_the_new_plugin_template_uses_public_names_only(tmp_path):
    from ganzoo.scaffold import new_plugin

    dest = new_plugin("api-check", tmp_path / "p", check_taken=False)
    files = {str(p.relative_to(dest)): p.read_text(encoding="utf-8") for p in sorted(dest.rglob("*.py"))}
    assert any("plugin.py" in f for f in files) and any("model.py" in f for f in files)
    assert not check_imports(files), check_imports(files)


def test_the_import_check_catches_private_and_unlisted_names():
    sources = {
        "a.py": "from ganzoo.interfaces import _Component\n",
        "b.py": "from ganzoo.train import Trainer\n",
        "c.py": "import ganzoo\nganzoo._LAZY\n",
        "d.py": "from ganzoo_plugins.ae.model import _check_arch\n",
        "ok.py": "import ganzoo\nfrom ganzoo.layers import mlp\nfrom ganzoo_plugins.ae.model import build\nganzoo.load\n",
    }
    assert check_imports(sources) == ["a.py: ganzoo.interfaces._Component", "b.py: ganzoo.train.Trainer",
                                      "c.py: ganzoo._LAZY", "d.py: ganzoo_plugins.ae.model._check_arch"]
