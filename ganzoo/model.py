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
from . import limits
from .capabilities import Capabilities
from .errors import ConfigError, GanzooError, PluginError, TooLargeError, WeightsError, first_line
from .fsutil import atomic_write_json
from .interfaces import Discriminator, Encoder, Generator, Prior
from .ranges import from_unit, to_unit  # noqa: F401 (to_unit: also imported from here)
from .plugins import get_registry
from .registry import resolve
from .sampling import sample_count

COMPONENTS = cfgmod.COMPONENT_NAMES
COMPONENT_TYPES = {"generator": Generator, "discriminator": Discriminator, "encoder": Encoder, "prior": Prior}
META_KEYS = ("dataset", "labels", "label_prior", "training", "metrics")


class Model(Capabilities, nn.Module):
    """The components of one variant plus everything needed to rebuild them; what it can do
    (:attr:`capabilities`, :meth:`encode`, :meth:`reconstruct`, ...) is :class:`ganzoo.capabilities.Capabilities`'."""

    def __init__(self, *, variant: str, objective: str, config: dict, components: dict,
                 objective_config: Optional[dict] = None, **meta):
        super().__init__()
        if "generator" not in components:
            raise PluginError(f"variant {variant!r} built no generator")
        self.variant, self.objective, self.config = variant, objective, dict(config)
        self.objective_config = dict(objective_config or {})
        self.meta = {k: meta.get(k) for k in META_KEYS if meta.get(k) is not None}
        self.components = nn.ModuleDict(components)
        self.sampling: dict = {}   # the sampling options sample() uses by default (with_sampling)
        g = components["generator"]  # the model's facts, kept when only some components are loaded
        self._facts = {"latent_dim": g.latent_dim, "sample_shape": tuple(g.sample_shape),
                       "num_classes": g.num_classes, "output_range": g.output_range}
        self.generator.attach_prior(self.prior)   # it draws its latents from the prior, when the model has one

    # -- components ------------------------------------------------------------------------
    @property
    def generator(self) -> Optional[Generator]:
        return self.components["generator"] if "generator" in self.components else None

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
            self.generator.attach_prior(self.prior)
        return self

    # -- the contract, forwarded (from the model as built: also with only some components loaded) --
    @property
    def latent_dim(self) -> int:
        return self._facts["latent_dim"]

    @property
    def sample_shape(self) -> tuple:
        return self._facts["sample_shape"]

    @property
    def num_classes(self) -> int:
        """The classes the model is conditioned on (0: unconditional): its generator's."""
        return self._facts["num_classes"]

    @property
    def output_range(self):
        """The range of the generator's outputs ((-1, 1), (0, 1), or None for vectors)."""
        return self._facts["output_range"]

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

    def sample(self, n: int, *, seed: Optional[int] = None, y=None, **options) -> torch.Tensor:
        """``n`` samples, seeded; ``y``: a label (or one per sample) for a class-conditional model,
        by default the labels of :meth:`draw_labels` (equal counts of each class, taken in turn);
        ``options``: sampling options the generator declares (``generator.sampling_options``), over the
        model's defaults (:meth:`with_sampling`), e.g. ``truncation=0.7``. ``n == 0`` gives an empty batch."""
        n = sample_count(n)
        self.require("sample", "sampling")
        if y is None and self.num_classes:
            y = self.draw_labels(n, None if seed is None else seed + 1)
        elif y is not None:
            y = self._label_tensor(y)
        return self.generator.sample(n, seed=seed, y=y, **{**self.sampling, **options})

    def _label_tensor(self, y):
        """``y`` (an index, a stored class name, or a sequence/tensor of them) as a long tensor; anything else
        is a ConfigError naming what is accepted."""
        names = [str(v) for v in (self.meta.get("labels") or [])]
        single = not isinstance(y, (list, tuple))
        items = [y] if single else list(y)
        if any(isinstance(v, str) for v in items):
            for v in items:
                if isinstance(v, str) and v not in names:
                    known = f"one of its class names ({', '.join(names[:20])}) or " if names else ""
                    raise ConfigError(f"y={v!r} is not a label of this model; pass {known}a class index "
                                      f"0..{max(self.num_classes - 1, 0)}")
            items = [names.index(v) if isinstance(v, str) else v for v in items]
            y = items[0] if single else items
        try:
            t = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError):
            t = None
        if t is None or t.is_complex() or (t.is_floating_point() and not torch.equal(t, t.round())):
            raise ConfigError(f"y must be class indices (an int, a list or a tensor of ints), not {y!r}"[:300])
        return t.long()

    def sample_unit(self, n: int, *, seed: Optional[int] = None, y=None, **options) -> torch.Tensor:
        """Samples with images mapped to [0, 1] (vectors as generated)."""
        return to_unit(self.sample(n, seed=seed, y=y, **options), self.output_range)

    def with_sampling(self, **options) -> "Model":
        """This model (the same components) with sampling options that everything sampling through it uses
        by default: :meth:`sample`, ``ganzoo.evaluate``, the pictures (``ganzoo sample --truncation 0.7``
        is ``ganzoo.load(name).with_sampling(truncation=0.7)``). The options are checked here: a ConfigError
        names one the generator does not take (``generator.sampling_options``) or a bad value."""
        checked = self.generator.check_sampling(options)
        view = Model(variant=self.variant, objective=self.objective, config=self.config,
                     components=dict(self.components.items()), objective_config=self.objective_config, **self.meta)
        view.sampling = {**self.sampling, **checked}
        return view.train(self.training)

    @torch.no_grad()
    def traverse_code(self, code: int, *, rows: int = 10, steps: int = 15, span: float = 2.0,
                      seed: Optional[int] = 0, y=None) -> torch.Tensor:
        """Samples in which only latent code ``code`` varies: :func:`ganzoo.codes.traverse_code` of this model."""
        from .codes import traverse_code

        return traverse_code(self, code, rows=rows, steps=steps, span=span, seed=seed, y=y)

    def make_objective(self):
        return objective(self.objective, **self.objective_config)

    # -- serialisation ------------------------------------------------------------------------
    def to_config(self) -> dict:
        from . import __version__
        from .plugins import provider

        f = self._facts
        reg = get_registry()
        out = {
            "format": cfgmod.FORMAT,
            "ganzoo_version": __version__,
            "variant": self.variant,
            "plugin": provider(reg.variant(self.variant).plugin),
            "objective": self.objective,
            "objective_config": self.objective_config,
            "config": self.config,
            "latent_dim": f["latent_dim"],
            "sample_shape": list(f["sample_shape"]),
            "num_classes": f["num_classes"],
            "output_range": list(f["output_range"]) if f["output_range"] else None,
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
    build = resolve(spec.build)
    limits.max_parameters()  # (a bad GANZOO_MAX_PARAMETERS is its own error, not the variant's)
    try:  # priced on the meta device first: a config asking for too much is refused before any allocation
        price = limits.price(build, cfg, what=f"variant {variant!r} with this config")
        comps = build(**cfg) if price is not None else limits.guarded(build, cfg, what=f"variant {variant!r}")
    except TooLargeError:
        raise
    except ConfigError as exc:  # a variant's own check (ganzoo.layers, check_labels, ...): say which variant
        shape = f" for samples of shape {list(cfg['sample_shape'])}" if isinstance(cfg.get("sample_shape"), list) else ""
        raise type(exc)(f"variant {variant!r} cannot be built with this config{shape}: {first_line(exc)}") from None
    if not isinstance(comps, dict):
        raise PluginError(f"variant {variant!r}: build() must return a dict of components")
    for name, module in comps.items():
        want = COMPONENT_TYPES.get(name)
        if want is None or not isinstance(module, want):
            raise PluginError(f"variant {variant!r}: component {name!r} must be a ganzoo {want.__name__ if want else 'component'}")
    for name in reg.kind(spec.kind).components:  # what every variant of its kind builds
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


def from_config(cfg: dict, *, where: str = "config.json") -> Model:
    """The (untrained) model a saved config describes; keys it lacks take the variant's ``former_defaults``.
    A model over the parameter limit (:mod:`ganzoo.limits`) is refused naming ``where``, before it is built."""
    meta = {k: cfg.get(k) for k in META_KEYS}
    reg = get_registry()
    plugin = cfg.get("plugin") or {}
    if not reg.has("variant", cfg["variant"]) and plugin.get("distribution") not in (None, "ganzoo"):
        from .errors import NotFoundError

        raise NotFoundError(f"unknown variant {cfg['variant']!r}: this model was saved with plugin "
                            f"{str(plugin.get('name'))!r} from the distribution {plugin['distribution']} "
                            f"{plugin.get('version', '')}, which is not installed here (or failed to load: "
                            f"ganzoo plugins); pip install {plugin['distribution']}")
    config = {**reg.variant(cfg["variant"]).former_defaults, **cfg["config"]}
    try:
        return create(cfg["variant"], cfg["objective"], objective_config=cfg.get("objective_config") or {},
                      **meta, **config)
    except TooLargeError as exc:  # the file that asked for it, first
        raise TooLargeError(f"{where}: {exc}", need=exc.need, limit=exc.limit) from None


def component_sizes(cfg: dict, *, where: str) -> Optional[dict]:
    """Bytes of each component's weights in the model a saved config describes, counted on the meta device
    (nothing allocated): ``{"generator": 1296, ...}``; refused over the parameter limit naming ``where``.
    None when the variant cannot be built on the meta device."""
    try:
        with limits.on_meta():
            model = from_config(cfg, where=where)
    except GanzooError:  # too large, or a config the variant refuses: said before anything is downloaded
        raise
    except Exception:  # noqa: BLE001 - not priceable here; load_folder prices (or guards) the real build
        return None
    return {name: sum(t.numel() * t.element_size() for t in m.state_dict().values())
            for name, m in model.components.items()}


def load_folder(folder, *, components: Optional[Iterable[str]] = None, device=None) -> Model:
    """Load a model folder strictly: config.json plus the requested components' weights (the generator's prior too)."""
    folder = Path(folder)
    cfg = read_config(folder)
    model = from_config(cfg, where=str(folder / "config.json"))
    available = list(cfg.get("components", {}))
    wanted = cfgmod.components_to_load(components, available)
    if not wanted:  # (an empty model is no model: nothing would sample)
        raise WeightsError(f"{folder / 'config.json'}: names no weights files (its components are empty)")
    for name in wanted:
        if name not in model.components:
            raise ConfigError(f"variant {model.variant!r} has no component {name!r}")
        if name not in available:
            raise WeightsError(f"{folder}: has no weights for the {name}")
    from .weights import load_into

    for name in wanted:
        path = folder / cfg["components"][name]["file"]
        try:
            load_into(model.components[name], path, what=name)
        except WeightsError as exc:
            exc.file = path  # the file refused (ganzoo.load removes it from the Hub cache)
            raise
    model.keep_only(wanted)
    model.eval()
    if device is not None:
        model.to(device)
    return model
