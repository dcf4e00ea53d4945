"""Readers: a saved Keras model (any format) -> its model config dict and recorded Keras version.

Files are data. Nothing here imports a module named in a config, unpickles, unmarshals or runs
anything: ``.keras`` archives are read with :mod:`zipfile` (only ``config.json`` and
``metadata.json``, never the weights), ``.h5`` files with ``h5py`` (imported lazily, only the
``model_config`` and ``keras_version`` root attributes) and JSON with :mod:`json`.

Formats are recognised by content, not by file name: a zip archive (``PK\\x03\\x04``), an HDF5
file (``\\x89HDF\\r\\n\\x1a\\n``) or JSON text.

Every read is bounded before memory is allocated: only regular files are opened (FIFOs,
devices such as ``/dev/zero`` and directories are refused from their ``stat``), JSON text and
zip members are read in a streaming way up to :data:`MAX_CONFIG_BYTES` (a zip member is
decompressed chunk by chunk with a running count, whatever its header claims), a zip's
central directory is limited to :data:`MAX_ZIP_ENTRIES` entries, and JSON is parsed only after
its nesting depth and value count passed :mod:`kerasinit.mappings.safejson`'s limits. Corrupt
members (bad deflate/LZMA/bzip2 streams, encrypted entries, unknown methods) are
:class:`ModelFileError` too, each naming the file and the limit it broke.
"""

from __future__ import annotations

import json
import lzma
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasinit.mappings import safejson
from kerasinit.mappings.errors import KerasInitError, format_choices, shown

__all__ = [
    "MAX_CONFIG_BYTES", "MAX_METADATA_BYTES", "MAX_ZIP_ENTRIES", "Loaded", "ModelFileError",
    "check_zip_directory", "load", "open_regular", "read_member",
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
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class ModelFileError(KerasInitError):
    """A saved model that cannot be read: malformed, truncated, too large or not a model."""


@dataclass(frozen=True)
class Loaded:
    """What a reader found.

    Attributes:
        config: the model (or layer) config: ``{"class_name": ..., "config": ...}``.
        keras_version: the version string the file records (``"3.15.1"``), or None.
        origin: a short description of the source (``"model.keras (Keras 3 archive)"``).
        fmt: ``"keras"``, ``"h5"``, ``"json"`` or ``"dict"``.
    """

    config: Mapping[str, Any]
    keras_version: str | None
    origin: str
    fmt: str


def load(source: object) -> Loaded:
    """Read a model config from a path, a JSON string, JSON bytes or a config dict.

    Args:
        source: a path (``str`` or ``os.PathLike``) to a ``.keras``, ``.h5``/``.hdf5`` or
            ``.json`` file; a JSON string from ``model.to_json()``; or the parsed dict.

    Returns:
        The :class:`Loaded` config and the Keras version it records.

    Raises:
        ModelFileError: for a missing, malformed, truncated or oversized file, or JSON that is
            not a Keras model.

    Example:
        >>> load('{"class_name": "Sequential", "config": {"layers": []}, "keras_version": "2.2.4"}').keras_version
        '2.2.4'
    """
    if isinstance(source, Mapping):
        return _from_mapping(source, None, "config dict", "dict")
    if isinstance(source, (bytes, bytearray)):
        return _from_bytes(bytes(source), "bytes")
    if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
        _check_size(len(source.encode("utf-8", "surrogatepass")), "the JSON string")
        return _from_json_text(source, "JSON string")
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source))
    raise ModelFileError(
        f"Cannot read a Keras model from {type(source).__name__}. Expected a path to a .keras, "
        f".h5 or .json file, a JSON string from model.to_json(), or a config dict."
    )


