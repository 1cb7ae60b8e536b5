"""DiffAugment (--augment): what the policies do to a batch, and that training feeds D through them."""

from __future__ import annotations

import pytest
import torch

from ganzoo.training.augment import Augmented, augment, cutout, parse_policy, translation
from ganzoo.errors import ConfigError
from ganzoo import train


def _shifted(img, dy, dx):
    """``img`` (C, H, W) moved down by dy and right by dx, the uncovered border repeating the edge."""
    _, h, w = img.shape
    rows = (torch.arange(h) - dy).clamp(0, h - 1)
    cols = (torch.arange(w) - dx).clamp(0, w - 1)
    return img[:, rows][:, :, cols]


def test_translation_shifts_each_image_by_at_most_an_eighth_with_edge_fill():
    torch.manual_seed(0)
    x = torch.rand(64, 2, 16, 16, requires_grad=True)
    out = translation(x)
    assert out.shape == x.shape
    shifts = []
    for img, got in zip(x.detach(), out.detach()):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(_shifted(img, dy, dx), got)]
        assert len(found) == 1, found          # exactly one shift within +-2 px (16 / 8) explains the output
        shifts.append(found[0])
    assert len(set(shifts)) > 10               # drawn per image
    out.sum().backward()                       # every output pixel reads one input pixel
    assert x.grad.sum().item() == pytest.approx(out.numel()) and (x.grad >= 0).all()


def test_cutout_blanks_one_square_of_half_the_size_per_image():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 16, 16) + 1.0        # no zeros of its own
    x.requires_grad_(True)
    out = cutout(x)
    holes = out.detach() == 0
    assert torch.equal(holes, holes[:, :1].expand_as(holes))             # the same hole in every channel
    sizes = []
    for hole, img, got in zip(holes[:, 0], x.detach(), out.detach()):
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        assert hole.sum() == len(rows) * len(cols)                        # a rectangle, clipped at the border
        assert rows.diff().eq(1).all() and cols.diff().eq(1).all()
        assert torch.equal(got[:, ~hole], img[:, ~hole])                  # the rest untouched
        sizes.append((len(rows), len(cols)))
    assert (8, 8) in sizes and len(set(sizes)) > 1
    out.sum().backward()
    assert torch.equal(x.grad, (~holes).float())


def test_policies_parse_compose_and_wrap_a_discriminator():
    assert parse_policy("translation, cutout") == ("translation", "cutout")
    assert parse_policy(["cutout"]) == ("cutout",) and parse_policy(None) == () and parse_policy("") == ()
    with pytest.raises(ConfigError, match="unknown policy 'rot'"):
        parse_policy("rot")
    x = torch.rand(8, 1, 8, 8) + 1.0
    torch.manual_seed(1)
    want = cutout(translation(x))
    torch.manual_seed(1)
    assert torch.equal(augment(x, ("translation", "cutout")), want)

    class D(torch.nn.Module):
        batch_independent = True

        def forward(self, x, y=None):
            return x.flatten(1).sum(1)

    wrapped = Augmented(D(), ["cutout"])
    assert wrapped.batch_independent is True
    torch.manual_seed(2)
    got = wrapped(x)
    torch.manual_seed(2)
    assert torch.equal(got, cutout(x).flatten(1).sum(1))


@pytest.mark.slow
def test_training_feeds_every_image_d_sees_through_the_policy(tmp_path, monkeypatch):
    """With --augment cutout every image D scores -- real and fake, D steps and G steps -- has a hole of
    zeros (at least 2x2 of the 4x4 cutout on 8x8 digits); without it almost none does."""
    import ganzoo_plugins.dcgan.model as dcgan

    seen = []
    forward = dcgan.DCGANDiscriminator.forward

    def spy(self, x, y=None):
        seen.append(x.detach().clone())
        return forward(self, x, y)

    monkeypatch.setattr(dcgan.DCGANDiscriminator, "forward", spy)

    def zeros_per_image(run):
        seen.clear()
        train("dcgan", "hinge", data="digits", out=tmp_path / run, steps=6, batch_size=32, g_width=8, d_width=8,
              latent_dim=8, progress=False, augment="cutout" if run == "aug" else None)
        assert len(seen) >= 12            # a real and a fake call per D step, one call per G step
        return torch.cat([(x == 0).flatten(1).sum(1) for x in seen])

    assert (zeros_per_image("aug") >= 4).all()
    assert (zeros_per_image("plain") >= 4).float().mean() < 0.2
