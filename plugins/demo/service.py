"""What the demo page does, without Gradio: the models it may load (loaded once, then cached) and the
pictures it draws. Every picture of samples is ``ganzoo.images.command_picture``, the one ``ganzoo sample``
writes, so the page and the command line agree pixel for pixel."""

from __future__ import annotations

import struct
import threading
import zlib
from pathlib import Path

MAX_SAMPLES = 2500                 # samples in one picture (a 2-D scatter of 2,500 points; a class grid: whole rows)
MAX_STEPS = 32                     # points of an interpolation strip
MAX_SEED = 2**32 - 1               # the seeds `ganzoo sample --seed` takes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 64 * 1024 * 1024   # an 8192 x 8192 image; larger ones are refused before decoding
UPLOAD_FORMATS = ("PNG", "JPEG")
MAX_LATENT_VALUE = 10.0            # a latent dimension's or a continuous code's value (z ~ N(0, 1): +-3 holds 99.7%)


def _error(message: str):
    from ganzoo.errors import ConfigError

    return ConfigError(message)


def _whole(value, what: str, low: int, high: int) -> int:
    """``value`` (a page or API input: int, whole float or numeric string) as an int in low..high."""
    try:
        number = float(value)
        ok = number == int(number)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or isinstance(value, bool) or not low <= int(number) <= high:
        raise _error(f"{what} must be a whole number from {low} to {high:,}, not {value!r}"[:200])
    return int(number)


def _real(value, what: str, bound: float = MAX_LATENT_VALUE) -> float:
    """``value`` (a page or API input) as a finite float in -bound..bound."""
    try:
        number = float(value)
        ok = not isinstance(value, bool) and -bound <= number <= bound
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise _error(f"{what} must be a number from {-bound:g} to {bound:g}, not {value!r}"[:200])
    return number


def numbers(text, what: str, most: int = 1024) -> list:
    """A comma-separated list from the API (``"0, 3"``, or a list already) as a list of its items (strings
    or numbers, checked later); empty: none. More than ``most`` items is refused."""
    items = text if isinstance(text, (list, tuple)) else [t.strip() for t in str(text or "").split(",")]
    items = [t for t in items if t != ""]
    if len(items) > most:
        raise _error(f"{what}: at most {most} items, not {len(items)}")
    return items


