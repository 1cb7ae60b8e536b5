"""The intra-class Fréchet distance (metric ``intra``): per class, samples against that class's real images, over
the same for two real halves. Stand-in generators that replay real digits show what it sees that the overall
Fréchet ratio does not: samples of the wrong class, and no variety inside a class."""

import pytest
import torch

from ganzoo import Generator
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError
from ganzoo.metrics import evaluate
from ganzoo.model import Model


class Replay(Generator):
    """Returns real digits: for label y, an image of class ``(y + shift) % 10`` picked by z (``collapse``: always
    the first one)."""

    def __init__(self, data, shift=0, collapse=False):
        super().__init__(4, data.sample_shape, num_classes=10)
        self.x, self.y, self.shift, self.collapse = data.x, data.y, shift, collapse
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        pick = (z[:, 0].abs() * 1e4).long()
        out = []
        for i, c in enumerate(((y + self.shift) % 10).tolist()):
            pool = (self.y == c).nonzero().flatten()
            out.append(self.x[pool[0 if self.collapse else int(pick[i]) % len(pool)]])
        return torch.stack(out) * 2 - 1 + self.anchor


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _score(digits, **kw):
    model = Model(variant="dcgan", objective="hinge", config={}, components={"generator": Replay(digits, **kw)})
    return evaluate(model, digits, metrics=["judge", "intra"], options={"judge": {"draws": 3}, "intra": {"draws": 3}})[
        "metrics"]


def test_intra_class_fd_sees_wrong_classes_and_collapse_that_the_overall_ratio_misses(digits):
    right, shifted, collapsed = _score(digits), _score(digits, shift=1), _score(digits, collapse=True)
    assert right["intra"]["intra_fd_ratio"] < 1.5 and right["judge"]["fd_ratio"] < 1.5
    # every digit drawn for the label after its own: the mixture is the same, so the overall ratio is as good...
    assert shifted["judge"]["fd_ratio"] < 1.5
    # ... but per class it is far off
    assert shifted["intra"]["intra_fd_ratio"] > 5 * right["intra"]["intra_fd_ratio"]
    # one image per class: no variety inside a class
    assert collapsed["intra"]["intra_fd_ratio"] > 5 * right["intra"]["intra_fd_ratio"]
    m = right["intra"]
    assert m["draws"] == 3 and m["n_per_class"] == m["n"] // 10 and 0 <= m["worst_class"] < 10
    assert m["intra_fd_ratio_max"] >= m["intra_fd_ratio"] * 0.999
    assert m["intra_fd_ratio"] == pytest.approx(m["intra_fd"] / m["intra_fd_real_halves"])


def test_intra_runs_by_default_for_class_conditional_models_only(digits):
    from ganzoo.metrics.suite import default_metrics

    conditional = Model(variant="dcgan", objective="hinge", config={}, components={"generator": Replay(digits)})
    assert "intra" in default_metrics(conditional, digits)
    clusters = load_dataset("digits", clusters=10)
    self_conditioned = Model(variant="dcgan", objective="hinge", config={}, components={"generator": Replay(digits)},
                             label_prior=[0.1] * 10)
    assert "intra" not in default_metrics(self_conditioned, clusters)
    with pytest.raises(ConfigError, match="metric 'intra' needs a class-conditional model"):
        evaluate(self_conditioned, clusters, metrics=["intra"])
