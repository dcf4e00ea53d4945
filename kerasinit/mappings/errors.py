"""Exception types and the one error-message format used everywhere.

Every error kerasinit raises for bad input subclasses :class:`ValueError`, so code written
against Keras or ``torch.nn.init`` (which raise ``ValueError``) still catches it. Messages
follow one shape: what was received, what is valid (in a stable, sorted order), and a
did-you-mean when one is close.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "InitializerArgumentError",
    "KerasInitError",
    "LayoutError",
    "MissingDependencyError",
    "UnknownInitializerError",
    "UnsupportedInitializerError",
    "UnsupportedVersionError",
    "format_choices",
    "suggest",
]


class KerasInitError(ValueError):
    """Base class of every input error raised by kerasinit."""


class UnknownInitializerError(KerasInitError):
    """An initializer name or ``class_name`` that no Keras version registers."""


class UnsupportedInitializerError(KerasInitError):
    """A name Keras registers but that has no distribution (e.g. the ``Initializer`` base)."""


class InitializerArgumentError(KerasInitError):
    """A bad initializer argument (mode, distribution, scale, seed, value, ...)."""


class LayoutError(KerasInitError):
    """A tensor, layout or fan override that does not fit the requested initializer."""


class UnsupportedVersionError(KerasInitError):
    """A ``keras_version`` kerasinit has no semantics for."""


class MissingDependencyError(KerasInitError, ImportError):
    """Optional packages a feature needs are not installed (also an ``ImportError``).

    ``missing`` holds every missing module name; the message gives the install commands.
    """

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


def format_choices(choices: Iterable[str], limit: int | None = None) -> str:
    """Return ``'a', 'b', 'c'`` for the sorted, de-duplicated choices."""
    items = sorted(set(choices))
    shown = items if limit is None else items[:limit]
    text = ", ".join(repr(c) for c in shown)
    if limit is not None and len(items) > limit:
        text += f", ... ({len(items) - limit} more)"
    return text


def suggest(received: str, choices: Iterable[str]) -> str | None:
    """The closest valid choice by spelling (difflib), or None."""
    matches = difflib.get_close_matches(received, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