class Demo:
    """The models a demo serves: every zoo model, plus ``sources`` (zoo names or model folders, shown first).
    Only these can be loaded; a name from the page is a key of :attr:`choices`, never a path."""

    def __init__(self, sources=()):
        import ganzoo

        given = {}
        for src in sources:
            folder = Path(src).expanduser()
            if folder.is_dir():
                if not (folder / "config.json").is_file():
                    raise _error(f"{src} is a folder without a config.json: not a model folder")
                given[str(src)] = str(folder.resolve())
            else:
                ganzoo.model_info(src)   # an unknown name: NotFoundError with the names it may have meant
                given[src] = src
        self.folders = {name for name, src in given.items() if Path(src).is_dir()}
        self.choices = {**given, **{n: n for n in ganzoo.list_models() if n not in given}}
        # shown first: the first model given, else the zoo's best image GAN by the judge's Frechet ratio
        scored = [(ganzoo.model_info(n).metrics.get("fd_ratio"), n) for n in self.choices if n not in given]
        scored = sorted((r, n) for r, n in scored if isinstance(r, (int, float)))
        self.first = next(iter(given), scored[0][1] if scored else next(iter(self.choices)))
        self._models = {}
        self._lock = threading.Lock()
        for name in given:   # a broken folder is one line now, not an error in the page later
            self.model(name)

    def model(self, name):
        """The model shown as ``name`` (loaded on first use, then cached); a name not listed is refused."""
        if not isinstance(name, str) or name not in self.choices:
            raise _error(f"{str(name)[:80]!r} is not a model of this demo; pick one from the list")
        with self._lock:
            if name not in self._models:
                import ganzoo

                m = ganzoo.load(self.choices[name], components=["generator"])
                if m.kind in ("ae", "vae"):   # reconstruction needs the encoder too
                    m = ganzoo.load(self.choices[name], components=["generator", "encoder"])
                self._models[name] = m.eval()
            return self._models[name]

    def describe(self, name) -> dict:
        """What the page shows and offers for a model: ``card`` (Markdown: summary and metrics), ``labels``
        (class names, empty for an unconditional model), ``options`` (the sampling options its generator
        declares), ``samples`` (whether it draws pictures of samples), ``walks``, ``traverses``,
        ``reconstructs`` (which of the other pictures it can draw) and ``codes`` (its latent codes, described)."""
        import ganzoo

        m = self.model(name)
        lines = [f"### {name}"]
        if name not in self.folders:
            entry = ganzoo.model_info(name)
            lines += [entry.summary, "", f"{entry.variant} · {entry.objective} · {entry.dataset}"]
            if entry.metrics:   # as the card measured them (ganzoo eval re-computes them)
                lines += ["", "**metrics**: " + " · ".join(
                    f"{k} {v:g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in entry.metrics.items())]
        else:
            lines += [f"model folder `{self.choices[name]}`", "",
                      f"{m.variant} · {m.objective} · {m.meta.get('dataset') or 'unknown data'}"]
        labels = [str(x) for x in (m.meta.get("labels") or range(m.num_classes))] if m.num_classes else []
        layout = m.generator.code_layout if m.is_image else None
        return {"card": "\n".join(lines), "labels": labels,
                "options": {k: v.describe() for k, v in m.generator.sampling_options.items()},
                "samples": self._has_prior(m) and (m.is_image or tuple(m.sample_shape) == (2,)),
                "walks": m.kind != "ae" and m.is_image, "reconstructs": m.encoder is not None,
                "traverses": m.kind != "ae" and m.is_image and m.latent_dim >= 2,
                "codes": [f"{i}: {layout.describe(i)}" for i in range(len(layout))] if layout is not None else [],
                "code_categories": [layout.categories_of(i) for i in range(len(layout))] if layout is not None else [],
                "latent": self._latent_vector(m)}

    @staticmethod
    def _latent_vector(m) -> bool:
        """Whether ``m``'s image samples come from a latent vector z ~ N(0, I) that the page may set by hand
        (a VAE, a GAN; not a learned prior's draw)."""
        return m.is_image and "sample" in m.capabilities and m.generator.prior is None

    @staticmethod
    def _has_prior(m) -> bool:
        """Whether ``m`` can draw samples: a GAN or a VAE, or an autoencoder with a learned prior (VQ-VAE)."""
        return m.kind != "ae" or m.prior is not None

    def _sampler(self, name, label, options):
        """The model ``name`` with its sampling ``options`` (None values: off), and ``label`` checked
        (-1 or None: the default)."""
        m = self.model(name)
        if not self._has_prior(m):
            raise _error(f"{name} is a plain autoencoder: it has no prior to sample from; upload an image "
                         "to see its reconstruction")
        label = None if label is None else _whole(label, "label", -1, max(m.num_classes - 1, -1))
        label = None if label == -1 else label
        if label is not None and not m.num_classes:
            raise _error(f"{name} is not class-conditional; use label -1")
        options = {k: v for k, v in (options or {}).items() if v is not None}
        if options:
            m = m.with_sampling(**m.generator.check_sampling(options, who=name))
        return m, label

    def sample(self, name, seed=0, n=64, label=-1, **options):
        """The picture (a PIL image) of ``ganzoo sample NAME -n N --seed SEED [--label LABEL]`` with the
        sampling ``options`` (``truncation=0.7``: ``--truncation 0.7``)."""
        from ganzoo.images import command_picture

        seed, n = _whole(seed, "seed", 0, MAX_SEED), _whole(n, "n", 1, MAX_SAMPLES)
        m, label = self._sampler(name, label, options)
        if not (m.is_image or tuple(m.sample_shape) == (2,)):
            raise _error(f"{name} makes {list(m.sample_shape)} vectors; the page draws images and 2-D points")
        return command_picture(m, name, n, seed=seed, y=label)[0]

    def walk(self, name, seed=0, end_seed=1, steps=10, label=-1, **options):
        """A strip of ``steps`` images from the latent that seed ``seed`` draws to that of ``end_seed``
        (``ganzoo sample NAME --interpolate -n 1 --steps STEPS --seed SEED`` when ``end_seed`` is SEED + 1)."""
        from ganzoo.images import grid, latent_walks

        seed, end_seed = _whole(seed, "seed", 0, MAX_SEED), _whole(end_seed, "end seed", 0, MAX_SEED)
        steps = _whole(steps, "steps", 2, MAX_STEPS)
        m, label = self._sampler(name, label, options)
        if not m.is_image:
            raise _error(f"{name} does not make images; a latent walk is a strip of images")
        return grid(latent_walks(m, 1, steps, seed=seed, end_seed=end_seed, y=label), nrow=steps)

    def traverse(self, name, d0=0, d1=1, steps=15, label=-1):
        """The learned manifold over latent dimensions ``d0`` and ``d1`` (the others at 0), ``steps`` x
        ``steps`` images: the picture of ``ganzoo traverse NAME --dims D0,D1 --steps STEPS [--label L]``."""
        import torch

        from ganzoo.images import grid, latent_grid

        m = self.model(name)
        if not m.is_image or m.kind == "ae":
            raise _error(f"{name} has no latent prior to traverse; try a VAE such as mnist-vae-2d")
        d0, d1 = (_whole(d, "latent dimension", 0, m.latent_dim - 1) for d in (d0, d1))
        steps = _whole(steps, "steps", 2, MAX_STEPS)
        label = _whole(label, "label", -1, max(m.num_classes - 1, -1))
        if m.num_classes and label == -1:
            raise _error(f"{name} is class-conditional; pick a class to traverse")
        y = torch.full((steps * steps,), label, dtype=torch.long) if m.num_classes else None
        return grid(latent_grid(m, d0, d1, steps, y=y), nrow=steps, pad=0)

    def codes(self, name, code=0, rows=10, steps=15, seed=0, label=-1):
        """Rows in which only latent code ``code`` varies (a generator that declares codes, e.g. an InfoGAN):
        the picture of ``ganzoo traverse NAME --code CODE --rows ROWS --steps STEPS --seed SEED``."""
        from ganzoo.images import grid

        m = self.model(name)
        layout = m.generator.code_layout
        if layout is None:
            raise _error(f"{name} declares no latent codes; an InfoGAN does")
        code, rows = _whole(code, "code", 0, len(layout) - 1), _whole(rows, "rows", 1, MAX_STEPS)
        steps, seed = _whole(steps, "steps", 2, MAX_STEPS), _whole(seed, "seed", 0, MAX_SEED)
        label = _whole(label, "label", -1, max(m.num_classes - 1, -1))
        x = m.traverse_code(code, rows=rows, steps=steps, seed=seed, y=None if label == -1 else label)
        return grid(x.flatten(0, 1), nrow=x.shape[1])

    def _seed_latent(self, name, seed, label, options):
        """(model with its options, the seed's latent z (1, latent_dim), its label: ``label``, or with -1 the
        one :meth:`ganzoo.Model.draw_labels` draws from seed + 1 (as ``ganzoo traverse --code``); None for an
        unconditional model)."""
        import torch

        seed = _whole(seed, "seed", 0, MAX_SEED)
        m, label = self._sampler(name, label, options)
        if not self._latent_vector(m):
            raise _error(f"{name} draws no latent vector z ~ N(0, I) to set by hand; try a VAE such as mnist-vae-16d")
        z = m.generator.sample_latent(1, seed=seed, **m.sampling)
        if tuple(z.shape) != (1, m.latent_dim) or not z.is_floating_point():
            raise _error(f"{name}'s latent is not a vector of {m.latent_dim} numbers; it cannot be set by hand")
        y = m.draw_labels(1, seed + 1) if label is None else torch.tensor([label])
        return m, z, y

    @staticmethod
    def _decoded(m, z, y):
        """The picture of the generator's sample for latent ``z`` (one image, in [0, 1] as ``ganzoo sample``
        maps it)."""
        import torch

        from ganzoo.images import grid

        g = m.generator
        with torch.no_grad():
            x = g.generate(z, None if y is None else y.to(z.device), **m.sampling)
        lo, hi = g.output_range
        return grid(((x - lo) / (hi - lo)).clamp(0, 1), nrow=1)

    def latent(self, name, seed=0, dims=(), values=(), label=-1, **options):
        """The sample of seed ``seed`` with latent dimension ``dims[i]`` set to ``values[i]`` (the others as
        the seed drew them): ``z = generator.sample_latent(1, seed=seed)``, ``z[0, d] = v``, decoded by the
        generator and mapped to [0, 1] as ``ganzoo sample`` maps it. For a model with a latent vector z ~ N(0, I)
        (a VAE, a GAN); ``label`` -1: the default class (see :meth:`_seed_latent`)."""
        m, z, y = self._seed_latent(name, seed, label, options)
        dims, values = list(dims), list(values)
        if len(dims) != len(values):
            raise _error(f"give one value per latent dimension: {len(dims)} dimensions, {len(values)} values")
        dims = [_whole(d, "latent dimension", 0, m.latent_dim - 1) for d in dims]
        repeated = next((d for d in dims if dims.count(d) > 1), None)
        if repeated is not None:
            raise _error(f"latent dimension {repeated} is chosen twice; pick each dimension once")
        for d, v in zip(dims, values):
            z[0, d] = _real(v, f"the value of latent dimension {d}")
        return self._decoded(m, z, y)

    def code_values(self, name, seed=0, values=(), label=-1, **options):
        """The sample of seed ``seed`` with its latent codes set to ``values`` (one per code, in the order of
        the generator's ``code_layout``: a category 0..k-1 of a categorical code, a number of a continuous
        one; None or fewer values: the rest as the seed drew them), through ``LatentCodes.set``."""
        import torch

        m, z, y = self._seed_latent(name, seed, label, options)
        layout = m.generator.code_layout
        if layout is None:
            raise _error(f"{name} declares no latent codes; an InfoGAN does")
        values = list(values)
        if len(values) > len(layout):
            raise _error(f"{name} has {len(layout)} latent codes, not {len(values)}: "
                         + "; ".join(layout.describe(i) for i in range(len(layout))))
        for i, v in enumerate(values):
            if v is None:
                continue
            k = layout.categories_of(i)
            v = _whole(v, f"code {i} (categorical)", 0, k - 1) if k else _real(v, f"code {i} (continuous)")
            z = layout.set(z, i, torch.tensor([v]))
        return self._decoded(m, z, y)

    def reconstruct(self, name, path, label=-1):
        """The uploaded image at ``path`` (PNG or JPEG, any size: converted to the model's channels and
        size) beside its reconstruction by model ``name`` (an AE or a VAE), as one PIL image."""
        import torch

        from ganzoo.images import grid

        m = self.model(name)
        if m.encoder is None:
            raise _error(f"{name} has no encoder; reconstruction needs an autoencoder or a VAE, such as "
                         + ", ".join(n for n in self.choices if n.endswith(("-ae", "-vae")) or "-vae-" in n)[:120])
        if not path:
            raise _error("upload an image (PNG or JPEG) first")
        label = _whole(label, "label", -1, max(m.num_classes - 1, -1))
        if m.num_classes and label == -1:
            raise _error(f"{name} is class-conditional; pick the class of the image")
        x = read_image(path, m.sample_shape)
        lo, hi = m.generator.output_range
        y = torch.tensor([label]) if m.num_classes else None
        with torch.no_grad():   # the labels go to a conditional encoder and decoder (a CVAE's q(z | x, y))
            x_hat = m.reconstruct(lo + (hi - lo) * x, y)
        return grid(torch.cat([x, ((x_hat - lo) / (hi - lo)).clamp(0, 1)]), nrow=2)


def read_image(path, shape):
    """The image file at ``path`` as a (1, C, H, W) tensor in [0, 1] for a model of sample ``shape``
    (greyscale or RGB, resized, bicubic); a file that is too big, not a PNG or JPEG, or unreadable is one
    ConfigError, checked before its pixels are decoded."""
    import numpy as np
    import torch
    from PIL import Image

    from ganzoo.errors import GanzooError

    if len(shape) != 3 or shape[0] not in (1, 3):
        raise _error(f"this model makes {list(shape)} samples, not greyscale or RGB images")
    size = Path(path).stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise _error(f"the upload is {size:,} bytes, more than {MAX_UPLOAD_BYTES:,}; upload a smaller image")
    try:
        with Image.open(path) as im:
            if im.format not in UPLOAD_FORMATS:
                raise _error(f"the upload is {im.format or 'not'} an image format the demo reads; upload a PNG "
                             "or a JPEG")
            if im.width * im.height > MAX_UPLOAD_PIXELS:
                raise _error(f"the upload is {im.width}x{im.height} pixels, more than {MAX_UPLOAD_PIXELS:,}; "
                             "upload a smaller image")
            im = im.convert("L" if shape[0] == 1 else "RGB").resize((shape[2], shape[1]), Image.BICUBIC)
            pixels = np.asarray(im, dtype=np.float32) / 255.0
    except GanzooError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, zlib.error,
            Image.DecompressionBombError) as exc:
        # every way PIL reports a file it cannot read (UnidentifiedImageError is an OSError)
        raise _error(f"cannot read the upload as a PNG or JPEG image ({type(exc).__name__})") from None
    x = torch.from_numpy(pixels)
    return (x[None] if shape[0] == 1 else x.permute(2, 0, 1))[None]
