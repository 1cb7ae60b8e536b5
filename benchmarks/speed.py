"""Speed benchmark: ganzoo's training engine against plain PyTorch reference loops, CLI start-up,
loading and sampling, and how cost grows with batch size and DDP processes.

    python benchmarks/speed.py                 # full run (about 10 minutes on 2 CPU cores)
    python benchmarks/speed.py --smoke         # seconds; what CI runs (numbers meaningless)
    python benchmarks/speed.py --only train,cli --output /tmp/B.md
    python benchmarks/speed.py --device cuda   # the training table on a GPU (about 2 minutes on an H200)
    python benchmarks/speed.py --device cuda --rows resnet,sagan,stylegan   # only those rows, own section

Every comparison is measured in one process (or one series of subprocesses), interleaved
(A B A B ...), after a warm-up; the tables give medians of the repeats and their ratios. The
results replace the ``speed`` section of BENCHMARKS.md (with ``--device``: the ``speed-gpu`` section;
``--profile`` also prints torch.profiler tables of a few loops to stderr).

Training throughput counts real images consumed per second: generator iterations x batch (K = 1).
ganzoo's side is the engine itself: a :class:`ganzoo.training.Trainer` set up on an in-memory
:class:`~ganzoo.data.TensorData` of random images, stepped through :meth:`Trainer.step` with the
bookkeeping of :meth:`Trainer.fit` (loss row per step, a host sync every ``log_every``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from ganzoo.errors import first_line  # noqa: E402

PYTHON = sys.executable


# -- reference loops (plain PyTorch, written here) ------------------------------------------------
def ref_dcgan(nc: int, size: int, nz: int, ngf: int, ndf: int):
    """pytorch/examples dcgan/main.py's Generator and Discriminator (64x64: exactly theirs; other sizes
    the same pattern with fewer/more doublings), with its weights_init."""
    k = {8: 1, 16: 2, 32: 3, 64: 4, 128: 5}[size]
    g_ch = [ngf * 2 ** (k - 1 - i) for i in range(k)]
    g: list[nn.Module] = [nn.ConvTranspose2d(nz, g_ch[0], 4, 1, 0, bias=False), nn.BatchNorm2d(g_ch[0]), nn.ReLU(True)]
    for a, b in zip(g_ch[:-1], g_ch[1:]):
        g += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(g_ch[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
    d_ch = [ndf * 2**i for i in range(k)]
    d: list[nn.Module] = [nn.Conv2d(nc, d_ch[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for a, b in zip(d_ch[:-1], d_ch[1:]):
        d += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, inplace=True)]
    d += [nn.Conv2d(d_ch[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    G, D = nn.Sequential(*g), nn.Sequential(*d)

    def weights_init(m):
        name = m.__class__.__name__
        if name.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif name.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    G.apply(weights_init)
    D.apply(weights_init)
    return G, D


def ref_mlp(d: int, nz: int, hidden: list[int]):
    g: list[nn.Module] = []
    for a, b in zip([nz] + hidden, hidden):
        g += [nn.Linear(a, b), nn.ReLU(True)]
    g += [nn.Linear(hidden[-1], d), nn.Tanh()]
    dd: list[nn.Module] = []
    for a, b in zip([d] + hidden, hidden):
        dd += [nn.Linear(a, b), nn.LeakyReLU(0.2, True)]
    dd += [nn.Linear(hidden[-1], 1)]
    return nn.Sequential(*g), nn.Sequential(*dd)


class RefLoop:
    """pytorch/examples DCGAN's training step: D on real (label 1), D on G(z).detach() (label 0),
    optimizerD.step(); then G through D(fake) with label 1, optimizerG.step(). ``probs`` selects
    BCELoss on a Sigmoid output (the DCGAN example) or BCEWithLogitsLoss (the MLP reference);
    ``hinge=True`` the hinge loss instead (SNGAN's and SAGAN's: D relu(1 - D(x)) + relu(1 + D(G(z))), G -D(G(z)),
    the ResNet rows), with z of shape (batch, nz) and the given Adam settings."""

    def __init__(self, G, D, *, nz: int, batch: int, data: torch.Tensor, conv: bool, probs: bool,
                 device: str = "cpu", hinge: bool = False, g_lr: float = 2e-4,
                 d_lr: float = 2e-4, betas=(0.5, 0.999)):
        self.dev = torch.device(device)
        G, D = G.to(self.dev), D.to(self.dev)
        self.G, self.D, self.nz, self.batch, self.conv = G, D, nz, batch, conv
        self.hinge = hinge
        self.crit = nn.BCELoss() if probs else nn.BCEWithLogitsLoss()
        self.optG = torch.optim.Adam(G.parameters(), lr=g_lr, betas=betas)
        self.optD = torch.optim.Adam(D.parameters(), lr=d_lr, betas=betas)
        self.data = data.to(self.dev) * 2 - 1  # [0, 1] -> [-1, 1], as the example's Normalize(0.5, 0.5)
        if not conv:
            self.data = self.data.flatten(1)
        self.i = 0
        G.train()
        D.train()

    def next_real(self):
        n = self.data.shape[0] // self.batch
        j = self.i % n
        self.i += 1
        return self.data[j * self.batch:(j + 1) * self.batch]

    def step(self, real=None):
        if self.hinge:
            return self.hinge_step(real)
        G, D, b = self.G, self.D, self.batch
        real = self.next_real() if real is None else real
        D.zero_grad()
        label = torch.full((b,), 1.0, device=self.dev)
        output = D(real).view(-1)
        errD_real = self.crit(output, label)
        errD_real.backward()
        shape = (b, self.nz, 1, 1) if self.conv else (b, self.nz)
        noise = torch.randn(shape, device=self.dev)
        fake = G(noise)
        label.fill_(0.0)
        output = D(fake.detach()).view(-1)
        errD_fake = self.crit(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        self.optD.step()
        G.zero_grad()
        label.fill_(1.0)
        output = D(fake).view(-1)
        errG = self.crit(output, label)
        errG.backward()
        self.optG.step()
        return float(errD.detach()), float(errG.detach())

    def hinge_step(self, real=None):
        G, D = self.G, self.D
        real = self.next_real() if real is None else real
        fake = G(torch.randn(self.batch, self.nz, device=self.dev))
        D.zero_grad()
        errD = torch.relu(1.0 - D(real)).mean() + torch.relu(1.0 + D(fake.detach())).mean()
        errD.backward()
        self.optD.step()
        G.zero_grad()
        errG = -D(fake).mean()
        errG.backward()
        self.optG.step()
        return float(errD.detach()), float(errG.detach())


# -- ganzoo's engine ----------------------------------------------------------------------------------
class EngineLoop:
    """A :class:`ganzoo.training.Trainer`, stepped like :meth:`Trainer.fit` does (without checkpoints/plots)."""

    def __init__(self, variant: str, config: dict, data: torch.Tensor, *, batch: int, tmp: Path,
                 device: str = "cpu", objective: str = "non-saturating", **kw):
        from ganzoo.data.sources import TensorData
        from ganzoo.training import TrainConfig, Trainer

        out = Path(tempfile.mkdtemp(dir=tmp))
        self.t = Trainer(TrainConfig(variant=variant, objective=objective, out=out / "run", steps=10**9,
                                     batch_size=batch, seed=0, device=device, progress=False, config=config, **kw),
                         data=TensorData(data.cpu(), name="synthetic")).setup()
        self.t.out.mkdir(parents=True, exist_ok=True)
        self.t.monitor.reset_clock(0)

    def step(self):
        t = self.t
        t.step()
        if t.steps_done % t.config.log_every == 0:
            t.monitor.flush(t.steps_done, t.batches.epoch)


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()  # GPU work is asynchronous: time what was done, not what was queued


def images_per_s(loops: dict, *, batch: int, per: int, repeats: int, warmup: int) -> dict:
    for loop in loops.values():
        for _ in range(warmup):
            loop.step()
    times = {k: [] for k in loops}
    for r in range(repeats):
        order = list(loops) if r % 2 == 0 else list(reversed(loops))  # ABBA: no side always goes first
        for k in order:
            _sync()
            t0 = time.perf_counter()
            for _ in range(per):
                loops[k].step()
            _sync()
            times[k].append(time.perf_counter() - t0)
    return {k: batch * per / common.median(v) for k, v in times.items()}


def flops_per_step(loop) -> int:
    """Floating-point operations of one training step of ``loop`` (matrix products and convolutions,
    forward and backward, as torch.utils.flop_counter counts them), after one uncounted step."""
    from torch.utils.flop_counter import FlopCounterMode

    loop.step()
    with FlopCounterMode(display=False) as counter:
        loop.step()
    return counter.get_total_flops()


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers by position (same architecture, different module names)."""
    s, d = list(src.state_dict().values()), dst.state_dict()
    if len(s) != len(d):
        raise AssertionError(f"different architectures: {len(s)} vs {len(d)} tensors")
    new = {}
    for (k, v), w in zip(d.items(), s):
        if v.shape != w.shape:
            raise AssertionError(f"{k}: {tuple(v.shape)} vs {tuple(w.shape)}")
        new[k] = w.detach().clone()
    dst.load_state_dict(new)


