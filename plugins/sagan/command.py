"""``ganzoo attention``: where a self-attention generator looks, as a picture (registered by the sagan plugin)."""

from __future__ import annotations

from pathlib import Path

import click

COLOURS = ((1.0, 0.2, 0.2), (0.2, 0.9, 0.2), (0.3, 0.5, 1.0), (1.0, 0.9, 0.1), (1.0, 0.3, 1.0), (0.2, 1.0, 1.0))


@click.command("attention")
@click.argument("model")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.png")
@click.option("-n", "--num", "n", default=4, show_default=True, type=click.IntRange(1, 64), help="Samples (rows).")
@click.option("--points", default=4, show_default=True, type=click.IntRange(1, len(COLOURS)),
              help="Query positions per sample (columns).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same samples).")
@click.option("--label", default=None, type=int, help="Class for a class-conditional model (default: each in turn).")
def attention_cmd(model, output, n, points, seed, label):
    """Draw the self-attention maps of a model's generator (SAGAN) to FILE.png.

    Each row is one sample: first the sample with its query positions marked, then for each
    query the attention map of the generator's (first) self-attention block -- how much the
    generated features at that position draw on every other position, brightest where most --
    upsampled to the image's size over a dimmed copy of the sample. Queries are the brightest
    well-separated positions of the sample at the map's resolution. Works for any generator with
    a ganzoo.layers.SelfAttention block.

    \b
    Examples:
      ganzoo attention mnist-sagan -o attn.png
      ganzoo attention mnist-sagan --label 7 -n 2 --points 6 -o sevens.png
    """
    from ganzoo.errors import ConfigError

    out = Path(output)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"output {output!r} must end in .png")
    if not out.parent.exists():
        raise ConfigError(f"folder {str(out.parent)!r} does not exist; create it first")

    import ganzoo
    from ganzoo.images import grid, save_png

    m = ganzoo.load(model, components=["generator"])
    picture = attention_picture(m, n, points=points, seed=seed, y=label, name=model)
    save_png(grid(picture, nrow=points + 1), out)
    click.echo(f"wrote the attention maps of {n} sample{'' if n == 1 else 's'} ({points} queries each) to {out}")


def attention_picture(model, n: int, *, points: int = 4, seed: int = 0, y=None, name: str = "this model"):
    """(n * (points + 1), 3, H, W) RGB tiles in [0, 1]: per sample, the sample with its query points marked,
    then one attention heat map per query (see ``ganzoo attention --help``)."""
    import torch

    from ganzoo.errors import ConfigError
    from ganzoo.layers import SelfAttention

    if not model.is_image:
        raise ConfigError(f"{name} makes vectors, not images; attention maps are pictures of image models")
    blocks = [b for b in model.generator.modules() if isinstance(b, SelfAttention)]
    if not blocks:
        raise ConfigError(f"{name}'s generator has no self-attention block (ganzoo.layers.SelfAttention); "
                          "try a SAGAN model such as mnist-sagan")
    if y is not None and not model.num_classes:
        raise ConfigError(f"{name} is not class-conditional; drop --label")
    if y is not None and not 0 <= y < model.num_classes:
        raise ConfigError(f"--label must lie in 0..{model.num_classes - 1} for {name}")
    block = blocks[0]
    block.record = True
    try:
        x = model.sample_unit(n, seed=seed, y=y)
        att = block.attention                                    # (n, hw queries, hw keys)
    finally:
        block.record, block.attention = False, None
    size, side = x.shape[-1], round(att.shape[-1] ** 0.5)
    grey = x.mean(1, keepdim=True)                               # (n, 1, H, W)
    small = torch.nn.functional.adaptive_avg_pool2d(grey, side).flatten(1)   # brightness at the map's resolution
    tiles = []
    for i in range(n):
        queries = spread_points(small[i], side, points)
        marked = grey[i].expand(3, size, size).clone()
        for q, colour in zip(queries, COLOURS):
            _mark(marked, q, side, size, colour)
        tiles.append(marked)
        for q, colour in zip(queries, COLOURS):
            heat = att[i, q].view(1, 1, side, side)
            heat = torch.nn.functional.interpolate(heat / heat.max().clamp_min(1e-12), size=(size, size),
                                                   mode="nearest")[0, 0]
            tile = 0.35 * grey[i].expand(3, size, size).clone()
            tile[0] += 0.65 * heat
            tile[1] += 0.65 * heat ** 2
            tile[2] += 0.65 * heat ** 4
            _mark(tile, q, side, size, colour)
            tiles.append(tile.clamp(0, 1))
    return torch.stack(tiles)


def spread_points(brightness, side: int, k: int) -> list:
    """``k`` positions (row-major indices on the side x side map): the brightest first, then each the farthest
    from those chosen among the brighter half of the positions."""
    import torch

    order = torch.argsort(brightness, descending=True)
    pool = order[: max(k, len(order) // 2)]
    rc = torch.stack([pool // side, pool % side], 1).float()
    chosen = [0]
    while len(chosen) < min(k, len(pool)):
        d = torch.cdist(rc, rc[chosen]).min(1).values
        d[chosen] = -1
        chosen.append(int(d.argmax()))
    return [int(pool[c]) for c in chosen]


def _mark(tile, q: int, side: int, size: int, colour) -> None:
    """A small square of ``colour`` at the centre of map position ``q`` on a (3, size, size) tile."""
    scale = size / side
    r, c = int((q // side + 0.5) * scale), int((q % side + 0.5) * scale)
    half = max(1, size // 28)
    for ch, v in enumerate(colour):
        tile[ch, max(0, r - half):r + half + 1, max(0, c - half):c + half + 1] = v
