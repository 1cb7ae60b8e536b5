"""MNIST peer benchmark: the classic public MLP GAN (z 64, 256-256 LeakyReLU D, Tanh G, BCE, Adam 2e-4,
batch 32), written here in plain PyTorch, against the zoo's MNIST GANs, all scored by the same
``ganzoo.metrics.evaluate`` (judge metrics: classes present, class-histogram KL to uniform, the
judge-feature Fréchet distance as a ratio to real-vs-real, recall and coverage).

    python benchmarks/mnist_peer.py                       # peer: 3 seeds, checkpoints up to 30k steps
    python benchmarks/mnist_peer.py --steps 60000 --seeds 5
    python benchmarks/mnist_peer.py --smoke               # seconds; what CI runs (numbers meaningless)

The peer is scored at several checkpoints and its *best* checkpoint per seed is the one compared
(by Fréchet ratio), so ganzoo's models are not compared against an unlucky stopping point. Data:
the MNIST test split in ``../shared/data/mnist`` (``--mnist DIR``; the script exits with a message
where it is absent). The result replaces the ``mnist-peer`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ZOO = ("mnist-mlp-selfcond", "mnist-dcgan-selfcond", "mnist-cdcgan-hinge")
GOAL = {"class_kl": 0.05, "fd_ratio": 2.0}
KEYS = ("classes", "class_kl", "fd_ratio", "recall", "coverage")


def peer_networks(torch):
    """The classic MLP GAN (e.g. yunjey/pytorch-tutorial's, at z 64 and hidden 256)."""
    nn = torch.nn
    g = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d


def as_ganzoo_model(g_state):
    """The peer's G inside ganzoo's ``mlp`` generator (same layers, so a strict load), to be scored
    by exactly the code that scores the zoo."""
    import ganzoo

    model = ganzoo.create("mlp", "non-saturating", dataset="mnist", sample_shape=[1, 28, 28], latent_dim=64,
                          g_hidden=[256, 256], d_hidden=[256, 256], g_norm=False, output="tanh")
    model.generator.net.load_state_dict(g_state, strict=True)     # Linear layers 0, 2, 4; Tanh is out_act
    return model


def score(model, data, n):
    from ganzoo.metrics import evaluate

    m = evaluate(model, data, metrics=["judge", "prdc"], n=n, seed=0)["metrics"]
    j, p = m["judge"], m["prdc"]
    return {"classes": j["classes"], "class_kl": j["class_kl"], "fd_ratio": j["fd_ratio"],
            "recall": p["recall"], "coverage": p["coverage"]}


def train_peer(data, *, steps, checkpoints, seed, n_eval):
    """Plain PyTorch, as the public example writes it; returns [(step, scores, seconds)] at the checkpoints."""
    import torch

    torch.manual_seed(seed)
    g, d = peer_networks(torch)
    bce = torch.nn.BCELoss()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4)
    x_all = data.x.reshape(len(data), -1) * 2 - 1              # [0, 1] -> [-1, 1], as the example normalises
    gen = torch.Generator().manual_seed(seed)
    bs, ones, zeros = 32, torch.ones(32, 1), torch.zeros(32, 1)
    perm, pos, t0, out = torch.randperm(len(x_all), generator=gen), 0, time.perf_counter(), []
    for step in range(1, steps + 1):
        if pos + bs > len(perm):
            perm, pos = torch.randperm(len(x_all), generator=gen), 0
        x = x_all[perm[pos:pos + bs]]
        pos += bs
        fake = g(torch.randn(bs, 64))
        d_loss = bce(d(x), ones) + bce(d(fake.detach()), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = bce(d(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if step in checkpoints:
            seconds = time.perf_counter() - t0
            out.append((step, score(as_ganzoo_model(g.state_dict()), data, n_eval), seconds))
            t0 = time.perf_counter()
    return out


def _cell(xs, digits):
    m, s = common.mean_std(xs)
    return f"{m:.{digits}f}" if len(xs) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="1 seed, 200 steps, 500 samples (for CI)")
    p.add_argument("--output", default=str(common.DEFAULT_OUTPUT), help="markdown file to update")
    p.add_argument("--mnist", default=str(common.ROOT.parent / "shared" / "data" / "mnist"),
                   help="folder with the MNIST idx files")
    p.add_argument("--steps", type=int, default=30000, help="peer training steps (batch 32)")
    p.add_argument("--checkpoints", type=int, default=6, help="evenly spaced checkpoints to score the peer at")
    p.add_argument("--seeds", type=int, default=3, help="peer seeds")
    p.add_argument("--n", type=int, default=None, help="samples per evaluation (default: the metrics' own)")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps, args.checkpoints, args.seeds, args.n = 200, 2, 1, 500
    if not Path(args.mnist).is_dir():
        print(f"mnist_peer: no MNIST folder at {args.mnist}; pass --mnist DIR (the idx files, gzip)", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(1)
    import ganzoo
    from ganzoo.data import load_dataset

    started, load0 = time.perf_counter(), common.loadavg()
    data = load_dataset(f"mnist:{args.mnist}")
    every = max(1, args.steps // args.checkpoints)
    checkpoints = set(range(every, args.steps + 1, every)) | {args.steps}

    best, curve = [], {}
    for seed in range(args.seeds):
        runs = train_peer(data, steps=args.steps, checkpoints=checkpoints, seed=seed, n_eval=args.n)
        for step, s, sec in runs:
            curve.setdefault(step, []).append(s)
            print(f"[mnist-peer] seed {seed} step {step}: " + ", ".join(f"{k} {s[k]:.3f}" for k in KEYS)
                  + f" ({sec:.0f} s)", file=sys.stderr, flush=True)
        best.append(min((s for _, s, _ in runs), key=lambda s: s["fd_ratio"]))

    zoo = {}
    for name in ZOO:
        zoo[name] = score(ganzoo.load(name, components=["generator"]), data, args.n)
        print(f"[mnist-peer] {name}: " + ", ".join(f"{k} {zoo[name][k]:.3f}" for k in KEYS), file=sys.stderr)

    header = ["model", "classes (≥1%)", "class KL", "Fréchet ratio", "recall", "coverage", "beats the peer"]
    rows = [[f"classic MLP GAN, best checkpoint ({args.seeds} seed{'s' if args.seeds > 1 else ''})", _cell([b["classes"] for b in best], 1),
             _cell([b["class_kl"] for b in best], 3), _cell([b["fd_ratio"] for b in best], 1),
             _cell([b["recall"] for b in best], 3), _cell([b["coverage"] for b in best], 3), ""]]
    peer_kl = max(b["class_kl"] for b in best)
    peer_fd = min(b["fd_ratio"] for b in best)
    for name, s in zoo.items():
        beats = s["classes"] == 10 and s["class_kl"] < peer_kl and s["fd_ratio"] < peer_fd
        rows.append([f"**{name}** (zoo)", str(s["classes"]), f"{s['class_kl']:.3f}", f"{s['fd_ratio']:.1f}",
                     f"{s['recall']:.3f}", f"{s['coverage']:.3f}", "yes" if beats else "no"])
    curve_rows = [[str(step), _cell([s["classes"] for s in ss], 1), _cell([s["class_kl"] for s in ss], 3),
                   _cell([s["fd_ratio"] for s in ss], 1)] for step, ss in sorted(curve.items())]
    head = common.preamble(
        title="MNIST: the classic MLP GAN as a peer", threads=1, started=started, load_start=load0, smoke=args.smoke,
        caveat="only the seconds suffer; the quality numbers do not depend on the load",
        extra={"data": "the MNIST test split (10,000 images), which is all these machines have",
               "peer": f"plain PyTorch in this script: G 64-256-256-784 (ReLU, Tanh), D 784-256-256-1 (LeakyReLU 0.2, "
                       f"Sigmoid), BCE, Adam 2e-4, batch 32, {args.steps} steps, scored at {len(checkpoints)} "
                       "checkpoints; the row shows each seed's best checkpoint by Fréchet ratio",
               "zoo": "the bundled models, loaded by name; each card has its recipe",
               "scoring": "`ganzoo.metrics.evaluate(model, data, metrics=['judge', 'prdc'])` for every row; classes = "
                          "judge classes with at least 1% of the samples; Fréchet ratio = judge-feature FD to the real "
                          "half B over FD(real half A, real half B), both means over the judge metric's 20 draws (each "
                          "a sample draw against its own random split of the real images)",
               "beats the peer": "all 10 classes, lower class KL than the peer's worst seed and lower Fréchet ratio "
                                 "than its best seed",
               "goal (issue)": f"class KL <= {GOAL['class_kl']}, Fréchet ratio <= {GOAL['fd_ratio']}"})
    body = "\n".join([head, common.table(header, rows), "", "<details><summary>the peer by checkpoint (mean ± std "
                      "over seeds)</summary>", "", common.table(["step", "classes", "class KL", "Fréchet ratio"],
                                                                curve_rows), "", "</details>"])
    path = common.write_section(args.output, "mnist-peer", body)
    print(f"wrote the mnist-peer section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
