"""The training comparison on a CUDA device (``python benchmarks/speed.py --device cuda``): the fp32 reference
loops against the engine in fp32, with its CUDA defaults (bf16 autocast, channels-last), compiled, and with
CUDA graphs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from loops import (EngineLoop, RefLoop, images_per_s, ref_dcgan, ref_mlp, resnet_configs, sync,  # noqa: E402
                   stylegan_config, verify_same_maths)

import torch  # noqa: E402

from ganzoo.errors import first_line  # noqa: E402


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
                sync()
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
                    sync()
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
