"""Bounded HDF5 attribute reads: an attribute's size is known before its value is read.

``h5py`` allocates an attribute's whole value when it is read. For a fixed-size type that
size is ``itemsize x elements`` (both known from the attribute's header). A variable-length
value (a ``str`` attribute, as Keras 3 writes ``model_config``; an array of them) lives in the
file's global heap, and each element may point at the same heap object, so its size is known
only from the file itself: :func:`read_attr` finds the attribute message in the object's
header (HDF5 object header versions 1 and 2), reads each element's stored length and the size
of every global-heap collection the elements point into, and refuses the attribute when their
sum passes the limit -- all before HDF5 allocates anything. An attribute it cannot locate that
way (dense attribute storage, a shared message) is read only from a file no larger than
:data:`~kerasinit.porting.bounded.MAX_CONFIG_BYTES`, since nothing HDF5 copies can exceed the
file. Every refusal is a
:class:`~kerasinit.porting.bounded.ModelFileError` naming the file, the attribute and the limit.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import struct
from collections.abc import Callable, Iterator
from typing import Any

from kerasinit.porting import bounded
from kerasinit.porting.bounded import ModelFileError, check_size

__all__ = ["get_attr", "opened_from", "read_attr", "vlen_size"]

_ATTRIBUTE = 0x000C
_CONTINUATION = 0x0010
#: most object-header chunks followed (continuation messages) and bytes read per chunk.
_MAX_CHUNKS = 64
_MAX_CHUNK_BYTES = 1 << 20

Reader = Callable[[int, int], bytes]
#: the file object the HDF5 file being read was opened from (h5py does not hand it back)
_SOURCE: contextvars.ContextVar[object] = contextvars.ContextVar("h5_source", default=None)


@contextlib.contextmanager
def opened_from(fileobj: object) -> Iterator[None]:
    """Declare, for the reads inside the block, the binary file object an ``h5py.File`` was
    opened from, so variable-length attributes can be sized from the file's bytes."""
    token = _SOURCE.set(fileobj)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def get_attr(obj: Any, name: str, origin: str, h5py: Any, default: object = None,
             limit: int | None = None) -> Any:
    """``obj.attrs.get(name, default)`` with :func:`read_attr`'s bound (kind "HDF5 attributes")."""
    if name not in obj.attrs:
        return default
    return read_attr(obj, name, origin, h5py, limit, "HDF5 attributes")


def read_attr(obj: Any, name: str, origin: str, h5py: Any, limit: int | None = None,
              kind: str = "model configs", source: object = None) -> object:
    """``obj.attrs[name]``, refused with a :class:`ModelFileError` if it holds more than ``limit``
    bytes (default :data:`~kerasinit.porting.bounded.MAX_CONFIG_BYTES`), checked before reading.

    Args:
        obj: an open ``h5py`` File, Group or Dataset.
        name: the attribute (it must exist).
        origin: the file's name, for messages.
        h5py: the imported module (an optional dependency).
        limit: the most bytes the value may take.
        kind: what is limited, for the message ("model configs", "HDF5 attributes").
        source: the path or binary file object the HDF5 file was opened from, when h5py was
            given a file object (h5py does not hand it back); default: the one declared with
            :func:`opened_from`, else the file's path.
    """
    limit = bounded.MAX_CONFIG_BYTES if limit is None else limit
    where = getattr(obj, "name", "/") or "/"
    what = f"{origin}:{name}" if where == "/" else f"{origin}:{where} attribute {name!r}"
    attr = obj.attrs.get_id(name)  # the attribute's header; its value is not read
    npoints = int(attr.get_space().get_simple_extent_npoints())
    base = _vlen_base(attr.dtype, h5py)
    if base is None:
        check_size(attr.dtype.itemsize * npoints, what, limit, kind)
        return obj.attrs[name]
    if base == 0:
        raise ModelFileError(f"{what}: a nested variable-length attribute; kerasinit reads only "
                             f"strings, numbers and arrays of them.")
    check_size(npoints * 16, what, limit, kind)  # each stored element is at least 16 bytes
    size = vlen_size(obj, name, npoints, base, h5py, source)
    if size is not None:
        check_size(size, f"{what} (value and HDF5 heap)", limit, kind)
        return obj.attrs[name]
    # not located: what HDF5 copies comes from the file, so a small file bounds it
    file_size, ceiling = int(obj.file.id.get_filesize()), max(limit, bounded.MAX_CONFIG_BYTES)
    if file_size > ceiling:
        raise ModelFileError(
            f"{what}: a variable-length attribute kerasinit cannot size before reading "
            f"(dense attribute storage or a shared message) in a file of "
            f"{file_size / 2**20:.1f} MiB; such attributes are read only from files up to "
            f"{ceiling / 2**20:g} MiB (the limit).")
    value = obj.attrs[name]
    if isinstance(value, (str, bytes)):
        check_size(len(value), what, limit, kind)
    return value


def _vlen_base(dtype: Any, h5py: Any) -> int | None:
    """None for a fixed-size type, else the size of one item of the variable-length base
    (1 for strings; 0 for a base that is itself variable-length)."""
    info = h5py.check_string_dtype(dtype)
    if info is not None:
        return 1 if info.length is None else None
    base = h5py.check_vlen_dtype(dtype)
    if base is None:
        return None
    inner = h5py.check_string_dtype(base)
    if h5py.check_vlen_dtype(base) is not None or (inner is not None and inner.length is None):
        return 0
    return int(base.itemsize)


