"""Paths users take that had no test beyond an exit code: the CLI push/pull round trip (with --revision
and --private) against the test Hub, pulling a zoo name, ``folder:`` training on valid PNG/JPEG files,
resuming past a corrupt newest checkpoint, and what ``traverse``, ``reconstruct`` and ``sample --label``
actually draw."""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
import reliability
from ganzoo.data import load_dataset
from ganzoo.fsutil import sha256_file
from ganzoo.training import checkpoint as ckpt
from helpers import cli


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _mlp_folder(tmp_path, name, seed):
    torch.manual_seed(seed)
    m = ganzoo.create("mlp", "non-saturating", dataset="ring8", g_hidden=[16], d_hidden=[16])
    m.save(tmp_path / name)
    return m, tmp_path / name


# -- the Hub through the CLI --------------------------------------------------------------------------------
@pytest.mark.reliability("input")
def test_cli_push_and_pull_round_trip_with_revision_and_private(hub, tmp_path, monkeypatch):
    m1, f1 = _mlp_folder(tmp_path, "v1", 1)
    m2, f2 = _mlp_folder(tmp_path, "v2", 2)
    repo = f"org/cli-{os.getpid()}-{len(hub.repos)}"
    monkeypatch.setenv("HF_TOKEN", hub.token)
    r = cli("push", f1, repo, "--private", "-m", "first")
    assert r.code == 0, r.err
    sha1 = re.fullmatch(rf"pushed {re.escape(str(f1))} to hf://{repo}@([0-9a-f]{{40}})\n", r.out).group(1)
    r = cli("push", f2, repo, "--revision", "dev", "-m", "second")
    assert r.code == 0, r.err
    sha2 = re.fullmatch(rf"pushed .* to hf://{repo}@([0-9a-f]{{40}}) \(branch dev\)\n", r.out).group(1)
    remote = hub.repos[repo]
    assert remote.private and remote.branches["main"] == sha1 and remote.branches["dev"] == sha2
    assert remote.commits[sha2]["message"] == "second"

    pulled = {}
    for args, want_sha in ((["pull", f"hf://{repo}"], sha1), (["pull", f"hf://{repo}", "--revision", "dev"], sha2),
                           (["pull", f"hf://{repo}@{sha1}"], sha1)):
        r = cli(*args)
        assert r.code == 0, r.err
        folder = Path(r.out.strip().splitlines()[-1])
        assert folder.name == want_sha
        pulled[want_sha] = ganzoo.load(folder)
    assert same_state(pulled[sha1].generator, m1.generator) and same_state(pulled[sha1].discriminator, m1.discriminator)
    assert same_state(pulled[sha2].generator, m2.generator) and same_state(pulled[sha2].discriminator, m2.discriminator)
    reliability.check_hf_cache(os.environ["HF_HUB_CACHE"])

    reliability.refused_cli("Hub revision", cli("pull", f"hf://{repo}@dev", "--revision", "main"),
                            rf"^ganzoo: error: hf://{repo}@dev already names revision 'dev'; drop --revision$")
    reliability.refused_cli("Hub revision", cli("pull", f"hf://{repo}", "--revision", "nope"),
                            rf"^ganzoo: error: hf://{repo}@nope: revision 'nope' not found in {repo}")
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "other-cache"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "other-cache"))
    reliability.refused_cli("Hub repo (private, no token)", cli("pull", f"hf://{repo}"),
                            rf"^ganzoo: error: hf://{repo}: .*not found.*HF_TOKEN")


