"""The training engine: one loop for GANs, VAEs and autoencoders.

    >>> import ganzoo
    >>> model = ganzoo.train("mlp", "wgan-gp", data="ring8", out="runs/ring8", steps=2000)
    >>> model = ganzoo.train(out="runs/ring8", resume=True, steps=4000)     # continue it

One GAN iteration is Goodfellow et al.'s Algorithm 1: ``K`` discriminator/critic steps, each on
``M`` real samples and ``M`` samples G(z), then one generator step. The objective plugin supplies
the losses (:meth:`discriminator_step_loss`, :meth:`generator_step_loss`), its default ``K`` and
its extras (weight clipping in :meth:`after_discriminator_step`, gradient penalties inside the
D loss). VAE/AE variants run through the same loop with one optimiser step on ``objective.loss``.

**Reusing the fake batch.** With ``K == 1`` the generator step reuses the batch G(z) made for the
discriminator step (``reuse_fake``, the default then), exactly as the pytorch/examples DCGAN loop
does: G is unchanged between the two steps, so this is the same update as a fresh forward pass of
the same z, minus one generator forward. Goodfellow's paper draws fresh noise for the G step;
pass ``reuse_fake=False`` (``--fresh-noise``) for that. With ``K > 1`` fresh noise is the default.

**Conditional models** (``conditional=True``): the discriminator steps generate fakes for the real
batch's labels (the objective protocol passes one label vector to D); the generator step draws its
labels uniformly (or reuses the D step's with ``reuse_fake``). With ``data_options={"clusters": K}``
the labels are the k-means clusters of the data (a self-conditioned GAN, :mod:`ganzoo.data.clusters`):
the generator step draws them from the clusters' shares, and the model keeps those shares
(``label_prior``) to draw its own clusters when it is sampled without labels.

**Output folder**: ``config.json`` + ``<component>.safetensors`` (a model folder that
:func:`ganzoo.load` and ``ganzoo sample`` accept; with EMA the generator saved is the EMA one),
``metrics.jsonl``, ``samples.png`` + ``samples/step-*.png``, ``curves.png`` and
``checkpoints/`` (see :mod:`ganzoo.checkpoint`).

**Speed**: no host synchronisation per step (statistics stay on the device until a log interval),
fused Adam, ``set_to_none`` gradients, no weight gradients for D during the G step, one D call on
real and fake joined where D declares ``batch_independent`` (the objectives do it), channels-last
for conv variants (``channels_last=False`` to opt out), optional ``torch.compile``, bf16 autocast on
CUDA, and on CUDA optional CUDA graphs (``cuda_graphs=True``: each whole iteration, both optimiser steps
included, replays as one captured graph; see ``_graphed``). ``benchmarks/speed.py`` measures the engine
against plain PyTorch loops (BENCHMARKS.md).

**Data parallel**: under ``torchrun`` (WORLD_SIZE > 1) each process trains on its own shard of the
data (gloo on CPU, NCCL on GPU) with G, D and the encoder wrapped in DistributedDataParallel; only
rank 0 writes files. The batch size is per process.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import sys
import time
import types
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from . import checkpoint as ckpt
from .augment import Augmented, parse_policy
from .errors import ConfigError, GanzooError, TrainingError, first_line

# Arguments that define a run: --resume refuses to change them.
FIXED_ON_RESUME = ("variant", "objective", "objective_config", "data", "data_options", "config", "conditional",
                   "batch_size", "d_steps", "g_lr", "d_lr", "betas", "seed", "ema", "reuse_fake", "world_size",
                   "lr_schedule", "augment")
CLI_FLAG = {"objective": "--objective", "data": "--data", "batch_size": "--batch-size", "d_steps": "--d-steps",
            "g_lr": "--g-lr/--lr", "d_lr": "--d-lr/--lr", "betas": "--betas", "seed": "--seed", "ema": "--ema",
            "config": "--set", "conditional": "--conditional", "reuse_fake": "--fresh-noise/--reuse-fake",
            "world_size": "the number of processes", "data_options": "--data-opt", "variant": "VARIANT",
            "objective_config": "--objective-set", "lr_schedule": "--lr-schedule", "augment": "--augment"}
MIXTURE_EVAL_SAMPLES = 2000
LR_SCHEDULES = ("constant", "linear")  # linear: decay to 0 at the last step


def train(variant=None, objective: Optional[str] = None, *, data=None, out=None, steps: Optional[int] = None,
          epochs: Optional[float] = None, batch_size: Optional[int] = None, d_steps: Optional[int] = None,
          lr: Optional[float] = None, g_lr: Optional[float] = None, d_lr: Optional[float] = None, betas=None,
          lr_schedule: Optional[str] = None, seed: Optional[int] = None, ema: Optional[float] = None, conditional: Optional[bool] = None,
          reuse_fake: Optional[bool] = None, augment=None, resume: bool = False, device: str = "auto", compile: bool = False,
          cuda_graphs: bool = False, precision: str = "auto", channels_last: Optional[bool] = None, log_every: int = 50,
          sample_every: Optional[int] = None, checkpoint_every: Optional[int] = None, keep: int = 2,
          progress: Optional[bool] = None, data_options: Optional[dict] = None,
          objective_config: Optional[dict] = None, config: Optional[dict] = None, **config_kw):
    """Train ``variant`` (a name, or a :class:`~ganzoo.model.Model` whose config to start from) with
    ``objective`` on ``data`` (a dataset reference such as ``"ring8"`` / ``"mnist:DIR"``, or a
    :class:`~ganzoo.data.TensorData`) into the folder ``out``; return the trained model (EMA
    generator if ``ema``). Variant config keys go in ``config`` or as keyword arguments."""
    cfg = dict(config or {})
    cfg.update(config_kw)
    trainer = Trainer(variant=variant, objective=objective, data=data, out=out, steps=steps, epochs=epochs,
                      batch_size=batch_size, d_steps=d_steps, lr=lr, g_lr=g_lr, d_lr=d_lr, betas=betas,
                      lr_schedule=lr_schedule, seed=seed,
                      ema=ema, conditional=conditional, reuse_fake=reuse_fake, augment=augment, resume=resume,
                      device=device,
                      compile=compile, cuda_graphs=cuda_graphs, precision=precision, channels_last=channels_last,
                      log_every=log_every,
                      sample_every=sample_every, checkpoint_every=checkpoint_every, keep=keep, progress=progress,
                      data_options=data_options, objective_config=objective_config, config=cfg)
    return trainer.run()


# -- helpers ----------------------------------------------------------------------------------------
def _dist_env() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return int(os.environ.get("RANK", "0") or 0), world, int(os.environ.get("LOCAL_RANK", "0") or 0)


def _positive(name, value, *, lo=0.0, hi=math.inf, integer=False, lo_open=True):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise ConfigError(f"{name} must be a{'n integer' if integer else ' number'}, not {value!r}")
    if not math.isfinite(value) or (value <= lo if lo_open else value < lo) or value > hi:
        raise ConfigError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}], not {value!r}")
    return int(value) if integer else float(value)


class _AutoencoderLoss(nn.Module):
    """encoder + decoder as one module whose forward is the objective's loss (so DDP sees both)."""

    def __init__(self, encoder, generator, objective):
        super().__init__()
        self.encoder, self.generator = encoder, generator
        self.objective = objective

    def forward(self, x, y=None):
        return self.objective.loss(self, x, y)


