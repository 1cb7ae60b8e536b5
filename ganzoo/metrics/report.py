"""What an evaluation shows: the one table of primary metrics and the text/JSON forms of a result.

:data:`PRIMARY` names, per metric, the numbers that matter most. They are what ``ganzoo eval``
stars, what the zoo records in ``registry.yaml`` and the model cards (:func:`primary_metrics`), and
:data:`TABLE_COLUMNS` (a subset of them) are the columns of the zoo tables (docs/zoo.md); a plugin's metric names its
own (``MetricSpec.primary``). No torch import.
"""

from __future__ import annotations

import math

PRIMARY = {  # metric -> its primary keys
    "modes": ("modes", "hq_fraction", "reverse_kl", "spread"),
    "judge": ("classes", "fd", "fd_real_halves", "fd_ratio", "class_kl", "max_prob"),
    "intra": ("intra_fd", "intra_fd_ratio"),
    "prdc": ("recall", "coverage", "precision", "density"),
    "elbo": ("elbo", "iwae"),
    "kl-dims": ("active_dims",),
    "recon": ("recon_nll", "recon_mse"),
    "codes": ("code_accuracy", "code_classes"),
    "linear-probe": ("probe_accuracy", "probe_pixels"),
    "factors": ("factor_dims", "single_factor_dims"),
    "fid": ("fid",),
}
"""Per metric, its primary numbers: what ``ganzoo eval`` stars and the zoo records."""
TABLE_COLUMNS = ("modes", "hq_fraction", "reverse_kl", "spread", "classes", "fd_ratio", "intra_fd_ratio", "class_kl",
                 "recall", "coverage", "elbo", "iwae", "recon_nll", "probe_accuracy")
NOTES = {
    "judge": "fd_ratio = fd / fd_real_halves, means over draws; the zoo's bar is <= 2",
    "intra": "per class, samples vs that class's real images, over the same for two real halves; 1 is perfect",
    "prdc": "precision/density in a small judge's feature space can rate noise highly; read recall and coverage",
    "elbo": "nats per image on the given data (higher is better); iwae >= elbo",
    "codes": "each value of the categorical code mapped to its majority judge class",
    "modes": "hq: within 3 std of the nearest mode; reverse_kl in nats (0 = uniform over modes)",
    "linear-probe": "held-out accuracy of a logistic regression on the features; probe_pixels: on raw pixels",
}


def primary_keys() -> dict:
    """metric -> its primary keys: :data:`PRIMARY`, and a plugin metric's ``MetricSpec.primary``."""
    from ..plugins import get_registry

    reg = get_registry()
    return {**{name: reg.metric(name).primary for name in reg.names("metric") if reg.metric(name).primary},
            **PRIMARY}


def primary_metrics(result: dict) -> dict:
    """The primary numbers of an :func:`ganzoo.metrics.evaluate` result, flat and rounded to 4
    places (what the zoo records); NaN and missing values are left out."""
    out = {}
    for group, keys in primary_keys().items():
        for key in keys:
            value = result["metrics"].get(group, {}).get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                out[key] = round(float(value), 4)
    return out


def to_json_safe(result: dict) -> dict:
    """NaN/inf -> None so the dict is strict JSON."""
    def fix(v):
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return fix(result)


def format_table(result: dict) -> str:
    """An evaluation result as text, one metric per block, primary numbers starred."""
    sampling = "".join(f"   {k} {v}" for k, v in (result.get("sampling") or {}).items())
    lines = [f"model {result['model']} ({result['variant']}, {result['kind']})   data {result['data']}   "
             f"seed {result['seed']}{sampling}"]
    for name, values in result["metrics"].items():
        lines.append("")
        lines.append(f"[{name}]" + (f"  ({NOTES[name]})" if name in NOTES else ""))
        primary = primary_keys().get(name, ())
        for key, v in values.items():
            text = "n/a" if isinstance(v, float) and not math.isfinite(v) else (
                f"{v}" if isinstance(v, int) else f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}")
            lines.append(f"  {'*' if key in primary else ' '} {key:<28} {text:>12}")
    lines.append("")
    lines.append("* primary numbers")
    return "\n".join(lines)


PROTOCOL_FORMAT = "ganzoo-eval-protocol/1"
PROTOCOL_KEYS = ("n", "n_real", "draws", "k", "iwae_k", "real_excludes_judge_train")  # a metric's settings, not scores
JUDGED = ("judge", "intra", "prdc", "codes")  # metrics measured with (or in the feature space of) the judge


def eval_protocol(result: dict, *, command: str = "", data_options: dict | None = None) -> dict:
    """How the numbers of an :func:`ganzoo.metrics.evaluate` result were measured, as JSON a program can read:
    the command, ganzoo's version, the data (its public name, no local path) and its options, the samples'
    seed, and per metric its settings (``n`` samples, ``n_real`` real ones, ``draws``, ``k``, ...) -- for the
    metrics scored with the dataset's judge classifier, the judge's name, sha256 and training split, and for
    ``judge`` which sample seeds and real splits its draws used."""
    from .. import __version__
    from .judge import card, dataset_name, has_judge

    data = dataset_name(result.get("data", ""))
    seed = int(result.get("seed", 0))
    metrics = {}
    for name, values in sorted(result.get("metrics", {}).items()):
        entry = {k: values[k] for k in PROTOCOL_KEYS if k in values}
        if name in JUDGED and has_judge(data):
            info = card(data)
            entry.update(judge=data, judge_sha256=info.get("sha256"), judge_split=info.get("split"))
        if name == "judge" and "draws" in values:
            draws = int(values["draws"])
            entry.update(sample_seeds=[seed, seed + draws - 1], real_splits=[0, draws - 1])
        if name == "modes":
            entry.update(high_quality="within 3 standard deviations of the nearest mode")
        metrics[name] = entry
    return {"format": PROTOCOL_FORMAT, "command": command, "ganzoo_version": __version__, "data": data,
            "data_options": dict(data_options or {}), "seed": seed, "metrics": metrics}
