"""``ganzoo eval``: score a model with the metrics that apply to it and its data."""

from __future__ import annotations

import click

from . import SEED, sampling_flags


@click.command("eval")
@click.argument("model")
@click.option("--data", "data", default=None,
              help="Dataset ref: ring8, grid25, digits, mnist:DIR, ... (default: the one in the model's config).")
@click.option("-n", "--n", "n", default=None, type=click.IntRange(2, 100_000),
              help="Samples to generate, or images for elbo (default: 2,500 for mixtures, one real half for judge/prdc, 1,000 for elbo).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed for the generated samples.")
@click.option("--metric", "metrics", multiple=True, help="Run only this metric (repeatable): modes, judge, prdc, elbo, fid, ...")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (format ganzoo-eval/1).")
@click.option("--inception", default=None, type=click.Path(dir_okay=False),
              help="Inception-v3 TorchScript file for FID (else $GANZOO_INCEPTION_WEIGHTS).")
@click.option("--iwae-k", default=None, type=click.IntRange(1, 100_000), help="Importance samples for the VAE IWAE estimate [100].")
@click.option("--draws", default=None, type=click.IntRange(1, 100),
              help="Judge and intra-class Fréchet ratios: average this many sample draws, each against its own real "
                   "split [20].")
@click.option("--data-opt", "data_opts", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, e.g. --data-opt subset=8000: to score held-out items only.")
@sampling_flags
def eval_cmd(model, data, n, seed, metrics, as_json, inception, iwae_k, draws, data_opts, truncation, sample_opts):
    """Evaluate MODEL (zoo name, hf://org/repo[@rev] or folder) on DATA.

    \b
    Mixtures (ring8, grid25): high-quality share, modes captured, reverse KL.
    digits / mnist images:    judge Fréchet distance (vs real halves), class KL,
                              max-prob, precision/recall/density/coverage;
                              class-conditional models also the intra-class
                              Fréchet distance (per class, vs real halves);
                              with a categorical latent code (InfoGAN), its
                              accuracy: each value mapped to its majority judge class.
    VAEs:                     ELBO and importance-weighted log-likelihood (nats).
    AEs:                      reconstruction error only (no prior to sample from;
                              name other metrics with --metric).
    FID:                      only with Inception weights (--inception / env).

    \b
    Examples:
      ganzoo eval ring8-mlp-nonsat --data ring8
      ganzoo eval ./runs/vae --data mnist:../shared/data/mnist --json
      ganzoo eval mnist-stylegan --data mnist:../shared/data/mnist --truncation 0.8
    """
    import json

    from ..metrics import evaluate
    from ..metrics.report import format_table, to_json_safe

    options: dict = {}
    if inception:
        options["fid"] = {"inception": inception}
    if iwae_k:
        options["elbo"] = {"k": iwae_k}
    if draws:
        options["judge"] = options["intra"] = {"draws": draws}   # the intra-class FD reuses the judge's draws
    chosen = list(metrics)
    if inception and chosen and "fid" not in chosen:
        chosen.append("fid")
    data_options = None
    if data_opts:
        from ..errors import ConfigError
        from . import key_values

        if not data:
            raise ConfigError("--data-opt needs --data")
        data_options = key_values(data_opts, "--data-opt")
    from . import sampling_from

    result = evaluate(model, data, n=n, seed=seed, metrics=chosen or None, options=options, data_options=data_options,
                      sampling=sampling_from(truncation, sample_opts) or None)
    if as_json:
        click.echo(json.dumps(to_json_safe(result), indent=2, sort_keys=True))
    else:
        click.echo(format_table(result))
