"""Where the blocked float64 Orthogonal keeps its matrix: the column panels of ``a``.

:func:`kerasinit.bridge.rng.orthogonal.orthogonal` factors large kernels left-looking, one
column panel of the ``(max(rows, cols), min(rows, cols))`` normal matrix ``a`` at a time.
:class:`Panels` says where ``a`` and then the float32 ``hi`` halves of the reflectors live
(the target itself when it can hold them, a :class:`~kerasinit.bridge.rng.sink.Split` over a
half-precision target, or panels of their own), reads panel ``k`` as float64 (float32 over a
half-precision target) and writes
``Q``'s panel ``k`` into the target's Keras view.

Example:
    >>> import torch
    >>> out = torch.zeros(6, 4)                    # a tall Keras kernel, float32
    >>> p = Panels(out, 6, 4, [2, 2], lambda a: a.copy_(torch.arange(24.0).view(6, 4)))
    >>> p.kind, p.read(1, 0).shape, float(p.read(1, 0)[0, 0])
    ('tensor', torch.Size([6, 2]), 2.0)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from kerasinit.bridge.rng.sink import Columns, Split, SplitRows, Target, as_tensor, write_flat

__all__ = ["Panels", "splittable"]


def splittable(out: Target, rows: int, cols: int) -> bool:
    """Whether the blocked QR can keep ``a`` split over a half-precision target
    (:class:`Panels` with ``split=True``): a float16/bfloat16 CPU tensor whose Keras view is
    tall (any strides, any rank) or folds to its ``(rows, cols)`` matrix, or float16/bfloat16
    :class:`~kerasinit.bridge.rng.sink.Columns` of a wide kernel (a GRU recurrent kernel: ``a``
    is then its gate blocks, as torch stores them, stacked in Keras's order)."""
    if isinstance(out, Columns):        # gate blocks: wide kernels only (a = their rows)
        return rows < cols and all(p.dim() == 2 and p.device.type == "cpu" and p.dtype in (
            torch.float16, torch.bfloat16) for p in out.parts)
    if not isinstance(out, torch.Tensor) or out.dtype not in (torch.float16, torch.bfloat16):
        return False
    if out.device.type != "cpu":
        return False
    if rows >= cols:
        return True
    try:
        out.detach().view(rows, cols)
    except RuntimeError:
        return False
    return True


class Panels:
    """The column panels of ``a`` (``(big, w)`` each) and where their ``hi`` halves live.

    * The target itself holds ``a`` (the normals are drawn into it) when it is a float32 CPU
      tensor and, for a wide kernel (``a`` = the Keras matrix transposed), its leading axes
      fold into one: a tall kernel's panel ``k`` is its columns ``c .. c + w`` (any strides,
      any rank), a wide one's its rows.
    * Otherwise ``a`` is drawn into float32 panels of its own. If the target is float32
      :class:`~kerasinit.bridge.rng.sink.Columns` of 2-D parts (a GRU weight's gate blocks),
      each panel's ``hi`` moves into the target once it is factored and the panel is freed
      (the target then holds ``hi`` and ``Q`` as above); for other targets (float16, wide
      views that do not fold) the panels stay until their ``Q`` panel is written out.
    * ``split=True`` (a float16/bfloat16 target that :func:`splittable` accepts): ``a``
      and then the float32 reflectors are kept as a
      :class:`~kerasinit.bridge.rng.sink.Split`: the upper 16 bits of each value in the
      target itself, the lower 16 bits aside (1x the target), panels as for a float32
      target, read as float32 (the whole QR then runs in float32); no ``lo`` halves. For wide
      GRU gate blocks (``"rows"``) ``a`` is a
      :class:`~kerasinit.bridge.rng.sink.SplitRows` over the blocks as torch stores them.
    """

    def __init__(self, out: Target, rows: int, cols: int, widths: list[int],
                 draw: Callable[[Target], object], split: bool = False) -> None:
        self.out, self.rows, self.cols, self.widths = out, rows, cols, widths
        self.big = max(rows, cols)
        self.tall = rows >= cols
        self.lead = tuple(out.shape[:-1])
        self.starts = [sum(widths[:k]) for k in range(len(widths))]
        self.matrix: torch.Tensor | None = None   # a wide target as (rows, cols)
        self.split: Split | SplitRows | None = None   # a (its orientation), split over out
        self.kind = self._kind(split)
        self.own: list[torch.Tensor | None] = [None] * len(widths)
        if split:
            self.split = self._split()
            draw(self.split)
        elif self.kind == "tensor":
            draw(out)          # a's row-major stream is the target's own (same flat order)
        elif self.kind == "matrix":
            assert self.matrix is not None
            draw(self.matrix.t())
        else:
            own = [torch.empty(self.big, w, dtype=torch.float32) for w in widths]
            draw(Columns(own))
            self.own = list(own)

    def _split(self) -> Split | SplitRows:
        """``a`` kept split over the half-precision target: its Keras view (tall; any rank),
        its folded matrix transposed (wide), or the gate blocks' rows (``"rows"``)."""
        def halves(t: torch.Tensor) -> Split:
            return Split(t.view(torch.int16), torch.empty(t.shape, dtype=torch.int16))
        if isinstance(self.out, Columns):      # Keras's order: the blocks as torch stores them
            return SplitRows([halves(p.t()) for p in self.out.parts])
        if self.tall:
            return halves(as_tensor(self.out).detach())
        assert self.matrix is not None
        sp = halves(self.matrix)
        return Split(sp.hi.t(), sp.lo.t())

    def _kind(self, split: bool) -> str | None:
        out = self.out
        if split:
            if isinstance(out, Columns):
                return "rows"
            if not self.tall:
                self.matrix = as_tensor(out).detach().view(self.rows, self.cols)
            return "tensor" if self.tall else "matrix"
        if isinstance(out, Columns):
            ok = all(p.dtype == torch.float32 and p.device.type == "cpu" and p.dim() == 2
                     for p in out.parts)
            return "columns" if ok else None
        if isinstance(out, (Split, SplitRows)) or out.dtype != torch.float32 or (
                out.device.type != "cpu"):
            return None
        if self.tall:
            return "tensor"
        try:
            self.matrix = out.detach().view(self.rows, self.cols)
        except RuntimeError:
            return None
        return "matrix"

    def read(self, k: int, r0: int) -> torch.Tensor:
        """Rows ``r0 ..`` of panel ``k`` of ``a`` (or of its ``hi``), as a new float64
        (split: float32) ``(big - r0, w)`` tensor laid out as the copy is fastest
        (LAPACK-bound callers let torch reorder it)."""
        w, c = self.widths[k], self.starts[k]
        own = self.own[k]
        if own is not None:
            return own[r0:].to(torch.float64)
        if self.split is not None:
            panel = self.split.columns(c, c + w)
            if panel.dim() == 2:
                part = panel.rows_from(r0)
                if isinstance(part, Split) and part.lo.stride(0) == 1 and w > 1:
                    # a wide kernel's a is a transposed matrix: read in its own orientation
                    return Split(part.hi.t(), part.lo.t()).read().t()
                return part.read()
            whole_split = panel.read().view(self.big, w)   # a tall kernel of higher rank
            return whole_split[r0:] if r0 else whole_split
        if self.kind == "matrix":
            assert self.matrix is not None
            return _float64(self.matrix[c:c + w, r0:].t())
        if self.kind == "columns":
            assert isinstance(self.out, Columns)
            return _float64(_columns_panel(self.out, self.tall, c, w, r0))
        out = as_tensor(self.out).detach()
        if len(self.lead) == 1:
            return _float64(out[r0:, c:c + w])
        whole = out[..., c:c + w].to(torch.float64).reshape(self.big, w)
        return whole[r0:] if r0 else whole

    def write(self, k: int, values: torch.Tensor) -> None:
        """Store panel ``k``'s float32 ``hi`` (``(big, w)``): in the target if it can hold it
        (its own panel, if any, is freed), else in its own panel."""
        if self.split is not None:
            w, c = self.widths[k], self.starts[k]
            self.split.columns(c, c + w).store(values.reshape(*self.split.shape[:-1], w))
            return
        if self.kind is None:
            own = self.own[k]
            assert own is not None
            own.copy_(values)
            return
        self.own[k] = None
        self._to_target(k, values)

    def finish(self, k: int, c: int, q: torch.Tensor) -> None:
        """Write ``Q``'s columns ``c .. c + w`` (float32 ``(big, w)``) into the target."""
        self.own[k] = None
        self._to_target(k, q)

    def _to_target(self, k: int, values: torch.Tensor) -> None:
        w, c = self.widths[k], self.starts[k]
        if self.kind == "tensor":
            as_tensor(self.out).detach()[..., c:c + w].copy_(values.reshape(*self.lead, w))
        elif self.kind == "matrix":
            assert self.matrix is not None
            self.matrix[c:c + w].copy_(values.t())
        else:
            _emit(self.out, self.rows, self.cols, c, values)


def _columns_panel(out: Columns, tall: bool, c: int, w: int, r0: int) -> torch.Tensor:
    """Rows ``r0 ..`` of ``a``'s panel ``c .. c + w`` from 2-D Columns (float32, a view or a
    ``(big - r0, w)`` copy): the Keras matrix's columns ``c .. c + w`` (tall) or its rows
    ``c .. c + w`` transposed (wide)."""
    pieces, lo = [], 0
    for part in out.parts:
        hi = lo + int(part.shape[-1])
        if tall:
            a, b = max(lo, c), min(hi, c + w)
            if a < b:
                pieces.append(part[r0:, a - lo:b - lo])
        elif hi > r0:
            pieces.append(part[c:c + w, max(r0 - lo, 0):])
        lo = hi
    block = pieces[0] if len(pieces) == 1 else torch.cat(pieces, 1)
    return block if tall else block.t()


def _float64(src: torch.Tensor) -> torch.Tensor:
    """A float64 copy of the 2-D ``src``, in its own orientation (row- or column-major):
    a converting copy that also transposes is about ten times slower."""
    if src.stride(1) == 1 or src.shape[1] == 1:
        return src.to(torch.float64)
    return src.t().to(torch.float64).t()


def _emit(out: Target, rows: int, cols: int, c: int, q: torch.Tensor) -> None:
    """Write ``Q``'s columns ``c .. c + w`` (``q``: ``(big, w)``) into the Keras view."""
    w = q.shape[1]
    if rows < cols:               # the kernel is Q^T: Q's columns are its rows c .. c + w
        write_flat(out, c * cols, q.t().reshape(-1))
        return
    parts = out.parts if isinstance(out, Columns) else (as_tensor(out),)
    lo = 0
    for part in parts:
        hi = lo + int(part.shape[-1])
        a, b = max(lo, c), min(hi, c + w)
        if a < b:
            block = q[:, a - c:b - c].reshape(*part.shape[:-1], b - a)
            part.detach()[..., a - lo:b - lo].copy_(block)
        lo = hi
