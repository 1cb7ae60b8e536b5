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
from helpers import cli


pytestmark = pytest.mark.usefixtures("one_thread")


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


def test_sample_cli_scatter_holds_samples_far_from_the_modes(tmp_path):
    """A failing 2-D model must look like one: every sample is in `ganzoo sample`'s picture."""
    m = ganzoo.create("mlp", sample_shape=[2], dataset="ring8", **TINY_MLP)
    with torch.no_grad():
        last = [mod for mod in m.generator.modules() if isinstance(mod, torch.nn.Linear)][-1]
        last.bias.fill_(20.0)  # every sample near (20, 20), far outside ring8's view
    m.save(tmp_path / "far")
    assert json.loads((tmp_path / "far" / "config.json").read_text())["dataset"] == "ring8"
    code, out, err = cli("sample", str(tmp_path / "far"), "-n", "50", "-o", str(tmp_path / "s.png"))
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
    with pytest.raises(ConfigError, match=r"^batch_size must be in"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "a", steps=1, batch_size=0)
    with pytest.raises(ConfigError, match=r"^lr must be in"):
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
    for bad in ({"n": -5}, {"n": 0}, {"n": "abc"}, {"seed": -1}, {"n": 2.5}):
        with pytest.raises(ConfigError, match=r"^dataset 'ring8': option (n|seed) must be an integer >= [01], not"):
            load_dataset("ring8", **bad)
    assert not (tmp_path / "a").exists()
    assert len(load_dataset("ring8", n=10, seed=1)) == 10  # known options still work


def test_dataset_options_and_model_configs_share_one_type_checker():
    """ganzoo.config.check_value checks both; only the integer bounds differ (a dataset's integer option
    with a positive default must be >= 1 and has no upper bound, a config's integer lies in 0..65536).
    Dataset options of the other types are now checked as a config's are (they used to reach the factory)."""
    from ganzoo.data import check_options

    def toy(arg=None, *, n: int = 10, std: float = 0.1, flip: bool = False, split: str = "all", size=None):
        pass

    assert check_options("toy", toy, {"n": 10**7, "std": 1, "size": 3}) == {"n": 10**7, "std": 1.0, "size": 3}
    assert isinstance(check_options("toy", toy, {"std": 1})["std"], float)
    for bad, valid in (({"std": "x"}, "std must be a number between -1,000,000 and 1,000,000, not 'x'"),
                       ({"std": float("nan")}, "std must be a number between"),
                       ({"flip": 1}, "flip must be true or false, not 1"),
                       ({"split": 3}, "split must be a string of at most 256 characters, not 3"),
                       ({"size": [1, 2]}, r"size must be a plain value \(a number, string or true/false\), not \[1, 2\]"),
                       ({"n": 0}, "n must be an integer >= 1, not 0")):
        with pytest.raises(ConfigError, match=f"^dataset 'toy': option {valid}"):
            check_options("toy", toy, bad)
    with pytest.raises(ConfigError, match=r"^variant 'dcgan': latent_dim must be an integer between 0 and 65536, not '8'$"):
        ganzoo.create("dcgan", latent_dim="8")
    # a key whose default is "auto" (mlp's sizes follow the sample shape): checked as the type "auto" stands for
    with pytest.raises(ConfigError, match=r"^variant 'mlp': latent_dim must be an integer between 0 and 65536, not '8'$"):
        ganzoo.create("mlp", latent_dim="8")
    with pytest.raises(ConfigError, match=r"^objective 'hinge': r1 must be a number between -1,000,000 and 1,000,000"):
        ganzoo.create("mlp", objective="hinge", objective_config={"r1": float("inf")})


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


# -- 3. messages that point the right way -----------------------------------------------------------------
def test_reconstruct_of_a_gan_says_it_has_no_encoder_and_names_models_that_do(tmp_path):
    code, out, err = cli("reconstruct", "mnist-cdcgan-hinge", "--data", "digits", "-o", str(tmp_path / "r.png"))
    assert code != 0
    assert err.startswith("ganzoo: error: mnist-cdcgan-hinge has no encoder (it ships generator); reconstruct needs "
                          "an encoder and a decoder, e.g. "), err
    assert "sha256" not in err and "mnist-ae" in err and "digits-vae" in err
    with pytest.raises(ConfigError, match="^model 'mnist-cdcgan-hinge' has no encoder: it ships generator$"):
        ganzoo.load("mnist-cdcgan-hinge", components=["generator", "encoder"])
    code, out, err = cli("reconstruct", "digits-ae", "--data", "digits", "-n", "1", "-o", str(tmp_path / "a.png"))
    assert code == 0 and out.startswith("wrote 1 input and its reconstruction to"), err


def _hub_unreachable(monkeypatch):
    monkeypatch.setenv("GANZOO_HUB_RETRIES", "1")
    monkeypatch.setenv("GANZOO_HUB_TIMEOUT", "2")
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_not_real")


def test_failed_push_advises_no_pull_and_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    """conftest points HF_ENDPOINT at a dead port: the Hub is unreachable."""
    _hub_unreachable(monkeypatch)
    m = ganzoo.create("mlp", sample_shape=[2], **TINY_MLP)
    m.save(tmp_path / "m")
    before = sorted(p.name for p in (tmp_path / "m").iterdir())
    code, out, err = cli("push", str(tmp_path / "m"), "my-org/ring")
    assert code != 0 and "cannot reach the Hub" in err, err
    assert "ganzoo pull" not in err and "HF_HUB_OFFLINE" not in err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == before  # no README.md, no samples.png


