"""Quality benchmark: every GAN objective ganzoo has, on the 2-D mixtures ring8 and grid25 (VEEGAN /
PacGAN protocol: modes captured, % high-quality samples, reverse KL), several seeds per
configuration, mean ± std beside the published rows.

    python benchmarks/quality.py                        # full: 10 objectives x 2 mixtures x 5 seeds (hours of CPU)
    python benchmarks/quality.py --jobs 2 --preset baseline --objectives non-saturating,wgan-gp
    python benchmarks/quality.py --preset baseline --seeds 2 --objectives rsgan,rasgan,ralsgan,rahinge \
        --section quality-relativistic                  # some objectives into their own section
    python benchmarks/quality.py --smoke                # seconds; what CI runs (numbers meaningless)

Each run trains the ``mlp`` variant through :func:`ganzoo.train` and scores it with
:func:`ganzoo.metrics.evaluate` (2,500 samples, the ``modes`` metric). The results replace the
``quality`` section of BENCHMARKS.md (the ``baseline`` and ``smoke`` presets) or the
``quality-PRESET`` section (any other preset, e.g. ``quality-best``). A *preset* names a whole
training configuration (steps, batch, widths, latent size, learning rate, schedule, PacGAN packing,
Gaussian-mixture latent, self-conditioning on k-means clusters);
``--set KEY=VALUE`` overrides one key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

OBJECTIVES = ("minimax", "non-saturating", "wgan", "wgan-gp", "hinge", "lsgan", "rsgan", "rasgan", "ralsgan", "rahinge")
DATASETS = ("ring8", "grid25")
GOAL = {"hq": 0.97, "rkl": 0.02}

# A preset is one training configuration for all objectives; None means "the objective's default"
# (e.g. d_steps 5 and RMSprop for wgan, lr 1e-4 / Adam(0, 0.9) for wgan-gp).
BEST = dict(steps=40000, batch_size=512, g_hidden=[256, 256, 256], d_hidden=[256, 256, 256], latent_dim=2,
            lr=None, lr_schedule="linear", pack=2, ema=None, d_steps=None, mixture=0, clusters=0)
PRESETS = {
    # the objectives' own defaults on a mid-sized MLP: shows where each objective stands
    "baseline": dict(steps=5000, batch_size=256, g_hidden=[128, 128], d_hidden=[128, 128], latent_dim=16,
                     lr=None, lr_schedule="constant", pack=1, ema=None, d_steps=None, mixture=0, clusters=0),
    # the best plain (unconditioned) configuration (zoo: *-mlp-pacgan2): PacGAN2, three hidden layers in G and D, a
    # 2-D latent (the data's own dimension), 40k steps, linear LR decay; its numbers are in the quality-best section
    "best": BEST,
    # best with a Gaussian-mixture latent of 512 components (std 0.1): the gaps between components give G
    # somewhere to jump between modes without bridge samples; its numbers are in the quality-mixture section.
    # With 128 components (--set mixture=128) grid25 gave 96.0 +- 1.7% high quality over 5 seeds: a few whole
    # components sat just outside 3 std of their mode, and with more, smaller components that costs less.
    "mixture": dict(BEST, mixture=512),
    # best made self-conditioned (Liu et al. 2020): G and D take the k-means cluster (of 50) of each training
    # point as a label, and the model draws its cluster from the clusters' shares when sampled; one
    # configuration for both datasets (50 clusters is neither's number of modes); half best's steps.
    "selfcond": dict(BEST, steps=20000, clusters=50),
    # CI: seconds
    "smoke": dict(steps=50, batch_size=64, g_hidden=[32, 32], d_hidden=[32, 32], latent_dim=4,
                  lr=None, lr_schedule="constant", pack=1, ema=None, d_steps=None, mixture=0, clusters=0),
}

# (modes, % high quality, reverse KL); None = not reported
PUBLISHED = {
    "ring8": [("GAN", 6.3, 98.2, 0.45), ("ALI", 6.6, 97.6, 0.36), ("PacGAN2", 7.9, 95.6, 0.07),
              ("PacGAN3", 7.8, 97.7, 0.10), ("PacGAN4", 7.8, 95.9, 0.07), ("VEEGAN", 8, 52.9, None),
              ("Unrolled GAN", 7.6, 35.6, None)],
    "grid25": [("GAN", 17.3, 94.8, 0.70), ("ALI", 24.1, 95.7, 0.14), ("PacGAN2", 23.8, 91.3, 0.13),
               ("PacGAN3", 24.6, 94.2, 0.06), ("PacGAN4", 24.8, 93.6, 0.04), ("VEEGAN", 24.6, 40.0, None),
               ("WGAN-GP", 24.2, 28.7, None)],
}
SOURCES = ("PacGAN (Lin et al. 2018) Table 1; VEEGAN (Srivastava et al. 2017) Table 1; "
           "GDPP (Elfeki et al. 2019) Table 1")


def run_one(job: dict) -> dict:
    """Train one (objective, dataset, seed) and evaluate it; runs in a worker process."""
    import torch

    torch.set_num_threads(job["threads"])
    import ganzoo
    from ganzoo.metrics import evaluate

    p = job["preset"]
    config = {"g_hidden": p["g_hidden"], "d_hidden": p["d_hidden"], "latent_dim": p["latent_dim"]}
    if p.get("pack", 1) != 1:
        config["pack"] = p["pack"]
    if p.get("mixture"):
        config["mixture"] = p["mixture"]
    clusters = {"conditional": True, "data_options": {"clusters": p["clusters"]}} if p.get("clusters") else {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ganzoo-quality-") as d:
        model = ganzoo.train("mlp", job["objective"], data=job["dataset"], out=Path(d) / "run", steps=p["steps"],
                             batch_size=p["batch_size"], lr=p.get("lr"), lr_schedule=p.get("lr_schedule"),
                             d_steps=p.get("d_steps"), ema=p.get("ema"), seed=job["seed"], device="cpu",
                             progress=False, log_every=max(1, min(500, p["steps"])), sample_every=p["steps"],
                             checkpoint_every=p["steps"], config=config, **clusters)
        m = evaluate(model, job["dataset"], seed=job["seed"])["metrics"]["modes"]
    return dict(job, preset=None, modes=m["modes"], modes_total=m["modes_total"], hq=m["hq_fraction"],
                rkl=m["reverse_kl"], spread=m["spread"], seconds=time.perf_counter() - t0)


def _pm(m, s, digits):
    if m != m:
        return "nan"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def report(results: list[dict], args, preset: dict) -> str:
    lines = []
    for ds in args.datasets:
        rows = []
        for name, modes, hq, rkl in PUBLISHED.get(ds, []):
            rows.append([f"{name} (published)", f"{modes}", f"{hq}", "–" if rkl is None else f"{rkl:.2f}", "–", "", ""])
        for obj in args.objectives:
            rs = [r for r in results if r["dataset"] == ds and r["objective"] == obj]
            if not rs:
                continue
            total = rs[0]["modes_total"]
            mm, ms = common.mean_std([r["modes"] for r in rs])
            hm, hs = common.mean_std([100 * r["hq"] for r in rs])
            km, ks = common.mean_std([r["rkl"] for r in rs])
            sm, ss = common.mean_std([r["spread"] for r in rs])
            all_modes = all(r["modes"] == total for r in rs)
            goal = all_modes and hm >= 100 * GOAL["hq"] and km <= GOAL["rkl"]
            rows.append([f"**ganzoo mlp / {obj}**", _pm(mm, ms, 1), _pm(hm, hs, 1), _pm(km, ks, 3), _pm(sm, ss, 2),
                         f"{len(rs)}", "yes" if goal else "no"])
        lines += [f"### {ds}", "",
                  common.table(["model", f"modes (of {8 if ds == 'ring8' else 25})", "% high quality",
                                "reverse KL", "spread", "seeds", "goal met"], rows), ""]
    per_run = [f"{r['dataset']} {r['objective']} seed {r['seed']}: modes {r['modes']}/{r['modes_total']}, "
               f"hq {100 * r['hq']:.1f}%, reverse KL {r['rkl']:.4f}, spread {r['spread']:.2f} ({r['seconds']:.0f} s)"
               for r in results]
    lines += ["<details><summary>every run</summary>", "", *[f"- {x}" for x in per_run], "", "</details>"]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="1 seed x 2 objectives x ring8 x 50 steps (for CI)")
    p.add_argument("--output", default=str(common.DEFAULT_OUTPUT), help="markdown file to update")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS), help="training configuration "
                   "(default: best; smoke with --smoke)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset key (JSON value), e.g. --set steps=2000 --set pack=2")
    p.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 5; smoke 1)")
    p.add_argument("--objectives", default=None, help=f"comma list (default: all, {','.join(OBJECTIVES)})")
    p.add_argument("--datasets", default=None, help=f"comma list (default: {','.join(DATASETS)})")
    p.add_argument("--jobs", type=int, default=1, help="parallel training processes")
    p.add_argument("--section", default=None, help="BENCHMARKS.md section to write (default: quality for the "
                   "baseline and smoke presets, quality-PRESET for the others)")
    args = p.parse_args(argv)
    if args.smoke:
        args.preset = args.preset or "smoke"
        args.seeds = args.seeds or 1
        args.objectives = args.objectives or "non-saturating,minimax"
        args.datasets = args.datasets or "ring8"
    args.seeds = args.seeds or 5
    args.objectives = args.objectives or ",".join(OBJECTIVES)
    args.datasets = args.datasets or ",".join(DATASETS)
    preset = dict(PRESETS[args.preset or "best"])
    for kv in args.sets:
        k, sep, v = kv.partition("=")
        if not sep or k not in preset:
            p.error(f"--set takes KEY=VALUE with KEY one of {', '.join(preset)}; got {kv!r}")
        preset[k] = json.loads(v)
    args.objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    cores = os.cpu_count() or 1
    threads = max(1, cores // max(1, args.jobs))
    started, load0 = time.perf_counter(), common.loadavg()
    jobs = [dict(objective=o, dataset=d, seed=s, threads=threads, preset=preset)
            for d in args.datasets for o in args.objectives for s in range(args.seeds)]
    results = []
    if args.jobs > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as ex:
            for r in ex.map(run_one, jobs):
                results.append(r)
                print(f"[quality] {r['dataset']} {r['objective']} seed {r['seed']}: modes {r['modes']}, "
                      f"hq {r['hq']:.3f}, rkl {r['rkl']:.4f}", file=sys.stderr, flush=True)
    else:
        for job in jobs:
            r = run_one(job)
            results.append(r)
            print(f"[quality] {r['dataset']} {r['objective']} seed {r['seed']}: modes {r['modes']}, "
                  f"hq {r['hq']:.3f}, rkl {r['rkl']:.4f}", file=sys.stderr, flush=True)
    shown = {k: v for k, v in preset.items() if v is not None}
    head = common.preamble(
        title=f"Quality: 2-D mixtures, preset `{args.preset or 'best'}`", threads=threads, started=started,
        load_start=load0, smoke=args.smoke,
        caveat="only the seconds per run suffer; the quality numbers do not depend on the load",
        extra={"preset": f"`{args.preset or 'best'}` = `{json.dumps(shown)}` (unset keys: the objective's "
                         "defaults, e.g. K = 5 critic steps for wgan/wgan-gp)",
               "protocol": "mlp variant via `ganzoo.train`, scored by `ganzoo.metrics.evaluate` (2,500 samples; "
                           "high quality = within 3 std of the nearest centre; a mode is captured by >= 1 "
                           "high-quality sample; reverse KL of the high-quality histogram vs uniform, nats; "
                           "spread = RMS distance of high-quality samples to their centre over the true "
                           "mixture's, about 1 for the true mixture and below 1 when samples bunch at the "
                           "centres, which the other three numbers cannot see -- not a published number)",
               "runs": f"{len(args.objectives)} objectives x {len(args.datasets)} datasets x {args.seeds} seeds, "
                       f"{args.jobs} parallel job(s) of {threads} thread(s); mean ± std over seeds",
               "goal": f"all modes in every seed, >= {100 * GOAL['hq']:.0f}% high quality, reverse KL <= "
                       f"{GOAL['rkl']} (beats every published row at once)",
               "published rows": SOURCES})
    section = args.section or ("quality" if (args.preset or "best") in ("baseline", "smoke")
                               else f"quality-{args.preset or 'best'}")
    path = common.write_section(args.output, section, head + "\n" + report(results, args, preset))
    print(f"wrote the {section} section of {path}")


if __name__ == "__main__":
    main()
