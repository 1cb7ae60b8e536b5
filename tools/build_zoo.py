"""Build the pretrained zoo: train, evaluate, write the card, bundle, pin.

    python tools/build_zoo.py ring8-mlp-nonsat     # one model
    python tools/build_zoo.py --all                # every recipe
    python tools/build_zoo.py --list               # the recipes and their commands
    python tools/build_zoo.py --rescore NAME       # re-evaluate the bundled copy, no training
    python tools/build_zoo.py --render NAME        # write card, config.json, pictures again; no training or scoring
    python tools/build_zoo.py --tables             # only rewrite the zoo tables of docs/zoo.md

For each NAME it runs ``ganzoo train ... --out runs/zoo/NAME`` and ``ganzoo eval runs/zoo/NAME
--json`` (the exact commands are in RECIPES and in the model card; a recipe with a ``prior`` trains a second
stage, ``--stage prior``, and one with ``evals`` merges several evaluations; one with a ``probe`` adds the
``linear-probe`` on the whole dataset), draws the sample picture, renders
the model card, copies config.json, the generator (and encoder, prior) weights, README.md and samples.png (and the
recipe's "pictures": ganzoo commands run on the model, shown on the card) into ``plugins/zoo/models/NAME``
and pins every file's sha256 in ``plugins/zoo/registry.yaml``.
Run it from the repository root, with the checkout installed (``bash scripts/setup.sh``): it is a
maintainer tool, kept out of the installed package. MNIST recipes read ``../shared/data/mnist`` (the
MNIST *test* split, which is all this project's machines have; the cards say so).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the checkout: the zoo is written into its source tree
MODELS = ROOT / "plugins" / "zoo" / "models"
REGISTRY = ROOT / "plugins" / "zoo" / "registry.yaml"
MNIST = "mnist:../shared/data/mnist"

# The same MLP for every objective; the Wasserstein critics take K = 5 steps per generator step, so
# they get a third of the generator steps (more critic updates in all).
NET = "--lr-schedule linear --set g_hidden=[128,128] --set d_hidden=[128,128] --set latent_dim=8"
TOY = f"--steps 10000 -b 256 {NET}"
BEST = f"--steps 15000 -b 512 {NET}"   # the non-saturating models get the longer, larger-batch run
TOY_K5 = f"--steps 3000 -b 256 {NET}"
OBJECTIVES = {"nonsat": "non-saturating", "minimax": "minimax", "wgan": "wgan", "wgangp": "wgan-gp",
              "hinge": "hinge", "lsgan": "lsgan"}

RECIPES: dict[str, dict] = {}
for _ds in ("ring8", "grid25"):
    for _short, _obj in OBJECTIVES.items():
        RECIPES[f"{_ds}-mlp-{_short}"] = {
            "variant": "mlp", "objective": _obj, "data": _ds,
            "train": TOY_K5 if _obj in ("wgan", "wgan-gp") else BEST if _obj == "non-saturating" else TOY,
            "summary": f"MLP GAN on {_ds}, {_obj} objective",
        }
# Two of these recipes fail on ring8 (seed 0): kept, and labelled, as what a failed run scores.
FAILURES = {
    "ring8-mlp-hinge": "collapsed onto one spot between two modes",
    "ring8-mlp-wgangp": "spread in a broad cloud beside the ring, off every mode",
}
for _name, _what in FAILURES.items():
    RECIPES[_name]["summary"] += f" -- a failure example: 0 of 8 modes ({_what})"
    RECIPES[_name]["note"] = (f"A failure example, kept on purpose: with this recipe (seed 0) the generator ended "
                              f"{_what}, no sample within 3 standard deviations of any of the 8 modes (the picture "
                              "shows it). The ring8 models with PacGAN or self-conditioning (ring8-mlp-pacgan2, "
                              "ring8-mlp-selfcond) capture all eight.")
# PacGAN2 (Lin et al. 2018): D judges pairs of samples; three hidden layers in G and D, a 2-D latent (the
# data's own dimension) and 40k steps with linear LR decay: `benchmarks/quality.py --preset best`, which
# reports five seeds. The zoo ships seed 0 for ring8 (all five meet the goal) and, for grid25, the best of
# the five (see its note). (Latent 8 and G [128, 128] instead: ring8 reverse KL 0.15, 20/25 grid modes.)
NET2D = ("-b 512 --lr-schedule linear --set g_hidden=[256,256,256] --set d_hidden=[256,256,256] --set latent_dim=2 "
         "--set pack=2")
PACGAN2 = f"--steps 40000 {NET2D}"
for _ds, _seed in (("ring8", 0), ("grid25", 1)):
    RECIPES[f"{_ds}-mlp-pacgan2"] = {
        "variant": "mlp", "objective": "non-saturating", "data": _ds, "seed": _seed,
        "train": PACGAN2,
        "summary": f"PacGAN2 MLP on {_ds}: D sees pairs of samples (non-saturating, 2-D latent, 40k steps"
                   + (", best of 5 seeds)" if _seed else ")"),
        "note": "Training seed 1 is the best of the five seeds of `python benchmarks/quality.py --preset best` "
                "(high quality 92.2, 97.7, 80.2, 97.0 and 96.8% for seeds 0-4, scored with the training seed as "
                "the sampling seed): this recipe with another seed does not reliably reach 97%." if _seed else "",
    }
# Self-conditioned (Liu et al. 2020; `benchmarks/quality.py --preset selfcond`): the same networks, half the
# steps, G and D conditioned on the k-means cluster (of 50) of each training point; sampled, the model draws
# its cluster from the clusters' shares. One configuration for both datasets. Seed 0, not picked.
SELFCOND = f"--steps 20000 {NET2D} --conditional --data-opt clusters=50"
for _ds in ("ring8", "grid25"):
    RECIPES[f"{_ds}-mlp-selfcond"] = {
        "variant": "mlp", "objective": "non-saturating", "data": _ds, "seed": 0,
        "train": SELFCOND,
        "summary": f"Self-conditioned PacGAN2 MLP on {_ds}: G and D see one of 50 k-means clusters (20k steps)",
        "note": "Training seed 0, not picked: `python benchmarks/quality.py --preset selfcond` trains this recipe "
                "with seeds 0-4 on both datasets (BENCHMARKS.md, section quality-selfcond).",
    }
# The MNIST models that learn without labels: G and D see the k-means cluster (of 50, on raw pixels) of
# each training image, as the class-conditional DCGAN sees its class; sampled, a model draws its cluster
# from the clusters' shares.
MNIST_SELFCOND = "-b 64 --lr-schedule linear --conditional --data-opt clusters=50"
CPU_NOTE = ("Trained on this project's shared 2-core CPU machine (one thread, through its job queue; no GPU), seed 0, "
            "not picked.")
# the class-conditional ResNet trunk of mnist-resnet-hinge and mnist-sagan (issue 46), before their optimisers
RESNET_MNIST = ("-b 64 --lr-schedule linear --ema 0.999 --conditional --set latent_dim=64 --set g_width=32 "
                "--set d_width=32 --set d_extra=1")


def _selfcond_summary(what: str) -> str:
    return f"Self-conditioned {what} on MNIST: G and D see one of 50 k-means clusters, no class labels"


RECIPES.update({
    "digits-dcgan-nonsat": {
        "variant": "dcgan", "objective": "non-saturating", "data": "digits",
        "train": "--steps 20000 -b 64 --ema 0.999 --set g_width=128 --set d_width=64 --set latent_dim=32",
        "summary": "DCGAN on scikit-learn's 8x8 digits",
    },
    "digits-vae": {
        "variant": "vae", "objective": "elbo", "data": "digits",
        "train": "--steps 3000 -b 64 --data-opt subset=0:1500 --set sample_shape=[1,8,8] --set hidden=[256,128] "
                 "--set latent_dim=8",
        "eval": "--data-opt subset=1500:",
        "probe": "--probe-fit 1500",
        "summary": "VAE on 8x8 digits (first 1,500 images; ELBO on the last 297)",
    },
    "digits-ae": {
        "variant": "ae", "objective": "reconstruction", "data": "digits",
        "train": "--steps 3000 -b 64 --data-opt subset=0:1500 --set sample_shape=[1,8,8] --set hidden=[256,128] "
                 "--set latent_dim=8",
        "eval": "--data-opt subset=1500: --metric recon", "reconstructions": True,
        "probe": "--probe-fit 1500",
        "summary": "Autoencoder on 8x8 digits (first 1,500 images); its encoder gives 8-d features",
    },
    # Self-conditioned MLP GAN (MNIST_SELFCOND): hinge loss, BatchNorm in G, no packing. The Frechet ratios in this
    # comment up to "20 draws" are single draws (ganzoo eval --draws 1): 7.3 at 20k steps, 3.06 at 48k, 2.89 at 64k,
    # 2.70 at 80k, 5.70 at 160k (recall 0.71; 1,000 epochs of 10,000 images). It replaced the zoo's mnist-mlp-nonsat,
    # a PacGAN4 MLP GAN: `ganzoo train mlp --objective non-saturating --data <MNIST> --steps 20000 -b 64
    # --lr-schedule linear --ema 0.999 --set latent_dim=64 --set g_hidden=[256,512] --set d_hidden=[512,256]
    # --set pack=4`: 42.1 (with --objective hinge --set g_norm=true: 44.9; with --conditional --data-opt clusters=50 but
    # its loss, no BatchNorm: 51.2). With R1 on real data (--objective-set r1=G, 80k steps, --ema 0.999): G 0.01: 3.61,
    # 0.05: 2.56, 0.1: 2.35 (--seed 1: 2.34), 0.3: 2.84, 1: 2.77. Worse: 100 clusters 2.64; 20 clusters 2.84;
    # --augment translation,cutout 4.22; --g-lr 1e-4 --d-lr 4e-4 2.68; on an H200 (--device cuda --cuda-graphs
    # --precision fp32) --set g_hidden=[256,512,1024] 2.36. --ema 0.9999: 2.23.
    # With the judge metric's 20 draws: --ema 0.999 (the card until then) 1.98, --ema 0.9999 1.88 (the card); on the
    # H200 --ema 0.9999 1.78 and with --seed 1 1.81, and with it R1 0.2 1.77 / 1.81 (--seed 1), R1 0.3 1.92, batch 128
    # 1.84, 100k steps 2.07, D [1024,512] 2.48, --ema 0.99995 with R1 0.2 1.64 (on the CPU: 1.79).
    # --set d_label=concat: the one-hot label in D, as when the card was built (the mlp's default for images became
    # the projection D later; its card's command predates the key).
    "mnist-mlp-selfcond": {
        "variant": "mlp", "objective": "hinge", "data": MNIST,
        "train": f"--steps 80000 {MNIST_SELFCOND} --ema 0.9999 --set latent_dim=64 --set g_hidden=[256,512] "
                 "--set d_hidden=[512,256] --set g_norm=true --set d_label=concat --objective-set r1=0.1",
        "summary": _selfcond_summary("MLP GAN"),
        "note": "Training seed 0, not picked: the same recipe trained on an H200 (`--device cuda --cuda-graphs "
                "--precision fp32`) gave Frechet ratios 1.78 (seed 0) and 1.81 (seed 1). The ratio is a mean over the "
                "judge metric's 20 draws; one draw varies by about 0.6 (fd_ratio_sd).",
    },
    # The hinge loss (Lim & Ye 2017; Miyato et al. 2018 with the projection D) instead of the non-saturating
    # one: Frechet ratio (single draws) 2.81 against 3.13 at 16k steps, 1.88 against 2.32 at 64k (the earlier zoo
    # model). With the judge metric's 20 draws: 1.59.
    "mnist-cdcgan-hinge": {
        "variant": "dcgan", "objective": "hinge", "data": MNIST,
        "train": "--steps 64000 -b 64 --lr-schedule linear --ema 0.999 --conditional --set g_width=32 --set d_width=32 "
                 "--set latent_dim=64",
        "summary": "Class-conditional DCGAN on MNIST (hinge loss): ganzoo sample NAME --label 7",
    },
    # The relativistic average hinge loss (Jolicoeur-Martineau 2019; issue 38): mnist-cdcgan-hinge's networks at
    # 40k steps, with the D of mnist-dcgan-selfcond (spectral norm, D lr 4e-4, betas (0, 0.9), R1 0.1). With the
    # hinge model's plain D instead, D wins at once (its loss near 0 from step 300) and the Frechet ratio was 3.18.
    "mnist-cdcgan-rahinge": {
        "variant": "dcgan", "objective": "rahinge", "data": MNIST,
        "train": "--steps 40000 -b 64 --lr-schedule linear --ema 0.999 --conditional --set g_width=32 --set d_width=32 "
                 "--set latent_dim=64 --set d_norm=spectral --d-lr 4e-4 --betas 0,0.9 --r1 0.1",
        "summary": "Class-conditional DCGAN on MNIST, relativistic average hinge loss (rahinge), spectral-norm D",
        "note": "Recipe: mnist-cdcgan-hinge's networks and schedule at 40k steps, with mnist-dcgan-selfcond's "
                "discriminator settings (spectral norm, D learning rate 4e-4, betas (0, 0.9), R1 0.1). The same "
                "run with mnist-cdcgan-hinge's plain D (BatchNorm, 2e-4, no R1) let D win from the first hundred "
                "steps (D loss near 0) and reached a Frechet ratio of 3.18 (recall 0.68); see docs/zoo-notes.md.",
    },
    # Self-conditioned DCGAN (Liu et al. 2020; MNIST_SELFCOND, with the projection D). Single draws until "20 draws":
    # 100 clusters (16k steps): Frechet ratio 15.0, recall 0.09 (too few images per cluster); 50 clusters, 16k
    # steps: 6.5, 32k steps: 3.9 (the non-saturating loss, the zoo's model until the hinge loss at 64k steps gave
    # 2.93). It replaced the zoo's plain unconditional DCGAN (the same networks with --set pack=8 instead of the
    # clusters, 16k steps: 29.2).
    # --augment translation,cutout (DiffAugment) at 64k steps: 4.06, recall 0.58 (worse); 20 clusters: 4.58. On an
    # H200 (--device cuda --cuda-graphs --precision fp32): --objective-set r1=0.1 3.56, with --set d_norm=layer 3.43;
    # 128k steps 3.15. With the judge metric's 20 draws: 2.61; --ema 0.99995 3.16 (recall 0.76); a spectrally
    # normalised D (--set d_norm=spectral, SNGAN) 2.60 (recall 0.93, class KL 0.006, precision 0.88), at 32k 2.97;
    # the spectral D with --d-lr 4e-4: 2.59; with --d-lr 4e-4 --betas 0,0.9 (the SAGAN/BigGAN optimiser): 2.32
    # (fd_ratio_sd 0.59, recall 0.93, class KL 0.005, precision 0.86), the card until the next.
    # On top of it: --ema 0.9999 2.27 (fd_ratio_sd 0.57; inside the 20-draw mean's standard error of about 0.13,
    # so not swapped in); --g-lr 1e-4 (the full TTUR) 2.59; --ema 0.9999 with R1 0.1 (--objective-set r1=0.1, as the
    # MLP card): 2.16 (fd_ratio_sd 0.67, recall 0.94, coverage 0.89, precision 0.87, class KL 0.004; better on every
    # metric, though the Frechet gain is about one standard error), the card since. R1 0.1 barely touches the
    # spectral D: its penalty E||grad D||^2 stays about 0.2, so 0.05 * 0.2 of a hinge D loss of about 1.88. No
    # normalisation in D with R1 0.1 (--set d_norm=none, --ema 0.9999) was stopped at 30k steps: 112 (recall 0.00),
    # its digits well formed but on grey backgrounds, against 3.59 for the R1 card's run at the same step.
    # Wider networks on top of the card (--set g_width=48 --set d_width=48, 1.5x the time): 2.15 (fd_ratio_sd
    # 0.63, recall 0.95, coverage 0.87, precision 0.86, class KL 0.006), a tie with the card, so not swapped in,
    # though it led at 30k steps (2.43 against the card's 3.59). A wider D alone (--set d_width=64, G at 32; about
    # 1.8x the time): 3.13 at 30k steps (precision 0.90, recall 0.91), 2.16 at 64k (fd_ratio_sd 0.65, recall 0.95,
    # coverage 0.91, precision 0.86, class KL 0.005): the same as the card, so not swapped in either.
    # The MLP card's --ema 0.99995 with R1 0.2 (--objective-set r1=0.2): 15.2 at 32k steps (recall 0.57), 2.55 at
    # 64k (fd_ratio_sd 0.70, recall 0.93, coverage 0.89, precision 0.87, class KL 0.007): worse, not swapped in.
    # Conditional BatchNorm in G (--set g_norm=conditional) on top of the card: 2.19 (fd_ratio_sd 0.68, recall 0.93,
    # coverage 0.88, precision 0.875, class KL 0.006), --seed 1 2.26 (recall 0.92, precision 0.89): no gain. The card
    # with --d-steps 2 and --steps 40000 (80k D steps): 2.50 (fd_ratio_sd 0.70, recall 0.92, precision 0.865): worse.
    # Deeper, not wider: one 3x3 stride-1 convolution after each resolution's strided one (--set g_depth=2 / d_depth=2,
    # SNGAN's "standard CNN" way). Side by side on an H200 (--device cuda --cuda-graphs --precision fp32), seeds 0 / 1:
    # the card above 2.22 / 2.35; d_depth=2 alone 1.89 / 2.39; g_depth=2 and d_depth=2 1.63 / 1.73 (fd_ratio_sd 0.53,
    # recall 0.95, precision 0.86-0.87, class KL 0.004), the card since (this CPU run, seed 0: 1.71). G 437k
    # parameters against 391k, D's trunk 82k against 36k (plus the projection's 157k class embedding).
    "mnist-dcgan-selfcond": {
        "variant": "dcgan", "objective": "hinge", "data": MNIST,
        "train": f"--steps 64000 {MNIST_SELFCOND} --ema 0.9999 --set g_width=32 --set d_width=32 --set latent_dim=64 "
                 "--set d_norm=spectral --d-lr 4e-4 --betas 0,0.9 --objective-set r1=0.1 --set g_depth=2 --set d_depth=2",
        "summary": _selfcond_summary("DCGAN"),
        "note": "Training seed 0, not picked: the same recipe trained on an H200 (`--device cuda --cuda-graphs "
                "--precision fp32`) gave Frechet ratios 1.63 (seed 0) and 1.73 (seed 1). The ratio is a mean over the "
                "judge metric's 20 draws; one draw varies by about 0.5 (fd_ratio_sd).",
    },
    # Issue 46: the ResNet GAN (SNGAN / WGAN-GP), SAGAN and ACGAN, class-conditional, sized for this 2-core CPU
    # (ResNet steps cost several DCGAN steps: full-resolution 3x3 convolutions in G's last block and D's first). G
    # 32 channels per block, D 32, one extra D block at 7x7, a 64-d latent; D learning rate
    # 4e-4 and betas (0, 0.9) as mnist-cdcgan-rahinge's D (betas are the variants' defaults), EMA 0.999, linear
    # decay. The ResNet's first recipe (D 16 channels, 15k steps) scored 3.80, its D too weak to ask for variety;
    # D at 32 channels, 10k steps: 1.92 (docs/zoo-notes.md).
    "mnist-resnet-hinge": {
        "variant": "resnet", "objective": "hinge", "data": MNIST,
        "train": f"--steps 10000 {RESNET_MNIST} --d-lr 4e-4 --betas 0,0.9",
        "summary": "Class-conditional ResNet GAN (SNGAN: conditional BatchNorm G, projection D, hinge loss) on MNIST",
        "note": CPU_NOTE + " Meets issue 46's bar (fd_ratio <= 2.0, all 10 classes, class KL <= 0.05): Frechet ratio "
                "1.92 (a mean over the judge's 20 draws; one draw varies by about 0.5), class KL 0.0001, recall 0.88, "
                "coverage 0.84. The first recipe (D 16 channels per block, 15k steps) scored 3.80 with recall 0.62: "
                "clean digits, too little variety; a D of 32 channels fixed that in fewer steps. Trained with "
                "`--log-every 1000 --sample-every 2500 --checkpoint-every 2500` besides the command above (logging "
                "only), as a queue run of this project's experiments.",
    },
    # SAGAN: mnist-resnet-hinge's trunk and optimiser (G 32 / D 32 channels per block, G lr 2e-4, D 4e-4, betas
    # (0, 0.9)) with self-attention on the 14x14 maps of G and D, 12k steps. Spectral norm in G off (g_spectral=false):
    # with it on, the same recipe drew too little variety inside a class (Frechet ratio 6.41, recall 0.37); at 10k steps
    # (spectral norm off) 2.05, at 12k 1.66. G's learning rate is 2e-4, not the variant's TTUR 1e-4: on this project's
    # MNIST GANs G at 1e-4 (with D at 4e-4) scored worse (docs/zoo-notes.md: DCGAN 2.59 against 2.32, MLP 2.68
    # against 2.35).
    "mnist-sagan": {
        "variant": "sagan", "objective": "hinge", "data": MNIST,
        "train": f"--steps 12000 {RESNET_MNIST} --set g_spectral=false --g-lr 2e-4 --d-lr 4e-4 --betas 0,0.9",
        "summary": "Class-conditional SAGAN (self-attention at 14x14 in G and D, spectral norm in D) on MNIST: "
                   "ganzoo attention NAME -o attn.png",
        "pictures": {"attention.png": ("attention {model} -n 4 --points 4",
                                       "Where the generator looks: each row a sample with 4 query positions, then the "
                                       "attention map of each query over the 14x14 maps (brightest where it draws most)")},
        "note": CPU_NOTE + " Meets issue 46's bar (fd_ratio <= 2.0, all 10 classes, class KL <= 0.05): Frechet "
                "ratio 1.66 (a mean over the judge's 20 draws; one draw varies by about 0.5), all 10 classes, class KL "
                "0.0005, recall 0.88, coverage 0.88, intra-class ratio 2.31. The same recipe at 10k steps scored 2.05. "
                "Spectral norm is off in "
                "G (`--set g_spectral=false`, D keeps it): the same recipe with SAGAN's spectral norm in G drew clean "
                "digits with too little variety inside a class (Frechet ratio 6.41, recall 0.37), and the first "
                "recipe (D 16 channels per block, 15k steps) collapsed within each class (34.6). "
                "Trained with `--log-every 500 --sample-every 1000 --checkpoint-every 2500` besides the command above "
                "(logging only), as a queue run of this project's experiments.",
    },
    # ACGAN (Odena et al. 2017) on the DCGAN of mnist-cdcgan-rahinge (spectral-norm D, D lr 4e-4, betas (0, 0.9),
    # R1 0.1): D's score ignores the label and an auxiliary classifier on its features carries it (--set
    # d_label=acgan; its class loss in D's and G's losses), with the hinge loss.
    "mnist-acgan": {
        "variant": "dcgan", "objective": "hinge", "data": MNIST,
        "train": "--steps 40000 -b 64 --lr-schedule linear --ema 0.999 --conditional --set g_width=32 --set d_width=32 "
                 "--set latent_dim=64 --set d_norm=spectral --set d_label=acgan --d-lr 4e-4 --betas 0,0.9 --r1 0.1",
        "summary": "ACGAN on MNIST: DCGAN with an auxiliary classifier in D (d_label=acgan), hinge loss",
        "note": CPU_NOTE + " Meets issue 46's bar: Frechet ratio 1.93 (<= 2.0), all 10 classes, class KL 0.0004 (<= 0.05); "
                "recall 0.82, coverage 0.85. Its intra-class ratio, 2.81, is further from 1 than the overall one: inside "
                "a class the digits vary less than the real ones (mnist-cdcgan-rahinge, the projection D on the same "
                "networks: 2.00).",
    },
    # StyleGAN2-lite (issue 46), unconditional, sized for this 2-core CPU: a 7x7 constant -> 14 -> 28 with G 96/48/24
    # channels, D 8/16/32, z and w 64, batch 32 (about 7 steps/s on one thread: 40k steps in 90 min). StyleGAN2's
    # Adam (0.002, betas (0, 0.99)), lazy R1 0.1 every 16 D steps, style mixing 0.9, EMA 0.999, linear decay; a tanh
    # output (with StyleGAN2's linear output every MNIST run collapsed: docs/zoo-notes.md). With G 48/24/12: 8.15 at
    # 10k steps, 5.38 at 30k; class-conditional 14.3 (recall 0.19: a few styles per class); D twice as wide
    # (d_width=64) at 20k steps 8.95 (docs/zoo-notes.md).
    "mnist-stylegan": {
        "variant": "stylegan", "objective": "non-saturating", "data": MNIST,
        "train": "--steps 40000 -b 32 --lr-schedule linear --ema 0.999 --set g_width=96 --set d_width=32 "
                 "--set output=tanh",
        "summary": "StyleGAN2-lite on MNIST: mapping network, modulated convolutions, noise, skip outputs, style "
                   "mixing; --truncation PSI in w",
        "pictures": {"truncation.png": ("sample {model} -n 64 --seed 0 --truncation 0.5",
                                        "The same seed with --truncation 0.5: w = w_avg + 0.5 (w - w_avg), each sample "
                                        "pulled toward the average style (psi 1 is samples.png exactly, psi 0 one "
                                        "image for every seed)")},
        "note": CPU_NOTE + " **Misses issue 46's bar** (fd_ratio <= 2.0, all 10 classes, class KL <= 0.05) on the "
                "Frechet ratio: 2.60, with all 10 digits, class KL 0.010, recall 0.95, precision 0.83, coverage 0.83 -- "
                "varied digits, some malformed. A G half as wide (`--set g_width=48`) scored 8.15 at 10k steps and "
                "5.38 at 30k; with it, a D twice as wide at 20k steps 8.95. The first recipe, class-conditional with "
                "StyleGAN2's linear output, collapsed within each class (Frechet ratio 23.7, 9 classes, recall 0.06); every MNIST run with the linear output collapsed, whatever else "
                "was changed, and a tanh output did not (docs/zoo-notes.md in the repository). Class-conditional with "
                "tanh at 10k steps: 14.3, recall 0.19. Trained with `--log-every 500 --sample-every 1000 "
                "--checkpoint-every 2500` besides the command above (logging only), as a queue run of this project's "
                "experiments.",
    },
    "mnist-vae-2d": {
        "variant": "vae", "objective": "elbo", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --set hidden=[256,128] --set latent_dim=2",
        "eval": "--data-opt subset=8000:",
        "probe": "",
        "summary": "VAE with a 2-D latent on MNIST, for the manifold picture (ganzoo traverse)",
    },
    "mnist-vae-16d": {
        "variant": "vae", "objective": "elbo", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --set hidden=[256,128] --set latent_dim=16",
        "eval": "--data-opt subset=8000:",
        "probe": "",
        "summary": "VAE with a 16-D latent on MNIST (first 8,000 test images; ELBO on the last 2,000)",
    },
    # VQ-VAE (van den Oord et al. 2017) in two stages: the autoencoder (a 7x7 grid of 128 codes of size 16, EMA
    # codebook, commitment 0.25) on the first 8,000 images, then the gated PixelCNN prior (32 channels, 8 layers)
    # on their codes. Reconstruction NLL and the codebook's use on the last 2,000; the judge scores its samples
    # against all 10,000, as for the MNIST GANs. Pilots: docs/zoo-notes.md.
    "mnist-vqvae": {
        "variant": "vqvae", "objective": "reconstruction", "data": MNIST,
        "train": "--steps 2500 -b 128 --data-opt subset=0:8000",
        "prior": "--steps 6000 -b 64 --data-opt subset=0:8000 --lr-schedule linear",
        "evals": ["--data-opt subset=8000: --metric recon --metric codebook", "--metric judge --metric prdc"],
        "probe": "",
        "summary": "VQ-VAE on MNIST (7x7 grid of 128 codes) with a PixelCNN prior over its codes: it samples digits",
        "note": "Trained on this project's 2-core CPU, one thread: the autoencoder 2,500 steps (5.0 minutes), then "
                "the prior 6,000 steps (7.4 minutes). Loading the generator brings `prior.safetensors` with it: "
                "`ganzoo sample` draws a 7x7 grid of codes from the PixelCNN, position by position, and decodes it "
                "(`--sample-opt temperature=T` divides the prior's logits by T). Its samples cover all 10 digits in "
                "near-equal shares (class KL 0.028) with a judge Frechet ratio of 16.1 (sd 4.8 over the 20 draws): "
                "half the zoo's 16-D VAE's (32.9), far from the MNIST GANs' 1.4-1.9; the judge is less sure of its "
                "digits than of real ones (max_prob 0.70 vs 0.95), some strokes break. The reconstructions are the "
                "zoo's closest on the held-out images (recon_nll 54.7 nats; mnist-ae 82.3, mnist-vae-16d 87.5).",
    },
    "mnist-ae": {
        "variant": "ae", "objective": "reconstruction", "data": MNIST,
        "train": "--steps 4000 -b 128 --data-opt subset=0:8000 --set hidden=[256,128] --set latent_dim=16",
        "eval": "--data-opt subset=8000: --metric recon", "reconstructions": True,
        "probe": "",
        "summary": "Autoencoder on MNIST (first 8,000 test images); its encoder gives 16-d features",
    },
    # issue 47's probe goal (>= 0.95): a k-sparse autoencoder (Makhzani & Frey 2013): one linear layer each way,
    # 1,000 code units of which each image keeps its 40 largest. Pilots (docs/zoo-notes.md): k = 25 probed 0.950,
    # k = 40 0.9615; the conv autoencoders' 64-d codes 0.934-0.947.
    "mnist-sparseae": {
        "variant": "ae", "objective": "reconstruction", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --set hidden=[] --set latent_dim=1000 --set topk=40",
        "eval": "--data-opt subset=8000: --metric recon", "reconstructions": True,
        "probe": "",
        "note": CPU_NOTE + " Meets issue 47's goal for the best MNIST encoder: its linear probe scores 0.954 on the 2,000 "
                "held-out images (goal >= 0.95), against 0.927 on raw pixels and 0.903 for the same encoder untrained "
                "(random weights, 40 of 1,000 units kept: docs/zoo-notes.md has the command). The sparsity k = 40 was "
                "chosen among 25, 40 and 60 by pilots scored with this same probe, so the held-out images informed "
                "that one choice. The code is 1,000 numbers of which 40 are non-zero per image: `ganzoo encode` "
                "writes them dense.",
        "summary": "k-sparse autoencoder on MNIST (1,000 units, 40 active): the zoo's best features for a linear probe",
    },
    # issue 47: the zoo's feature extractor -- a conv autoencoder (pilots, linear probe on MNIST's last 2,000 after
    # fitting on the first 8,000: 32-d 0.934 at 4k steps, 64-d 0.937 and 128-d (width 16) 0.939 at 1.5k; raw pixels 0.927)
    "mnist-convae": {
        "variant": "ae", "objective": "reconstruction", "data": MNIST,
        "train": "--steps 4000 -b 128 --data-opt subset=0:8000 --set arch=conv --set width=32 --set latent_dim=64",
        "eval": "--data-opt subset=8000: --metric recon", "reconstructions": True,
        "probe": "",
        "note": CPU_NOTE,
        "summary": "Convolutional autoencoder on MNIST: 64-d features for a linear probe (ganzoo encode)",
    },
    # issue 47: the label into encoder and decoder (encoder_labels, on by default with --conditional). No
    # linear probe: its encoder is given the class it would be probed for.
    "mnist-cvae": {
        "variant": "vae", "objective": "elbo", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --conditional --set hidden=[256,128] --set latent_dim=16",
        "eval": "--data-opt subset=8000:",
        "pictures": {"three.png": ("sample {model} --label 3 -n 32", "Class 3 only (`--label 3`)")},
        "summary": "Conditional VAE (Sohn et al. 2015) on MNIST: q(z | x, y), p(x | z, y); ganzoo sample --label K",
        "note": CPU_NOTE + " No linear probe: the encoder is given the class the probe would read from its features "
                "(q(z | x, y)). A VAE's samples are blurrier than a GAN's: the Frechet ratio is far from the GAN "
                "goal of 2, which this model does not aim at.",
    },
    # issue 47: beta = 4 (Higgins et al. 2017) with a 10-d latent; the card's raw evaluation has the KL per dimension
    "mnist-betavae": {
        "variant": "vae", "objective": "beta-vae", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --set hidden=[256,128] --set latent_dim=10",
        "evals": ["--data-opt subset=8000:", "--data-opt subset=8000: --metric factors"],
        "probe": "",
        "pictures": {"traverse.png": ("traverse {model} --each --span 3 --steps 9",
                                      "Each latent dimension alone from -3 to 3, the others at 0 (one row each)")},
        "summary": "beta-VAE (beta = 4) on MNIST with a 10-d latent: the KL per dimension; its latents switch digits "
                   "(mnist-cbetavae keeps them to one factor each)",
        "note": CPU_NOTE + " The KL per latent dimension is `kl_dim_0` .. `kl_dim_9` in the raw evaluation below. On "
                "MNIST most active dimensions trade one digit for another rather than one style factor each: the "
                "`factors` metric finds 7 active dimensions, none changing one factor (`single_factor_dims` 0; each "
                "changes the judged digit in 52-99% of its rows, `dimK_class`). Dimensions 4 to 6 are inactive (one "
                "image across their rows). `mnist-cbetavae`, the same model given the digit as a label, has latents "
                "that each change one factor.",
    },
    # issue 47's "one factor per latent": the beta-VAE given the digit (a conditional beta-VAE, beta = 8), so its
    # latents are left the style (Kingma et al. 2014's M2 separates class and style the same way). Pilots
    # (docs/zoo-notes.md): beta = 4 conditional kept 5 active dimensions, 2 of them one factor; unconditional with
    # Burgess's capacity schedule (C 20 nats, gamma 100) kept 3, each switching digits.
    "mnist-cbetavae": {
        "variant": "vae", "objective": "beta-vae", "data": MNIST,
        "train": "--steps 6000 -b 128 --data-opt subset=0:8000 --conditional --objective-set beta=8 "
                 "--set hidden=[256,128] --set latent_dim=10",
        "evals": ["--data-opt subset=8000:", "--data-opt subset=8000: --metric factors"],
        "pictures": {"traverse.png": ("traverse {model} --each --span 3 --steps 9 --label 3",
                                      "Each latent dimension alone from -3 to 3, the others at 0, the label 3 (one row "
                                      "each)"),
                     "traverse7.png": ("traverse {model} --each --span 3 --steps 9 --label 7",
                                       "The same for the label 7")},
        "summary": "Conditional beta-VAE (beta = 8) on MNIST: the label carries the digit, each active latent one "
                   "factor (width, thickness, slant)",
        "note": CPU_NOTE + " Meets issue 47's \"one factor per latent\" as the `factors` metric measures it: 3 active "
                "dimensions (KL 0.79, 0.51 and 1.28 nats; the other 7 below 0.001), each changing one property of the "
                "ink by at least twice any other while the judge keeps the digit (rows whose ends are judged different "
                "digits: 4-9%): dimension 2 the width (2.08 real spreads against 0.72), 4 the thickness (1.35 against "
                "0.31), 7 the slant (2.96 against a thickness change of 1.47: at the edge of the rule's factor of 2). "
                "In traverse7.png dimension 4 also draws the crossbar of a continental 7. The digit is the label's: "
                "that is what leaves the latents to the style; the unconditional mnist-betavae switches digits along "
                "all 7 of its active dimensions. The samples are a VAE's, blurry (Frechet ratio 30.5; not what this "
                "model is for). No linear probe: the encoder is given the class the probe would read (q(z | x, y)).",
    },
    # InfoGAN (Chen et al. 2016; issue 47): a 10-way categorical and 2 continuous codes beside 62 noise dimensions,
    # the paper's learning rates (G 1e-3, D 2e-4) on narrower networks (G FC 128, 32 channels; D 32 channels, FC
    # 256), the categorical code's weight info=2 (the paper's 1 left values mixing look-alike digits: 0.76-0.85
    # over seeds 0, 1, 3, 4; docs/zoo-notes.md).
    "mnist-infogan": {
        "variant": "infogan", "objective": "non-saturating", "data": MNIST,
        "train": "--steps 5000 -b 64 --g-lr 1e-3 --d-lr 2e-4 --set g_hidden=128 --set g_width=32 --set d_width=32 "
                 "--set d_hidden=256 --set info=2",
        "summary": "InfoGAN on MNIST: a 10-way categorical and 2 continuous codes, no labels (ganzoo traverse NAME --code 0)",
        "pictures": {f"code{k}.png": (f"traverse {{model}} --code {k} --rows 8 --seed 0",
                                      f"Code {k} ({what}) walking its values along each row, the rest of the latent "
                                      "fixed per row") for k, what in ((0, "categorical, 10 values"),
                                                                       (1, "continuous, -2..2"), (2, "continuous, -2..2"))},
        "note": CPU_NOTE + " Meets issue 47's bar for the categorical code: mapping each of its 10 values to the digit "
                "the judge sees most in its samples gives 97.6% accuracy (goal >= 90%; the paper reports about 95%), "
                "each digit with a value of its own (the worst value's purity 0.93). The categorical code's weight is "
                "info=2, tried first on this seed: with the paper's 1 four seeds scored 0.76-0.85 (values mixing 4 with 9, 3 with 5). The recipe "
                "is not reliable across seeds: seeds 1 and 4 of this same command score 0.74 and 0.72 "
                "(docs/zoo-notes.md); the card is seed 0. Code 1 moves the slant (rank correlation -1.0) and code 2 "
                "the width (0.78). On the project's MNIST GAN bar the samples score a Frechet ratio of 2.25 (goal <= "
                "2.0, missed), all 10 classes, class KL 0.0007, recall 0.88, coverage 0.88.",
    },
})

def commands(name: str, out: Path) -> tuple[list[str], list[str]]:
    """(the training commands, the evaluation commands) of recipe ``name`` writing to ``out``. A recipe with a
    ``prior`` trains in two stages: the model into ``out``-first, then ``--stage prior`` from it into ``out``.
    ``evals`` (several evaluations, their metrics merged) or ``eval``: the options of ``ganzoo eval``."""
    r = RECIPES[name]
    seed = r.get("seed", 0)
    first = out.with_name(f"{out.name}-first") if r.get("prior") else out
    train = [f"ganzoo train {r['variant']} --objective {r['objective']} --data {r['data']} --out {first} {r['train']} "
             f"--seed {seed}"]
    if r.get("prior"):
        train.append(f"ganzoo train --stage prior --init {first} --data {r['data']} --out {out} {r['prior']} "
                     f"--seed {seed}")
    evals = [f"ganzoo eval {out} --data {r['data']} {opts}".strip() + " --json"
             for opts in r.get("evals") or [r.get("eval", "")]]
    probe = probe_command(name, out)   # the probe on the whole data, after (and over) the held-out evaluation's
    return train, evals + ([probe] if probe else [])


def probe_command(name: str, out: Path):
    """The linear probe of a model with an unconditional encoder, on the whole dataset: the items the encoder
    trained on fit it, the rest test it (``probe``: ``--probe-fit N``, by default the first 80%); None for
    other models."""
    r = RECIPES[name]
    if "probe" not in r:
        return None
    return f"ganzoo eval {out} --data {r['data']} --metric linear-probe {r['probe']}".strip() + " --json"


def run(cmd: str, log: Path) -> str:
    print(f"$ {cmd}", flush=True)
    exe = shlex.split(cmd)
    exe[0] = str(Path(sys.executable).with_name("ganzoo"))
    proc = subprocess.run(exe + (["--no-progress"] if exe[1] == "train" else []), capture_output=True, text=True)
    with open(log, "a") as fh:
        fh.write(f"$ {cmd}\n{proc.stdout}\n{proc.stderr}\n")
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {cmd}\n{proc.stderr[-2000:]}")
    return proc.stdout


def sample_picture(folder: Path, dest: Path, dataset: str) -> None:
    import ganzoo
    from ganzoo import images

    model = ganzoo.load(folder, components=["generator"])
    if model.is_image:
        images.save_png(images.sample_picture(model), dest)
    else:
        from ganzoo.data import load_dataset

        centres = load_dataset(dataset, n=1).centres
        images.save_png(images.sample_picture(model, 2500, modes=centres, title=folder.name), dest)


def build(name: str, *, retrain: bool = False, rescore: bool = False) -> dict:
    out = Path("runs/zoo") / name
    log = Path("runs/zoo") / f"{name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    train_cmds, eval_cmds = commands(name, out)
    if retrain:
        for folder in (out, out.with_name(f"{out.name}-first")):
            shutil.rmtree(folder, ignore_errors=True)
    if rescore and not (out / "config.json").exists():   # the bundled weights stand in for the run
        if not (MODELS / name / "config.json").exists():
            raise SystemExit(f"{name}: no bundled copy in {MODELS / name} to re-score")
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(MODELS / name, out)
    if not (out / "config.json").exists():
        for cmd in train_cmds:   # a first stage already trained (its folder has config.json) is not trained again
            first = Path(shlex.split(cmd)[shlex.split(cmd).index("--out") + 1])
            if first == out or not (first / "config.json").exists():
                run(cmd, log)
    result = None
    for cmd in eval_cmds:   # a recipe's "evals": several evaluations, their metrics merged
        part = json.loads(run(cmd, log))
        result = part if result is None else {**result, "metrics": {**result["metrics"], **part["metrics"]}}
    return bundle(name, out, result, log)


def render(name: str) -> dict:
    """Write NAME's card, config.json, pictures and pins again from the bundled copy and the evaluation its card
    records -- no training, no scoring (after a change to how cards are written)."""
    src = MODELS / name
    raw = re.search(r"Raw evaluation:\n\n```json\n(.*?)\n```", (src / "README.md").read_text(), re.S)
    if not (src / "config.json").exists() or raw is None:
        raise SystemExit(f"{name}: no bundled copy with a recorded evaluation in {src}; build it")
    out = Path("runs/zoo/render") / name   # (the folder name is the 2-D picture's title)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(src, out)
    result = {"data": RECIPES[name]["data"], "seed": 0, "metrics": json.loads(raw.group(1))}
    return bundle(name, out, result, Path("runs/zoo") / f"{name}.log")


def public(cmd: str) -> str:
    """A command as a card shows it: the data folder of this machine as DIR."""
    return cmd.replace(MNIST, "mnist:DIR")


def bundle(name: str, out: Path, result: dict, log: Path) -> dict:
    """The model in ``out`` with its evaluation ``result`` -> plugins/zoo/models/NAME (config.json without local
    paths, weights, card, pictures) and its registry entry."""
    from ganzoo.card import public_config, render_card
    from ganzoo.fsutil import atomic_write_json, atomic_write_text, sha256_file
    from ganzoo.metrics.report import eval_protocol, primary_metrics

    recipe = RECIPES[name]
    train_cmds, eval_cmds = ([public(c) for c in cmds] for cmds in commands(name, Path("runs/zoo") / name))
    metrics = primary_metrics(result)
    config = public_config(json.loads((out / "config.json").read_text()))
    config["metrics"] = metrics
    dest = MODELS / name
    tmp = MODELS / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for comp in ("generator", "encoder", "prior"):
        if comp in config["components"]:
            shutil.copyfile(out / f"{comp}.safetensors", tmp / f"{comp}.safetensors")
    config["components"] = {k: v for k, v in config["components"].items() if (tmp / v["file"]).exists()}
    atomic_write_json(tmp / "config.json", config)
    options = dict(o.split("=", 1) for o in re.findall(r"--data-opt (\S+)", recipe.get("eval", "")))
    if recipe.get("reconstructions"):   # no prior to sample: held-out inputs above their reconstructions
        opts = " ".join(f"--data-opt {k}={v}" for k, v in options.items())
        run(f"ganzoo reconstruct {out} --data {recipe['data']} {opts} -n 32 -o {tmp / 'samples.png'}", log)
    else:
        sample_picture(out, tmp / "samples.png", recipe["data"])
    for png, (args, caption) in recipe.get("pictures", {}).items():   # more pictures: ganzoo commands on the model
        run(f"ganzoo {args.format(model=out)} -o {tmp / png}", log)
    protocol = eval_protocol(result, command="\n".join(eval_cmds), data_options=options)
    for evaluation in recipe.get("evals", ()):   # several evaluations: each metric with its own data options
        for metric in re.findall(r"--metric (\S+)", evaluation):
            if metric in protocol["metrics"]:
                protocol["metrics"][metric]["data_options"] = dict(re.findall(r"--data-opt (\S+?)=(\S+)", evaluation))
    reproduce = f"python tools/build_zoo.py {name}"
    card = render_card(config, metrics=metrics, repo_id=f"ganzoo/{name}", sample_image="samples.png",
                       train_command="\n".join(train_cmds), eval_command="\n".join(eval_cmds),
                       can_sample=not recipe.get("reconstructions"), protocol=protocol)
    if recipe.get("pictures"):
        card += "\n## Pictures\n" + "".join(f"\n{caption}:\n\n```bash\nganzoo {args.format(model=name)} -o {png}\n```\n\n"
                                             f"![{png}]({png})\n" for png, (args, caption) in recipe["pictures"].items())
    if recipe.get("note"):
        card += f"\n## Note\n\n{recipe['note']}\n"
    card += f"\n## Reproduce\n\nFrom a clone of ganzoo's repository (the wheel does not ship `tools/`):\n\n```bash\n" \
            f"{reproduce}\n```\n\nRaw evaluation:\n\n```json\n" \
            f"{json.dumps(result['metrics'], indent=1, sort_keys=True, default=str)}\n```\n"
    atomic_write_text(tmp / "README.md", card)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    files = {p.name: sha256_file(p) for p in sorted(dest.iterdir())}
    entry = {"name": name, "variant": recipe["variant"], "objective": recipe["objective"],
             "dataset": recipe["data"].split(":")[0], "summary": recipe["summary"], "metrics": metrics,
             "bundled": name, "files": files, "hub": {"repo": f"ganzoo/{name}"},
             "recipe": f"{reproduce} (in a clone of the repository)  # ganzoo {config.get('ganzoo_version')}: "
                       f"{' && '.join(train_cmds)}"}
    update_registry(entry)
    print(f"{name}: {metrics}", flush=True)
    return entry


def update_registry(entry: dict) -> None:
    import yaml

    from ganzoo.fsutil import atomic_write_text

    doc = yaml.safe_load(REGISTRY.read_text()) or {}
    before = next((m for m in doc.get("models") or [] if m["name"] == entry["name"]), {})
    if before.get("aliases"):   # a rebuilt model keeps its former names
        entry = {**entry, "aliases": before["aliases"]}
    models = [m for m in doc.get("models") or [] if m["name"] != entry["name"]] + [entry]
    models.sort(key=lambda m: m["name"])
    header = [ln for ln in REGISTRY.read_text().splitlines() if ln.startswith("#")]
    body = yaml.safe_dump({"version": 1, "models": models}, sort_keys=False, width=120)
    atomic_write_text(REGISTRY, "\n".join(header) + "\n" + body)


TABLES = (  # the zoo tables of docs/zoo.md, one per kind of model (GANs by data: their metrics differ)
    ("GAN, 2-D mixture", lambda kind, m: kind == "gan" and "modes" in m["metrics"]),
    ("GAN, images", lambda kind, m: kind == "gan" and "modes" not in m["metrics"]),
    ("VAE", lambda kind, m: kind == "vae"),
    ("autoencoder", lambda kind, m: kind == "ae"),
)


def zoo_tables(readme: Path = ROOT / "docs" / "zoo.md") -> None:
    """Rewrite the zoo tables in docs/zoo.md (between the zoo markers) from registry.yaml: one per kind, each with
    the columns its models have; a 2-D model that captured no mode, or a model its recipe calls a failure example,
    is marked as the failure it is."""
    import yaml

    from ganzoo.fsutil import atomic_write_text
    from ganzoo.metrics.report import TABLE_COLUMNS
    from ganzoo.plugins import get_registry

    reg = get_registry()
    models = (yaml.safe_load(REGISTRY.read_text()) or {}).get("models") or []
    kinds = {m["name"]: reg.variant(m["variant"]).kind if reg.has("variant", m["variant"]) else "?" for m in models}
    lines, placed = [], set()
    for title, member in TABLES + (("other", lambda kind, m: True),):
        rows = [m for m in models if m["name"] not in placed and member(kinds[m["name"]], m)]
        if not rows:
            continue
        placed |= {m["name"] for m in rows}
        used = [c for c in TABLE_COLUMNS if any(c in m.get("metrics", {}) for m in rows)]
        lines += [f"| {title} | variant | objective | data | " + " | ".join(used) + " |",
                  "|---|---|---|---|" + "---:|" * len(used)]
        for m in rows:
            cells = ["" if m["metrics"].get(c) is None else f"{m['metrics'][c]:g}" for c in used]
            failed = " (failure example)" if m["metrics"].get("modes") == 0 or "a failure example" in m["summary"] else ""
            lines.append(f"| `{m['name']}`{failed} | {m['variant']} | {m['objective']} | {m['dataset']} | "
                         + " | ".join(cells) + " |")
        lines.append("")
    text = readme.read_text()
    begin, end = "<!-- zoo:begin -->", "<!-- zoo:end -->"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    atomic_write_text(readme, head + begin + "\n" + "\n".join(lines).rstrip("\n") + "\n" + end + tail)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--list", action="store_true")
    p.add_argument("--retrain", action="store_true", help="train again even if runs/zoo/NAME exists")
    p.add_argument("--rescore", action="store_true",
                   help="evaluate again without training: runs/zoo/NAME, or else the bundled copy (after a metric change)")
    p.add_argument("--tables", "--readme", dest="readme", action="store_true", help="only rewrite the zoo tables of docs/zoo.md from registry.yaml")
    p.add_argument("--render", action="store_true",
                   help="write the cards, config.json, pictures and pins again from the bundled copies and the "
                        "evaluations their cards record: no training, no scoring")
    a = p.parse_args(argv)
    if a.readme:
        zoo_tables()
        return
    if a.list:
        for name in RECIPES:
            print(name, "\n  " + "\n  ".join(sum(commands(name, Path("runs/zoo") / name), [])))
        return
    if a.retrain and a.rescore:
        raise SystemExit("--retrain trains again and --rescore never trains: pass one of them")
    names = list(RECIPES) if a.all else a.names
    unknown = [n for n in names if n not in RECIPES]
    if unknown or not names:
        raise SystemExit(f"unknown recipe(s) {unknown}; see --list" if unknown else "name a recipe or pass --all")
    for name in names:
        render(name) if a.render else build(name, retrain=a.retrain, rescore=a.rescore)
    zoo_tables()


if __name__ == "__main__":
    main()