def vlen_size(obj: Any, name: str, npoints: int, base: int, h5py: Any,
              source: object = None) -> int | None:
    """Bytes HDF5 would allocate to read a variable-length attribute: the elements' lengths
    times ``base`` plus the size of each global-heap collection they point into; None when the
    attribute message is not in the object header (or the header is not understood)."""
    fid = obj.file.id
    sizes = fid.get_create_plist().get_sizes()  # (offsets, lengths) in bytes
    base_addr = int(fid.get_create_plist().get_userblock())
    addr = int(h5py.h5o.get_info(obj.id).addr)
    target = source if source is not None else _SOURCE.get()
    with _reader(obj.file.filename if target is None else target) as read:
        if read is None:
            return None
        try:
            raw = _find_attribute(read, base_addr + addr, name.encode(), sizes)
            if raw is None or len(raw) < npoints * (8 + sizes[0]):
                return None
            total, heaps = 0, set()
            step = 8 + sizes[0]
            for i in range(npoints):
                length = struct.unpack_from("<I", raw, i * step)[0]
                heap = int.from_bytes(raw[i * step + 4: i * step + 4 + sizes[0]], "little")
                total += length * base
                if length and heap not in heaps:
                    heaps.add(heap)
                    total += _collection_size(read, base_addr + heap, sizes[1])
            return total
        except (struct.error, ValueError, OSError, IndexError):
            return None


class _reader:
    """``read(offset, n)`` on the HDF5 file: the path reopened, or the file object h5py reads."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.fh: Any = None
        self.pos: int | None = None

    def __enter__(self) -> Reader | None:
        if isinstance(self.target, (str, os.PathLike)):
            try:
                self.fh = bounded.open_regular(self.target)  # type: ignore[arg-type]
            except ModelFileError:
                return None
        elif hasattr(self.target, "read") and hasattr(self.target, "seek"):
            self.fh, self.pos = self.target, self.target.tell()
        else:
            return None
        fh = self.fh

        def read(offset: int, n: int) -> bytes:
            if n > _MAX_CHUNK_BYTES or offset < 0:
                raise ValueError("chunk too large")
            fh.seek(offset)
            data = fh.read(n)
            if len(data) != n:
                raise ValueError("beyond the end of the file")
            return bytes(data)
        return read

    def __exit__(self, *exc: object) -> None:
        if self.pos is not None:
            self.fh.seek(self.pos)
        elif self.fh is not None:
            self.fh.close()


def _collection_size(read: Reader, addr: int, len_size: int) -> int:
    head = read(addr, 8 + len_size)
    if head[:4] != b"GCOL":
        raise ValueError("not a global heap collection")
    return int.from_bytes(head[8:8 + len_size], "little")


def _find_attribute(read: Reader, addr: int, name: bytes, sizes: tuple[int, int]) -> bytes | None:
    """The raw value of attribute ``name`` in the object header at ``addr``, or None."""
    off, length = sizes
    head = read(addr, 16)
    chunks: list[tuple[int, int]]
    if head[:4] == b"OHDR":  # version 2
        flags = head[5]
        pos = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x03)
        size = int.from_bytes(read(addr + pos, width), "little")
        chunks, v2 = [(addr + pos + width, size)], True
        order = 2 if flags & 0x04 else 0
    elif head[0] == 1:  # version 1: 16-byte prefix, then messages
        chunks, v2, order = [(addr + 16, struct.unpack_from("<I", head, 8)[0])], False, 0
    else:
        return None
    seen = 0
    while chunks and seen < _MAX_CHUNKS:
        start, size = chunks.pop(0)
        seen += 1
        if v2 and seen > 1:  # "OCHK" signature first, checksum last
            if read(start, 4) != b"OCHK":
                return None
            start, size = start + 4, size - 8
        data = read(start, size)
        pos = 0
        header = (4 + order) if v2 else 8
        while pos + header <= len(data):
            if v2:
                mtype, msize, mflags = data[pos], struct.unpack_from("<H", data, pos + 1)[0], \
                    data[pos + 3]
            else:
                mtype, msize, mflags = struct.unpack_from("<HHB", data, pos)
            body = data[pos + header: pos + header + msize]
            pos += header + msize
            if mtype == _CONTINUATION:
                chunks.append((int.from_bytes(body[:off], "little"),
                               int.from_bytes(body[off:off + length], "little")))
            elif mtype == _ATTRIBUTE and not mflags & 0x02:  # not a shared message
                value = _attribute_value(body, name)
                if value is not None:
                    return value
    return None


def _attribute_value(body: bytes, name: bytes) -> bytes | None:
    """The value bytes of an attribute message if it is ``name`` (versions 1-3)."""
    version, flags = body[0], body[1] if body[0] != 1 else 0  # v1: a reserved byte
    name_size, type_size, space_size = struct.unpack_from("<HHH", body, 2)
    pos = 8 if version == 1 else 9 if version == 3 else 8
    if version not in (1, 2, 3) or flags & 0x03:  # shared datatype or dataspace
        return None
    found = body[pos: pos + name_size].rstrip(b"\x00")
    if found != name:
        return None

    def padded(n: int) -> int:
        return (n + 7) & ~7 if version == 1 else n
    pos += padded(name_size) + padded(type_size) + padded(space_size)
    return body[pos:]