def verify_same_maths(cfg: dict, tmp: Path, steps: int = 3) -> dict:
    """Same initial weights, same real batches, same noise: do ganzoo's engine and the reference loop
    produce the same losses and weights? (Float tolerance: different kernels, fused Adam.)"""
    dev = cfg.get("device", "cpu")
    engine = dict(cfg["engine"], **({"precision": "fp32"} if dev != "cpu" else {}))  # the reference is fp32
    eng = EngineLoop(cfg["variant"], cfg["config"], cfg["data"], batch=cfg["batch"], tmp=tmp, device=dev, **engine)
    G, D = cfg["ref"]()
    copy_weights(eng.t.model.generator, G)
    copy_weights(eng.t.model.discriminator, D)
    ref = cfg.get("loop_cls", RefLoop)(G, D, nz=cfg["nz"], batch=cfg["batch"], data=cfg["data"], conv=cfg["conv"],
                                       probs=cfg["probs"], device=dev, **cfg.get("loop", {}))
    n_params = (sum(p.numel() for p in eng.t.model.generator.parameters()),
                sum(p.numel() for p in eng.t.model.discriminator.parameters()))
    ref_params = (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters()))
    dl = dg = 0.0
    first = None
    for i in range(steps):
        real = ref.next_real()
        eng_real = real.reshape(cfg["batch"], *cfg["data"].shape[1:]).contiguous(memory_format=eng.t.memory_format)
        torch.manual_seed(1000 + i)
        stats = eng.t.iteration(lambda r=eng_real: (r, None))
        torch.manual_seed(1000 + i)
        ed, eg = ref.step(real)
        vals = {k: float(v) for k, v in stats.items()}
        dl = max(dl, abs(vals["d_loss"] - ed))
        dg = max(dg, abs(vals["g_loss"] - eg))
        if first is None:  # before any update: same weights, so only rounding can differ
            first = (abs(vals["d_loss"] - ed), abs(vals["g_loss"] - eg), abs(ed))
    dw = max(float((a.detach() - b.detach()).abs().max()) for a, b in
             zip(list(eng.t.model.generator.parameters()) + list(eng.t.model.discriminator.parameters()),
                 list(G.parameters()) + list(D.parameters())))
    return {"params": n_params, "ref_params": ref_params, "d_loss": dl, "g_loss": dg, "weights": dw, "steps": steps,
            "first": first}


