"""Built-in evaluation metrics (registered through ``register_metrics``) and :func:`evaluate`.

Metrics (``ganzoo eval MODEL --data DATA``; ``--metric NAME`` picks them by hand):

``modes``  2-D mixtures (ring8, grid25), VEEGAN/PacGAN protocol on 2,500 samples:
           ``hq_fraction`` (share within 3 std of the nearest mode; 0.989 for the true mixture),
           ``modes`` captured of ``modes_total``, ``reverse_kl`` (nats; ln 8 = 2.08 for a
           generator collapsed onto one ring mode; NaN/null when no sample is high quality),
           ``spread`` (RMS distance of high-quality samples to their centre / the true mixture's:
           about 1 for the true mixture, 0 for points at the centres -- collapse inside a mode).
``judge``  digits / mnist images, scored by a small CNN shipped in ``ganzoo/metrics/judges``:
           ``classes`` (classes given at least 1% of the samples), ``class_kl`` (KL of the predicted-class histogram to uniform), ``max_prob`` (mean
           confidence), ``fd`` (Fréchet distance of judge features, generated vs real half B),
           ``fd_real_halves`` (real half A vs B: the floor) and ``fd_ratio`` = fd / fd_real_halves
           (the zoo's quality bar is <= 2); ``*_real`` are the same numbers for real images.
           One draw's ratio is noisy (per-draw spread 0.4 to 0.7 for the MNIST GANs), so fd and
           fd_real_halves are means over ``draws`` = 20 draws (sample seeds seed, seed + 1, ...), each
           against its own random split of the real pool; ``fd_ratio_sd`` is the per-draw spread
           (``--draws 1``: the single split 0 and seed). Class statistics pool the draws.
           Class-conditional models (balanced labels) also get ``label_accuracy``: the share of
           samples the judge classifies as the label they were drawn for (0.1 = the label ignored).
``intra``  class-conditional models (labelled data, not clusters) on digits / mnist: the intra-class
           Fréchet distance (StudioGAN's IFID) in judge features. ``intra_fd`` is the mean over classes of
           the distance between the samples drawn for a class and that class's real images in half B;
           ``intra_fd_real_halves`` the same mean between the class's images in halves A and B (the
           floor, with as many images per class); ``intra_fd_ratio`` their quotient (1 is perfect), means
           over the judge metric's draws (its samples and splits, reused). A model can follow its labels
           and still lack variety inside a class: the overall ``fd_ratio`` hides that, this does not.
           ``intra_fd_ratio_max`` and ``worst_class``: the class with the largest ratio.
``prdc``   precision, recall (Kynkäänniemi 2019), density, coverage (Naeem 2020), k = 5, in judge
           feature space against real half B; ``*_real_halves`` for real half A. Precision and
           density in a small classifier's feature space rate uniform noise highly: read recall,
           coverage, fd and class_kl first. (At most 10,000 generated samples: k-NN is O(n^2).)
``elbo``   VAEs: ``elbo``, ``recon``, ``kl`` and ``iwae`` (importance-weighted log-likelihood with
           ``iwae_k`` = 100 samples), nats per image, on 1,000 images of the given data (pass
           held-out data, e.g. ``mnist:DIR`` holding only the test split).
``codes``  generators with latent codes (InfoGAN's ``code_layout``), images: a categorical code's
           ``code_accuracy`` on digits / mnist (each value, the first code unless ``code`` names
           another, mapped to the judge class most of its samples get; the share of samples in their
           value's class: about 0.95 in the InfoGAN paper for MNIST), ``code_classes`` (distinct
           classes mapped to), ``code_purity_min`` (the worst value's share), on 5,000 samples; and per
           continuous code K, ``codeK_width`` / ``codeK_slant``: how the ink's width and slant follow
           the code along traversals (rank correlation, -1..1). See ``ganzoo.metrics.codes``.
``kl-dims``  VAEs, on the ``elbo`` metric's images: ``kl_dim_k``, the mean KL(q(z_k|x) || N(0, 1)) of
           latent dimension k in nats (they sum to the ELBO's KL), ``active_dims`` (Var_x E_q[z_k] > 0.01,
           Burda et al. 2016's active units) and ``kl_top_share`` (the largest dimension's share).
``recon``  encoder + decoder: ``recon_nll`` (Bernoulli NLL, nats per image) and ``recon_mse`` of the
           reconstructions of 1,000 items of the given data (decoding the encoder's mean).
``linear-probe``  models with an encoder, on labelled data: ``probe_accuracy``, the held-out accuracy of a
           multinomial logistic regression on the features ``Model.encode`` gives (a VAE's posterior
           mean), and ``probe_pixels``, the same probe on raw pixels. The first 80% of the items in
           the data's order fit it (MNIST: the first 8,000, where the zoo's encoders trained), the
           rest test it (:mod:`ganzoo.metrics.probe`; deterministic).
``factors``  image models, only when named: per latent dimension k, how far setting it alone to -2 and
           +2 moves the ink's width, slant and thickness (``dimK_width`` ... in standard deviations of
           real images) and how often the judge class changes (``dimK_class``); ``factor_dims`` (active
           dimensions) and ``single_factor_dims`` (those changing one property and keeping the class):
           a beta-VAE's "one factor per latent". See :mod:`ganzoo.metrics.factors`.
``fid``    optional: Inception-v3 FID when ``GANZOO_INCEPTION_WEIGHTS`` (or ``--inception``) names
           the TorchScript ``inception-2015-12-05.pt``; otherwise a one-line 'not available' error.

Every metric dict has ``n`` (generated samples or images used; for images the default is the
size of real half B). Real references use a fixed split (seed 0; the judge's draws use seeds 0,
1, ...) of at most 10,000 real images into halves A and B; images the judge was trained on are
left out of that pool when at least 1,000 others remain (``real_excludes_judge_train`` = 1),
because a judge's features of its own training images are tighter than of new ones. ``seed``
only changes the generated samples.
Class-conditional models are sampled with balanced labels.

:func:`evaluate` returns ``{"format": "ganzoo-eval/1", "model", "variant", "objective", "kind",
"data", "seed", "metrics": {name: {key: number}}}``, and ``"sampling": {option: value}`` when the samples
were drawn with sampling options. A metric factory is
``factory(model, data, *, n=None, seed=0, **options) -> dict`` of numbers (``data`` a loaded
TensorData; ``n=None`` = the metric's default); plugins register more with ``MetricSpec``.
"""

