"""What a Hub download may cost, checked before and during it: used by :mod:`ganzoo.hub`.

* :func:`check_size` -- the size the Hub announces for a file against what ganzoo needs of it (a model's
  weights: what its config.json describes; a config, a card, a picture: fixed bounds), before a byte is
  fetched;
* :func:`hf_download` -- ``hf_hub_download`` stopped as soon as more bytes arrive than were announced
  (a Hub that says 1 KB and sends 10 GB), without huggingface_hub's own disk-space warning;
* :func:`check_space` -- free disk space for the announced size, else the same one-line disk-full error
  as every other write (:func:`ganzoo.fsutil.disk_full_error`);
* :func:`discarded_if_refused` -- a file ganzoo refuses after download, for any reason, leaves the cache,
  so a retry starts clean.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
from pathlib import Path
from typing import Optional

from .errors import GanzooError, IntegrityError, TooLargeError
from .limits import human_bytes


def check_size(announced: Optional[int], bound: int, *, fname: str, why: str, what: str) -> int:
    """The most bytes to accept for ``fname``: what the Hub announced, refused (:class:`TooLargeError`)
    when that is more than ``bound`` (``why``: "the generator that config.json describes needs")."""
    if announced is not None and announced > bound:
        raise TooLargeError(f"{what}: {fname} is {human_bytes(announced)} ({announced:,} bytes), more than the "
                            f"{bound:,} bytes {why}; refusing to download it", need=announced, limit=bound)
    return bound if announced is None else announced


def check_space(storage: Path, size: int, *, fname: str) -> None:
    """Refuse to start a download of ``size`` bytes into ``storage`` that the disk cannot hold."""
    from .fsutil import disk_full_error

    where = Path(storage)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return
    if free < size:
        raise disk_full_error(storage, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                              f"{fname} ({human_bytes(size)}; {human_bytes(free)} free) was not downloaded")


class _Bounded:
    """A progress "bar" for huggingface_hub's download loop that counts the bytes it is told about (before
    they are written) and stops the download when they pass ``limit``."""

    def __init__(self, *, limit: int, fname: str, what: str, initial: int = 0, **_):
        self.limit, self.fname, self.what, self.n = limit, fname, what, initial

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n > self.limit:
            raise IntegrityError(f"{self.what}: the Hub sent more than the {self.limit:,} bytes it announced for "
                                 f"{self.fname}; refusing it (nothing was kept)")

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def hf_download(repo: str, fname: str, *, revision: str, s, limit: Optional[int], what: str) -> str:
    """``hf_hub_download`` of one file into the cache, at most ``limit`` bytes (None: a cached file)."""
    import warnings

    from huggingface_hub import hf_hub_download

    bar = functools.partial(_Bounded, limit=limit, fname=fname, what=what) if limit is not None else None
    with warnings.catch_warnings():  # the disk-full line is ganzoo's own (check_space, ganzoo.hub_http)
        warnings.filterwarnings("ignore", message="Not enough free disk space")
        return hf_hub_download(repo, fname, revision=revision, cache_dir=s.cache_dir, endpoint=s.endpoint,
                               token=s.token, local_files_only=s.offline, etag_timeout=s.timeout,
                               **({"tqdm_class": bar} if bar is not None else {}))


def discard(pointer) -> None:
    """Remove a downloaded file from the Hub cache: its snapshot link and the blob it points to."""
    from .pins import discard_pair

    pointer = Path(pointer)
    discard_pair(pointer, Path(os.path.realpath(pointer)))


@contextlib.contextmanager
def discarded_if_refused(pointer, storage):
    """Inside the block ganzoo reads a downloaded file; a :class:`~ganzoo.errors.GanzooError` raised there
    removes the file from the cache (when it lies inside ``storage``, a repo's cache folder) before it
    goes on."""
    try:
        yield
    except GanzooError:
        if in_cache(pointer, storage):
            discard(pointer)
        raise


def in_cache(path, storage) -> bool:
    root = Path(os.path.realpath(storage))
    return root in Path(os.path.realpath(Path(path).parent)).parents
