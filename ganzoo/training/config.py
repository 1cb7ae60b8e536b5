"""The run arguments: :class:`TrainConfig`, the one list of everything ``ganzoo train`` and
:func:`ganzoo.train` accept.

Each field carries, in its metadata, what the rest of ganzoo derives from it:

- ``cli``: the ``ganzoo train`` option (declarations, help, type); ``commands/train.py`` builds the click
  options from it, in field order (``None``: Python only);
- ``stored``: written to the checkpoint's ``state.json`` ``args`` (a resumed run reads its run from there);
- ``fixed``: ``--resume`` refuses a different value (``label`` names it in the message); a stored field
  that is not fixed (``--steps``, ``--log-every``, ``--checkpoint-every``, ...) keeps its stored value on
  resume unless given again;
- ``card``: part of the model's ``training`` record (config.json, the model card's "Training" section;
  ``"if set"``: only when given, so that a run without it records what it did before the option existed);
- ``keyword``: a keyword argument of :func:`ganzoo.train` (every field but the two facts ganzoo resolves:
  ``optimizer``, ``world_size``).

To add a run option, add one field here (and use it where it acts). :func:`resolve` turns what the user gave
into a complete, validated config (defaults from the objective, checks); it runs in the trainer, before
anything is written. This module imports neither torch nor click.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from ..errors import ConfigError

LR_SCHEDULES = ("constant", "linear")  # linear: decay to 0 at the last step
STAGES = ("prior",)   # a later training stage: prior fits a model's prior component (steps.STAGE_STEPS)
EXPORTS = ("ema", "raw")  # with --ema: the generator the model folder holds


def _arg(default=None, *decls, help=None, stored=True, fixed=True, card=True, keyword=True, label=None, **cli):
    """A TrainConfig field; ``decls``/``help``/``cli`` describe its ``ganzoo train`` option (none: no option)."""
    opt = dict(cli, decls=decls, help=help) if decls else None
    meta = dict(cli=opt, stored=stored, fixed=fixed, card=card, keyword=keyword,
                label=label or (next((d for d in decls if d.startswith("--")), None) if decls else None))
    return field(default_factory=default, metadata=meta) if callable(default) else field(default=default, metadata=meta)


def _session(default=None, *decls, help=None, **cli):
    """How this invocation runs (device, ...): not stored, free to change on resume."""
    return _arg(default, *decls, help=help, stored=False, fixed=False, card=False, **cli)


def _kept(default=None, *decls, help=None, **cli):
    """How the run logs and checkpoints: stored, so a resumed run keeps it unless given again."""
    return _arg(default, *decls, help=help, stored=True, fixed=False, card=False, **cli)


@dataclass
class TrainConfig:
    """One training run's arguments (see the module docstring for what is derived from these fields)."""

    # -- what is trained on what (stored, fixed on resume) ----------------------------------------
    variant: Optional[str] = _arg(None, "VARIANT", argument=True, card=False, label="VARIANT")
    objective: Optional[str] = _arg(None, "--objective", "-O", help="Objective (default: the variant's own, e.g. "
                                    "non-saturating for the GANs; ganzoo info --variant NAME shows it). See ganzoo "
                                    "list --objectives.")
    data: Optional[str] = _arg(None, "--data", "-d", help="Dataset: ring8, grid25, digits, mnist:DIR, folder:DIR.")
    out: Optional[str] = _session(None, "--out", "-o", required=True, type="folder", help="Output model folder.")
    steps: Optional[int] = _arg(None, "--steps", type=int, fixed=False,
                                help="Generator iterations (optimiser steps for a VAE/AE).")
    epochs: Optional[float] = _arg(None, "--epochs", type=float, fixed=False, card=False,
                                   help="Passes over the data, instead of --steps.")
    batch_size: Optional[int] = _arg(None, "--batch-size", "-b", type=int,
                                     help="Samples per step and process (M).  [default: 64]")
    d_steps: Optional[int] = _arg(None, "--d-steps", "-k", type=int,
                                  help="Discriminator steps per generator step (K; default: the objective's).")
    lr: Optional[float] = _arg(None, "--lr", type=float, stored=False, fixed=False, card=False,
                               help="Learning rate of both optimisers (default: the variant's or the objective's).")
    g_lr: Optional[float] = _arg(None, "--g-lr", type=float, label="--g-lr/--lr",
                                 help="Generator (or autoencoder) learning rate.")
    d_lr: Optional[float] = _arg(None, "--d-lr", type=float, label="--d-lr/--lr",
                                 help="Discriminator/critic learning rate.")
    betas: Optional[list] = _arg(None, "--betas", parse="betas", help="Adam betas, e.g. 0.5,0.999.")
    lr_schedule: Optional[str] = _arg(None, "--lr-schedule", choices=LR_SCHEDULES,
                                      help="constant (default) or linear decay to 0 at the last step.")
    seed: Optional[int] = _arg(None, "--seed", type=int,
                               help="Random seed (same seed, same run on CPU).  [default: 0]")
    ema: Optional[float] = _arg(None, "--ema", type=float, help="Keep an exponential moving average of G with this "
                                "decay (e.g. 0.999), warmed up as min(decay, (1+t)/(10+t)) at step t, its "
                                "BatchNorm statistics recomputed for the averaged weights; the model folder holds "
                                "the average unless --export raw.")
    export: Optional[str] = _arg(None, "--export", choices=EXPORTS, fixed=False, card="if set",
                                 help="With --ema: the generator the model folder holds, the average (ema, the "
                                      "default) or the trained one (raw). Checkpoints hold both: --resume "
                                      "--export raw (no more steps) switches a finished run's folder.")
    conditional: Optional[bool] = _arg(None, "--conditional", is_flag=True,
                                       help="Class-conditional model; labels from the data.")
    config: Optional[dict] = _arg(None, "--set", multiple=True, metavar="KEY=VALUE", parse="key_values",
                                  help="Variant config (JSON value), repeatable: --set latent_dim=2 "
                                       "--set g_hidden=[128,128].")
    objective_config: Optional[dict] = _arg(None, "--objective-set", multiple=True, metavar="KEY=VALUE",
                                            parse="key_values", card=False,
                                            help="Objective config, e.g. --objective-set gp_weight=5.")
    data_options: Optional[dict] = _arg(None, "--data-opt", multiple=True, metavar="KEY=VALUE", parse="key_values",
                                        help="Dataset option, e.g. --data-opt image_size=32 for folder:DIR.")
    reuse_fake: Optional[bool] = _arg(None, "--fresh-noise/--reuse-fake", parse="not",
                                      help="G step on fresh noise (Goodfellow) or on the D step's fake batch "
                                           "(pytorch DCGAN; the default when K == 1).")
    augment: Any = _arg(None, "--augment", metavar="POLICY", help="Differentiable augmentation of every image D "
                        "sees, real and generated (DiffAugment): translation, cutout or both, e.g. "
                        "--augment translation,cutout.")
    r1: Optional[float] = _arg(None, "--r1", type=float, metavar="GAMMA", card="if set",
                               help="Add the R1 penalty GAMMA/2 E||grad D(x)||^2 on real data to D's loss "
                                    "(any GAN objective).")
    r2: Optional[float] = _arg(None, "--r2", type=float, metavar="GAMMA", card="if set",
                               help="Add the R2 penalty GAMMA/2 E||grad D(G(z))||^2 on generated data to D's loss.")
    gp: Optional[float] = _arg(None, "--gp", type=float, metavar="W", card="if set",
                               help="Add the WGAN-GP gradient penalty W E(||grad D(x_hat)||-1)^2 to D's loss.")
    pl: Optional[float] = _arg(None, "--pl", type=float, metavar="W", card="if set",
                               help="Add StyleGAN2's path-length penalty W E(||J^T u|| - a)^2 to G's loss (J: the "
                                    "Jacobian of G in z, or in w for a generator with a mapping network; a: the "
                                    "lengths' running mean).")
    r1_every: Optional[int] = _arg(None, "--r1-every", type=int, metavar="N", card="if set",
                                   help="Lazy R1 (StyleGAN2: 16): apply --r1 at every N-th D step, N times as strong.")
    pl_every: Optional[int] = _arg(None, "--pl-every", type=int, metavar="N", card="if set",
                                   help="Lazy path length (StyleGAN2: 4): apply --pl at every N-th G step, N times "
                                        "as strong.")
    init: Optional[str] = _arg(None, "--init", metavar="MODEL", card="if set",
                               help="Start from the weights of MODEL (a model folder, a zoo name or "
                                    "hf://org/repo): its variant, objective and config unless given; components it "
                                    "lacks (a zoo model's discriminator) start fresh.")
    stage: Optional[str] = _arg(None, "--stage", choices=STAGES, card="if set",
                                help="prior: the second stage of a model with a learned prior (a VQ-VAE) -- fit "
                                     "its prior to the latents of the trained autoencoder --init MODEL, which "
                                     "stays fixed. Without it a run trains the model itself, and no prior.")
    # -- facts ganzoo resolves (stored) --------------------------------------------------------------
    optimizer: Optional[str] = _arg(None, keyword=False, fixed=False)
    world_size: int = _arg(1, keyword=False, label="the number of processes")
    # -- this invocation -------------------------------------------------------------------------------
    resume: bool = _session(False, "--resume", is_flag=True, help="Continue the run in --out from its latest "
                            "checkpoint.")
    device: str = _session("auto", "--device", show_default=True,
                           help="cpu, cuda, cuda:1, ... (auto: CUDA if present).")
    compile: bool = _session(False, "--compile", is_flag=True, help="torch.compile G and D.")
    cuda_graphs: bool = _session(False, "--cuda-graphs", is_flag=True,
                                 help="CUDA only: replay each training iteration as one captured CUDA graph.")
    precision: str = _session("auto", "--precision", choices=("auto", "fp32", "bf16"), show_default=True,
                              help="auto: bf16 autocast on CUDA, fp32 on CPU.")
    channels_last: Optional[bool] = _session(None)
    log_every: Optional[int] = _kept(None, "--log-every", type=int,
                                     help="Steps between metric lines.  [default: 50]")
    sample_every: Optional[int] = _kept(None, "--sample-every", type=int,
                                        help="Steps between sample grids and curve plots.")
    checkpoint_every: Optional[int] = _kept(None, "--checkpoint-every", type=int,
                                            help="Steps between checkpoints (and at the end).")
    keep: Optional[int] = _kept(None, "--keep", type=int, help="Checkpoints to keep.  [default: 2]")
    progress: Optional[bool] = _session(None, "--no-progress", is_flag=True, parse="no",
                                        help="No progress bar: one plain line per --log-every instead (also "
                                             "when stderr is not a terminal).")

    def __post_init__(self):
        if self.lr is not None:
            self.lr = number("--lr", self.lr, hi=10.0)  # --lr sets both learning rates unless one is given on its own
            self.g_lr = self.lr if self.g_lr is None else self.g_lr
            self.d_lr = self.lr if self.d_lr is None else self.d_lr
            self.lr = None
        if self.betas is not None and not isinstance(self.betas, str):
            self.betas = list(self.betas)

    # -- what is derived from the fields -----------------------------------------------------------------
    @classmethod
    def keywords(cls) -> tuple:
        """The keyword arguments of :func:`ganzoo.train` that are run arguments (the rest is variant config)."""
        return tuple(f.name for f in fields(cls) if f.metadata["keyword"])

    def to_args(self) -> dict:
        """The JSON stored in a checkpoint (``state.json`` ``args``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["stored"]}

    def training_record(self) -> dict:
        """The model's ``training`` record: how it was trained (config.json, the model card)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["card"] is True
                or (f.metadata["card"] and getattr(self, f.name) is not None)}

    def resumed(self, stored: dict) -> "TrainConfig":
        """The run stored in a checkpoint (``args``) with this invocation's session options and length;
        a ConfigError names the first fixed argument given that differs from the checkpoint's."""
        self.check_resume(stored)
        run = {f.name: stored.get(f.name, f.default) for f in fields(self) if f.metadata["stored"]}
        for f in fields(self):  # stored, free to change: what is given again wins (--log-every, ...)
            if f.metadata["stored"] and not f.metadata["fixed"] and getattr(self, f.name) is not None:
                run[f.name] = getattr(self, f.name)
        if self.steps is not None or self.epochs is not None:
            run["steps"], run["epochs"] = self.steps, self.epochs
        run["world_size"] = self.world_size
        return TrainConfig(**run, **{f.name: getattr(self, f.name) for f in fields(self) if not f.metadata["stored"]})

    def check_resume(self, stored: dict) -> None:
        from .augment import parse_policy

        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "augment":
                value = list(parse_policy(value)) or None
            if f.name == "config":
                value = value or None
            if not f.metadata["fixed"] or value is None or f.name not in stored:
                continue
            if f.name == "config":
                diff = {k: v for k, v in value.items() if stored["config"].get(k) != v}
                if diff:
                    k = sorted(diff)[0]
                    raise ConfigError(f"--resume: {f.metadata['label']} {k}={json.dumps(diff[k])} differs from the "
                                      f"checkpoint's {json.dumps(stored['config'].get(k))}; drop it or use a new --out")
            elif _norm(value) != _norm(stored[f.name]):
                raise ConfigError(f"--resume: {f.metadata['label'] or f.name} {_show(value)} differs from the "
                                  f"checkpoint's {_show(stored[f.name])}; drop it or start a new --out")


