"""The Hugging Face Hub: publish a model folder (:func:`push`) and fetch one (:func:`download`).

Downloads go through ``huggingface_hub.hf_hub_download`` one file at a time, into the ordinary HF
cache (``HF_HUB_CACHE`` / ``HF_HOME``), so sampling fetches only ``config.json`` and the generator.
Every file is verified after download: against its registry sha256 pin when there is one, and
always against the content hash the Hub announced (its ETag). A file that fails is removed from the
cache (blob and snapshot link) before the error is raised.

``HF_TOKEN``, ``HF_ENDPOINT``, ``HF_HOME``/``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` are read when a
call is made. Retries are few and short (``GANZOO_HUB_RETRIES``, default 3; ``GANZOO_HUB_TIMEOUT``
seconds per request, default 10); every failure ends as one line naming what to do.

Settings, retries and error lines live in :mod:`ganzoo.hub_http`, sha256 checks in :mod:`ganzoo.pins`.
huggingface_hub (and torch) are imported inside the functions: ``ganzoo list`` needs neither.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable, Optional

from . import downloads
from .config import components_to_load
from .errors import ConfigError, HubError, IntegrityError, NotFoundError
from .hub_http import Settings, _map_error, _retrying, settings
from .limits import max_parameters, weights_bound
from .pins import COMMIT_RE, check_metadata, require_pin, verify_download

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REVISION_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,127}$")
UPLOAD_PATTERNS = ["config.json", "*.safetensors", "README.md", "*.png"]
MAX_CONFIG_BYTES = 1_000_000          # what read_config reads
MAX_CARD_BYTES = 1024**2
MAX_PICTURE_BYTES = 32 * 1024**2


# -- names --------------------------------------------------------------------------------------
def check_repo_id(repo: str) -> str:
    if not isinstance(repo, str) or not REPO_RE.match(repo) or ".." in repo or "--" in repo or repo.endswith(".git"):
        raise ConfigError(f"bad Hub repo id {repo!r}; expected 'org/name' (letters, digits, '-', '_', '.')")
    return repo


def check_revision(revision: Optional[str]) -> Optional[str]:
    if revision is None:
        return None
    if not REVISION_RE.match(revision) or ".." in revision or revision.endswith(("/", ".lock")):
        raise ConfigError(f"bad Hub revision {revision!r}; use a branch, tag or commit sha")
    return revision


def is_allowed_file(name) -> bool:
    """A repo file ganzoo will download: a plain top-level name (no folders, no '..', no leading
    dot) that is ``config.json``, ``README.md``, ``*.safetensors`` or ``*.png``."""
    return (isinstance(name, str) and bool(PLAIN_NAME_RE.match(name)) and ".." not in name
            and (name in ("config.json", "README.md") or name.endswith((".safetensors", ".png"))))


def check_file(name, *, where: str) -> str:
    if not is_allowed_file(name):
        raise HubError(f"{where}: refusing repo file name {str(name)[:80]!r}; only plain names like "
                       "config.json, README.md, *.safetensors and *.png are downloaded")
    return name


# -- download -----------------------------------------------------------------------------------
def download(repo: str, *, revision: Optional[str] = None, components: Optional[Iterable[str]] = None,
             pins: Optional[dict] = None, label: Optional[str] = None, ref: Optional[str] = None,
             extras: bool = False) -> Path:
    """Fetch a ganzoo model from the Hub into the HF cache and return its snapshot folder.

    Downloads ``config.json``, the requested components' safetensors (all when ``components`` is
    None), ``README.md`` when present and, with ``extras=True``, the top-level ``*.png`` files.
    ``pins`` (file name -> sha256) are enforced for every file that is loaded; ``ref`` is what the
    user typed (shown in the ``ganzoo pull`` hint)."""
    check_repo_id(repo)
    check_revision(revision)
    pins = dict(pins or {})
    what = label or f"hf://{repo}" + (f"@{revision}" if revision else "")
    if pins:
        for fname in ["config.json"] + [f"{c}.safetensors" for c in (components or [])]:
            require_pin(pins, fname, what)
    fetch, commit, rev, s = _open(repo, revision, pins=pins, what=what, ref=ref)
    storage = Path(s.cache_dir) / ("models--" + repo.replace("/", "--"))

    cfg_path = fetch("config.json", bound=MAX_CONFIG_BYTES, why="a config.json may have")
    folder = cfg_path.parent
    with downloads.discarded_if_refused(cfg_path, storage):  # a refused config.json leaves the cache
        cfg, sizes = _read_config(cfg_path, what)
    wanted = components_to_load(components, list(cfg.get("components", {})))   # the generator brings its prior
    for name in wanted:
        info = cfg.get("components", {}).get(name)
        if info is None:
            continue  # load_folder names the missing component
        fname = check_file(info["file"], where=what)
        if not fname.endswith(".safetensors"):
            raise HubError(f"{what}: component {name!r} names {fname!r}, not a .safetensors file")
        if pins:
            require_pin(pins, fname, what)
        if sizes is not None and name in sizes:
            fetch(fname, bound=weights_bound(sizes[name]), why=f"the {name} that config.json describes needs")
        else:
            fetch(fname, bound=weights_bound(8 * max_parameters()), why="the largest model allowed needs")
    fetch("README.md", optional=True, bound=MAX_CARD_BYTES, why="a model card may have")
    if commit is not None and not COMMIT_RE.match(rev):
        _write_ref(storage, rev, commit)  # so HF_HUB_OFFLINE=1 finds this revision by name
    if extras and not s.offline:
        for fname in list_files(repo, revision=commit or rev, _s=s, _what=what):
            if fname.endswith(".png"):
                fetch(fname, optional=True, bound=MAX_PICTURE_BYTES, why="a picture may have")
    return folder


def _read_config(path: Path, what: str):
    """(config, component sizes) of a downloaded config.json: checked, and its model priced on the meta
    device (:func:`ganzoo.model.component_sizes`) before any weights are downloaded."""
    from .config import validate_model_config
    from .model import component_sizes

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what}: config.json is not valid JSON ({exc})") from None
    cfg = validate_model_config(raw, where=f"{what}: config.json")  # its own message: not "not valid JSON"
    return cfg, component_sizes(cfg, where=f"{what}: config.json")


def _open(repo: str, revision: Optional[str], *, pins: dict, what: str, ref: Optional[str] = None,
          allowed: tuple = ()):
    """Resolve ``revision`` to a commit (or a cached copy offline) and return ``(fetch, commit, rev,
    settings)``: ``fetch(fname, bound=, why=, optional=False)`` downloads one verified file, of at most
    ``bound`` bytes, of that commit into the
    HF cache and returns its path. ``allowed``: exact file names accepted beside :func:`is_allowed_file`'s."""
    s = settings()
    rev = revision or "main"
    pull = ref or (f"hf://{repo}" + (f"@{revision}" if revision else ""))
    storage = Path(s.cache_dir) / ("models--" + repo.replace("/", "--"))
    common = dict(what=what, repo=repo, s=s, pull=pull)
    heads = {}  # file name -> the Hub's answer to HEAD (its size bounds the download)
    if s.offline:
        commit = None
    elif COMMIT_RE.match(rev) and (storage / "snapshots" / rev / "config.json").exists():
        commit = rev  # a pinned commit already in the cache: no network at all
    else:
        try:
            heads["config.json"] = _resolve(rev, **common)
            commit = heads["config.json"].commit_hash
        except HubError as exc:
            # The Hub is unreachable: a cached copy of the same revision is still good (and verified).
            commit = _cached_commit(storage, rev)
            if commit is None:
                raise
            import logging

            logging.getLogger("ganzoo").warning("%s; using the cached copy", exc)
            s = Settings(**{**s.__dict__, "offline": True})
            common["s"] = s
    if commit is not None and COMMIT_RE.match(rev) and commit != rev:
        raise IntegrityError(f"{what}: asked for commit {rev[:12]} but the Hub served {commit[:12]}; refusing it")

    def fetch(fname: str, *, bound: int, why: str, optional: bool = False) -> Optional[Path]:
        """Download ``fname`` (at most ``bound`` bytes, which ``why`` explains) into the cache and verify it."""
        if fname not in allowed:
            check_file(fname, where=what)
        target = commit or rev

        def once():
            limit = None
            if not s.offline and not (storage / "snapshots" / target / fname).exists():
                if fname not in heads:
                    heads[fname] = _head(repo, fname, target, s, what)  # validates commit id and ETag first
                limit = downloads.check_size(heads[fname].size, bound, fname=fname, why=why, what=what)
                downloads.check_space(storage, limit, fname=fname)
            return downloads.hf_download(repo, fname, revision=target, s=s, limit=limit, what=what)

        try:
            path = _retrying(once, revision=target, fname=fname, **common)
        except NotFoundError:
            if optional:
                return None
            raise
        except HubError:
            if optional and s.offline:
                return None
            raise
        return verify_download(path, fname=fname, storage=storage, pin=pins.get(fname), what=what)

    return fetch, commit, rev, s


