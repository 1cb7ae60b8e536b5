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
from loops import (EngineLoop, RefLoop, flops_per_step, images_per_s, ref_dcgan, ref_mlp,  # noqa: E402
                   resnet_configs, stylegan_config, verify_same_maths)
from speed_gpu import bench_training_gpu  # noqa: E402

import torch  # noqa: E402

from ganzoo.errors import first_line  # noqa: E402

PYTHON = sys.executable


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
