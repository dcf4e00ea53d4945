"""Bounded JSON parsing: nesting depth and value count are checked before :func:`json.loads`.

``json.loads`` of hostile text can exhaust the stack (``RecursionError`` at ~1000 levels, and
every recursive walker after it too) or memory (each JSON value becomes a Python object of
50-200 bytes, so a few MiB of ``[{},{},...]`` cost hundreds of MiB). :func:`loads` scans the
text first with C-speed string operations (strings removed by a regular expression, then only
the structural characters kept) and refuses text deeper than ``max_depth`` or with more than
``max_values`` values, before any object is built.

Example:
    >>> loads('{"a": [1, 2, {"b": null}]}')
    {'a': [1, 2, {'b': None}]}
    >>> loads("[" * 200 + "]" * 200)
    Traceback (most recent call last):
    ...
    kerasinit.mappings.safejson.JSONLimitError: the JSON is nested 200 levels deep; the limit is 128.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from kerasinit.mappings.errors import KerasInitError

__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_VALUES", "JSONLimitError", "loads", "scan"]

#: Deepest nesting accepted (a Keras config nests ~4 levels per nested model).
MAX_JSON_DEPTH = 128
#: Most values and keys (objects, arrays, numbers, strings, literals) in one text: at most
#: ~30 MiB of Python objects; EfficientNetB7's config (741 KiB) holds 81,208, ResNet152's 52,401.
MAX_JSON_VALUES = 500_000

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_DELETE = bytes(sorted(set(range(256)) - set(b"[]{},:")))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONLimitError(KerasInitError):
    """JSON text that is nested too deeply or holds too many values."""


def scan(text: str, max_values: int | None = None) -> tuple[int, int]:
    """``(max_depth, token_count)`` of JSON text (approximate for invalid JSON).

    The token count (values plus object keys) bounds the number of Python objects
    ``json.loads`` would build. With ``max_values`` the depth is not computed (returned as 0)
    when the count already exceeds it.

    Example:
        >>> scan('{"a": [1, 2, {"b": "x,]"}]}')
        (3, 8)
    """
    raw = _STRING.sub("0", text).encode("utf-8", "surrogatepass")
    structure = raw.translate(None, _DELETE)
    del raw
    tokens = (structure.count(b",") + structure.count(b":") + structure.count(b"[")
              + structure.count(b"{") + 1)
    if max_values is not None and tokens > max_values:
        return 0, tokens
    brackets = structure.translate(None, b",:")
    depth = max(itertools.accumulate(_STEP[c] for c in brackets), default=0)
    return depth, tokens


def loads(
    text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, max_values: int = MAX_JSON_VALUES
) -> Any:
    """``json.loads`` with the depth and value-count limits checked first.

    Raises:
        JSONLimitError: too deep or too many values (nothing was parsed).
        json.JSONDecodeError: invalid JSON (as :func:`json.loads`).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8-sig")
    depth, values = scan(text, max_values)
    if values > max_values:
        raise JSONLimitError(
            f"the JSON holds about {values} values and keys; the limit is {max_values} (a Keras model "
            f"config holds far fewer; a large constant array belongs in the weights)."
        )
    if depth > max_depth:
        raise JSONLimitError(f"the JSON is nested {depth} levels deep; the limit is {max_depth}.")
    return json.loads(text)