def _check_size(size: int, what: str, limit: int | None = None) -> None:
    limit = MAX_CONFIG_BYTES if limit is None else limit
    if size > limit:
        raise ModelFileError(
            f"{what} is {size / 2**20:.1f} MiB or more; kerasinit reads model configs up to "
            f"{limit / 2**20:g} MiB (the limit; a Keras model config is usually well under 1 MiB)."
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
    except OSError as exc:
        raise ModelFileError(f"{str(path)!r} cannot be accessed ({exc.strerror}).") from None
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


def _read_capped(fh: Any, limit: int, what: str) -> bytes:
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
            _check_size(total, what, limit)
        chunks.append(chunk)


def _from_path(path: Path) -> Loaded:
    with open_regular(path) as fh:
        head = fh.read(8)
        if not head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC, _HDF5_MAGIC)):
            fh.seek(0)
            try:
                data = _read_capped(fh, MAX_CONFIG_BYTES, path.name)
            except OSError as exc:
                raise ModelFileError(f"{path.name}: could not be read ({exc}).") from None
            return _from_bytes(data, path.name)
    if head.startswith(_HDF5_MAGIC):
        return _from_h5(path)
    return _from_zip(path)


def _from_bytes(data: bytes, origin: str) -> Loaded:
    _check_size(len(data), origin)
    if data.startswith((_ZIP_MAGIC, _HDF5_MAGIC)):
        raise ModelFileError(f"{origin}: pass archives and HDF5 files as a path, not as bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            f"{origin} is neither a .keras archive, an HDF5 file nor UTF-8 JSON text "
            f"(undecodable byte at position {exc.start})."
        ) from None
    return _from_json_text(text, origin)


