"""What a model can do -- sample, encode, reconstruct, bound its likelihood, take labels, discriminate --
and the components each needs. ``ganzoo sample``, ``encode``, ``reconstruct``, ``eval`` and the model cards
ask a model for its capabilities (:attr:`ganzoo.Model.capabilities`), never for its kind, so a new model
family needs no edit of them: its components say what it can do. :class:`Capabilities` is the part of
:class:`ganzoo.Model` that answers (and encodes and reconstructs).
"""

from __future__ import annotations

from typing import Iterable, Optional

from .errors import ConfigError

CAPABILITIES = {  # what Model.capabilities may hold, and what each means
    "sample": "draws new samples: a generator whose latent has a distribution to draw from (Generator.has_prior: "
              "GANs, VAEs; not a plain autoencoder's decoder) or that has a learned prior attached (Generator.prior)",
    "encode": "maps inputs to features (N, d): an encoder (Model.encode, ganzoo encode)",
    "reconstruct": "encodes and decodes inputs: an encoder and a generator (Model.reconstruct, ganzoo reconstruct)",
    "likelihood": "bounds log p(x): a variational encoder and a Decoder (the ELBO and IWAE)",
    "conditional": "takes class labels (num_classes > 0)",
    "discriminate": "scores samples: a discriminator",
}
"""What ``Model.capabilities`` may hold, and what each means (``MetricSpec.needs`` names them too)."""
NEEDS = {  # the components a capability needs, as loaded by load_for
    "sample": ("generator",),
    "encode": ("encoder",),
    "reconstruct": ("encoder", "generator"),
    "likelihood": ("encoder", "generator"),
}


class Capabilities:
    """What a :class:`ganzoo.Model` can do with the components it has loaded (a mixin of Model)."""

    @property
    def capabilities(self) -> frozenset:
        """What this model, with the components loaded, can do (the names of :data:`CAPABILITIES`)."""
        g, enc = self.generator, self.encoder
        caps = {"sample": g is not None and (getattr(g, "prior", None) is not None or bool(getattr(g, "has_prior", True))), "encode": enc is not None,
                "reconstruct": enc is not None and g is not None,
                "likelihood": enc is not None and bool(getattr(enc, "variational", False))
                and callable(getattr(g, "logits", None)),
                "conditional": self.num_classes > 0, "discriminate": self.discriminator is not None}
        return frozenset(name for name, ok in caps.items() if ok)

    @property
    def can_sample(self) -> bool:
        return "sample" in self.capabilities

    def require(self, capability: str, what: str = "this") -> None:
        """Raise a one-line :class:`ConfigError` unless the model can do ``capability`` (``what``: who asks)."""
        require(self, capability, what)

    def encoder_labels(self, y, n: int):
        """The labels to hand the encoder for a batch of ``n``: ``y`` for a conditional encoder (which
        refuses a batch without them), None for an unconditional one."""
        import torch

        enc = self.encoder
        if enc is None or not enc.conditional:
            return None
        if y is None:
            raise ConfigError(f"the encoder of this {self.variant} is conditional on {enc.num_classes} classes "
                              "(q(z | x, y)); pass the labels of the inputs")
        y = torch.as_tensor(y, dtype=torch.long)
        return y.expand(n) if y.dim() == 0 else y

    def encode(self, x, y=None):
        """Features of ``x`` (N, d): the encoder as a feature extractor (``Encoder.features``: a VAE's posterior
        mean). ``y``: the inputs' labels, used when the encoder is conditional (a conditional VAE needs them).
        Inputs as the model trains on them (images in the generator's output range, [0, 1] for a Decoder)."""
        import torch

        self.require("encode", "encode")
        with torch.no_grad():
            return self.encoder.features(x, self.encoder_labels(y, len(x)))

    def reconstruct(self, x, y=None):
        """The generator's output for the encoder's code of ``x`` (``Encoder.latent``: a VAE's mean), in the
        generator's output range; ``y``: the labels of ``x``, for a conditional encoder or decoder."""
        import torch

        self.require("reconstruct", "reconstruct")
        if y is not None:
            y = torch.as_tensor(y, dtype=torch.long)
            y = y.expand(len(x)) if y.dim() == 0 else y
        with torch.no_grad():
            z = self.encoder.latent(x, self.encoder_labels(y, len(x)))
            return self.generator(z, y if self.generator.conditional else None)


