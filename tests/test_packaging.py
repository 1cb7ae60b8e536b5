"""Packaging (issue 40): ganzoo as users install it, not as the editable checkout sees it.

The wheel and the sdist are built once per session from a copy of the repository's *tracked* files
(``git ls-files``; stray local files cannot leak in), with this environment's setuptools and no
network. The wheel must hold every tracked file under ``ganzoo/`` and ``plugins/`` (installed as
``ganzoo_plugins/``) and nothing else: a subpackage that package discovery misses, or a test,
maintainer tool or run folder that slips in, fails here. The sdist must build a wheel with the same
files. The wheel is then installed into a fresh virtualenv outside the checkout, whose only extra
is a ``.pth`` naming this environment's site-packages (torch and the dependencies, never a second
copy of them) as plain paths, so the checkout's editable finder is not activated there; and the
CLI and the API run from an empty folder with ``HF_HUB_OFFLINE=1`` and no ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import run_checked

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300
PLUGIN = "wheel-probe"                          # the plugin generated and installed into the fresh venv only
NOT_SHIPPED = ("tests", "tools", "benchmarks", "scripts", "runs", "docs")
slow = [pytest.mark.slow, pytest.mark.packaging]


# -- the check of a wheel's file list (pure: unit-tested below on made-up lists) -------------------
def expected_wheel_files(source_files) -> set[str]:
    """The wheel paths that the tracked source files ``source_files`` must give: ``ganzoo/...`` as
    is, ``plugins/...`` as ``ganzoo_plugins/...``; nothing from any other folder."""
    out = set()
    for path in source_files:
        top, _, rest = path.partition("/")
        if rest and "__pycache__" not in path.split("/"):
            if top == "ganzoo":
                out.add(path)
            elif top == "plugins":
                out.add(f"ganzoo_plugins/{rest}")
    return out


def wheel_problems(wheel_files, source_files) -> list[str]:
    """One line per problem with a wheel's file list (empty: the wheel is complete and clean)."""
    wheel_files = set(wheel_files)
    dist_info = {f for f in wheel_files if f.split("/")[0].endswith(".dist-info")}
    shipped = wheel_files - dist_info
    expected = expected_wheel_files(source_files)
    problems = [f"missing from the wheel: {f}" for f in sorted(expected - shipped)]
    for f in sorted(shipped - expected):
        top = f.split("/")[0]
        why = (f"{top}/ must not ship" if top in NOT_SHIPPED
               else "not a tracked file under ganzoo/ or plugins/")
        problems.append(f"in the wheel but {why}: {f}")
    tops = {f.split("/")[0] for f in dist_info}
    if len(tops) != 1 or not {f"{t}/{n}" for t in tops for n in ("METADATA", "RECORD", "entry_points.txt")} <= dist_info:
        problems.append(f"expected one dist-info folder with METADATA, RECORD and entry_points.txt, got {sorted(dist_info)}")
    return problems


