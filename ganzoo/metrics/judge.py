"""Judge classifiers: a small CNN per dataset whose predictions and penultimate-layer features
score generated images (class histogram, confidence, Fréchet distance, precision/recall).

The weights ship inside the package (``ganzoo/metrics/judges/<dataset>.safetensors``) next to a
JSON card with the architecture, the data split, the held-out accuracy and the file's sha256.
This module loads them; the maintainer tool that trained them (and remakes them) lives in the
checkout, outside the package::

    python tools/train_judge.py train --data digits
    python tools/train_judge.py train --data mnist:../shared/data/mnist
    python tools/train_judge.py check --data digits      # re-measure a shipped judge's accuracy

``digits`` trains on 80% of scikit-learn's 8x8 digits (``TensorData.split(0.8, seed=0)``) and
reports accuracy on the other 20%. ``mnist`` trains on the first 8,000 images of the MNIST *test*
split (t10k; the only part this project assumes is present) and reports accuracy on the last 2,000
(:func:`judge_splits`).
"""

from __future__ import annotations

import json
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
                            f"{', '.join(known) or 'none'}); train one from a ganzoo checkout with "
                            f"python tools/train_judge.py train --data {name}...")
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
def conditional_on_classes(model, data) -> bool:
    """Whether ``model`` is class-conditional on ``data``'s classes (not self-conditioned on k-means clusters),
    so that a judge can score each class's samples against that class's images (the ``intra`` metric)."""
    return bool(model.num_classes) and model.label_prior is None and data.y is not None \
        and getattr(data, "label_source", "classes") == "classes" and model.num_classes == data.num_classes


def accuracy(judge: Judge, x: torch.Tensor, y: torch.Tensor) -> float:
    _, p = judge.predict(x)
    return float((p.argmax(1) == y).float().mean())


if __name__ == "__main__":  # the training command moved out of the package
    raise SystemExit("ganzoo: error: judges are trained and checked with tools/train_judge.py in a ganzoo checkout, "
                     "e.g. python tools/train_judge.py train --data digits")
