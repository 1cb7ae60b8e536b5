"""The API reference: pdoc builds it from the code for every name in "The public API" of the plugin guide,
with warnings as errors, so a listed name that does not resolve or has no docstring fails (CI runs this)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import api_reference  # noqa: E402


def test_the_guide_lists_the_public_api():
    names = api_reference.public_names()
    assert len(names) > 100 and len(set(names)) == len(names)
    assert {"ganzoo.load", "ganzoo.layers.mlp", "ganzoo.objectives.step.StepInputs"} <= set(names)


def test_a_listed_name_without_a_docstring_or_not_exported_fails(tmp_path, monkeypatch):
    (tmp_path / "apidoc_probe.py").write_text(
        'def documented():\n    "What it does."\n\n\ndef bare():\n    pass\n\n\n'
        'def hidden():\n    "Not exported."\n\n\n__all__ = ["documented", "bare"]\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    _, problems = api_reference.check(["apidoc_probe.documented", "apidoc_probe.bare", "apidoc_probe.hidden",
                                       "ganzoo.layers.ACTIVATIONS"])
    assert problems == ["apidoc_probe.bare: no docstring",
                        "apidoc_probe.hidden: not found by pdoc (missing from apidoc_probe, or from its __all__)"]


@pytest.mark.slow
def test_the_reference_builds_with_warnings_as_errors_and_documents_every_listed_name(tmp_path):
    out = tmp_path / "api"
    r = subprocess.run([sys.executable, "-W", "error", str(ROOT / "tools" / "api_reference.py"), "-o", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in api_reference.public_names():
        module, qual = api_reference._split(name)
        page = out / f"{module.__name__.replace('.', '/')}.html"
        assert page.is_file(), name
        assert f'id="{qual}"' in page.read_text(encoding="utf-8"), name
    assert (out / "index.html").is_file()
