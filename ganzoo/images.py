"""Pictures without matplotlib: image grids and 2-D scatter plots, written with Pillow."""

from __future__ import annotations

import io
import math

import numpy as np


def grid(x01, nrow: int | None = None, pad: int = 2, scale: int | None = None):
    """(N, C, H, W) array/tensor in [0, 1] -> a PIL image grid."""
    from PIL import Image

    x = np.asarray(x01.detach().cpu() if hasattr(x01, "detach") else x01, dtype=np.float32)
    n, c, h, w = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    canvas = np.ones((c, ncol * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, nrow)
        canvas[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = x[i]
    arr = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
    img = Image.fromarray(arr[0] if c == 1 else arr.transpose(1, 2, 0), mode="L" if c == 1 else "RGB")
    scale = scale or max(1, 256 // max(h, w))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def scatter(points, modes=None, size: int = 512, title: str | None = None, limit: float | None = None):
    """2-D samples as dots (blue) over mode centres (red crosses)."""
    from PIL import Image, ImageDraw

    pts = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, dtype=np.float64)
    ref = pts if modes is None else np.asarray(modes, dtype=np.float64)
    if limit is None:
        finite = ref[np.isfinite(ref).all(1)] if len(ref) else np.zeros((1, 2))
        limit = float(np.abs(finite).max() * 1.3) if len(finite) else 1.0
        limit = max(limit, 1e-3)
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    to_px = lambda p: ((p[0] / limit + 1) * size / 2, (1 - p[1] / limit) * size / 2)  # noqa: E731
    d.line([(size / 2, 0), (size / 2, size)], fill=(230, 230, 230))
    d.line([(0, size / 2), (size, size / 2)], fill=(230, 230, 230))
    for p in pts:
        if np.isfinite(p).all():
            x, y = to_px(p)
            d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(40, 90, 200))
    if modes is not None:
        for p in np.asarray(modes):
            x, y = to_px(p)
            d.line([x - 5, y - 5, x + 5, y + 5], fill=(220, 30, 30), width=2)
            d.line([x - 5, y + 5, x + 5, y - 5], fill=(220, 30, 30), width=2)
    if title:
        d.text((6, 6), title, fill=(0, 0, 0))
    return img


def png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_png(img, path) -> None:
    from .fsutil import atomic_write_bytes

    atomic_write_bytes(path, png_bytes(img))


def save_npy(array, path) -> None:
    from .fsutil import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.asarray(array, dtype=np.float32))
    atomic_write_bytes(path, buf.getvalue())
