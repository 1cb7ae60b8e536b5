"""What a run shows and writes while it trains: statistics, the progress bar, metrics.jsonl, pictures.

The steps' statistics stay on the device (no host synchronisation per step): :meth:`Monitor.record` stacks
each step's values; :meth:`Monitor.flush` (every ``--log-every`` steps) averages them (over the processes, too),
stops the run with a :class:`~ganzoo.errors.TrainingError` naming the first non-finite value and the last
good checkpoint, writes one line to ``metrics.jsonl`` and updates the progress bar (or, with ``lines`` set:
off a terminal or with ``--no-progress``, prints one plain line). :meth:`Monitor.pictures` (every
``--sample-every`` steps) draws a sample grid (``samples.png``, ``samples/step-*.png``; a class-conditional
model: one row per class) -- for a 2-D
mixture a scatter plot plus an ``"event": "eval"`` line of :func:`ganzoo.metrics.mixture.mode_stats` and the
mean distance to the nearest mode -- and ``curves.png``. Only the main process writes.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from ..errors import TrainingError
from . import checkpoint as ckpt

MIXTURE_EVAL_SAMPLES = 2000


class Monitor:
    """Statistics and files of one run in ``out`` (``history``: the metric lines written so far)."""

    def __init__(self, out: Path, *, dist, step, is_main: bool = True):
        self.out, self.dist, self.step, self.is_main = Path(out), dist, step, is_main
        self.history: list[dict] = []
        self.names: list = []
        self.rows, self.row_start, self.t0 = [], 0, time.perf_counter()
        self.lines = None  # a stream for one plain line per metric line (instead of the progress bar)
        self.total = None

    def start(self, steps_done: int) -> None:
        """Keep only the metric lines up to ``steps_done`` (a killed run may have logged past its last
        checkpoint or left half a line)."""
        from ..fsutil import atomic_write_text

        path = self.out / "metrics.jsonl"
        self.history = []
        if not self.is_main or not path.exists():
            return
        keep = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= steps_done:
                keep.append(rec)
        self.history = keep
        atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))

    def reset_clock(self, steps_done: int) -> None:
        """Forget recorded statistics; time the next line from now."""
        self.rows, self.row_start, self.t0 = [], steps_done, time.perf_counter()

    def record(self, stats: dict) -> None:
        """One step's statistics (0-dim tensors), kept on the device until the next :meth:`flush`."""
        self.names = list(stats)
        self.rows.append(torch.stack(list(stats.values())))

    def flush(self, steps_done: int, epoch: int, bar=None) -> None:
        """Average the recorded steps into one metric line (all processes call it)."""
        if not self.rows:
            return
        rows = torch.stack(self.rows).float()
        n = rows.shape[0]
        finite = torch.isfinite(rows)
        bad_row = int((~finite.all(1)).float().argmax()) if not bool(finite.all()) else -1
        stats = rows.mean(0)
        if self.dist.active:
            flag = self.dist.min(torch.tensor([bad_row if bad_row >= 0 else n], dtype=torch.float64))
            stats = self.dist.mean(stats)
            bad_row = int(flag.item()) if int(flag.item()) < n else -1
        if bad_row >= 0:
            self._non_finite(rows[bad_row], self.row_start + bad_row + 1)
        elapsed = time.perf_counter() - self.t0
        rec = {"step": steps_done, "epoch": epoch, "time": round(elapsed, 4),
               "steps_per_s": round(n / elapsed, 3) if elapsed > 0 else None}
        rec.update({nm: round(float(v), 6) for nm, v in zip(self.names, stats.tolist())})
        self.rows, self.row_start, self.t0 = [], steps_done, time.perf_counter()
        if self.is_main:
            self.log(rec)
            if bar is not None:
                keys = self.step.headline or tuple(self.names)
                labels = {"d_x": "D(x)", "d_g_z": "D(G(z))"}
                shown = {labels.get(k, k): f"{rec[k]:.3g}" for k in keys if k in rec}
                if self.lines is not None:
                    speed = f"  {rec['steps_per_s']:.3g} steps/s" if rec["steps_per_s"] else ""
                    total = f"/{self.total}" if self.total else ""
                    print(f"step {steps_done}{total}  " + "  ".join(f"{k}={v}" for k, v in shown.items()) + speed,
                          file=self.lines, flush=True)
                else:
                    bar.set_postfix(shown, refresh=False)

    def _non_finite(self, row, step: int):
        which = [nm for nm, v in zip(self.names, row.tolist()) if not math.isfinite(v)]
        name = which[0] if which else self.names[0]
        value = row[self.names.index(name)].item() if which else float("nan")
        root = self.out / "checkpoints"
        good = ckpt.find_latest(root)
        keep = f"the last good checkpoint ({good.name}) is in {root}" if good else "no checkpoint was written"
        raise TrainingError(f"non-finite loss at step {step}: {name} = {value}; stopped, {keep}. "
                            "Lower the learning rate (--lr) or try another objective, then --resume")

    def log(self, rec: dict) -> None:
        """Append one line to metrics.jsonl (strict JSON: a non-finite number is written as null)."""
        from ..metrics.report import to_json_safe

        rec = to_json_safe(rec)
        self.history.append(rec)
        line = json.dumps(rec, sort_keys=True, allow_nan=False) + "\n"
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line)

    def last_eval(self):
        return next((r for r in reversed(self.history) if r.get("event") == "eval"), None)

    # -- pictures ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def pictures(self, trainer, *, initial: bool = False) -> None:
        """Samples of the (EMA) generator at this step, the mixture evaluation, and the curves."""
        from .. import images
        from ..data.sources import Mixture
        from ..metrics.draws import eval_labels
        from ..model import to_unit

        t, step = trainer, trainer.steps_done
        G, dev, seed = t.sampler, t.device, t.config.seed
        n, num_classes, per = 64, t.batches.num_classes, None
        y = torch.arange(n, device=dev) % num_classes if num_classes else None
        if num_classes and t.model.label_prior is None:  # one row per class, as ganzoo sample and the cards
            y, per = images.class_rows(num_classes)
            y, n = y.to(dev), len(y)
        if isinstance(t.data, Mixture):  # (G.sample: eval mode, the latent drawn by G with the run's seed)
            ym = eval_labels(t.model, MIXTURE_EVAL_SAMPLES, seed + 1)
            pts = G.sample(MIXTURE_EVAL_SAMPLES, seed=seed + 1, y=ym).float().cpu()
            self.log({"step": step, "event": "eval", **mixture_eval(pts, t.data.centres, t.data.std)})
            img = images.scatter(pts[:1000], t.data.centres, title=f"step {step}")
        elif t.model.is_image:
            img = images.grid(to_unit(G.sample(n, seed=seed, y=y).float(), G.output_range).cpu(), nrow=per)
        else:
            img = None
        if img is not None:
            images.save_png(img, self.out / "samples" / f"step-{step:08d}.png")
            images.save_png(img, self.out / "samples.png")
        if not initial:
            self.curves()

    def curves(self) -> None:
        from .. import images

        recs = [r for r in self.history if "event" not in r]
        if not recs:
            return

        def series(*keys):
            return {k: ([r["step"] for r in recs if r.get(k) is not None], [r[k] for r in recs if r.get(k) is not None])
                    for k in keys if any(r.get(k) is not None for r in recs)}

        panels = {title: series(*keys) for title, keys in self.step.panels(self.names).items()}
        evals = [r for r in self.history if r.get("event") == "eval"]
        if evals:
            evals = [r for r in evals if r.get("mode_distance") is not None]
            panels["distance to nearest mode"] = {"mode_distance": ([r["step"] for r in evals],
                                                                    [r["mode_distance"] for r in evals])}
        images.save_png(images.curves(panels), self.out / "curves.png")


def mixture_eval(points: torch.Tensor, centres: torch.Tensor, std: float) -> dict:
    """:func:`ganzoo.metrics.mixture.mode_stats` of the samples (high-quality share, modes captured, reverse KL,
    spread) and ``mode_distance``: the mean distance of the finite samples to their nearest mode."""
    from ..metrics.mixture import mode_stats

    pts = points.double()
    pts = pts[torch.isfinite(pts).all(1)]
    distance = round(float(torch.cdist(pts, centres.double()).min(1).values.mean()), 6) if len(pts) else float("inf")
    return {**mode_stats(points, centres, std), "mode_distance": distance}
