"""``onnx``: a generator, discriminator or encoder as an ONNX graph (opset :data:`OPSET`), run by
onnxruntime or any ONNX runtime without Python or torch.

Inputs and outputs, batch size N dynamic:

| component | inputs | outputs |
|---|---|---|
| generator | ``z`` (N, latent_dim) float32 (what ``sample_latent`` draws); ``y`` (N,) int64 when class-conditional | ``x`` (N, *sample_shape) |
| discriminator | ``x`` (N, *sample_shape) float32; ``y`` as above | ``score`` (N,); ``class_logits``, ``q`` when D has them |
| encoder | ``x`` (N, *sample_shape) float32; ``y`` when the encoder is conditional (a conditional VAE's) | ``z`` (N, latent_dim); a VAE's: ``mu``, ``logvar`` |

The graph computes the component's ``forward`` in eval mode (BatchNorm with its running statistics) --
a generator's ``generate(z, y, **sampling)``, which is ``forward`` unless sampling options act between
latent and sample (a style model's truncation in w: fixed at export, ``--truncation``) -- so ``x`` lies in
the generator's ``output_range`` (recorded in the file's metadata with the variant, the
sizes and the ganzoo version). Every export is checked before it is written: onnxruntime's output on a
fresh batch of another size must equal torch's within :data:`TOLERANCE`.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from importlib import metadata
from typing import Optional

import torch
from torch import nn

from ganzoo.errors import ConfigError, IncompatibleError, first_line
from ganzoo.interfaces import Generator, discriminator_output

OPSET = 18
TRACED = ("generator", "discriminator", "encoder")  # components with one forward pass: the graph
TOLERANCE = 1e-4
INSTALL = "pip install 'ganzoo[onnx]'"


def _require():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as exc:
        raise ConfigError(f"ONNX export needs onnx, onnxscript and onnxruntime ({exc.name} is missing); "
                          f"install them with: {INSTALL}") from None


class _Call(nn.Module):
    """The component as a graph of named tensors: labels passed only to a conditional one."""

    def __init__(self, module: nn.Module, component: str, fields: tuple = (), sampling: Optional[dict] = None):
        super().__init__()
        self.module, self.component, self.fields, self.sampling = module, component, fields, dict(sampling or {})

    def forward(self, a, y=None):
        if self.component == "encoder":
            out = self.module(a, y) if y is not None else self.module(a)
            return tuple(out) if isinstance(out, (tuple, list)) else out
        if self.component == "generator":  # how it samples: generate (forward, unless options act there)
            return self.module.generate(a, y, **self.sampling)
        out = self.module(a, y) if y is not None else self.module(a)
        out = discriminator_output(out)
        return tuple(getattr(out, f) for f in self.fields)


def _signature(model, component: str, n: int, seed: int):
    """(inputs by name, output names) for a batch of ``n``."""
    gen = torch.Generator().manual_seed(seed)
    comp = model.components[component]
    # a generator's input is what it draws (z ~ N(0, I) (N, latent_dim) by default; a learned prior's codes)
    first = ("z", comp.sample_latent(n, seed=seed).cpu()) if component == "generator" else \
        ("x", torch.rand(n, *model.sample_shape, generator=gen) * 2 - 1)
    inputs = dict([first])
    if comp.num_classes and (component != "encoder" or getattr(comp, "conditional", False)):
        inputs["y"] = torch.randint(0, comp.num_classes, (n,), generator=gen)
    if component == "generator":
        return inputs, ("x",), ()
    if component == "encoder":
        return inputs, (("mu", "logvar") if getattr(comp, "variational", False) else ("z",)), ()
    with torch.no_grad():
        out = discriminator_output(comp(*inputs.values()))
    fields = tuple(f for f in ("score", "class_logits", "q") if getattr(out, f) is not None)
    return inputs, fields, fields


class Onnx:
    """Exporter of the ``onnx`` format."""

    suffix = ".onnx"

    def export(self, model, path, *, component: str = "generator") -> str:
        if component not in TRACED:
            raise IncompatibleError(f"ONNX export traces one forward pass of a {', '.join(TRACED[:-1])} or "
                                    f"{TRACED[-1]}; {model.variant}'s {component} has none to trace (a prior draws "
                                    "its latents step by step): export the generator, and draw its z in Python")
        _require()
        if any(t.device.type != "cpu" for t in model.state_dict().values()):
            model = copy.deepcopy(model).cpu()  # a graph does not depend on the device it was traced on
        comp = model.components[component]
        pack = int(getattr(comp, "pack", 1) or 1) if component == "discriminator" else 1
        sampling = dict(getattr(model, "sampling", None) or {})
        if sampling and type(comp).generate is Generator.generate:
            raise IncompatibleError(
                f"{model.variant}'s generator applies {', '.join(sampling)} where it draws z (sample_latent), "
                "before the graph's input z: draw z that way yourself (the graph is the same for any value)")
        inputs, outputs, fields = _signature(model, component, 2 * pack, seed=0)
        wrapper = _Call(comp, component, fields, sampling).eval()
        batch = torch.export.Dim("groups", min=1) * pack if pack > 1 else torch.export.Dim("N", min=1)
        names = list(inputs)
        dynamic = {"a": {0: batch}, **({"y": {0: batch}} if "y" in inputs else {})}
        try:
            with _quiet():
                torch.onnx.export(wrapper, tuple(inputs.values()), str(path), input_names=names,
                                  output_names=list(outputs), dynamic_shapes=dynamic, opset_version=OPSET,
                                  dynamo=True, external_data=False, verbose=False)
        except Exception as exc:  # noqa: BLE001 - the exporter's reason, in one line
            raise IncompatibleError(f"{model.variant}'s {component} cannot be exported to ONNX: "
                                    f"{type(exc).__name__}: {first_line(exc, 300)}") from None
        _annotate(path, model, component, names, outputs)
        diff, n = _verify(path, model, component, wrapper, pack)
        with torch.no_grad():
            results = wrapper(*inputs.values())
        results = results if isinstance(results, tuple) else (results,)
        shapes = ", ".join(f"{k} {_shape(v)}" for k, v in inputs.items())
        made = ", ".join(f"{k} {_shape(v, dtype=False)}" for k, v in zip(outputs, results))
        fixed = "".join(f", {k} {v} fixed" for k, v in sorted(sampling.items()))
        return (f"{model.variant}'s {component} as ONNX (opset {OPSET}{fixed}): {shapes} -> {made}; "
                f"onnxruntime matches torch within {diff:.1e} on {n} fresh samples")


def _shape(t: torch.Tensor, dtype: bool = True) -> str:
    dims = ", ".join(["N"] + [str(s) for s in t.shape[1:]])
    return f"({dims}{',' if t.dim() == 1 else ''})" + (f" {str(t.dtype).replace('torch.', '')}" if dtype else "")


class _quiet:
    """The exporter's progress lines and library warnings off; errors still raise."""

    def __enter__(self):
        self.loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.ERROR)
        self.warn = warnings.catch_warnings()
        self.warn.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        self.warn.__exit__(*exc)
        for lg, level in zip(self.loggers, self.levels):
            lg.setLevel(level)
        return False


