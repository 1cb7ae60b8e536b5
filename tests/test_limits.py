"""Limits (ganzoo.limits): a config.json asking for a huge model is refused before it is built, from a
folder, a zoo entry or a Hub repo (tests/test_hub_limits.py); every built-in or plugin variant is priced
exactly on the meta device; a command asking for more output memory than the budget is refused before it
makes anything; files ganzoo writes follow the umask."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ganzoo
import reliability
from ganzoo import limits
from ganzoo.errors import ConfigError, TooLargeError
from ganzoo.plugins import get_registry
from helpers import cli, env as child_env

TINY = dict(g_hidden=[4], d_hidden=[4])

# ganzoo in a child process with at most 6 GB of address space (a build that escaped the budget dies of
# MemoryError instead of taking the machine), reporting its peak resident memory on stderr: VmHWM, the high-water
# mark of this program's own memory (ru_maxrss would not do: Linux keeps it across exec, so a child forked from
# a large test process would report the parent's size)
CHILD = r'''
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
from ganzoo.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    print(f"maxrss_kb={hwm}", file=sys.stderr)
'''


def run_limited(*args, **extra_env):
    p = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], capture_output=True, text=True,
                       timeout=600, env=child_env(**extra_env))
    rss = int(re.search(r"maxrss_kb=(\d+)", p.stderr).group(1)) * 1024
    err = "\n".join(ln for ln in p.stderr.splitlines() if not ln.startswith("maxrss_kb="))
    return p.returncode, err, rss


def edited(tmp_path, **config) -> Path:
    """A tiny mlp saved, then its config.json edited to ``config`` beside the same (tiny) weights."""
    folder = tmp_path / "m"
    ganzoo.create("mlp", **TINY).save(folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["config"].update(config)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def numel(model) -> int:
    return sum(t.numel() for t in model.state_dict().values())


# -- parameters -------------------------------------------------------------------------------------------
@pytest.mark.reliability("input")
def test_a_config_json_asking_for_a_huge_model_is_refused_before_it_is_built(tmp_path):
    """The issue's case: 984 bytes of weights beside a config.json that asks for g_hidden [20000, 20000]
    (400 million parameters, 1.6 GB). Refused in one line naming the file, the count and the limit, by a
    process that never grows past a few hundred MB."""
    folder = edited(tmp_path, g_hidden=[20000, 20000])
    code, err, rss = run_limited("sample", folder, "-n", "1", "-o", tmp_path / "s.npy")
    lines = [ln for ln in err.splitlines() if ln.startswith("ganzoo: error:")]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    reliability.refused("config.json (too large)", ConfigError(lines[0]), ConfigError,
                        rf"^ganzoo: error: {re.escape(str(folder / 'config.json'))}: variant 'mlp' with this config "
                        r"has 400,\d{3},\d{3} parameters, over the limit of 200,000,000; set GANZOO_MAX_PARAMETERS")
    assert rss < 1.2e9, f"the refused model was built anyway: peak {rss / 1e9:.2f} GB resident"
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.reliability("input")
@pytest.mark.parametrize("config,count", [
    (dict(g_hidden=[65536, 65536, 65536]), r"8,591,\d{3},\d{3}"),          # 34 GB: the issue's kernel kill
    (dict(sample_shape=[3, 512, 512], g_hidden=[4096]), r"\d{1,3}(,\d{3}){2,}"),  # 3.2 billion in one layer
])
def test_huge_configs_are_refused_in_process(tmp_path, config, count):
    folder = edited(tmp_path, **config)
    with reliability.refuses("config.json (too large)", TooLargeError,
                             rf"^{re.escape(str(folder / 'config.json'))}: variant 'mlp' with this config has {count} "
                             r"parameters, over the limit of 200,000,000"):
        ganzoo.load(folder)


@pytest.mark.reliability("input")
def test_a_runaway_build_is_stopped_on_the_meta_device():
    """dcgan with 65,536 convolutions per resolution: stopped on the meta device after 10,000 tensors."""
    with reliability.refuses("model config (too large)", TooLargeError,
                             r"^variant 'dcgan' with this config makes more than 10,000 tensors while being built; "
                             r"refusing it$"):
        ganzoo.create("dcgan", g_depth=65536)


def test_the_parameter_limit_is_an_environment_variable(tmp_path, monkeypatch):
    folder = edited(tmp_path)  # unchanged: 137 values in G, 45 in D
    model = ganzoo.load(folder)
    n = numel(model)
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", str(n))  # exactly at the limit: allowed
    assert numel(ganzoo.load(folder)) == n
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", str(n - 1))
    with pytest.raises(TooLargeError, match=rf"has {n} parameters, over the limit of {n - 1}; set GANZOO_MAX_PARAMETERS"):
        ganzoo.load(folder)
    with pytest.raises(TooLargeError, match="over the limit"):
        ganzoo.create("mlp")  # a typo in --set costs nothing either: ganzoo.create and training go through it
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "1_000_000_000")
    ganzoo.create("mlp", g_hidden=[20000])
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "lots")
    r = cli("sample", folder, "-n", "1", "-o", tmp_path / "s.npy")
    assert r.code == 1 and r.err == "ganzoo: error: GANZOO_MAX_PARAMETERS must be a whole number, not 'lots'\n"


def _configs(name):
    """A few configs of a variant: its defaults, images, class-conditional (where it builds)."""
    out = [{}, {"num_classes": 10}]
    shape = get_registry().variant(name).defaults.get("sample_shape")
    if isinstance(shape, list) and len(shape) == 3:
        out.append({"sample_shape": [3, 32, 32]})
    elif isinstance(shape, list):
        out.append({"sample_shape": [1, 28, 28]})
    return out


@pytest.mark.parametrize("name", get_registry().names("variant"))
def test_every_variant_is_priced_exactly_on_the_meta_device(name):
    """The meta device build (no memory) counts what the real build holds, for every variant a plugin
    registers -- the built-in ones and any added later, with no per-variant code."""
    spec = get_registry().variant(name)
    built = 0
    for extra in _configs(name):
        try:
            model = ganzoo.create(name, **extra)
        except ConfigError:
            continue  # a config this variant does not take
        cfg = dict(model.config)
        price = limits.price(ganzoo.registry.resolve(spec.build), cfg, what=name)
        assert price is not None, f"{name} {extra}: cannot be built on the meta device"
        assert price.parameters == numel(model), (name, extra)
        assert price.nbytes == {k: sum(t.numel() * t.element_size() for t in m.state_dict().values())
                                for k, m in model.components.items()}
        built += 1
    assert built


def test_a_build_that_needs_real_values_is_guarded_instead(monkeypatch):
    """A plugin whose build reads weights as numpy cannot run on the meta device: it is built for real
    under a guard that stops it once its allocations pass twice the limit."""
    from ganzoo_plugins.mlp.model import build as mlp_build

    def build(**cfg):
        out = mlp_build(**cfg)
        out["generator"].net[0].weight.detach().numpy()  # needs real memory
        return out

    cfg = dict(ganzoo.create("mlp").config)
    assert limits.price(build, cfg, what="x") is None
    assert numel(torch.nn.ModuleDict(limits.guarded(build, cfg, what="x"))) == numel(ganzoo.create("mlp"))
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "100000")
    with pytest.raises(TooLargeError, match=r"^variant 'bad' allocates more than 200,000 values while being built"):
        limits.guarded(build, dict(cfg, g_hidden=[4096, 4096]), what="variant 'bad'")


# -- output memory --------------------------------------------------------------------------------------------
@pytest.mark.reliability("input")
def test_the_issues_interpolation_is_refused_before_it_is_made(tmp_path):
    """ganzoo sample mnist-vae-2d --interpolate -n 100000 --steps 64: 20 GB asked for; one line saying how
    many walks fit, from a process that stays small (a build without the check dies under its 6 GB cap)."""
    out = tmp_path / "walks.npy"
    code, err, rss = run_limited("sample", "mnist-vae-2d", "--interpolate", "-n", "100000", "--steps", "64", "-o", out)
    lines = [ln for ln in err.splitlines() if ln.startswith("ganzoo: error:")]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    reliability.refused("sampling request", TooLargeError(lines[0]), TooLargeError,
                        r"^ganzoo: error: sample: 100,000 walks of 64 steps need 18\.7 GiB in memory "
                        r"\(6,400,000 x \[1, 28, 28\] values\), over the 2\.0 GiB budget; ask for fewer walks \(-n\) "
                        r"or fewer --steps \(up to 684,784 fit\), or raise GANZOO_MAX_OUTPUT_MEMORY$")
    assert rss < 1.2e9 and not out.exists()


@pytest.mark.reliability("input")
@pytest.mark.parametrize("args,what", [
    (["sample", "ring8-mlp-nonsat", "-n", "3000", "-o", "x.npy"], r"sample: 3,000 samples need 24,000 bytes"),
    (["sample", "mnist-cdcgan-hinge", "-n", "5", "-o", "x.npy"], r"sample: 10 samples need 31,360 bytes"),  # 1 of each class
    (["sample", "digits-vae", "--interpolate", "-n", "3", "--steps", "2", "-o", "x.png"], r"sample: 3 walks of 2 steps need"),
    (["traverse", "mnist-vae-2d", "--steps", "2", "-o", "x.png"], r"traverse: a 2x2 grid need"),
    (["reconstruct", "digits-ae", "--data", "digits", "-n", "4", "-o", "x.png"], r"reconstruct: 4 inputs and their "
                                                                                 r"reconstructions need"),
    (["eval", "ring8-mlp-nonsat", "--data", "ring8", "-n", "3000", "--metric", "modes"], r"eval: 3,000 samples need"),
])
def test_every_sampling_command_checks_its_output_first(tmp_path, monkeypatch, args, what):
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "20000")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / args[-1] if "-o" in args else None
    r = cli(*args)
    reliability.refused_cli("sampling request", r, rf"^ganzoo: error: {what} .*over the 20,000 bytes budget; ask for (fewer|a smaller)")
    assert out is None or not out.exists()
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "2M")  # the same request under a larger budget is made
    r = cli(*args)
    assert r.code == 0 and (out is None or out.is_file()), r.err


@pytest.mark.reliability("input")
def test_traverse_code_checks_its_grid_first(tmp_path, monkeypatch):
    """traverse --code K (an InfoGAN-style generator): rows x the code's values, priced before it is drawn."""
    ganzoo.create("infogan", sample_shape=[1, 8, 8], categories=[3], continuous=1, noise=2, g_hidden=8, g_width=4,
                  d_width=4, d_hidden=8, q_hidden=4).save(tmp_path / "info")
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "20000")
    r = cli("traverse", tmp_path / "info", "--code", "0", "--rows", "4", "-o", tmp_path / "t.png")
    reliability.refused_cli("sampling request", r, r"^ganzoo: error: traverse: 4 rows of 3 values need [\d,]+ bytes .*"
                                                   r"over the 20,000 bytes budget; ask for fewer --rows or --steps")
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "2M")
    assert cli("traverse", tmp_path / "info", "--code", "1", "--rows", "4", "--steps", "5", "-o", tmp_path / "t.png").code == 0


