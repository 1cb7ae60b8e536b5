"""Running the ``ganzoo`` command line from tests: one helper instead of a copy per test file.

* :func:`cli` runs ``ganzoo ARGS`` in this process (fast; sees monkeypatched modules and env);
* :func:`run` runs it in a child process (``python -m ganzoo.cli``; a real exit, real signals);
* :func:`popen` starts such a child for tests that kill it or run two at once;
* :func:`env` is the child's environment: this checkout and this interpreter's ``sys.path`` first,
  one thread, no ``GANZOO_DEBUG``.

All return / take a :class:`CliResult` (``code``, ``out``, ``err``).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def returncode(self) -> int:  # subprocess.CompletedProcess's spelling
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err

    def __iter__(self):  # code, out, err = cli(...)
        return iter((self.code, self.out, self.err))


def env(**extra) -> dict:
    """The environment for a child ``ganzoo``: sees this checkout, one CPU thread, no --debug."""
    e = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *sys.path])
    e.pop("GANZOO_DEBUG", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def cli(*args) -> CliResult:
    """``ganzoo ARGS`` in this process; stdout and stderr captured, the exit code returned."""
    from ganzoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def run(*args, timeout: float = 300, cwd=None, **extra_env) -> CliResult:
    """``ganzoo ARGS`` in a child process (``python -m ganzoo.cli``)."""
    p = subprocess.run([sys.executable, "-m", "ganzoo.cli", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd or ROOT, env=env(**extra_env))
    return CliResult(p.returncode, p.stdout, p.stderr)


def popen(argv: list, *, module: bool = True, **extra_env) -> subprocess.Popen:
    """Start ``ganzoo ARGV`` (or, with ``module=False``, ``python ARGV``) in a child; pipes bytes."""
    head = [sys.executable, "-m", "ganzoo.cli"] if module else [sys.executable]
    return subprocess.Popen([*head, *map(str, argv)], env=env(**extra_env), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_checked(cmd, *, cwd, env, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Any command (pip, a venv's python) in a child; with ``check``, a failure fails the test with
    the command and the tails of its output."""
    import pytest

    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        pytest.fail(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
                    f"--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}")
    return r


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