@pytest.mark.reliability("input")
def test_pull_a_zoo_name_fetches_the_pinned_files(hub, tmp_path):
    from ganzoo.plugins import get_registry

    name = "ring8-mlp-nonsat"
    src = get_registry().model(name).source
    bundled = Path(src["path"])
    files = {f: (bundled / f).read_bytes() for f in src["files"]}
    hub.add_files(src["repo"], files)
    r = cli("pull", name)
    assert r.code == 0, r.err
    folder = Path(r.out.strip().splitlines()[-1])
    assert folder != bundled and Path(os.environ["HF_HUB_CACHE"]) in folder.parents  # the Hub copy, not the bundled
    for f, pin in src["files"].items():
        assert sha256_file(folder / f) == pin
    assert any(p.endswith(f"/{src['repo']}/resolve/main/generator.safetensors") or "generator.safetensors" in p
               for meth, p in hub.requests if meth == "GET")
    assert same_state(ganzoo.load(folder).generator, ganzoo.load(bundled).generator)
    reliability.refused_cli("zoo name with --revision", cli("pull", name, "--revision", "dev"),
                            rf"^ganzoo: error: {name} is a zoo model pinned to one revision; drop --revision$")
    # a Hub copy that differs from the pins is refused, naming the file
    data = bytearray(files["generator.safetensors"])
    data[-1] ^= 1
    hub.add_files(src["repo"], {"generator.safetensors": bytes(data)})
    from huggingface_hub import constants

    cache2 = str(Path(os.environ["HF_HUB_CACHE"]).parent / "cache-2")
    os.environ["HF_HUB_CACHE"] = cache2  # (the hub fixture restores it)
    constants.HF_HUB_CACHE = cache2
    reliability.refused_cli("zoo download not matching its pin", cli("pull", name),
                            r"^ganzoo: error: .*generator\.safetensors has sha256 [0-9a-f]+.*registry pins 52a21947")


