"""Files are written whole or not at all: a temp name in the same folder, fsync, then rename."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from pathlib import Path

DISK_FULL = {errno.ENOSPC, errno.EDQUOT} if hasattr(errno, "EDQUOT") else {errno.ENOSPC}


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and getattr(exc, "errno", None) in DISK_FULL


def disk_full_error(path, exc: OSError, what: str = ""):
    """The one-line :class:`~ganzoo.errors.DiskFullError` for an ENOSPC/EDQUOT while writing ``path``."""
    from .errors import DiskFullError

    reason = exc.strerror or os.strerror(exc.errno or errno.ENOSPC)
    what = what or f"the previous {Path(path).name} (if any) is intact"
    return DiskFullError(f"{path}: disk full while writing ({reason}); nothing half-written was kept, {what}. "
                         "Free some space and try again")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.
    A full disk raises :class:`~ganzoo.errors.DiskFullError` and leaves ``path`` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # permissions follow the umask
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if is_disk_full(exc) and not _is_ganzoo(exc):
            raise disk_full_error(path, exc) from None
        if isinstance(exc, OSError) and tmp is not None and exc.filename == str(tmp):  # name the file asked for
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None
        raise


def _is_ganzoo(exc) -> bool:
    from .errors import GanzooError

    return isinstance(exc, GanzooError)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a hidden temporary folder next to ``path``; on success it is renamed onto ``path`` (which must
    be absent or empty), so ``path`` is either a complete folder or absent. Temp folders of killed
    processes (``.NAME.PID.tmp``) are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f".{path.name}.*.tmp"):
        pid = old.name[len(path.name) + 2:-len(".tmp")]
        if old.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(exc) and not _is_ganzoo(exc):
            raise disk_full_error(path, exc, "nothing was written") from None
        raise


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def file_digest(path, h) -> str:
    """Feed the file at ``path`` to the hashlib object ``h`` in 1 MiB chunks; return its hex digest."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path) -> str:
    import hashlib

    return file_digest(path, hashlib.sha256())
