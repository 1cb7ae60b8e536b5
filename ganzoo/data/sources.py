"""Data sources. Images are float32 (N, C, H, W) in [0, 1]; vectors are float32 (N, D)."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ganzoo.errors import ConfigError, first_line

MAX_IDX_ITEMS = 10_000_000


class TensorData:
    """An in-memory dataset: ``x`` (N, *sample_shape), optional labels ``y`` (N,): classes, or k-means
    clusters where ``label_source`` is ``"clusters"`` (see :mod:`ganzoo.data.clusters`)."""

    label_source = "classes"

    def __init__(self, x: torch.Tensor, y: Optional[torch.Tensor] = None, *, num_classes: int = 0,
                 labels: Optional[list] = None, name: str = ""):
        self.x = x.float().contiguous()
        self.y = y.long() if y is not None else None
        self.num_classes = int(num_classes)
        self.labels = labels
        self.name = name

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4

    def split(self, fraction: float, seed: int = 0):
        """Two disjoint random parts (e.g. train / held-out)."""
        gen = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(self), generator=gen)
        k = int(round(len(self) * fraction))
        return self.subset(perm[:k]), self.subset(perm[k:])

    def subset(self, idx) -> "TensorData":
        out = TensorData(self.x[idx], self.y[idx] if self.y is not None else None,
                         num_classes=self.num_classes, labels=self.labels, name=self.name)
        out.label_source = self.label_source
        return out


class Mixture(TensorData):
    """A 2-D Gaussian mixture with equal weights; ``centres`` (K, 2) and ``std`` define it."""

    def __init__(self, centres, std: float, n: int = 100_000, seed: int = 0, name: str = ""):
        self.centres = torch.as_tensor(centres, dtype=torch.float32)
        self.std = float(std)
        super().__init__(self.sample(n, seed=seed), name=name)

    def sample(self, n: int, *, seed: int = 0) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        k = torch.randint(len(self.centres), (n,), generator=gen)
        return self.centres[k] + self.std * torch.randn(n, 2, generator=gen)


def ring8(arg=None, *, n: int = 100_000, seed: int = 0, **_):
    angles = torch.arange(8) * (2 * math.pi / 8)
    return Mixture(torch.stack([angles.cos(), angles.sin()], 1), 0.01, n=n, seed=seed, name="ring8")


def grid25(arg=None, *, n: int = 100_000, seed: int = 0, **_):
    pts = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    centres = torch.cartesian_prod(pts, pts)
    return Mixture(centres, 0.05, n=n, seed=seed, name="grid25")


def digits(arg=None, **_):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError("dataset 'digits' needs scikit-learn: pip install 'ganzoo[digits]'") from None
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    return TensorData(x, torch.from_numpy(d.target), num_classes=10, labels=[str(i) for i in range(10)], name="digits")


# -- MNIST idx files --------------------------------------------------------------------------
def _read_idx(path: Path, magic: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or struct.unpack(">I", head)[0] != magic:
                raise ConfigError(f"{path}: not an idx file of the expected kind (bad magic number)")
            ndim = magic & 0xFF
            dims = struct.unpack(f">{ndim}I", fh.read(4 * ndim))
            count = math.prod(dims)
            if count > MAX_IDX_ITEMS * 28 * 28:
                raise ConfigError(f"{path}: claims {dims}, too large")
            if count == 0:   # a zero size beside huge ones: numpy cannot even shape the empty array
                raise ConfigError(f"{path}: claims {dims}, which holds no items")
            raw = fh.read(count)
    except (OSError, EOFError, struct.error, zlib.error) as exc:
        raise ConfigError(f"{path}: cannot read idx file: {exc}") from None
    if len(raw) != count:
        raise ConfigError(f"{path}: truncated ({len(raw)} of {count} bytes)")
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


def _find(folder: Path, stem: str) -> Optional[Path]:
    for cand in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / cand).is_file():
            return folder / cand
    return None


def mnist(arg, *, split: str = "all", **_):
    folder = Path(arg).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"mnist: {folder} is not a folder; pass mnist:DIR with the idx files")
    parts = {"train": "train", "test": "t10k"}
    wanted = ["train", "test"] if split == "all" else [split]
    if any(w not in parts for w in wanted):
        raise ConfigError(f"mnist: split must be train, test or all, not {split!r}")
    xs, ys = [], []
    for w in wanted:
        img = _find(folder, f"{parts[w]}-images-idx3-ubyte")
        lab = _find(folder, f"{parts[w]}-labels-idx1-ubyte")
        if img is None or lab is None:
            continue
        x, y = _read_idx(img, 0x00000803), _read_idx(lab, 0x00000801)
        if len(x) != len(y):
            raise ConfigError(f"mnist: {img.name} has {len(x)} images but {lab.name} has {len(y)} labels")
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ConfigError(f"mnist: no {'/'.join(parts[w] for w in wanted)}-images-idx3-ubyte[.gz] with labels in {folder}")
    x = torch.from_numpy(np.concatenate(xs).astype(np.float32) / 255.0)[:, None]
    y = torch.from_numpy(np.concatenate(ys).astype(np.int64))
    return TensorData(x, y, num_classes=10, labels=[str(i) for i in range(10)], name="mnist")


MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # a 8192 x 8192 image; anything larger is refused before decoding
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def folder(arg, *, image_size: Optional[int] = None, channels: Optional[int] = None, **_):
    """``folder:DIR``: the images (png, jpg, jpeg, bmp, gif, webp) in DIR, or in its class
    subfolders, whose sorted names become the labels (``--conditional``; ``ganzoo sample --label NAME``).
    Options (``--data-opt KEY=VALUE``): ``channels`` 1 (greyscale) or 3 (RGB), default inferred: 1
    when every image is greyscale, else 3; ``image_size`` N: every image resized to N x N (bicubic),
    default inferred: the images' own size when they all share one square size (a folder of mixed or
    non-square sizes needs ``image_size``). Samples are [channels, N, N] in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    root = Path(arg).expanduser()
    if not root.is_dir():
        raise ConfigError(f"folder: {root} is not a folder of images")
    if channels is not None and (isinstance(channels, bool) or channels not in (1, 3)):
        raise ConfigError(f"folder: channels must be 1 or 3, not {channels!r}")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise ConfigError(f"folder: image_size must be a whole number of pixels >= 1, not {image_size!r}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = [(p, None) for p in sorted(root.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if classes:
        files = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).iterdir())
                 if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise ConfigError(f"folder: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {root}")

    def each_image(read):
        """``read(im)`` of every image, opened lazily; every way it can fail is one ConfigError."""
        out = []
        for path, _ in files:
            try:
                with Image.open(path) as im:
                    if im.width * im.height > MAX_IMAGE_PIXELS:  # checked before any pixel is decoded
                        raise ConfigError(f"folder: image {path} is {im.width}x{im.height} pixels, more than "
                                          f"{MAX_IMAGE_PIXELS:,}; refusing to decode it")
                    out.append(read(im))
            except ConfigError:
                raise
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error,
                    zlib.error, Image.DecompressionBombError) as exc:  # every way PIL reports a bad file
                raise ConfigError(f"folder: cannot read image {path}: {first_line(exc)}") from None
        return out

    if channels is None or image_size is None:  # infer from the headers (no pixels decoded)
        heads = each_image(lambda im: (im.size, im.mode in GREY_MODES or (im.mode == "P" and _grey_palette(im))))
        sizes = {size for size, _ in heads}
        channels = channels or (1 if all(grey for _, grey in heads) else 3)
        if image_size is None:
            w, h = next(iter(sizes)) if len(sizes) == 1 else (0, 1)
            if w != h:
                seen = ", ".join(f"{a}x{b}" for a, b in sorted(sizes)[:4]) + (", ..." if len(sizes) > 4 else "")
                raise ConfigError(f"folder: the images are not all one square size ({seen}); choose the size to "
                                  "resize them to with --data-opt image_size=N (e.g. 28, 32 or 64)")
            image_size = w

    def pixels(im):
        im = im.convert("L" if channels == 1 else "RGB")
        if im.size != (image_size, image_size):
            im = im.resize((image_size, image_size), Image.BICUBIC)
        return np.asarray(im, dtype=np.float32) / 255.0

    x = torch.from_numpy(np.stack(each_image(pixels)))
    x = x[:, None] if channels == 1 else x.permute(0, 3, 1, 2)
    y = torch.tensor([c for _, c in files]) if classes else None
    return TensorData(x, y, num_classes=len(classes), labels=classes or None, name=f"folder:{root}")


def _grey_palette(im) -> bool:
    """A palette image whose colours are all greys."""
    pal = im.getpalette() or []
    return all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))
