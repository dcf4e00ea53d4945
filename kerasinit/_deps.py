"""Optional dependencies: checked together, before any work starts, each named with its install line.

kerasinit itself needs only torch and NumPy. The parity suite needs TensorFlow (Keras 3 comes
with it), SciPy, ``tf_keras`` for Keras 2 references and matplotlib for ``--report``; reading
``.h5`` files needs h5py. :func:`require` looks every one of them up (``importlib.util.find_spec``:
nothing is imported) and raises one :class:`MissingDependencyError` naming *all* that are
missing, with the exact commands that install them.

``tf_keras`` gets its own line: ``pip install tf_keras`` would pull the full ``tensorflow``
package (~570 MB) on top of ``tensorflow-cpu``, so it is installed with ``--no-deps``, pinned to
the installed TensorFlow's minor version.

>>> missing(["numpy", "kerasinit_no_such_module"])
['kerasinit_no_such_module']
>>> print(install_lines(["scipy", "tf_keras"], tf_version="2.21.0"))
pip install 'kerasinit[parity]'
pip install --no-deps 'tf_keras==2.21.*'
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterable, Sequence

from kerasinit.mappings.errors import MissingDependencyError

__all__ = ["INSTALL", "MissingDependencyError", "install_lines", "missing", "require"]

#: module -> the pip command that provides it (the extra when one does, so versions stay matched)
INSTALL: dict[str, str] = {
    "tensorflow": "pip install 'kerasinit[parity]'",
    "keras": "pip install 'kerasinit[parity]'",
    "scipy": "pip install 'kerasinit[parity]'",
    "matplotlib": "pip install 'kerasinit[parity]'",
    "h5py": "pip install 'kerasinit[porting]'",
    "tf_keras": "pip install --no-deps 'tf_keras=={tf}.*'",
}

_PLATFORM_NOTE = (
    "(tensorflow-cpu has wheels for Linux x86-64 and Windows only; on macOS arm64 and Linux "
    "aarch64 the parity extra installs the full 'tensorflow' package instead, and tf_keras "
    "installs normally with 'pip install tf_keras==<your TensorFlow minor>.*')"
)


def missing(modules: Iterable[str]) -> list[str]:
    """The modules of ``modules`` that cannot be found (in the given order), without importing."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def _tf_minor(tf_version: str | None) -> str:
    if tf_version is None:
        for dist in ("tensorflow-cpu", "tensorflow"):
            try:
                tf_version = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    if tf_version is None:
        return "2.21"
    return ".".join(tf_version.split(".")[:2])


def install_lines(modules: Sequence[str], tf_version: str | None = None) -> str:
    """The de-duplicated install commands for ``modules`` (one per line, in order)."""
    lines: list[str] = []
    for name in modules:
        line = INSTALL.get(name, f"pip install {name}").format(tf=_tf_minor(tf_version))
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def require(feature: str, modules: Sequence[str]) -> None:
    """Raise :class:`MissingDependencyError` naming every module of ``modules`` not installed.

    Args:
        feature: what needs them, for the message (e.g. ``"kerasinit parity --report"``).
        modules: top-level module names.

    Raises:
        MissingDependencyError: one or more are missing; the message names all of them and the
            commands that install them.
    """
    absent = missing(modules)
    if not absent:
        return
    names = ", ".join(absent)
    raise MissingDependencyError(
        f"{feature} needs {names}, which {'is' if len(absent) == 1 else 'are'} not installed. "
        f"Install with:\n  " + install_lines(absent).replace("\n", "\n  ")
        + ("\n" + _PLATFORM_NOTE if {"tensorflow", "tf_keras", "keras"} & set(absent) else ""),
        missing=tuple(absent),
    )