def download_files(repo: str, *, revision: Optional[str] = None, files=("config.json",), one_of=(),
                   label: Optional[str] = None) -> tuple[Path, Optional[str]]:
    """Fetch ``files`` and the first of ``one_of`` that the repo has (any repo, not only a ganzoo
    model: ``ganzoo import hf://...``) into the HF cache; return ``(snapshot folder, commit)``. Every
    file is verified against the Hub's ETag, as for :func:`download`."""
    check_repo_id(repo)
    check_revision(revision)
    what = label or f"hf://{repo}" + (f"@{revision}" if revision else "")
    fetch, commit, rev, s = _open(repo, revision, pins={}, what=what, allowed=tuple(one_of))
    folder = None
    for fname in files:
        folder = fetch(fname, bound=MAX_CONFIG_BYTES, why="a config file may have").parent
    for fname in one_of:
        path = fetch(fname, optional=True, bound=weights_bound(8 * max_parameters()),
                     why="the largest model allowed needs")
        if path is not None:
            folder = path.parent
            break
    else:
        raise NotFoundError(f"{what}: has none of {', '.join(one_of)}")
    if commit is not None and not COMMIT_RE.match(rev):
        _write_ref(Path(s.cache_dir) / ("models--" + repo.replace("/", "--")), rev, commit)
    return folder, commit


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    from .fsutil import atomic_write_text

    ref = storage / "refs" / revision
    if Path(os.path.abspath(storage / "refs")) not in Path(os.path.abspath(ref)).parents:
        return
    try:
        if not ref.is_file() or ref.read_text() != commit:
            atomic_write_text(ref, commit)
    except OSError:
        pass  # a read-only cache still works by commit


