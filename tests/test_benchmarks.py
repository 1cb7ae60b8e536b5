"""The benchmark scripts run (``--smoke``) and write their sections of BENCHMARKS.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script, out, *extra):
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--output", str(out), *extra],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.slow
def test_benchmarks_smoke_write_both_sections(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# kept\n\nhand-written text that must survive\n", encoding="utf-8")
    _run("speed.py", out, "--no-ddp")
    _run("quality.py", out)
    text = out.read_text(encoding="utf-8")
    assert "hand-written text that must survive" in text
    for name in ("speed", "quality"):
        assert text.count(f"<!-- {name}:begin -->") == 1 and text.count(f"<!-- {name}:end -->") == 1
    speed = text.split("<!-- speed:begin -->")[1].split("<!-- speed:end -->")[0]
    quality = text.split("<!-- quality:begin -->")[1].split("<!-- quality:end -->")[0]
    assert "python benchmarks/speed.py --smoke" in speed and "python benchmarks/quality.py --smoke" in quality
    for section in (speed, quality):
        assert "Smoke run" in section and "torch " in section and "ganzoo " in section and "load average" in section
    for heading in ("Training throughput", "CLI start-up", "Load by name", "How cost grows"):
        assert heading in speed
    ratios = [float(x) for x in re.findall(r"\| (\d+\.\d+)x \|", speed)]
    assert len(ratios) >= 8 and all(r > 0 for r in ratios)
    assert "| reference |" in speed and "| ganzoo |" in speed
    assert "ganzoo mlp / non-saturating" in quality and "PacGAN2 (published)" in quality

    # re-running one script replaces only its own section
    _run("quality.py", out, "--set", "steps=5", "--set", "mixture=4", "--set", "clusters=4", "--objectives", "hinge")
    again = out.read_text(encoding="utf-8")
    assert again.count("<!-- quality:begin -->") == 1
    assert again.split("<!-- speed:begin -->")[1].split("<!-- speed:end -->")[0] == speed
    assert '"steps": 5' in again and '"mixture": 4' in again and "ganzoo mlp / hinge" in again
    assert '"clusters": 4' in again                 # self-conditioned on 4 k-means clusters


@pytest.mark.slow
def test_speed_rows_write_their_own_section_with_the_stylegan_row(tmp_path):
    """``--rows stylegan``: only the StyleGAN2-lite row (engine beside benchmarks/reference_stylegan.py's loop, the
    same parameter counts and the same first step), in section speed-stylegan; the main speed section is kept."""
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("<!-- speed:begin -->\nkept\n<!-- speed:end -->\n", encoding="utf-8")
    _run("speed.py", out, "--only", "train", "--rows", "stylegan")
    text = out.read_text(encoding="utf-8")
    assert "<!-- speed:begin -->\nkept\n<!-- speed:end -->" in text
    rows = text.split("<!-- speed-stylegan:begin -->")[1].split("<!-- speed-stylegan:end -->")[0]
    assert "--rows stylegan" in rows and "DCGAN 3x" not in rows and "| MLP GAN" not in rows
    assert re.search(r"\| StyleGAN2-lite 1x8x8 [^|]*\| reference \| [\d.,]+ \| 1\.00x \|", rows)
    assert re.search(r"\| StyleGAN2-lite 1x8x8 [^|]*\| ganzoo \| [\d.,]+ \| \d+\.\d+x \|", rows)
    check = re.search(r"\| StyleGAN2-lite 1x8x8 [^|]*\| [\d,]+ / [\d,]+ \| (\w+) \| ([\d.e+-]+) / ([\d.e+-]+) \|", rows)
    assert check and check.group(1) == "same" and max(float(check.group(2)), float(check.group(3))) < 1e-4


@pytest.mark.slow
def test_mnist_peer_smoke_scores_the_peer_and_the_zoo(tmp_path, mnist_dir):
    out = tmp_path / "BENCHMARKS.md"
    _run("mnist_peer.py", out, "--mnist", str(mnist_dir))
    section = out.read_text(encoding="utf-8").split("<!-- mnist-peer:begin -->")[1].split("<!-- mnist-peer:end -->")[0]
    assert "Smoke run" in section and "python benchmarks/mnist_peer.py --smoke" in section
    rows = [r for r in section.splitlines() if r.startswith("| classic MLP GAN") or "(zoo)" in r]
    assert len(rows) == 4, section
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        kl, ratio = float(cells[2].split()[0]), float(cells[3].split()[0])
        assert 0 <= kl <= 2.31 and ratio > 0         # KL to uniform over 10 classes is at most ln 10


def test_mnist_peer_without_data_says_so(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mnist_peer.py"), "--smoke", "--mnist",
                          str(tmp_path / "absent"), "--output", str(tmp_path / "B.md")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 2 and "no MNIST folder" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "B.md").exists()


def test_conditional_smoke_writes_its_section_beside_the_baseline(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# kept\n", encoding="utf-8")
    _run("conditional.py", out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# kept") and text.count("<!-- conditional:begin -->") == 1
    section = text.split("<!-- conditional:begin -->")[1].split("<!-- conditional:end -->")[0]
    assert "Smoke run" in section and "python benchmarks/conditional.py --smoke" in section
    assert "**ganzoo dcgan**" in section and "**ganzoo mlp**" in section and "PyTorch-GAN cgan.py" in section
    accuracies = [float(x) for x in re.findall(r"\| (\d+\.\d)% \|", section)]
    assert len(accuracies) == 4 and all(0 <= a <= 100 for a in accuracies)  # the conditional rows are scored
    # --only: the named model's rows are re-measured in place, the other rows kept, and a line says so
    rows = [ln for ln in section.splitlines() if ln.startswith("| ")]
    _run("conditional.py", out, "--only", "mlp")
    again = out.read_text(encoding="utf-8").split("<!-- conditional:begin -->")[1].split("<!-- conditional:end -->")[0]
    new_rows = [ln for ln in again.splitlines() if ln.startswith("| ")]
    assert [r.split(" | ")[0] for r in new_rows] == [r.split(" | ")[0] for r in rows]  # same rows, same order
    assert [r for r in new_rows if "mlp" not in r] == [r for r in rows if "mlp" not in r]
    assert again.count("- re-measured (rows: mlp): ") == 1 and "--only mlp" in again