def bench_training(args, tmp: Path) -> str:
    smoke = args.smoke
    torch.manual_seed(0)
    if smoke:
        dc = dict(size=16, nc=3, width=8, batch=16, n=64)
        mlp_hidden, mlp_batch = [32, 32], 16
        per, repeats, warmup = 2, 2, 1
    else:
        dc = dict(size=64, nc=3, width=64, batch=64, n=256)
        mlp_hidden, mlp_batch = [256, 256], 64
        per, repeats, warmup = 2, args.repeats, 1
    configs = {
        f"DCGAN {dc['nc']}x{dc['size']}x{dc['size']} (nz 100, ngf=ndf={dc['width']}, batch {dc['batch']})": dict(
            variant="dcgan", nz=100, batch=dc["batch"], conv=True, probs=True,
            config={"sample_shape": [dc["nc"], dc["size"], dc["size"]], "latent_dim": 100,
                    "g_width": dc["width"], "d_width": dc["width"]},
            data=torch.rand(dc["n"], dc["nc"], dc["size"], dc["size"]),
            ref=lambda: ref_dcgan(dc["nc"], dc["size"], 100, dc["width"], dc["width"]),
            engine={}, per=per, extra={"contiguous (channels_last=False)": {"channels_last": False}, "compile": {"compile": True}}),
        f"MLP GAN 1x28x28 (z 64, hidden {'-'.join(map(str, mlp_hidden))}, batch {mlp_batch})": dict(
            variant="mlp", nz=64, batch=mlp_batch, conv=False, probs=False,
            config={"sample_shape": [1, 28, 28], "latent_dim": 64, "g_hidden": mlp_hidden, "d_hidden": mlp_hidden,
                    "g_norm": False},
            data=torch.rand(50 * mlp_batch, 1, 28, 28),
            ref=lambda: ref_mlp(784, 64, mlp_hidden),
            engine={}, per=per * (5 if smoke else 40), extra={"compile": {"compile": True}}),
    }
    configs.update(resnet_configs(smoke, per))
    configs.update(stylegan_config(smoke, per))
    if args.rows:
        configs = {k: v for k, v in configs.items() if any(r.lower() in k.lower() for r in args.rows)}
    if args.no_compile or smoke:
        for c in configs.values():
            c["extra"].pop("compile", None)
    rows, checks, notes = [], [], []
    for name, cfg in configs.items():
        v = verify_same_maths(cfg, tmp)
        checks.append([name, f"{v['params'][0]:,} / {v['params'][1]:,}",
                       "same" if v["params"] == v["ref_params"] else f"DIFFERENT {v['ref_params']}",
                       f"{v['first'][0]:.1e} / {v['first'][1]:.1e}", f"{v['d_loss']:.1e}", f"{v['g_loss']:.1e}",
                       f"{v['weights']:.1e}"])
        torch.manual_seed(0)
        G, D = cfg["ref"]()
        loops = {"reference": cfg.get("loop_cls", RefLoop)(G, D, nz=cfg["nz"], batch=cfg["batch"], data=cfg["data"],
                                                           conv=cfg["conv"], probs=cfg["probs"], **cfg.get("loop", {})),
                 "ganzoo": EngineLoop(cfg["variant"], cfg["config"], cfg["data"], batch=cfg["batch"], tmp=tmp,
                                      **cfg["engine"])}
        compile_s = None
        for label, kw in cfg["extra"].items():
            t0 = time.perf_counter()
            loops[f"ganzoo {label}"] = loop = EngineLoop(cfg["variant"], cfg["config"], cfg["data"],
                                                         batch=cfg["batch"], tmp=tmp, **kw)
            if label == "compile":
                loop.step()
                compile_s = time.perf_counter() - t0
        work = {k: flops_per_step(loops[k]) for k in ("reference", "ganzoo")}
        notes.append(f"{name}: arithmetic per iteration (torch.utils.flop_counter): reference "
                     f"{work['reference'] / 1e9:.3g} GFLOP, ganzoo {work['ganzoo'] / 1e9:.3g} GFLOP, so skipping work "
                     f"alone can give at most {work['reference'] / work['ganzoo']:.2f}x; the rest of any gain must "
                     "come from faster kernels or less overhead per kernel")
        reps = repeats if cfg["conv"] or smoke else args.repeats
        ips = images_per_s(loops, batch=cfg["batch"], per=cfg["per"], repeats=reps, warmup=warmup if cfg["conv"] else 3)
        base = ips["reference"]
        for k, v in ips.items():
            rows.append([name, k, v, f"{v / base:.2f}x"])
        if compile_s is not None:
            notes.append(f"{name}: torch.compile's first step (compilation) took {compile_s:.1f} s (Inductor's "
                         "on-disk cache may be warm from earlier runs; a cold compile takes about a minute here)")
    text = ["### Training throughput: engine vs plain PyTorch reference", "",
            f"Images/s (real images per second, K = 1), median of {repeats} interleaved repeats (ABBA order) of "
            + ", ".join(f"{c['per']} ({k.split(' (')[0]})" for k, c in configs.items())
            + f" iterations after {warmup} (conv models) / 3 (MLP) "
            f"warm-up iterations per side; ratio = ganzoo / reference. `ganzoo` is the engine with its CPU defaults "
            "(what `ganzoo train` runs: channels-last for conv models, fused Adam, eager); the other rows change "
            "the named option (`compile`: `torch.compile` of G and D, `--compile`).", "",
            common.table(["model", "loop", "images/s", "vs reference"], rows), ""]
    text += [f"- {n}" for n in notes]
    text += ["", "**Same maths, verified**: the reference gets ganzoo's initial weights, and both take the same "
             "real batches and the same noise (seeded per step) for 3 steps; the differences:", "",
             common.table(["model", "G / D parameters", "reference", "step 1: Δ D loss / Δ G loss",
                           "3 steps: max Δ D loss", "max Δ G loss", "max Δ weight"], checks), "",
             "Step 1 (identical weights) agrees to float rounding, except that the ResNet and SAGAN rows differ by "
             "about 1e-4 there: their spectrally normalised D estimates each weight's largest singular value by one "
             "power iteration per call, and the engine calls D once on the real and fake batches joined where the "
             "reference calls it twice (the same formula, a slightly different estimate). Later steps drift further "
             "for the DCGAN "
             "because Adam's first updates are about ±lr for every weight whatever the gradient's size, so "
             "a rounding-level difference in a near-zero gradient can flip a 2e-4 step; the drift stays "
             "within a few learning-rate steps (absolute differences throughout); the StyleGAN2-lite row's Adam "
             "takes 0.002-sized first steps (ten times the DCGAN's), so its drift is larger by as much.", "",
             "The losses are the same formulas written differently: the DCGAN reference is the example's "
             "`Sigmoid` + `BCELoss` (two `backward()` calls for D), ganzoo's non-saturating objective is "
             "`softplus` on logits (one backward of the summed D loss); the MLP reference uses "
             "`BCEWithLogitsLoss`, the ResNet and SAGAN references the hinge loss written out, the StyleGAN2-lite reference `softplus` with "
             "style mixing and R1 every 16th step written out. The differences above are float rounding (fused vs foreach Adam, "
             "different kernel order). What the engine saves: no D weight gradients in the G step, fused "
             "Adam, set_to_none gradients, statistics kept on the device between log lines, and for a D "
             "without batch statistics (the MLP's, the spectrally normalised ResNet's and SAGAN's) one D call on the "
             "real and fake batches joined instead of two (the DCGAN's BatchNorm D and the StyleGAN D's minibatch "
             "standard deviation keep two, as the references)."]
    return "\n".join(text)


