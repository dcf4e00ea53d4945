"""Keras's own samples, drawn by TensorFlow (imported lazily, only here).

The reference for Keras 3 (``keras_version`` "3", "3.x") is Keras 3 on the TensorFlow backend
(``import keras`` with ``KERAS_BACKEND=tensorflow``); for Keras 2 it is ``tf_keras`` (the
Keras 2 that ships for TF ≥ 2.16). The torch backend of Keras is never used as a reference: it
leaks ~4e-6 of its truncated-normal samples past ±2σ (it keeps the first of four
normal draws inside (-2, 2), and the first draw when none is).

The Keras initializer is instantiated from kerasinit's serialized config
(:meth:`kerasinit.Initializer.serialize`, Keras's own form), with a fresh integer seed per
draw: a seeded Keras initializer returns identical values on every call, and draws that share
a seed are not independent, so every draw gets a seed of its own. Draws are repeated on the
Keras-layout shape until the target sample size is reached. Nothing is cached on disk.

Keras 3.14 vs 3.15: the installed Keras is 3.15. The only 3.14 → 3.15 change that affects a
distribution is the EinsumDense / MultiHeadAttention fan rule (einsum axes in 3.15, the
rank rule before). The reference for "3.14" is therefore Keras 3.15 *without* the einsum
``input_axes``/``output_axes`` (exactly what Keras 3.14's EinsumDense passed: nothing); for
"3.15" the axes of the layout are passed, as Keras 3.15's EinsumDense does.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from kerasinit._deps import install_lines, require
from kerasinit.mappings.errors import MissingDependencyError
from kerasinit.mappings.versions import KerasVersion

__all__ = [
    "ParityDependencyError",
    "ReferenceDraws",
    "check_dependencies",
    "draw_reference",
    "keras_module",
    "needed_modules",
    "quiet_tensorflow",
    "reference_label",
]

class ParityDependencyError(MissingDependencyError):
    """TensorFlow / Keras / SciPy / tf_keras needed by the parity suite are missing or misconfigured."""


def needed_modules(versions: Iterable[KerasVersion] = (), report: bool = False) -> list[str]:
    """Top-level modules the parity suite needs to draw references for ``versions``.

    >>> from kerasinit.mappings.versions import parse_version
    >>> needed_modules([parse_version("2"), parse_version("3")], report=True)
    ['scipy', 'tensorflow', 'keras', 'tf_keras', 'matplotlib']
    """
    majors = {v.major for v in versions} or {3}
    modules = ["scipy", "tensorflow"]
    if majors - {2}:
        modules.append("keras")
    if 2 in majors:
        modules.append("tf_keras")
    if report:
        modules.append("matplotlib")
    return modules


def check_dependencies(feature: str, versions: Iterable[KerasVersion] = (),
                       report: bool = False) -> None:
    """Raise :class:`ParityDependencyError` naming every missing module, before any work.

    Raises:
        ParityDependencyError: one or more are missing (all named, with install commands).
    """
    try:
        require(feature, needed_modules(versions, report))
    except MissingDependencyError as exc:
        raise ParityDependencyError(str(exc), missing=exc.missing) from None


def _require(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ParityDependencyError(
            f"kerasinit.parity needs {what} (module {module!r} could not be imported: {exc}). "
            f"Install with: {install_lines([module])}", missing=(module,)
        ) from None


def quiet_tensorflow() -> None:
    """Quiet TensorFlow's C++/absl logging (set before its import; no effect after it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@contextlib.contextmanager
