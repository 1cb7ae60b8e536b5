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


def render_card(config: dict, *, metrics: Optional[dict] = None, repo_id: Optional[str] = None,
                sample_image: Optional[str] = "samples.png", train_command: Optional[str] = None,
                eval_command: Optional[str] = None, license: str = "apache-2.0",
                provenance: Optional[list] = None) -> str:
    """Markdown with YAML front matter for a model whose ``config.json`` is ``config``; ``provenance``:
    markdown lines of a "Source" section (where an imported model's weights came from)."""
    variant = str(config.get("variant", "unknown"))
    objective = str(config.get("objective", "unknown"))
    dataset = config.get("dataset")
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
    if dataset:
        fm += ["datasets:", f"- {_yaml_str(dataset)}"]
    if metrics:
        fm += ["model-index:", f"- name: {_yaml_str(name)}", "  results:", "  - task:",
               "      type: unconditional-image-generation" if len(config.get("sample_shape") or []) == 3
               else "      type: other", "    dataset:", f"      name: {_yaml_str(dataset or 'unknown')}",
               f"      type: {_yaml_str(dataset or 'unknown')}", "    metrics:"]
        for key, value in sorted(metrics.items()):
            fm += [f"    - type: {_yaml_str(key)}", f"      value: {value!r}", f"      name: {_yaml_str(key)}"]
    fm.append("---")

    ref = f"hf://{repo_id}" if repo_id else "path/to/model-folder"
    shape = config.get("sample_shape")
    body = [
        "",
        f"# {name}",
        "",
        f"A **{variant}** {KIND_TAGS.get(kind, 'generative model')} trained with the **{objective}** objective"
        + (f" on **{dataset}**" if dataset else "") + ", published with [ganzoo](https://github.com/ganzoo/ganzoo).",
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
        "```python",
        "import ganzoo",
        f'model = ganzoo.load("{ref}", components=["generator"])  # downloads only the generator',
        "x = model.sample(16, seed=0)",
        "```",
        "",
        "```bash",
        f"ganzoo sample {ref} -n 64 -o samples.png",
        "```",
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
    if sample_image:
        body += ["", "## Samples", "", f"![samples]({sample_image})"]
    body += ["", "## License", "", f"{license}", ""]
    return "\n".join(fm + body)
