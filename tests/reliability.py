"""Counters for the reliability tally (``scripts/reliability_tally.py``; README's Reliability section).

Tests marked ``@pytest.mark.reliability`` record *outcomes*, never mere catches:

* :func:`refuses` / :func:`refused` -- a bad input (of a named format) was refused with the specific
  error class AND a message that says what was wrong (the file, key or tensor); counted only after
  both were asserted;
* :func:`loaded_equal` -- an input the reference reader accepted was loaded by ganzoo and compared
  equal to the reference's result (tensors, values); counted only after the comparison;
* :func:`fault` -- a fault the harness observed injected: kill -9 delivered while the writer was
  paused mid-file (:func:`kill_when`), ENOSPC raised by the injected writer; the test Hub's own
  record of what it failed/stalled/cut/held is counted by the ``hub`` fixture;
* :func:`check_file` / :func:`check_tree` / :func:`check_hf_cache` -- files inspected; a file counts as
  "verified after a fault" once per test, and only once a fault was observed in that test; a file found
  corrupt is counted as data lost, then the check fails;
* :func:`reached` -- how far a fuzzed input got (the deepest check it met).

conftest.py attributes each test's counts to its outcome (passed / failed) and, when
``GANZOO_RELIABILITY_TALLY`` names a file, writes the totals there as JSON at the end of the session.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import signal
import time
from pathlib import Path

COUNTS: collections.Counter = collections.Counter()
FAULT_PROBES: list = []  # callables: has a fault been injected in this test? (the test Hub's record)
_TEST = {"fault": False, "checked": set()}


def new_test() -> None:
    """A test starts (tests/conftest.py): no fault seen yet, no file checked yet."""
    _TEST["fault"], _TEST["checked"] = False, set()


def _after_fault() -> bool:
    return _TEST["fault"] or any(probe() for probe in FAULT_PROBES)


REFUSED, EQUAL = "refused as expected", "loaded equal to the reference"


def _one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "\n" not in text, f"not one clear line: {text!r}"


def refused(fmt: str, exc: BaseException, cls, match: str) -> None:
    """Assert ``exc`` is a ``cls`` (one class) whose one-line message matches the regex ``match``
    (what was wrong, which file/key); then count one ``fmt`` input refused as expected."""
    import re

    assert isinstance(cls, type) and cls is not Exception and match, "pin one error class and a message"
    assert isinstance(exc, cls), f"expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    assert re.search(match, str(exc)), f"{type(exc).__name__} message {str(exc)!r} does not match {match!r}"
    _one_line(exc)
    COUNTS[f"input:{fmt}:{REFUSED}"] += 1


@contextlib.contextmanager
def refuses(fmt: str, cls, match: str):
    """``with refuses("config.json", ConfigError, "unknown key 'x'"):`` -- like ``pytest.raises``
    with a required message match; counts the input as refused only when the block raised that."""
    import pytest

    with pytest.raises(cls) as info:
        yield info
    refused(fmt, info.value, cls, match)


def refused_cli(fmt: str, result, match: str) -> None:
    """A CLI run (tests/helpers.CliResult) refused its input: exit 1, exactly one ``ganzoo: error:``
    line on stderr matching ``match``, no traceback; then count it."""
    import re

    err = result.err
    assert result.code == 1, f"exit {result.code}, stderr: {err[-2000:]}"
    lines = [ln for ln in err.splitlines() if ln.startswith("ganzoo: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert re.search(match, lines[0]), f"{lines[0]!r} does not match {match!r}"
    COUNTS[f"input:{fmt}:{REFUSED}"] += 1


def reported(fmt: str, line: str, match: str) -> None:
    """A bad input that is reported and set aside rather than raised (a broken plugin is disabled,
    the rest keep working): its one report line must match ``match``; then count it as refused."""
    import re

    assert match and re.search(match, line) and "\n" not in line.strip(), f"{line!r} does not match {match!r}"
    COUNTS[f"input:{fmt}:{REFUSED}"] += 1


def loaded_equal(fmt: str) -> None:
    """Count one ``fmt`` input that ganzoo loaded and the test compared equal to the reference."""
    COUNTS[f"input:{fmt}:{EQUAL}"] += 1


def fault(kind: str, n: int = 1) -> None:
    """Count ``n`` fault scenarios of ``kind`` that the harness observed injected (one scenario: one
    injected condition and what it causes -- the retries of an armed HTTP failure are the same scenario)."""
    COUNTS[f"fault:{kind}"] += n
    _TEST["fault"] = True


def reached(fmt: str, check: str) -> None:
    """A fuzzed ``fmt`` input got as far as ``check`` (the deepest check that refused it, or "loaded"):
    the tally reports how deep fuzzing reaches, not only how often it is refused."""
    COUNTS[f"depth:{fmt}:{check}"] += 1


def kill_when(proc, ready=lambda: True, *, what: str, timeout: float = 120,
              kind: str = "kill -9 (writer paused mid-file)") -> int:
    """Wait until ``ready()`` (a condition the test observes: a file the process wrote when it paused
    mid-write, a request the test Hub is holding; polled), then SIGKILL ``proc`` and count a ``kind``
    fault once the process is seen dead by that signal. The test fails, naming ``what``, if ``proc`` exits first or ``timeout`` passes (a guard,
    not an ordering). The process never outlives the call; returns its exit code."""
    import pytest

    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"{what}: the process exited first: {_text(proc.stderr.read())[-2000:]}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{what}: not within {timeout} s: {_text(proc.communicate()[1])[-2000:]}")
            time.sleep(0.02)  # polling interval
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"{what}: exit {proc.returncode}, not killed by SIGKILL"
    fault(kind)
    return proc.returncode


def _text(out) -> str:
    return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")


def _validate(path: Path) -> None:
    name = path.name
    if name.endswith(".json"):
        json.loads(path.read_text(encoding="utf-8"))
    elif name.endswith(".safetensors"):
        from safetensors.torch import load_file

        load_file(str(path))
    elif name.endswith(".png"):
        from PIL import Image

        with Image.open(path) as im:
            im.verify()
    elif name.endswith(".npy"):
        import numpy as np

        np.load(path, allow_pickle=False)
    elif name == "metrics.jsonl":
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
            json.loads(line)  # a kill may leave at most a partial last line
    else:
        path.read_bytes()


def _content(name: str, data: bytes):
    """What a file holds, independent of incidental byte order (safetensors writes its metadata
    in no fixed order): the tensors for .safetensors, the bytes otherwise."""
    if name.endswith(".safetensors"):
        from safetensors.torch import load

        return sorted((k, str(v.dtype), tuple(v.shape), v.numpy().tobytes()) for k, v in load(data).items())
    return data


def check_file(path, *, expect: bytes | None = None, one_of: tuple = ()) -> None:
    """Assert that ``path`` is a complete, valid file (optionally: holding what ``expect`` holds, or
    what one of ``one_of`` holds); a failure is counted as data lost."""
    path = Path(path)
    key = os.path.realpath(path)
    if _after_fault() and key not in _TEST["checked"]:  # counted once per test, and only after a fault
        _TEST["checked"].add(key)
        COUNTS["files_checked"] += 1
    try:
        _validate(path)
        got = _content(path.name, path.read_bytes())
        if expect is not None and got != _content(path.name, expect):
            raise ValueError("contents differ from the expected (previous) version")
        if one_of and got not in [_content(path.name, d) for d in one_of]:
            raise ValueError("contents are neither the old nor the new version")
    except Exception as exc:  # noqa: BLE001
        COUNTS["files_corrupt"] += 1
        raise AssertionError(f"data lost: {path} is corrupt after a fault ({type(exc).__name__}: {exc})") from None


def visible_files(root) -> list[Path]:
    """Files under ``root`` that ganzoo would read (hidden temp files and folders are skipped)."""
    root = Path(root)
    return [p for p in sorted(root.rglob("*")) if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def check_tree(root) -> int:
    """check_file every visible file under ``root``; returns how many were checked."""
    files = visible_files(root)
    for p in files:
        check_file(p)
    return len(files)


def _blob_ok(blob: Path) -> bool:
    name = blob.name
    data = blob.read_bytes()
    if len(name) == 64:
        return hashlib.sha256(data).hexdigest() == name
    if len(name) == 40:
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == name  # noqa: S324
    return True


def check_hf_cache(cache) -> int:
    """Every snapshot file in a huggingface_hub cache resolves to a complete blob matching its
    content hash and parses; ``*.incomplete`` partial downloads (which huggingface_hub resumes and
    ganzoo verifies) and lock files are skipped. Returns how many snapshot files were checked."""
    cache = Path(cache)
    n = 0
    if not cache.exists():
        return 0
    for blob in sorted(cache.glob("models--*/blobs/*")):
        if blob.name.endswith(".incomplete") or blob.name.startswith("."):
            continue
        if not _blob_ok(blob):
            COUNTS["files_corrupt"] += 1
            raise AssertionError(f"data lost: cache blob {blob} does not match its content hash")
    for link in sorted(cache.glob("models--*/snapshots/*/*")):
        if not link.resolve().exists():
            COUNTS["files_corrupt"] += 1
            raise AssertionError(f"data lost: snapshot file {link} points at a missing blob")
        check_file(link)
        n += 1
    return n
