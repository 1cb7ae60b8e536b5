"""``ganzoo new-plugin``: the generated package, NAME checks, and a real install into a fresh venv.

The slow tests create a separate virtual environment (``python -m venv --without-pip``), make this
environment's site-packages (torch, pluggy, ganzoo, pip, setuptools, pytest) visible to it through
a ``.pth`` file instead of reinstalling torch, ``pip install`` the generated plugin into it with no
network (``--no-index --no-deps --no-build-isolation``) and drive it from that venv's interpreter.
The plugin lands only in the fresh venv: this interpreter must never see it.
"""

from __future__ import annotations

import ast
import json
import os
import site
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import run as run_cli
from helpers import run_checked

from ganzoo.errors import ConfigError
from ganzoo.scaffold import check_name, names_for, new_plugin

PROBE = "scaffold-probe"          # the plugin the slow tests install; must not exist here
PROBE_PKG = "ganzoo_scaffold_probe"
TIMEOUT = 300


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# -- generating ----------------------------------------------------------------------------------
def test_generates_a_complete_package(tmp_path):
    dest = new_plugin("my-gan", tmp_path / "out")
    assert dest == tmp_path / "out"
    assert _files(dest) == {
        ".gitignore", "README.md", "pyproject.toml",
        "ganzoo_my_gan/__init__.py", "ganzoo_my_gan/plugin.py", "ganzoo_my_gan/model.py",
        "ganzoo_my_gan/objective.py", "tests/test_my_gan.py",
    }
    for path in dest.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text and "}}" not in text, f"unrendered placeholder in {path.name}"
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert not list(tmp_path.glob(".out.*")), "temporary folder left behind"

    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "ganzoo-my-gan"
    assert meta["project"]["entry-points"]["ganzoo"] == {"my-gan": "ganzoo_my_gan.plugin"}
    assert any(d.startswith("ganzoo") for d in meta["project"]["dependencies"])
    assert meta["tool"]["setuptools"]["packages"] == ["ganzoo_my_gan"]


