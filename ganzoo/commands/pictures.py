"""``ganzoo traverse`` and ``ganzoo reconstruct``: the pictures of the latent space."""

from __future__ import annotations

import click

from . import SEED, label_index


def _check_png(output):
    from pathlib import Path

    from ..errors import ConfigError

    out = Path(output)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"output {output!r} must end in .png")
    if not out.parent.exists():
        raise ConfigError(f"folder {str(out.parent)!r} does not exist; create it first")
    return out


@click.command("traverse")
@click.argument("model")
@click.option("--dims", default=None, help="Two latent dimensions to vary, e.g. 0,1 (the default).")
@click.option("--code", type=int, default=None,
              help="Vary latent code K instead (InfoGAN-style codes, numbered from 0, the categorical ones first).")
@click.option("--steps", default=15, show_default=True, type=click.IntRange(2, 64),
              help="Grid points per axis (--dims), or values of a continuous --code.")
@click.option("--span", default=2.0, show_default=True, type=click.FloatRange(0, 100, min_open=True),
              help="--code: a continuous code walks -SPAN..SPAN (its prior is N(0, 1)).")
@click.option("--rows", default=10, show_default=True, type=click.IntRange(1, 64),
              help="--code: rows, each its own draw of z.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="--code: which draws of z.")
@click.option("--each", is_flag=True, help="One row per latent dimension, walking -SPAN..SPAN with the others at 0.")
@click.option("--label", default=None, help="Class of a class-conditional model: a stored class name or its index.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.png")
def traverse_cmd(model, dims, code, steps, span, rows, seed, each, label, output):
    """Decode a grid over two latent dimensions (the others held at 0): the learned manifold; or, with
    --code K, rows in which only latent code K varies.

    --dims: grid values are Gaussian quantiles from 5% to 95%, so each cell has equal prior mass
    (Kingma & Welling 2014, fig. 4). Best with a VAE of latent size 2.

    --code K (a generator that declares latent codes, e.g. an InfoGAN): each row is one draw of z, its
    other codes and noise fixed; the columns set code K to each of its values (a categorical code) or to
    --steps values from -SPAN to SPAN (a continuous one).

    --each: row k walks latent dimension k from -SPAN to SPAN (--steps values), the others at 0 -- what
    each dimension does alone (a beta-VAE's factors; a dimension its encoder left unused draws one image).

    \b
    Examples:
      ganzoo traverse mnist-vae-2d --dims 0,1 -o manifold.png
      ganzoo traverse mnist-infogan --code 0 -o digits.png          # the categorical code: one column per value
      ganzoo traverse mnist-infogan --code 1 --steps 9 -o code1.png  # a continuous code from -2 to 2
      ganzoo traverse mnist-betavae --each --span 3 --steps 9 -o factors.png
    """
    from .. import images
    from ..api import load
    from ..errors import ConfigError

    out = _check_png(output)
    if sum((code is not None, dims is not None, each)) > 1:
        raise ConfigError("--code, --dims and --each traverse different things; pass one of them")
    m = load(model, components=["generator"])
    if not m.is_image:
        raise ConfigError(f"{model} does not make images; traverse draws an image grid")
    if each:
        x, cols, what = _each_grid(m, model, steps, span, label)
    elif code is None:
        x, cols, what = _dims_grid(m, model, dims or "0,1", steps, label)
    else:
        layout = m.generator.code_layout
        if layout is None:
            raise ConfigError(f"{model} declares no latent codes; --code needs a generator with InfoGAN-style codes "
                              "(code_layout); --dims traverses the latent's dimensions")
        if not 0 <= code < len(layout):
            raise ConfigError(f"--code must lie in 0..{len(layout) - 1} for {model} ("
                              + "; ".join(f"{i}: {layout.describe(i)}" for i in range(len(layout))) + ")")
        cols = layout.categories_of(code) or steps
        images.check_memory(m, rows * cols, what=f"traverse: {rows} rows of {cols} values",
                            advice="ask for fewer --rows or --steps")
        x = m.traverse_code(code, rows=rows, steps=steps, span=span, seed=seed, y=_label(m, model, label, rows, each=True))
        cols = x.shape[1]
        x = x.flatten(0, 1)
        what = f"{rows}x{cols} traversal of code {code} ({layout.describe(code)})"
    images.save_png(images.grid(x, nrow=cols, pad=0 if code is None and not each else 2), out)
    click.echo(f"wrote a {what} to {out}")


def _each_grid(m, model, steps, span, label):
    """One row per latent dimension: dimension k walks ``steps`` values from -span to span, the others at 0."""
    import torch

    from .. import images
    from ..errors import ConfigError
    from ..model import to_unit

    d = m.latent_dim
    if d > 64:
        raise ConfigError(f"{model} has {d} latent dimensions; --each draws one row per dimension (at most 64)")
    images.check_memory(m, d * steps, what=f"traverse: {d} rows of {steps}", advice="ask for a smaller --steps")
    z = torch.zeros(d, steps, d)
    z[torch.arange(d), :, torch.arange(d)] = torch.linspace(-span, span, steps)
    y = _label(m, model, label, d * steps)
    with torch.no_grad():
        x = to_unit(m.generator(z.reshape(d * steps, d), y), m.generator.output_range)
    return x, steps, f"traversal of each of the {d} latent dimensions ({steps} values in -{span:g}..{span:g})"


def _dims_grid(m, model, dims, steps, label):
    """The VAE manifold picture: ``steps`` x ``steps`` samples over two latent dimensions (the others at 0)."""
    from .. import images
    from ..errors import ConfigError

    try:
        d0, d1 = (int(d) for d in dims.split(","))
    except ValueError:
        raise ConfigError(f"--dims takes two integers like 0,1, not {dims!r}") from None
    for d in (d0, d1):
        if not 0 <= d < m.latent_dim:
            raise ConfigError(f"--dims must lie in 0..{m.latent_dim - 1} for {model}")
    if d0 == d1:
        raise ConfigError("--dims needs two different dimensions")
    images.check_memory(m, steps * steps, what=f"traverse: a {steps}x{steps} grid", advice="ask for a smaller --steps")
    x = images.latent_grid(m, d0, d1, steps, y=_label(m, model, label, steps * steps))
    return x, steps, f"{steps}x{steps} traversal of dims {d0},{d1}"


@click.command("reconstruct")
@click.argument("model")
@click.option("--data", required=True, help="Dataset to draw inputs from (digits, mnist:DIR, ...).")
@click.option("--data-opt", "data_opts", multiple=True, metavar="KEY=VALUE", help="e.g. subset=8000: (held-out).")
@click.option("-n", "--num", "n", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--seed", default=0, show_default=True, type=SEED, help="Which inputs (random, seeded).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.png")
def reconstruct_cmd(model, data, data_opts, n, seed, output):
    """Inputs (odd rows) above their reconstructions (even rows), for a model with an encoder and a
    decoder (an autoencoder, a VAE; a class-conditional one gets the inputs' labels).

    \b
    Example:
      ganzoo reconstruct mnist-ae --data mnist:../shared/data/mnist -o recon.png
    """
    import torch

    from .. import images
    from ..api import load_for
    from ..data import load_dataset
    from ..errors import ConfigError
    from ..model import to_unit
    from . import key_values

    out = _check_png(output)
    m = load_for(model, "reconstruct", command="reconstruct")
    images.check_memory(m, 2 * n, what=f"reconstruct: {n:,} inputs and their reconstructions", advice="ask for fewer (-n)")
    ds = load_dataset(data, **key_values(data_opts, "--data-opt"))
    if tuple(ds.sample_shape) != tuple(m.sample_shape):
        raise ConfigError(f"{data} has samples of shape {list(ds.sample_shape)}, {model} takes {list(m.sample_shape)}")
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    x = ds.x[idx]
    if "conditional" in m.capabilities and ds.y is None:
        raise ConfigError(f"{model} is class-conditional and {data} has no labels; pass labelled data")
    y = ds.y[idx] if "conditional" in m.capabilities else None
    x_hat = to_unit(m.reconstruct(x, y), m.output_range)
    images.save_png(images.reconstruction_picture(x, x_hat), out)
    click.echo(f"wrote {n} inputs and their reconstructions to {out}" if n > 1 else
               f"wrote 1 input and its reconstruction to {out}")


def _label(m, model, label, n, each=False):
    """Labels for ``n`` samples of one class (--label: a class name or index); a self-conditioned model draws
    one cluster from their shares, or with ``each`` one per sample (None: the model draws them)."""
    import torch

    from ..errors import ConfigError

    if m.num_classes == 0:
        if label is not None:
            raise ConfigError(f"{model} is not class-conditional; drop --label")
        return None
    if label is not None:
        label = label_index(m, model, label)
    elif m.label_prior is not None:  # self-conditioned: one cluster drawn from their shares
        if each:
            return None
        label = int(m.draw_labels(1, 0)[0])
    else:
        raise ConfigError(f"{model} is class-conditional; pass --label (a class name or 0..{m.num_classes - 1})")
    return torch.full((n,), label, dtype=torch.long)
