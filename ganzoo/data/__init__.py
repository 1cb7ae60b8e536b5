"""Built-in data sources, registered through the ``register_datasets`` hook.

Name them as ``ring8``, ``grid25``, ``digits``, ``mnist:DIR`` or ``folder:DIR``; load with
:func:`ganzoo.data.load_dataset`.
"""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import DatasetSpec

SRC = "ganzoo.data.sources"


@hookimpl
def register_datasets(register):
    register(DatasetSpec("ring8", "8 Gaussians on the unit circle, std 0.01 (VEEGAN/PacGAN)", f"{SRC}:ring8"))
    register(DatasetSpec("grid25", "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (VEEGAN/PacGAN)", f"{SRC}:grid25"))
    register(DatasetSpec("digits", "scikit-learn's bundled 8x8 digits (1,797 images, 10 classes)", f"{SRC}:digits"))
    register(DatasetSpec("mnist", "MNIST idx files (gzip or raw) in DIR: mnist:DIR", f"{SRC}:mnist", needs_argument=True,
                         hub_dataset="ylecun/mnist"))
    register(DatasetSpec("folder", "a folder of images, class subfolders as labels: folder:DIR; --data-opt "
                         "channels=1|3 and image_size=N, both inferred from the images unless given", f"{SRC}:folder",
                         needs_argument=True))


def ref_beside(ref, folder):
    """A dataset reference ``name:PATH`` as the model folder ``folder`` records it: PATH relative to the folder
    (``mnist:../../data/mnist`` for ``runs/mnist``), so that ``ganzoo eval RUN`` finds the data from any
    directory; a reference without a local path is returned as it is."""
    import os
    from pathlib import Path

    name, sep, path = str(ref).partition(":") if ref else ("", "", "")
    if not sep or not path or not Path(path).expanduser().exists():
        return ref
    return f"{name}:{os.path.relpath(Path(path).expanduser().resolve(), Path(folder).resolve())}"


def ref_from(ref, folder):
    """The dataset reference a model folder records, for use here: a relative PATH is read from the model
    folder (see :func:`ref_beside`) when it exists there, else as it is (older folders recorded it relative to
    where training ran)."""
    from pathlib import Path

    name, sep, path = str(ref).partition(":") if ref else ("", "", "")
    if sep and path and folder is not None and not Path(path).is_absolute() and (Path(folder) / path).exists():
        return f"{name}:{Path(folder) / path}"
    return ref


def load_dataset(ref: str, **options):
    """``load_dataset("mnist:../shared/data/mnist", split="test")`` -> :class:`TensorData`.

    Options every dataset takes: ``subset="START:STOP"`` (a fixed slice) and ``clusters=K`` (labels
    replaced by k-means clusters, after the subset; see :mod:`ganzoo.data.clusters`)."""
    from ganzoo.errors import ConfigError
    from ganzoo.plugins import get_registry
    from ganzoo.registry import resolve

    subset = options.pop("subset", None)
    clusters = options.pop("clusters", None)
    name, sep, arg = str(ref).partition(":")
    spec = get_registry().dataset(name)
    if spec.needs_argument and not arg:
        raise ConfigError(f"dataset {name!r} needs a path: use --data {name}:DIR")
    if not spec.needs_argument and sep:
        raise ConfigError(f"dataset {name!r} takes no argument; use --data {name}")
    factory = resolve(spec.factory)
    data = factory(arg or None, **check_options(name, factory, options))
    data.name = ref
    if subset is not None:
        data = _subset(data, subset)
    if clusters is not None:
        from .clusters import with_cluster_labels

        data = with_cluster_labels(data, clusters)
    return data


COMMON_OPTIONS = ("subset", "clusters")


def options_of(factory):
    """The options a dataset factory takes, ``{name: default}``: its keyword parameters (after the
    argument), or None for any (a ``**kwargs`` it reads). A ``**_`` catch-all (leading underscore) takes
    nothing more."""
    import inspect

    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD and not p.name.startswith("_") for p in params):
        return None
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return {p.name: p.default for p in named[1:]}


def check_options(name: str, factory, options: dict) -> dict:
    """The options for dataset ``name``, checked: an unknown one is a ConfigError naming the ones it takes,
    a value of the wrong type for its default one from :func:`ganzoo.config.check_value` (an integer option
    with a positive default must be >= 1, any other >= 0; no upper bound, and none for a factory whose
    options are open, ``**kwargs``)."""
    from ganzoo.config import check_value
    from ganzoo.errors import ConfigError, did_you_mean

    known = options_of(factory)
    if known is None:
        return dict(options)
    out = {}
    for key, value in options.items():
        if key not in known:
            raise ConfigError(f"dataset {name!r}: " + did_you_mean(key, list(known) + list(COMMON_OPTIONS), "option"))
        default = known[key]
        least = 1 if isinstance(default, int) and not isinstance(default, bool) and default > 0 else 0
        out[key] = check_value(f"dataset {name!r}: option {key}", value, default, least=least, most=None)
    return out


def _subset(data, subset: str):
    """``subset="0:8000"`` keeps items 0..7999 (Python slice syntax, fixed order), e.g. to hold out
    the rest for evaluation."""
    from ganzoo.errors import ConfigError

    start, sep, stop = str(subset).partition(":")
    try:
        if not sep:
            raise ValueError
        sl = slice(int(start) if start else None, int(stop) if stop else None)
    except ValueError:
        raise ConfigError(f"subset must look like START:STOP (e.g. 0:8000 or 8000:), not {subset!r}") from None
    part = data.subset(range(len(data))[sl])
    if len(part) == 0:
        raise ConfigError(f"subset {subset} of {data.name} is empty ({len(data)} items)")
    part.name = f"{data.name}[{subset}]"
    return part
