"""What a checkpoint holds, so that a resumed run continues bit for bit (on CPU) as if never stopped.

:func:`state_dict` collects, as safetensors tensors plus JSON: the model's components (``model.*``), the
averaged components and their update count (``ema.<component>.*``, ``ema.count``), each optimiser's state
(``opt.g.*``, ``opt.d.*``; hyper-parameters in the JSON), the torch RNG state of every process
(``rng.torch.R``, ``rng.cuda.R``), the data order (``rng.data``, ``data.perm``, epoch and offset), the running
statistics of the loss terms (``term.pl.mean.R``: ``--pl``'s mean path length, per process;
``term.r1.last_d.R``: a lazy term's last value), the step and the run's arguments (``args``:
:meth:`TrainConfig.to_args`).
:func:`load_state_dict` puts it all back. The folder format (atomic writes, digests, ``latest``, pruning) is
:mod:`ganzoo.training.checkpoint`'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import ConfigError, TrainingError, first_line
from . import checkpoint as ckpt


def read_meta(folder) -> dict:
    """The JSON of checkpoint ``folder`` (not its tensors)."""
    try:
        return json.loads((Path(folder) / ckpt.META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"checkpoint {folder}: unreadable ({exc})") from None


def param_checksum(trainer) -> torch.Tensor:
    """The sum of all parameters (model and EMA) in float64: equal on every process of a data-parallel run."""
    mods = [trainer.model] + ([trainer.ema.modules] if trainer.ema is not None else [])
    total = torch.zeros((), dtype=torch.float64, device=trainer.device)
    for m in mods:
        for p in m.parameters():
            total += p.detach().double().sum()
    return total.reshape(1)


def state_dict(trainer) -> tuple[dict, dict]:
    """(tensors, JSON) of the trainer's state. Under data parallelism every process calls it (the RNG states
    are gathered); the result is complete on every process."""
    t = trainer
    rng = t.dist.gather(torch.get_rng_state())
    cuda_rng = t.dist.gather(torch.cuda.get_rng_state(t.device)) if t.device.type == "cuda" else []
    data_tensors, data_meta = t.batches.state()
    tensors, meta = {}, {"args": t.config.to_args(), **data_meta, "opt": {},
                         "torch_version": torch.__version__, "history_len": len(t.monitor.history)}
    for name, v in t.model.components.state_dict().items():
        tensors[f"model.{name}"] = v.detach().cpu().contiguous()
    if t.ema is not None:
        for name, v in t.ema.state().items():
            tensors[f"ema.{name}"] = v.detach().cpu().contiguous()
    for key, opt in t.optimizers.items():
        meta["opt"][key] = ckpt.split_optimizer(f"opt.{key}", opt.state_dict(), tensors)
    for r, v in enumerate(rng):
        tensors[f"rng.torch.{r}"] = v
    for r, v in enumerate(cuda_rng):
        tensors[f"rng.cuda.{r}"] = v
    for name, v in term_state(t).items():   # each process's own running statistics (--pl's mean)
        for r, value in enumerate(t.dist.gather(v.detach())):
            tensors[f"{name}.{r}"] = value.cpu().clone()
    tensors.update(data_tensors)
    meta["step"] = t.steps_done
    return tensors, meta


def term_state(trainer) -> dict:
    """The running statistics of the step's auxiliary loss terms (a term's optional ``state``: a dict of
    tensors it updates in place), as ``term.<name>.<key>`` -> tensor, and the last value of each lazy term
    (logged at the steps it skips) as ``term.<name>.last_<phase>``."""
    out = {f"term.{term.name}.{key}": v for term in trainer.iteration.terms
           for key, v in getattr(term, "state", {}).items()}
    for key, v in trainer.iteration.held.items():
        phase, name = key.split(".", 1)
        out[f"term.{name}.last_{phase}"] = v
    return out


def load_state_dict(trainer, tensors: dict, meta: dict, *, where="checkpoint") -> None:
    """Put a :func:`state_dict` back into a set-up trainer."""
    t = trainer
    if meta["args"].get("world_size", 1) != t.dist.world:
        raise ConfigError(f"--resume: the checkpoint was written by {meta['args'].get('world_size')} processes, "
                          f"this run has {t.dist.world}; resume with the same number")
    try:
        t.model.components.load_state_dict(
            {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
        if t.ema is not None:
            t.ema.load_state({k[len("ema."):]: v for k, v in tensors.items() if k.startswith("ema.")})
        for key, opt in t.optimizers.items():
            opt.load_state_dict(ckpt.join_optimizer(f"opt.{key}", meta["opt"][key], tensors))
            match_state_layout(opt)
            t.prepare_optimizer(opt)
        for name, v in term_state(t).items():
            v.copy_(tensors[f"{name}.{t.dist.rank}"])   # in place: a captured CUDA graph reads this tensor
    except (RuntimeError, KeyError, ValueError) as exc:
        raise TrainingError(f"{where} does not fit this model: {first_line(exc)}") from None
    rank = t.dist.rank
    torch.set_rng_state(tensors[f"rng.torch.{rank}"])
    if t.device.type == "cuda" and f"rng.cuda.{rank}" in tensors:
        torch.cuda.set_rng_state(tensors[f"rng.cuda.{rank}"], t.device)
    t.batches.restore(tensors, meta)
    t.steps_done = int(meta["step"])


def match_state_layout(opt) -> None:
    """Give restored optimiser state (saved contiguous) its parameter's memory layout (channels-last
    weights get channels-last moments, as in an uninterrupted run), so a resumed run is bit-exact."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for name, v in state.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    state[name] = torch.empty_like(p, dtype=v.dtype).copy_(v)