class _CallableModule(types.ModuleType):
    """``ganzoo.train(...)`` works although ``ganzoo.train`` is also this module."""

    def __call__(self, *args, **kwargs):
        return train(*args, **kwargs)


# -- the trainer ------------------------------------------------------------------------------------
class Trainer:
    """Set up with the same arguments as :func:`train`; :meth:`run` trains and returns the model."""

    def __init__(self, *, variant=None, objective=None, data=None, out=None, steps=None, epochs=None,
                 batch_size=None, d_steps=None, lr=None, g_lr=None, d_lr=None, betas=None, lr_schedule=None,
                 seed=None, ema=None,
                 conditional=None, reuse_fake=None, augment=None, resume=False, device="auto", compile=False, cuda_graphs=False,
                 precision="auto", channels_last=None, log_every=50, sample_every=None, checkpoint_every=None, keep=2,
                 progress=None, data_options=None, objective_config=None, config=None):
        from .model import Model

        if out is None:
            raise ConfigError("train: pass out=DIR (--out DIR), the folder to write the model into")
        self.out = Path(out).expanduser()
        self.ckpt_root = self.out / "checkpoints"
        self.rank, self.world, self.local_rank = _dist_env()
        self.log_every = _positive("log_every", log_every, integer=True)
        self.keep = _positive("keep", keep, integer=True)
        self.compile = bool(compile)
        self.cuda_graphs = bool(cuda_graphs)  # the whole iteration replayed as one CUDA graph (_graphed)
        self._base_model = None
        self._data_obj = data if not isinstance(data, (str, type(None))) else None
        self._names: list = []
        if isinstance(variant, Model):
            self._base_model = variant
            objective = objective or variant.objective
            config = {**{k: v for k, v in variant.config.items()}, **(config or {})}
            variant = variant.variant
        given = dict(variant=variant, objective=objective, data=data if isinstance(data, (str, type(None))) else
                     getattr(data, "name", None) or "<TensorData>", data_options=data_options,
                     objective_config=objective_config, config=config or None, conditional=conditional,
                     batch_size=batch_size, d_steps=d_steps, seed=seed, ema=ema, reuse_fake=reuse_fake,
                     betas=list(betas) if betas is not None else None, lr_schedule=lr_schedule,
                     augment=list(parse_policy(augment)) or None)
        self.resume_from = None
        if resume:
            self.resume_from = ckpt.find_latest(self.ckpt_root)
            if self.resume_from is None:
                raise ConfigError(f"--resume: no checkpoint in {self.ckpt_root}; run without --resume to start")
            meta = self._read_meta(self.resume_from)
            stored = meta["args"]
            given["g_lr"] = g_lr if g_lr is not None else lr
            given["d_lr"] = d_lr if d_lr is not None else lr
            for key in FIXED_ON_RESUME:
                if key == "world_size":
                    value = self.world
                else:
                    value = given.get(key)
                if value is None or key not in stored:
                    continue
                if key in ("g_lr", "d_lr") and stored[key] is None:
                    continue
                if key == "config":
                    diff = {k: v for k, v in value.items() if stored["config"].get(k) != v}
                    if diff:
                        k = sorted(diff)[0]
                        raise ConfigError(f"--resume: {CLI_FLAG['config']} {k}={json.dumps(diff[k])} differs from the "
                                          f"checkpoint's {json.dumps(stored['config'].get(k))}; drop it or use a new --out")
                    continue
                if _norm(value) != _norm(stored[key]):
                    raise ConfigError(f"--resume: {CLI_FLAG.get(key, key)} {_show(value)} differs from the checkpoint's "
                                      f"{_show(stored[key])}; drop it or start a new --out")
            args = dict(stored)
            if isinstance(data, (str, type(None))):
                self._data_obj = None
            if steps is not None or epochs is not None:
                args["steps"], args["epochs"] = steps, epochs
        else:
            if self.ckpt_root.is_dir() and any(ckpt.NAME.match(p.name) for p in self.ckpt_root.iterdir()) \
                    or (self.out / "config.json").exists():
                raise ConfigError(f"{self.out} already holds a training run; pass --resume to continue it "
                                  "or choose another --out")
            if variant is None:
                raise ConfigError("train: name the variant to train (e.g. ganzoo train mlp --data ring8 ...)")
            if data is None:
                raise ConfigError("train: pass --data (e.g. ring8, digits, mnist:DIR, folder:DIR)")
            args = dict(given, steps=steps, epochs=epochs, g_lr=g_lr if g_lr is not None else lr,
                        d_lr=d_lr if d_lr is not None else lr, world_size=self.world)
        self._resolve(args)
        self._setup_device(device, precision, channels_last)
        self._every = (_positive("sample_every", sample_every, integer=True),
                       _positive("checkpoint_every", checkpoint_every, integer=True))
        self.progress = progress

    # -- resolution and validation -------------------------------------------------------------
    @staticmethod
    def _read_meta(folder) -> dict:
        try:
            return json.loads((Path(folder) / ckpt.META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrainingError(f"checkpoint {folder}: unreadable ({exc})") from None

    def _resolve(self, args: dict) -> None:
        from . import config as cfgmod
        from .plugins import get_registry

        reg = get_registry()
        vspec = reg.variant(args["variant"])
        objective = args.get("objective") or vspec.default_objective
        reg.check_pairing(vspec.name, objective)
        ospec = reg.objective(objective)
        self.kind = vspec.kind
        args["objective"] = objective
        args["objective_config"] = cfgmod.validate(args.get("objective_config") or {}, ospec.defaults,
                                                   where=f"objective {objective!r}")
        args["config"] = dict(args.get("config") or {})
        args["data_options"] = dict(args.get("data_options") or {})
        args["conditional"] = bool(args.get("conditional"))
        args["seed"] = int(_positive("--seed", args.get("seed") or 0, lo=0, lo_open=False, integer=True))
        args["batch_size"] = _positive("--batch-size", args.get("batch_size") or 64, hi=65536, integer=True)
        k = args.get("d_steps")
        if self.kind == "gan":
            k = ospec.d_steps if k is None else _positive("--d-steps", k, hi=100, integer=True)
            if k < 1:
                raise ConfigError(f"objective {objective!r} asks for d_steps={k}; a GAN needs --d-steps >= 1")
        elif k not in (None, 0):
            raise ConfigError(f"--d-steps applies to GANs; {vspec.name!r} is a {self.kind} trained on {objective!r}")
        else:
            k = 0
        args["d_steps"] = int(k)
        opt = dict(ospec.optimizer or {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]})
        if opt.get("name", "adam") not in ("adam", "rmsprop"):
            raise ConfigError(f"objective {objective!r} asks for optimiser {opt.get('name')!r}; ganzoo knows adam and rmsprop")
        args["optimizer"] = opt.get("name", "adam")
        for key in ("g_lr", "d_lr"):
            args[key] = _positive(f"--{key.replace('_', '-')}", args.get(key), hi=10.0) or float(opt.get("lr", 2e-4))
        betas = args.get("betas")
        if betas is None:
            betas = opt.get("betas", [0.9, 0.999]) if args["optimizer"] == "adam" else None
        elif args["optimizer"] != "adam":
            raise ConfigError(f"--betas applies to adam; objective {objective!r} uses {args['optimizer']}")
        if betas is not None:
            if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
                raise ConfigError(f"--betas must be two numbers in [0, 1), like 0.5,0.999; not {betas!r}")
            betas = [float(b) for b in betas]
        args["betas"] = betas
        args["lr_schedule"] = args.get("lr_schedule") or "constant"
        if args["lr_schedule"] not in LR_SCHEDULES:
            raise ConfigError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, not {args['lr_schedule']!r}")
        ema = args.get("ema")
        if ema is not None and ema != 0:
            if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 < ema < 1:
                raise ConfigError(f"--ema must be a decay in (0, 1) such as 0.999, not {ema!r}")
            ema = float(ema)
        else:
            ema = None
        args["ema"] = ema
        reuse = args.get("reuse_fake")
        args["reuse_fake"] = bool(args["d_steps"] == 1) if reuse is None else bool(reuse)
        if self.kind != "gan":
            args["reuse_fake"] = False
        args["augment"] = list(parse_policy(args.get("augment")))
        if args["augment"] and self.kind != "gan":
            raise ConfigError(f"--augment transforms what a GAN's discriminator sees; {vspec.name!r} is a {self.kind}")
        if args.get("steps") is not None and args.get("epochs") is not None:
            raise ConfigError("pass --steps or --epochs, not both")
        if args.get("steps") is None and args.get("epochs") is None:
            raise ConfigError("say how long to train: --steps N or --epochs E")
        if args.get("steps") is not None:
            args["steps"] = _positive("--steps", args["steps"], hi=10**9, integer=True)
        if args.get("epochs") is not None:
            args["epochs"] = _positive("--epochs", args["epochs"], hi=1e6)
        self.args = args
        self.vspec, self.ospec = vspec, ospec

    def _setup_device(self, device, precision, channels_last):
        if device in (None, "auto"):
            device = f"cuda:{self.local_rank}" if torch.cuda.is_available() else "cpu"
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ConfigError(f"--device {device!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
        if self.device.type == "cuda":
            if not torch.cuda.is_available():
                raise ConfigError("--device cuda: no CUDA device is available; use --device cpu")
            if self.device.index is None:
                self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
        if self.cuda_graphs and self.device.type != "cuda":
            raise ConfigError("--cuda-graphs needs a CUDA device (--device cuda); on CPU drop it")
        if self.cuda_graphs and self.world > 1:
            raise ConfigError("--cuda-graphs is not supported with several processes (torchrun); drop it")
        if precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"--precision must be auto, fp32 or bf16, not {precision!r}")
        if precision == "bf16" and self.device.type != "cuda":
            raise ConfigError("--precision bf16 needs a CUDA device; on CPU train in fp32")
        self.autocast = self.device.type == "cuda" and precision in ("auto", "bf16")
        self.channels_last = channels_last

    # -- building ----------------------------------------------------------------------------------
    def _load_data(self):
        from .data import load_dataset

        a = self.args
        if self._data_obj is not None:
            data = self._data_obj
        else:
            try:
                data = load_dataset(a["data"], **a["data_options"])
            except TypeError as exc:
                raise ConfigError(f"--data {a['data']}: bad --data-opt ({exc})") from None
        if len(data) == 0:
            raise ConfigError(f"--data {a['data']}: the dataset is empty")
        if a["conditional"] and (data.y is None or data.num_classes < 1):
            raise ConfigError(f"--conditional: dataset {a['data']!r} has no class labels")
        if a["augment"] and not data.is_image:
            raise ConfigError(f"--augment {','.join(a['augment'])} transforms images; {a['data']!r} holds points, "
                              "so drop --augment")
        if data.label_source == "clusters" and not a["conditional"]:
            raise ConfigError("--data-opt clusters=K labels the data by k-means clusters for a self-conditioned "
                              "GAN; add --conditional to train on them")
        return data

    def _build(self):
        from .model import create

        a, data = self.args, self.data
        cfg = dict(a["config"])
        defaults = self.vspec.defaults
        if "sample_shape" in defaults:
            want = list(data.sample_shape)
            if "sample_shape" in cfg and list(cfg["sample_shape"]) != want:
                raise ConfigError(f"sample_shape {list(cfg['sample_shape'])} does not match the data: {a['data']} "
                                  f"has samples of shape {want}; drop --set sample_shape")
            cfg["sample_shape"] = want
        if cfg.get("num_classes"):
            raise ConfigError("use --conditional (it takes num_classes from the data) instead of --set num_classes")
        if a["conditional"]:
            if "num_classes" not in defaults:
                raise ConfigError(f"variant {self.vspec.name!r} cannot be class-conditional (no num_classes)")
            cfg["num_classes"] = data.num_classes
        torch.manual_seed(a["seed"])
        meta = dict(dataset=a["data"], labels=data.labels if a["conditional"] else None)
        if a["conditional"] and data.label_source == "clusters":
            from .data.clusters import label_prior

            meta["label_prior"] = label_prior(data)
        try:
            model = create(self.vspec.name, a["objective"], objective_config=a["objective_config"], **meta, **cfg)
        except GanzooError:
            raise
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"variant {self.vspec.name!r} cannot be built with this config for samples of shape "
                              f"{list(data.sample_shape)} from {a['data']}: {first_line(exc)}") from None
        if self._base_model is not None:
            model.load_state_dict(self._base_model.state_dict())
        if tuple(model.sample_shape) != tuple(data.sample_shape):
            raise ConfigError(f"variant {self.vspec.name!r} makes samples of shape {list(model.sample_shape)} but "
                              f"{a['data']} has {list(data.sample_shape)}")
        return model

    def _optimizer(self, params, lr):
        a = self.args
        params = [p for p in params if p.requires_grad]
        fused = self.device.type in ("cpu", "cuda")
        # capturable: the step count lives on the GPU, so the update can be replayed inside a CUDA graph
        if a["optimizer"] == "rmsprop":
            opt = torch.optim.RMSprop(params, lr=lr, foreach=self.device.type == "cuda", capturable=self.cuda_graphs)
        else:
            opt = torch.optim.Adam(params, lr=lr, betas=tuple(a["betas"]), fused=fused or None,
                                   capturable=self.cuda_graphs)
        self._lr_on_device(opt)
        return opt

    def _lr_on_device(self, opt) -> None:
        """Under CUDA graphs each group's learning rate is a tensor on the GPU that the captured update
        reads on every replay, so ``_scale_lr`` (the linear schedule) can change it in place; a float
        would be frozen into the graph at capture. Also after a checkpoint load (which stores floats)."""
        if self.cuda_graphs:
            for group in opt.param_groups:
                if not torch.is_tensor(group["lr"]):
                    group["lr"] = torch.tensor(float(group["lr"]), device=self.device)

    def _setup(self):
        from .model import Model

        a = self.args
        self.is_main = self.rank == 0
        self.dist = None
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
                self._owns_pg = True
            self.dist = dist
        self.data = self._load_data()
        self.model = self._build()
        self.objective = self.model.make_objective()
        self.K = a["d_steps"]
        self.M = a["batch_size"]
        shard = len(self.data) // self.world
        self.batches_per_epoch = shard // self.M
        if self.batches_per_epoch < 1:
            raise ConfigError(f"--batch-size {self.M} is larger than the data ({len(self.data)} samples"
                              f"{f' over {self.world} processes' if self.world > 1 else ''}); lower it")
        if a.get("steps") is None:
            a["steps"] = max(1, math.ceil(a["epochs"] * self.batches_per_epoch / max(self.K, 1)))
        a["epochs"] = None  # resolved into steps
        self.steps = a["steps"]
        self.sample_every = self._every[0] or max(1, min(500, self.steps // 4 or 1))
        self.checkpoint_every = self._every[1] or max(1, min(1000, self.steps // 2 or 1))

        dev = self.device
        G = self.model.generator
        self.latent_dim, self.num_classes = G.latent_dim, G.num_classes if a["conditional"] else 0
        x = self.data.x
        if self.data.is_image and G.output_range is not None:
            lo, hi = G.output_range
            x = x * (hi - lo) + lo
        conv = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in self.model.modules())
        # channels-last for conv models (oneDNN and cuDNN convolutions prefer it; resume stays bit-exact because
        # restored optimiser moments get their parameter's layout, see _match_state_layout)
        # (not by default when compiled on CUDA: torch 2.11's inductor mispredicts the weight-gradient layout of
        # channels-last convolutions on 1x1 maps, such as DCGAN's first and last layers, and stops on its own
        # stride check; seen on an H200)
        cl = self.channels_last if self.channels_last is not None else (
            conv and (dev.type == "cpu" or (dev.type == "cuda" and not self.compile)))
        self.memory_format = torch.channels_last if (cl and x.dim() == 4) else torch.contiguous_format
        if x.dim() == 4:
            self.model.to(dev, memory_format=self.memory_format)
        else:
            self.model.to(dev)
        self.X = x.to(dev).contiguous(memory_format=self.memory_format)
        self.Y = self.data.y.to(dev) if (self.data.y is not None and self.num_classes) else None
        prior = self.model.label_prior if self.num_classes else None
        self.label_prior = prior.float().to(dev) if prior is not None else None
        self.data_gen = torch.Generator().manual_seed(a["seed"])
        self.perm, self.shard, self.pos, self.epoch = None, None, 0, 0

        self.ema_G = None
        if a["ema"]:
            self.ema_G = copy.deepcopy(G).requires_grad_(False)
            self._ema_pairs = ([p for p in self.ema_G.parameters()], [p for p in G.parameters()])
            self._ema_buffers = list(zip(self.ema_G.buffers(), G.buffers()))
        if self.kind == "gan":
            self.D = self.model.discriminator
            self.d_params = [p for p in self.D.parameters() if p.requires_grad]
            self.g_opt = self._optimizer(G.parameters(), a["g_lr"])
            self.d_opt = self._optimizer(self.D.parameters(), a["d_lr"])
            self.opts = {"g": self.g_opt, "d": self.d_opt}
        else:
            self.ae = _AutoencoderLoss(self.model.encoder, G, self.objective)
            self.g_opt = self._optimizer(self.ae.parameters(), a["g_lr"])
            self.opts = {"g": self.g_opt}
        self.step = 0
        self.history: list[dict] = []
        if self.resume_from is not None:
            self._restore(self.resume_from)
        elif a["world_size"] > 1:
            torch.manual_seed(a["seed"] * 1000 + 7919 * self.rank + 1)  # distinct noise per rank
        self._wrap()
        self.training_meta = {k: a[k] for k in ("objective", "data", "data_options", "batch_size", "d_steps",
                                                "optimizer", "g_lr", "d_lr", "betas", "lr_schedule", "seed", "steps", "ema",
                                                "reuse_fake", "augment", "conditional", "config", "world_size")}

    def _wrap(self):
        G = self.model.generator
        if self.kind == "gan":
            self.G_run, self.D_run = G, self.D
        else:
            self.AE_run = self.ae
        if self.dist is not None:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            if self.kind == "gan":
                self.G_run = DDP(G, device_ids=ids)
                self.D_run = DDP(self.D, device_ids=ids)
            else:
                self.AE_run = DDP(self.ae, device_ids=ids)
        if self.compile:
            if self.kind == "gan":
                self.G_run, self.D_run = torch.compile(self.G_run), torch.compile(self.D_run)
            else:
                self.AE_run = torch.compile(self.AE_run)
        if self.kind == "gan":  # what D sees goes through the --augment policy, if any
            self.D_judge = Augmented(self.D_run, self.args["augment"]) if self.args["augment"] else self.D_run
        step = self._gan_iteration if self.kind == "gan" else self._ae_iteration
        self.iterate = self._graphed(step) if self.cuda_graphs else step

    # -- data ----------------------------------------------------------------------------------------
    def _new_epoch(self):
        self.perm = torch.randperm(len(self.data), generator=self.data_gen)
        self._set_shard()
        self.pos = 0
        self.epoch += 1

    def _set_shard(self):
        shard = self.perm[self.rank::self.world][: self.batches_per_epoch * self.M]
        self.shard = shard.to(self.device)

    def _next_batch(self):
        if self.shard is None or self.pos + self.M > self.shard.numel():
            self._new_epoch()
        idx = self.shard[self.pos:self.pos + self.M]
        self.pos += self.M
        return self.X[idx], (self.Y[idx] if self.Y is not None else None)

    # -- one iteration --------------------------------------------------------------------------------
    def _amp(self):
        if not self.autocast:
            return contextlib.nullcontext()
        # (a CUDA graph must not keep autocast's cast-weight cache, which is freed when the region ends)
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=not self.cuda_graphs)

    def _gan_iteration(self):
        G, D, obj, M, dev = self.G_run, self.D_judge, self.objective, self.M, self.device
        fake = y = None
        for k in range(self.K):
            x, y = self._next_batch()
            z = torch.randn(M, self.latent_dim, device=dev)
            keep = self.args["reuse_fake"] and k == self.K - 1
            with self._amp():
                if keep:
                    fake = G(z, y)
                else:
                    with torch.no_grad():
                        fake = G(z, y)
                d_loss, d_stats = obj.discriminator_step_loss(D, x, fake.detach(), y)
            self.d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_opt.step()
            obj.after_discriminator_step(self.D)
        if not self.args["reuse_fake"]:
            z = torch.randn(M, self.latent_dim, device=dev)
            if self.label_prior is not None:
                y = torch.multinomial(self.label_prior, M, replacement=True)
            else:
                y = torch.randint(self.num_classes, (M,), device=dev) if self.num_classes else None
            with self._amp():
                fake = G(z, y)
        for p in self.d_params:  # D's weight gradients are not needed in the G step
            p.requires_grad_(False)
        try:
            with self._amp(), (self.D_run.no_sync() if self.dist is not None else contextlib.nullcontext()):
                g_loss, g_stats = obj.generator_step_loss(D, fake, y)
            self.g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        self.g_opt.step()
        self._ema_update()
        rep = obj.report
        row = [d_loss.detach(), g_loss.detach(), rep(d_stats["d_real"].float()).mean(),
               rep(d_stats["d_fake"].float()).mean(), rep(g_stats["d_fake"].float()).mean()]
        names = ["d_loss", "g_loss", "d_x", "d_g_z", "d_g_z_g"]
        for key, val in list(d_stats.items()) + list(g_stats.items()):
            if key not in ("d_real", "d_fake"):
                names.append(key)
                row.append(val.float().mean())
        return names, row

    def _ae_iteration(self):
        x, y = self._next_batch()
        with self._amp():
            loss, stats = self.AE_run(x, y)
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        self._ema_update()
        names, row = ["loss"], [loss.detach()]
        for key, val in stats.items():
            names.append(key)
            row.append(val.float().mean())
        return names, row

    @torch.no_grad()
    def _ema_update(self):
        if self.ema_G is None:
            return
        torch._foreach_lerp_(self._ema_pairs[0], self._ema_pairs[1], 1.0 - self.args["ema"])
        for b_ema, b in self._ema_buffers:
            b_ema.copy_(b)

    # -- CUDA graphs ------------------------------------------------------------------------------------
    GRAPH_WARMUP = 3

    def _graphed(self, step):
        """``step`` (one training iteration) replayed as one CUDA graph: G and D steps, optimiser updates
        and EMA launch as a single graph instead of hundreds of kernels from Python, which is what a small
        GAN is limited by on a GPU. The first GRAPH_WARMUP iterations run eagerly on a side stream (real
        training steps, which also create the optimiser state and settle cuDNN's algorithm choices, as
        torch.cuda.graph asks), the next is captured; then each iteration copies its real batches into
        the graph's static input buffers and replays. Noise is drawn inside the graph (fresh each replay)."""
        n_batches = self.K if self.kind == "gan" else 1
        st = {"graph": None, "warm": 0, "bufs": None, "i": 0, "out": None}
        eager_next = self._next_batch

        def static_next():
            pair = st["bufs"][st["i"]]
            st["i"] += 1
            return pair

        def run():
            batches = [eager_next() for _ in range(n_batches)]
            if st["bufs"] is None:
                st["bufs"] = [(x.clone(memory_format=torch.preserve_format), None if y is None else y.clone())
                              for x, y in batches]
            else:
                for (sx, sy), (x, y) in zip(st["bufs"], batches):
                    sx.copy_(x)
                    if sy is not None:
                        sy.copy_(y)
            st["i"] = 0
            if st["graph"] is not None:
                st["graph"].replay()
                return st["out"]
            self._next_batch = static_next
            try:
                if st["warm"] < self.GRAPH_WARMUP:
                    side = torch.cuda.Stream(self.device)
                    side.wait_stream(torch.cuda.current_stream(self.device))
                    with torch.cuda.stream(side):
                        out = step()
                    torch.cuda.current_stream(self.device).wait_stream(side)
                    st["warm"] += 1
                    return out
                graph = torch.cuda.CUDAGraph()
                try:
                    with torch.cuda.graph(graph):
                        st["out"] = step()
                except Exception as exc:
                    raise TrainingError(f"--cuda-graphs: this model and objective cannot be captured as a CUDA "
                                        f"graph ({type(exc).__name__}: {first_line(exc)}); train without "
                                        "--cuda-graphs") from exc
                st["graph"] = graph
                graph.replay()
                return st["out"]
            finally:
                del self._next_batch  # back to the method

        return run

    # -- the loop --------------------------------------------------------------------------------------
    def run(self):
        self._setup()
        try:
            return self._run()
        finally:
            if getattr(self, "_owns_pg", False) and self.dist is not None and self.dist.is_initialized():
                self.dist.destroy_process_group()

    def _run(self):
        from tqdm import tqdm

        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            self._rewrite_metrics()
            ckpt.prune(self.ckpt_root, keep=self.keep)
            if self.step == 0:
                self._eval_and_plots(final=False, initial=True)
        self._barrier()
        show = self.is_main and (self.progress if self.progress is not None else True)
        bar = tqdm(total=self.steps, initial=self.step, disable=not show, unit="step", dynamic_ncols=True,
                   desc=f"{self.vspec.name}/{self.args['objective']}", file=sys.stderr, smoothing=0.1)
        iteration = self.iterate
        self._rows, self._row_start, self._t0 = [], self.step, time.perf_counter()
        self._stop = False
        old_handler = self._install_sigint()
        self.model.train()
        try:
            while self.step < self.steps:
                if self.args.get("lr_schedule") == "linear":
                    self._scale_lr(1.0 - self.step / self.steps)
                names, row = iteration()
                self._names = names
                self._rows.append(torch.stack(row))
                self.step += 1
                bar.update(1)
                s = self.step
                last = s == self.steps
                if s % self.log_every == 0 or last or self._stop:
                    self._flush(bar)
                if s % self.checkpoint_every == 0 or last or self._stop:
                    self._checkpoint()
                if self.is_main and (s % self.sample_every == 0 or last):
                    self._eval_and_plots(final=last)
                if self._stop:
                    raise TrainingError(f"interrupted at step {s}; checkpoint saved. Continue with "
                                        f"ganzoo train --resume --out {self.out}")
        finally:
            bar.close()
            self._restore_sigint(old_handler)
        self._barrier()
        return self.export_model().eval()

    def _scale_lr(self, factor: float) -> None:
        for opt, key in ((self.g_opt, "g_lr"), (getattr(self, "d_opt", None), "d_lr")):
            if opt is not None:
                for group in opt.param_groups:
                    if torch.is_tensor(group["lr"]):  # --cuda-graphs: the captured update reads it
                        group["lr"].fill_(self.args[key] * factor)
                    else:
                        group["lr"] = self.args[key] * factor

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

    @staticmethod
    def _restore_sigint(old):
        if old is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, old)

    def _barrier(self):
        if self.dist is not None:
            self.dist.barrier()

    # -- logging ----------------------------------------------------------------------------------------
    def _flush(self, bar=None):
        if not self._rows:
            return
        rows = torch.stack(self._rows).float()
        n = rows.shape[0]
        finite = torch.isfinite(rows)
        bad_row = int((~finite.all(1)).float().argmax()) if not bool(finite.all()) else -1
        stats = rows.mean(0)
        if self.dist is not None:
            flag = torch.tensor([bad_row if bad_row >= 0 else n], dtype=torch.float64, device=self._comm_device())
            self.dist.all_reduce(flag, op=self.dist.ReduceOp.MIN)
            stats = stats.to(self._comm_device())
            self.dist.all_reduce(stats)
            stats = stats / self.world
            bad_row = int(flag.item()) if int(flag.item()) < n else -1
        if bad_row >= 0:
            step = self._row_start + bad_row + 1
            row = rows[bad_row]
            which = [nm for nm, v in zip(self._names, row.tolist()) if not math.isfinite(v)]
            name = which[0] if which else self._names[0]
            value = row[self._names.index(name)].item() if which else float("nan")
            good = ckpt.find_latest(self.ckpt_root)
            keep = f"the last good checkpoint ({good.name}) is in {self.ckpt_root}" if good else "no checkpoint was written"
            raise TrainingError(f"non-finite loss at step {step}: {name} = {value}; stopped, {keep}. "
                                "Lower the learning rate (--lr) or try another objective, then --resume")
        elapsed = time.perf_counter() - self._t0
        rec = {"step": self.step, "epoch": self.epoch, "time": round(elapsed, 4),
               "steps_per_s": round(n / elapsed, 3) if elapsed > 0 else None}
        rec.update({nm: round(float(v), 6) for nm, v in zip(self._names, stats.tolist())})
        self._rows, self._row_start, self._t0 = [], self.step, time.perf_counter()
        if self.is_main:
            self._log(rec)
            if bar is not None:
                keys = ("d_loss", "g_loss", "d_x", "d_g_z") if self.kind == "gan" else tuple(self._names)
                labels = {"d_x": "D(x)", "d_g_z": "D(G(z))"}
                bar.set_postfix({labels.get(k, k): f"{rec[k]:.3g}" for k in keys if k in rec}, refresh=False)

    def _comm_device(self):
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def _log(self, rec: dict):
        self.history.append(rec)
        line = json.dumps(rec, sort_keys=True, allow_nan=True) + "\n"
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line)

    def _rewrite_metrics(self):
        """Keep only whole lines for steps up to where we (re)start; a killed run may have logged past its
        last checkpoint or left half a line."""
        from .fsutil import atomic_write_text

        path = self.out / "metrics.jsonl"
        self.history = []
        if not path.exists():
            return
        keep = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= self.step:
                keep.append(rec)
        self.history = keep
        atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))

    # -- samples, curves, evaluation ---------------------------------------------------------------------
    def _sampler(self):
        return self.ema_G if self.ema_G is not None else self.model.generator

    @torch.no_grad()
    def _eval_and_plots(self, *, final: bool, initial: bool = False):
        from . import images
        from .data.sources import Mixture
        from .metrics.suite import eval_labels
        from .model import to_unit

        G = self._sampler()
        n = 64
        y = torch.arange(n, device=self.device) % self.num_classes if self.num_classes else None
        was = G.training
        G.eval()
        try:
            if isinstance(self.data, Mixture):
                z = torch.randn(MIXTURE_EVAL_SAMPLES, self.latent_dim,
                                generator=torch.Generator().manual_seed(self.args["seed"] + 1)).to(self.device)
                ym = eval_labels(self.model, MIXTURE_EVAL_SAMPLES, self.args["seed"] + 1)
                pts = G(z, None if ym is None else ym.to(self.device)).float().cpu()
                rec = {"step": self.step, "event": "eval", **mixture_stats(pts, self.data.centres, self.data.std)}
                self._log(rec)
                img = images.scatter(pts[:1000], self.data.centres, title=f"step {self.step}")
            elif self.model.is_image:
                z = torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(self.args["seed"]))
                x = G(z.to(self.device), y).float()
                img = images.grid(to_unit(x, G.output_range).cpu())
            else:
                img = None
        finally:
            G.train(was)
        if img is not None:
            images.save_png(img, self.out / "samples" / f"step-{self.step:08d}.png")
            images.save_png(img, self.out / "samples.png")
        if not initial:
            self._plot_curves()

    def _plot_curves(self):
        from . import images

        recs = [r for r in self.history if "event" not in r]
        if not recs:
            return

        def series(*keys):
            return {k: ([r["step"] for r in recs if k in r], [r[k] for r in recs if k in r]) for k in keys
                    if any(k in r for r in recs)}

        if self.kind == "gan":
            panels = {"losses": series("d_loss", "g_loss"), "D(x) and D(G(z))": series("d_x", "d_g_z")}
            extra = [k for k in self._names if k not in ("d_loss", "g_loss", "d_x", "d_g_z", "d_g_z_g")]
            if extra:
                panels["extras"] = series(*extra)
        else:
            panels = {"loss": series(*self._names)}
        evals = [r for r in self.history if r.get("event") == "eval"]
        if evals:
            panels["distance to nearest mode"] = {"mode_distance": ([r["step"] for r in evals],
                                                                    [r["mode_distance"] for r in evals])}
        images.save_png(images.curves(panels), self.out / "curves.png")

    # -- checkpoints ----------------------------------------------------------------------------------------
    def _gather(self, t: torch.Tensor) -> list:
        if self.dist is None:
            return [t]
        dev = self._comm_device()
        t = t.to(dev)
        out = [torch.empty_like(t) for _ in range(self.world)]
        self.dist.all_gather(out, t)
        return [o.cpu() for o in out]

    def param_checksum(self) -> torch.Tensor:
        mods = [self.model] + ([self.ema_G] if self.ema_G is not None else [])
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for m in mods:
            for p in m.parameters():
                total += p.detach().double().sum()
        return total.reshape(1)

    def _checkpoint(self):
        self._flush()
        finite = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not finite:
            good = ckpt.find_latest(self.ckpt_root)
            raise TrainingError(f"weights became non-finite by step {self.step}; stopped"
                                f"{f', the last good checkpoint ({good.name}) is kept' if good else ''}. "
                                "Lower the learning rate (--lr), then --resume")
        sums = self._gather(self.param_checksum())
        rng = self._gather(torch.get_rng_state())
        cuda_rng = self._gather(torch.cuda.get_rng_state(self.device)) if self.device.type == "cuda" else []
        if self.dist is not None and self.is_main:
            values = [float(s.item()) for s in sums]
            self._log({"step": self.step, "event": "sync", "param_checksums": values})
            if len(set(values)) != 1:
                raise TrainingError(f"data-parallel ranks are out of sync at step {self.step}: "
                                    f"parameter checksums {values}")
        if self.is_main:
            tensors, meta = {}, {"args": self.args, "epoch": self.epoch, "pos": self.pos, "opt": {},
                                 "torch_version": torch.__version__, "history_len": len(self.history)}
            for name, t in self.model.components.state_dict().items():
                tensors[f"model.{name}"] = t.detach().cpu().contiguous()
            if self.ema_G is not None:
                for name, t in self.ema_G.state_dict().items():
                    tensors[f"ema.{name}"] = t.detach().cpu().contiguous()
            for key, opt in self.opts.items():
                meta["opt"][key] = ckpt.split_optimizer(f"opt.{key}", opt.state_dict(), tensors)
            for r, t in enumerate(rng):
                tensors[f"rng.torch.{r}"] = t
            for r, t in enumerate(cuda_rng):
                tensors[f"rng.cuda.{r}"] = t
            tensors["rng.data"] = self.data_gen.get_state()
            if self.perm is not None:
                tensors["data.perm"] = self.perm.cpu()
            ckpt.write(self.ckpt_root, self.step, tensors, meta, keep=self.keep)
            self.export_model().save(self.out)
        self._barrier()

    def _restore(self, folder):
        tensors, meta = ckpt.read(folder)
        if meta["args"].get("world_size", 1) != self.world:
            raise ConfigError(f"--resume: the checkpoint was written by {meta['args'].get('world_size')} processes, "
                              f"this run has {self.world}; resume with the same number")
        try:
            self.model.components.load_state_dict(
                {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
            if self.ema_G is not None:
                self.ema_G.load_state_dict({k[len("ema."):]: v for k, v in tensors.items() if k.startswith("ema.")},
                                           strict=True)
            for key, opt in self.opts.items():
                opt.load_state_dict(ckpt.join_optimizer(f"opt.{key}", meta["opt"][key], tensors))
                _match_state_layout(opt)
                self._lr_on_device(opt)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise TrainingError(f"checkpoint {folder} does not fit this model: {first_line(exc)}") from None
        torch.set_rng_state(tensors[f"rng.torch.{self.rank}"])
        if self.device.type == "cuda" and f"rng.cuda.{self.rank}" in tensors:
            torch.cuda.set_rng_state(tensors[f"rng.cuda.{self.rank}"], self.device)
        self.data_gen.set_state(tensors["rng.data"])
        self.epoch, self.pos = int(meta["epoch"]), int(meta["pos"])
        if "data.perm" in tensors:
            self.perm = tensors["data.perm"]
            if self.perm.numel() != len(self.data):
                raise ConfigError(f"--resume: the data changed size ({self.perm.numel()} -> {len(self.data)} samples)")
            self._set_shard()
        self.step = int(meta["step"])
        if self.step > self.steps:
            raise ConfigError(f"--resume: the checkpoint is at step {self.step}, past --steps {self.steps}; "
                              "ask for more steps")

    # -- the result ------------------------------------------------------------------------------------
    def export_model(self):
        """The model to publish: the trained components (the EMA generator with ``ema``), in eval mode."""
        from .model import Model

        comps = dict(self.model.components.items())
        if self.ema_G is not None:
            comps["generator"] = self.ema_G
        m = self.model
        training = dict(self.training_meta, steps_done=self.step)
        last = next((r for r in reversed(self.history) if r.get("event") == "eval"), None)
        metrics = m.meta.get("metrics")
        if last is not None:
            metrics = dict(metrics or {}, **{k: v for k, v in last.items() if k not in ("step", "event")})
        out = Model(variant=m.variant, objective=m.objective, config=m.config, components=comps,
                    objective_config=m.objective_config, dataset=m.meta.get("dataset"),
                    labels=m.meta.get("labels"), label_prior=m.meta.get("label_prior"), training=training,
                    metrics=metrics)
        return out


def _match_state_layout(opt) -> None:
    """Give restored optimiser state (saved contiguous) its parameter's memory layout (channels-last
    weights get channels-last moments, as in an uninterrupted run), so a resumed run is bit-exact."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for name, v in state.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    state[name] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def mixture_stats(points: torch.Tensor, centres: torch.Tensor, std: float) -> dict:
    """Mean distance of samples to their nearest mode, share of 'high-quality' samples (within 3 std)
    and how many modes hold at least one such sample (VEEGAN/PacGAN's mode count)."""
    pts = points.double()
    finite = torch.isfinite(pts).all(1)
    pts = pts[finite]
    if not len(pts):
        return {"mode_distance": float("inf"), "high_quality": 0.0, "modes_covered": 0}
    d = torch.cdist(pts, centres.double())
    dist, nearest = d.min(1)
    good = dist <= 3 * std
    return {"mode_distance": round(float(dist.mean()), 6),
            "high_quality": round(float(good.double().mean()) * float(finite.double().mean()), 6),
            "modes_covered": int(torch.unique(nearest[good]).numel())}


def _norm(v):
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _show(v):
    return json.dumps(v) if not isinstance(v, str) else v


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["train", "Trainer", "mixture_stats"]
