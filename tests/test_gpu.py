"""The engine on a CUDA device: bf16 autocast, channels-last and whole-iteration CUDA graphs.

Skipped where torch sees no GPU (CI's machine); run on a GPU machine with ``pytest tests/test_gpu.py``.
"""

import json

import pytest
import torch

from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.cuda_graphs import CudaGraphStep

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU tests need one")

CASES = {  # variant, objective, data, extra training arguments
    "mlp-nonsat": ("mlp", "non-saturating", "ring8", {}),
    "dcgan-nonsat": ("dcgan", "non-saturating", "digits", {"config": {"g_width": 16, "d_width": 16}}),
    "mlp-wgan-gp-k2": ("mlp", "wgan-gp", "ring8", {"d_steps": 2}),
    "dcgan-hinge-conditional-ema": ("dcgan", "hinge", "digits",
                                    {"conditional": True, "ema": 0.999, "config": {"g_width": 16, "d_width": 16}}),
    "vae": ("vae", None, "digits", {}),
    # the path-length regulariser: a second G forward, a double backward in z, its running mean updated in place
    "dcgan-nonsat-path-length": ("dcgan", "non-saturating", "digits",
                                 {"pl": 2.0, "config": {"g_width": 16, "d_width": 16}}),
    # lazy R1 (every 2nd D step): two kinds of iteration, each warmed up and captured as a graph of its own
    "dcgan-nonsat-lazy-r1": ("dcgan", "non-saturating", "digits",
                             {"r1": 1.0, "r1_every": 2, "config": {"g_width": 16, "d_width": 16}}),
    # the self-conditioned DCGAN card's kind of run: spectral D (power iteration replayed), R1's double backward,
    # EMA, with the 3x3 convolutions of g_depth / d_depth = 2
    "dcgan-hinge-spectral-r1-deep": ("dcgan", "hinge", "digits",
                                     {"conditional": True, "ema": 0.999, "objective_config": {"r1": 0.1},
                                      "config": {"g_width": 16, "d_width": 16, "d_norm": "spectral", "g_depth": 2,
                                                 "d_depth": 2}}),
    # issue 46's architectures: the spectral norm's power iteration in G and D and the attention block (SAGAN),
    # conditional BatchNorm and the projection D (ResNet), style mixing, random per-pixel noise, the tracked w_avg
    # and lazy R1 every 2nd D step (StyleGAN2-lite)
    "resnet-hinge-conditional-ema": ("resnet", "hinge", "digits",
                                     {"conditional": True, "ema": 0.999, "config": {"g_width": 16, "d_width": 16}}),
    "sagan-hinge": ("sagan", "hinge", "digits", {"config": {"g_width": 16, "d_width": 16}}),
    "stylegan-nonsat-lazy-r1": ("stylegan", "non-saturating", "digits",
                                {"config": {"g_width": 32, "d_width": 32, "r1_every": 2}}),
}


def _losses(folder):
    rows = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    keys = ("d_loss", "g_loss") if any("d_loss" in r for r in rows) else ("loss",)
    return [tuple(r[k] for k in keys) for r in rows if keys[0] in r]


@pytest.mark.parametrize("case", list(CASES))
def test_cuda_graphs_train_like_the_eager_engine(tmp_path, case):
    """fp32, same seed: the eager warm-up steps of the CUDA-graph run equal the eager run's; the replays
    then go on training (new losses every step, weights that move), stay in the eager run's range, and the
    result loads and samples on the CPU."""
    variant, objective, data, extra = CASES[case]
    kw = dict(variant=variant, objective=objective, data=data, steps=12, batch_size=32, seed=0, device="cuda",
              precision="fp32", log_every=1, sample_every=12, checkpoint_every=12, progress=False, **extra)
    Trainer(TrainConfig(out=tmp_path / "eager", **kw)).fit()
    t = Trainer(TrainConfig(out=tmp_path / "graphs", cuda_graphs=True, **kw))
    t.fit()
    eager, graphs = _losses(tmp_path / "eager"), _losses(tmp_path / "graphs")
    assert len(eager) == len(graphs) == 12
    warm = CudaGraphStep.WARMUP
    assert max(abs(a - b) for e, g in zip(eager[:warm], graphs[:warm]) for a, b in zip(e, g)) < 1e-4, (eager, graphs)
    replayed = graphs[warm:]
    assert len(set(replayed)) == len(replayed), f"replays repeated a loss row: {replayed}"
    assert all(abs(v) < 1e4 for row in graphs for v in row)
    spread = max(abs(v) for row in eager for v in row) + 1.0
    assert max(abs(a - b) for e, g in zip(eager, graphs) for a, b in zip(e, g)) < spread, (eager, graphs)
    import ganzoo

    m = ganzoo.load(str(tmp_path / "graphs"), device="cpu")
    x = m.sample(8, seed=0, y=torch.arange(8) if extra.get("conditional") else None)
    assert torch.isfinite(x).all() and x.device.type == "cpu"


