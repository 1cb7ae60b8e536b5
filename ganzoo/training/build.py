"""Where and what a run trains: the device and precision, the model built for the data, its memory layout.

:func:`pick_device` checks ``--device``, ``--precision`` and ``--cuda-graphs`` together (before anything is
loaded). :func:`build_model` creates the variant for the data (``sample_shape`` and ``num_classes`` come from
the data; ``--conditional`` on k-means clusters keeps the clusters' shares as the model's ``label_prior``),
seeded with ``--seed``, optionally from a model's weights. :func:`memory_format` picks channels-last for
convolutional models where the convolutions prefer it.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, GanzooError, first_line


def pick_device(c, local_rank: int = 0, world: int = 1):
    """(the torch device, whether to autocast to bf16) for config ``c``; on CUDA also selects the device."""
    device = c.device
    if device in (None, "auto"):
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"--device {device!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available; use --device cpu")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        torch.backends.cudnn.benchmark = True
    if c.cuda_graphs and dev.type != "cuda":
        raise ConfigError("--cuda-graphs needs a CUDA device (--device cuda); on CPU drop it")
    if c.cuda_graphs and world > 1:
        raise ConfigError("--cuda-graphs is not supported with several processes (torchrun); drop it")
    if c.precision not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"--precision must be auto, fp32 or bf16, not {c.precision!r}")
    if c.precision == "bf16" and dev.type != "cuda":
        raise ConfigError("--precision bf16 needs a CUDA device; on CPU train in fp32")
    return dev, dev.type == "cuda" and c.precision in ("auto", "bf16")


def build_model(c, vspec, data, base_model=None, saved=None):
    """The model of config ``c`` (variant ``vspec``) for ``data``, with ``base_model``'s weights if given.
    ``saved``: a resumed run's model config (its ``config.json``), so the run rebuilds the model it saved
    even where the variant's defaults changed since (keys it lacks: the variant's ``former_defaults``)."""
    from ..model import create

    cfg = dict(c.config)
    defaults = vspec.defaults
    if saved:
        kept = {k: v for k, v in saved.items() if k in defaults and k not in ("sample_shape", "num_classes")}
        cfg = {**vspec.former_defaults, **kept, **cfg}
    if "sample_shape" in defaults:
        want = list(data.sample_shape)
        if "sample_shape" in cfg and list(cfg["sample_shape"]) != want:
            raise ConfigError(f"sample_shape {list(cfg['sample_shape'])} does not match the data: {c.data} "
                              f"has samples of shape {want}; drop --set sample_shape")
        cfg["sample_shape"] = want
    if cfg.get("num_classes"):
        raise ConfigError("use --conditional (it takes num_classes from the data) instead of --set num_classes")
    if c.conditional:
        if "num_classes" not in defaults:
            raise ConfigError(f"variant {vspec.name!r} cannot be class-conditional (no num_classes)")
        cfg["num_classes"] = data.num_classes
    torch.manual_seed(c.seed)
    meta = dict(dataset=c.data, labels=data.labels if c.conditional else None)
    if c.conditional and data.label_source == "clusters":
        from ..data.clusters import label_prior

        meta["label_prior"] = label_prior(data)
    try:
        model = create(vspec.name, c.objective, objective_config=c.objective_config, **meta, **cfg)
    except GanzooError:
        raise
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"variant {vspec.name!r} cannot be built with this config for samples of shape "
                          f"{list(data.sample_shape)} from {c.data}: {first_line(exc)}") from None
    if base_model is not None:
        start_from(model, base_model, where=getattr(c, "init", None) or "the model to start from")
    if tuple(model.sample_shape) != tuple(data.sample_shape):
        raise ConfigError(f"variant {vspec.name!r} makes samples of shape {list(model.sample_shape)} but "
                          f"{c.data} has {list(data.sample_shape)}")
    return model


def stage_components(model, stage, variant: str) -> None:
    """A first stage (``stage`` None) trains ``model`` without its prior, which a later ``--stage prior`` fits to
    the trained autoencoder: the run's model has no prior, and the folder it writes none."""
    if stage is None:
        model.keep_only([name for name in model.components if name != "prior"])
    elif stage not in model.components:
        raise ConfigError(f"--stage {stage}: variant {variant!r} has no {stage} component to train (it builds "
                          f"{', '.join(model.components)})")


def start_from(model, base, *, where: str) -> None:
    """Copy each of ``base``'s components into ``model``, strictly (every tensor, the same shapes; a
    :class:`~ganzoo.errors.WeightsError` names the first that differs). ``model``'s components that ``base``
    lacks keep their fresh initialisation (a zoo model ships no discriminator)."""
    from ..weights import check_tensors

    for name, comp in base.components.items():
        if name not in model.components:
            raise ConfigError(f"{where}: has a {name}, which variant {model.variant!r} does not build")
        theirs = comp.state_dict()
        check_tensors(f"{where} ({name})", model.components[name].state_dict(),
                      {k: list(v.shape) for k, v in theirs.items()})
        model.components[name].load_state_dict(theirs, strict=True)


def memory_format(model, data, device, c):
    """channels-last for conv models (any 4-D weight) on images (oneDNN and cuDNN convolutions prefer it; resume stays bit-exact
    because restored optimiser moments get their parameter's layout, see :func:`.state.match_state_layout`),
    unless ``channels_last=False`` -- and not by default when compiled on CUDA: torch 2.11's inductor mispredicts
    the weight-gradient layout of channels-last convolutions on 1x1 maps, such as DCGAN's first and last layers,
    and stops on its own stride check (seen on an H200)."""
    conv = any(p.dim() == 4 for p in model.parameters())   # conv weights, in nn.Conv2d or a plugin's own layers
    cl = c.channels_last if c.channels_last is not None else (
        conv and (device.type == "cpu" or (device.type == "cuda" and not c.compile)))
    return torch.channels_last if (cl and data.x.dim() == 4) else torch.contiguous_format
