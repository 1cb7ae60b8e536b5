"""The Hugging Face Hub: publish a model folder (:func:`push`) and fetch one (:func:`download`).

Downloads go through ``huggingface_hub.hf_hub_download`` one file at a time, into the ordinary HF
cache (``HF_HUB_CACHE`` / ``HF_HOME``), so sampling fetches only ``config.json`` and the generator.
Every file is verified after download: against its registry sha256 pin when there is one, and
always against the content hash the Hub announced (its ETag). A file that fails is removed from the
cache (blob and snapshot link) before the error is raised.

``HF_TOKEN``, ``HF_ENDPOINT``, ``HF_HOME``/``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` are read when a
call is made. Retries are few and short (``GANZOO_HUB_RETRIES``, default 3; ``GANZOO_HUB_TIMEOUT``
seconds per request, default 10); every failure ends as one line naming what to do.

huggingface_hub (and torch) are imported inside the functions: ``ganzoo list`` needs neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .errors import ConfigError, HubError, IntegrityError, NotFoundError, first_line

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
ETAG_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
REVISION_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,127}$")
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)
UPLOAD_PATTERNS = ["config.json", "*.safetensors", "README.md", "*.png"]


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


# -- settings, read at call time ----------------------------------------------------------------
def _true(value: Optional[str]) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


@dataclass
class Settings:
    endpoint: str
    cache_dir: str
    offline: bool
    token: Optional[str]
    timeout: float
    retries: int


def settings() -> Settings:
    from huggingface_hub import constants

    endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    if os.environ.get("HF_HUB_CACHE"):
        cache = os.environ["HF_HUB_CACHE"]
    elif os.environ.get("HF_HOME"):
        cache = os.path.join(os.environ["HF_HOME"], "hub")
    else:
        cache = constants.HF_HUB_CACHE
    offline_env = os.environ.get("HF_HUB_OFFLINE")
    offline = _true(offline_env) if offline_env is not None else bool(constants.HF_HUB_OFFLINE)
    try:
        timeout = float(os.environ.get("GANZOO_HUB_TIMEOUT", "10"))
        retries = int(os.environ.get("GANZOO_HUB_RETRIES", "3"))
    except ValueError:
        raise ConfigError("GANZOO_HUB_TIMEOUT must be a number of seconds and GANZOO_HUB_RETRIES an integer") from None
    return Settings(endpoint=endpoint, cache_dir=str(Path(cache).expanduser()), offline=offline,
                    token=os.environ.get("HF_TOKEN") or None, timeout=max(0.1, timeout),
                    retries=max(1, min(retries, 10)))


# -- error mapping ------------------------------------------------------------------------------
def _httpx():
    """The HTTP client module huggingface_hub uses: httpx2 in the 2.x line, httpx in 1.x."""
    try:
        import httpx2

        return httpx2
    except ImportError:  # huggingface_hub 1.x
        import httpx

        return httpx


def _is_transient(exc: BaseException) -> bool:
    httpx2 = _httpx()
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        resp = getattr(exc, "response", None)
        return resp is not None and resp.status_code in TRANSIENT_STATUS
    if isinstance(exc, httpx2.TransportError):
        return not isinstance(exc, httpx2.ProxyError)
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return True
    return False


def _offline_line(what: str, pull: str) -> str:
    return f"{what} is not in the cache (HF_HUB_OFFLINE=1); run `ganzoo pull {pull}` once online"


def _map_error(exc: BaseException, *, what: str, repo: str, revision: str, fname: str, s: Settings,
               pull: str, tries: int = 1) -> Exception:
    """One line for a huggingface_hub/httpx failure; never includes a token or a traceback."""
    httpx2 = _httpx()
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, HfHubHTTPError,
                                        LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, (OfflineModeIsEnabled, LocalEntryNotFoundError)) and s.offline:
        return HubError(_offline_line(what, pull))
    if isinstance(exc, GatedRepoError):
        return HubError(f"{what}: {repo} is gated on {s.endpoint}; accept its terms there and set HF_TOKEN")
    if isinstance(exc, RepositoryNotFoundError):
        return NotFoundError(f"{what}: repository {repo!r} not found on {s.endpoint} (HTTP {status}); check the "
                             "name, and if it is private set HF_TOKEN to a token that can read it")
    if isinstance(exc, RevisionNotFoundError):
        return NotFoundError(f"{what}: revision {revision!r} not found in {repo}; check the branch, tag or commit")
    if isinstance(exc, EntryNotFoundError) and not isinstance(exc, LocalEntryNotFoundError):
        return NotFoundError(f"{what}: {repo}@{revision} has no file {fname!r}; is it a ganzoo model repo?")
    if isinstance(exc, HfHubHTTPError) and status in (401, 403):
        return HubError(f"{what}: the Hub refused access (HTTP {status}); set HF_TOKEN to a valid token with "
                        "the right permissions")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{what}: the Hub at {s.endpoint} answered HTTP {status} for {fname} "
                        f"(gave up after {tries} tries); try again later")
    if isinstance(exc, httpx2.TimeoutException):
        return HubError(f"{what}: no answer from {s.endpoint} within {s.timeout:g}s (gave up after {tries} tries); "
                        "check your connection, or set HF_HUB_OFFLINE=1 to use cached models")
    if isinstance(exc, (httpx2.TransportError, OfflineModeIsEnabled, LocalEntryNotFoundError, ConnectionError)):
        return HubError(f"{what}: cannot reach the Hub at {s.endpoint} (gave up after {tries} tries); check your "
                        f"connection, or run `ganzoo pull {pull}` once online and use HF_HUB_OFFLINE=1")
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return HubError(f"{what}: the download of {fname} was cut off (gave up after {tries} tries); try again")
    return HubError(f"{what}: Hub request for {fname} failed: {type(exc).__name__}: {_scrub(first_line(exc, 200), s)}")


def _scrub(text: str, s: Settings) -> str:
    token = s.token or os.environ.get("HF_TOKEN")
    if token:
        text = text.replace(token, "***")
    return text


def _retrying(fn, *, s: Settings, what: str, repo: str, revision: str, fname: str, pull: str):
    """Call ``fn`` with at most ``s.retries`` tries on 5xx/timeouts/cut-offs, short backoff."""
    for attempt in range(1, s.retries + 1):
        try:
            return fn()
        except (ConfigError, IntegrityError, HubError, NotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to one line below
            if _is_transient(exc) and attempt < s.retries:
                time.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
                continue
            raise _map_error(exc, what=what, repo=repo, revision=revision, fname=fname, s=s, pull=pull,
                             tries=attempt) from None


# -- download -----------------------------------------------------------------------------------
def _git_blob_sha1(path: Path) -> str:
    from .fsutil import file_digest

    h = hashlib.sha1()  # noqa: S324 - git's object id, used as a content check
    h.update(b"blob %d\0" % path.stat().st_size)
    return file_digest(path, h)


def _discard(pointer: Path, blob: Path) -> None:
    for p in (pointer, blob):
        try:
            if p.is_symlink() or p.exists():
                p.unlink()
        except OSError:
            pass


def _verify(pointer: str, *, fname: str, storage: Path, pin: Optional[str], what: str) -> Path:
    """Check a file hf_hub_download returned: inside the cache, matching its ETag and its pin.
    On any mismatch the blob and the snapshot link are deleted, so the cache holds no bad file."""
    from .fsutil import sha256_file

    pointer = Path(pointer)
    blob = Path(os.path.realpath(pointer))
    root = Path(os.path.realpath(storage))
    if root not in blob.parents or root not in Path(os.path.realpath(pointer.parent)).parents:
        _discard(pointer, blob)
        raise IntegrityError(f"{what}: {fname} resolved outside the Hub cache; refusing to load it")
    etag = blob.name if ETAG_RE.match(blob.name) else None
    digest = sha256_file(blob)
    problem = None
    if pin is not None and digest != pin:
        problem = f"has sha256 {digest[:12]}..., the registry pins {pin[:12]}..."
    elif etag is not None and len(etag) == 64 and digest != etag:
        problem = f"has sha256 {digest[:12]}..., the Hub announced {etag[:12]}... (corrupt download?)"
    elif etag is not None and len(etag) == 40 and _git_blob_sha1(blob) != etag:
        problem = f"does not match the git object id {etag[:12]}... the Hub announced (corrupt download?)"
    if problem:
        _discard(pointer, blob)
        raise IntegrityError(f"{what}: {fname} {problem}; refusing to load it (removed from the cache)")
    return pointer


def _check_metadata(meta, *, what: str, fname: str) -> None:
    if not COMMIT_RE.match(meta.commit_hash or ""):
        raise HubError(f"{what}: the Hub sent a malformed commit id for {fname}; refusing it")
    if not ETAG_RE.match(meta.etag or ""):
        raise HubError(f"{what}: the Hub sent a malformed ETag for {fname}; refusing it")


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
    s = settings()
    rev = revision or "main"
    what = label or f"hf://{repo}" + (f"@{revision}" if revision else "")
    pull = ref or (f"hf://{repo}" + (f"@{revision}" if revision else ""))
    pins = dict(pins or {})
    storage = Path(s.cache_dir) / ("models--" + repo.replace("/", "--"))
    from .api import require_pin

    if pins:
        for fname in ["config.json"] + [f"{c}.safetensors" for c in (components or [])]:
            require_pin(pins, fname, what)

    common = dict(what=what, repo=repo, s=s, pull=pull)
    if s.offline:
        commit = None
    elif COMMIT_RE.match(rev) and (storage / "snapshots" / rev / "config.json").exists():
        commit = rev  # a pinned commit already in the cache: no network at all
    else:
        try:
            commit = _resolve(rev, **common)
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

    def fetch(fname: str, *, optional: bool = False) -> Optional[Path]:
        from huggingface_hub import hf_hub_download

        check_file(fname, where=what)
        target = commit or rev

        def once():
            if not s.offline and fname != "config.json" and not (storage / "snapshots" / target / fname).exists():
                _head(repo, fname, target, s, what)  # validates commit id and ETag first
            return hf_hub_download(repo, fname, revision=target, cache_dir=s.cache_dir, endpoint=s.endpoint,
                                   token=s.token, local_files_only=s.offline, etag_timeout=s.timeout)

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
        return _verify(path, fname=fname, storage=storage, pin=pins.get(fname), what=what)

    cfg_path = fetch("config.json")
    folder = cfg_path.parent
    from .config import validate_model_config

    try:
        cfg = validate_model_config(json.loads(cfg_path.read_text(encoding="utf-8")), where=f"{what}: config.json")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what}: config.json is not valid JSON ({exc})") from None
    wanted = list(components) if components is not None else list(cfg.get("components", {}))
    for name in wanted:
        info = cfg.get("components", {}).get(name)
        if info is None:
            continue  # load_folder names the missing component
        fname = check_file(info["file"], where=what)
        if not fname.endswith(".safetensors"):
            raise HubError(f"{what}: component {name!r} names {fname!r}, not a .safetensors file")
        if pins:
            require_pin(pins, fname, what)
        fetch(fname)
    fetch("README.md", optional=True)
    if commit is not None and not COMMIT_RE.match(rev):
        _write_ref(storage, rev, commit)  # so HF_HUB_OFFLINE=1 finds this revision by name
    if extras and not s.offline:
        for fname in list_files(repo, revision=commit or rev, _s=s, _what=what):
            if fname.endswith(".png"):
                fetch(fname, optional=True)
    return folder


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
    _check_metadata(meta, what=what, fname=fname)
    return meta


def _resolve(revision: str, *, repo: str, what: str, s: Settings, pull: str) -> str:
    """The commit a revision points to (HEAD of config.json), with bounded retries."""
    meta = _retrying(lambda: _head(repo, "config.json", revision, s, what), what=what, repo=repo,
                     revision=revision, fname="config.json", s=s, pull=pull)
    return meta.commit_hash


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
    that make images or 2-D points) is written into the folder when absent."""
    from .card import render_card
    from .fsutil import atomic_write_text
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
    sample_image = None
    if not (folder / "samples.png").exists():
        sample_image = _write_samples(model, folder / "samples.png")
    elif (folder / "samples.png").is_file():
        sample_image = "samples.png"
    if not (folder / "README.md").exists():
        atomic_write_text(folder / "README.md", render_card(cfg, metrics=metrics or cfg.get("metrics"),
                                                            repo_id=repo_id, sample_image=sample_image))
    s = settings()
    if s.offline:
        raise HubError("cannot push with HF_HUB_OFFLINE=1; unset it and try again")
    tok = token or s.token
    from huggingface_hub import HfApi

    api = HfApi(endpoint=s.endpoint, token=tok)
    what = f"push to {repo_id}"
    common = dict(what=what, repo=repo_id, s=s, pull=f"hf://{repo_id}")
    try:
        _retrying(lambda: api.create_repo(repo_id, private=private, exist_ok=True), revision="main",
                  fname="the repository", **common)
        if revision:
            _retrying(lambda: api.create_branch(repo_id, branch=revision, exist_ok=True), revision=revision,
                      fname="the branch", **common)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), revision=revision,
                                 commit_message=message or f"Upload ganzoo {cfg['variant']} model",
                                 allow_patterns=UPLOAD_PATTERNS)
    except (ConfigError, HubError, NotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise _map_error(exc, what=what, repo=repo_id, revision=revision or "main", fname="the upload", s=s,
                         pull=f"hf://{repo_id}") from None
    return info.oid


def _write_samples(model, path: Path) -> Optional[str]:
    from . import images

    try:
        if model.is_image:
            images.save_png(images.grid(model.sample_unit(64, seed=0)), path)
        elif tuple(model.sample_shape) == (2,):
            images.save_png(images.scatter(model.sample_unit(1000, seed=0), None, title="samples"), path)
        else:
            return None
    except Exception:  # noqa: BLE001 - the image is a nicety; never block a push on it
        return None
    return path.name
