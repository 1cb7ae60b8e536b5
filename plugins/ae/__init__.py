"""``ae``: a deterministic autoencoder x -> z -> x_hat; its encoder doubles as a feature extractor."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="ae",
        summary="Autoencoder (MLP or conv); model.encode(x) gives features",
        kind="ae",
        default_objective="reconstruction",
        build="ganzoo_plugins.ae.model:build",
        defaults={
            "sample_shape": [1, 28, 28],
            "latent_dim": 16,
            "arch": "mlp",          # mlp | conv
            "hidden": [512, 256],   # mlp widths ([] : one linear layer each way)
            "width": 32,            # conv width
            "num_classes": 0,
            "encoder_labels": True,  # with --conditional: the label into the encoder too (a conditional VAE)
            "topk": 0,              # > 0: a k-sparse autoencoder, z keeps its topk largest entries (Makhzani 2013)
        },
        former_defaults={"encoder_labels": False},  # saved before the key: only the decoder saw labels
    ))
