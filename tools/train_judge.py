"""Train or check the judge classifiers that ``ganzoo eval`` scores images with (a maintainer tool,
kept out of the installed package; run it from the checkout, with the checkout installed)::

    python tools/train_judge.py train --data digits
    python tools/train_judge.py train --data mnist:../shared/data/mnist
    python tools/train_judge.py check --data digits      # re-measure a shipped judge's accuracy

``train`` writes ``<dataset>.safetensors`` and its JSON card (architecture, split, held-out accuracy,
sha256) into ``ganzoo/metrics/judges/`` of this checkout, where the package ships them from. The
network, the data splits and the loading live in ``ganzoo.metrics.judge``; this file holds only the
training recipe.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from ganzoo.metrics.judge import Judge, accuracy, dataset_name, judge_splits, load_judge

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "ganzoo" / "metrics" / "judges"    # the checkout's copy: what the package ships

def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Random translations by up to ``max_shift`` pixels (zero padding), one per image."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    p = max_shift
    padded = F.pad(x, (p, p, p, p))
    dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None]).clamp_(0, h + 2 * p - 1)
    cols = (dx[:, None] + torch.arange(w)[None]).clamp_(0, w + 2 * p - 1)
    out = padded[torch.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def train_judge(train, held, *, epochs: int = 30, batch: int = 64, lr: float = 2e-3, seed: int = 0,
                max_shift: int = 1, feature_dim: int = 64, width: int = 32, log=None) -> tuple[Judge, float]:
    """Train a :class:`Judge` on ``train`` (TensorData with labels); return it and its accuracy
    on ``held``. Adam, cosine learning rate, random shifts, dropout; deterministic for a seed."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    c, s, _ = train.sample_shape
    judge = Judge(c, s, train.num_classes or int(train.y.max()) + 1, width=width, feature_dim=feature_dim)
    opt = torch.optim.Adam(judge.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * math.ceil(len(train) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        judge.train()
        perm = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(0, len(train), batch):
            idx = perm[i:i + batch]
            x = _shift(train.x[idx], max_shift, gen)
            loss = F.cross_entropy(judge(x), train.y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log is not None and (epoch + 1) % 5 == 0:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(train):.4f}, "
                f"held-out accuracy {accuracy(judge, held.x, held.y):.4f}")
    judge.eval()
    return judge, accuracy(judge, held.x, held.y)


RECIPES = {"digits": {"epochs": 40, "batch": 64, "lr": 3e-3, "max_shift": 1},
           "mnist": {"epochs": 12, "batch": 128, "lr": 3e-3, "max_shift": 2}}


def train_and_save(data_ref: str, out: Optional[Path] = None, *, seed: int = 0, log=print) -> dict:
    """Train the judge for ``data_ref`` with its recipe and write ``<name>.safetensors`` + ``<name>.json``."""
    from ganzoo.fsutil import atomic_write_json, sha256_file
    from ganzoo.weights import save_module

    name = dataset_name(data_ref)
    train, held, split = judge_splits(data_ref)
    recipe = dict(RECIPES[name])
    torch.set_num_threads(max(1, torch.get_num_threads()))
    judge, acc = train_judge(train, held, seed=seed, log=log, **recipe)
    out = Path(out) if out else OUT
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    save_module(judge, weights, metadata={"ganzoo_judge": name})
    info = {
        "dataset": name,
        "arch": judge.arch(),
        "held_out_accuracy": round(acc, 4),
        "train_size": len(train),
        "held_out_size": len(held),
        "split": split,
        "recipe": {**recipe, "seed": seed, "optimizer": "adam, one-cycle lr, label smoothing 0.05, dropout 0.25"},
        "command": f"python tools/train_judge.py train --data {name}" + (":DIR" if name == "mnist" else ""),
        "features": "penultimate layer (ReLU), feature_dim wide",
        "sha256": sha256_file(weights),
        "bytes": weights.stat().st_size,
    }
    atomic_write_json(out / f"{name}.json", info)
    for path in (weights, out / f"{name}.json"):
        path.chmod(0o644)  # package data: readable by all
    return info


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python tools/train_judge.py",
                                     description="Train or check the judge classifiers used by `ganzoo eval`.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a judge and write <name>.safetensors + <name>.json")
    t.add_argument("--data", required=True, help="digits, or mnist:DIR (DIR holds the MNIST t10k idx files)")
    t.add_argument("--out", default=None, help=f"output folder (default: {OUT})")
    t.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check", help="re-measure a shipped judge's held-out accuracy")
    c.add_argument("--data", required=True)
    c.add_argument("--dir", default=None, help="folder with the judge files (default: the shipped ones)")
    args = parser.parse_args(argv)
    from ganzoo.errors import GanzooError

    try:
        if args.cmd == "train":
            info = train_and_save(args.data, args.out, seed=args.seed)
            print(f"judge {info['dataset']}: held-out accuracy {info['held_out_accuracy']:.4f} "
                  f"({info['held_out_size']} images), {info['bytes']} bytes, sha256 {info['sha256'][:12]}...")
        else:
            _, held, _ = judge_splits(args.data)
            acc = accuracy(load_judge(args.data, args.dir), held.x, held.y)
            print(f"judge {dataset_name(args.data)}: held-out accuracy {acc:.4f} ({len(held)} images)")
    except GanzooError as exc:
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
