from ganzoo_plugins.ae.model import build as build_autoencoder


def build(sample_shape, latent_dim, arch, hidden, width, num_classes, encoder_labels):
    return build_autoencoder(sample_shape, latent_dim, arch, hidden, width, num_classes, encoder_labels,
                             variational=True)
