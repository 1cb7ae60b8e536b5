"""``vae``: variational autoencoder (Kingma & Welling 2014), MLP or conv, trained on the ELBO."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="vae",
        summary="Variational autoencoder (MLP or conv), Gaussian q(z|x), N(0, I) prior",
        kind="vae",
        default_objective="elbo",
        build="ganzoo_plugins.vae.model:build",
        defaults={
            "sample_shape": [1, 28, 28],
            "latent_dim": 16,
            "arch": "mlp",
            "hidden": [512, 256],
            "width": 32,
            "num_classes": 0,
            "encoder_labels": True,  # with --conditional: the label into the encoder too (a conditional VAE)
        },
        former_defaults={"encoder_labels": False},  # saved before the key: only the decoder saw labels
    ))
