"""The shared building blocks of the ResNet, SAGAN and ACGAN variants (ganzoo.layers): residual blocks,
spectral normalisation, global sum pooling, self-attention and the conditional discriminator's label head."""

import pytest
import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.layers import (ClassProjection, LabelHead, ResBlockDown, ResBlockUp, SelfAttention, global_sum_pool,
                           spectral_norm_all)
from ganzoo.objectives.terms import ClassLoss


def test_up_block_doubles_the_resolution_with_a_learned_shortcut_only_where_the_channels_change():
    torch.manual_seed(0)
    changing, same = ResBlockUp(8, 4), ResBlockUp(4, 4)
    assert isinstance(changing.shortcut, nn.Conv2d) and changing.shortcut.kernel_size == (1, 1)
    assert same.shortcut is None
    x = torch.randn(3, 4, 7, 7)
    assert changing(torch.randn(3, 8, 7, 7)).shape == (3, 4, 14, 14)
    # with the residual path silenced, the block is the nearest-neighbour upsampled input (identity shortcut)
    with torch.no_grad():
        same.conv2.weight.zero_()
        same.conv2.bias.zero_()
    out = same(x)
    assert torch.equal(out, x.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert ResBlockUp(4, 4, upsample=False)(x).shape == (3, 4, 7, 7)


def test_conditional_up_block_needs_and_uses_labels():
    torch.manual_seed(0)
    block = ResBlockUp(4, 4, norm="conditional", num_classes=3)
    with torch.no_grad():
        block.norm1.gain.weight[1].fill_(3.0)
    x = torch.randn(6, 4, 4, 4)
    a, b = block(x, torch.zeros(6, dtype=torch.long)), block(x, torch.ones(6, dtype=torch.long))
    assert a.shape == (6, 4, 8, 8) and not torch.allclose(a, b)
    with pytest.raises(ConfigError, match="needs labels"):
        block(x)
    with pytest.raises(ConfigError, match="norm is batch, conditional or none"):
        ResBlockUp(4, 4, norm="layer")


def test_down_blocks_pool_and_the_optimised_first_block_sees_the_raw_image():
    torch.manual_seed(0)
    first, down, keep = ResBlockDown(1, 8, first=True), ResBlockDown(8, 8), ResBlockDown(8, 8, downsample=False)
    x = torch.randn(2, 1, 28, 28)
    h = first(x)
    assert h.shape == (2, 8, 14, 14) and down(h).shape == (2, 8, 7, 7) and keep(h).shape == (2, 8, 14, 14)
    assert keep.shortcut is None and down.shortcut is not None
    # with the shortcuts silenced: the first block applies no ReLU to the image, so negative pixels reach its
    # first conv; a later block's path starts with a ReLU, which maps them to 0
    first, later = ResBlockDown(1, 8, first=True, spectral=False), ResBlockDown(1, 8, spectral=False)
    for block in (first, later):
        with torch.no_grad():
            block.shortcut.weight.zero_()
            block.shortcut.bias.zero_()
    neg = -torch.rand(1, 1, 8, 8)
    assert not torch.allclose(first(neg), first(torch.zeros_like(neg)))
    assert torch.equal(later(neg), later(torch.zeros_like(neg)))
    with pytest.raises(ConfigError, match="norm is none, layer or batch"):
        ResBlockDown(8, 8, norm="conditional")


def test_down_blocks_are_spectrally_normalised_by_default():
    torch.manual_seed(0)
    sn, plain = ResBlockDown(4, 8), ResBlockDown(4, 8, spectral=False, norm="layer")
    assert hasattr(sn.conv1, "parametrizations") and not hasattr(plain.conv1, "parametrizations")
    assert isinstance(plain.norm2, nn.GroupNorm)
    sn.train()
    for _ in range(30):   # one power iteration per training forward
        sn(torch.randn(2, 4, 8, 8))
    w = sn.conv1.weight.flatten(1)
    assert float(torch.linalg.matrix_norm(w, ord=2)) == pytest.approx(1.0, abs=0.02)


def test_spectral_norm_all_normalises_every_weight_layer_once():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ConvTranspose2d(4, 4, 4), nn.Linear(4, 3), ClassProjection(5, 4),
                      nn.BatchNorm2d(4))
    assert spectral_norm_all(m) is m
    for layer in list(m)[:4]:
        assert len(layer.parametrizations.weight) == 1
    spectral_norm_all(m)                               # twice: still one parametrisation each
    assert all(len(layer.parametrizations.weight) == 1 for layer in list(m)[:4])
    assert not hasattr(m[4], "parametrizations")
    lin = m[2]
    for _ in range(50):
        lin(torch.randn(2, 4))
    assert float(torch.linalg.matrix_norm(lin.weight, ord=2)) == pytest.approx(1.0, abs=1e-3)


def test_global_sum_pool_sums_positions():
    h = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    assert torch.equal(global_sum_pool(h), h.flatten(2).sum(2))


def test_self_attention_starts_as_the_identity_and_rows_are_distributions():
    torch.manual_seed(0)
    att = SelfAttention(16, spectral=True)
    x = torch.randn(2, 16, 6, 5)
    assert float(att.gamma) == 0.0 and torch.equal(att(x), x)
    assert att.attention is None                          # not recorded unless asked
    att.record = True
    with torch.no_grad():
        att.gamma.fill_(1.0)
    y = att(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    a = att.attention
    assert a.shape == (2, 30, 30) and torch.allclose(a.sum(-1), torch.ones(2, 30)) and (a >= 0).all()
    # attention reaches across the map: moving one far position changes the output at another
    x2 = x.clone()
    x2[:, :, 5, 4] += 5.0
    assert not torch.allclose(att(x2)[:, :, 0, 0], y[:, :, 0, 0])


def test_label_head_projection_is_class_projection():
    torch.manual_seed(0)
    proj = ClassProjection(4, 6)
    torch.manual_seed(0)
    head = LabelHead("projection", 4, 6)
    assert torch.equal(head.weight, proj.weight) and list(head.state_dict()) == ["weight"]
    h, y, s = torch.randn(3, 6), torch.tensor([0, 3, 1]), torch.randn(3)
    assert torch.allclose(head(s, h, y), s + proj.score(h, y)) and head.loss_terms == ()


def test_label_head_acgan_gives_class_logits_and_its_class_loss():
    torch.manual_seed(0)
    head = LabelHead("acgan", 4, 6, class_weight=0.5)
    h, y, s = torch.randn(3, 6), torch.tensor([0, 3, 1]), torch.randn(3)
    out = head(s, h, y)
    assert torch.equal(out.score, s)                     # the score does not see the label
    assert out.class_logits.shape == (3, 4)
    assert torch.allclose(out.class_logits, h @ head.weight.T + head.bias)
    assert head.loss_terms == (ClassLoss(0.5),)
    with pytest.raises(ConfigError, match="d_label must be projection or acgan"):
        LabelHead("concat", 4, 6)
    with pytest.raises(ConfigError, match="needs a class-conditional model"):
        LabelHead("acgan", 0, 6)
    with pytest.raises(ConfigError, match="class_weight must be a number > 0"):
        LabelHead("acgan", 4, 6, class_weight=0.0)