# -- folder: training on valid images --------------------------------------------------------------------------
def _image(path: Path, w: int, h: int, mode: str, fmt: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    im = Image.fromarray(arr, "RGB")
    im = im.convert(mode) if mode != "RGB" else im
    im.save(path, format=fmt)


@pytest.mark.slow
def test_folder_training_on_png_and_jpeg_of_mixed_sizes_and_modes(tmp_path):
    data = tmp_path / "imgs"
    data.mkdir()
    specs = [("a.png", 20, 17, "RGB", "PNG"), ("b.png", 9, 9, "L", "PNG"), ("c.png", 30, 30, "RGBA", "PNG"),
             ("d.jpg", 16, 24, "RGB", "JPEG"), ("e.jpeg", 12, 12, "L", "JPEG"), ("f.png", 10, 14, "P", "PNG"),
             ("g.png", 40, 8, "LA", "PNG"), ("h.jpg", 33, 21, "RGB", "JPEG")]
    for i, (name, w, h, mode, fmt) in enumerate(specs):
        _image(data / name, w, h, mode, fmt, i)
    # the data as the documented pipeline makes it (PIL: to L, bicubic to 16x16, [0, 1]), in file-name order
    want = []
    for name, *_ in sorted(specs):
        with Image.open(data / name) as im:
            want.append(np.asarray(im.convert("L").resize((16, 16), Image.BICUBIC), dtype=np.float32) / 255.0)
    ds = load_dataset(f"folder:{data}", image_size=16, channels=1)
    assert tuple(ds.x.shape) == (len(specs), 1, 16, 16)
    assert torch.equal(ds.x[:, 0], torch.from_numpy(np.stack(want)))

    out = tmp_path / "run"
    r = cli("train", "dcgan", "--data", f"folder:{data}", "--data-opt", "image_size=16", "--data-opt", "channels=1",
            "--out", out, "--steps", "4", "--batch-size", "4", "--log-every", "2", "--checkpoint-every", "4",
            "--sample-every", "1000", "--no-progress", "--seed", "0", "--set", "latent_dim=8")
    assert r.code == 0, r.err
    m = ganzoo.load(out)
    assert tuple(m.sample_shape) == (1, 16, 16) and m.meta["training"]["steps_done"] == 4
    logs = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [v for rec in logs for k, v in rec.items() if k.endswith("loss")]
    assert losses and all(np.isfinite(losses))
    x = m.sample_unit(3, seed=0)
    assert tuple(x.shape) == (3, 1, 16, 16) and float(x.min()) >= 0 and float(x.max()) <= 1


# -- resume past a corrupt newest checkpoint --------------------------------------------------------------------
@pytest.mark.reliability("fault")
def test_resume_falls_back_past_a_corrupt_newest_checkpoint_and_says_so(tmp_path):
    base = ["mlp", "--data", "ring8", "--batch-size", "32", "--checkpoint-every", "5", "--log-every", "5",
            "--sample-every", "1000", "--no-progress", "--seed", "3", "--set", "g_hidden=[8]", "--set", "d_hidden=[8]"]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert cli("train", *base, "--out", straight, "--steps", "15").code == 0
    assert cli("train", *base, "--out", broken, "--steps", "10").code == 0
    root = broken / "checkpoints"
    assert (root / "latest").read_text().strip() == "step-00000010"
    tensors = root / "step-00000010" / ckpt.TENSORS
    data = bytearray(tensors.read_bytes())
    n = int.from_bytes(data[:8], "little")
    start, _ = json.loads(data[8:8 + n])["model.generator.net.0.weight"]["data_offsets"]
    data[8 + n + start + 3] ^= 0x40  # the exponent of G's first weight: a resume from it would differ (and show)
    tensors.write_bytes(bytes(data))
    assert ckpt.find_latest(root).name == "step-00000005"  # observed: the newest no longer verifies
    reliability.fault("corrupt newest checkpoint")

    r = cli("train", "--resume", "--out", broken, "--steps", "15", "--no-progress")
    assert r.code == 0, r.err
    notes = [ln for ln in r.err.splitlines() if ln.startswith("ganzoo: note:")]
    assert notes == ["ganzoo: note: checkpoint step-00000010 is incomplete or corrupt; resuming from the "
                     "previous one, step-00000005"], r.err
    assert ckpt.find_latest(root).name == "step-00000015"
    a, b = ganzoo.load(straight), ganzoo.load(broken)
    assert b.meta["training"]["steps_done"] == 15
    # resumed from step 5, it redid steps 6-10 exactly as the straight run did (CPU resume is bit-exact)
    assert same_state(a.generator, b.generator) and same_state(a.discriminator, b.discriminator)


# -- what the picture commands draw ---------------------------------------------------------------------------
def _cells(png: Path, h: int, w: int, pad: int = 2) -> np.ndarray:
    """The (rows, cols, h, w) cells of a one-channel ganzoo grid PNG (upscaled by nearest neighbour)."""
    img = np.asarray(Image.open(png).convert("L"), dtype=np.int16)
    scale = max(1, 128 // max(h, w))
    img = img[::scale, ::scale]
    rows, cols = (img.shape[0] - pad) // (h + pad), (img.shape[1] - pad) // (w + pad)
    return np.stack([np.stack([img[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w]
                               for c in range(cols)]) for r in range(rows)])


def _levels(x01: torch.Tensor) -> np.ndarray:
    return (np.clip(x01.numpy(), 0, 1) * 255 + 0.5).astype(np.int16)


def test_traverse_draws_the_documented_latent_grid(tmp_path):
    """`traverse` decodes Gaussian quantiles 5%..95% (equal prior mass per cell) on two dims, the others 0:
    dim d0 grows left to right, d1 bottom to top."""
    m = ganzoo.load("mnist-vae-2d", components=["generator"])
    steps, (d0, d1) = 5, (1, 0)
    out = tmp_path / "t.png"
    r = cli("traverse", "mnist-vae-2d", "--dims", f"{d0},{d1}", "--steps", steps, "-o", out)
    assert r.code == 0, r.err
    q = [statistics.NormalDist().inv_cdf(0.05 + 0.9 * i / (steps - 1)) for i in range(steps)]
    z = torch.zeros(steps, steps, m.latent_dim)
    for row in range(steps):
        for col in range(steps):
            z[row, col, d0], z[row, col, d1] = q[col], q[steps - 1 - row]
    from ganzoo.model import to_unit

    with torch.no_grad():
        x = to_unit(m.generator(z.view(-1, m.latent_dim), None), m.generator.output_range)
    want = _levels(x).reshape(steps, steps, *x.shape[-2:])
    got = _cells(out, *x.shape[-2:], pad=0)  # a traversal is drawn without gaps
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1  # the same decoded images (one 8-bit level for rounding)


def test_reconstruct_shows_dataset_inputs_above_their_reconstructions(tmp_path, mnist_dir):
    from ganzoo.model import to_unit

    m = ganzoo.load("mnist-ae")
    ds = load_dataset(f"mnist:{mnist_dir}", split="test", subset="0:200")
    out = tmp_path / "r.png"
    r = cli("reconstruct", "mnist-ae", "--data", f"mnist:{mnist_dir}", "--data-opt", "split=test",
            "--data-opt", "subset=0:200", "-n", "12", "--seed", "5", "-o", out)
    assert r.code == 0, r.err
    cells = _cells(out, 28, 28)
    assert cells.shape[:2] == (4, 8)  # 12 inputs, 8 a row: inputs, reconstructions, inputs, reconstructions
    data_levels = _levels(ds.x[:, 0])
    seen = set()
    for pair in range(2):
        inputs, recons = cells[2 * pair], cells[2 * pair + 1]
        for k in range(8 if pair == 0 else 4):
            match = np.flatnonzero((data_levels == inputs[k]).all(axis=(1, 2)))
            assert len(match) >= 1, f"input cell {pair},{k} is not an image of the dataset"
            i = int(match[0])
            seen.add(i)
            with torch.no_grad():
                x_hat = to_unit(m.generator(m.encode(ds.x[i:i + 1]), None), m.generator.output_range)
            assert np.abs(recons[k] - _levels(x_hat)[0, 0]).max() <= 1, f"cell {pair},{k}: not its reconstruction"
        if pair == 1:
            assert (cells[2][4:] == 255).all() and (cells[3][4:] == 255).all()  # the short row is blank
    assert len(seen) == 12  # twelve different inputs


LABEL_RATE = 0.9  # mnist-cdcgan-hinge's recorded mean max_prob is 0.955; every label must reach 90 %


@pytest.mark.slow
def test_sample_label_draws_that_digit(tmp_path):
    from ganzoo.metrics.judge import load_judge

    judge = load_judge("mnist")
    for label in range(10):
        out = tmp_path / f"s{label}.npy"
        r = cli("sample", "mnist-cdcgan-hinge", "--label", label, "-n", 50, "--seed", 11, "-o", out)
        assert r.code == 0, r.err
        x = torch.from_numpy(np.load(out))
        assert tuple(x.shape) == (50, 1, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
        with torch.no_grad():
            pred = judge(x).argmax(1)
        rate = float((pred == label).float().mean())
        assert rate >= LABEL_RATE, f"--label {label}: only {rate:.0%} judged as {label}"


@pytest.mark.reliability("fault")
def test_a_run_whose_every_checkpoint_is_corrupt_says_so_and_what_to_delete(tmp_path):
    out = tmp_path / "run"
    base = ["mlp", "--data", "ring8", "--batch-size", "32", "--checkpoint-every", "2", "--keep", "2", "--no-progress",
            "--set", "g_hidden=[8]", "--set", "d_hidden=[8]"]
    assert cli("train", *base, "--out", out, "--steps", "4").code == 0
    root = out / "checkpoints"
    for step in ("step-00000002", "step-00000004"):
        (root / step / ckpt.TENSORS).write_bytes(b"not the tensors")
    assert ckpt.find_latest(root) is None
    reliability.fault("every checkpoint corrupt")
    want = (f"ganzoo: error: {out} holds a training run whose checkpoints are incomplete or corrupt (all 2: "
            f"step-00000002, step-00000004), so it cannot be resumed; delete {out} to start it again, or choose "
            "another --out")
    for argv in (["train", "--resume", "--out", out, "--steps", "8"], ["train", *base, "--out", out, "--steps", "8"]):
        r = cli(*argv)
        assert r.code == 1 and r.err.strip() == want, r.err