def _head(repo: str, fname: str, revision: str, s: Settings, what: str):
    """HEAD the file with a short timeout and check the commit id and ETag are well formed before
    hf_hub_download turns them into cache paths."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    meta = get_hf_file_metadata(hf_hub_url(repo, fname, revision=revision, endpoint=s.endpoint),
                                token=s.token, timeout=s.timeout, endpoint=s.endpoint)
    check_metadata(meta, what=what, fname=fname)
    return meta


def _resolve(revision: str, *, repo: str, what: str, s: Settings, pull: str):
    """The Hub's answer to HEAD of config.json at a revision (its ``commit_hash``: the commit the revision
    points to; its ``size``), with bounded retries."""
    return _retrying(lambda: _head(repo, "config.json", revision, s, what), what=what, repo=repo,
                     revision=revision, fname="config.json", s=s, pull=pull)


def _cached_commit(storage: Path, revision: str) -> Optional[str]:
    if COMMIT_RE.match(revision):
        return revision if (storage / "snapshots" / revision / "config.json").exists() else None
    ref = storage / "refs" / revision
    try:
        commit = ref.read_text().strip()
    except OSError:
        return None
    return commit if COMMIT_RE.match(commit) and (storage / "snapshots" / commit / "config.json").exists() else None


def list_files(repo: str, *, revision: Optional[str] = None, _s: Optional[Settings] = None,
               _what: Optional[str] = None) -> list[str]:
    """Top-level files of a repo revision that ganzoo would download (unsafe names are dropped)."""
    from huggingface_hub import HfApi

    check_repo_id(repo)
    s = _s or settings()
    what = _what or f"hf://{repo}"
    rev = revision or "main"
    api = HfApi(endpoint=s.endpoint, token=s.token)
    names = _retrying(lambda: api.list_repo_files(repo, revision=rev), what=what, repo=repo, revision=rev,
                      fname="the file list", s=s, pull=f"hf://{repo}")
    return sorted(n for n in names if is_allowed_file(n))


# -- push ---------------------------------------------------------------------------------------
def push(folder, repo_id: str, *, private: bool = False, revision: Optional[str] = None,
         message: Optional[str] = None, token: Optional[str] = None, metrics: Optional[dict] = None) -> str:
    """Upload a model folder to ``repo_id`` and return the commit sha.

    The folder must load strictly first. A ``README.md`` model card (and ``samples.png`` for models
    that make images or 2-D points) is made when absent: uploaded with the folder's files from a
    temporary copy, and written into the folder only once the upload succeeded (a failed push leaves
    the folder as it was)."""
    import shutil
    import tempfile

    from .card import public_config, render_card
    from .fsutil import atomic_write_bytes
    from .model import load_folder, read_config

    folder = Path(folder).expanduser()
    check_repo_id(repo_id)
    check_revision(revision)
    if revision is not None and COMMIT_RE.match(revision):
        raise ConfigError("--revision names the branch to push to, not a commit sha")
    if not folder.is_dir():
        raise NotFoundError(f"{folder} is not a folder; pass a ganzoo model folder")
    model = load_folder(folder)  # strict: every tensor present, right shape and dtype
    cfg = read_config(folder)
    s = settings()
    if s.offline:
        raise HubError("cannot push with HF_HUB_OFFLINE=1; unset it and try again")
    tok = token or s.token
    from huggingface_hub import HfApi

    api = HfApi(endpoint=s.endpoint, token=tok)
    what = f"push to {repo_id}"
    common = dict(what=what, repo=repo_id, s=s, pull=None)
    with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as tmp:
        stage = Path(tmp)
        for p in upload_files(folder, cfg):  # what is uploaded: the folder's own files, linked (or copied)
            try:
                os.link(os.path.realpath(p), stage / p.name)
            except OSError:
                shutil.copyfile(os.path.realpath(p), stage / p.name)
        public = public_config(cfg)
        if public != cfg:   # local paths (the data folder of a run) stay home
            (stage / "config.json").unlink()
            (stage / "config.json").write_text(json.dumps(public, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        made = []
        sample_image = "samples.png" if (stage / "samples.png").is_file() else None
        if not (folder / "samples.png").exists():
            sample_image = _write_samples(model, stage / "samples.png")
            made += [sample_image] if sample_image else []
        if not (folder / "README.md").exists():
            (stage / "README.md").write_text(render_card(cfg, metrics=metrics or cfg.get("metrics"), repo_id=repo_id,
                                                         sample_image=sample_image,
                                                         can_sample="sample" in getattr(model, "capabilities", ("sample",))),
                                             encoding="utf-8")
            made.append("README.md")
        try:
            _retrying(lambda: api.create_repo(repo_id, private=private, exist_ok=True), revision="main",
                      fname="the repository", **common)
            if revision:
                _retrying(lambda: api.create_branch(repo_id, branch=revision, exist_ok=True), revision=revision,
                          fname="the branch", **common)
            info = api.upload_folder(repo_id=repo_id, folder_path=str(stage), revision=revision,
                                     commit_message=message or f"Upload ganzoo {cfg['variant']} model",
                                     allow_patterns=UPLOAD_PATTERNS)
        except (ConfigError, HubError, NotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise _map_error(exc, what=what, repo=repo_id, revision=revision or "main", fname="the upload", s=s,
                             pull=None) from None
        for name in made:  # uploaded: the card and picture now belong in the folder too
            if not (folder / name).exists():
                atomic_write_bytes(folder / name, (stage / name).read_bytes())
    return info.oid


def upload_files(folder: Path, cfg: dict) -> list[Path]:
    """The files a push sends: ``config.json``, the weights files it names, ``README.md`` and the top-level
    ``*.png`` pictures -- each a regular file inside ``folder`` (a symlink may point only at one), and each
    picture a PNG. Anything else that would be sent is refused in one line naming it."""
    root = Path(os.path.realpath(folder))
    named = {"config.json", "README.md", *(c["file"] for c in cfg.get("components", {}).values())}
    out = []
    for p in sorted(folder.iterdir()):
        if p.name not in named and not (p.suffix == ".png" and is_allowed_file(p.name)):
            continue
        real = Path(os.path.realpath(p))
        if root not in real.parents or not real.is_file():
            where = f"a link to {real}, outside the folder" if root not in real.parents else "not a regular file"
            raise ConfigError(f"{p}: {where}; push sends only the folder's own files: replace it with a copy or "
                              "remove it")
        if p.suffix == ".png":
            with open(real, "rb") as fh:
                if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                    raise ConfigError(f"{p}: not a PNG image; push sends *.png files as pictures: remove or rename it")
        out.append(p)
    return out


def _write_samples(model, path: Path) -> Optional[str]:
    from . import images

    try:
        picture = images.sample_picture(model, title="samples")
        if picture is not None:
            images.save_png(picture, path)
    except Exception:  # noqa: BLE001 - the image is a nicety; never block a push on it
        return None
    return path.name if picture is not None else None