def test_wheel_check_catches_a_missing_subpackage_and_stray_files():
    source = ["ganzoo/__init__.py", "ganzoo/training/__init__.py", "ganzoo/training/steps.py",
              "ganzoo/templates/plugin/tests/test_{{module}}.py.tmpl", "plugins/__init__.py",
              "plugins/resnet/__init__.py", "plugins/zoo/registry.yaml", "plugins/zoo/models/m/README.md",
              "tests/test_x.py", "tools/build_zoo.py", "README.md", "pyproject.toml"]
    meta = ["ganzoo-1.0.dist-info/METADATA", "ganzoo-1.0.dist-info/RECORD", "ganzoo-1.0.dist-info/entry_points.txt"]
    good = ["ganzoo/__init__.py", "ganzoo/training/__init__.py", "ganzoo/training/steps.py",
            "ganzoo/templates/plugin/tests/test_{{module}}.py.tmpl", "ganzoo_plugins/__init__.py",
            "ganzoo_plugins/resnet/__init__.py", "ganzoo_plugins/zoo/registry.yaml",
            "ganzoo_plugins/zoo/models/m/README.md"] + meta
    assert wheel_problems(good, source) == []

    no_training = [f for f in good if not f.startswith("ganzoo/training/")]
    assert wheel_problems(no_training, source) == ["missing from the wheel: ganzoo/training/__init__.py",
                                                   "missing from the wheel: ganzoo/training/steps.py"]
    no_plugin = [f for f in good if "resnet" not in f]
    assert wheel_problems(no_plugin, source) == ["missing from the wheel: ganzoo_plugins/resnet/__init__.py"]
    no_card = [f for f in good if not f.endswith("m/README.md")]
    assert wheel_problems(no_card, source) == ["missing from the wheel: ganzoo_plugins/zoo/models/m/README.md"]
    # the plugins folder under its source name instead of its package name
    misnamed = [f.replace("ganzoo_plugins/", "plugins/") for f in good]
    assert any("missing from the wheel: ganzoo_plugins/zoo/registry.yaml" == p for p in wheel_problems(misnamed, source))

    leaky = good + ["tests/test_x.py", "tools/build_zoo.py", "runs/r/config.json", "ganzoo/notes.txt"]
    assert wheel_problems(leaky, source) == [
        "in the wheel but not a tracked file under ganzoo/ or plugins/: ganzoo/notes.txt",
        "in the wheel but runs/ must not ship: runs/r/config.json",
        "in the wheel but tests/ must not ship: tests/test_x.py",
        "in the wheel but tools/ must not ship: tools/build_zoo.py"]
    assert wheel_problems(good[:-3], source) and "dist-info" in wheel_problems(good[:-3], source)[0]


