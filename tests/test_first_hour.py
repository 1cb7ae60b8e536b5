"""What a new user hits in the first hour (issue 42, sections 2-5): pictures that show every sample, messages
that point the right way, options that are never silently ignored or forgotten, logs and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.errors import ConfigError


def cli(*args, capsys):
    from ganzoo.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _blue_dots(img) -> int:
    """Pixels of the scatter's sample colour."""
    a = np.asarray(img.convert("RGB")).astype(int)
    return int(((a[..., 0] == 40) & (a[..., 1] == 90) & (a[..., 2] == 200)).sum())


TINY_MLP = dict(g_hidden=[16], d_hidden=[16], latent_dim=2)


# -- 2. pictures ------------------------------------------------------------------------------------------
def test_scatter_shows_every_sample_and_counts_the_non_finite():
    from ganzoo import images

    modes = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    far = torch.tensor([[30.0, 30.0]])
    alone = images.scatter(far, modes)
    assert _blue_dots(alone) > 0  # far outside 1.3x the modes: the view grows to hold it
    near = images.scatter(torch.tensor([[0.5, 0.5]]), modes)
    # a sample inside the modes' view keeps the old view (the same picture as before for a good model)
    assert np.array_equal(np.asarray(near), np.asarray(images.scatter(torch.tensor([[0.5, 0.5]]), modes, limit=1.3)))
    bad = images.scatter(torch.tensor([[0.0, 0.0], [float("nan"), 1.0], [float("inf"), 0.0]]), modes,
                         title="3 samples")
    plain = images.scatter(torch.tensor([[0.0, 0.0]]), modes, title="3 samples")
    assert not np.array_equal(np.asarray(bad), np.asarray(plain))  # the title says 2 are not finite


def test_sample_cli_scatter_holds_samples_far_from_the_modes(tmp_path, capsys):
    """A failing 2-D model must look like one: every sample is in `ganzoo sample`'s picture."""
    m = ganzoo.create("mlp", sample_shape=[2], dataset="ring8", **TINY_MLP)
    with torch.no_grad():
        last = [mod for mod in m.generator.modules() if isinstance(mod, torch.nn.Linear)][-1]
        last.bias.fill_(20.0)  # every sample near (20, 20), far outside ring8's view
    m.save(tmp_path / "far")
    assert json.loads((tmp_path / "far" / "config.json").read_text())["dataset"] == "ring8"
    code, out, err = cli("sample", str(tmp_path / "far"), "-n", "50", "-o", str(tmp_path / "s.png"), capsys=capsys)
    assert code == 0, err
    assert _blue_dots(Image.open(tmp_path / "s.png")) > 0


def test_training_samples_png_of_a_conditional_model_has_one_row_per_class(tmp_path):
    from ganzoo import images
    from ganzoo.training import TrainConfig, Trainer

    t = Trainer(TrainConfig(variant="mlp", data="digits", out=str(tmp_path / "r"), steps=1, conditional=True,
                            config=dict(g_hidden=[16], d_hidden=[16]), progress=False)).setup()
    t.out.mkdir(parents=True)
    t.monitor.pictures(t, initial=True)
    got = np.asarray(Image.open(tmp_path / "r" / "samples.png"))
    G = t.sampler
    y, per = torch.arange(10).repeat_interleave(10), 10
    z = torch.randn(100, G.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        G.eval()
        want = images.grid(((G(z, y) + 1) / 2).clamp(0, 1), nrow=per)
    assert np.array_equal(got, np.asarray(want))


# -- 4. options never silently ignored or forgotten -------------------------------------------------------
def test_batch_size_zero_and_lr_zero_are_errors_naming_the_option(tmp_path):
    with pytest.raises(ConfigError, match=r"^--batch-size must be in"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "a", steps=1, batch_size=0)
    with pytest.raises(ConfigError, match=r"^--lr must be in"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "b", steps=1, lr=0)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_unknown_data_options_are_errors_naming_the_valid_ones(tmp_path):
    from ganzoo.data import load_dataset

    with pytest.raises(ConfigError, match=r"dataset 'ring8': unknown option 'image_size'.*Known: clusters, n, seed, subset"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "a", steps=1, data_options={"image_size": 32})
    with pytest.raises(ConfigError, match=r"unknown option 'bogus'"):
        load_dataset("digits", bogus=1)
    with pytest.raises(ConfigError, match=r"unknown option 'splt'; did you mean 'split'"):
        load_dataset("mnist:/nowhere", splt="test")
    assert not (tmp_path / "a").exists()
    assert len(load_dataset("ring8", n=10, seed=1)) == 10  # known options still work


def test_resume_keeps_the_runs_logging_and_checkpoint_options(tmp_path):
    from ganzoo.training import TrainConfig, Trainer

    out = tmp_path / "run"
    ganzoo.train("mlp", data="ring8", out=out, steps=4, checkpoint_every=2, log_every=1, keep=5, sample_every=2,
                 batch_size=16, progress=False, **TINY_MLP)
    t = Trainer(TrainConfig(out=str(out), resume=True, steps=8, progress=False))
    assert (t.config.log_every, t.config.keep) == (1, 5)
    model = t.fit()
    assert model.meta["training"]["steps_done"] == 8
    steps = sorted(int(p.name.split("-")[1]) for p in (out / "checkpoints").glob("step-*"))
    assert steps == [2, 4, 6, 8]  # every 2 steps after resuming, all 5 kept
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "event" not in r] == list(range(1, 9))
    t = Trainer(TrainConfig(out=str(out), resume=True, steps=9, checkpoint_every=3, progress=False))
    assert t._every[1] == 3  # given again: the new value wins


# -- 5. logs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("progress", [None, False])
def test_plain_log_lines_when_stderr_is_not_a_terminal(tmp_path, capsys, progress):
    ganzoo.train("mlp", data="ring8", out=tmp_path / "r", steps=6, log_every=3, batch_size=16, progress=progress,
                 **TINY_MLP)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["3/6", "6/6"], err
    assert all("d_loss=" in line and "D(x)=" in line for line in lines)
    assert "\r" not in err and "%|" not in err  # no progress bar in a log file
