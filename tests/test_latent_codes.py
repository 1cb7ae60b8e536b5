"""Latent codes as a capability of any generator (ganzoo.interfaces.LatentCodes, Generator.code_layout):
the layout's columns, ``ganzoo traverse --code`` (rows where only one code varies) and the ``codes`` metric
(each categorical value mapped to its majority judge class). The generators here are written for the tests;
the infogan plugin's own tests are in test_infogan.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_paths import _cells, _levels

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.interfaces import Generator, LatentCodes
from ganzoo.model import Model
from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")

LAYOUT = LatentCodes((3, 2), 2)   # a 3-way and a 2-way categorical code, then two continuous ones


def test_the_layout_reads_its_codes_from_the_head_of_z():
    z = torch.randn(500, LAYOUT.width + 4, generator=torch.Generator().manual_seed(0))
    assert LAYOUT.width == 7 and len(LAYOUT) == 4
    c = LAYOUT.codes(z)
    assert c.shape == (500, 7)
    assert torch.equal(c[:, :3].argmax(1), z[:, :3].argmax(1)) and torch.equal(c[:, 3:5].argmax(1), z[:, 3:5].argmax(1))
    assert torch.equal(c[:, :5].sum(1), torch.full((500,), 2.0)) and torch.equal(c[:, 5:], z[:, 5:7])
    assert torch.equal(LAYOUT.inputs(z), torch.cat([c, z[:, 7:]], 1))          # the noise columns as they are
    assert torch.equal(LAYOUT.values(z, 1), z[:, 3:5].argmax(1)) and torch.equal(LAYOUT.values(z, 3), z[:, 6])
    assert [LAYOUT.categories_of(i) for i in range(4)] == [3, 2, 0, 0]
    assert LAYOUT.describe(0) == "categorical, 3 values" and LAYOUT.describe(2) == "continuous"


def test_setting_a_code_changes_only_its_columns():
    z = torch.randn(6, LAYOUT.width + 4, generator=torch.Generator().manual_seed(1))
    for index, value in ((0, 2), (1, 0), (2, 1.5), (3, -2.0)):
        out = LAYOUT.set(z, index, value)
        assert torch.equal(LAYOUT.values(out, index), torch.full((6,), value, dtype=LAYOUT.values(out, index).dtype))
        for other in range(4):
            if other != index:
                assert torch.equal(LAYOUT.values(out, other), LAYOUT.values(z, other))
        assert torch.equal(out[:, LAYOUT.width:], z[:, LAYOUT.width:])
    per_row = LAYOUT.set(z, 0, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert LAYOUT.values(per_row, 0).tolist() == [0, 1, 2, 0, 1, 2]
    assert torch.equal(z, torch.randn(6, LAYOUT.width + 4, generator=torch.Generator().manual_seed(1)))  # a copy


@pytest.mark.reliability("input")
def test_bad_layouts_and_codes_are_refused():
    for bad, msg in ((dict(categories=(3, 1)), r"^categorical codes are numbers of categories, whole numbers >= 2"),
                     (dict(categories=(), continuous=-1), r"^the number of continuous codes must be a whole number"),
                     (dict(), r"^a code layout needs at least one code")):
        with pytest.raises(ConfigError, match=msg):
            LatentCodes(**bad)
    m = _model(Stripes())
    for kw, msg in ((dict(steps=1), r"^steps must be a whole number >= 2, not 1$"),
                    (dict(span=float("nan")), r"^span must be a number > 0, not nan$"),
                    (dict(rows=0), r"^rows must be at least 1$"), (dict(rows=-1), r"^the number of samples must be")):
        with pytest.raises(ConfigError, match=msg):
            m.traverse_code(1, **kw)
    with pytest.raises(ConfigError, match=r"^code 2 does not exist; the codes are 0\.\.1$"):
        m.traverse_code(2)
    with pytest.raises(ConfigError, match=r"^the dcgan generator declares no latent codes \(code_layout\)$"):
        ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4).traverse_code(0)
    z = torch.zeros(2, 9)
    with pytest.raises(ConfigError, match=r"^code 4 does not exist; the codes are 0\.\.3$"):
        LAYOUT.set(z, 4, 0.0)
    with pytest.raises(ConfigError, match=r"^code 0 has categories 0\.\.2, not 3$"):
        LAYOUT.set(z, 0, 3)


# -- a generator that declares codes ------------------------------------------------------------------------
class Stripes(Generator):
    """8x8 images: the categorical code picks which row is lit, the continuous code its brightness, the
    noise adds a faint speckle (so rows of one draw differ from rows of another)."""

    code_layout = LatentCodes((4,), 1)

    def __init__(self):
        super().__init__(self.code_layout.width + 3, (1, 8, 8), output_range=(0.0, 1.0))
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z, y=None):
        self.check_labels(y, z.shape[0])
        c = self.code_layout.inputs(z)
        x = torch.zeros(z.shape[0], 1, 8, 8)
        x[:, 0, :4, :] = c[:, :4, None] * torch.sigmoid(c[:, 4])[:, None, None]
        return (x + 0.05 * torch.sigmoid(c[:, 5:6, None, None])) * self.scale


def _model(generator, variant="infogan"):
    return Model(variant=variant, objective="non-saturating", config={}, components={"generator": generator})


def test_traverse_code_varies_one_code_along_each_row():
    m = _model(Stripes())
    x = m.traverse_code(0, rows=3, seed=4)
    assert x.shape == (3, 4, 1, 8, 8)
    z = m.generator.sample_latent(3, seed=4)
    for j in range(4):   # column j: the row's own z with code 0 set to j
        assert torch.equal(x[:, j], m.generator(Stripes.code_layout.set(z, 0, j)))
        assert bool((x[:, j, 0, j] > 0).all()) and bool((x[:, j, 0, (j + 1) % 4] < 0.1).all())
    assert not torch.equal(x[0], x[1])                       # rows are different draws
    cont = m.traverse_code(1, rows=2, steps=5, span=3.0, seed=4)
    assert cont.shape == (2, 5, 1, 8, 8)
    lit = cont[:, :, 0, :4].amax((2, 3))                     # brightness sigmoid(c), c = -3, -1.5, 0, 1.5, 3
    gap = lit - torch.sigmoid(torch.linspace(-3, 3, 5))       # plus the row's own speckle, at most 0.05
    assert bool((gap >= 0).all() and (gap <= 0.05).all()) and torch.allclose(gap, gap[:, :1].expand(2, 5))


def test_traverse_code_cli_draws_rows_of_values(tmp_path):
    folder = tmp_path / "m"
    ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                  q_hidden=8, categories=[3], continuous=1, noise=4).save(folder)
    out = tmp_path / "c.png"
    r = cli("traverse", folder, "--code", "0", "--rows", "2", "--seed", "1", "-o", out)
    assert r.code == 0 and r.out == f"wrote a 2x3 traversal of code 0 (categorical, 3 values) to {out}\n", r
    m = ganzoo.load(folder, components=["generator"])
    want = _levels(m.traverse_code(0, rows=2, seed=1))[:, :, 0]
    assert np.abs(_cells(out, 8, 8) - want).max() <= 1
    r = cli("traverse", folder, "--code", "1", "--rows", "3", "--steps", "4", "-o", out)
    assert r.code == 0 and "3x4 traversal of code 1 (continuous)" in r.out, r
    assert _cells(out, 8, 8).shape[:2] == (3, 4)


@pytest.mark.reliability("input")
def test_traverse_code_errors_are_one_line(tmp_path):
    folder = tmp_path / "m"
    ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                  q_hidden=8, categories=[3], continuous=1, noise=4).save(folder)
    out = str(tmp_path / "x.png")
    r = cli("traverse", folder, "--code", "2", "-o", out)
    assert r.code == 1 and r.err == (f"ganzoo: error: --code must lie in 0..1 for {folder} (0: categorical, 3 values; "
                                     "1: continuous)\n")
    r = cli("traverse", "mnist-vae-2d", "--code", "0", "-o", out)
    assert r.code == 1 and r.err == ("ganzoo: error: mnist-vae-2d declares no latent codes; --code needs a generator "
                                     "with InfoGAN-style codes (code_layout); --dims traverses the latent's dimensions\n")
    r = cli("traverse", folder, "--code", "0", "--dims", "0,1", "-o", out)
    assert r.code == 1 and r.err == "ganzoo: error: --code, --dims and --each traverse different things; pass one of them\n"
    assert not (tmp_path / "x.png").exists()


# -- the codes metric ---------------------------------------------------------------------------------------
class DigitsByCode(Generator):
    """Real 8x8 digits: a sample's categorical code value v picks an image of class ``classes[v]`` (the
    noise picks which one), so the judge reads the code exactly as far as ``classes`` says."""

    code_layout = LatentCodes((10,), 1)

    def __init__(self, classes):
        from ganzoo.data import load_dataset

        super().__init__(self.code_layout.width + 1, (1, 8, 8), output_range=(0.0, 1.0))
        data = load_dataset("digits")
        self.images = [data.x[data.y == k] for k in range(10)]
        self.classes = list(classes)
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z, y=None):
        values = self.code_layout.values(z, 0).tolist()
        pick = (torch.special.ndtr(z[:, -1]) * 170).long().tolist()   # uniform over ~170 images of each class
        return torch.stack([self.images[self.classes[v]][p % len(self.images[self.classes[v]])]
                            for v, p in zip(values, pick)])


def _codes(classes, **kw):
    from ganzoo.data import load_dataset
    from ganzoo.metrics.codes import code_metric

    return code_metric(_model(DigitsByCode(classes)), load_dataset("digits"), n=2000, **kw)


def test_code_accuracy_maps_each_value_to_its_majority_class():
    perfect = _codes([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])          # any one-to-one order is read back
    assert perfect["code_classes"] == 10 and perfect["code_accuracy"] >= 0.95, perfect
    assert perfect["n"] == 2000 and perfect["categories"] == 10 and perfect["code_purity_min"] >= 0.85
    merged = _codes([4, 4, 1, 2, 3, 5, 6, 7, 8, 0])           # two values draw 4s: nine classes; 9s never appear
    assert merged["code_classes"] == 9 and merged["code_accuracy"] >= 0.95, merged


def test_code_accuracy_of_a_code_the_images_ignore_is_low():
    class Ignores(DigitsByCode):
        def forward(self, z, y=None):   # the class comes from the noise column, not from the code
            cls = (torch.special.ndtr(z[:, -1]) * 10).long().clamp(max=9).tolist()
            return torch.stack([self.images[k][i % len(self.images[k])] for i, k in enumerate(cls)])

    from ganzoo.data import load_dataset
    from ganzoo.metrics.codes import code_metric

    m = code_metric(_model(Ignores(range(10))), load_dataset("digits"), n=2000)
    assert m["code_accuracy"] <= 0.3, m


@pytest.mark.reliability("input")
def test_the_codes_metric_needs_codes_and_a_categorical_code_to_score():
    from ganzoo.data import load_dataset
    from ganzoo.metrics.codes import code_metric

    digits = load_dataset("digits")
    with pytest.raises(ConfigError, match=r"^metric 'codes': code names a categorical code, one of 0\.\.0; not 1$"):
        code_metric(_model(DigitsByCode(range(10))), digits, n=20, code=1)
    with pytest.raises(ConfigError, match=r"^metric 'codes' needs a generator with latent codes"):
        code_metric(ganzoo.create("dcgan", sample_shape=[1, 8, 8], g_width=4, d_width=4, latent_dim=4), digits, n=20)


class Stroke(Generator):
    """16x16 images of one stroke: continuous code 0 shears it (leans right as the code grows), code 1
    thickens it; the noise shifts it a little and sets its length."""

    code_layout = LatentCodes((), 2)

    def __init__(self):
        super().__init__(self.code_layout.width + 1, (1, 16, 16), output_range=(0.0, 1.0))
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z, y=None):
        c = self.code_layout.inputs(z)
        rows = torch.arange(16.0)[None, :, None]
        cols = torch.arange(16.0)[None, None, :]
        shear, thick = c[:, 0, None, None], 1 + torch.sigmoid(c[:, 1, None, None]) * 2.5
        centre = 7.5 + 0.3 * torch.tanh(c[:, 2, None, None]) - shear * (rows - 7.5) * 0.25   # leans right: top right
        half = 4 + 2 * torch.sigmoid(c[:, 2, None, None])
        ink = ((cols - centre).abs() <= thick) & ((rows - 7.5).abs() <= half)
        return ink.float()[:, None]


def test_the_codes_metric_measures_what_continuous_codes_do_to_width_and_slant():
    from ganzoo.data import load_dataset
    from ganzoo.metrics.codes import code_metric

    m = code_metric(_model(Stroke()), load_dataset("digits"), n=20)
    assert set(m) == {"code0_width", "code0_slant", "code1_width", "code1_slant"}, m
    assert m["code0_slant"] >= 0.95 and abs(m["code0_width"]) <= 0.3, m     # code 0 shears, barely widens
    assert m["code1_width"] >= 0.95 and abs(m["code1_slant"]) <= 0.3, m     # code 1 thickens


def test_eval_reports_the_codes_metric_for_models_that_declare_a_categorical_code():
    from ganzoo.data import load_dataset
    from ganzoo.metrics.suite import default_metrics

    digits = load_dataset("digits")
    infogan = ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                            q_hidden=8, noise=4)
    assert "codes" in default_metrics(infogan, digits)
    assert "codes" not in default_metrics(ganzoo.create("dcgan", sample_shape=[1, 8, 8]), digits)
    result = ganzoo.evaluate(infogan, digits, n=200, options={"judge": {"draws": 1}})
    assert set(result["metrics"]["codes"]) == {"n", "code", "categories", "code_accuracy", "code_classes",
                                               "code_purity_min", "code1_width", "code1_slant", "code2_width",
                                               "code2_slant"}
    continuous = ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                               q_hidden=8, categories=[], continuous=2)
    assert set(ganzoo.evaluate(continuous, digits, metrics=["codes"])["metrics"]["codes"]) == {
        "code0_width", "code0_slant", "code1_width", "code1_slant"}


def test_traverse_code_uses_the_models_sampling_options():
    """``Model.with_sampling`` reaches the traversal as it reaches ``sample``: with a truncation the rows' fixed
    noise is drawn truncated (a different picture from the plain one), the same for the same seed."""
    m = ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                      q_hidden=8, categories=[3], continuous=1, noise=4)
    plain = m.traverse_code(0, rows=2, seed=5)
    cut = m.with_sampling(truncation=0.05)
    assert plain.shape == cut.traverse_code(0, rows=2, seed=5).shape == (2, 3, 1, 8, 8)
    assert torch.equal(cut.traverse_code(0, rows=2, seed=5), cut.traverse_code(0, rows=2, seed=5))
    assert not torch.allclose(plain, cut.traverse_code(0, rows=2, seed=5))
