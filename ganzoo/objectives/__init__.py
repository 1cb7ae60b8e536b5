"""Built-in kinds and objectives, registered through the same hooks a third-party plugin uses. Each
objective declares its kind; it trains every variant of that kind (no name lists). What an adversarial objective's losses receive
is the step contract of :mod:`ganzoo.objectives.step`; auxiliary terms are :mod:`ganzoo.objectives.terms`."""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import BUILTIN_KINDS, ObjectiveSpec

ADAM = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}


@hookimpl
def register_kinds(register):
    for kind in BUILTIN_KINDS:  # gan, vae, ae: their steps, components and default objectives
        register(kind)


@hookimpl
def register_objectives(register):
    gan = "ganzoo.objectives.gan"
    register(ObjectiveSpec(
        "minimax", "Goodfellow's saturating GAN: G minimises log(1 - D(G(z)))", "gan",
        f"{gan}:Minimax", d_steps=1, optimizer=ADAM))
    register(ObjectiveSpec(
        "non-saturating", "GAN with the non-saturating generator loss -log D(G(z))", "gan",
        f"{gan}:NonSaturating", d_steps=1, optimizer=ADAM))
    register(ObjectiveSpec(
        "wgan", "Wasserstein GAN with weight clipping (Arjovsky et al. 2017)", "gan",
        f"{gan}:WGAN", d_steps=5, defaults={"clip": 0.01},
        optimizer={"name": "rmsprop", "lr": 5e-5}))
    register(ObjectiveSpec(
        "wgan-gp", "Wasserstein GAN with gradient penalty, lambda 10 (Gulrajani et al. 2017)", "gan",
        f"{gan}:WGANGP", d_steps=5, defaults={"gp_weight": 10.0},
        optimizer={"name": "adam", "lr": 1e-4, "betas": [0.5, 0.9]},
        variant_defaults={"d_norm": "layer"}))
    register(ObjectiveSpec(
        "hinge", "Hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018)", "gan",
        f"{gan}:Hinge", d_steps=1, defaults={"r1": 0.0}, optimizer=ADAM))
    register(ObjectiveSpec(
        "lsgan", "Least-squares GAN, targets a=0, b=c=1 (Mao et al. 2017)", "gan",
        f"{gan}:LSGAN", d_steps=1, optimizer=ADAM))
    rel = "ganzoo.objectives.relativistic"
    for name, cls, what in (("rsgan", "RSGAN", "standard GAN: D's logit is C(x) - C(G(z))"),
                            ("rasgan", "RaSGAN", "average standard GAN: C(x) against the mean C(G(z))"),
                            ("ralsgan", "RaLSGAN", "average least-squares GAN"),
                            ("rahinge", "RaHinge", "average hinge GAN")):
        register(ObjectiveSpec(name, f"Relativistic {what} (Jolicoeur-Martineau 2019)", "gan", f"{rel}:{cls}",
                               d_steps=1, optimizer=ADAM))
    ae = "ganzoo.objectives.autoencoding"
    elbo = {"likelihood": "bernoulli", "beta": 1.0, "capacity": 0.0, "capacity_steps": 0}
    register(ObjectiveSpec(
        "elbo", "VAE evidence lower bound: E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I))", "vae",
        f"{ae}:ELBO", d_steps=0, defaults=elbo, optimizer={"name": "adam", "lr": 1e-3, "betas": [0.9, 0.999]}))
    register(ObjectiveSpec(
        "beta-vae", "beta-VAE (Higgins et al. 2017): the ELBO with KL weight beta = 4; capacity=C: beta |KL - C|, "
        "C growing to C over capacity_steps (Burgess et al. 2018)", "vae", f"{ae}:ELBO", d_steps=0,
        defaults={**elbo, "beta": 4.0}, optimizer={"name": "adam", "lr": 1e-3, "betas": [0.9, 0.999]}))
    register(ObjectiveSpec(
        "reconstruction", "Autoencoder reconstruction loss (bce or mse)", "ae",
        f"{ae}:Reconstruction", d_steps=0, defaults={"loss": "bce"},
        optimizer={"name": "adam", "lr": 1e-3, "betas": [0.9, 0.999]}))