def _parse_json(text: str, origin: str) -> Any:
    try:
        return safejson.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise ModelFileError(
            f"{origin} is not valid JSON{hint}: {exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}."
        ) from None
    except safejson.JSONLimitError as exc:
        raise ModelFileError(f"{origin}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer literal of 10^5 digits
        raise ModelFileError(f"{origin}: the JSON cannot be read ({shown(str(exc), 120)}).") \
            from None


def _from_json_text(text: str, origin: str, fmt: str = "json") -> Loaded:
    data = _parse_json(text, origin)
    if not isinstance(data, Mapping):
        raise ModelFileError(
            f"{origin} holds a JSON {type(data).__name__}, not a Keras model config (an object "
            f"with 'class_name' and 'config', as model.to_json() writes)."
        )
    return _from_mapping(data, None, origin, fmt)


def _from_mapping(
    data: Mapping[str, Any], version: str | None, origin: str, fmt: str
) -> Loaded:
    if "model_config" in data and "class_name" not in data:  # a dict of h5 attrs
        inner = data["model_config"]
        if isinstance(inner, (str, bytes)):
            text = inner.decode("utf-8", "replace") if isinstance(inner, bytes) else inner
            nested = _from_json_text(text, f"{origin}['model_config']", fmt)
            return Loaded(nested.config, _str_or_none(data.get("keras_version"))
                          or nested.keras_version, origin, fmt)
        if not isinstance(inner, Mapping):
            raise ModelFileError(f"{origin}: 'model_config' must be a JSON object or text.")
        return _from_mapping(inner, _str_or_none(data.get("keras_version")), origin, fmt)
    if "class_name" not in data or "config" not in data:
        keys = format_choices((str(k) for k in data), limit=12) if data else "(none)"
        raise ModelFileError(
            f"{origin} is not a Keras model config: expected the keys 'class_name' and 'config' "
            f"(as model.to_json() writes). Found keys: {keys}."
        )
    if not isinstance(data["class_name"], str):
        raise ModelFileError(
            f"{origin}: 'class_name' must be a string. Received: {shown(data['class_name'])}."
        )
    recorded = _str_or_none(data.get("keras_version")) or version
    return Loaded(data, recorded, origin, fmt)


def _str_or_none(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) and value else None


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


def _from_zip(path: Path) -> Loaded:
    origin = f"{path.name} (Keras 3 archive)"
    check_zip_directory(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "config.json" not in names:
                raise ModelFileError(
                    f"{path.name} is a zip archive without config.json, so not a Keras .keras "
                    f"file. Entries found: {format_choices(names, limit=10) or '(none)'}."
                )
            config_text = _text(read_member(archive, "config.json", path.name), path.name,
                                "config.json")
            meta_version = None
            if "metadata.json" in names:
                meta_bytes = read_member(archive, "metadata.json", path.name, MAX_METADATA_BYTES)
                try:
                    meta = _parse_json(_text(meta_bytes, path.name, "metadata.json"),
                                       f"{path.name}:metadata.json")
                except ModelFileError:
                    meta = {}  # the version is optional; a bad metadata.json is ignored
                if isinstance(meta, Mapping):
                    meta_version = _str_or_none(meta.get("keras_version"))
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{path.name} starts like a zip archive but cannot be opened ({exc}); the file is "
            f"probably truncated or corrupted."
        ) from None
    except (OSError, EOFError) as exc:
        raise ModelFileError(f"{path.name}: could not read the archive ({exc}).") from None
    loaded = _from_json_text(config_text, f"{path.name}:config.json", "keras")
    return Loaded(loaded.config, meta_version or loaded.keras_version, origin, "keras")


def read_member(
    archive: zipfile.ZipFile, name: str, origin: str, limit: int | None = None
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
    _check_size(info.file_size, what, limit)
    try:
        with archive.open(info) as fh:
            return _read_capped(fh, limit, what)
    except ModelFileError:
        raise
    except _MEMBER_ERRORS as exc:  # bz2 errors are OSErrors
        raise ModelFileError(
            f"{what} cannot be extracted ({type(exc).__name__}: {shown(str(exc), 120)}); the "
            f"archive is probably truncated, corrupted or encrypted."
        ) from None


def _text(data: bytes, origin: str, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ModelFileError(f"{origin}:{name} is not UTF-8 text.") from None


def _from_h5(path: Path) -> Loaded:
    try:
        import h5py  # optional dependency: pip install kerasinit[porting]
    except ImportError:
        raise ModelFileError(
            f"{path.name} is an HDF5 file; reading it needs h5py (pip install h5py, or "
            f"kerasinit[porting]). Alternatively save the model with model.to_json()."
        ) from None
    origin = f"{path.name} (legacy HDF5)"
    try:
        with h5py.File(path, "r") as fh:
            names = [str(k) for k in fh.attrs][:1000]  # names only; no value is read
            attrs = {k: _h5_attr(fh, k, path.name, h5py) for k in ("model_config", "keras_version")
                     if k in names}
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelFileError(
            f"{path.name}: the HDF5 file cannot be opened ({shown(str(exc), 120)}); it is "
            f"probably truncated or corrupted."
        ) from None
    if "model_config" not in attrs:
        weights_only = " It looks like a weights-only file (save_weights)." if not names or \
            "layer_names" in names else ""
        raise ModelFileError(
            f"{path.name} has no 'model_config' attribute, so it holds no model architecture."
            f"{weights_only} Root attributes found: "
            f"{format_choices(names, limit=12) or '(none)'}."
        )
    raw = attrs["model_config"]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        raise ModelFileError(f"{path.name}: 'model_config' is not JSON text ({type(raw).__name__}).")
    _check_size(len(raw), f"{path.name}:model_config")
    loaded = _from_json_text(raw, f"{path.name}:model_config", "h5")
    version = _str_or_none(attrs.get("keras_version")) or loaded.keras_version
    return Loaded(loaded.config, version, origin, "h5")


def _h5_attr(fh: Any, name: str, origin: str, h5py: Any) -> object:
    """Read one root attribute, refusing a fixed-size one above the config limit unread.

    (A variable-length string's size is not stored apart from the string, so it is read and
    then checked; HDF5 keeps such a string whole in the file, so its size is bounded by the
    file's.)
    """
    attr = fh.attrs.get_id(name)
    dtype = attr.dtype
    info = h5py.check_string_dtype(dtype)
    variable = (info is not None and info.length is None) or h5py.check_vlen_dtype(dtype)
    if not variable:
        _check_size(dtype.itemsize * math.prod(attr.shape or ()), f"{origin}:{name}")
    return fh.attrs[name]
