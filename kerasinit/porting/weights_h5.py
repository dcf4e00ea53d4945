"""Trained Keras weights as data: a ``.keras`` archive, a legacy ``.h5``, a ``.weights.h5`` file or
a live Keras model -> the stored arrays of every Keras layer, in Keras's weight order.

Nothing is executed and nothing is extracted to disk: the ``model.weights.h5`` member of a
``.keras`` archive is opened by h5py as a file object inside the zip. Arrays are read lazily, one
at a time and only after their stored shape was checked against the plan, so a hostile file can
make kerasinit read no more than the torch model holds. The HDF5 tree walk is bounded
(:data:`MAX_H5_NODES` groups and datasets, :data:`MAX_H5_DEPTH` levels).

Layouts of the formats (Keras 3.15.1 and tf_keras 2.21):

* Keras 3 weights store (``.keras`` member, ``save_weights("x.weights.h5")``): groups named
  after the layer *class* (``layers/dense_1``, ``layers/gru/cell/vars/0``); the layer's own
  name is the ``name`` attribute of its ``vars`` group; variables are ``vars/0``, ``vars/1``, ...
  in creation order (trainable first); sublayers are attribute groups (``cell``,
  ``forward_layer``/``backward_layer`` -- h5py lists the backward half first --,
  ``query_dense``, ...); nested models have their own ``layers`` group.
* Legacy HDF5 (``model.save("x.h5")``: group ``model_weights``; ``save_weights("x.h5")``: the
  root): one group per top-level layer name with a ``weight_names`` attribute (``dense/kernel``
  in Keras 3, ``dense/kernel:0`` in tf_keras, which also says ``depthwise_kernel`` where Keras 3
  says ``kernel``). The order is trainable weights first, also across a nested model's layers.
* A live Keras model: ``layer.weights`` of each top-level layer (``Variable.path`` names).
"""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerasinit.mappings.errors import format_choices
from kerasinit.porting.h5attrs import get_attr, opened_from
from kerasinit.porting.readers import ModelFileError, check_zip_directory, open_regular

__all__ = ["MAX_H5_DEPTH", "MAX_H5_NODES", "StoredWeight", "WeightStore", "open_weights"]

#: the most HDF5 groups + datasets a weights file may have (ResNet50 has ~1,500).
MAX_H5_NODES = 200_000
#: the deepest group nesting kerasinit walks.
MAX_H5_DEPTH = 48

_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error, lzma.LZMAError,
                NotImplementedError, ValueError, KeyError)
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Keras 3 sublayer attribute groups in Keras's weight order; others follow alphabetically.
_CHILD_ORDER = ("cell", "forward_layer", "backward_layer", "layer", "query_dense", "key_dense",
                "value_dense", "output_dense")


