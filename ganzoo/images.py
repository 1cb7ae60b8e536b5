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
    scale = scale or max(1, 128 // max(h, w))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def grid_bytes(shape, pad: int = 2, scale: int | None = None) -> int:
    """Bytes :func:`grid` holds per image of ``shape`` (C, H, W): its float canvas, the 8-bit picture and
    the upscaled picture -- what a picture of N images costs is N times this."""
    c, h, w = (int(s) for s in shape)
    scale = scale or max(1, 128 // max(h, w))
    cell = (h + pad) * (w + pad) * c
    return cell * (4 + 1 + scale * scale)


def check_memory(model, count: int, *, what: str, advice: str, picture: bool = True) -> int:
    """:func:`ganzoo.limits.check_output_memory` for ``count`` samples of ``model`` and, with ``picture``,
    the grid drawn of them (images): refused before any is made when over the output memory budget."""
    from .limits import check_output_memory

    extra = grid_bytes(model.sample_shape) if picture and model.is_image else 0
    return check_output_memory(count, model.sample_shape, what=what, advice=advice, extra_per_item=extra)


def grid_rows(rows, ncol: int, pad: int = 2):
    """A grid whose rows are the given batches (each (k, C, H, W) in [0, 1], k <= ``ncol``); a short
    row is filled with blank (white) cells, so the next batch starts a new row."""
    cells = []
    for row in rows:
        r = np.asarray(row.detach().cpu() if hasattr(row, "detach") else row, dtype=np.float32)
        if len(r) < ncol:
            r = np.concatenate([r, np.ones((ncol - len(r), *r.shape[1:]), dtype=np.float32)])
        cells.append(r)
    return grid(np.concatenate(cells), nrow=ncol, pad=pad)


def sample_picture(model, n: int | None = None, *, seed: int = 0, y=None, modes=None, title: str | None = None):
    """The picture of a model's samples (a PIL image), or None for samples that are neither images
    nor 2-D points, and for a model that cannot be sampled (no ``"sample"`` capability: a plain
    autoencoder; :func:`reconstruction_picture` shows what it does): the samples of
    :func:`picture_samples`. Images: a grid of ``n`` (64), one row per class for a class-conditional
    model sampled without labels; 2-D points: a scatter over the mode centres ``modes``."""
    if not drawable(model) or "sample" not in model.capabilities:
        return None
    x, per = picture_samples(model, n, seed=seed, y=y)
    return picture_of(model, x, per, modes=modes, title=title)


def reconstruction_picture(x01, recon01, ncol: int = 8):
    """Inputs (odd rows) above their reconstructions (even rows), ``ncol`` to a row: both (N, C, H, W) in
    [0, 1] (``ganzoo reconstruct``, and the training picture of a model that cannot be sampled)."""
    rows = []
    for i in range(0, len(x01), ncol):
        rows += [x01[i:i + ncol], recon01[i:i + ncol]]
    return grid_rows(rows, min(ncol, len(x01)))


def command_picture(model, name: str, n: int | None = None, *, seed: int = 0, y=None):
    """``(picture, x, per)``: the picture that ``ganzoo sample NAME -n N --seed S [--label L] -o FILE.png``
    writes (a PIL image; ``name`` is NAME, the title of a 2-D scatter), the samples ``x`` it shows and its
    row length ``per`` (:func:`picture_samples`). ``y``: a class index, or None. The one place that picture
    is drawn: ``ganzoo sample`` and ``ganzoo demo`` both call it, so their pixels agree."""
    x, per = picture_samples(model, n, seed=seed, y=y)
    modes = None if model.is_image else dataset_modes(model)
    return picture_of(model, x, per, modes=modes, title=f"{name}: {len(x)} samples"), x, per


def dataset_modes(model):
    """The true mode centres of the 2-D mixture a model was trained on (ring8, grid25), else None."""
    dataset = model.meta.get("dataset")
    if dataset in ("ring8", "grid25"):
        from .data import load_dataset

        return load_dataset(dataset, n=1).centres
    return None


def latent_walks(model, n: int, steps: int, *, seed: int = 0, end_seed: int | None = None, y=None):
    """``n`` latent walks of ``steps`` points each, (n * steps, *sample_shape), images in [0, 1]: spherical
    interpolation from the latents the generator draws with ``seed`` to those it draws with ``end_seed``
    (default ``seed + 1``; norms stay typical of N(0, I)), with the model's sampling options. ``y``: one class
    for every point, or None: one label per walk (a self-conditioned model's drawn from its clusters'
    shares, seed ``seed + 2``; a class-conditional model's every class in turn). ``ganzoo sample
    --interpolate`` draws ``grid(x, nrow=steps)`` of them."""
    import torch

    from .errors import ConfigError
    from .model import to_unit

    g, options = model.generator, model.sampling
    end_seed = seed + 1 if end_seed is None else end_seed
    z0, z1 = g.sample_latent(n, seed=seed, **options), g.sample_latent(n, seed=end_seed, **options)
    if z0.dim() != 2 or not z0.is_floating_point():
        raise ConfigError(f"this model's latents are {tuple(z0.shape[1:])} {z0.dtype} tensors, not vectors; "
                          "--interpolate walks between latent vectors")
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1 + 1e-6, 1 - 1e-6)
    omega = torch.acos(cos)[:, None, None]
    t = torch.linspace(0, 1, steps)[None, :, None]
    z = (torch.sin((1 - t) * omega) * z0[:, None] + torch.sin(t * omega) * z1[:, None]) / torch.sin(omega)
    z = z.reshape(n * steps, -1)
    if y is not None:
        y = torch.full((n * steps,), int(y), dtype=torch.long)
    else:  # one label per row: a self-conditioned model's drawn from its clusters' shares; every class in turn
        y = model.draw_labels(n, seed + 2)
        y = None if y is None else y.repeat_interleave(steps)
    with torch.no_grad():
        g.eval()
        return to_unit(g.generate(z, y, **options), g.output_range)


def latent_grid(model, d0: int, d1: int, steps: int = 15, *, y=None):
    """The learned manifold over latent dimensions ``d0`` (columns) and ``d1`` (rows, upwards), the others at
    0: (steps * steps, *sample_shape) samples in [0, 1] at Gaussian quantiles from 5% to 95%, so each cell
    has equal prior mass (Kingma & Welling 2014, fig. 4). ``y``: labels for a class-conditional model
    (steps * steps of them). ``ganzoo traverse --dims D0,D1`` draws ``grid(x, nrow=steps, pad=0)`` of them."""
    import torch

    from .errors import ConfigError
    from .model import to_unit

    if not (0 <= d0 < model.latent_dim and 0 <= d1 < model.latent_dim) or d0 == d1:
        raise ConfigError(f"traverse needs two different latent dimensions in 0..{model.latent_dim - 1}, "
                          f"not {d0},{d1}")
    q = torch.linspace(0.05, 0.95, steps)
    vals = 2**0.5 * torch.erfinv(2 * q - 1)
    z = torch.zeros(steps * steps, model.latent_dim)
    z[:, d0] = vals.repeat(steps)
    z[:, d1] = vals.flip(0).repeat_interleave(steps)
    with torch.no_grad():
        return to_unit(model.generator(z, y), model.generator.output_range)


def drawable(model) -> bool:
    """Whether :func:`sample_picture` can draw the model's samples (images or 2-D points)."""
    return model.is_image or tuple(model.sample_shape) == (2,)


def picture_of(model, x, per: int | None = None, *, modes=None, title: str | None = None):
    """The picture of samples ``x`` of ``model`` from :func:`picture_samples` (``per``: its row length)."""
    if model.is_image:
        return grid(x, nrow=per)
    return scatter(x, modes, title=title)


def picture_samples(model, n: int | None = None, *, seed: int = 0, y=None):
    """``(x, per)``: the samples (in [0, 1] for images) that :func:`sample_picture` and ``ganzoo sample``
    show, ``model.sample_unit(n, seed=seed, y=y)``. ``n`` defaults to 64 images or 1,000 points.

    A class-conditional model sampled without labels ``y`` (and without a label prior) draws every
    class equally, class by class: ``per`` samples of class 0, then ``per`` of class 1, ... (the labels
    of :func:`class_rows`: ``n`` rounded UP to a multiple of the class count, 10 per class for images
    when ``n`` is not given), so an image grid ``grid(x, nrow=per)`` has one row per class. Otherwise
    ``per`` is None and ``x`` holds exactly ``n`` samples."""
    rows = _class_rows_of(model, n, y)
    if rows is not None:
        labels, per = rows
        return model.sample_unit(len(labels), seed=seed, y=labels), per
    return model.sample_unit(n or (64 if model.is_image else 1000), seed=seed, y=y), None


def picture_count(model, n: int | None = None, *, y=None) -> int:
    """How many samples :func:`picture_samples` draws for ``n`` (rounded up to whole class rows)."""
    rows = _class_rows_of(model, n, y)
    return len(rows[0]) if rows is not None else (n or (64 if model.is_image else 1000))


def _class_rows_of(model, n, y):
    if y is None and model.num_classes and model.label_prior is None:
        return class_rows(model.num_classes, n if n or model.is_image else 1000)
    return None


def class_rows(num_classes: int, n: int | None = None):
    """(labels, per): ``per`` samples of each class in turn, ``0, 0, .., 1, 1, ..``, for a grid with one
    row per class (``grid(x, nrow=per)``). ``per`` is ``n / num_classes`` rounded up, so that at least
    ``n`` samples are drawn (``-n 64`` with 10 classes: 7 of each, 70), or 10 without ``n``."""
    import torch

    per = 10 if n is None else max(1, -(-n // num_classes))
    return torch.arange(num_classes).repeat_interleave(per), per


def scatter(points, modes=None, size: int = 512, title: str | None = None, limit: float | None = None):
    """2-D samples as dots (blue) over mode centres (red crosses). The view (square, centred on 0) holds
    every finite sample and 1.3x the modes' extent, so a sample far off the modes still shows; non-finite
    samples cannot be drawn, and the title says how many there are."""
    from PIL import Image, ImageDraw

    pts = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, dtype=np.float64)
    pts = pts.reshape(-1, 2)
    finite = np.isfinite(pts).all(1)
    if limit is None:
        limit = view_limit(pts[finite], modes)
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    to_px = lambda p: ((p[0] / limit + 1) * size / 2, (1 - p[1] / limit) * size / 2)  # noqa: E731
    d.line([(size / 2, 0), (size / 2, size)], fill=(230, 230, 230))
    d.line([(0, size / 2), (size, size / 2)], fill=(230, 230, 230))
    for p in pts[finite]:
        x, y = to_px(p)
        d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(40, 90, 200))
    if modes is not None:
        for p in np.asarray(modes):
            x, y = to_px(p)
            d.line([x - 5, y - 5, x + 5, y + 5], fill=(220, 30, 30), width=2)
            d.line([x - 5, y + 5, x + 5, y - 5], fill=(220, 30, 30), width=2)
    bad = int((~finite).sum())
    if bad:
        title = f"{title + '; ' if title else ''}{bad} of {len(pts)} samples are not finite (not drawn)"
    if title:
        d.text((6, 6), title, fill=(0, 0, 0))
    return img


def view_limit(finite_points, modes=None) -> float:
    """Half the width of :func:`scatter`'s view: 1.3x the modes' extent, widened to hold every (finite)
    sample with a 5% margin."""
    pts = np.asarray(finite_points, dtype=np.float64).reshape(-1, 2)
    limit = 0.0
    if modes is not None:
        m = np.asarray(modes, dtype=np.float64).reshape(-1, 2)
        m = m[np.isfinite(m).all(1)]
        limit = float(np.abs(m).max() * 1.3) if len(m) else 0.0
    if len(pts):
        extent = float(np.abs(pts).max())
        limit = max(limit, extent * 1.05 if modes is not None else extent * 1.3)
    return limit if limit > 1e-3 else 1.0


def png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_png(img, path) -> None:
    """Write the PIL image ``img`` to ``path`` as a PNG, atomically (whole or not at all)."""
    from .fsutil import atomic_write_bytes

    atomic_write_bytes(path, png_bytes(img))


def save_npy(array, path) -> None:
    from .fsutil import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.asarray(array, dtype=np.float32))
    atomic_write_bytes(path, buf.getvalue())


COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def curves(panels: dict, width: int = 720, panel_height: int = 240):
    """Line charts, one panel per entry: ``{"losses": {"d_loss": (steps, values), ...}, ...}``.

    Non-finite values are skipped; each panel gets its own y range and a legend."""
    from PIL import Image, ImageDraw

    panels = {k: v for k, v in panels.items() if v}
    img = Image.new("RGB", (width, max(1, len(panels)) * panel_height), "white")
    d = ImageDraw.Draw(img)
    left, right, top, bottom = 60, 12, 22, 24
    for row, (title, series) in enumerate(panels.items()):
        y0 = row * panel_height
        xs_all = [float(x) for xs, _ in series.values() for x in xs]
        ys_all = [float(y) for _, ys in series.values() for y in ys if math.isfinite(float(y))]
        if not xs_all or not ys_all:
            d.text((left, y0 + 4), f"{title}: no data", fill=(0, 0, 0))
            continue
        xmin, xmax = min(xs_all), max(xs_all)
        ymin, ymax = min(ys_all), max(ys_all)
        if xmax == xmin:
            xmax = xmin + 1
        if ymax == ymin:
            ymin, ymax = ymin - 0.5, ymax + 0.5
        pw, ph = width - left - right, panel_height - top - bottom

        def px(x, y):
            return left + (x - xmin) / (xmax - xmin) * pw, y0 + top + (1 - (y - ymin) / (ymax - ymin)) * ph

        d.rectangle([left, y0 + top, left + pw, y0 + top + ph], outline=(180, 180, 180))
        for frac in (0.0, 0.5, 1.0):
            yv = ymin + frac * (ymax - ymin)
            _, yp = px(xmin, yv)
            d.line([(left, yp), (left + pw, yp)], fill=(235, 235, 235))
            d.text((4, yp - 6), f"{yv:.3g}", fill=(80, 80, 80))
        d.text((left, y0 + top + ph + 6), f"{xmin:g}", fill=(80, 80, 80))
        d.text((left + pw - 40, y0 + top + ph + 6), f"step {xmax:g}", fill=(80, 80, 80))
        d.text((left, y0 + 4), title, fill=(0, 0, 0))
        lx = left + 8 + 7 * len(title)
        for i, (name, (xs, ys)) in enumerate(series.items()):
            colour = COLOURS[i % len(COLOURS)]
            pts = [px(float(x), float(y)) for x, y in zip(xs, ys) if math.isfinite(float(y))]
            if len(pts) > 1:
                d.line(pts, fill=colour, width=2)
            elif pts:
                x, y = pts[0]
                d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
            d.line([(lx, y0 + 10), (lx + 16, y0 + 10)], fill=colour, width=3)
            d.text((lx + 20, y0 + 4), name, fill=(0, 0, 0))
            lx += 28 + 7 * len(name)
    return img
