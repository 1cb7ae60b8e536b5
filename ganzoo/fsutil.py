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
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        yield Path(tmp)
        follow_umask(tmp)  # whatever wrote it (safetensors writes 0600)
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


def umask() -> int:
    """The process's umask (read from /proc where it can be, so no other thread ever sees it changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(path, mode: int = 0o666) -> None:
    """Give ``path`` the permissions a new file gets (``mode`` less the umask), whoever created it."""
    os.chmod(path, mode & ~umask())


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


def write_chunks(path, chunks) -> None:
    """Write byte strings one after the other to ``path`` (a temp path of :func:`atomic_path`), without joining
    them in memory first: the one place model weights reach the disk."""
    with open(path, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)


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


# -- one writer per folder -----------------------------------------------------------------------------
LOCK_NAME = ".ganzoo-lock"


class FolderLock:
    """An advisory lock (``fcntl.flock``) on ``FOLDER/.ganzoo-lock``, held by the one process that writes the
    folder (a training run). The kernel drops it when the process ends, however it ends (``kill -9``
    too), so a folder is never left locked. The lock file holds the holder's pid, for the refusal;
    it is removed on :meth:`release`. Without ``fcntl`` (Windows) it does nothing."""

    def __init__(self, folder, *, what: str = "training run", advice: str = "choose another --out"):
        """``folder`` None: a lock that does nothing (a data-parallel rank that does not write)."""
        self.folder = None if folder is None else Path(folder)
        self.path = None if folder is None else self.folder / LOCK_NAME
        self.what, self.advice, self.fd, self.made = what, advice, None, False

    def _busy(self, fd: int):
        from .errors import ConfigError

        try:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").split()
        except OSError:
            holder = []
        pid = f"pid {holder[0]}" if holder and holder[0].isdigit() else "its pid unknown"
        return ConfigError(f"{self.folder} is being written by another {self.what} ({pid}); wait for it to end, "
                           f"or {self.advice}")

    def check(self) -> "FolderLock":
        """Refuse (:class:`~ganzoo.errors.ConfigError`, naming the holder's pid) when another process holds
        the lock; writes nothing."""
        try:
            import fcntl
            fd = os.open(self.path, os.O_RDONLY)
        except (ImportError, OSError, TypeError):
            return self  # no lock file (or no fcntl, or no folder): nobody holds it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise self._busy(fd) from None
        finally:
            os.close(fd)
        return self

    def acquire(self) -> "FolderLock":
        """Take the lock (creating the folder), or refuse as :meth:`check` does."""
        try:
            import fcntl
        except ImportError:
            return self
        if self.folder is None:
            return self
        self.made = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        while self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                err = self._busy(fd)
                os.close(fd)
                raise err from None
            try:  # the file we locked may have been released and removed meanwhile: then lock the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            self.fd = fd
        return self

    def release(self) -> None:
        """Drop the lock and its file; a folder that :meth:`acquire` made and nothing else was written into
        goes too."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # (while still held: whoever opens the name next makes a new file)
            os.close(self.fd)
            self.fd = None
            if self.made:
                with contextlib.suppress(OSError):
                    self.folder.rmdir()  # only if empty