def test_bf16_channels_last_and_cuda_graphs_on_the_gpu(tmp_path):
    t = Trainer(TrainConfig(variant="dcgan", objective="hinge", data="digits", out=tmp_path / "bf16", steps=20,
                            batch_size=32, seed=0, device="cuda", cuda_graphs=True, progress=False,
                            config={"g_width": 16, "d_width": 16}))
    t.fit()
    assert t.amp and t.memory_format == torch.channels_last
    assert next(t.model.generator.parameters()).dtype == torch.float32  # autocast keeps fp32 master weights
    losses = _losses(tmp_path / "bf16")
    assert losses and all(abs(v) < 1e3 for row in losses for v in row)


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_cuda_graphs_resume(tmp_path, schedule):
    """A --cuda-graphs run checkpoints (its optimiser state, learning rate included, lives on the GPU) and
    resumes with graphs; under the linear schedule the resumed learning rate is again a GPU tensor that
    ends at lr * 1/16."""
    kw = dict(variant="mlp", objective="non-saturating", data="ring8", batch_size=32, seed=0, device="cuda",
              cuda_graphs=True, lr_schedule=schedule, log_every=1, sample_every=8, checkpoint_every=8,
              progress=False)
    Trainer(TrainConfig(out=tmp_path / "run", steps=8, **kw)).fit()
    t = Trainer(TrainConfig(out=tmp_path / "run", steps=16, resume=True, **kw))
    t.fit()
    assert t.steps_done == 16
    losses = _losses(tmp_path / "run")
    assert len(losses) == 16 and len(set(losses[8:])) == 8 and all(abs(v) < 1e4 for row in losses for v in row)
    lr = t.optimizers["g"].param_groups[0]["lr"]
    assert torch.is_tensor(lr) and lr.device.type == "cuda"
    want = t.config.g_lr * (1 / 16 if schedule == "linear" else 1.0)
    assert abs(float(lr) - want) < 1e-6 * want


def test_cuda_graphs_replay_the_scheduled_learning_rate(tmp_path):
    """The captured optimiser updates read the learning rate that the schedule writes before each replay:
    at lr 0 a replayed iteration leaves G and D exactly as they were, at the full rate it moves them (a
    float learning rate would be frozen into the graph at capture)."""
    t = Trainer(TrainConfig(variant="mlp", objective="non-saturating", data="ring8", out=tmp_path / "run", steps=100,
                            batch_size=32, seed=0, device="cuda", cuda_graphs=True, lr_schedule="linear",
                            precision="fp32", progress=False)).setup()
    for _ in range(CudaGraphStep.WARMUP + 2):  # eager warm-up, the capture, one replay
        t.iteration(t.batches.next)

    def weights():
        torch.cuda.synchronize()
        return [p.detach().clone() for p in t.model.components.parameters()]

    t.set_learning_rates(0.0)
    before = weights()
    t.iteration(t.batches.next)
    still = weights()
    assert all(torch.equal(a, b) for a, b in zip(before, still))
    t.set_learning_rates(1.0)
    t.iteration(t.batches.next)
    moved = weights()
    assert sum(not torch.equal(a, b) for a, b in zip(still, moved)) == len(moved)


def test_a_model_on_cuda_exports_to_onnx_and_imports_back_to_cuda(tmp_path):
    """Export traces a CPU copy (a graph is device-free); an imported model loads onto the GPU and computes
    what it computes on the CPU."""
    import ganzoo

    model = ganzoo.create("dcgan", sample_shape=[3, 64, 64], latent_dim=8, g_width=4, d_width=4).eval()
    model.save(tmp_path / "m")
    ganzoo.export_model(ganzoo.load(tmp_path / "m", device="cuda"), tmp_path / "G.onnx")
    ganzoo.export_model(tmp_path / "m", tmp_path / "netG.pth", format="pytorch-examples")
    back = ganzoo.load(ganzoo.import_model(tmp_path / "netG.pth", tmp_path / "back"), device="cuda")
    z = torch.randn(4, 8)
    with torch.no_grad():
        assert (back.generator(z.cuda()).cpu() - model.generator(z)).abs().max() <= 1e-4


def test_speed_benchmark_times_the_new_architectures_with_cuda_graphs(tmp_path):
    """``benchmarks/speed.py --device cuda --rows ...``: the ResNet, SAGAN and StyleGAN2-lite rows beside their
    plain-PyTorch references, every engine option (CUDA graphs included) timed, none failed."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "BENCHMARKS.md"
    res = subprocess.run([sys.executable, str(root / "benchmarks" / "speed.py"), "--device", "cuda", "--smoke",
                          "--no-compile", "--rows", "resnet,sagan,stylegan", "--output", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    text = out.read_text(encoding="utf-8").split("<!-- speed-gpu-resnet-sagan-stylegan:begin -->")[1]
    assert "FAILED" not in text, text
    for model in ("ResNet (SNGAN)", "SAGAN", "StyleGAN2-lite"):
        for loop in ("reference (fp32, eager)", "ganzoo --precision fp32", "ganzoo --cuda-graphs"):
            assert re.search(rf"\| {re.escape(model)} 1x8x8 [^|]*\| {re.escape(loop)} \| [\d.,]+ \| \d+\.\d+x \|",
                             text), (model, loop, text)
