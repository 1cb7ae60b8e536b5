"""``ganzoo encode``: a model's encoder as a feature extractor, over a whole dataset, to .npz or .npy."""

from __future__ import annotations

import click


@click.command("encode")
@click.argument("model")
@click.option("--data", required=True, help="Dataset to encode (digits, mnist:DIR, folder:DIR, ...).")
@click.option("--data-opt", "data_opts", multiple=True, metavar="KEY=VALUE", help="e.g. subset=8000: (a part).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FILE.npz (z, and y when the data has labels) or FILE.npy (z alone).")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 65536),
              help="Items encoded at a time.")
def encode_cmd(model, data, data_opts, output, batch_size):
    """Features of every item of DATA, in the dataset's order, from MODEL's encoder.

    z is (N, d) float32: Model.encode, a VAE's posterior mean. FILE.npz holds z and, when the
    data has labels, y (N,) int64; FILE.npy holds z alone. A class-conditional encoder (a
    conditional VAE) is given each item's label. In Python: ganzoo.load(MODEL).encode(x).

    \b
    Examples:
      ganzoo encode mnist-vae-16d --data mnist:../shared/data/mnist -o feats.npz
      ganzoo encode digits-ae --data digits -o feats.npy
    """
    import io
    from pathlib import Path

    import numpy as np

    from ..api import load_for
    from ..capabilities import encode_data
    from ..data import load_dataset
    from ..errors import ConfigError
    from ..fsutil import atomic_write_bytes
    from ..limits import check_output_memory
    from . import key_values

    out = Path(output)
    if out.suffix.lower() not in (".npz", ".npy"):
        raise ConfigError(f"output {output!r} must end in .npz (z and y) or .npy (z alone)")
    if not out.parent.exists():
        raise ConfigError(f"folder {str(out.parent)!r} does not exist; create it first")
    m = load_for(model, "encode", command="ganzoo encode")
    ds = load_dataset(data, **key_values(data_opts, "--data-opt"))
    if tuple(ds.sample_shape) != tuple(m.sample_shape):
        raise ConfigError(f"{data} has samples of shape {list(ds.sample_shape)}, {model} takes {list(m.sample_shape)}")
    if m.encoder.conditional and ds.y is None:
        raise ConfigError(f"{model}'s encoder is conditional on {m.num_classes} classes (it reads each item's label) "
                          f"and {data} has no labels; pass labelled data")
    y = ds.y if m.encoder.conditional else None
    dim = encode_data(m, ds.x[:1], None if y is None else y[:1]).shape[1]   # the width of z, from one item
    check_output_memory(len(ds), (dim,), what=f"encode: {len(ds):,} items of {dim} features",
                        advice="encode a part of the data (--data-opt subset=0:N)")
    z = encode_data(m, ds.x, y, batch=batch_size).numpy().astype(np.float32)
    buf = io.BytesIO()
    if out.suffix.lower() == ".npy":
        np.save(buf, z)
    else:
        arrays = {"z": z} if ds.y is None else {"z": z, "y": ds.y.numpy().astype(np.int64)}
        np.savez(buf, **arrays)
    atomic_write_bytes(out, buf.getvalue())
    labels = " and y" if out.suffix.lower() == ".npz" and ds.y is not None else ""
    click.echo(f"wrote z ({len(z):,} x {dim}){labels} to {out}")