def test_check_output_memory_says_how_many_fit(monkeypatch):
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "1K")
    assert limits.check_output_memory(64, [4], what="x", advice="y") == 1024  # exactly the budget: allowed
    with pytest.raises(TooLargeError, match=r"^x need 4,112 bytes in memory \(257 x \[4\] values\), over the 1,024 bytes "
                                            r"budget; y \(up to 64 fit\), or raise GANZOO_MAX_OUTPUT_MEMORY$") as info:
        limits.check_output_memory(257, [4], what="x", advice="y")
    assert (info.value.need, info.value.limit) == (4112, 1024)
    for bad in ("2X", "-1", "0", "a lot"):
        monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", bad)
        with pytest.raises(ConfigError, match="^GANZOO_MAX_OUTPUT_MEMORY must be"):
            limits.max_output_bytes()
    monkeypatch.setenv("GANZOO_MAX_OUTPUT_MEMORY", "1.5G")
    assert limits.max_output_bytes() == 3 * 1024**3 // 2


# -- permissions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_every_file_ganzoo_writes_follows_the_umask(tmp_path, mask):
    """Weights (which safetensors writes 0600), configs, checkpoints, pictures, arrays: all 0666 less the umask."""
    old = os.umask(mask)
    try:
        out = tmp_path / "run"
        ganzoo.train("mlp", data="ring8", out=out, steps=2, batch_size=16, progress=False, checkpoint_every=1,
                     sample_every=1, **TINY)
        ganzoo.load(out).save(tmp_path / "copy")
        assert cli("sample", out, "-n", "4", "-o", tmp_path / "s.npy").code == 0
        assert cli("sample", out, "-n", "4", "-o", tmp_path / "s.png").code == 0
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"generator.safetensors", "config.json", "state.safetensors", "state.json", "metrics.jsonl",
            "samples.png", "s.npy", "s.png"} <= names, names
    wrong = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files
             if stat.S_IMODE(p.stat().st_mode) != 0o666 & ~mask}
    assert not wrong, f"not {oct(0o666 & ~mask)}: {wrong}"
    assert np.load(tmp_path / "s.npy").shape == (4, 2)
