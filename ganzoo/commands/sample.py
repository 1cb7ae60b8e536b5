"""``ganzoo sample``: draw samples from a model to a PNG grid/scatter or a .npy array."""

from __future__ import annotations

from pathlib import Path

import click

from . import SEED, label_index, sampling_flags


@click.command("sample")
@click.argument("model")
@click.option("-n", "--num", "n", default=64, show_default=True, type=click.IntRange(1, 100_000),
              help="How many samples (a class-conditional model without --label: rounded up to a "
              "multiple of its classes).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FILE.png (image grid, or scatter for 2-D data) or FILE.npy (float32 array).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed (same seed, same samples).")
@click.option("--label", default=None, help="Class for a class-conditional model: a stored class name (e.g. a "
              "folder: data's subfolder name) or its index; without it, every class, one row each. For a "
              "self-conditioned model a cluster (without it: drawn from the clusters' shares).")
@click.option("--interpolate", is_flag=True, help="N latent walks (rows) between random points, --steps columns each.")
@click.option("--steps", default=10, show_default=True, type=click.IntRange(2, 64), help="Points per walk.")
@sampling_flags
def sample_cmd(model, n, output, seed, label, interpolate, steps, truncation, sample_opts):
    """Sample a model (zoo name, hf://org/repo[@rev] or folder) to FILE.png or FILE.npy.

    Only the generator (with its learned prior, when the model has one) is loaded (and
    downloaded). Images are scaled to [0, 1]; A model without a
    prior (a plain autoencoder) is refused.
    vectors are written as generated.

    A class-conditional model sampled without --label draws every class equally, class
    by class: N is rounded up to a multiple of the class count (-n 64 with 10 classes: 7
    of each, 70 in all), and the PNG has one row per class (the .npy the same samples,
    class 0 first) -- the picture that ganzoo.images.sample_picture draws for model
    cards, Hub pushes and training. They are ganzoo.load(MODEL).sample(N', seed=SEED,
    y=torch.arange(C).repeat_interleave(N' // C)), labels 0, 0, .., 1, 1, ..

    \b
    Examples:
      ganzoo sample mnist-cdcgan-hinge -n 60 -o digits.png     # 6 of each digit, a row each
      ganzoo sample ring8-mlp-nonsat -n 2500 -o ring.png
      ganzoo sample digits-dcgan-nonsat -n 64 -o digits.npy --seed 1
      ganzoo sample mnist-dcgan-selfcond --interpolate -n 8 --steps 10 -o walks.png
      ganzoo sample mnist-stylegan --truncation 0.7 -o typical.png
    """
    from ..errors import ConfigError

    if not interpolate and click.get_current_context().get_parameter_source("steps") != \
            click.core.ParameterSource.DEFAULT:
        raise ConfigError("--steps sets the points of each --interpolate walk; add --interpolate or drop --steps")
    out = Path(output)
    if out.suffix.lower() not in (".png", ".npy"):
        raise ConfigError(f"output {output!r} must end in .png or .npy")
    if out.parent and not out.parent.exists():
        raise ConfigError(f"folder {str(out.parent)!r} does not exist; create it first")

    from .. import images
    from ..api import load_for
    from . import sampling_from

    options = sampling_from(truncation, sample_opts)
    m = load_for(model, "sample", command="ganzoo sample")  # the generator, refused without a prior
    if options:  # every picture, array and walk below samples with them
        m = m.with_sampling(**m.generator.check_sampling(options, who=model))
    if label is not None and m.num_classes == 0:
        raise ConfigError(f"{model} is not class-conditional; drop --label")
    if label is not None:
        label = label_index(m, model, label)
    if interpolate:
        images.check_memory(m, n * steps, what=f"sample: {n:,} walks of {steps} steps", picture=out.suffix.lower() == ".png",
                            advice="ask for fewer walks (-n) or fewer --steps")
        x = images.latent_walks(m, n, steps, seed=seed, y=label)
        if out.suffix.lower() == ".npy":
            images.save_npy(x.reshape(n, steps, *m.sample_shape).numpy(), out)
        elif m.is_image:
            images.save_png(images.grid(x, nrow=steps), out)
        else:
            raise ConfigError(f"{model} makes vectors; write interpolations to a .npy file")
        click.echo(f"wrote {n} latent walk{'' if n == 1 else 's'} of {steps} steps to {out}")
        return
    if out.suffix.lower() == ".png" and not images.drawable(m):
        raise ConfigError(f"{model} makes {list(m.sample_shape)} vectors; write them to a .npy file")
    count = images.picture_count(m, n, y=label)
    images.check_memory(m, count, what=f"sample: {count:,} samples", advice="ask for fewer samples (-n)",
                        picture=out.suffix.lower() == ".png")
    if out.suffix.lower() == ".npy":
        x, per = images.picture_samples(m, n, seed=seed, y=label)
        images.save_npy(x.numpy(), out)
    else:  # the picture ganzoo demo shows too
        picture, x, per = images.command_picture(m, model, n, seed=seed, y=label)
        images.save_png(picture, out)
    total = len(x)
    if per is None:
        click.echo(f"wrote {n} sample{'' if n == 1 else 's'} to {out}")
        return
    layout = "one row per class" if m.is_image and out.suffix.lower() == ".png" else "in class order"
    given = click.get_current_context().get_parameter_source("n") != click.core.ParameterSource.DEFAULT
    rounded = "" if total == n or not given else f"; -n {n} rounded up to a multiple of {m.num_classes} classes"
    click.echo(f"wrote {total} samples ({per} per class, {layout}{rounded}) to {out}")
