"""``pytorch-examples``: the DCGAN state dicts pytorch/examples ``dcgan/main.py`` saves
(``torch.save(netG.state_dict(), 'netG_epoch_N.pth')``), imported onto ganzoo's ``dcgan`` and written
back (``ganzoo export NAME --format pytorch-examples``). ``nz``, ``ngf``/``ndf`` and ``nc`` are read from
the tensor shapes; the tensor names are in :mod:`ganzoo_plugins.formats.dcgan_layout`."""

from __future__ import annotations

import torch

from ganzoo.errors import ConfigError, IncompatibleError, WeightsError
from ganzoo.interop import ImportPlan
from ganzoo_plugins.formats.dcgan_layout import find_networks, key_map

LAYOUT_HINT = ("one nn.Sequential of ConvTranspose2d + BatchNorm2d layers named PREFIX.0.weight, PREFIX.1.weight, "
               "..., PREFIX.12.weight (pytorch/examples dcgan/main.py's Generator)")


def _keys(net) -> dict:
    """The network's key map; BatchNorm counters missing from old files (torch < 0.4.1) are computed as 0."""
    return {dst: (torch.zeros((), dtype=torch.long) if src in net.missing_counts else src)
            for dst, src in net.keys.items()}


def _describe(net) -> list:
    if net.role == "generator":
        out = [f"latent_dim = {net.latent_dim} (nz): `{net.first}` has {net.latent_dim} input channels",
               f"g_width = {net.width} (ngf): the last transposed convolution `{net.last}` reads {net.width} channels",
               f"sample_shape = [{net.channels}, {net.size}, {net.size}]: `{net.last}` makes {net.channels} channels "
               f"(nc); {(net.size // net.base).bit_length()} transposed convolutions from a {net.base}x{net.base} "
               f"start make {net.size}x{net.size} pixels"]
    else:
        out = [f"d_width = {net.width} (ndf): `{net.first}` makes {net.width} channels"]
    if net.missing_counts:
        out.append(f"{len(net.missing_counts)} BatchNorm counters (num_batches_tracked, saved since torch 0.4.1) "
                   "absent from the file: set to 0; they do not change the output")
    return out


def dcgan_plan(src, request, *, what: str = "pytorch-examples") -> ImportPlan:
    """The plan for a source holding the examples' generator (and perhaps its discriminator, or one
    given as ``request.parts["discriminator"]``)."""
    nets = find_networks(src.tensors)
    gens = [n for n in nets if n.role == "generator"]
    discs = [n for n in nets if n.role == "discriminator"]
    if not gens and discs:
        raise WeightsError(f"{src.name}: holds a pytorch/examples discriminator only; import the generator "
                           "(netG_*.pth) and pass this file with --discriminator")
    if len(gens) != 1:
        several = f"{len(gens)} generators" if gens else src.describe()
        raise WeightsError(f"{src.name}: not the DCGAN generator {what} reads ({several}); expected {LAYOUT_HINT}")
    g, d, dsrc = gens[0], None, None
    part = request.parts.get("discriminator")
    if part is not None:
        found = [n for n in find_networks(part.tensors) if n.role == "discriminator"]
        if len(found) != 1:
            raise WeightsError(f"{part.name}: not a pytorch/examples discriminator ({part.describe()}); expected "
                               "Conv2d + BatchNorm2d layers PREFIX.0.weight, PREFIX.2.weight, ..., PREFIX.11.weight")
        if discs:
            raise ConfigError(f"{src.name} holds a discriminator already; drop --discriminator")
        d, dsrc = found[0], part
    elif len(discs) == 1:
        d, dsrc = discs[0], src
    elif discs:
        raise WeightsError(f"{src.name}: holds {len(discs)} discriminators; pick one entry with --key")
    config = {"sample_shape": [g.channels, g.size, g.size], "latent_dim": g.latent_dim, "g_width": g.width,
              "g_norm": "batch", "g_depth": 1, "num_classes": 0}
    keys, sources, notes = {"generator": _keys(g)}, {"generator": src}, _describe(g)
    if d is not None:
        if d.channels != g.channels or d.size != g.size:
            raise WeightsError(f"{dsrc.name}: the discriminator judges {d.channels}x{d.size}x{d.size} images "
                               f"(tensors {d.first!r}, {d.last!r}); the generator makes {g.channels}x{g.size}x{g.size}")
        config.update(d_width=d.width, d_norm="batch", d_depth=1, pack=1)
        keys["discriminator"], sources["discriminator"] = _keys(d), dsrc
        notes += _describe(d) + ["the discriminator's score is the logit its Sigmoid took: sigmoid(score) is "
                                 "the examples' D(x)"]
    notes.append("objective non-saturating: the examples train with BCE on D's sigmoid, G on -log D(G(z))")
    return ImportPlan("dcgan", config, keys, objective="non-saturating", sources=sources, notes=notes)


class Examples:
    """Importer and exporter of the ``pytorch-examples`` format."""

    suffix = ".pth"

    def sniff(self, src) -> bool:
        return src.config is None and bool(find_networks(src.tensors))

    def plan(self, src, request) -> ImportPlan:
        return dcgan_plan(src, request)

    def export(self, model, path, *, component: str = "generator") -> str:
        if component not in ("generator", "discriminator"):
            raise IncompatibleError(f"pytorch-examples holds a generator or a discriminator, not an {component}")
        if getattr(model, "sampling", None):
            raise IncompatibleError("a pytorch-examples state dict holds weights, not sampling options; drop "
                                    f"{', '.join(model.sampling)}")
        cfg = model.config
        role = "G" if component == "generator" else "D"
        shape = list(model.sample_shape)
        why = None
        if model.variant != "dcgan":
            why = f"it holds the DCGAN of pytorch/examples; {model.variant!r} is another network"
        elif model.num_classes:
            why = "the examples' networks take no class labels; this model is class-conditional"
        elif shape[1:] != [64, 64]:
            why = f"the examples' {role} works on 64x64 images; this model's are {shape[1]}x{shape[2]}"
        elif component == "generator" and (cfg.get("g_norm") != "batch" or cfg.get("g_depth") != 1):
            why = "the examples' Generator has one BatchNorm'd transposed convolution per size (g_norm=batch, g_depth=1)"
        elif component == "discriminator" and (cfg.get("d_norm") != "batch" or cfg.get("d_depth") != 1
                                               or cfg.get("pack") != 1):
            why = "the examples' Discriminator has BatchNorm, one convolution per size and judges single images " \
                  "(d_norm=batch, d_depth=1, pack=1)"
        if why:
            raise IncompatibleError(f"cannot write {model.variant}'s {component} as pytorch-examples: {why}")
        state = model.components[component].state_dict()
        names = {v: k for k, v in key_map(component, 4, "main.").items()}  # examples name -> ganzoo name
        if set(names.values()) != set(state):
            raise IncompatibleError(f"cannot write {model.variant}'s {component} as pytorch-examples: its tensors "
                                    "are not the examples' layout")
        torch.save({src: state[dst].detach().cpu().clone() for src, dst in names.items()}, str(path))
        if component == "generator":
            return (f"the generator as a pytorch/examples state dict: nz={model.latent_dim}, ngf={cfg['g_width']}, "
                    f"nc={shape[0]}; netG = Generator(ngpu); netG.load_state_dict(torch.load(path))")
        return (f"the discriminator as a pytorch/examples state dict: ndf={cfg['d_width']}, nc={shape[0]}; "
                "netD = Discriminator(ngpu); netD.load_state_dict(torch.load(path))")
