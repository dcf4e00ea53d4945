"""Readers: a saved Keras model (any format) -> its model config dict and recorded Keras version.

Files are data. Nothing here imports a module named in a config, unpickles, unmarshals or runs
anything: ``.keras`` archives are read with :mod:`zipfile` (only ``config.json`` and
``metadata.json``, never the weights), ``.h5`` files with ``h5py`` (imported lazily, only the
``model_config`` and ``keras_version`` root attributes) and JSON with :mod:`json`.

Formats are recognised by content, not by file name: a zip archive (``PK\\x03\\x04``), an HDF5
file (``\\x89HDF\\r\\n\\x1a\\n``) or JSON text.

Every read is bounded before memory is allocated (:mod:`kerasinit.porting.bounded`: regular
files only, streaming reads up to :data:`MAX_CONFIG_BYTES`, zip members decompressed with a
running count, at most :data:`MAX_ZIP_ENTRIES` zip entries; :mod:`kerasinit.porting.h5attrs`:
an HDF5 attribute's size, variable-length ones included, is known before it is read), and JSON
is parsed only after its nesting depth and value count passed
:mod:`kerasinit.mappings.safejson`'s limits. Corrupt members (bad deflate/LZMA/bzip2 streams,
encrypted entries, unknown methods) are :class:`ModelFileError` too, each naming the file and
the limit it broke. A ``metadata.json`` that is not valid JSON is ignored (the version it
holds is optional, and Keras does not read the file back either); one over a limit is refused.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasinit.mappings import safejson
from kerasinit.mappings.errors import format_choices, shown
from kerasinit.porting import bounded
from kerasinit.porting.bounded import (
    MAX_CONFIG_BYTES,
    MAX_METADATA_BYTES,
    MAX_ZIP_ENTRIES,
    ModelFileError,
    check_size,
    check_zip_directory,
    open_regular,
    read_capped,
    read_member,
)
from kerasinit.porting.h5attrs import read_attr

__all__ = [
    "MAX_CONFIG_BYTES", "MAX_METADATA_BYTES", "MAX_ZIP_ENTRIES", "Loaded", "ModelFileError",
    "check_zip_directory", "load", "open_regular", "read_member",
]

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: the only root attributes of an .h5 file that are read: name, limit (None: the config limit)
_H5_ATTRS = (("model_config", None, "model configs"),
             ("keras_version", MAX_METADATA_BYTES, "version attributes"))


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
        check_size(len(source.encode("utf-8", "surrogatepass")), "the JSON string")
        return _from_json_text(source, "JSON string")
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source))
    raise ModelFileError(
        f"Cannot read a Keras model from {type(source).__name__}. Expected a path to a .keras, "
        f".h5 or .json file, a JSON string from model.to_json(), or a config dict."
    )


def _from_path(path: Path) -> Loaded:
    with open_regular(path) as fh:
        head = fh.read(8)
        if not head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC, _HDF5_MAGIC)):
            fh.seek(0)
            try:
                data = read_capped(fh, bounded.MAX_CONFIG_BYTES, path.name)
            except OSError as exc:
                raise ModelFileError(f"{path.name}: could not be read ({exc}).") from None
            return _from_bytes(data, path.name)
    if head.startswith(_HDF5_MAGIC):
        return _from_h5(path)
    return _from_zip(path)


def _from_bytes(data: bytes, origin: str) -> Loaded:
    check_size(len(data), origin)
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
                meta_version = _metadata_version(
                    read_member(archive, "metadata.json", path.name, MAX_METADATA_BYTES,
                                "metadata.json files"), path.name)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{path.name} starts like a zip archive but cannot be opened ({exc}); the file is "
            f"probably truncated or corrupted."
        ) from None
    except (OSError, EOFError) as exc:
        raise ModelFileError(f"{path.name}: could not read the archive ({exc}).") from None
    loaded = _from_json_text(config_text, f"{path.name}:config.json", "keras")
    return Loaded(loaded.config, meta_version or loaded.keras_version, origin, "keras")


def _metadata_version(data: bytes, origin: str) -> str | None:
    """The ``keras_version`` of a ``metadata.json``: None if it is not JSON, refused if it
    breaks a limit (size, nesting depth, value count)."""
    what = f"{origin}:metadata.json"
    try:
        meta = safejson.loads(data.decode("utf-8-sig", "replace"))
    except safejson.JSONLimitError as exc:
        raise ModelFileError(f"{what}: {exc}") from None
    except (ValueError, RecursionError):  # not JSON: the version is optional
        return None
    return _str_or_none(meta.get("keras_version")) if isinstance(meta, Mapping) else None


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
            attrs = {k: read_attr(fh, k, path.name, h5py, limit, kind)
                     for k, limit, kind in _H5_ATTRS if k in names}
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
    check_size(len(raw), f"{path.name}:model_config")
    loaded = _from_json_text(raw, f"{path.name}:model_config", "h5")
    version = _str_or_none(attrs.get("keras_version")) or loaded.keras_version
    return Loaded(loaded.config, version, origin, "h5")
