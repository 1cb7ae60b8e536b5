"""The trainer: builds a run from a :class:`TrainConfig`, steps it, checkpoints it, exports the model.

    >>> from ganzoo.training import Trainer, TrainConfig
    >>> trainer = Trainer(TrainConfig(variant="mlp", objective="hinge", data="ring8", out="runs/r", steps=500))
    >>> model = trainer.fit()                      # the loop: logs, pictures, checkpoints; the trained model
    >>> trainer = Trainer(TrainConfig(variant="mlp", data="ring8", out="runs/s", steps=10)).setup()
    >>> stats = trainer.step()                     # one iteration, no files: {"d_loss": tensor(...), ...}

``Trainer(config)`` checks the configuration (and, with ``resume=True``, that it agrees with the checkpoint)
without writing anything. :meth:`setup` loads the data (:mod:`.batches`), builds the model, its objective
and EMA copy (:mod:`.ema`), the step for the objective's kind with its optimisers (:mod:`.steps`, optionally
replayed as a CUDA graph: :mod:`.cuda_graphs`), joins a data-parallel run (:mod:`.distributed`) and restores
the checkpoint (:mod:`.state`). :meth:`step` runs one iteration; :meth:`fit` runs them to ``steps`` with the
logging and pictures of :mod:`.monitor` and a checkpoint every ``checkpoint_every`` steps, at the end and on
Ctrl-C (a second Ctrl-C stops at once). The output folder ``out`` is a model folder (``config.json`` +
``<component>.safetensors``; with EMA the averaged components unless ``export="raw"``) with ``metrics.jsonl``,
``samples.png``, ``samples/``, ``curves.png`` and ``checkpoints/``.

**Speed**: no host synchronisation per step, fused Adam, ``set_to_none`` gradients, no weight gradients for D
during the G step, one D call on real and fake joined where D declares ``batch_independent``, channels-last
for conv variants (``channels_last=False`` to opt out), optional ``torch.compile``, bf16 autocast on CUDA and
optional CUDA graphs. ``benchmarks/speed.py`` measures the engine against plain PyTorch loops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import sys
from pathlib import Path
from typing import Optional

import torch

from ..data import ref_beside
from ..errors import ConfigError, GanzooError, TrainingError, first_line
from ..fsutil import FolderLock
from . import checkpoint as ckpt
from . import state
from .batches import Batches, load_data
from .build import build_model, memory_format, pick_device, stage_components
from .config import TrainConfig, number, resolve
from .cuda_graphs import CudaGraphStep, lr_on_device
from .distributed import Distributed, peer_lost
from .ema import EMA
from .monitor import Monitor
from .steps import STAGE_STEPS, STEPS


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Trainer:
    """One training run. ``data``: an in-memory dataset instead of ``config.data``; ``model``: a model whose
    weights to start from. Public attributes after :meth:`setup`: ``config`` (resolved), ``model``,
    ``objective``, ``data``, ``batches``, ``ema``, ``iteration`` (the step), ``optimizers``, ``monitor``,
    ``device``, ``memory_format``, ``steps_done``, ``steps``."""

    def __init__(self, config: TrainConfig, *, data=None, model=None):
        c = config
        if c.out is None:
            raise ConfigError("train: pass out=DIR (--out DIR), the folder to write the model into")
        self.out = Path(c.out).expanduser()
        self.ckpt_root = self.out / "checkpoints"
        self.dist = Distributed()
        c = dataclasses.replace(c, world_size=self.dist.world)
        if data is not None and c.data is None:
            c = dataclasses.replace(c, data=getattr(data, "name", None) or "<TensorData>")
        self._data, self._base_model, self.resume_from, self._saved_config = data, model, None, None
        self.lock = FolderLock(self.out if self.dist.rank == 0 else None).check()  # one writer: fit() takes it
        if c.resume:
            self.resume_from = ckpt.find_latest(self.ckpt_root)
            if self.resume_from is None:
                raise self._no_checkpoint() or ConfigError(f"--resume: no checkpoint in {self.ckpt_root}; run "
                                                            "without --resume to start")
            bad = ckpt.skipped_newer(self.ckpt_root, self.resume_from)
            if bad and self.dist.rank == 0:
                print(f"ganzoo: note: checkpoint {bad[0]} is incomplete or corrupt; resuming from the previous "
                      f"one, {self.resume_from.name}", file=sys.stderr)
            c = c.resumed(state.read_meta(self.resume_from)["args"])
            if (self.out / "config.json").exists():  # written with every checkpoint: the model as it was built
                from ..model import read_config

                self._saved_config = read_config(self.out).get("config")
        else:
            if self.ckpt_root.is_dir() and any(ckpt.NAME.match(p.name) for p in self.ckpt_root.iterdir()) \
                    or (self.out / "config.json").exists():
                raise self._no_checkpoint() or ConfigError(f"{self.out} already holds a training run; pass "
                                                            "--resume to continue it or choose another --out")
            if c.stage is not None and c.init is None:
                raise ConfigError(f"--stage {c.stage} trains a later stage of a model: pass --init MODEL, the "
                                  "model folder of its first stage (or a zoo name)")
            if c.init is not None:
                c = self._start_from(c)
            if c.variant is None:
                raise ConfigError("train: name the variant to train (e.g. ganzoo train mlp --data ring8 ...)")
            if c.data is None:
                raise ConfigError("train: pass --data (e.g. ring8, digits, mnist:DIR, folder:DIR)")
        c = dataclasses.replace(c, log_every=number("--log-every", 50 if c.log_every is None else c.log_every,
                                                     integer=True),
                                keep=number("--keep", 2 if c.keep is None else c.keep, integer=True))
        self.config, self.vspec, self.ospec = resolve(c)
        self.kind = self.vspec.kind
        self.device, self.amp = pick_device(self.config, self.dist.local_rank, self.dist.world)
        self._every = (number("--sample-every", c.sample_every, integer=True),
                       number("--checkpoint-every", c.checkpoint_every, integer=True))
        self.is_main = self.dist.is_main
        self._ready, self._stop = False, False

    def _no_checkpoint(self) -> Optional[ConfigError]:
        """The error for a run folder whose checkpoints are all unusable (None if one is usable or none exist)."""
        if ckpt.find_latest(self.ckpt_root) is not None:
            return None
        steps = sorted(p.name for p in self.ckpt_root.iterdir() if ckpt.NAME.match(p.name)) \
            if self.ckpt_root.is_dir() else []
        if not steps:
            return None
        which = steps[0] if len(steps) == 1 else f"all {len(steps)}: {', '.join(steps)}"
        return ConfigError(f"{self.out} holds a training run whose checkpoints are incomplete or corrupt "
                           f"({which}), so it cannot be resumed; delete {self.out} to start it again, or choose "
                           "another --out")

    def _start_from(self, c: TrainConfig) -> TrainConfig:
        """``--init MODEL``: load the model to start from; the run takes its variant, objective and config
        (``--set`` still overrides a key) unless given."""
        from ..api import load

        if self._base_model is not None:
            raise ConfigError("train: pass a model to start from or init=MODEL, not both")
        try:
            model = load(c.init)
        except GanzooError as exc:
            raise type(exc)(f"--init {c.init}: {first_line(exc)}") from None
        if c.variant is not None and c.variant != model.variant:
            raise ConfigError(f"--init {c.init}: it is a {model.variant!r} model, not {c.variant!r}; name "
                              f"{model.variant!r} or leave the variant out")
        if model.num_classes and not c.conditional:
            raise ConfigError(f"--init {c.init}: the model is class-conditional ({model.num_classes} classes); "
                              "pass --conditional")
        if c.conditional and not model.num_classes:
            raise ConfigError(f"--init {c.init}: the model is unconditional; drop --conditional")
        self._base_model, self._saved_config = model, model.config
        return dataclasses.replace(c, variant=model.variant, objective=c.objective or model.objective)

    # -- building ---------------------------------------------------------------------------------------
    def setup(self) -> "Trainer":
        """Load the data, build model, objective, step and optimisers, restore the checkpoint (once)."""
        if self._ready:
            return self
        c, dev = self.config, self.device
        self.dist.join(dev)
        self.data = load_data(c, self._data)
        self.model = build_model(c, self.vspec, self.data, self._base_model, saved=self._saved_config)
        stage_components(self.model, c.stage, self.vspec.name)
        self.objective = self.model.make_objective()
        fresh = [n for n in self.model.components if n not in self._base_model.components] \
            if self._base_model is not None and self.resume_from is None else []
        if fresh and self.is_main:
            print(f"ganzoo: note: {c.init or 'the model to start from'} has no {' or '.join(fresh)}; "
                  f"{'they start' if len(fresh) > 1 else 'it starts'} from a fresh initialisation", file=sys.stderr)
        G = self.model.generator
        image = self.data.x.dim() == 4
        self.memory_format = memory_format(self.model, self.data, dev, c)
        self.model.to(dev, memory_format=self.memory_format) if image else self.model.to(dev)
        num_classes = G.num_classes if c.conditional else 0
        self.batches = Batches(self.data, batch_size=c.batch_size, seed=c.seed, device=dev, rank=self.dist.rank,
                               world=self.dist.world, output_range=G.output_range if self.data.is_image else None,
                               memory_format=self.memory_format, num_classes=num_classes,
                               label_prior=self.model.label_prior if num_classes else None)
        if c.steps is None:
            steps = max(1, math.ceil(c.epochs * self.batches.per_epoch / max(c.d_steps, 1)))
            self.config = c = dataclasses.replace(c, steps=steps, epochs=None)
        self.steps = c.steps
        self.sample_every = self._every[0] or max(1, min(500, self.steps // 4 or 1))
        self.checkpoint_every = self._every[1] or max(1, min(1000, self.steps // 2 or 1))
        self.ema = None
        step = (STAGE_STEPS[c.stage] if c.stage else STEPS[self.kind])(self)
        self.optimizers = step.optimizers
        if c.ema:  # the average of every component G's optimiser trains (an autoencoder's encoder too)
            trained = {id(p) for group in self.optimizers["g"].param_groups for p in group["params"]}
            self.ema = EMA({k: m for k, m in self.model.components.items()
                            if any(id(p) in trained for p in m.parameters())}, c.ema,
                           standing_pass=step.standing_pass)
        self.iteration = CudaGraphStep(step, dev) if c.cuda_graphs else step
        self.monitor = Monitor(self.out, dist=self.dist, step=step, is_main=self.is_main)
        self.steps_done = 0
        if self.resume_from is not None:
            tensors, meta = ckpt.read(self.resume_from)
            self.load_state_dict(tensors, meta, where=f"checkpoint {self.resume_from}")
            if self.steps_done > self.steps:
                raise ConfigError(f"--resume: the checkpoint is at step {self.steps_done}, past --steps {self.steps}; "
                                  "ask for more steps")
        elif self.dist.world > 1:
            torch.manual_seed(c.seed * 1000 + 7919 * self.dist.rank + 1)  # distinct noise per rank
        self.started_at = self.steps_done  # where this invocation began
        self.model.train()
        self._ready = True
        return self

    def make_optimizer(self, params, lr: float):
        """The run's optimiser (adam or rmsprop, the objective's choice) over the trainable ``params``."""
        params = [p for p in params if p.requires_grad]
        fused = self.device.type in ("cpu", "cuda")
        graphs = self.config.cuda_graphs  # capturable: the step count lives on the GPU, for a CUDA graph
        if self.config.optimizer == "rmsprop":
            opt = torch.optim.RMSprop(params, lr=lr, foreach=self.device.type == "cuda", capturable=graphs)
        else:
            opt = torch.optim.Adam(params, lr=lr, betas=tuple(self.config.betas), fused=fused or None,
                                   capturable=graphs)
        self.prepare_optimizer(opt)
        return opt

    def prepare_optimizer(self, opt) -> None:
        if self.config.cuda_graphs:
            lr_on_device(opt, self.device)

    def autocast(self):
        """bf16 autocast on CUDA (``precision`` auto or bf16), else nothing."""
        if not self.amp:
            return contextlib.nullcontext()
        # (a CUDA graph must not keep autocast's cast-weight cache, which is freed when the region ends)
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=not self.config.cuda_graphs)

    def after_update(self) -> None:
        if self.ema is not None:
            self.ema.update()

    def exported(self) -> dict:
        """The components the model folder holds: the trained ones, or with ``ema`` (unless ``export="raw"``)
        the averaged ones, their BatchNorm statistics recomputed for them (:meth:`EMA.refresh`)."""
        comps = dict(self.model.components.items())
        if self.ema is not None and self.config.export != "raw":
            self.ema.refresh(self.config.batch_size)
            comps.update(self.ema.modules.items())
        return comps

    @property
    def sampler(self):
        """The generator that samples and is exported (:meth:`exported`)."""
        return self.exported()["generator"]

    def set_learning_rates(self, factor: float) -> None:
        """Each optimiser's learning rate = ``factor`` x its configured one (in place under CUDA graphs)."""
        for key, opt in self.optimizers.items():
            lr = getattr(self.config, f"{key}_lr") * factor
            for group in opt.param_groups:
                if torch.is_tensor(group["lr"]):  # --cuda-graphs: the captured update reads it
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr

    # -- running ----------------------------------------------------------------------------------------
    def step(self, next_batch=None) -> dict:
        """One iteration (the learning-rate schedule, the step, its statistics recorded for the next metric line);
        returns the statistics as 0-dim tensors on the device. ``next_batch``: a function returning the real
        ``(x, y)`` batches to use instead of the data's."""
        self.setup()
        if self.config.lr_schedule == "linear":
            self.set_learning_rates(1.0 - self.steps_done / self.steps)
        try:
            stats = self.iteration(next_batch or self.batches.next, self.steps_done)
        except RuntimeError as exc:
            lost = peer_lost(exc, self.dist.rank, self.steps_done + 1) if self.dist.active else None
            if lost is None:
                raise
            raise lost from None
        self.monitor.record(stats)
        self.steps_done += 1
        return stats

    def fit(self):
        """Train to ``steps``: log, draw, checkpoint; return the exported model in eval mode."""
        try:
            self.lock.acquire()  # the run folder's one writer (ganzoo.fsutil.FolderLock) until the end
            return self.setup()._fit()
        except RuntimeError as exc:
            lost = peer_lost(exc, self.dist.rank, self.steps_done) if self.dist.active else None
            if lost is None:
                raise
            raise lost from None
        finally:
            self.lock.release()  # (and the folder it made, if nothing else was written into it)
            self.dist.close()

    def _fit(self):
        from tqdm import tqdm

        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            self.monitor.start(self.steps_done)
            ckpt.prune(self.ckpt_root, keep=self.config.keep)
            if self.steps_done == 0:
                self.monitor.pictures(self, initial=True)
        self.dist.barrier()
        # the bar only on a terminal; elsewhere (a log file, --no-progress) one plain line per --log-every
        show = self.is_main and self.config.progress is not False and _is_terminal(sys.stderr)
        self.monitor.lines, self.monitor.total = (None if show else sys.stderr), self.steps
        bar = tqdm(total=self.steps, initial=self.steps_done, disable=not show, unit="step", dynamic_ncols=True,
                   desc=f"{self.vspec.name}/{self.config.objective}", file=sys.stderr, smoothing=0.1)
        self.monitor.reset_clock(self.steps_done)
        self._stop = False
        old_handler = self._install_sigint()
        self.model.train()
        log_every = self.config.log_every
        try:
            while self.steps_done < self.steps:
                self.step()
                bar.update(1)
                s = self.steps_done
                last = s == self.steps
                if s % log_every == 0 or last or self._stop:
                    self.monitor.flush(s, self.batches.epoch, bar)
                if s % self.checkpoint_every == 0 or last or self._stop:
                    self.save_checkpoint()
                if self.is_main and (s % self.sample_every == 0 or last):
                    self.monitor.pictures(self)
                if self._stop:
                    raise TrainingError(f"interrupted at step {s}; checkpoint saved. Continue with "
                                        f"ganzoo train --resume --out {self.out}")
        finally:
            bar.close()
            if old_handler is not None:
                with contextlib.suppress(ValueError):
                    signal.signal(signal.SIGINT, old_handler)
        if self.is_main and self.steps_done == self.started_at:  # nothing to train: write the folder again
            self.monitor.pictures(self)                             # (e.g. --resume --export raw)
            self.export_model().save(self.out)
        self.dist.barrier()
        return self.export_model().eval()

    def _install_sigint(self):
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self._stop:
                raise KeyboardInterrupt
            self._stop = True

        try:
            return signal.signal(signal.SIGINT, handler)
        except ValueError:
            return None

    # -- state and result ----------------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict, dict]:
        """(tensors, JSON) of everything a resumed run needs (:mod:`ganzoo.training.state`)."""
        return state.state_dict(self)

    def load_state_dict(self, tensors: dict, meta: dict, *, where: str = "checkpoint") -> None:
        state.load_state_dict(self, tensors, meta, where=where)

    def save_checkpoint(self) -> None:
        """Flush the statistics, check the weights, write checkpoint ``steps_done`` and the model folder."""
        self.monitor.flush(self.steps_done, self.batches.epoch)
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            good = ckpt.find_latest(self.ckpt_root)
            raise TrainingError(f"weights became non-finite by step {self.steps_done}; stopped"
                                f"{f', the last good checkpoint ({good.name}) is kept' if good else ''}. "
                                "Lower the learning rate (--lr), then --resume")
        sums = self.dist.gather(state.param_checksum(self))
        tensors, meta = self.state_dict()
        if self.dist.active and self.is_main:
            values = [float(s.item()) for s in sums]
            self.monitor.log({"step": self.steps_done, "event": "sync", "param_checksums": values})
            if len(set(values)) != 1:
                raise TrainingError(f"data-parallel ranks are out of sync at step {self.steps_done}: "
                                    f"parameter checksums {values}")
        if self.is_main:
            ckpt.write(self.ckpt_root, self.steps_done, tensors, meta, keep=self.config.keep)
            self.export_model().save(self.out)
        self.dist.barrier()

    def export_model(self):
        """The model to publish: :meth:`exported`'s components with the training record
        (:meth:`TrainConfig.training_record`) and the last evaluation's metrics."""
        from ..model import Model

        comps = self.exported()
        m = self.model
        training = dict(self.config.training_record(), steps_done=self.steps_done)
        last = self.monitor.last_eval()
        metrics = m.meta.get("metrics")
        if last is not None:
            metrics = dict(metrics or {}, **{k: v for k, v in last.items() if k not in ("step", "event")})
        return Model(variant=m.variant, objective=m.objective, config=m.config, components=comps,
                     objective_config=m.objective_config, dataset=ref_beside(m.meta.get("dataset"), self.out),
                     labels=m.meta.get("labels"), label_prior=m.meta.get("label_prior"), training=training,
                     metrics=metrics)
