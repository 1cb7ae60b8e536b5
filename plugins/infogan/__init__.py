"""``infogan``: InfoGAN (Chen et al. 2016) -- categorical and continuous codes beside the noise z, a Q head
on the discriminator's trunk that predicts them, and the mutual-information bound in G's and Q's losses."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import VariantSpec


@hookimpl
def register_variants(register):
    register(VariantSpec(
        name="infogan",
        summary="InfoGAN: categorical + continuous codes, a Q head on D, the mutual-information term (images)",
        kind="gan",                  # adversarial: trains with every objective of kind "gan"
        default_objective="non-saturating",
        build="ganzoo_plugins.infogan.model:build",
        defaults={                   # the paper's MNIST networks (its appendix C.1)
            "sample_shape": [1, 28, 28],
            "categories": [10],      # one categorical code per entry: its number of values
            "continuous": 2,         # continuous codes, c ~ N(0, 1) (the paper: uniform(-1, 1))
            "noise": 62,             # incompressible noise: latent_dim = sum(categories) + continuous + noise
            "g_hidden": 1024,        # G: FC g_hidden -> FC (2 g_width) x 7 x 7 -> up-conv g_width -> up-conv C
            "g_width": 64,
            "d_width": 64,           # D: conv d_width -> conv 2 d_width -> FC d_hidden, then the score and Q
            "d_hidden": 1024,
            "q_hidden": 128,         # Q: FC q_hidden -> the codes (a logit per category, a mean per continuous code)
            "info": 1.0,             # lambda of the categorical codes' term
            "info_continuous": 0.1,  # lambda of the continuous codes' term
            "num_classes": 0,
            "d_norm": "batch",       # batch | layer | spectral | none (wgan-gp asks for layer)
        },
    ))
