"""The model card (``README.md``) of a ganzoo model repo: YAML metadata the Hub indexes, then how to
load the model with ganzoo or with plain huggingface_hub + safetensors, how it was trained and
evaluated, and its sample image. :func:`render_card` is a pure function of its arguments."""

from __future__ import annotations

import json
from typing import Optional

KIND_TAGS = {"gan": "gan", "vae": "vae", "ae": "autoencoder"}


def _kind(config: dict) -> Optional[str]:
    comps = set(config.get("components") or {})
    if "discriminator" in comps:
        return "gan"
    try:  # the registry knows the variant's (or the objective's) kind
        from .plugins import get_registry

        reg = get_registry()
        for what in ("variant", "objective"):
            if isinstance(config.get(what), str) and reg.has(what, config[what]):
                return reg.get(what, config[what]).kind
    except Exception:  # noqa: BLE001 - a card must render even without the plugin installed
        pass
    return "ae" if "encoder" in comps else None


def _yaml_str(value) -> str:
    return json.dumps(str(value))  # JSON strings are valid YAML scalars


def public_dataset(ref) -> Optional[str]:
    """A dataset reference as it may be published: its source's name without the local path
    (``"mnist:/home/me/data"`` -> ``"mnist"``); None stays None."""
    return str(ref).partition(":")[0] or None if ref else None


def public_config(config: dict) -> dict:
    """``config.json`` as it is published (pushed to the Hub, bundled in the zoo): the dataset references
    (``dataset``, ``training.data``) without local paths; everything else as it is."""
    out = dict(config)
    if out.get("dataset"):
        out["dataset"] = public_dataset(out["dataset"])
    if isinstance(out.get("training"), dict) and out["training"].get("data"):
        out["training"] = {**out["training"], "data": public_dataset(out["training"]["data"])}
    return out


def _dataset_spec(name):
    try:
        from .plugins import get_registry

        reg = get_registry()
        return reg.dataset(name) if name and reg.has("dataset", name) else None
    except Exception:  # noqa: BLE001 - a card must render even without the plugin installed
        return None


def _task(config: dict, can_sample: bool) -> str:
    """The Hub task of the model-index entry."""
    if len(config.get("sample_shape") or []) != 3:
        return "other"
    if not can_sample:
        return "image-to-image"   # an autoencoder: its numbers are reconstructions'
    if config.get("num_classes") and not config.get("label_prior"):
        return "conditional-image-generation"   # class-conditional (a self-conditioned model samples alone)
    return "unconditional-image-generation"


