"""A :class:`Model` bundles one variant's components with the JSON config that rebuilds them.

``create(variant, objective, **config)`` builds a fresh model; ``Model.save(folder)`` writes
``config.json`` + one safetensors file per component; :func:`load_folder` reads it back strictly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

import torch
from torch import nn

from . import config as cfgmod
from .errors import ConfigError, PluginError, WeightsError, first_line
from .fsutil import atomic_write_json
from .interfaces import Discriminator, Encoder, Generator, Prior, sample_count
from .plugins import get_registry
from .registry import resolve

COMPONENTS = cfgmod.COMPONENT_NAMES
COMPONENT_TYPES = {"generator": Generator, "discriminator": Discriminator, "encoder": Encoder, "prior": Prior}
META_KEYS = ("dataset", "labels", "label_prior", "training", "metrics")


class Model(nn.Module):
    """The components of one variant plus everything needed to rebuild them."""

    def __init__(self, *, variant: str, objective: str, config: dict, components: dict,
                 objective_config: Optional[dict] = None, **meta):
        super().__init__()
        if "generator" not in components:
            raise PluginError(f"variant {variant!r} built no generator")
        self.variant, self.objective, self.config = variant, objective, dict(config)
        self.objective_config = dict(objective_config or {})
        self.meta = {k: meta.get(k) for k in META_KEYS if meta.get(k) is not None}
        self.components = nn.ModuleDict(components)
        self._attach_prior()

    def _attach_prior(self) -> None:
        """The generator draws its latents from the ``prior`` component when the model has one."""
        self.generator.attach_prior(self.prior)

    # -- components ------------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        return self.components["generator"]

    @property
    def discriminator(self) -> Optional[Discriminator]:
        return self.components["discriminator"] if "discriminator" in self.components else None

    @property
    def encoder(self) -> Optional[Encoder]:
        return self.components["encoder"] if "encoder" in self.components else None

    @property
    def prior(self) -> Optional[Prior]:
        """The learned prior over the generator's latent (a second training stage's), or None: N(0, I)."""
        return self.components["prior"] if "prior" in self.components else None

    def keep_only(self, names: Iterable[str]) -> "Model":
        names = set(names)
        for name in list(self.components):
            if name not in names:
                del self.components[name]
        if "generator" in self.components:
            self._attach_prior()
        return self

    # -- the contract, forwarded -------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    @property
    def sample_shape(self) -> tuple:
        return self.generator.sample_shape

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    @property
    def kind(self) -> str:
        return get_registry().variant(self.variant).kind

    def forward(self, z, y=None):
        return self.generator(z, y)

    @property
    def label_prior(self) -> Optional[torch.Tensor]:
        """For a self-conditioned model (trained on k-means cluster labels, ``--data-opt clusters=K``):
        the clusters' shares, from which it draws its labels when sampled without any."""
        prior = self.meta.get("label_prior")
        return torch.tensor(prior, dtype=torch.float64) if prior else None

    def draw_labels(self, n: int, seed: Optional[int] = None) -> Optional[torch.Tensor]:
        """The ``n`` labels that :meth:`sample` uses when it is given none (None for an unconditional model).

        A self-conditioned model draws them from :attr:`label_prior` (same seed, same labels); a
        class-conditional model takes every class in turn, ``0, 1, ..., C-1, 0, 1, ...``: equal counts
        when ``n`` is a multiple of C (else the first ``n % C`` classes have one more), whatever the seed.
        These are also the labels ``ganzoo eval`` scores with, so ``sample(n, seed=s)`` returns exactly
        the samples that it scores."""
        n = sample_count(n)
        if not self.num_classes:
            return None
        prior = self.label_prior
        if n == 0:
            return torch.zeros(0, dtype=torch.long)
        if prior is None:
            return balanced_labels(n, self.num_classes)
        gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        return torch.multinomial(prior, n, replacement=True, generator=gen)

    def sample(self, n: int, *, seed: Optional[int] = None, y=None, truncation: Optional[float] = None) -> torch.Tensor:
        """``n`` samples, seeded; ``y``: a label (or one per sample) for a class-conditional model,
        by default the labels of :meth:`draw_labels` (equal counts of each class, taken in turn);
        ``truncation=psi``: z from the normal truncated to [-psi, psi] (the truncation trick).
        ``n == 0`` gives an empty batch."""
        n = sample_count(n)
        if y is None and self.num_classes:
            y = self.draw_labels(n, None if seed is None else seed + 1)
        kw = {} if truncation is None else {"truncation": truncation}
        return self.generator.sample(n, seed=seed, y=y, **kw)

    def sample_unit(self, n: int, *, seed: Optional[int] = None, y=None) -> torch.Tensor:
        """Samples with images mapped to [0, 1] (vectors as generated)."""
        return to_unit(self.sample(n, seed=seed, y=y), self.generator.output_range)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code (the mean for a VAE): the encoder as a feature extractor."""
        if self.encoder is None:
            raise ConfigError(f"model of variant {self.variant!r} has no encoder")
        out = self.encoder(x)
        return out[0] if isinstance(out, tuple) else out

    def make_objective(self):
        return objective(self.objective, **self.objective_config)

    # -- serialisation ------------------------------------------------------------------------
    def to_config(self) -> dict:
        from . import __version__

        g = self.generator
        out = {
            "format": cfgmod.FORMAT,
            "ganzoo_version": __version__,
            "variant": self.variant,
            "objective": self.objective,
            "objective_config": self.objective_config,
            "config": self.config,
            "latent_dim": g.latent_dim,
            "sample_shape": list(g.sample_shape),
            "num_classes": g.num_classes,
            "output_range": list(g.output_range) if g.output_range else None,
            "components": {
                name: {
                    "file": f"{name}.safetensors",
                    "class": f"{type(m).__module__}.{type(m).__qualname__}",
                    "parameters": sum(p.numel() for p in m.parameters()),
                }
                for name, m in self.components.items()
            },
        }
        out.update(self.meta)
        return out

    def save(self, folder, *, components: Optional[Iterable[str]] = None) -> Path:
        """Write ``config.json`` and ``<component>.safetensors`` (each file atomically)."""
        from .weights import save_module

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = list(components) if components is not None else list(self.components)
        for name in names:
            save_module(self.components[name], folder / f"{name}.safetensors",
                        metadata={"ganzoo_component": name, "ganzoo_variant": self.variant})
        cfg = self.to_config()
        cfg["components"] = {k: v for k, v in cfg["components"].items() if k in names}
        atomic_write_json(folder / "config.json", cfg)
        return folder


def balanced_labels(n: int, num_classes: int) -> torch.Tensor:
    """``0, 1, ..., num_classes - 1, 0, 1, ...``: ``n`` labels, each class in turn."""
    return torch.arange(n) % num_classes


def to_unit(x: torch.Tensor, output_range) -> torch.Tensor:
    if output_range is None:
        return x
    lo, hi = output_range
    return ((x - lo) / (hi - lo)).clamp_(0.0, 1.0)


def objective(name: str, **config):
    """Build an objective by name (e.g. ``objective("wgan-gp", gp_weight=5.0)``)."""
    spec = get_registry().objective(name)
    cfg = cfgmod.validate(config, spec.defaults, where=f"objective {name!r}")
    obj = resolve(spec.factory)(**cfg)
    obj.name, obj.kind = name, spec.kind
    if getattr(obj, "d_steps", None) is None:
        obj.d_steps = spec.d_steps
    return obj


def create(variant: str, objective: Optional[str] = None, *, objective_config: Optional[dict] = None,
           dataset: Optional[str] = None, labels=None, label_prior=None, training=None, metrics=None,
           **config) -> Model:
    """Build a fresh model of ``variant`` trained with ``objective`` (default: the variant's).

    ``config`` keys are the variant's (see ``ganzoo info --variant NAME``); unknown keys, wrong
    types and absurd sizes are rejected before any allocation."""
    reg = get_registry()
    spec = reg.variant(variant)
    objective = objective or spec.default_objective
    reg.check_pairing(variant, objective)
    ospec = reg.objective(objective)
    ocfg = cfgmod.validate(objective_config or {}, ospec.defaults, where=f"objective {objective!r}")
    defaults = dict(spec.defaults)
    defaults.update({k: v for k, v in ospec.variant_defaults.items() if k in defaults})
    cfg = cfgmod.validate(config, defaults, where=f"variant {variant!r}")
    if spec.resolve_config is not None:  # "auto" values -> what they stand for, recorded in the config
        auto = resolve(spec.resolve_config)
        stands_for = auto({**cfg, **{k: v for k, v in defaults.items() if v == "auto"}})
        cfg = cfgmod.validate(auto(dict(cfg)), stands_for, where=f"variant {variant!r}")  # a value given: its type
    try:
        comps = resolve(spec.build)(**cfg)
    except ConfigError as exc:  # a variant's own check (ganzoo.layers, check_labels, ...): say which variant
        shape = f" for samples of shape {list(cfg['sample_shape'])}" if isinstance(cfg.get("sample_shape"), list) else ""
        raise type(exc)(f"variant {variant!r} cannot be built with this config{shape}: {first_line(exc)}") from None
    if not isinstance(comps, dict):
        raise PluginError(f"variant {variant!r}: build() must return a dict of components")
    for name, module in comps.items():
        want = COMPONENT_TYPES.get(name)
        if want is None or not isinstance(module, want):
            raise PluginError(f"variant {variant!r}: component {name!r} must be a ganzoo {want.__name__ if want else 'component'}")
    needed = {"gan": ("generator", "discriminator"), "vae": ("generator", "encoder"), "ae": ("generator", "encoder")}
    for name in needed[spec.kind]:
        if name not in comps:
            raise PluginError(f"variant {variant!r} ({spec.kind}) built no {name}")
    return Model(variant=variant, objective=objective, config=cfg, components=comps, objective_config=ocfg,
                 dataset=dataset, labels=labels, label_prior=label_prior, training=training, metrics=metrics)


def read_config(folder) -> dict:
    path = Path(folder) / "config.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WeightsError(f"{folder}: no config.json; is this a ganzoo model folder?") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read: {exc}") from None
    if len(text) > 1_000_000:
        raise ConfigError(f"{path}: too large for a config")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return cfgmod.validate_model_config(cfg, where=str(path))


def from_config(cfg: dict) -> Model:
    """The (untrained) model a saved config describes; keys it lacks take the variant's ``former_defaults``."""
    meta = {k: cfg.get(k) for k in META_KEYS}
    config = {**get_registry().variant(cfg["variant"]).former_defaults, **cfg["config"]}
    return create(cfg["variant"], cfg["objective"], objective_config=cfg.get("objective_config") or {},
                  **meta, **config)


def load_folder(folder, *, components: Optional[Iterable[str]] = None, device=None) -> Model:
    """Load a model folder strictly: config.json plus the requested components' weights (the generator
    with its prior, when the folder has one: :func:`ganzoo.config.components_to_load`)."""
    folder = Path(folder)
    cfg = read_config(folder)
    model = from_config(cfg)
    available = list(cfg.get("components", {}))
    wanted = cfgmod.components_to_load(components, available)
    for name in wanted:
        if name not in model.components:
            raise ConfigError(f"variant {model.variant!r} has no component {name!r}")
        if name not in available:
            raise WeightsError(f"{folder}: has no weights for the {name}")
    from .weights import load_into

    for name in wanted:
        load_into(model.components[name], folder / cfg["components"][name]["file"], what=name)
    model.keep_only(wanted)
    model.eval()
    if device is not None:
        model.to(device)
    return model
