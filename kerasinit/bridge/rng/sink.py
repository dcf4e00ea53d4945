"""Writing a Keras-layout value stream into a tensor's Keras view, one flat range at a time.

Every seed-faithful stream produces Keras's values in Keras's row-major order, chunk by
chunk (Philox and Threefry are counter-based; torch's CPU generator is sequential). The
target is a torch parameter seen through its layout's :meth:`~kerasinit.bridge.layouts.
Layout.to_keras` view: any strides (an ``nn.Linear`` weight's transpose, a permuted conv
kernel), any floating dtype, any device. :func:`write_flat` writes the flat range
``[start, start + n)`` of that view from a 1-D chunk without materializing the whole
Keras-layout tensor: whole leading-axis slices in one copy, partial ones recursively.

On CPU the copies run as NumPy assignments where NumPy has the dtype (no OpenMP teams
started from the worker threads); bfloat16 and other devices use ``Tensor.copy_`` in pieces
below torch's parallel grain. Both cast exactly as ``Tensor.to`` does (round to nearest even).

Example:
    >>> import torch
    >>> w = torch.zeros(3, 4)                      # nn.Linear(4, 3).weight; Keras view (4, 3)
    >>> write_flat(w.t(), 2, torch.arange(1.0, 6.0))
    >>> w.t().reshape(-1).tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import torch

from kerasinit.bridge.rng.philox import empty

__all__ = [
    "GRAIN", "Blocks", "Columns", "Split", "SplitRows", "Target", "aliases", "as_tensor",
    "write_flat",
]

#: Elements per ``Tensor.copy_`` on CPU: torch's parallel grain, so no OpenMP team starts.
GRAIN = 32768
_NUMPY_DTYPES = (torch.float32, torch.float64, torch.float16)


def aliases(view: torch.Tensor, tensor: torch.Tensor) -> bool:
    """Whether ``view`` shares ``tensor``'s memory (a layout's ``to_keras`` gave a view)."""
    if view is tensor:
        return True
    try:
        return bool(view.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr())
    except (RuntimeError, NotImplementedError):  # pragma: no cover - storage-less tensors
        return False


_C = TypeVar("_C", bound="_Composite")


class _Composite:
    """The tensor attributes the samplers read from a target that is not one tensor."""

    shape: torch.Size

    def numel(self) -> int:
        return math.prod(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def is_contiguous(self) -> bool:
        return False

    def detach(self: _C) -> _C:
        return self


class Columns(_Composite):
    """A Keras view made of tensor views side by side along the last axis.

    For layouts whose Keras tensor is a concatenation rather than a view, such as ``"gru"``
    (Keras's gate blocks z, r, h are torch's row blocks r, z, n, transposed). It has the
    tensor attributes the samplers read (``shape``, ``dtype``, ``device``, ``numel()``,
    ``dim()``, ``is_contiguous()`` (False), ``detach()``); :func:`write_flat` writes through it.
    """

    def __init__(self, parts: Sequence[torch.Tensor]) -> None:
        # detached: the samplers write from worker threads, where grad mode is on (it is
        # thread-local), and slicing a no_grad view of a parameter there would be refused
        self.parts = tuple(p.detach() for p in parts)
        first = self.parts[0]
        self.widths = [int(p.shape[-1]) for p in self.parts]
        self.shape = torch.Size((*first.shape[:-1], sum(self.widths)))
        self.dtype, self.device = first.dtype, first.device


class Split(_Composite):
    """A float32 tensor kept as two 16-bit halves of each value's bits.

    The upper halves live in ``hi`` (int16, any strides: a float16/bfloat16 parameter's own
    memory viewed as int16), the lower halves in ``lo`` (int16, same shape). Orthogonal on a
    half-precision parameter keeps its float32 normal matrix this way: the parameter itself
    plus 1x of it, instead of a float32 copy (2x). :func:`write_flat` writes float32 values
    into it; :meth:`read` and :meth:`store` move whole blocks.

    Example:
        >>> x = torch.tensor([1.5, -2.0e-3, 3.1415927])
        >>> s = Split(torch.empty(3, dtype=torch.float16).view(torch.int16),
        ...           torch.empty(3, dtype=torch.int16))
        >>> write_flat(s, 0, x)
        >>> bool(torch.equal(s.read(), x))
        True
    """

    def __init__(self, hi: torch.Tensor, lo: torch.Tensor) -> None:
        if hi.dtype != torch.int16 or lo.dtype != torch.int16 or hi.shape != lo.shape:
            raise ValueError("Split needs two int16 tensors of one shape")  # pragma: no cover
        self.hi, self.lo = hi, lo
        self.shape = hi.shape
        self.dtype, self.device = torch.float32, hi.device

    def columns(self, a: int, b: int) -> Split:
        """Last-axis positions ``a .. b`` (a view of both halves)."""
        return Split(self.hi[..., a:b], self.lo[..., a:b])

    def rows_from(self, r0: int) -> Split:
        """First-axis positions ``r0 ..`` (a view of both halves)."""
        return Split(self.hi[r0:], self.lo[r0:])

    def read(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The float32 values as a new contiguous tensor of ``dtype``, assembled in pieces
        along the first axis (temporaries of at most :data:`GRAIN` values)."""
        out = torch.empty(self.shape, dtype=dtype, device=self.device)
        if out.numel() == 0:
            return out
        if self.dim() == 0:  # pragma: no cover - Orthogonal's matrices have rank >= 2
            return Split(self.hi.reshape(1), self.lo.reshape(1)).read(dtype).reshape(())
        per = math.prod(self.shape[1:])
        step = max(1, GRAIN // max(per, 1))
        for a in range(0, int(self.shape[0]), step):
            bits = self.hi[a:a + step].to(torch.int32).bitwise_left_shift_(16)
            bits.bitwise_or_(self.lo[a:a + step].to(torch.int32).bitwise_and_(0xFFFF))
            out[a:a + step].copy_(bits.view(torch.float32))
        return out

    def store(self, values: torch.Tensor) -> None:
        """Keep the float32 ``values`` (of this shape) bit for bit."""
        bits = values.to(torch.float32).contiguous().view(torch.int32)
        self.hi.copy_((bits >> 16).to(torch.int16))
        self.lo.copy_(bits.to(torch.int16))            # the low 16 bits (two's complement)


class SplitRows(_Composite):
    """:class:`Split` blocks stacked along the first axis: a float32 matrix whose row blocks
    live in different tensors (``a`` of a GRU weight: its gate blocks in Keras's order).

    Example:
        >>> parts = [Split(torch.empty(n, 2, dtype=torch.float16).view(torch.int16),
        ...                torch.empty(n, 2, dtype=torch.int16)) for n in (1, 2)]
        >>> rows = SplitRows(parts)
        >>> write_flat(rows, 0, torch.arange(6.0))
        >>> rows.columns(1, 2).read().view(-1).tolist()
        [1.0, 3.0, 5.0]
    """

    def __init__(self, parts: Sequence[Split]) -> None:
        self.parts = tuple(parts)
        self.heights = [int(p.shape[0]) for p in self.parts]
        self.shape = torch.Size((sum(self.heights), *self.parts[0].shape[1:]))
        self.dtype, self.device = torch.float32, self.parts[0].device

    def columns(self, a: int, b: int) -> SplitRows:
        """Last-axis positions ``a .. b`` of every block."""
        return SplitRows([p.columns(a, b) for p in self.parts])

    def rows_from(self, r0: int) -> SplitRows:
        """Rows ``r0 ..`` (views of the blocks that hold them)."""
        kept, top = [], 0
        for p, h in zip(self.parts, self.heights, strict=True):
            if top + h > r0:
                lo = max(r0 - top, 0)
                kept.append(Split(p.hi[lo:], p.lo[lo:]))
            top += h
        return SplitRows(kept)

    def read(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The float32 values, as one new contiguous tensor of ``dtype``."""
        return torch.cat([p.read(dtype) for p in self.parts])

    def store(self, values: torch.Tensor) -> None:
        """Keep the float32 ``values`` (of this shape) bit for bit."""
        top = 0
        for p, h in zip(self.parts, self.heights, strict=True):
            p.store(values[top:top + h])
            top += h


#: What the samplers write into: a tensor view of any strides, :class:`Columns`,
#: :class:`Split` or :class:`SplitRows`.
Target = torch.Tensor | Columns | Split | SplitRows


def as_tensor(out: Target) -> torch.Tensor:
    """``out`` typed as the tensor the samplers return (a :class:`Columns` is returned as is:
    callers that pass one ignore the return value)."""
    return cast(torch.Tensor, out)


def write_flat(view: Target, start: int, values: torch.Tensor) -> None:
    """Write the 1-D ``values`` into elements ``[start, start + len)`` of ``view``'s
    row-major order (``view`` may have any strides; ``values`` are cast to its dtype)."""
    n = values.numel()
    if n == 0:
        return
    if isinstance(view, Columns):
        _write_columns(view, start, values.reshape(-1))
        return
    if isinstance(view, Split):
        bits = values.detach().to(torch.float32).reshape(-1).contiguous().view(torch.int32)
        write_flat(view.hi, start, (bits >> 16).to(torch.int16))
        write_flat(view.lo, start, bits.to(torch.int16))
        return
    if isinstance(view, SplitRows):
        flat, stop, offset = values.reshape(-1), start + n, 0
        for part in view.parts:
            size = part.numel()
            a, b = max(start, offset), min(stop, offset + size)
            if a < b:
                write_flat(part, a - offset, flat[a - start:b - start])
            offset += size
        return
    if view.device.type == "cpu" and view.dtype in _NUMPY_DTYPES and all(
            s >= 0 for s in view.stride()):
        src = values.detach().cpu().numpy()
        _write_numpy(view.detach().numpy(), start, src.reshape(-1))
        return
    src_t = values.detach().to(view.device).reshape(-1)
    limit = GRAIN if view.device.type == "cpu" else 1 << 62
    _write_torch(view.detach(), start, src_t, limit)


def _write_columns(view: Columns, start: int, src: torch.Tensor) -> None:
    """Row by row (rows of the last axis): each part gets its columns of the range."""
    width = view.shape[-1]
    stop = start + src.numel()
    row = start // width
    while row * width < stop:
        lo, hi = max(start, row * width) - row * width, min(stop, (row + 1) * width) - row * width
        full_rows = 1
        if lo == 0 and hi == width:  # whole rows: one write per part for all of them
            full_rows = (stop - row * width) // width
            hi = width
        block = src[row * width + lo - start:(row + full_rows - 1) * width + hi - start]
        block = block.view(full_rows, hi - lo) if full_rows > 1 else block.view(1, hi - lo)
        offset = 0
        for part, w in zip(view.parts, view.widths, strict=True):
            a, b = max(lo, offset), min(hi, offset + w)
            if a < b:
                flat_part = part.reshape(-1, w) if part.dim() != 2 else part
                target = flat_part[row:row + full_rows, a - offset:b - offset]
                write_flat(target, 0, block[:, a - lo:b - lo].reshape(-1))
            offset += w
        row += full_rows


def _write_numpy(dst: Any, start: int, src: Any) -> None:
    n = src.shape[0]
    if dst.ndim == 0:
        dst[...] = src[0]
        return
    if dst.flags.c_contiguous:
        dst.reshape(-1)[start:start + n] = src
        return
    if dst.ndim == 1:
        dst[start:start + n] = src
        return
    inner = math.prod(dst.shape[1:])
    stop = start + n
    row, pos = start // inner, 0
    if start % inner:  # the head: part of one leading slice
        hi = min(inner, stop - row * inner)
        pos = hi - start % inner
        _write_numpy(dst[row], start % inner, src[:pos])
        row += 1
    full = stop // inner
    if full > row:  # whole leading slices in one assignment
        k = (full - row) * inner
        dst[row:full] = src[pos:pos + k].reshape(full - row, *dst.shape[1:])
        pos += k
    if pos < n:  # the tail: the start of one leading slice
        _write_numpy(dst[full], 0, src[pos:])


def _write_torch(dst: torch.Tensor, start: int, src: torch.Tensor, limit: int) -> None:
    n = src.numel()
    if dst.dim() == 0:
        dst.copy_(src[0])
        return
    if dst.dim() == 1 or dst.is_contiguous():
        flat = dst.view(-1) if dst.is_contiguous() else dst
        for a in range(0, n, limit):
            b = min(n, a + limit)
            flat[start + a:start + b].copy_(src[a:b])
        return
    inner = math.prod(dst.shape[1:])
    stop = start + n
    row, pos = start // inner, 0
    if start % inner:
        hi = min(inner, stop - row * inner)
        pos = hi - start % inner
        _write_torch(dst[row], start % inner, src[:pos], limit)
        row += 1
    full = stop // inner
    if full > row:
        if inner > limit:
            for r in range(row, full):
                _write_torch(dst[r], 0, src[pos + (r - row) * inner:pos + (r - row + 1) * inner],
                             limit)
        else:
            step = max(1, limit // inner)
            for r in range(row, full, step):
                e = min(full, r + step)
                a = pos + (r - row) * inner
                dst[r:e].copy_(src[a:a + (e - r) * inner].view(e - r, *dst.shape[1:]))
        pos += (full - row) * inner
    if pos < n:
        _write_torch(dst[full], 0, src[pos:], limit)


_local = threading.local()


def _scratch(count: int, device: torch.device) -> torch.Tensor:
    """A per-thread float32 CPU buffer of at least ``count`` values (grows by doubling)."""
    if device.type != "cpu":
        return torch.empty(count, dtype=torch.float32, device=device)
    buf: torch.Tensor | None = getattr(_local, "buf", None)
    if buf is None or buf.numel() < count:
        buf = _local.buf = empty((1 << max(count - 1, 1).bit_length(),), torch.float32, device)
    return buf[:count]


class Blocks:
    """The destination of a stream of ``width``-value blocks for a Keras-layout ``shape``.

    Block ``j`` holds flat elements ``width j .. width j + width - 1`` (Philox's four words).
    Into a contiguous float32 ``out`` on the stream's device the blocks are computed in place;
    otherwise (strided views, other dtypes, the last partial block) each chunk is computed in
    a small per-thread buffer and written with :func:`write_flat`. With ``out=None`` a
    contiguous float32 tensor is allocated and returned by :meth:`result`.
    """

    def __init__(self, shape: Sequence[int], device: torch.device,
                 out: Target | None, width: int = 4) -> None:
        shape = tuple(int(d) for d in shape)
        self.n = math.prod(shape)
        self.width = width
        self.nblocks = -(-self.n // width)
        self.device = device
        if out is None:
            out = empty(shape, torch.float32, device)
        if tuple(out.shape) != shape:  # pragma: no cover - callers pass the draw's shape
            raise ValueError(f"out has shape {tuple(out.shape)}, the draw {shape}")
        self.out = out
        same_device = out.device.type == device.type and (
            device.index is None or out.device.index == device.index)
        self.direct = (out.detach().view(-1) if isinstance(out, torch.Tensor) and same_device
                       and out.is_contiguous() and out.dtype == torch.float32 else None)

    def _in_place(self, b: int) -> bool:
        return self.direct is not None and b * self.width <= self.n

    def chunk(self, a: int, b: int) -> torch.Tensor:
        """A ``(b - a, width)`` float32 buffer for blocks ``[a, b)``."""
        w = self.width
        if self._in_place(b):
            assert self.direct is not None
            return self.direct[a * w:b * w].view(b - a, w)
        return _scratch((b - a) * w, self.device).view(b - a, w)

    def commit(self, a: int, b: int, buf: torch.Tensor) -> None:
        """Write the chunk's values (unless :meth:`chunk` gave a slice of ``out`` itself)."""
        if not self._in_place(b):
            w = self.width
            write_flat(self.out, a * w, buf.reshape(-1)[:min(b * w, self.n) - a * w])

    def result(self) -> torch.Tensor:
        """The filled ``out`` (typed as a tensor: a :class:`Columns` passed in comes back)."""
        return as_tensor(self.out)
