"""The command line: fast listing without torch, one-line errors, sample outputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ganzoo

PROBE = """
import sys
from ganzoo.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
else:
    code = 0
heavy = sorted(m for m in ("torch", "huggingface_hub", "safetensors", "numpy") if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def run(*args, env=None):
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "--variants"], ["list", "--objectives"],
                                  ["list", "--json"], ["plugins"], ["info", "mlp"]])
def test_listing_never_imports_torch(args):
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert "HEAVY=\n" in out.stderr or out.stderr.rstrip().endswith("HEAVY="), out.stderr


def test_list_json_is_stable():
    out = run("list", "--variants", "--json")
    data = json.loads(out.stdout)
    mlp = next(v for v in data if v["name"] == "mlp")
    assert set(mlp) == {"name", "kind", "objectives", "default_objective", "config", "summary", "plugin"}
    assert "wgan-gp" in mlp["objectives"]
    models = json.loads(run("list", "--json").stdout)
    for m in models:
        assert {"name", "variant", "objective", "dataset", "metrics", "weights_from"} <= set(m)


def test_errors_are_one_line_with_nonzero_exit(tmp_path):
    out = run("sample", "no-such-model", "-o", str(tmp_path / "x.png"))
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if not ln.startswith("HEAVY=")]
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: unknown model 'no-such-model'")
    assert "Traceback" not in out.stderr
    out = run("--debug", "sample", "no-such-model", "-o", str(tmp_path / "x.png"))
    assert out.returncode != 0 and "Traceback" in out.stderr
    out = run("lst")
    assert out.returncode == 2 and "did you mean 'list'" in out.stderr
    out = run("info", "mpl")
    assert out.returncode == 1 and "did you mean" in out.stderr


def _save_tiny(folder, variant="dcgan", **kw):
    m = ganzoo.create(variant, **kw)
    m.save(folder)
    return m


def test_sample_png_and_npy_from_a_folder(tmp_path):
    m = _save_tiny(tmp_path / "img", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4)
    png, npy = tmp_path / "g.png", tmp_path / "g.npy"
    assert run("sample", str(tmp_path / "img"), "-n", "9", "-o", str(png), "--seed", "4").returncode == 0
    assert Image.open(png).size[0] > 8
    assert run("sample", str(tmp_path / "img"), "-n", "9", "-o", str(npy), "--seed", "4").returncode == 0
    arr = np.load(npy)
    assert arr.shape == (9, 1, 8, 8) and arr.dtype == np.float32
    assert arr.min() >= 0 and arr.max() <= 1
    m.eval()
    want = ((m.sample(9, seed=4) + 1) / 2).clamp(0, 1).numpy()
    np.testing.assert_allclose(arr, want, atol=1e-6)


def test_sample_vectors_and_bad_outputs(tmp_path):
    _save_tiny(tmp_path / "vec", "mlp", g_hidden=[8], d_hidden=[8])
    npy = tmp_path / "v.npy"
    assert run("sample", str(tmp_path / "vec"), "-n", "5", "-o", str(npy)).returncode == 0
    assert np.load(npy).shape == (5, 2)
    assert run("sample", str(tmp_path / "vec"), "-n", "50", "-o", str(tmp_path / "v.png")).returncode == 0
    bad = run("sample", str(tmp_path / "vec"), "-o", str(tmp_path / "v.jpg"))
    assert bad.returncode == 1 and "must end in .png or .npy" in bad.stderr
    bad = run("sample", str(tmp_path / "vec"), "-o", str(tmp_path / "nowhere" / "v.npy"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    assert not (tmp_path / "nowhere").exists()


def test_conditional_sampling_needs_a_label(tmp_path):
    _save_tiny(tmp_path / "c", sample_shape=[1, 8, 8], g_width=4, d_width=4, num_classes=10)
    out = run("sample", str(tmp_path / "c"), "-o", str(tmp_path / "c.npy"))
    assert out.returncode == 1 and "pass --label" in out.stderr
    out = run("sample", str(tmp_path / "c"), "-o", str(tmp_path / "c.npy"), "--label", "7", "-n", "3")
    assert out.returncode == 0 and np.load(tmp_path / "c.npy").shape == (3, 1, 8, 8)