def test_hook_module_is_light():
    """No torch import at the top of the generated hook module: ``ganzoo list`` stays fast."""
    tree = ast.parse(_render_one("plugin.py"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    mods = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module for n in top if isinstance(n, ast.ImportFrom)}
    assert not {m for m in mods if m and m.split(".")[0] == "torch"}
    assert "ganzoo.hookspecs" in mods


def _render_one(fname: str, name: str = "my-gan") -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        dest = new_plugin(name, Path(tmp) / "p")
        return (dest / names_for(name)["package"] / fname).read_text(encoding="utf-8")


def test_generated_variant_builds_in_process(tmp_path, monkeypatch):
    """Load the generated hook module by hand (no install) and build what it registers."""
    import importlib

    import torch

    from ganzoo.registry import VariantSpec, resolve

    dest = new_plugin("toy-gan2", tmp_path / "p")
    monkeypatch.syspath_prepend(str(dest))
    try:
        hooks = importlib.import_module("ganzoo_toy_gan2.plugin")
        assert "torch" not in vars(hooks)
        got = []
        hooks.register_variants(register=got.append)
        (spec,) = got
        assert isinstance(spec, VariantSpec)
        assert (spec.name, spec.kind, spec.build) == ("toy-gan2", "gan", "ganzoo_toy_gan2.model:build")
        assert spec.default_objective == "non-saturating" and not hasattr(spec, "objectives")  # paired by kind
        assert set(spec.defaults) >= {"sample_shape", "latent_dim", "hidden", "num_classes", "d_norm"}
        build = resolve(spec.build)
        for shape, classes, norm in (([2], 0, "none"), ([1, 8, 8], 3, "layer")):
            comps = build(**{**spec.defaults, "sample_shape": shape, "num_classes": classes, "d_norm": norm})
            G, D = comps["generator"], comps["discriminator"]
            y = torch.tensor([0, 1, 2, 1]) if classes else None
            x = G(G.sample_latent(4), y)
            assert x.shape == (4, *shape)
            assert D(x, y).shape == (4,)
            assert G.output_range == ((-1.0, 1.0) if len(shape) == 3 else None)
        with pytest.raises(ConfigError, match="d_norm"):
            build(**{**spec.defaults, "d_norm": "batch"})
        # the objective it registers beside the variant: the step contract, G's loss sees the real batch
        from ganzoo.objectives.step import StepInputs, loss_functions

        objectives = []
        hooks.register_objectives(register=objectives.append)
        (ospec,) = objectives
        assert (ospec.name, ospec.kind) == ("toy-gan2-rsgan", "gan")
        obj = resolve(ospec.factory)(**ospec.defaults)
        score = lambda x, y=None: x[:, 0]  # noqa: E731
        real, fake = torch.tensor([[1.0], [-2.0]]), torch.tensor([[0.0], [3.0]])
        d_fn, g_fn = loss_functions(obj)
        assert d_fn(StepInputs(score, real, fake))[0].item() == pytest.approx(
            torch.nn.functional.softplus(fake - real).mean().item(), abs=1e-6)
        assert g_fn(StepInputs(score, real, fake, phase="g"))[0].item() == pytest.approx(
            torch.nn.functional.softplus(real - fake).mean().item(), abs=1e-6)
    finally:
        for mod in [m for m in sys.modules if m == "ganzoo_toy_gan2" or m.startswith("ganzoo_toy_gan2.")]:
            del sys.modules[mod]


@pytest.mark.parametrize("name", ["a", "my-gan", "gan2", "x1-y2-z3", "a" * 40])
def test_good_names(name):
    assert check_name(name) == name
    n = names_for(name)
    assert n["dist"] == f"ganzoo-{name}" and n["package"] == "ganzoo_" + name.replace("-", "_")
    assert n["package"].isidentifier() and n["class_prefix"].isidentifier()


@pytest.mark.parametrize("name", ["", "My", "my_gan", "-x", "x-", "a--b", "1abc", "a b", "gan.x", "a" * 41,
                                  "caf\u00e9", "../x", "x/y"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="bad plugin name") as err:
        new_plugin(name, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["mlp", "dcgan", "zoo", "objectives"])
def test_names_taken_by_builtins_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="taken|already exists"):
        new_plugin(name, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_a_non_empty_folder(tmp_path):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty") as err:
        new_plugin("my-gan", dest)
    assert "\n" not in str(err.value)
    assert _files(dest) == {"keep.txt"} and (dest / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        new_plugin("my-gan", afile)


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    dest = new_plugin("my-gan", tmp_path / "empty")
    assert (dest / "pyproject.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_nothing_half_written(tmp_path, monkeypatch):
    import ganzoo.scaffold as scaffold

    calls = []
    real = scaffold._render

    def flaky(text, values, where):
        calls.append(where)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(text, values, where)

    monkeypatch.setattr(scaffold, "_render", flaky)
    with pytest.raises(OSError, match="disk full"):
        new_plugin("my-gan", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cli_new_plugin(tmp_path):
    run = lambda *args: run_cli(*args, cwd=tmp_path, timeout=TIMEOUT, GANZOO_PLUGINS_ALLOW="")  # noqa: E731
    r = run("new-plugin", "cli-gan")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ganzoo-cli-gan" / "ganzoo_cli_gan" / "model.py").is_file()
    assert "pip install -e ganzoo-cli-gan" in r.stdout
    assert "ganzoo list --variants" in r.stdout and "ganzoo train cli-gan --data ring8 --out" in r.stdout

    r = run("new-plugin", "cli-gan")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("ganzoo: error:") and "not empty" in r.stderr

    r = run("new-plugin", "Bad_Name", "elsewhere")
    assert r.returncode == 1 and "bad plugin name" in r.stderr and not (tmp_path / "elsewhere").exists()

    r = run("new-plugin", "--help")
    assert r.returncode == 0 and "Example" in r.stdout and "ganzoo new-plugin my-gan" in r.stdout
    assert "new-plugin" in run("--help").stdout


# -- a real install into a fresh virtual environment ------------------------------------------------
def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GANZOO_PLUGINS_", "PYTEST_", "PIP_", "VIRTUAL_ENV", "PYTHONHOME"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_NO_CACHE_DIR="1",
               PIP_CONFIG_FILE=os.devnull, PYTHONNOUSERSITE="1")
    env.update(extra)
    return env


def _run(cmd, *, cwd, env=None, check=True):
    return run_checked(cmd, cwd=cwd, env=env or _clean_env(), timeout=TIMEOUT, check=check)


def _venv_python(venv: Path) -> Path:
    for rel in ("bin/python", "Scripts/python.exe"):
        if (venv / rel).exists():
            return venv / rel
    raise AssertionError(f"no python in {venv}")


def _main_sees_probe() -> bool:
    from importlib import metadata

    return any(ep.name == PROBE for ep in metadata.entry_points(group="ganzoo"))


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A fresh venv with the generated ``scaffold-probe`` plugin pip-installed into it (only)."""
    assert not _main_sees_probe(), f"a plugin named {PROBE!r} is installed here already; uninstall it"
    root = tmp_path_factory.mktemp("fresh")
    plugin_dir = new_plugin(PROBE, root / f"ganzoo-{PROBE}")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    py = _venv_python(venv)
    # The parent environment's site-packages, processed as site dirs (so their .pth files -- the
    # editable ganzoo finder among them -- still work): torch is not installed a second time.
    parents = [d for d in site.getsitepackages() if os.path.isdir(d)]
    purelib = _run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root).stdout.strip()
    assert Path(purelib).resolve().is_relative_to(venv.resolve())
    (Path(purelib) / "_ganzoo_test_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in parents), encoding="utf-8")

    import ganzoo
    import torch

    probe = _run([py, "-c", "import sys, ganzoo, torch, setuptools; print(sys.prefix); print(ganzoo.__file__); "
                  "print(torch.__file__)"], cwd=root).stdout.splitlines()
    assert Path(probe[0]).resolve() == venv.resolve(), "not a separate environment"
    assert probe[1:] == [ganzoo.__file__, torch.__file__], "the fresh venv must use the ganzoo and torch under test"

    r = _run([py, "-m", "pip", "install", "--no-index", "--no-deps", "--no-build-isolation", plugin_dir], cwd=root)
    assert f"ganzoo-{PROBE}" in r.stdout
    return {"root": root, "venv": venv, "python": py, "plugin_dir": plugin_dir, "purelib": Path(purelib)}


@pytest.mark.slow
def test_installed_plugin_is_listed_builds_and_has_gradients(fresh_venv):
    root, py = fresh_venv["root"], fresh_venv["python"]

    # The plugin is in the fresh venv only, not in this one.
    assert not _main_sees_probe()
    from ganzoo.plugins import get_registry

    assert not get_registry().has("variant", PROBE)
    r = _run([sys.executable, "-m", "ganzoo.cli", "list", "--variants", "--json"], cwd=root)
    assert PROBE not in {v["name"] for v in json.loads(r.stdout)}

    # ganzoo list --variants / ganzoo plugins --json in the fresh venv.
    r = _run([py, "-m", "ganzoo.cli", "list", "--variants"], cwd=root)
    row = next((line.split() for line in r.stdout.splitlines() if line.split()[:1] == [PROBE]), None)
    assert row is not None, r.stdout
    assert row[1] == "gan" and row[3] == PROBE and "wgan-gp" in row[2]
    assert "warning" not in r.stderr, r.stderr
    variants = {v["name"]: v for v in json.loads(_run([py, "-m", "ganzoo.cli", "list", "--variants", "--json"],
                                                      cwd=root).stdout)}
    assert {"mlp", "dcgan", PROBE} <= set(variants)
    assert variants[PROBE]["plugin"] == PROBE and variants[PROBE]["kind"] == "gan"
    plugins = {p["name"]: p for p in json.loads(_run([py, "-m", "ganzoo.cli", "plugins", "--json"], cwd=root).stdout)}
    info = plugins[PROBE]
    assert (info["version"], info["source"], info["module"], info["error"]) == (
        "0.1.0", f"ganzoo-{PROBE}", f"{PROBE_PKG}.plugin", None)
    assert info["registered"] == {"variant": [PROBE], "objective": [f"{PROBE}-rsgan"]}

    # Build it and compute losses and gradients under two objectives, from the installed copy.
    script = root / "losses.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        import torch
        import ganzoo
        import {PROBE_PKG}.model as impl

        torch.manual_seed(0)
        out = {{"module": impl.__file__}}
        for objective in ("non-saturating", "wgan-gp"):
            model = ganzoo.create({PROBE!r}, objective)
            G, D = model.generator, model.discriminator
            assert type(G).__module__ == "{PROBE_PKG}.model", type(G)
            obj = ganzoo.objective(objective)
            real = torch.randn(32, *G.sample_shape)
            fake = G(G.sample_latent(32))
            d_loss, _ = obj.discriminator_step_loss(D, real, fake.detach())
            d_loss.backward()
            d_grads = [None if p.grad is None else p.grad.clone() for p in D.parameters()]
            assert all(p.grad is None for p in G.parameters()), "D's loss must not reach G"
            D.zero_grad()
            g_loss, _ = obj.generator_step_loss(D, fake)
            g_loss.backward()
            g_grads = [p.grad for p in G.parameters()]
            def ok(grads):
                return (all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
                        and sum(float(g.abs().sum()) for g in grads) > 0)
            out[objective] = {{"d_loss": float(d_loss), "g_loss": float(g_loss), "g_grads_ok": ok(g_grads),
                              "d_grads_ok": ok(d_grads), "d_norm": model.config["d_norm"],
                              "sample": list(model.sample(3, seed=0).shape)}}
        img = ganzoo.create({PROBE!r}, "hinge", sample_shape=[1, 8, 8], num_classes=10)
        out["image_sample"] = list(img.sample(4, seed=1, y=[0, 1, 2, 3]).shape)
        print(json.dumps(out))
    """), encoding="utf-8")
    got = json.loads(_run([py, str(script)], cwd=root).stdout.strip().splitlines()[-1])
    assert Path(got["module"]).resolve().is_relative_to(fresh_venv["purelib"].resolve()), got["module"]
    for objective in ("non-saturating", "wgan-gp"):
        res = got[objective]
        assert res["g_grads_ok"] and res["d_grads_ok"], res
        assert all(abs(res[k]) < 1e6 for k in ("d_loss", "g_loss")), res
        assert res["sample"] == [3, 2]
    assert got["wgan-gp"]["d_norm"] == "layer" and got["non-saturating"]["d_norm"] == "none"
    assert got["image_sample"] == [4, 1, 8, 8]

    # The generated package's own tests pass with that venv's pytest.
    r = _run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", fresh_venv["plugin_dir"] / "tests"], cwd=root)
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout


@pytest.mark.slow
def test_deny_and_allow_in_the_fresh_venv(fresh_venv):
    root, py = fresh_venv["root"], fresh_venv["python"]

    def variants(**env):
        r = _run([py, "-m", "ganzoo.cli", "list", "--variants", "--json"], cwd=root, env=_clean_env(**env))
        return {v["name"] for v in json.loads(r.stdout)}

    def plugin_names(**env):
        r = _run([py, "-m", "ganzoo.cli", "plugins", "--json"], cwd=root, env=_clean_env(**env))
        return {p["name"] for p in json.loads(r.stdout)}

    assert PROBE in variants()
    assert PROBE not in variants(GANZOO_PLUGINS_DENY=PROBE)
    assert PROBE not in plugin_names(GANZOO_PLUGINS_DENY=PROBE)
    assert PROBE not in variants(GANZOO_PLUGINS_DENY=f"other,ganzoo-{PROBE}")   # the distribution name works too
    assert PROBE not in variants(GANZOO_PLUGINS_ALLOW="")                         # no third-party plugin at all
    assert PROBE in variants(GANZOO_PLUGINS_ALLOW=PROBE)
    assert "mlp" in variants(GANZOO_PLUGINS_DENY=PROBE)                           # built-ins are unaffected
    r = _run([py, "-m", "ganzoo.cli", "info", PROBE, "--variant"], cwd=root,
             env=_clean_env(GANZOO_PLUGINS_DENY=PROBE), check=False)
    assert r.returncode == 1 and "unknown variant" in r.stderr


@pytest.mark.slow
def test_generated_plugin_trains_from_the_cli(fresh_venv):
    """`ganzoo train NAME ...` works for a freshly generated, pip-installed plugin, and the result
    loads and samples like any model folder."""
    root, py = fresh_venv["root"], fresh_venv["python"]
    out = root / "run"
    r = _run([py, "-m", "ganzoo.cli", "train", PROBE, "--objective", "hinge", "--data", "ring8", "--out", out,
              "--steps", "30", "--batch-size", "32", "--no-progress", "--log-every", "10"], cwd=root)
    assert "trained" in r.stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["variant"] == PROBE and cfg["objective"] == "hinge" and cfg["training"]["steps_done"] == 30
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("g_loss" in ln and ln["step"] == 30 for ln in lines)
    r = _run([py, "-m", "ganzoo.cli", "sample", out, "-n", "8", "-o", root / "s.npy"], cwd=root)
    import numpy as np

    assert np.load(root / "s.npy").shape == (8, 2)


SCRATCH_OBJECTIVE = '''
"""The template's objective rewritten from the guide's protocol table alone: no ganzoo base class."""
import torch.nn.functional as F


class RelativisticGAN:
    def __init__(self, margin: float = 0.0):
        self.margin = margin

    def d_loss_step(self, step):
        real, fake = step.scores()
        return F.softplus(self.margin - (real - fake)).mean(), {"d_real": real.detach(), "d_fake": fake.detach()}

    def after_discriminator_step(self, D):
        pass

    def g_loss_step(self, step):
        real, fake = step.scores()
        return F.softplus(real - fake).mean(), {"d_fake": fake.detach()}

    def report(self, scores):
        return scores
'''


@pytest.mark.parametrize("objective", ["template", "from the guide's protocol"])
def test_the_generated_tests_pass_for_an_objective_written_from_the_guide(tmp_path, objective):
    """The generated tests use the current protocol only: they pass for the template's objective and for one
    written from the guide's tables without ganzoo's base class (the 0.1 methods are not needed)."""
    import subprocess

    dest = new_plugin("guide-gan", tmp_path / "p")
    if objective != "template":
        (dest / "ganzoo_guide_gan" / "objective.py").write_text(SCRATCH_OBJECTIVE)
    info = tmp_path / "site" / "ganzoo_guide_gan-0.1.0.dist-info"   # installed, as far as the entry points go
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-guide-gan\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[ganzoo]\nguide-gan = ganzoo_guide_gan.plugin\n")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(dest), str(root)]),
               OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                        str(dest / "tests")], capture_output=True, text=True, env=env, cwd=dest, timeout=TIMEOUT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout
