"""Judge classifiers: a small CNN per dataset whose predictions and penultimate-layer features
score generated images (class histogram, confidence, Fréchet distance, precision/recall).

The weights ship inside the package (``ganzoo/metrics/judges/<dataset>.safetensors``) next to a
JSON card with the architecture, the data split, the held-out accuracy and the file's sha256.
They were made with (and can be remade with)::

    python -m ganzoo.metrics.judge train --data digits
    python -m ganzoo.metrics.judge train --data mnist:../shared/data/mnist

``digits`` trains on 80% of scikit-learn's 8x8 digits (``TensorData.split(0.8, seed=0)``) and
reports accuracy on the other 20%. ``mnist`` trains on the first 8,000 images of the MNIST *test*
split (t10k; the only part this project assumes is present) and reports accuracy on the last 2,000.
``python -m ganzoo.metrics.judge check --data ...`` re-measures a shipped judge's accuracy.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ConfigError, IntegrityError, NotFoundError

JUDGE_DIR = Path(__file__).resolve().parent / "judges"
JUDGE_DATASETS = ("digits", "mnist")
MNIST_TRAIN, MNIST_HELD_OUT = 8000, 2000


class Judge(nn.Module):
    """Three 3x3 conv blocks and a ``features``-wide penultimate layer; input (N, C, S, S) in [0, 1].

    ``forward(x) -> logits``; ``features(x)`` is the penultimate (ReLU) activation used for the
    Fréchet distance and precision/recall/density/coverage."""

    def __init__(self, channels: int = 1, size: int = 28, num_classes: int = 10, width: int = 32,
                 feature_dim: int = 64):
        super().__init__()
        self.channels, self.size, self.num_classes = int(channels), int(size), int(num_classes)
        self.width, self.feature_dim = int(width), int(feature_dim)
        w = self.width
        s = self.size
        layers: list[nn.Module] = []
        cin = self.channels
        for i, cout in enumerate((w, 2 * w, 2 * w)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
            if s >= 4 and (i > 0 or s > 8):  # 28: pool 3x (28->14->7->3); 8: pool 2x (8->4->2)
                layers.append(nn.MaxPool2d(2))
                s //= 2
            cin = cout
        self.trunk = nn.Sequential(*layers)
        self.flat = cin * s * s
        self.embed = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(self.flat, self.feature_dim),
                                   nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(self.feature_dim, self.num_classes))

    def arch(self) -> dict:
        return {"channels": self.channels, "size": self.size, "num_classes": self.num_classes,
                "width": self.width, "feature_dim": self.feature_dim}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.trunk((x - 0.5) / 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (N, feature_dim), class probabilities (N, num_classes)) in eval mode."""
        self.check_input(x)
        was = self.training
        self.eval()
        try:
            feats, probs = [], []
            for i in range(0, x.shape[0], batch):
                f = self.features(x[i:i + batch].float())
                feats.append(f)
                probs.append(F.softmax(self.head(f), dim=1))
            if not feats:
                return torch.zeros(0, self.feature_dim), torch.zeros(0, self.num_classes)
            return torch.cat(feats), torch.cat(probs)
        finally:
            self.train(was)

    def check_input(self, x: torch.Tensor) -> None:
        want = (self.channels, self.size, self.size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ConfigError(f"the judge expects images of shape {list(want)}, got {list(x.shape[1:])}")


# -- lookup ------------------------------------------------------------------------------------
def dataset_name(data_ref) -> str:
    """``"mnist:/dir"`` -> ``"mnist"`` (a :class:`TensorData` is looked up by its ``name``)."""
    ref = data_ref if isinstance(data_ref, str) else getattr(data_ref, "name", "") or ""
    return ref.partition(":")[0]


def has_judge(data_ref, folder: Optional[Path] = None) -> bool:
    name = dataset_name(data_ref)
    folder = Path(folder) if folder else JUDGE_DIR
    return bool(name) and (folder / f"{name}.json").is_file() and (folder / f"{name}.safetensors").is_file()


def card(name: str, folder: Optional[Path] = None) -> dict:
    folder = Path(folder) if folder else JUDGE_DIR
    path = folder / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        raise NotFoundError(f"no judge classifier for dataset {name!r} (judges exist for: "
                            f"{', '.join(known) or 'none'}); train one with "
                            f"python -m ganzoo.metrics.judge train --data {name}...")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable judge card: {exc}") from None


_CACHE: dict = {}


def load_judge(data_ref, folder: Optional[Path] = None) -> Judge:
    """The shipped judge for a dataset name or ref (``"digits"``, ``"mnist:/dir"``), sha256-checked."""
    from ganzoo.fsutil import sha256_file
    from ganzoo.weights import load_into

    name = dataset_name(data_ref)
    folder = Path(folder) if folder else JUDGE_DIR
    key = (name, str(folder))
    if key in _CACHE:
        return _CACHE[key]
    info = card(name, folder)
    weights = folder / f"{name}.safetensors"
    got = sha256_file(weights) if weights.is_file() else None
    if got != info.get("sha256"):
        raise IntegrityError(f"judge {name!r}: {weights.name} does not match the sha256 in {name}.json; "
                             "reinstall ganzoo or retrain the judge")
    judge = Judge(**info["arch"])
    load_into(judge, weights, what=f"judge {name!r}")
    judge.eval()
    _CACHE[key] = judge
    return judge


# -- data splits -------------------------------------------------------------------------------
def judge_splits(data_ref: str):
    """(train, held_out) TensorData for the judge of ``data_ref`` and a description of the split."""
    from ganzoo.data import load_dataset

    name = dataset_name(data_ref)
    if name == "digits":
        data = load_dataset("digits")
        train, held = data.split(0.8, seed=0)
        return train, held, "digits: TensorData.split(0.8, seed=0); train on the first part, test on the rest"
    if name == "mnist":
        _, _, arg = str(data_ref).partition(":")
        if not arg:
            raise ConfigError("the MNIST judge needs the data: --data mnist:DIR (DIR holds t10k-images-idx3-ubyte.gz)")
        try:
            data = load_dataset(f"mnist:{arg}", split="test")
        except ConfigError as exc:
            raise ConfigError(f"cannot train/check the MNIST judge: the MNIST test split is not available ({exc})") from None
        if len(data) < MNIST_TRAIN + MNIST_HELD_OUT:
            raise ConfigError(f"the MNIST judge needs the 10,000-image test split; {arg} has {len(data)} images")
        idx = torch.arange(len(data))
        return (data.subset(idx[:MNIST_TRAIN]), data.subset(idx[-MNIST_HELD_OUT:]),
                f"mnist t10k: first {MNIST_TRAIN} images train, last {MNIST_HELD_OUT} held out")
    raise ConfigError(f"no judge recipe for dataset {name!r}; use one of: {', '.join(JUDGE_DATASETS)}")


@torch.no_grad()
def accuracy(judge: Judge, x: torch.Tensor, y: torch.Tensor) -> float:
    _, p = judge.predict(x)
    return float((p.argmax(1) == y).float().mean())


# -- training ----------------------------------------------------------------------------------
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
    out = Path(out) if out else JUDGE_DIR
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
        "command": f"python -m ganzoo.metrics.judge train --data {name}" + (":DIR" if name == "mnist" else ""),
        "features": "penultimate layer (ReLU), feature_dim wide",
        "sha256": sha256_file(weights),
        "bytes": weights.stat().st_size,
    }
    atomic_write_json(out / f"{name}.json", info)
    for path in (weights, out / f"{name}.json"):
        path.chmod(0o644)  # package data: readable by all
    _CACHE.clear()
    return info


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ganzoo.metrics.judge",
                                     description="Train or check the judge classifiers used by `ganzoo eval`.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a judge and write <name>.safetensors + <name>.json")
    t.add_argument("--data", required=True, help="digits, or mnist:DIR (DIR holds the MNIST t10k idx files)")
    t.add_argument("--out", default=None, help=f"output folder (default: {JUDGE_DIR})")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
