"""Built-in evaluation metrics (registered through ``register_metrics``)."""

from ganzoo.hookspecs import hookimpl  # noqa: F401  (metrics are added by the evaluation work)