def resnet_configs(smoke: bool, per: int) -> dict:
    """The ResNet (SNGAN) and SAGAN rows: the zoo's MNIST networks (G 32 channels per block, D 16, one extra D
    block, z 64, batch 64; SAGAN with attention at 14 x 14 and spectral norm in G), unconditional, hinge loss,
    each variant's Adam defaults (ResNet 2e-4 / 2e-4, SAGAN 1e-4 / 4e-4, betas (0, 0.9)); the references are
    benchmarks/reference_resnet.py's plain-PyTorch networks with the hinge step of :class:`RefLoop`."""
    import reference_resnet as rr

    size, g, d, nz, b = (8, 8, 8, 8, 16) if smoke else (28, 32, 16, 64, 64)
    base, k = (4, 1) if size == 8 else (7, 2)
    out = {}
    for variant, sn, attention, lrs in (("resnet", False, 0, (2e-4, 2e-4)), ("sagan", True, size // 2, (1e-4, 4e-4))):
        name = (f"{'SAGAN' if attention else 'ResNet (SNGAN)'} 1x{size}x{size} (z {nz}, G {g} / D {d} channels"
                f"{f', attention at {attention}x{attention}' if attention else ''}, hinge, batch {b})")
        out[name] = dict(
            variant=variant, nz=nz, batch=b, conv=True, probs=False, per=per, extra={},
            config={"sample_shape": [1, size, size], "latent_dim": nz, "g_width": g, "d_width": d, "d_extra": 1},
            data=torch.rand(4 * b, 1, size, size), engine={"objective": "hinge"},
            loop={"hinge": True, "g_lr": lrs[0], "d_lr": lrs[1], "betas": (0.0, 0.9)},
            ref=lambda sn=sn, attention=attention: (rr.Generator(nz, 1, base, k, g, sn=sn, attention=attention),
                                                    rr.Discriminator(1, size, d, 1, attention=attention)))
    return out


def stylegan_config(smoke: bool, per: int) -> dict:
    """The StyleGAN2-lite row: the zoo's MNIST networks (z and w 64, 4 mapping layers, G 48 / D 32 channels at
    7 x 7, batch 32), unconditional, non-saturating, style mixing 0.9, lazy R1 (gamma 0.05 every 16 D steps),
    Adam (0.002, betas (0, 0.99)); the reference is benchmarks/reference_stylegan.py's plain-PyTorch networks
    and its :class:`StyleLoop`. Timed over 16 iterations per repeat, so each repeat holds one lazy R1 step."""
    import reference_stylegan as rs

    size, g, d, nz, b, layers = (8, 16, 16, 8, 16, 2) if smoke else (28, 48, 32, 64, 32, 4)
    base, k = (4, 1) if size == 8 else (7, 2)
    name = f"StyleGAN2-lite 1x{size}x{size} (z = w {nz}, G {g} / D {d} channels, mixing, lazy R1, batch {b})"
    return {name: dict(
        variant="stylegan", nz=nz, batch=b, conv=True, probs=False, per=per if smoke else 16, extra={},
        config={"sample_shape": [1, size, size], "latent_dim": nz, "w_dim": nz, "mapping_layers": layers,
                "g_width": g, "d_width": d, "r1": 0.05},
        data=torch.rand(4 * b, 1, size, size), engine={}, loop_cls=rs.StyleLoop, loop={"gamma": 0.05},
        ref=lambda: (rs.Generator(nz, nz, layers, 1, base, k, g), rs.Discriminator(1, base, k, d)))}


def bench_training_gpu(args, tmp: Path) -> str:
    """The training comparison on a CUDA device: the fp32 reference loops against the engine in fp32,
    with its CUDA defaults (bf16 autocast, channels-last), compiled, and compiled with CUDA graphs."""
    dev = args.device
    if not torch.cuda.is_available():
        raise SystemExit(f"--device {dev}: no CUDA device is available here; run without --device for the CPU tables")
    smoke = args.smoke
    torch.manual_seed(0)
    size, width, n = (16, 8, 64) if smoke else (64, 64, 256)
    hidden = [32, 32] if smoke else [256, 256]
    per = {"conv": 2 if smoke else args.gpu_iters, "mlp": 2 if smoke else 4 * args.gpu_iters}
    warmup = 3 if smoke else 20  # cudnn.benchmark's search, compilation and the CUDA graphs' recording
    repeats = 2 if smoke else args.repeats
    configs = {
        f"DCGAN 3x{size}x{size} (nz 100, ngf=ndf={width}, batch 64)": dict(
            variant="dcgan", nz=100, batch=64, conv=True, probs=True, device=dev, per=per["conv"],
            config={"sample_shape": [3, size, size], "latent_dim": 100, "g_width": width, "d_width": width},
            data=torch.rand(n, 3, size, size), ref=lambda: ref_dcgan(3, size, 100, width, width), engine={}),
        f"MLP GAN 1x28x28 (z 64, hidden {'-'.join(map(str, hidden))}, batch 64)": dict(
            variant="mlp", nz=64, batch=64, conv=False, probs=False, device=dev, per=per["mlp"],
            config={"sample_shape": [1, 28, 28], "latent_dim": 64, "g_hidden": hidden, "d_hidden": hidden,
                    "g_norm": False},
            data=torch.rand(50 * 64, 1, 28, 28), ref=lambda: ref_mlp(784, 64, hidden), engine={}),
    }
    # issue 46's architectures: the CPU rows' networks (the zoo's MNIST sizes), each against its own reference
    for name, cfg in {**resnet_configs(smoke, per["conv"]), **stylegan_config(smoke, per["conv"])}.items():
        configs[name] = dict(cfg, device=dev, per=per["conv"] if cfg["variant"] != "stylegan" else
                             16 * max(1, per["conv"] // 16))   # whole lazy-R1 periods per timed block
    if args.rows:
        configs = {k: v for k, v in configs.items() if any(r.lower() in k.lower() for r in args.rows)}
    variants = {"ganzoo --precision fp32": {"precision": "fp32"},
                "ganzoo --precision fp32, contiguous": {"precision": "fp32", "channels_last": False},
                "ganzoo (CUDA defaults: bf16 autocast; channels-last for convolutions)": {},
                "ganzoo, contiguous": {"channels_last": False},
                "ganzoo --compile": {"compile": True},
                "ganzoo --cuda-graphs": {"cuda_graphs": True},
                "ganzoo --cuda-graphs --precision fp32": {"cuda_graphs": True, "precision": "fp32"},
                "ganzoo --compile --cuda-graphs": {"compile": True, "cuda_graphs": True}}
    if args.no_compile:
        variants = {k: v for k, v in variants.items() if "compile" not in k}
    rows, checks, notes = [], [], []
    for name, cfg in configs.items():
        v = verify_same_maths(cfg, tmp)
        checks.append([name, f"{v['first'][0]:.1e} / {v['first'][1]:.1e}", f"{v['d_loss']:.1e}", f"{v['g_loss']:.1e}",
                       f"{v['weights']:.1e}"])
        torch.manual_seed(0)
        G, D = cfg["ref"]()
        loops = {"reference (fp32, eager)": cfg.get("loop_cls", RefLoop)(
            G, D, nz=cfg["nz"], batch=cfg["batch"], data=cfg["data"], conv=cfg["conv"], probs=cfg["probs"], device=dev,
            **cfg.get("loop", {}))}
        for label, kw in variants.items():
            if "contiguous" in label and not cfg["conv"]:
                continue  # the memory format only matters for convolutions
            t0 = time.perf_counter()
            try:
                loop = EngineLoop(cfg["variant"], cfg["config"], cfg["data"], batch=cfg["batch"], tmp=tmp,
                                  device=dev, **cfg["engine"], **kw)
                for _ in range(3):
                    loop.step()
                _sync()
            except Exception as exc:  # noqa: BLE001 -- one option failing must not hide the others' numbers
                notes.append(f"{name}, {label}: FAILED ({type(exc).__name__}: {first_line(exc, 200)})")
                print(f"[speed] {name} {label}: {exc!r}", file=sys.stderr, flush=True)
                continue
            loops[label] = loop
            if kw.get("compile"):
                notes.append(f"{name}, {label}: the first 3 steps (compilation) took "
                             f"{time.perf_counter() - t0:.1f} s")
        ips = images_per_s(loops, batch=cfg["batch"], per=cfg["per"], repeats=repeats, warmup=warmup)
        base = ips["reference (fp32, eager)"]
        for k, val in ips.items():
            rows.append([name, k, val, f"{val / base:.2f}x"])
            print(f"[speed] {name} | {k} | {val:,.0f} images/s | {val / base:.2f}x", file=sys.stderr, flush=True)
        if args.profile:  # where the GPU time goes (stderr only)
            from torch.profiler import ProfilerActivity, profile

            for k in [k for k in loops if k.startswith(("reference", "ganzoo (CUDA defaults", "ganzoo --cuda-graphs"))]:
                with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                    for _ in range(5):
                        loops[k].step()
                    _sync()
                try:
                    table = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=12,
                                                      max_name_column_width=70)
                except Exception as exc:  # noqa: BLE001 -- a diagnostic only
                    table = f"(no table: {exc!r})"
                print(f"[profile] {name} | {k}\n{table}", file=sys.stderr, flush=True)
    text = ["### Training throughput on the GPU: engine vs the fp32 plain PyTorch reference", "",
            f"Images/s (real images per second, K = 1), median of {repeats} interleaved repeats (ABBA order) of "
            + ", ".join(f"{c['per']} ({k.split(' (')[0].split(' 1x')[0]})" for k, c in configs.items())
            + f" iterations after {warmup} warm-up iterations per loop, "
            "with `torch.cuda.synchronize()` around each timed block; ratio = loop / reference. The reference is "
            "the pytorch/examples loop as written (fp32, eager; PyTorch's defaults: cuDNN may use TF32 for "
            "convolutions, matrix products stay fp32; `cudnn.benchmark` on, as the example sets it). Goal: "
            "ganzoo >= 2x the fp32 reference.", "",
            common.table(["model", "loop", "images/s", "vs reference"], rows), ""]
    text += [f"- {x}" for x in notes]
    text += ["", "**Same maths on the GPU** (engine in fp32 against the reference, same weights, batches and "
             "noise for 3 steps; absolute differences):", "",
             common.table(["model", "step 1: Δ D loss / Δ G loss", "3 steps: max Δ D loss", "max Δ G loss",
                           "max Δ weight"], checks)]
    return "\n".join(text)


# -- CLI start-up ---------------------------------------------------------------------------------
def _time_cmd(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def bench_cli(args) -> str:
    exe = shutil.which("ganzoo", path=str(Path(PYTHON).parent)) or shutil.which("ganzoo")
    gz = [exe] if exe else [PYTHON, "-m", "ganzoo.cli"]
    cmds = {"python -c 'import torch'": [PYTHON, "-c", "import torch"],
            "ganzoo --help": gz + ["--help"],
            "ganzoo list": gz + ["list"]}
    n = 1 if args.smoke else args.cli_repeats
    for c in cmds.values() if not args.smoke else ():  # warm the page cache
        _time_cmd(c)
    times = {k: [] for k in cmds}
    for r in range(n):
        for k in (cmds if r % 2 == 0 else reversed(list(cmds))):
            times[k].append(_time_cmd(cmds[k]))
    base = common.median(times["python -c 'import torch'"])
    rows = [[k, common.median(v), f"{common.median(v) / base:.2f}x"] for k, v in times.items()]
    return "\n".join(["### CLI start-up", "",
                      f"Wall time of fresh processes (`{Path(gz[0]).name}` from the same virtualenv), median of {n} "
                      "interleaved runs after one warm-up run each (none with --smoke); goal ≤ 0.3x `import torch`.", "",
                      common.table(["command", "seconds", "vs import torch"], rows)])


# -- loading and sampling ------------------------------------------------------------------------
def bench_load(args, tmp: Path) -> str:
    import safetensors.torch as st

    import ganzoo

    folder = tmp / "dcgan28"
    torch.manual_seed(0)
    model = ganzoo.create("dcgan", "non-saturating", sample_shape=[1, 28, 28])
    model.save(folder)
    refs = {"model folder (DCGAN 1x28x28)": str(folder)}
    bundled, zoo_note = ganzoo.list_models(), ""
    usable = []
    for name in bundled:  # zoo models that load and sample unconditionally here; a GAN preferred
        try:
            m = ganzoo.load(name)
            m.sample(64)
        except Exception as exc:  # noqa: BLE001 -- report, don't fail the benchmark
            zoo_note += f" Zoo model {name!r} skipped: {first_line(exc, 120)}."
            continue
        usable.append((m.kind != "gan", name))
    if usable:
        name = min(usable)[1]
        refs[f"zoo name {name!r} (bundled)"] = name
    reps = 1 if args.smoke else args.repeats
    rows = []
    for label, ref in refs.items():
        code = ("import time; t0 = time.perf_counter(); import ganzoo; m = ganzoo.load(%r); x = m.sample(64); "
                "print(time.perf_counter() - t0)" % ref)
        cold, inner = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
            cold.append(time.perf_counter() - t0)
            inner.append(float(out.stdout.strip().splitlines()[-1]))
        ganzoo.load(ref).sample(64)
        warm = []
        for _ in range(reps * 3):
            t0 = time.perf_counter()
            ganzoo.load(ref).sample(64)
            warm.append(time.perf_counter() - t0)
        rows.append([label, common.median(cold), common.median(inner), common.median(warm) * 1000])
    text = ["### Load by name/folder to the first batch of 64 samples", "",
            f"Cold: a fresh `python -c` process (total wall time, and the part after interpreter start-up: "
            f"`import ganzoo` + `load` + `sample(64)`), median of {reps}; warm: in-process, median of {reps * 3}. "
            + ("" if bundled else "The zoo has no bundled models yet (`ganzoo list` is empty), so only a local "
               "model folder is timed.") + zoo_note, "",
            common.table(["model", "cold process (s)", "import+load+sample (s)", "warm load+sample (ms)"], rows), ""]
    # sampling throughput
    G = ganzoo.load(str(folder)).generator
    srows = []
    for n in ((16, 64) if args.smoke else (16, 64, 256, 1024)):
        G.sample(n)
        ts = []
        for _ in range(2 if args.smoke else 5):
            t0 = time.perf_counter()
            G.sample(n)
            ts.append(time.perf_counter() - t0)
        srows.append([n, n / common.median(ts)])
    text += ["Sampling throughput of the DCGAN 1x28x28 generator (`model.sample(n)`, eval mode, no grad):", "",
             common.table(["batch", "samples/s"], srows), ""]
    # safetensors vs torch.load
    from ganzoo.weights import load_into

    rows2 = []
    for label, module in (("DCGAN 1x28x28 generator", G),
                          ("DCGAN 3x64x64 G + D", ganzoo.create("dcgan", "non-saturating",
                                                                sample_shape=[3, 64, 64]).components)):
        sd = {k: v.contiguous() for k, v in module.state_dict().items()}
        st_path, pt_path = tmp / "w.safetensors", tmp / "w.pt"
        st.save_file(sd, str(st_path))
        torch.save(sd, str(pt_path))
        mb = st_path.stat().st_size / 2**20
        fns = {"safetensors load_file": lambda: st.load_file(str(st_path)),
               "torch.load(weights_only=True)": lambda: torch.load(str(pt_path), weights_only=True),
               "ganzoo weights.load_into (checked)": lambda: load_into(module, st_path),
               "torch.load + load_state_dict": lambda: module.load_state_dict(
                   torch.load(str(pt_path), weights_only=True))}
        times = {k: [] for k in fns}
        for f in fns.values():
            f()
        for r in range(3 if args.smoke else 21):
            for k in (fns if r % 2 == 0 else reversed(list(fns))):
                t0 = time.perf_counter()
                fns[k]()
                times[k].append(time.perf_counter() - t0)
        base = common.median(times["torch.load(weights_only=True)"])
        for k, v in times.items():
            rows2.append([f"{label} ({mb:.1f} MiB)", k, common.median(v) * 1000,
                          f"{common.median(v) / base:.2f}x"])
    text += ["Loading the same state dict (in-process, warm page cache, interleaved, median of "
             f"{3 if args.smoke else 21}); ratio against `torch.load(weights_only=True)`:", "",
             common.table(["weights", "loader", "ms", "vs torch.load"], rows2)]
    return "\n".join(text)


# -- scaling ---------------------------------------------------------------------------------------
def write_fake_mnist(folder: Path, n: int) -> None:
    import struct

    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    lab = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
    (folder / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + img.numpy().tobytes())
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + lab.numpy().tobytes())


def bench_scaling(args, tmp: Path) -> str:
    hidden = [32, 32] if args.smoke else [256, 256]
    batches = (16, 32) if args.smoke else (16, 32, 64, 128, 256)
    per_img = 4 if args.smoke else 2560  # images per timed repeat
    reps = 2 if args.smoke else args.repeats
    data = torch.rand(4096 if not args.smoke else 512, 1, 28, 28)
    rows = []
    for b in batches:
        torch.manual_seed(0)
        G, D = ref_mlp(784, 64, hidden)
        loops = {"reference": RefLoop(G, D, nz=64, batch=b, data=data, conv=False, probs=False),
                 "ganzoo": EngineLoop("mlp", {"sample_shape": [1, 28, 28], "latent_dim": 64, "g_hidden": hidden,
                                              "d_hidden": hidden, "g_norm": False}, data, batch=b, tmp=tmp)}
        per = max(1, per_img // b) if not args.smoke else 2
        ips = images_per_s(loops, batch=b, per=per, repeats=reps, warmup=3)
        rows.append([b, ips["reference"], ips["ganzoo"], f"{ips['ganzoo'] / ips['reference']:.2f}x"])
    text = ["### How cost grows", "",
            f"MLP GAN 1x28x28 (z 64, hidden {'-'.join(map(str, hidden))}), images/s against batch size "
            f"(median of {reps} interleaved repeats of about {per_img} images):", "",
            common.table(["batch", "reference img/s", "ganzoo img/s", "ratio"], rows), ""]
    if args.smoke or args.no_ddp:
        text.append("DDP: skipped (" + ("smoke run" if args.smoke else "--no-ddp") + ").")
        return "\n".join(text)
    mnist = tmp / "mnist"
    write_fake_mnist(mnist, 8192)
    steps, batch = args.ddp_steps, 64
    ddp_rows, cmd_shown = [], None
    results = {1: [], 2: []}
    for r in range(args.ddp_repeats):
        for nproc in ((1, 2) if r % 2 == 0 else (2, 1)):
            out = tmp / f"ddp{nproc}-{r}"
            cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                   "-m", "ganzoo.cli", "train", "mlp", "--data", f"mnist:{mnist}", "--out", str(out),
                   "--steps", str(steps), "--batch-size", str(batch), "--log-every", "25", "--sample-every",
                   str(steps), "--checkpoint-every", str(steps), "--no-progress", "--device", "cpu",
                   "--set", "latent_dim=64", "--set", f"g_hidden={json.dumps(hidden)}",
                   "--set", f"d_hidden={json.dumps(hidden)}", "--set", "g_norm=false"]
            env = dict(os.environ, OMP_NUM_THREADS=str(max(1, torch.get_num_threads() // nproc)))
            cmd_shown = cmd_shown or shlex.join(["torchrun"] + cmd[3:]).replace(str(tmp), "$TMP")
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
            sps = [x["steps_per_s"] for x in recs if "steps_per_s" in x and x.get("steps_per_s")][1:]
            results[nproc].append((common.median(sps) * batch * nproc, wall))
    for nproc, vals in results.items():
        ips = common.median([v[0] for v in vals])
        ddp_rows.append([nproc, max(1, torch.get_num_threads() // nproc), batch, ips, common.median([v[1] for v in vals])])
    ratio = ddp_rows[1][3] / ddp_rows[0][3]
    text += [f"Data parallel: `{cmd_shown}` (a random 8,192-image MNIST-format set; batch {batch} per process, "
             f"OMP_NUM_THREADS = threads / processes, at least 1). Images/s in total from the engine's own per-interval "
             f"timing in metrics.jsonl (first interval dropped), median of {args.ddp_repeats} interleaved runs; "
             "wall time includes process start, set-up and the final checkpoint.", "",
             common.table(["processes", "threads each", "batch each", "images/s total", "wall s"], ddp_rows), "",
             f"2 processes / 1 process: **{ratio:.2f}x**." +
             (" On this 2-core machine two processes only split the same cores (and add gloo all-reduces), so no "
              "gain is expected; DDP pays with more cores or GPUs." if (os.cpu_count() or 1) <= 2 else "")]
    return "\n".join(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes and repeats (seconds; for CI)")
    p.add_argument("--output", default=str(common.DEFAULT_OUTPUT), help="markdown file to update")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats (medians)")
    p.add_argument("--cli-repeats", type=int, default=7)
    p.add_argument("--ddp-steps", type=int, default=300)
    p.add_argument("--ddp-repeats", type=int, default=3)
    p.add_argument("--no-ddp", action="store_true")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows (slow to compile)")
    p.add_argument("--only", default=None, help="comma list of parts (default train,cli,load,scaling; with "
                   "--device: train)")
    p.add_argument("--rows", default=None, type=lambda s: [r for r in s.split(",") if r],
                   help="comma list: only the training rows whose model name contains one (case-insensitive), "
                        "written to their own section speed-ROWS (e.g. --only train --rows stylegan; with --device: "
                        "speed-gpu-ROWS)")
    p.add_argument("--device", default=None, help="cuda, cuda:1, ...: the training comparison on that GPU instead "
                   "(writes the speed-gpu section)")
    p.add_argument("--profile", action="store_true", help="with --device: print torch.profiler tables to stderr")
    p.add_argument("--gpu-iters", type=int, default=50, help="DCGAN iterations per timed repeat on the GPU (MLP: 4x)")
    args = p.parse_args(argv)
    if args.device is not None and args.device.split(":")[0] != "cuda":
        p.error(f"--device takes a CUDA device (cuda, cuda:1), not {args.device!r}; the CPU tables need no --device")
    if args.only is None:
        args.only = "train" if args.device else "train,cli,load,scaling"
    started, load0 = time.perf_counter(), common.loadavg()
    cores = os.cpu_count() or 1
    busy = float(load0.split("/")[0]) > cores / 2 if load0 != "n/a" else False
    # OpenMP threads that outnumber the free cores collapse (spin-waiting threads get descheduled):
    # on a busy machine measure with one thread, on a quiet one with all cores
    threads = args.threads or (1 if busy else cores)
    why = ("--threads" if args.threads else
           f"auto: 1 because the 1-min load average was {load0.split('/')[0]} at start" if busy else "auto: all cores")
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # subprocesses (CLI, cold loads, 1-process DDP) too
    parts = [x.strip() for x in args.only.split(",") if x.strip()]
    funcs = {"train": lambda tmp: (bench_training_gpu if args.device else bench_training)(args, tmp),
             "cli": lambda tmp: bench_cli(args),
             "load": lambda tmp: bench_load(args, tmp), "scaling": lambda tmp: bench_scaling(args, tmp)}
    for part in parts:
        if part not in funcs:
            p.error(f"unknown part {part!r}; choose from {', '.join(funcs)}")
    body, failed = [], []
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as d:
        for part in parts:
            t0 = time.perf_counter()
            try:
                body.append(funcs[part](Path(d)))
            except Exception as exc:  # noqa: BLE001 -- keep the other parts' results, then fail
                import traceback

                traceback.print_exc()
                failed.append(part)
                body.append(f"### {part}: FAILED\n\n`{type(exc).__name__}: {first_line(exc, 300)}`")
            print(f"[speed] {part}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if args.device:
        title, section = "Speed on a GPU", "speed-gpu"
        if args.rows:
            title, section = f"{title}: {', '.join(args.rows)} rows", "speed-gpu-" + "-".join(r.lower() for r in args.rows)
        extra = {"device": f"{args.device}: {torch.cuda.get_device_name()}, CUDA {torch.version.cuda}, cuDNN "
                           f"{torch.backends.cudnn.version()}",
                 "repeats": str(args.repeats)}
    else:
        title, section = "Speed", "speed"
        if args.rows:
            title, section = f"Speed: {', '.join(args.rows)} rows", "speed-" + "-".join(r.lower() for r in args.rows)
        extra = {"threads": f"{threads} ({why}), the same for the engine and the references",
                 "repeats": f"{args.repeats} (training, loading), {args.cli_repeats} (CLI)"}
    head = common.preamble(title=title, threads=threads, started=started, load_start=load0, smoke=args.smoke,
                           extra=extra)
    path = common.write_section(args.output, section, head + "\n" + "\n\n".join(body))
    print(f"wrote the {section} section of {path}")
    if failed:
        sys.exit(f"failed parts: {', '.join(failed)}")


if __name__ == "__main__":
    main()