from ganzoo.hookspecs import hookimpl
from ganzoo.registry import MetricSpec

SUITE = "ganzoo.metrics.suite"


@hookimpl
def register_metrics(register):
    sample = ("sample",)
    register(MetricSpec("modes", "2-D mixtures: high-quality share, modes captured, reverse KL (VEEGAN/PacGAN), spread",
                        f"{SUITE}:modes_metric", needs=sample))
    register(MetricSpec("judge", "digits/mnist: judge classes present, class-KL, max-prob, Fréchet distance vs real halves",
                        f"{SUITE}:judge_metric", needs=sample))
    register(MetricSpec("intra", "class-conditional models on digits/mnist: per-class judge Fréchet distance "
                        "(intra-class FD) vs real halves", "ganzoo.metrics.intra:intra_metric", needs=sample))
    register(MetricSpec("prdc", "digits/mnist: k-NN precision/recall/density/coverage in judge features (k=5)",
                        f"{SUITE}:prdc_metric", needs=sample))
    register(MetricSpec("elbo", "VAEs: ELBO and importance-weighted log-likelihood (K=100), nats per image",
                        "ganzoo.metrics.likelihood:elbo_metric", needs=("likelihood",)))
    register(MetricSpec("kl-dims", "VAEs: KL per latent dimension (nats) and the active dimensions, on the elbo's images",
                        "ganzoo.metrics.likelihood:kl_dims_metric", needs=("likelihood",)))
    register(MetricSpec("recon", "encoder + decoder: reconstruction NLL (nats per image) and MSE per pixel on the data given",
                        "ganzoo.metrics.likelihood:recon_metric", needs=("reconstruct",)))
    register(MetricSpec("codes", "latent codes (InfoGAN): a categorical code's accuracy (majority judge class of each "
                        "value), continuous codes' effect on width and slant", "ganzoo.metrics.codes:code_metric",
                        needs=sample))
    register(MetricSpec("factors", "image models, on request: what each latent dimension alone changes (ink width, slant, "
                        "thickness in real spreads; the judge class)", "ganzoo.metrics.factors:factors_metric", needs=sample))
    register(MetricSpec("fid", "optional Inception-v3 FID (needs GANZOO_INCEPTION_WEIGHTS)", "ganzoo.metrics.fid:fid_metric",
                        needs=sample))
    register(MetricSpec("linear-probe", "encoders: held-out accuracy of a logistic regression on the features, and on "
                        "raw pixels", "ganzoo.metrics.probe:linear_probe_metric", needs=("encode",)))


def evaluate(model, data=None, *, metrics=None, n=None, seed=0, options=None, data_options=None,
             sampling=None) -> dict:
    """Score a model as ``ganzoo eval`` does (``ganzoo.evaluate``): ``evaluate("ring8-mlp-nonsat")``,
    ``evaluate(model, "mnist:DIR", metrics=["judge"], n=5000, seed=1)``; returns the ``ganzoo-eval/1`` dict
    of ``ganzoo eval --json`` (see the module docstring).

    ``model``: a Model, a zoo name, ``hf://org/repo[@rev]`` or a folder; ``data``: a dataset reference
    (default: the one the model was trained on) or a loaded dataset, with ``data_options`` as ``--data-opt``
    (``{"subset": "8000:"}``); ``metrics``: names (default: those that apply; for a plain autoencoder its
    reconstruction error); ``options``: per metric, ``{"elbo": {"k": 1000}, "fid": {"inception": PATH},
    "prdc": {"k": 3}, "modes": {"threshold": 3.0}, "judge": {"draws": 1}, "intra": {"draws": 1}}``;
    ``sampling``: sampling options for every sample scored (``{"truncation": 0.7}``, as ``ganzoo eval
    --truncation 0.7``; the model's :meth:`~ganzoo.model.Model.with_sampling`), recorded in the result's
    ``sampling``."""
    from ..errors import ConfigError
    from .suite import evaluate as _evaluate

    if isinstance(metrics, str):
        metrics = [metrics]
    if data_options:
        if not isinstance(data, str):
            raise ConfigError("data_options (--data-opt) need the data named, e.g. data='mnist:DIR'")
        from ..data import load_dataset

        data = load_dataset(data, **data_options)
    return _evaluate(model, data, n=n, seed=seed, metrics=list(metrics) if metrics else None, options=options,
                     sampling=sampling)


__all__ = ["evaluate", "register_metrics"]
