"""The ``linear-probe`` metric: how linearly separable the classes are in a model's features.

A multinomial logistic regression (softmax, L2 on the weights, float64, fitted by L-BFGS to convergence:
deterministic on the CPU, no scikit-learn) is trained on the features of a fixed split of the data and
tested on the rest: the first ``fit`` share of the items *in the data's order* fit it (for MNIST's 10,000
test images, the first 8,000 -- the images the zoo's encoders trained on) and the last ones test it (the
last 2,000: held out from the encoder and the probe). Features are standardised with the fit split's mean
and spread; the L2 weight is fixed (:data:`L2`), so nothing is tuned on the test split. The same probe on raw pixels is reported beside it
(``probe_pixels``, about 0.9 on MNIST): an encoder worth using beats it.
"""

from __future__ import annotations

import torch

from ganzoo.capabilities import encode_data
from ganzoo.errors import ConfigError

FIT = 0.8                                  # the share (or number) of the items, in order, that fit the probe
L2 = 1e-2                                  # the L2 weight (on the mean cross-entropy, standardised features)
MAX_ITER = 100                             # L-BFGS iterations (MNIST's held-out accuracy is settled by 50)
BATCH = 500                                # items encoded at a time
MAX_BYTES = 2 * 1024**3                    # the probe's float64 copies of pixels and features: at most this


def fit_probe(x: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float = L2) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, b) of a multinomial logistic regression of ``y`` on ``x`` (float64, standardised features),
    minimising mean cross-entropy + ``l2``/2 ||W||^2 with L-BFGS (strong Wolfe line search) from zero."""
    w = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=MAX_ITER, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + 0.5 * l2 * w.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach(), b.detach()


def accuracy(w, b, x, y) -> float:
    return float(((x @ w + b).argmax(1) == y).double().mean())


def probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
          num_classes: int) -> dict:
    """Held-out accuracy of the logistic-regression probe fitted on the training items, and the features'
    dimension."""
    train_x, test_x = train_x.double().flatten(1), test_x.double().flatten(1)
    mean, std = train_x.mean(0), train_x.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))      # constant features (MNIST's border pixels)
    w, b = fit_probe((train_x - mean) / std, train_y, num_classes)
    return {"accuracy": accuracy(w, b, (test_x - mean) / std, test_y), "dim": int(train_x.shape[1])}


def linear_probe_metric(model, data, *, n=None, seed=0, fit: float = FIT):
    """Held-out accuracy of a logistic regression on the model's features (``probe_accuracy``) and on raw
    pixels (``probe_pixels``); of the first ``n`` items (all by default), the first ``fit`` -- a share in
    (0, 1), or a number of items -- fit it and the rest test it. ``seed`` is not used: the probe is
    deterministic."""
    model.require("encode", "metric 'linear-probe'")
    if model.encoder.conditional:
        raise ConfigError("metric 'linear-probe' reads the class from the features, and this encoder is given the "
                          "class (q(z | x, y)); probe an unconditional encoder")
    if data.y is None:
        raise ConfigError(f"metric 'linear-probe' needs labelled data; {data.name} has no labels")
    if model.sample_shape != tuple(data.sample_shape):
        raise ConfigError(f"the model takes {list(model.sample_shape)} inputs; {data.name} has {list(data.sample_shape)}")
    if isinstance(fit, bool) or not isinstance(fit, (int, float)) or not (0 < fit < 1 or float(fit).is_integer()):
        raise ConfigError(f"linear-probe: fit is the share of the items that fit the probe, in (0, 1), or their "
                          f"number; not {fit!r}")
    total = min(len(data), int(n) if n else len(data))
    per_item = 2 * 8 * (data.x[0].numel() + model.latent_dim)  # float64, standardised copies (features: about d)
    if total * per_item > MAX_BYTES:
        most = MAX_BYTES // per_item
        raise ConfigError(f"linear-probe on {total:,} items of {list(data.sample_shape)} would hold about "
                          f"{total * per_item / 2**30:.1f} GiB (the limit is {MAX_BYTES / 2**30:.0f} GiB); pass -n {most}")
    x, y = data.x[:total], data.y[:total].long()
    k = int(total * fit) if fit < 1 else int(fit)
    if k < 2 or total - k < 1:
        raise ConfigError(f"linear-probe: {total} items leave nothing to fit or to test; pass more data")
    classes = int(data.num_classes or int(y.max()) + 1)
    feats = encode_data(model, x, batch=BATCH).double()
    ours = probe(feats[:k], y[:k], feats[k:], y[k:], classes)
    pixels = probe(x[:k], y[:k], x[k:], y[k:], classes)
    return {"n_fit": k, "n_test": total - k, "dim": ours["dim"], "probe_accuracy": ours["accuracy"],
            "probe_pixels": pixels["accuracy"]}