def test_pull_suggests_zoo_names_and_a_bundled_model_needs_no_hub(monkeypatch):
    code, out, err = cli("pull", "ring8-mlp-nonsatt")
    assert code != 0 and "did you mean 'ring8-mlp-nonsat'" in err and "bad Hub repo id" not in err, err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = cli("pull", "ring8-mlp-nonsat")
    assert code == 0, err
    assert Path(out.strip()) == Path(ganzoo.model_info("ring8-mlp-nonsat").source["path"])
    assert "is bundled with ganzoo and already loads offline" in err and "ganzoo pull" not in err


def test_eval_without_data_names_the_data_it_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipe's relative path (../shared/data/mnist) is not here
    code, out, err = cli("eval", "mnist-cdcgan-hinge")
    assert code != 0 and "pass the data: --data mnist:DIR" in err, err


def test_messages_for_option_mistakes(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'gp_weight'; it takes no config keys"):
        ganzoo.train("mlp", data="ring8", out=tmp_path / "a", steps=1, objective_config={"gp_weight": 5})
    code, out, err = cli("sample", "ring8-mlp-nonsat", "-n", "1", "-o", str(tmp_path / "one.npy"))
    assert code == 0 and out.strip() == f"wrote 1 sample to {tmp_path / 'one.npy'}", err
    code, out, err = cli("sample", "ring8-mlp-nonsat", "-n", "0", "-o", str(tmp_path / "none.npy"))
    assert code != 0 and "0 is not in the range 1<=x<=100000" in err and "Traceback" not in err


def test_info_prints_plain_values():
    for name in ("mnist-cdcgan-hinge", "dcgan", "wgan-gp"):
        code, out, err = cli("info", name)
        assert code == 0, err
        entry = out.split("\n# ", 1)[0]  # the registry entry; a model's card (markdown, with code) follows
        assert "{" not in entry and "['" not in entry and "('" not in entry, entry
    code, out, err = cli("info", "ring8-mlp-nonsat")
    assert "\n      generator.safetensors: " in out  # a mapping inside a mapping: one line each


def test_list_refuses_two_lists_and_debug_works_after_the_subcommand():
    code, out, err = cli("list", "--variants", "--objectives")
    assert code == 2 and "--variants and --objectives conflict" in err and out == "", (out, err)
    code, out, err = cli("list", "--variants", "--debug")
    assert code == 0 and "dcgan" in out, err
    with pytest.raises(ganzoo.GanzooError):  # --debug after the subcommand: the traceback, not one line
        from ganzoo.cli import main

        main(["sample", "no-such-model", "-o", "x.png", "--debug"])


# -- 4. a plain autoencoder has no prior ------------------------------------------------------------------
def test_sample_refuses_a_plain_autoencoder_and_eval_scores_its_reconstructions(tmp_path):
    code, out, err = cli("sample", "digits-ae", "-o", str(tmp_path / "ae.png"))
    assert code != 0 and err.startswith("ganzoo: error: digits-ae cannot be sampled: it has no prior to draw codes "
                                        "from"), err
    assert "ganzoo reconstruct digits-ae" in err, err
    assert not (tmp_path / "ae.png").exists()
    result = ganzoo.evaluate("digits-ae", data="digits", n=200)
    assert list(result["metrics"]) == ["recon", "linear-probe"]   # what its encoder does, never samples
    with pytest.raises(ConfigError, match=r"^metric 'prdc' needs a model that draws new samples; this ae can: "
                                          r"encode, reconstruct$"):
        ganzoo.evaluate("digits-ae", data="digits", n=200, metrics=["recon", "prdc"])  # scores samples it cannot draw


# -- 5. the Python API ------------------------------------------------------------------------------------
def test_dir_lists_the_lazy_api_and_evaluate_matches_the_cli():
    names = dir(ganzoo)
    for name in ("load", "create", "train", "list_models", "evaluate", "Trainer", "Model"):
        assert name in names
    assert "evaluate" in ganzoo.__all__
    code, out, err = cli("eval", "ring8-mlp-nonsat", "--data", "ring8", "-n", "300", "--seed", "2", "--json")
    assert code == 0, err
    got = ganzoo.evaluate("ring8-mlp-nonsat", data="ring8", n=300, seed=2)
    from ganzoo.metrics.report import to_json_safe

    assert json.loads(out) == json.loads(json.dumps(to_json_safe(got)))


@pytest.mark.parametrize("name", ["ring8-mlp-nonsat", "mnist-cdcgan-hinge", "ring8-mlp-selfcond", "digits-vae"])
def test_sample_zero_is_an_empty_batch_and_a_bad_count_a_clear_error(name):
    m = ganzoo.load(name, components=["generator"])
    assert m.sample(0, seed=0).shape == (0, *m.sample_shape)
    assert m.sample_unit(0).shape == (0, *m.sample_shape)
    y = torch.zeros(0, dtype=torch.long) if m.num_classes else None
    assert m.generator.sample(0, y=y).shape == (0, *m.sample_shape)
    for bad in (-1, 2.5, "3"):
        with pytest.raises(ConfigError, match="number of samples must be a whole number >= 0"):
            m.sample(bad)