def python_names(message: str) -> str:
    """``message`` with each ``ganzoo train`` option named as :func:`ganzoo.train`'s keyword (``--steps`` ->
    ``steps``, ``--set`` -> ``config``), for errors raised to a Python caller."""
    import re

    names = {}
    for f in fields(TrainConfig):
        cli = f.metadata["cli"] or {}
        for decl in cli.get("decls", ()):
            for part in decl.split("/"):
                if part.startswith("--"):
                    names[part] = f.name
    return re.sub(r"--[a-z0-9-]+", lambda m: names.get(m.group(0), m.group(0)),
                  message)


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


def _bound(v) -> str:
    """A range's end as a reader writes it: 0 and 1000000000, not 0.0 and 1000000000.0."""
    return str(int(v)) if math.isfinite(v) and float(v).is_integer() else str(v)


def number(name, value, *, lo=0.0, hi=math.inf, integer=False, lo_open=True):
    """``value`` checked to lie in (lo, hi] (or [lo, hi]); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise ConfigError(f"{name} must be a{'n integer' if integer else ' number'}, not {value!r}")
    if not math.isfinite(value) or (value <= lo if lo_open else value < lo) or value > hi:
        raise ConfigError(f"{name} must be in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}], not {value!r}")
    return int(value) if integer else float(value)


def resolve(cfg: TrainConfig):
    """(the complete config, the variant's spec, the objective's spec): defaults filled in from the objective
    (d_steps, optimiser, learning rates, betas) and the variant's optimiser defaults (``VariantSpec.optimizer``,
    over the objective's when both name the same optimiser), every value checked; a ConfigError names the
    first bad one."""
    from .. import config as cfgmod
    from ..config import MAX_SEED
    from ..plugins import get_registry
    from ..registry import a_kind
    from .augment import parse_policy

    reg = get_registry()
    vspec = reg.variant(cfg.variant)
    objective = cfg.objective or vspec.default_objective
    reg.check_pairing(vspec.name, objective)
    ospec = reg.objective(objective)
    kind, a = vspec.kind, {}
    a["stage"] = cfg.stage
    if cfg.stage is not None and cfg.stage not in STAGES:
        raise ConfigError(f"--stage must be one of {', '.join(STAGES)}, not {cfg.stage!r}")
    adversarial = kind == "gan" and cfg.stage is None
    if cfg.stage is not None:
        for key, label in (("ema", "--ema"), ("augment", "--augment"), ("r1", "--r1"), ("r2", "--r2"), ("gp", "--gp"), ("pl", "--pl")):
            if getattr(cfg, key):
                raise ConfigError(f"{label} acts on the model's first stage; --stage {cfg.stage} trains the "
                                  f"{cfg.stage} alone, the rest stays fixed: drop {label}")
    a["objective"] = objective
    a["objective_config"] = cfgmod.validate(cfg.objective_config or {}, ospec.defaults,
                                            where=f"objective {objective!r}")
    a["config"] = dict(cfg.config or {})
    a["data_options"] = dict(cfg.data_options or {})
    a["conditional"] = bool(cfg.conditional)
    a["seed"] = int(number("--seed", cfg.seed or 0, lo=0, lo_open=False, hi=MAX_SEED, integer=True))
    a["batch_size"] = number("--batch-size", 64 if cfg.batch_size is None else cfg.batch_size, hi=65536,
                             integer=True)
    k = cfg.d_steps
    if adversarial:
        k = ospec.d_steps if k is None else number("--d-steps", k, hi=100, integer=True)
        if k < 1:
            raise ConfigError(f"objective {objective!r} asks for d_steps={k}; a GAN needs --d-steps >= 1")
    elif k not in (None, 0):
        raise ConfigError(f"--d-steps applies to GANs; {vspec.name!r} is {a_kind(kind)} trained on {objective!r}")
    a["d_steps"] = int(k or 0)
    opt = dict(ospec.optimizer or {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]})
    if vspec.optimizer and vspec.optimizer.get("name", "adam") == opt.get("name", "adam"):
        opt.update(vspec.optimizer)        # the architecture's published optimiser (SAGAN's TTUR), key by key
    if opt.get("name", "adam") not in ("adam", "rmsprop"):
        raise ConfigError(f"objective {objective!r} asks for optimiser {opt.get('name')!r}; "
                          "ganzoo knows adam and rmsprop")
    a["optimizer"] = opt.get("name", "adam")
    for key in ("g_lr", "d_lr"):
        a[key] = number(f"--{key.replace('_', '-')}", getattr(cfg, key), hi=10.0) or float(opt.get(key, opt.get("lr", 2e-4)))
    betas = cfg.betas
    if betas is None:
        betas = opt.get("betas", [0.9, 0.999]) if a["optimizer"] == "adam" else None
    elif a["optimizer"] != "adam":
        raise ConfigError(f"--betas applies to adam; objective {objective!r} uses {a['optimizer']}")
    if betas is not None:
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ConfigError(f"--betas must be two numbers in [0, 1), like 0.5,0.999; not {betas!r}")
        betas = [float(b) for b in betas]
    a["betas"] = betas
    a["lr_schedule"] = cfg.lr_schedule or "constant"
    if a["lr_schedule"] not in LR_SCHEDULES:
        raise ConfigError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, not {a['lr_schedule']!r}")
    ema = cfg.ema
    if ema is not None and ema != 0:
        if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 < ema < 1:
            raise ConfigError(f"--ema must be a decay in (0, 1) such as 0.999, not {ema!r}")
        ema = float(ema)
    a["ema"] = ema or None
    if cfg.export is not None and cfg.export not in EXPORTS:
        raise ConfigError(f"--export must be one of {', '.join(EXPORTS)}, not {cfg.export!r}")
    if cfg.export == "ema" and not ema:
        raise ConfigError("--export ema exports the moving average of G; train with --ema DECAY (e.g. 0.999)")
    a["export"] = (cfg.export or "ema") if ema else None
    a["reuse_fake"] = adversarial and (a["d_steps"] == 1 if cfg.reuse_fake is None else bool(cfg.reuse_fake))
    a["augment"] = list(parse_policy(cfg.augment))
    if a["augment"] and not adversarial:
        raise ConfigError(f"--augment transforms what a GAN's discriminator sees; {vspec.name!r} is {a_kind(kind)}")
    for key in ("r1", "r2", "gp", "pl"):
        a[key] = number(f"--{key}", getattr(cfg, key), lo=0.0, lo_open=False, hi=1e6)
        side = "generator" if key == "pl" else "discriminator"
        if a[key] and not adversarial:
            raise ConfigError(f"--{key} regularises a GAN's {side}; {vspec.name!r} is {a_kind(kind)}")
        if a[key] and cfg.compile:
            raise ConfigError(f"--{key} differentiates a gradient of the {side} (a double backward), which "
                              "torch.compile does not support; drop --compile")
    for key, of in (("r1_every", "r1"), ("pl_every", "pl")):
        flag = f"--{key.replace('_', '-')}"
        a[key] = number(flag, getattr(cfg, key), hi=10**6, integer=True)
        if a[key] is not None and not a[of]:
            raise ConfigError(f"{flag} makes --{of} lazy; give --{of} too (e.g. --{of} 0.1 {flag} {a[key]})")
    if cfg.steps is not None and cfg.epochs is not None:
        raise ConfigError("pass --steps or --epochs, not both")
    if cfg.steps is None and cfg.epochs is None:
        raise ConfigError("say how long to train: --steps N or --epochs E")
    a["steps"] = number("--steps", cfg.steps, hi=10**9, integer=True)
    a["epochs"] = number("--epochs", cfg.epochs, hi=1e6)
    return dataclasses.replace(cfg, **a), vspec, ospec