@dataclass(frozen=True)
class StoredWeight:
    """One stored array, not read yet.

    Attributes:
        name: the stored name (``"dense/kernel"``, ``"dense/kernel:0"``) or, in a Keras 3
            weights store, the group path (``"layers/dense/vars/0"``).
        shape: the stored shape.
        dtype: the stored dtype (``"float32"``).
        named: True when ``name`` ends in the Keras weight name (legacy HDF5, live models).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    named: bool
    _read: Callable[[], np.ndarray]

    def read(self) -> np.ndarray:
        """The array (read from the file now)."""
        try:
            arr = np.asarray(self._read())
        except _READ_ERRORS as exc:
            raise ModelFileError(f"cannot read the stored weight {self.name!r} ({exc}); the file "
                                 f"is probably truncated or corrupted.") from None
        if tuple(arr.shape) != self.shape:
            raise ModelFileError(f"the stored weight {self.name!r} read as shape {arr.shape}, "
                                 f"its header says {self.shape}.")
        return arr


@dataclass(frozen=True)
class WeightStore:
    """The weights of a model: Keras layer path -> its stored weights in Keras's order.

    A key is a top-level layer name (``"dense"``, ``"bidirectional"``, a nested model's name
    with all its weights) or, for a Keras 3 weights store, a nested path (``"inner/dense"``).
    """

    groups: dict[str, list[StoredWeight]]
    origin: str
    fmt: str  # "keras3" (a Keras 3 weights store), "legacy" (legacy HDF5), "live"


@contextlib.contextmanager
def open_weights(source: object) -> Iterator[WeightStore]:
    """Open the weights of ``source`` for reading (files stay open inside the ``with``).

    Args:
        source: a path to a ``.keras`` archive, a legacy ``.h5`` model, a ``.weights.h5`` /
            ``save_weights`` file, or a live Keras model object.

    Raises:
        ModelFileError: a missing, truncated or malformed file, or one with no weights.

    Example:
        >>> with open_weights("missing.keras") as store:  # doctest: +IGNORE_EXCEPTION_DETAIL
        ...     pass
        Traceback (most recent call last):
        kerasinit.porting.bounded.ModelFileError: No such file: 'missing.keras'.
    """
    if hasattr(source, "layers") and hasattr(source, "weights") and not isinstance(
            source, (str, os.PathLike)):
        yield _live(source)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise ModelFileError(
            f"Cannot read Keras weights from {type(source).__name__}. Expected a path to a "
            f".keras, .h5 or .weights.h5 file, or a live Keras model.")
    path = Path(source)
    h5py = _h5py(path.name)
    with open_regular(path) as fh:  # refuses directories, FIFOs, devices before reading
        head = fh.read(8)
        fh.seek(0)
        try:
            if head.startswith(_ZIP_MAGIC):
                check_zip_directory(path)
                with zipfile.ZipFile(fh) as archive:
                    if "model.weights.h5" not in archive.namelist():
                        raise ModelFileError(
                            f"{path.name} has no model.weights.h5 member, so it holds no "
                            f"weights. Members: "
                            f"{format_choices(archive.namelist(), limit=10) or '(none)'}.")
                    _check_crc(archive, "model.weights.h5")
                    # h5py reads the member in place: nothing is extracted
                    with _member(archive, fh, "model.weights.h5") as member, \
                            h5py.File(member, "r") as f, opened_from(member):
                        yield _from_h5(f, f"{path.name}:model.weights.h5")
                return
            if not head.startswith(_HDF5_MAGIC):
                raise ModelFileError(f"{path.name} is neither a .keras archive nor an HDF5 file.")
            with h5py.File(fh, "r") as f, opened_from(fh):
                yield _from_h5(f, path.name)
        except ModelFileError:
            raise
        except _READ_ERRORS as exc:
            raise ModelFileError(
                f"{path.name}: the weights cannot be read ({type(exc).__name__}: {exc}); the "
                f"file is probably truncated or corrupted.") from None


class _Window(io.RawIOBase):
    """Read-only random access to ``size`` bytes of ``fh`` from ``start`` (a stored member):
    zipfile's own member stream re-reads from the start on every backward seek, which made
    h5py's metadata walk quadratic (3.5 s for ResNet50's 98 MB, 0.1 s this way)."""

    def __init__(self, fh: Any, start: int, size: int) -> None:
        super().__init__()
        self._fh, self._start, self._size, self._pos = fh, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._size)[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def _member(archive: zipfile.ZipFile, fh: Any, name: str) -> Any:
    """A seekable reader of one member: a window on the file for a stored (uncompressed)
    member, as Keras writes them; zipfile's stream otherwise."""
    info = archive.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return archive.open(info)
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise ModelFileError(f"{name}: bad local zip header; the archive is corrupted.")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return _Window(fh, info.header_offset + 30 + name_len + extra_len, info.file_size)


def _check_crc(archive: zipfile.ZipFile, name: str) -> None:
    """Stream the member once (1 MiB at a time): zipfile checks its CRC-32 at the end, which
    random access by h5py never reaches, and HDF5 has no checksum of its own for raw data."""
    with archive.open(name) as member:
        while member.read(1 << 20):
            pass


def _h5py(name: str) -> Any:
    try:
        import h5py  # optional dependency: pip install kerasinit[porting]
    except ImportError:
        raise ModelFileError(f"reading the weights in {name} needs h5py (pip install h5py, or "
                             f"kerasinit[porting]).") from None
    return h5py


def _from_h5(f: Any, origin: str) -> WeightStore:
    h5py = _h5py(origin)
    counter = [0]
    if "model_weights" in f:
        return WeightStore(_legacy(f["model_weights"], origin, h5py, counter), origin, "legacy")
    if "layer_names" in f.attrs:
        return WeightStore(_legacy(f, origin, h5py, counter), origin, "legacy")
    if "layers" in f and isinstance(f["layers"], h5py.Group):
        groups: dict[str, list[StoredWeight]] = {}
        _keras3_model(f["layers"], "", groups, origin, h5py, counter, 1)
        return WeightStore(groups, origin, "keras3")
    keys = format_choices([str(k) for k in f], limit=10) or "(none)"
    raise ModelFileError(f"{origin} holds no Keras weights: no 'model_weights' group, no "
                         f"'layer_names' attribute and no 'layers' group. Top-level keys: {keys}.")


