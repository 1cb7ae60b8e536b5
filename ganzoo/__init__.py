"""ganzoo: a model zoo and plugin registry for autoencoders, VAEs and GANs.

    >>> import ganzoo
    >>> ganzoo.list_models("ring8*")
    >>> model = ganzoo.load("ring8-mlp-nonsat")          # by name, from the zoo
    >>> x = model.sample(16, seed=0)
    >>> fresh = ganzoo.create("dcgan", "wgan-gp", sample_shape=[3, 32, 32])
    >>> ganzoo.evaluate("ring8-mlp-nonsat")["metrics"]["modes"]   # what `ganzoo eval` reports

Importing ganzoo imports neither torch nor any plugin; both load on first use.
"""

__version__ = "0.1.0"  # the only place the version is written: pyproject.toml reads it (dynamic)

from .errors import GanzooError  # noqa: E402
from .registry import DatasetSpec, FormatSpec, MetricSpec, ModelEntry, ObjectiveSpec, VariantSpec  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402


_LAZY = {
    "list_models": "api", "model_info": "api", "list_variants": "api", "list_objectives": "api",
    "create": "api", "load": "api", "evaluate": "metrics", "objective": "model", "Model": "model",
    "train": "training", "Trainer": "training", "TrainConfig": "training",
    "Generator": "interfaces", "Discriminator": "interfaces", "Encoder": "interfaces", "Decoder": "interfaces",
    "Prior": "interfaces",
    "import_model": "interop", "export_model": "interop",
}


def __getattr__(name):  # lazy: keep `import ganzoo` free of torch
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"ganzoo.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


def __dir__():  # the lazy names too, for dir(ganzoo) and tab completion
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__", "GanzooError", "hookimpl", "VariantSpec", "ObjectiveSpec", "DatasetSpec", "MetricSpec",
    "FormatSpec", "ModelEntry", "list_models", "model_info", "list_variants", "list_objectives", "create", "load", "evaluate",
    "objective", "train", "import_model", "export_model",
    "Trainer", "TrainConfig",
    "Generator", "Discriminator", "Encoder", "Decoder", "Prior", "Model",
]
