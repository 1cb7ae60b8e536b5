"""Build ganzoo's API reference (HTML, with signatures and docstrings, by pdoc) from the code, for the names
listed in "The public API" of docs/writing-a-plugin.md -- the contract plugins may use.

    python tools/api_reference.py                 # build into docs/api/ (open docs/api/index.html)
    python tools/api_reference.py -o /tmp/api     # elsewhere

Warnings are errors: a listed name that does not resolve, that pdoc cannot document, or that has no docstring
fails the build, naming each one (exit status 1). ``tests/test_api_docs.py`` runs it in CI. It needs nothing
from the network (pdoc is in the ``test`` extra).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-a-plugin.md"


def public_names(guide: Path = GUIDE) -> list[str]:
    """The dotted names listed under "## The public API" in the plugin guide, in order."""
    text = guide.read_text(encoding="utf-8")
    start = text.index("## The public API")
    end = text.find("\n## ", start + 1)
    return re.findall(r"^- `(ganzoo(?:\.\w+)+)`", text[start:end if end != -1 else None], re.M)


def _split(name: str):
    """(module, qualified name in it) of a dotted public name: the longest importable module prefix."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            return importlib.import_module(".".join(parts[:i])), ".".join(parts[i:])
        except ImportError:
            continue
    raise ImportError(f"{name}: no module of it imports")


def _resolve_lazy(module) -> None:
    """A package whose names load on first use (``ganzoo``, ``ganzoo.training``): put them in its namespace,
    as pdoc reads the namespace (only in the process that builds the documentation)."""
    for name in getattr(module, "__all__", ()):
        if name not in vars(module):
            setattr(module, name, getattr(module, name))


def check(names: list[str]) -> tuple[dict, list[str]]:
    """({module name: pdoc Module}, problems): each listed name must resolve, be documented by pdoc and have
    a docstring."""
    import pdoc.doc

    modules, problems = {}, []
    for name in names:
        try:
            module, qual = _split(name)
        except ImportError as exc:
            problems.append(str(exc))
            continue
        _resolve_lazy(module)
        doc = modules.get(module.__name__) or modules.setdefault(module.__name__, pdoc.doc.Module(module))
        member = doc.get(qual)
        if member is not None and not (member.docstring or "").strip():
            _docstring_from_home(member, modules)
        if member is None:
            problems.append(f"{name}: not found by pdoc (missing from {module.__name__}, or from its __all__)")
        elif not (member.docstring or "").strip():
            problems.append(f"{name}: no docstring")
    return modules, problems


def _docstring_from_home(member, modules: dict) -> None:
    """pdoc reads a variable's docstring (the string after its assignment) only in the module that documents
    it; a constant re-exported by a package (``ganzoo.layers.ACTIVATIONS``, defined in ``ganzoo.layers.common``)
    gets the docstring of the ganzoo module that assigns it."""
    import pdoc.doc

    obj = getattr(sys.modules[member.modulename], member.name, _MISSING)
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("ganzoo") or name == member.modulename or module is None:
            continue
        if vars(module).get(member.name, _MISSING) is obj:
            home = modules.get(name) or pdoc.doc.Module(module)
            found = home.get(member.name)
            if found is not None and (found.docstring or "").strip():
                member.__dict__["docstring"] = found.docstring   # pdoc's cached property, for the rendering too
                return


_MISSING = object()


def build(out: Path, names: list[str] | None = None) -> list[str]:
    """Write the reference into ``out``; return the problems (an empty list: every listed name is documented)."""
    import pdoc
    import pdoc.render

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a warning (a name that does not resolve, ...) is a failure
        modules, problems = check(public_names() if names is None else names)
        if problems:
            return problems
        pdoc.render.configure(docformat="restructuredtext", footer_text="ganzoo: the public API")
        write(modules, Path(out))
    return []


def write(modules: dict, out: Path) -> None:
    """pdoc's own writer (``pdoc.pdoc``) for exactly these modules -- the ones that hold public names, with the
    docstrings found for re-exported constants -- instead of every submodule pdoc would walk."""
    import pdoc.render

    for module in modules.values():
        path = out / f"{module.fullname.replace('.', '/')}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pdoc.render.html_module(module, modules), encoding="utf-8")
    (out / "index.html").write_text(pdoc.render.html_index(modules) or "", encoding="utf-8")
    (out / "search.js").write_text(pdoc.render.search_index(modules) or "", encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", default=str(ROOT / "docs" / "api"), help="output folder (default: docs/api)")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    problems = build(Path(a.out))
    for line in problems:
        print(f"api_reference: {line}", file=sys.stderr)
    if not problems:
        print(f"wrote the API reference of {len(public_names())} public names to {a.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
