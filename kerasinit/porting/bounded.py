"""Bounded file access for the readers: regular files only, capped streaming reads, zip limits.

Every size a file controls is checked before memory is allocated: only regular files are
opened (FIFOs, devices such as ``/dev/zero``, sockets and directories are refused from their
``stat``, checked again on the open descriptor), streams are read in 1 MiB chunks with a running
count, a zip member is decompressed the same way whatever its header claims, and a zip's central
directory is limited to :data:`MAX_ZIP_ENTRIES` entries before :mod:`zipfile` builds one object
per entry. Each refusal is a :class:`ModelFileError` naming the file and the limit.

Example:
    >>> check_size(20 * 2**20, "model.keras:config.json")
    Traceback (most recent call last):
    ...
    kerasinit.porting.bounded.ModelFileError: model.keras:config.json is 20.0 MiB or more; kerasinit reads model configs up to 16 MiB (the limit; a Keras model config is usually well under 1 MiB).
"""

from __future__ import annotations

import lzma
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from kerasinit.mappings.errors import KerasInitError, shown

__all__ = [
    "MAX_CONFIG_BYTES", "MAX_METADATA_BYTES", "MAX_ZIP_ENTRIES", "ModelFileError", "check_size",
    "check_zip_directory", "open_regular", "read_capped", "read_member",
]

#: the largest config (JSON text) kerasinit reads: 16 MiB (a Keras model config is usually
#: well under 1 MiB; EfficientNetB7's is 0.7 MiB). With the JSON value-count limit this keeps the
#: peak memory of any refused file under 64 MiB.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
#: the largest ``metadata.json`` read from a ``.keras`` archive (it holds a version string).
MAX_METADATA_BYTES = 1024 * 1024
#: most entries in a zip's central directory (a ``.keras`` archive has three).
MAX_ZIP_ENTRIES = 10_000
_CHUNK = 1 << 20
#: what a corrupt zip member raises while it is decompressed.
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error,
                  lzma.LZMAError, NotImplementedError, ValueError)


class ModelFileError(KerasInitError):
    """A saved model that cannot be read: malformed, truncated, too large or not a model."""


def check_size(size: int, what: str, limit: int | None = None, kind: str = "model configs") -> None:
    """Refuse ``size`` bytes of ``what`` above ``limit`` (default :data:`MAX_CONFIG_BYTES`)."""
    limit = MAX_CONFIG_BYTES if limit is None else limit
    if size > limit:
        usual = " (the limit; a Keras model config is usually well under 1 MiB)" \
            if kind == "model configs" else " (the limit)"
        raise ModelFileError(
            f"{what} is {size / 2**20:.1f} MiB or more; kerasinit reads {kind} up to "
            f"{limit / 2**20:g} MiB{usual}."
        )


def open_regular(path: Path) -> Any:
    """Open ``path`` for binary reading if it is a regular file, else a :class:`ModelFileError`.

    The file type is checked on the open descriptor (opened non-blocking, so a FIFO cannot
    hang the call), so a FIFO, a device (``/dev/zero``), a socket or a directory is refused
    before a byte is read.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(f"No such file: {str(path)!r}.") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        reason = getattr(exc, "strerror", None) or shown(str(exc), 80)
        raise ModelFileError(f"{shown(str(path), 120)} cannot be accessed ({reason}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(
            f"{str(path)!r} is a directory. A TensorFlow SavedModel directory is not supported; "
            f"save the model with model.save('model.keras') or model.to_json()."
        )
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(_special(path, st.st_mode))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ModelFileError(f"{str(path)!r} cannot be opened ({exc.strerror}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
        mode = os.fstat(fd).st_mode
        os.close(fd)
        raise ModelFileError(_special(path, mode))
    return os.fdopen(fd, "rb")


def _special(path: Path, mode: int) -> str:
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    return (f"{str(path)!r} is {kind}; kerasinit reads models only from regular files (a "
            f"stream could be endless).")


def read_capped(fh: Any, limit: int, what: str, kind: str = "model configs") -> bytes:
    """Read at most ``limit`` bytes in chunks; a longer stream is refused once it passes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = fh.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            chunks.clear()
            check_size(total, what, limit, kind)
        chunks.append(chunk)


def check_zip_directory(path: Path) -> None:
    """Refuse a central directory with more than MAX_ZIP_ENTRIES entries before zipfile
    builds one object per entry (its end record states the count)."""
    try:
        with open_regular(path) as fh:
            end = zipfile._EndRecData(fh)  # type: ignore[attr-defined]
    except (OSError, ValueError, struct.error):
        return  # zipfile itself reports the damage
    if end and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_ENTRIES:  # type: ignore[attr-defined]
        raise ModelFileError(
            f"{path.name}: the zip archive lists {end[zipfile._ECD_ENTRIES_TOTAL]} entries; "  # type: ignore[attr-defined]
            f"kerasinit reads archives of up to {MAX_ZIP_ENTRIES} (the limit; a .keras archive "
            f"has three)."
        )


def read_member(
    archive: zipfile.ZipFile, name: str, origin: str, limit: int | None = None,
    kind: str = "model configs",
) -> bytes:
    """The bytes of one zip member, decompressed in chunks with a running cap.

    The header's declared size is checked first and never trusted alone: decompression stops
    as soon as ``limit`` (default :data:`MAX_CONFIG_BYTES`) is passed, so a zip bomb costs at
    most ``limit`` bytes of memory. Corrupt or unsupported members raise
    :class:`ModelFileError` naming the archive and the member.
    """
    limit = MAX_CONFIG_BYTES if limit is None else limit
    what = f"{origin}:{name}"
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{origin} has no member {name!r}.") from None
    check_size(info.file_size, what, limit, kind)
    try:
        with archive.open(info) as fh:
            return read_capped(fh, limit, what, kind)
    except ModelFileError:
        raise
    except _MEMBER_ERRORS as exc:  # bz2 errors are OSErrors
        raise ModelFileError(
            f"{what} cannot be extracted ({type(exc).__name__}: {shown(str(exc), 120)}); the "
            f"archive is probably truncated, corrupted or encrypted."
        ) from None
