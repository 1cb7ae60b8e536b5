"""ganzoo's own error types.

Every problem a user can cause (a wrong name, a bad file, a bad config) is raised as a
:class:`GanzooError` with one line that names the problem and what to do. The CLI prints
that line and exits non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations


class GanzooError(Exception):
    """Base class: a user-facing problem with a one-line explanation."""

    exit_code = 1


class NotFoundError(GanzooError, LookupError):
    """A name (model, variant, objective, dataset, metric) is not known."""


class ConfigError(GanzooError, ValueError):
    """A config, registry entry or argument is invalid."""


class TooLargeError(ConfigError):
    """A file or request asks for more than a documented limit (:mod:`ganzoo.limits`): a model's parameters,
    a command's output memory, a download's size. ``need`` and ``limit`` hold the two numbers."""

    def __init__(self, message: str, *, need: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.need, self.limit = need, limit


class IncompatibleError(ConfigError):
    """A variant and an objective (or dataset) that cannot work together."""


class PluginError(GanzooError):
    """A plugin failed to load or registered something invalid."""


class WeightsError(GanzooError):
    """A weights file is missing, corrupt, or does not match the model."""


class IntegrityError(WeightsError):
    """A downloaded or bundled file does not match its pinned sha256."""


class HubError(GanzooError):
    """The Hub could not be reached or refused a request."""


class TrainingError(GanzooError):
    """Training cannot continue (e.g. a non-finite loss)."""


class DiskFullError(GanzooError, OSError):
    """A file could not be written because the disk (or quota) is full. Writes are atomic, so the
    previous version of the file is intact. Also an ``OSError``, so ``except OSError`` still sees it."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type's name when the message is empty),
    cut to ``limit`` characters: what a one-line error shows of an underlying failure."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text[:limit] if limit else text


def did_you_mean(name: str, known, kind: str) -> str:
    """One line: ``unknown <kind> 'x'; did you mean 'y'? Known: a, b, c``."""
    import difflib

    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {kind} {name!r}{hint} Known: {shown or '(none)'}"
