"""sha256 pins: every file ganzoo loads from the zoo or the Hub is checked against a digest.

The registry pins each file of a zoo model (``files: {name: sha256}`` in ``registry.yaml``);
:func:`verify_files` checks a bundled folder against those pins and :func:`verify_download` checks a
file that came from the Hub against its pin and against the content hash the Hub announced (its
ETag: a sha256 for LFS files, a git blob id for small ones). Both :mod:`ganzoo.api` and
:mod:`ganzoo.hub` use this module; it imports neither.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterable, Optional

from .errors import HubError, IntegrityError

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
ETAG_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def require_pin(pins: dict, fname: str, label: str) -> str:
    """The registry's sha256 pin of ``fname``; a file without one is never loaded."""
    if fname not in pins:
        raise IntegrityError(f"{label}: {fname} has no sha256 pin in the registry; refusing to load it")
    return pins[fname]


def verify_files(folder, pins: dict, names: Iterable[str], *, label: str, fix: str = "") -> None:
    """Check pinned sha256 digests of ``names`` in ``folder``; refuse on the first mismatch (``fix``: what
    to do about it, appended to the message)."""
    from .fsutil import sha256_file

    for fname in names:
        want = require_pin(pins, fname, label)
        path = Path(folder) / fname
        if not path.is_file():
            raise IntegrityError(f"{label}: {fname} is missing from {folder}{fix}")
        got = sha256_file(path)
        if got != want:
            raise IntegrityError(f"{label}: {fname} has sha256 {got[:12]}..., the registry pins {want[:12]}...; "
                                 f"refusing to load it{fix}")


def git_blob_sha1(path: Path) -> str:
    """git's object id of a file (what the Hub announces as the ETag of a non-LFS file)."""
    from .fsutil import file_digest

    h = hashlib.sha1()  # noqa: S324 - git's object id, used as a content check
    h.update(b"blob %d\0" % path.stat().st_size)
    return file_digest(path, h)


def discard_pair(pointer: Path, blob: Path) -> None:
    """Delete a cache snapshot link and its blob (whichever exist)."""
    for p in (pointer, blob):
        try:
            if p.is_symlink() or p.exists():
                p.unlink()
        except OSError:
            pass


def verify_download(pointer, *, fname: str, storage: Path, pin: Optional[str], what: str) -> Path:
    """Check a file hf_hub_download returned: inside the cache, matching its ETag and its pin.
    On any mismatch the blob and the snapshot link are deleted, so the cache holds no bad file."""
    from .fsutil import sha256_file

    pointer = Path(pointer)
    blob = Path(os.path.realpath(pointer))
    root = Path(os.path.realpath(storage))
    if root not in blob.parents or root not in Path(os.path.realpath(pointer.parent)).parents:
        discard_pair(pointer, blob)
        raise IntegrityError(f"{what}: {fname} resolved outside the Hub cache; refusing to load it")
    etag = blob.name if ETAG_RE.match(blob.name) else None
    digest = sha256_file(blob)
    problem = None
    if pin is not None and digest != pin:
        problem = f"has sha256 {digest[:12]}..., the registry pins {pin[:12]}..."
    elif etag is not None and len(etag) == 64 and digest != etag:
        problem = f"has sha256 {digest[:12]}..., the Hub announced {etag[:12]}... (corrupt download?)"
    elif etag is not None and len(etag) == 40 and git_blob_sha1(blob) != etag:
        problem = f"does not match the git object id {etag[:12]}... the Hub announced (corrupt download?)"
    if problem:
        discard_pair(pointer, blob)
        raise IntegrityError(f"{what}: {fname} {problem}; refusing to load it (removed from the cache)")
    return pointer


def check_metadata(meta, *, what: str, fname: str) -> None:
    """Refuse a Hub answer whose commit id or ETag is malformed (they become cache paths)."""
    if not COMMIT_RE.match(meta.commit_hash or ""):
        raise HubError(f"{what}: the Hub sent a malformed commit id for {fname}; refusing it")
    if not ETAG_RE.match(meta.etag or ""):
        raise HubError(f"{what}: the Hub sent a malformed ETag for {fname}; refusing it")
