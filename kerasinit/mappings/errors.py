"""Exception types and the one error-message format used everywhere.

Every error kerasinit raises for bad input subclasses :class:`ValueError`, so code written
against Keras or ``torch.nn.init`` (which raise ``ValueError``) still catches it. Messages
follow one shape: what was received, what is valid (in a stable, sorted order), and a
did-you-mean when one is close.
"""

from __future__ import annotations

import difflib
import reprlib
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
    "shown",
    "suggest",
]

#: Longest repr of a received value quoted in an error message (longer ones are cut).
SHOWN_LIMIT = 200


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


def shown(value: object, limit: int = SHOWN_LIMIT) -> str:
    """A bounded ``repr(value)`` for messages: at most ``limit`` characters, nested containers
    cut at a few levels and items (a huge or deeply nested config stays cheap and readable).

    Example:
        >>> shown("x" * 500)[-12:], shown([[[[[[1]]]]]])
        ("xxxxxxxxxxx'", '[[[[[...]]]]]')
    """
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 4, 12, 12, 12, 12
    r.maxstring = r.maxother = r.maxlong = limit
    try:
        text = r.repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(received: str, choices: Iterable[str]) -> str | None:
    """The closest valid choice by spelling (difflib), or None."""
    if len(received) > SHOWN_LIMIT:  # difflib is quadratic; no name is that long
        return None
    matches = difflib.get_close_matches(received, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