def render_card(config: dict, *, metrics: Optional[dict] = None, repo_id: Optional[str] = None,
                sample_image: Optional[str] = "samples.png", train_command: Optional[str] = None,
                eval_command: Optional[str] = None, license: str = "apache-2.0",
                provenance: Optional[list] = None, can_sample: bool = True,
                protocol: Optional[dict] = None) -> str:
    """Markdown with YAML front matter for a model whose ``config.json`` is ``config``; ``provenance``:
    markdown lines of a "Source" section (where an imported model's weights came from); ``can_sample``: False
    for a model without a prior to sample from (a plain autoencoder: the card shows how to encode and
    reconstruct instead); ``protocol``: :func:`ganzoo.metrics.report.eval_protocol` of the numbers, shown as
    JSON. Local paths never appear: the dataset is named by its source (and its public Hub dataset, if any)."""
    config = public_config(config)
    variant = str(config.get("variant", "unknown"))
    objective = str(config.get("objective", "unknown"))
    dataset = config.get("dataset")
    spec = _dataset_spec(dataset)
    hub_dataset = getattr(spec, "hub_dataset", None)
    kind = _kind(config)
    training = config.get("training") or {}
    metrics = {k: v for k, v in (metrics or config.get("metrics") or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    tags = ["ganzoo"] + ([KIND_TAGS[kind]] if kind in KIND_TAGS else []) + [variant, objective]
    tags = list(dict.fromkeys(tags))
    name = repo_id.split("/")[-1] if repo_id else f"{variant}-{objective}"
    components = list((config.get("components") or {}).keys())

    fm = ["---", "library_name: ganzoo", f"license: {license}", "tags:"]
    fm += [f"- {_yaml_str(t)}" for t in tags]
    if hub_dataset:   # the Hub's metadata names public datasets only
        fm += ["datasets:", f"- {_yaml_str(hub_dataset)}"]
    if metrics:
        fm += ["model-index:", f"- name: {_yaml_str(name)}", "  results:", "  - task:",
               f"      type: {_task(config, can_sample)}", "    dataset:",
               f"      name: {_yaml_str(dataset or 'unknown')}", f"      type: {_yaml_str(hub_dataset or dataset or 'unknown')}",
               "    metrics:"]
        for key, value in sorted(metrics.items()):
            fm += [f"    - type: {_yaml_str(key)}", f"      value: {value!r}", f"      name: {_yaml_str(key)}"]
    fm.append("---")

    ref = f"hf://{repo_id}" if repo_id else "path/to/model-folder"
    shape = config.get("sample_shape")
    body = [
        "",
        f"# {name}",
        "",
        f"{'An' if variant[:1] in 'aeiou' else 'A'} **{variant}** {KIND_TAGS.get(kind, 'generative model')} trained with the **{objective}** objective"
        + (f" on **{dataset}**" if dataset else "")
        + (f" ([{hub_dataset}](https://huggingface.co/datasets/{hub_dataset}))" if hub_dataset else "")
        + ", published with [ganzoo](https://github.com/ganzoo/ganzoo).",
        "",
        f"- latent size: {config.get('latent_dim', '?')}, sample shape: {shape}",
        *([f"- self-conditioned: G and D take one of {len(config['label_prior'])} k-means clusters of the "
           "training images (no class labels used); the model draws its cluster from their shares unless "
           "given a label"] if config.get("label_prior") else []),
        f"- components: {', '.join(f'`{c}.safetensors`' for c in components) or '(none)'}",
        f"- ganzoo version: {config.get('ganzoo_version', '?')} (config format {config.get('format', '?')})",
        "",
        "## Use it with ganzoo",
        "",
        *(_use_sampling(ref) if can_sample else _use_encoding(ref, dataset, spec)),
        "",
        "## Use it without ganzoo (huggingface_hub + safetensors)",
        "",
        "```python",
        "import json",
        "from huggingface_hub import hf_hub_download",
        "from safetensors.torch import load_file",
        "",
        f'repo = "{repo_id or "ORG/NAME"}"',
        'config = json.load(open(hf_hub_download(repo, "config.json")))',
        'generator_state = load_file(hf_hub_download(repo, "generator.safetensors"))',
        "# config['config'] holds the constructor arguments of the generator; the tensors are a plain state dict.",
        "```",
        "",
    ]
    if provenance:
        body += ["## Source", "", *provenance, ""]
    body += ["## Training", ""]
    if training:
        body += [f"- {k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(training.items())]
    else:
        body.append("No training record was saved with this model.")
    if train_command:
        body += ["", "Reproduce with:", "", "```bash", train_command, "```"]
    body += ["", "## Evaluation", ""]
    if metrics:
        body += ["| metric | value |", "|---|---|"]
        body += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in sorted(metrics.items())]
    else:
        body.append("No metrics were recorded for this model.")
    if eval_command:
        body += ["", "Evaluated with:", "", "```bash", eval_command, "```"]
    if protocol:
        body += ["", "## Evaluation protocol", "", "How the numbers above were measured (machine-readable: the "
                 "judge and its sha256, sample counts, the real split, seeds, draws):", "", "```json",
                 json.dumps(protocol, indent=1, sort_keys=True), "```"]
    if sample_image:
        body += ["", "## Samples" if can_sample else "## Reconstructions", "",
                 f"![{'samples' if can_sample else 'held-out inputs (odd rows) above their reconstructions'}]"
                 f"({sample_image})"]
    body += ["", "## License", "", f"{license}", ""]
    return "\n".join(fm + body)


def _use_sampling(ref: str) -> list:
    return ["```python", "import ganzoo",
            f'model = ganzoo.load("{ref}", components=["generator"])  # downloads only the generator',
            "x = model.sample(16, seed=0)", "```", "", "```bash", f"ganzoo sample {ref} -n 64 -o samples.png", "```"]


def _use_encoding(ref: str, dataset, spec) -> list:
    """A model without a prior: what it does is encode and reconstruct (decoding N(0, I) would make blobs)."""
    data = f"{dataset}:DIR" if getattr(spec, "needs_argument", False) else (dataset or "DATA")
    return ["It has no prior to sample from: use its encoder's features and its reconstructions.", "",
            "```python", "import ganzoo", f'model = ganzoo.load("{ref}")  # encoder and decoder',
            "z = model.encode(x)                  # x: images (N, C, H, W) in [0, 1] -> features", "```", "",
            "```bash", f"ganzoo reconstruct {ref} --data {data} -o recon.png", "```"]
