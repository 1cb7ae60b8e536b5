"""``ganzoo push`` and ``ganzoo pull``: publish a model folder to the Hub, fetch one into the cache."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("push")
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo as private (when it does not exist yet).")
@click.option("--revision", default=None, help="Branch to push to (created if missing). Default: main.")
@click.option("-m", "--message", default=None, help="Commit message.")
def push_cmd(folder, repo_id, private, revision, message):
    """Upload a model FOLDER to the Hub repo REPO_ID (org/name).

    The folder is loaded strictly first; a README.md model card and a samples.png are made when
    absent, uploaded, and written into the folder only once the upload succeeded. Authenticates
    with HF_TOKEN (or `hf auth login`); HF_ENDPOINT picks the Hub.

    \b
    Examples:
      ganzoo push runs/ring8 my-org/ring8-mlp-nonsat
      ganzoo push runs/ring8 my-org/ring8-mlp-nonsat --revision v2 -m "longer training"
    """
    from ..hub import push

    sha = push(folder, repo_id, private=private, revision=revision, message=message)
    click.echo(f"pushed {folder} to hf://{repo_id}@{sha}" + (f" (branch {revision})" if revision else ""))


@click.command("pull")
@click.argument("model")
@click.option("--revision", default=None, help="Branch, tag or commit (for a Hub id; zoo names are pinned).")
@click.option("--generator-only", is_flag=True, help="Fetch only config.json and the generator (with its prior, "
              "when the model has one: what sampling needs).")
def pull_cmd(model, revision, generator_only):
    """Download MODEL (zoo name, org/repo or hf://org/repo[@rev]) into the cache; print its folder.

    Everything is verified (sha256 pins for zoo models). Afterwards the model loads with
    HF_HUB_OFFLINE=1.

    \b
    Examples:
      ganzoo pull ring8-mlp-nonsat
      ganzoo pull hf://my-org/ring8-mlp-nonsat@v2 --generator-only
    """
    from ..api import current_name, resolve_folder
    from ..errors import ConfigError, HubError
    from ..plugins import get_registry

    components = ["generator"] if generator_only else None
    reg = get_registry()
    model = current_name(model)   # a former zoo name: one note, then the current model
    if reg.has("model", model) and not model.startswith("hf://"):
        if revision:
            raise ConfigError(f"{model} is a zoo model pinned to one revision; drop --revision")
        from ..hub import download

        src = reg.model(model).source
        bundled = src.get("path") and Path(src["path"]).is_dir()
        if src.get("repo"):  # pull the Hub copy even when a bundled copy exists
            try:
                folder = download(src["repo"], revision=src.get("revision"), components=components,
                                  pins=src.get("files"), label=f"model {model!r}", ref=model, extras=True)
            except HubError:
                if not bundled:
                    raise
                # the Hub copy is out of reach, but the bundled one (verified) already works offline
                folder = resolve_folder(model, components=components)
                click.echo(f"ganzoo: note: {model} is bundled with ganzoo and already loads offline; its Hub copy "
                           f"({src['repo']}) is out of reach, so nothing was pulled", err=True)
        else:
            folder = resolve_folder(model, components=components)
    else:
        if "/" not in model:  # not org/repo: a mistyped zoo name
            from ..errors import NotFoundError, did_you_mean

            raise NotFoundError(did_you_mean(model, reg.names("model"), "model") + " (or pass org/repo or "
                                "hf://org/repo for a Hub model)")
        ref = model[len("hf://"):] if model.startswith("hf://") else model
        repo, _, rev = ref.partition("@")
        if rev and revision and rev != revision:
            raise ConfigError(f"{model} already names revision {rev!r}; drop --revision")
        from ..hub import download

        folder = download(repo, revision=rev or revision or None, components=components, extras=not generator_only,
                          ref=f"hf://{ref}" if not revision else f"hf://{repo}@{revision}")
    click.echo(str(folder))
