"""``hub-mixin``: a folder or ``hf://`` repo written by huggingface_hub's ``PyTorchModelHubMixin``
(``save_pretrained`` / ``push_to_hub``: ``config.json`` with the class's init arguments beside
``model.safetensors``, or ``pytorch_model.bin`` in older repos) holding the pytorch/examples DCGAN, as the
huggan community DCGANs did.

The tensors say what the network is (:mod:`ganzoo_plugins.formats.dcgan_layout`); ``config.json`` holds
the sizes under the names its author chose, read through :data:`ALIASES`. A value the config gives must
agree with the tensors; two names for one size must agree with each other; a size the config does not
name is read from the tensors (the card says which)."""

from __future__ import annotations

from ganzoo.errors import ConfigError, WeightsError
from ganzoo.interop import ImportPlan
from ganzoo_plugins.formats.dcgan_layout import find_networks
from ganzoo_plugins.formats.pytorch_examples import dcgan_plan

#: ganzoo's meaning -> the init-argument names authors use for it, in the order they are looked up
ALIASES = {
    "latent size": ("nz", "latent_dim", "z_dim", "latent_size", "noise_dim", "dim_z"),
    "generator width": ("ngf", "hidden_size", "g_width", "feature_maps"),
    "discriminator width": ("ndf", "d_width"),
    "image channels": ("nc", "num_channels", "channels", "n_channels", "image_channels", "img_channels"),
    "image size": ("image_size", "img_size", "imageSize", "resolution"),
}


def expected_keys() -> str:
    return "; ".join(f"{what}: {'/'.join(names)}" for what, names in ALIASES.items())


def config_value(config: dict, what: str, where: str):
    """``(name, value)`` of the one size ``what`` that ``config`` gives (None when it names none)."""
    found = [(k, config[k]) for k in ALIASES[what] if k in config]
    for k, v in found:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{where}: {k} ({what}) must be a whole number, not {v!r}")
    if len({v for _, v in found}) > 1:
        raise ConfigError(f"{where} gives the {what} twice ({', '.join(f'{k}={v}' for k, v in found)}); "
                          f"expected one of {', '.join(ALIASES[what])}")
    return found[0] if found else None


class HubMixin:
    """Importer of the ``hub-mixin`` format."""

    def sniff(self, src) -> bool:
        if src.config is None:
            return False
        known = {k for names in ALIASES.values() for k in names}
        return any(n.role == "generator" for n in find_networks(src.tensors)) or bool(known & set(src.config))

    def plan(self, src, request) -> ImportPlan:
        where = f"{src.name}: config.json"
        config = src.config or {}
        if not any(n.role == "generator" for n in find_networks(src.tensors)):
            raise WeightsError(f"{src.name}: not the DCGAN generator hub-mixin reads ({src.describe()}); expected "
                               f"config.json keys ({expected_keys()}) beside one nn.Sequential of ConvTranspose2d + "
                               "BatchNorm2d layers PREFIX.0.weight ... PREFIX.12.weight")
        plan = dcgan_plan(src, request, what="hub-mixin")
        g = [n for n in find_networks(src.tensors) if n.role == "generator"][0]
        from_tensors = {"latent size": (g.latent_dim, g.first, "tensor {t!r} has {v} input channels"),
                        "generator width": (g.width, g.last, "tensor {t!r} reads {v} channels"),
                        "image channels": (g.channels, g.last, "tensor {t!r} makes {v} channels"),
                        "image size": (g.size, g.first, "the layers from {t!r} on make {v}x{v} images")}
        ds = [n for n in find_networks(src.tensors) if n.role == "discriminator"]
        if ds:
            from_tensors["discriminator width"] = (ds[0].width, ds[0].first, "tensor {t!r} makes {v} channels")
        notes, used = [], set()
        for what, (value, tensor, fact) in from_tensors.items():
            given = config_value(config, what, where)
            if given is None:
                notes.append(f"{what} {value}: config.json names none of {', '.join(ALIASES[what])}; read from "
                             f"`{tensor}`")
                continue
            name, said = given
            used.add(name)
            if said != value:
                raise WeightsError(f"{where} says {name}={said} but {fact.format(t=tensor, v=value)}; "
                                   "the config and the weights disagree")
            notes.append(f"{what} {value}: config.json `{name}`, agreeing with `{tensor}`")
        rest = sorted(set(config) - used)
        if rest:
            notes.append(f"config.json keys not used: {', '.join(rest)}")
        plan.notes = notes + plan.notes
        return plan
