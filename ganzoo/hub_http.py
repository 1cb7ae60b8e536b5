"""How ganzoo talks to the Hub over HTTP: settings read at call time, a few short retries, and one
line for every failure (never a token or a traceback). Used by :mod:`ganzoo.hub`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import ConfigError, GanzooError, HubError, NotFoundError, first_line

TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)


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


def _offline_line(what: str, pull: Optional[str]) -> str:
    return f"{what} is not in the cache (HF_HUB_OFFLINE=1); run `ganzoo pull {pull}` once online"


def _map_error(exc: BaseException, *, what: str, repo: str, revision: str, fname: str, s: Settings,
               pull: Optional[str], tries: int = 1) -> Exception:
    """One line for a huggingface_hub/httpx failure; never includes a token or a traceback."""
    httpx2 = _httpx()
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, HfHubHTTPError,
                                        LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    from .fsutil import disk_full_error, is_disk_full

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if is_disk_full(exc):  # the same line as every other write that meets a full disk
        storage = Path(s.cache_dir) / ("models--" + repo.replace("/", "--"))
        return disk_full_error(storage, exc, f"{fname} was not downloaded")
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
        advice = "set HF_HUB_OFFLINE=1 to use cached models" if pull else "try again later"
        return HubError(f"{what}: no answer from {s.endpoint} within {s.timeout:g}s (gave up after {tries} tries); "
                        f"check your connection, or {advice}")
    if isinstance(exc, (httpx2.TransportError, OfflineModeIsEnabled, LocalEntryNotFoundError, ConnectionError)):
        advice = (f", or run `ganzoo pull {pull}` once online and use HF_HUB_OFFLINE=1" if pull else
                  " and HF_ENDPOINT, then try again")
        return HubError(f"{what}: cannot reach the Hub at {s.endpoint} (gave up after {tries} tries); check your "
                        f"connection{advice}")
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return HubError(f"{what}: the download of {fname} was cut off (gave up after {tries} tries); try again")
    return HubError(f"{what}: Hub request for {fname} failed: {type(exc).__name__}: {_scrub(first_line(exc, 200), s)}")


def _scrub(text: str, s: Settings) -> str:
    token = s.token or os.environ.get("HF_TOKEN")
    if token:
        text = text.replace(token, "***")
    return text


def _retrying(fn, *, s: Settings, what: str, repo: str, revision: str, fname: str, pull: Optional[str]):
    """Call ``fn`` with at most ``s.retries`` tries on 5xx/timeouts/cut-offs, short backoff."""
    for attempt in range(1, s.retries + 1):
        try:
            return fn()
        except GanzooError:  # already one line (a refusal, a full disk, a size over its bound)
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to one line below
            if _is_transient(exc) and attempt < s.retries:
                time.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
                continue
            raise _map_error(exc, what=what, repo=repo, revision=revision, fname=fname, s=s, pull=pull,
                             tries=attempt) from None