def _tick(counter: list[int], origin: str, depth: int) -> None:
    counter[0] += 1
    if counter[0] > MAX_H5_NODES or depth > MAX_H5_DEPTH:
        raise ModelFileError(f"{origin}: more than {MAX_H5_NODES} HDF5 nodes or deeper than "
                             f"{MAX_H5_DEPTH} levels; not a Keras weights file kerasinit reads.")


def _dataset(ds: Any, name: str, named: bool, h5py: Any, origin: str) -> StoredWeight:
    if not isinstance(ds, h5py.Dataset):
        raise ModelFileError(f"{origin}: {name!r} is not a dataset.")
    shape = tuple(int(d) for d in ds.shape) if ds.shape is not None else ()
    return StoredWeight(name, shape, str(ds.dtype), named, lambda: ds[()])


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _legacy(group: Any, origin: str, h5py: Any, counter: list[int]) -> dict[str, list[StoredWeight]]:
    names = get_attr(group, "layer_names", origin, h5py)  # sized before it is read
    if names is None:
        raise ModelFileError(f"{origin}: the 'model_weights' group has no 'layer_names' attribute.")
    out: dict[str, list[StoredWeight]] = {}
    for raw in list(names):
        _tick(counter, origin, 1)
        layer = _text(raw)
        if layer not in group:
            raise ModelFileError(f"{origin}: layer {layer!r} is listed but has no group.")
        g = group[layer]
        weights = []
        for wraw in list(get_attr(g, "weight_names", origin, h5py, [])):
            _tick(counter, origin, 2)
            wname = _text(wraw)
            if wname not in g:
                raise ModelFileError(f"{origin}: weight {wname!r} of layer {layer!r} is listed "
                                     f"but missing.")
            weights.append(_dataset(g[wname], wname, True, h5py, origin))
        if weights:
            out[layer] = weights
    return out


def _keras3_model(layers: Any, prefix: str, out: dict[str, list[StoredWeight]], origin: str,
                  h5py: Any, counter: list[int], depth: int) -> None:
    for key in layers:
        _tick(counter, origin, depth)
        g = layers[key]
        if not isinstance(g, h5py.Group):
            continue
        name = _layer_name(g, str(key), origin, h5py)
        if "layers" in g and isinstance(g["layers"], h5py.Group):  # a nested model
            _keras3_model(g["layers"], f"{prefix}{name}/", out, origin, h5py, counter, depth + 1)
            continue
        weights: list[StoredWeight] = []
        _keras3_layer(g, f"layers/{key}", weights, origin, h5py, counter, depth + 1)
        if weights:
            out[prefix + name] = weights


def _layer_name(g: Any, fallback: str, origin: str, h5py: Any) -> str:
    vars_group = g.get("vars")
    name = get_attr(vars_group, "name", origin, h5py) if vars_group is not None else None
    return _text(name) if name is not None else fallback


def _keras3_layer(g: Any, where: str, out: list[StoredWeight], origin: str, h5py: Any,
                  counter: list[int], depth: int) -> None:
    _tick(counter, origin, depth)
    vars_group = g.get("vars")
    if isinstance(vars_group, h5py.Group):
        keys = sorted(vars_group, key=lambda k: int(k) if str(k).isdigit() else 1 << 30)
        for k in keys:
            _tick(counter, origin, depth + 1)
            out.append(_dataset(vars_group[k], f"{where}/vars/{k}", False, h5py, origin))
    children = [k for k in g if k != "vars" and isinstance(g[k], h5py.Group)]
    rank = {name: i for i, name in enumerate(_CHILD_ORDER)}
    for k in sorted(children, key=lambda c: (rank.get(c, len(rank)), c)):
        _keras3_layer(g[k], f"{where}/{k}", out, origin, h5py, counter, depth + 1)


def _reader(variable: Any) -> Callable[[], np.ndarray]:
    return lambda: np.asarray(variable)


def _live(model: Any) -> WeightStore:
    groups: dict[str, list[StoredWeight]] = {}
    for layer in model.layers:
        weights = []
        for v in layer.weights:
            name = str(getattr(v, "path", None) or v.name)
            shape = tuple(int(d) for d in v.shape)
            dtype = getattr(v, "dtype", "float32")  # a tf.DType for tf_keras variables
            weights.append(StoredWeight(name, shape, str(np.dtype(getattr(dtype, "name", dtype))),
                                        True, _reader(v)))
        if weights:
            groups[str(layer.name)] = weights
    return WeightStore(groups, f"live {type(model).__name__} {getattr(model, 'name', '')!r}",
                       "live")