def _annotate(path, model, component: str, inputs: list, outputs) -> None:
    import onnx

    proto = onnx.load(str(path))
    g = model.generator if "generator" in model.components else None
    meta = {"ganzoo.version": metadata.version("ganzoo"), "ganzoo.variant": model.variant, "ganzoo.component": component,
            "ganzoo.latent_dim": str(model.latent_dim), "ganzoo.sample_shape": json.dumps(list(model.sample_shape)),
            "ganzoo.num_classes": str(model.components[component].num_classes),
            "ganzoo.output_range": json.dumps(list(g.output_range) if g is not None and g.output_range else None),
            "ganzoo.inputs": ",".join(inputs), "ganzoo.outputs": ",".join(outputs),
            "ganzoo.sampling": json.dumps(dict(getattr(model, "sampling", None) or {}), sort_keys=True)}
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    proto.doc_string = f"ganzoo {model.variant} {component}"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _verify(path, model, component: str, wrapper: nn.Module, pack: int) -> tuple[float, int]:
    import onnxruntime as ort

    n = 3 * pack  # another batch size than the export's: the batch axis is really dynamic
    inputs, _, _ = _signature(model, component, n, seed=1)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    with torch.no_grad():
        want = wrapper(*inputs.values())
    want = want if isinstance(want, tuple) else (want,)
    diff = max(float((torch.from_numpy(g) - w).abs().max()) if w.numel() else 0.0 for g, w in zip(got, want))
    if not diff <= TOLERANCE:
        raise IncompatibleError(f"{model.variant}'s {component}: onnxruntime's output differs from torch's by "
                                f"{diff:.2e} (more than {TOLERANCE}); not written")
    return diff, n