def encode_data(model, x, y=None, *, batch: int = 500):
    """``model.encode`` of every item of ``x`` -- data in [0, 1], as a dataset holds it, mapped into the model's
    range for images -- in batches of ``batch`` on the model's device: (N, d) float32 on the CPU, in the
    order of ``x``. ``y``: the items' labels, handed to a conditional encoder."""
    import torch

    from .ranges import from_unit

    model.require("encode", "encode")
    device = next((p.device for p in model.encoder.parameters()), torch.device("cpu"))
    image = x.dim() == 4
    out = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].float()
        xb = from_unit(xb, model.output_range) if image else xb
        yb = None if y is None else y[i:i + batch].to(device)
        out.append(model.encode(xb.to(device), model.encoder_labels(yb, len(xb))).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)


PARTS = {"sample": "a generator", "encode": "an encoder", "reconstruct": "an encoder and a decoder",
         "likelihood": "a variational encoder and a decoder", "discriminate": "a discriminator",
         "conditional": "class labels"}


def require(model, capability: str, what: str = "this", *, ref: Optional[str] = None) -> None:
    """Raise a one-line :class:`ConfigError` unless ``model`` can do ``capability`` (``what``: who asks; ``ref``:
    the name the user gave, for the message)."""
    if capability not in CAPABILITIES:
        raise ConfigError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    if capability in model.capabilities:
        return
    name = ref or f"this {model.variant} model"
    if capability == "sample" and model.generator is not None:
        how = (f"show its reconstructions with `ganzoo reconstruct {ref} --data DATA`" if ref else
               "reconstruct inputs instead (Model.reconstruct)")
        raise ConfigError(f"{name} cannot be sampled: it has no prior to draw codes from (decoding N(0, I) makes "
                          f"blobs); {how}, or train a model with a prior such as a VAE")
    raise ConfigError(f"{what} needs {PARTS[capability]}; {name} has {', '.join(model.components) or 'nothing'} "
                      f"loaded{examples(capability) if ref else ''}")


def examples(capability: str) -> str:
    names = zoo_models_with(NEEDS[capability])[:8]
    return f", e.g. {', '.join(names)}" if names else ""


def zoo_models_with(components: Iterable[str]) -> list:
    """Zoo models that ship every one of ``components`` (optional ones aside), by name."""
    from .plugins import get_registry

    reg = get_registry()
    need = list(components)
    ships = {n: {f[: -len(".safetensors")] for f in reg.model(n).source.get("files", {}) if f.endswith(".safetensors")}
             for n in reg.names("model")}
    return [n for n, have in ships.items() if all(c in have for c in need)]


def check_metric(spec, model) -> None:
    """Refuse, in one line, a metric (``MetricSpec``) whose ``needs`` the model lacks, or a kind it does not apply to."""
    caps, kind = model.capabilities, model.kind
    if spec.applies_to is not None and kind not in spec.applies_to:
        raise ConfigError(f"metric {spec.name!r} applies to {', '.join(spec.applies_to)} models, not {kind}")
    lacking = [c for c in spec.needs if c not in caps]
    if lacking:
        raise ConfigError(f"metric {spec.name!r} needs a model that {CAPABILITIES[lacking[0]].split(':')[0]}; "
                          f"this {model.variant} can: {describe(caps) or 'nothing loaded'}")


def describe(capabilities: Optional[Iterable[str]]) -> str:
    """``"sample, encode, reconstruct"``: the capabilities in :data:`CAPABILITIES`' order."""
    caps = set(capabilities or ())
    return ", ".join(c for c in CAPABILITIES if c in caps)
