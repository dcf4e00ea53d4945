"""The optional C kernels of the seed-faithful samplers, and the switch that turns them off.

``rng="tensorflow"`` and ``rng="jax"`` reproduce TensorFlow's and XLA's float32 arithmetic
exactly. The same arithmetic exists twice: as C extensions (``_tf_native``, ``_jax_native``,
built when the package is installed with a C compiler available) and as NumPy code (always
available). Both give the same bits (the tests compare them on every input of each
transform); the C kernels are several times faster and need no scratch memory beyond the
output.

Set the environment variable ``KERASINIT_NATIVE=0`` before importing kerasinit, or use
:func:`disabled`, to force the NumPy path.

Example:
    >>> with disabled():
    ...     module("tf") is None
    True
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

__all__ = ["available", "disabled", "module"]

Kind = Literal["tf", "jax"]
#: The kernel interface each Python caller is written against (the extension's ``abi()``).
ABI: dict[str, int] = {"tf": 1, "jax": 1}

_ENV_OFF = os.environ.get("KERASINIT_NATIVE", "1").strip() == "0"
_loaded: dict[str, Any] = {}
_off = threading.local()


def _load(kind: Kind) -> Any:
    if kind not in _loaded:
        try:
            mod: Any = importlib.import_module(f"kerasinit.bridge.rng._{kind}_native")
            ok = int(mod.abi()) == ABI[kind]
        except (ImportError, AttributeError):
            mod, ok = None, False
        _loaded[kind] = mod if ok else None
    return _loaded[kind]


def module(kind: Kind) -> Any:
    """The ``_tf_native`` / ``_jax_native`` extension, or None (not built, stale, or off)."""
    depth: int = getattr(_off, "depth", 0)
    if _ENV_OFF or depth:
        return None
    return _load(kind)


def available(kind: Kind) -> bool:
    """Whether the C kernels for ``kind`` are built and current (ignores the off switch)."""
    return _load(kind) is not None


@contextmanager
def disabled() -> Iterator[None]:
    """Use the NumPy implementations in this thread for the duration of the block."""
    _off.depth = getattr(_off, "depth", 0) + 1
    try:
        yield
    finally:
        _off.depth -= 1
