"""The ``mlp`` variant's PacGAN packing in D."""

from __future__ import annotations

import pytest
import torch

import ganzoo


def test_pacgan_discriminator_judges_groups_jointly():
    m = ganzoo.create("mlp", sample_shape=[2], latent_dim=2, g_hidden=[8], d_hidden=[16, 16], pack=2)
    d = m.discriminator
    x = torch.randn(6, 2)
    s = d(x)
    assert s.shape == (6,)
    assert torch.equal(s[0::2], s[1::2])                      # both members of a pair get the pair's score
    swapped = x.clone()
    swapped[[2, 3]] = x[[3, 2]]                              # order inside a pair matters to the joint input...
    assert not torch.allclose(d(swapped)[2], s[2])
    assert torch.equal(d(swapped)[[0, 1, 4, 5]], s[[0, 1, 4, 5]])   # ...and changes no other pair's score
    with pytest.raises(ValueError, match="multiple of pack=2"):
        d(torch.randn(5, 2))
    assert d.net[0].in_features == 4                          # one input row holds the whole pair

