"""The pretrained zoo: the entries of ``registry.yaml`` and the small verified copies bundled
in ``models/``. It is a plugin like any other: it registers through ``register_models``."""

from pathlib import Path

from ganzoo.hookspecs import hookimpl

HERE = Path(__file__).parent
REGISTRY = HERE / "registry.yaml"


@hookimpl
def register_models(register):
    from ganzoo.registry import parse_registry

    for entry in parse_registry(REGISTRY.read_text(encoding="utf-8"), where=str(REGISTRY), base=HERE / "models"):
        register(entry)