# -- building ---------------------------------------------------------------------------------------
def _env(**extra) -> dict:
    """This environment without anything that would make the fresh venv see the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GANZOO_", "PYTEST_", "PIP_", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "HF_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_NO_CACHE_DIR="1",
               PIP_CONFIG_FILE=os.devnull, PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _run(cmd, *, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    return run_checked(cmd, cwd=cwd, env=env or _env(), timeout=TIMEOUT, check=check)


def _tracked_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the packaging test builds from the tracked files (git ls-files)")
    r = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout (git ls-files: {r.stderr.strip()[:200]}); "
                    "the packaging test builds from the tracked files")
    return [f for f in r.stdout.split("\0") if f]


# The PEP 517 hooks of setuptools, called in this environment (as `python -m build --no-isolation`).
_BUILD = ("import sys, setuptools.build_meta as b; out = sys.argv[2]; "
          "names = [b.build_sdist(out) if k == 'sdist' else b.build_wheel(out) for k in sys.argv[1].split(',')]; "
          "print('built:', *names)")


def _build(src: Path, out: Path, kinds: str) -> list[Path]:
    log = _run([sys.executable, "-c", _BUILD, kinds, out], cwd=src).stdout.splitlines()
    return [out / n for n in log[-1].split()[1:]]


def _wheel_record(wheel: Path) -> dict[str, str]:
    """path -> sha256 digest from the wheel's RECORD (the RECORD's own line has none)."""
    with zipfile.ZipFile(wheel) as z:
        record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        rows = [line.split(",") for line in z.read(record).decode().splitlines() if line]
        assert sorted(z.namelist()) == sorted(r[0] for r in rows), "RECORD does not list the wheel's files"
    return {r[0]: r[1] for r in rows}


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    assert major >= 77, (f"setuptools {setuptools.__version__} is too old to build ganzoo; "
                         "pip install 'setuptools>=77' (the [test] extra has it)")
    tracked = _tracked_files()
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    for rel in tracked:
        path = ROOT / rel
        if not path.exists() and not path.is_symlink():   # deleted in the work tree, not yet committed
            continue
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest, follow_symlinks=False)
    sdist, wheel = _build(src, tmp / "dist", "sdist,wheel")
    unpacked = tmp / "from-sdist"
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, filter="data")
    (sdist_root,) = unpacked.iterdir()
    (wheel2,) = _build(sdist_root, tmp / "dist2", "wheel")
    return {"tmp": tmp, "tracked": tracked, "sdist": sdist, "wheel": wheel, "wheel_from_sdist": wheel2}


@pytest.mark.slow
@pytest.mark.packaging
def test_wheel_holds_every_module_and_data_file_and_nothing_else(dists):
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = z.namelist()
    problems = wheel_problems(names, dists["tracked"])
    assert not problems, "the wheel does not match the source tree:\n" + "\n".join(problems)
    # the checks above by name, for the parts that matter most
    assert "ganzoo/commands/__init__.py" in names and "ganzoo/cli.py" in names
    assert "ganzoo_plugins/zoo/registry.yaml" in names
    zoo = [f for f in dists["tracked"] if f.startswith("plugins/zoo/models/")]
    assert len(zoo) >= 4 * 20 and all(f"ganzoo_plugins/{f[len('plugins/'):]}" in names for f in zoo)
    assert {"ganzoo/metrics/judges/mnist.safetensors", "ganzoo/templates/plugin/pyproject.toml.tmpl"} <= set(names)
    assert not any(n.split("/")[0] in NOT_SHIPPED for n in names)


@pytest.mark.slow
@pytest.mark.packaging
def test_sdist_builds_the_same_wheel(dists):
    with tarfile.open(dists["sdist"]) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}
    assert {"pyproject.toml", "setup.py", "README.md", "PKG-INFO", "ganzoo/cli.py",
            "plugins/zoo/registry.yaml"} <= members
    a, b = _wheel_record(dists["wheel"]), _wheel_record(dists["wheel_from_sdist"])
    assert dists["wheel"].name == dists["wheel_from_sdist"].name
    assert sorted(a) == sorted(b), f"only in one: {sorted(set(a) ^ set(b))}"
    assert {k: v for k, v in a.items() if not k.endswith("/RECORD")} == \
           {k: v for k, v in b.items() if not k.endswith("/RECORD")}, "same names, different contents"


# -- installing and running -----------------------------------------------------------------------
def _parent_site_dirs() -> list[str]:
    """This environment's site-packages (torch and the dependencies; also where it lies inside the
    checkout, as ``.venv/`` does). Listed as plain paths, their .pth files (the checkout's editable
    finder) never run, and the fresh venv's own site-packages comes first, so the wheel's ganzoo and
    its metadata win; the tests below check that ganzoo imports from the venv."""
    out = []
    for entry in sys.path:
        p = Path(entry or ".").resolve()
        if p.name in ("site-packages", "dist-packages") and p.is_dir():
            out.append(str(p))
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def venv(dists):
    tmp = dists["tmp"]
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    py = next(p for p in (venv / "bin" / "python", venv / "Scripts" / "python.exe") if p.exists())
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp).stdout.strip())
    assert purelib.resolve().is_relative_to(venv.resolve())
    # Plain path lines, not site.addsitedir: the .pth files there (the checkout's editable finder)
    # must not run in this venv. The venv's own site-packages stays first on sys.path.
    (purelib / "_ganzoo_packaging_test_deps.pth").write_text("".join(f"{d}\n" for d in _parent_site_dirs()),
                                                               encoding="utf-8")
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", dists["wheel"]], cwd=tmp)
    bindir = py.parent
    ganzoo_exe = next(p for p in (bindir / "ganzoo", bindir / "ganzoo.exe") if p.exists())
    empty = tmp / "empty"
    empty.mkdir()
    env = _env(HF_HUB_OFFLINE="1", HF_HOME=str(tmp / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               PATH=os.pathsep.join([str(bindir), os.environ.get("PATH", "")]))
    return {"python": py, "ganzoo": ganzoo_exe, "purelib": purelib, "cwd": empty, "env": env, "venv": venv}


@pytest.mark.slow
@pytest.mark.packaging
def test_installed_wheel_runs_outside_the_checkout(venv, dists):
    from PIL import Image

    import ganzoo as checkout_ganzoo

    cwd, env, py = venv["cwd"], venv["env"], venv["python"]
    assert not any(cwd.iterdir()), "the folder the commands run in must start empty"

    def ganzoo(*args):
        return _run([venv["ganzoo"], *args], cwd=cwd, env=env)

    # One version, from ganzoo/__init__.py: `ganzoo --version`, the installed metadata, __version__.
    version = checkout_ganzoo.__version__
    assert ganzoo("--version").stdout.strip() == f"ganzoo {version}"
    assert dists["wheel"].name.startswith(f"ganzoo-{version}-")

    names = [line.split()[0] for line in ganzoo("list").stdout.splitlines()[1:] if line.strip()]
    assert {"mnist-cdcgan-hinge", "ring8-mlp-nonsat", "mnist-vae-16d"} <= set(names), names

    ganzoo("sample", "mnist-cdcgan-hinge", "--label", "3", "-n", "16", "-o", "x.png")
    with Image.open(cwd / "x.png") as im:
        im.load()
        assert im.width >= 4 * 28 and im.height >= 28

    r = ganzoo("train", "mlp", "--data", "ring8", "--steps", "20", "--out", "run", "--no-progress")
    assert (cwd / "run" / "config.json").is_file() and (cwd / "run" / "generator.safetensors").is_file()
    assert json.loads((cwd / "run" / "config.json").read_text())["training"]["steps_done"] == 20, r.stdout

    # A generated plugin, pip-installed into the same venv, trains from the installed CLI.
    ganzoo("new-plugin", PLUGIN, "probe-src")
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation", cwd / "probe-src"],
         cwd=cwd, env=env)
    ganzoo("train", PLUGIN, "--objective", "hinge", "--data", "ring8", "--steps", "10", "--batch-size", "32",
           "--out", "probe-run", "--no-progress")
    assert json.loads((cwd / "probe-run" / "config.json").read_text())["variant"] == PLUGIN

    code = ("import json, sys, importlib.metadata as md, ganzoo, ganzoo_plugins\n"
            "from ganzoo.card import render_card\n"
            "from ganzoo.model import read_config\n"
            "out = {'ganzoo': ganzoo.__file__, 'plugins': ganzoo_plugins.__file__, 'version': ganzoo.__version__,\n"
            "       'metadata': md.version('ganzoo'), 'prefix': sys.prefix}\n"
            "out['zoo'] = list(ganzoo.load('ring8-mlp-nonsat').sample(4).shape)\n"
            f"out['plugin'] = list(ganzoo.load('probe-run').sample(4).shape)\n"
            "out['card'] = render_card(read_config('run'), repo_id='org/run')\n"
            "out['config_version'] = read_config('run')['ganzoo_version']\n"
            "print(json.dumps(out))\n")
    got = json.loads(_run([py, "-c", code], cwd=cwd, env=env).stdout.strip().splitlines()[-1])
    purelib = venv["purelib"].resolve()
    for key in ("ganzoo", "plugins"):
        where = Path(got[key]).resolve()
        assert where.is_relative_to(purelib) and not where.is_relative_to(ROOT), f"{key} imported from {where}"
    assert Path(got["prefix"]).resolve() == venv["venv"].resolve()
    assert got["version"] == got["metadata"] == got["config_version"] == version
    assert f"- ganzoo version: {version} " in got["card"]
    assert got["zoo"] == [4, 2] and got["plugin"] == [4, 2]


# -- the README's commands, as a user copies them ---------------------------------------------------
# What the README shows that this test does not run, and why (each is covered elsewhere):
README_SKIPS = (
    ("bash scripts/", "needs a clone of the repository (the README says so)"),
    ("pip install ganzoo-", "the wheel under test is installed already"),
    ('pip install "', "the wheel under test is installed already"),
    ('pip install "./', "the wheel under test is installed already"),
    ("torchrun ", "data parallelism: tests/test_train_ddp.py"),
    ("ganzoo push ", "the Hub: tests/test_hub.py"),
    ("ganzoo pull ", "the Hub: tests/test_hub.py"),
    ("hf://", "the Hub: tests/test_hub.py"),
)
STEPS_CAP = 20   # every --steps / --epochs / steps= is cut to this (a --resume to twice it): the commands, not the runs


def readme_commands(text: str) -> list[tuple[str, str]]:
    """The README's code blocks as (language, code): each line of a ```bash block (its trailing comment
    dropped), each ```python block whole."""
    import re

    out = []
    for lang, body in re.findall(r"```(bash|python)\n(.*?)```", text, re.S):
        if lang == "python":
            out.append(("python", body))
            continue
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(("bash", line))
    return out


def as_run(lang: str, code: str, mnist: Path | None):
    """``code`` as this test runs it (None: skipped): runs cut to STEPS_CAP steps, MNIST where it is here."""
    import re

    if any(code.startswith(s) or (s == "hf://" and lang == "bash" and s in code) for s, _ in README_SKIPS):
        return None
    if "../shared/data/mnist" in code:
        if mnist is None:
            return None
        code = code.replace("../shared/data/mnist", str(mnist))
    resume = "--resume" in code
    code = re.sub(r"--steps \d+", f"--steps {STEPS_CAP * (2 if resume else 1)}", code)
    code = re.sub(r"--epochs [\d.]+", f"--steps {STEPS_CAP}", code)
    code = re.sub(r"\bsteps=\d+", f"steps={STEPS_CAP}", code)
    if lang == "bash" and code.startswith("pip install -e "):   # offline, into the venv under test
        code = "python -m pip install --no-deps --no-index --no-build-isolation -e " + code[len("pip install -e "):]
    return code


def test_readme_command_extraction_and_rewriting():
    text = ("```bash\nbash scripts/test.sh   # tests\nganzoo train mlp --data ring8 --out r --steps 5000\n"
            "ganzoo train --resume --out r --steps 10000\n```\n\n```python\nimport ganzoo\n"
            "ganzoo.train('mlp', data='ring8', out='p', steps=2000)\n```\n"
            "```bash\nganzoo eval m --data mnist:../shared/data/mnist  # held out\n```\n")
    cmds = readme_commands(text)
    assert [c for _, c in cmds] == ["bash scripts/test.sh", "ganzoo train mlp --data ring8 --out r --steps 5000",
                                    "ganzoo train --resume --out r --steps 10000",
                                    "import ganzoo\nganzoo.train('mlp', data='ring8', out='p', steps=2000)\n",
                                    "ganzoo eval m --data mnist:../shared/data/mnist"]
    runs = [as_run(lang, c, Path("/data/m")) for lang, c in cmds]
    assert runs == [None, "ganzoo train mlp --data ring8 --out r --steps 20", "ganzoo train --resume --out r --steps 40",
                    "import ganzoo\nganzoo.train('mlp', data='ring8', out='p', steps=20)\n",
                    "ganzoo eval m --data mnist:/data/m"]
    assert as_run("bash", "ganzoo eval m --data mnist:../shared/data/mnist", None) is None


@pytest.mark.slow
@pytest.mark.packaging
def test_the_readmes_commands_run_from_an_empty_folder_against_the_wheel(venv, tmp_path):
    """Every command the README shows (bar README_SKIPS), in order, from an empty folder, with the installed
    wheel's ganzoo on PATH: each exits 0 and prints no traceback."""
    from conftest import MNIST_DIR

    mnist = MNIST_DIR if (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file() else None
    cwd = tmp_path / "user"
    cwd.mkdir()
    env = dict(venv["env"])
    ran, skipped = [], []
    for lang, code in readme_commands((ROOT / "README.md").read_text(encoding="utf-8")):
        cmd = as_run(lang, code, mnist)
        if cmd is None:
            skipped.append(code)
            continue
        argv = [str(venv["python"]), "-c", cmd] if lang == "python" else ["bash", "-c", cmd]
        r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0 and "Traceback" not in r.stderr, f"$ {cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        ran.append(cmd)
    assert len(ran) >= 20, (ran, skipped)
    assert any(c.startswith("ganzoo train") for c in ran) and any(c.startswith("ganzoo new-plugin") for c in ran)