def _fd2_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while TensorFlow is first imported.

    TF 2.21 prints absl's "All log messages before absl::InitializeLog()" and the oneDNN notice
    from C++ at import time regardless of ``TF_CPP_MIN_LOG_LEVEL``; they would break into the
    progress bar. Python exceptions still propagate; ``KERASINIT_TF_LOGS=1`` keeps the lines.
    """
    if "tensorflow" in sys.modules or os.environ.get("KERASINIT_TF_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def keras_module(version: KerasVersion) -> Any:
    """The Keras that draws the reference: ``keras`` (TF backend) for 3.x, ``tf_keras`` for 2.x.

    Raises:
        ParityDependencyError: TensorFlow (or tf_keras for Keras 2) is not installed, or
            ``keras`` was already imported with a backend other than TensorFlow.
    """
    if version.major not in (2, 3):
        raise ParityDependencyError(
            f"No TensorFlow reference for {version.label()}: the parity suite draws Keras 3 "
            f"(keras_version '3', '3.14') or tf_keras (keras_version '2')."
        )
    check_dependencies("kerasinit.parity", [version])
    quiet_tensorflow()
    _require("scipy", "SciPy")
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _fd2_silenced():
        _require("tensorflow", "TensorFlow")
        if version.major == 2:
            return _require("tf_keras", "tf_keras (the Keras 2 reference)")
        keras = _require("keras", "Keras 3")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ParityDependencyError(
            f"The Keras 3 reference must run on the TensorFlow backend, but keras was imported "
            f"with backend {backend!r}. Set KERAS_BACKEND=tensorflow before importing keras."
        )
    return keras


def reference_label(version: KerasVersion) -> str:
    """Which library drew the reference samples, for reports."""
    keras = keras_module(version)
    if version.major == 2:
        return f"tf_keras {keras.__version__} (TensorFlow)"
    return f"Keras {keras.__version__} on TensorFlow"


def _keras_config(serialized: dict[str, Any], version: KerasVersion, seed: int | None,
                  axes: tuple[tuple[int, ...], tuple[int, ...]] | None) -> dict[str, Any]:
    config = dict(serialized.get("config", {}))
    if "seed" in config:
        config["seed"] = seed
    for key in ("input_axes", "output_axes"):
        if config.get(key) is None:
            config.pop(key, None)
    if axes is not None:
        config["input_axes"], config["output_axes"] = list(axes[0]), list(axes[1])
    if version.major == 2 and ("input_axes" in config or "output_axes" in config):
        raise ParityDependencyError("tf_keras has no input_axes/output_axes (Keras >= 3.15 only).")
    return {"class_name": serialized["class_name"], "config": config}


class ReferenceDraws:
    """Independent Keras draws of one initializer on one Keras shape.

    Args:
        serialized: Keras serialized form of the initializer (``Initializer.serialize()``).
        keras_shape: the Keras kernel shape to draw.
        version: Keras semantics; picks Keras 3 or tf_keras.
        einsum_axes: ``(input_axes, output_axes)`` to pass (Keras ≥ 3.15 EinsumDense kernels).
        dtype: Keras dtype name.
    """

    def __init__(self, serialized: dict[str, Any], keras_shape: tuple[int, ...],
                 version: KerasVersion, einsum_axes: tuple[tuple[int, ...], tuple[int, ...]]
                 | None = None, dtype: str = "float32") -> None:
        self.module = keras_module(version)
        self.serialized = serialized
        self.keras_shape = tuple(int(d) for d in keras_shape)
        self.version = version
        self.axes = einsum_axes if version.einsum_fans else None
        self.dtype = dtype
        self.random = "seed" in serialized.get("config", {})

    def make(self, seed: int | None) -> Callable[..., Any]:
        """A fresh Keras initializer object with ``seed``."""
        config = _keras_config(self.serialized, self.version, seed, self.axes)
        return self.module.initializers.deserialize(config)  # type: ignore[no-any-return]

    def draw(self, seed: int) -> np.ndarray:
        """One Keras-layout draw as float64 numpy."""
        init = self.make(seed if self.random else None)
        return np.asarray(init(self.keras_shape, dtype=self.dtype), dtype=np.float64)


def draw_reference(draws: ReferenceDraws, n: int, seed: int, max_calls: int,
                   ) -> list[np.ndarray]:
    """Keras-layout draws with seeds ``seed·10⁶ + i`` until ≥ n values (at most ``max_calls``)."""
    size = max(1, math.prod(draws.keras_shape))
    calls = max(1, min(max_calls, -(-n // size))) if draws.random else 1
    base = (int(seed) % 2000) * 1_000_003 + 7
    return [draws.draw(base + i) for i in range(calls)]
