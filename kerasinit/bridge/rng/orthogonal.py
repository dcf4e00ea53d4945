"""Keras's ``Orthogonal`` for the seed-faithful streams, factored in place or in panels.

Keras draws a ``(max(rows, cols), min(rows, cols))`` standard normal ``a``, takes ``q, r =
qr(a)``, multiplies ``q`` by ``sign(diag r)``, transposes it if the kernel is wide, reshapes
it to the kernel and multiplies by ``gain``. Here the normal stream is written straight into
a column-major matrix (what LAPACK factors without a copy): the target itself where its
Keras view is a float32 column-major ``a`` (an ``nn.Linear`` weight seen as a tall kernel),
else one buffer; ``Q`` is then written into the target's Keras view in row slabs. Three ways
to factor, one per stream:

* ``"float64"`` (``rng="tensorflow"``, and ``rng="jax"`` without SciPy): the float32 normals
  QR-factored in float64 with torch's ``geqrf``/``householder_product`` on one thread, ``Q``
  rounded once to float32 (TF's float32 Eigen QR agrees to about 1e-6 relative);
  ``sign(0) = 1``. From :data:`BLOCKED_MIN` elements on, a left-looking blocked QR instead
  (:func:`_blocked`): the float64 reflectors are kept as float32 halves, ``hi`` in the
  target, so the extra memory is about the float32 kernel's lower trapezoid, not twice the
  kernel; ``Q`` agrees with the one-buffer path to the last float32 bit but for a few
  elements. A float16/bfloat16 target keeps ``a`` and then the float32 reflectors split
  over itself (upper 16 bits) and one int16 tensor (lower 16 bits), with no ``lo`` halves,
  and its panels are factored in float32: 1x the target instead of the 2x of any float32
  copy (see :mod:`kerasinit.bridge.rng.panels`); float32's ~1e-6 error is far below
  half-precision rounding (~1e-3); a wide GRU kernel's ``a`` is its gate blocks' rows, split
  the same way. A half-precision target that cannot be split (a tall GRU kernel, wide views
  that do not fold) is factored in one float32 matrix (2x it).
* ``"float32"`` (``rng="keras-torch"``): the same torch calls in float32, which are the
  calls ``torch.linalg.qr`` makes (bit-identical, checked); ``sign(0) = 0`` as Keras's
  ``ops.sign``.
* ``"scipy"`` (``rng="jax"``): SciPy's float32 LAPACK ``geqrf``/``orgqr`` with the workspace
  sizes ``scipy.linalg.qr(mode="economic")`` queries: the calls jaxlib makes.
* ``"torch"`` (``rng="torch"``): as ``"float32"`` but ``sign(0) = 1`` and, for a float64
  target, everything in float64 (the normals, the QR and the gain): the torch stream's
  Orthogonal is Keras's algorithm on torch's own normals, in the target's precision. A
  float16/bfloat16 target from :data:`BLOCKED_MIN` elements on takes the blocked QR split
  over itself, as ``"float64"`` does (the same normals and generator advance; values within
  one half-precision step of the one-buffer float32 QR's, about 0.5 % of them off by one).

Example:
    >>> import torch
    >>> draw = lambda a: a.copy_(torch.randn(a.shape, generator=torch.Generator().manual_seed(0)))
    >>> q = orthogonal((4, 3), 1.0, draw, mode="float32")
    >>> bool(torch.allclose(q.T @ q, torch.eye(3), atol=1e-5))
    True
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import torch

from kerasinit.bridge.rng.panels import Panels, splittable
from kerasinit.bridge.rng.sink import Target, as_tensor, write_flat

__all__ = ["BLOCKED_MIN", "Mode", "orthogonal"]

Mode = Literal["float64", "float32", "scipy", "torch"]
#: Values per row slab when writing ``Q`` out (bounded temporaries).
SLAB = 1 << 16
#: ``"float64"`` on CPU: matrices of at least this many elements (256 KiB of float32) use the
#: blocked QR. The one-buffer float64 QR needs 2-3.5x the kernel in extra memory; blocked,
#: 0.5-1.3x, at about three times the time of the one-buffer QR below 2^18 elements (17 ms
#: instead of 4 ms for 256 x 256) and the same above.
BLOCKED_MIN = 1 << 16
#: Columns per panel of the blocked QR (at most; see :func:`_width`).
PANEL = 128
_LOCK = threading.Lock()


def orthogonal(
    shape: Sequence[int], gain: float, draw: Callable[[Target], object], *,
    mode: Mode, out: Target | None = None, device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Keras's Orthogonal for ``shape`` from the normal matrix that ``draw`` writes.

    Args:
        shape: the Keras kernel shape (rank >= 2).
        gain: the multiplier, applied in float32 after ``Q`` is rounded to float32 (in
            float64 for a float64 target in mode ``"torch"``).
        draw: writes the ``(max, min)`` standard normal stream (Keras's row-major order)
            into the matrix it is given (a tensor of any strides and dtype, or
            :class:`~kerasinit.bridge.rng.sink.Columns`: float32 values, cast).
        mode: ``"float64"``, ``"float32"``, ``"scipy"`` or ``"torch"`` (see the module
            docstring).
        out: the Keras-layout tensor to write (any strides, dtype, device); None: a new
            float32 tensor.
        device: where the QR runs (``"scipy"``: CPU only).
    """
    shape = tuple(int(d) for d in shape)
    rows, cols = math.prod(shape[:-1]), shape[-1]
    big, small = max(rows, cols), min(rows, cols)
    device = torch.device(device) if mode != "scipy" else torch.device("cpu")
    if out is None:
        out = torch.empty(shape, dtype=torch.float32, device=device)
    # Q is rounded to `value` before the gain; a float64 target keeps float64 on the torch stream
    value = torch.float64 if mode == "torch" and out.dtype == torch.float64 else torch.float32
    gain_v = gain if value == torch.float64 else float(torch.tensor(gain, dtype=torch.float32))
    on_cpu = device.type == "cpu" and out.device.type == "cpu"
    large = on_cpu and big * small >= BLOCKED_MIN
    half = out.dtype in (torch.float16, torch.bfloat16)
    if large and mode in ("float64", "torch") and splittable(out, rows, cols):
        _blocked(shape, gain_v, draw, out)        # a half-precision target split over itself
        return as_tensor(out)
    if large and mode == "float64" and not half:
        _blocked(shape, gain_v, draw, out)
        return as_tensor(out)
    held = _held(out, rows, cols, value) if mode != "float64" and on_cpu else None
    if held is not None and held.stride(0) == 1 and (small == 1 or held.stride(1) == big):
        a = held                                  # the target is column-major a: factor it
    else:
        held = None
        # large half-precision targets the blocked QR cannot split (a tall GRU kernel, wide
        # views that do not fold): one float32 matrix (2x them), not float64 (4x)
        work = torch.float64 if mode == "float64" and not (large and half) else value
        a = torch.empty(small, big, dtype=work, device=device).t()   # (big, small)
    draw(a)
    if mode == "scipy":
        q, signs = _scipy_q(a)
    else:
        q, signs = _torch_q(a, zero_sign=0.0 if mode == "float32" else 1.0)
    q.mul_(signs)
    if held is not None:
        q.mul_(gain_v)                            # `value` already: the bits of the slabs
        return as_tensor(out)
    result = q if rows >= cols else q.t()         # (rows, cols)
    step = max(1, SLAB // max(cols, 1))
    for r in range(0, rows, step):
        slab = result[r:r + step].to(value, copy=True)
        slab.mul_(gain_v)
        write_flat(out, r * cols, slab.reshape(-1))
    return as_tensor(out)


def _held(out: Target, rows: int, cols: int, dtype: torch.dtype) -> torch.Tensor | None:
    """``a`` as a view of ``out`` (``dtype`` CPU tensors whose Keras view folds to 2-D), or None."""
    if not isinstance(out, torch.Tensor) or out.dtype != dtype:
        return None
    try:
        m = out.detach().view(rows, cols)
    except RuntimeError:
        return None
    return m if rows >= cols else m.t()


@contextmanager
def _one_thread() -> Iterator[None]:
    """One LAPACK thread under a lock: the bits do not depend on the thread count."""
    with _LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def _torch_q(a: torch.Tensor, zero_sign: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``Q`` over ``a`` (column-major) and ``sign(diag R)`` via torch's LAPACK calls."""
    if a.device.type != "cpu":
        q, r = torch.linalg.qr(a)
        return q, _signs(torch.diagonal(r), zero_sign)
    tau = torch.empty(min(a.shape), dtype=a.dtype)
    with _one_thread():
        torch.geqrf(a, out=(a, tau))
        signs = _signs(torch.diagonal(a), zero_sign)
        q = torch.linalg.householder_product(a, tau, out=a)   # orgqr, in place
    return q, signs


def _signs(d: torch.Tensor, zero_sign: float) -> torch.Tensor:
    if zero_sign == 0.0:
        return torch.sign(d)
    return torch.where(d < 0, -1.0, 1.0).to(d.dtype)


def _blocked(shape: tuple[int, ...], gain32: float, draw: Callable[[Target], object],
             out: Target) -> None:
    """The ``"float64"`` QR, left-looking in column panels of :func:`_width` columns.

    Panel ``k`` of ``a`` is converted to float64, the block reflectors ``I - V_j T_j V_j^T``
    of panels ``0 .. k-1`` (compact WY form, ``T_j`` kept) are applied to it, transposed, and
    its trailing rows are factored (``geqrf``). Its float64 reflectors ``V_k`` are kept as two
    float32 halves (``hi = float32(v)``, ``lo = float32(v - hi)``: 48 bits, far below float32
    rounding), ``hi`` where panel ``k`` of ``a`` was, ``lo`` aside. ``Q``'s panel ``k`` is
    ``H_0 .. H_k`` applied to the identity's columns; formed last panel first, it overwrites
    ``hi`` of panel ``k``, which no earlier ``Q`` panel needs. Over a half-precision target
    everything runs in float32 instead, the reflectors are the float32 ``hi`` alone, kept
    split (see :class:`~kerasinit.bridge.rng.panels.Panels`), and panels are half as wide.
    """
    rows, cols = math.prod(shape[:-1]), shape[-1]
    big, small = max(rows, cols), min(rows, cols)
    panels_half = splittable(out, rows, cols)
    work = torch.float32 if panels_half else torch.float64   # float32 ample for a half Q
    width = _width(small, 32 if panels_half else 16)
    starts = list(range(0, small, width))
    widths = [min(width, small - c) for c in starts]
    panels = Panels(out, rows, cols, widths, draw, split=panels_half)
    los: list[torch.Tensor | None] = []
    ts: list[torch.Tensor] = []
    signs: list[torch.Tensor] = []

    def reflectors(j: int) -> torch.Tensor:
        """``V_j`` in float64 (unit lower trapezoidal, rows ``starts[j]..``)."""
        c, w = starts[j], widths[j]
        v = panels.read(j, c)
        if panels.split is None:   # float32 targets: 48-bit reflectors
            lo = los[j]
            assert lo is not None
            v.add_(lo)
        v[:w].tril_(-1)
        v[:w].diagonal().fill_(1.0)
        return v

    def apply(j: int, x: torch.Tensor, transpose: bool) -> None:
        """``x`` (rows ``starts[j]..`` of a float64 matrix) := ``(I - V T^(T) V^T) x``."""
        v = reflectors(j)
        z = (ts[j].t() if transpose else ts[j]) @ (v.t() @ x)
        x.addmm_(v, z, alpha=-1.0)

    with _one_thread():
        for k, c in enumerate(starts):
            p = panels.read(k, 0)
            for j in range(k):
                apply(j, p[starts[j]:], transpose=True)
            v, tau = torch.geqrf(p[c:])
            signs.append(_signs(torch.diagonal(v), 1.0))
            v[:widths[k]].tril_(-1)                # R is not needed: V, unit lower
            v[:widths[k]].diagonal().fill_(1.0)
            p[c:] = v
            del v
            ts.append(_triangular_factor(p[c:], tau))
            panels.write(k, p.to(torch.float32))
            if panels.split is None:
                lo = panels.read(k, c)             # hi in float64, in the layout reads give
                los.append(lo.sub_(p[c:]).neg_().to(torch.float32))
                del lo
            else:            # float32 reflectors: far below a half-precision Q's rounding
                los.append(None)
            del p
        for k in reversed(range(len(starts))):
            c, w = starts[k], widths[k]
            e = torch.zeros(big, w, dtype=work)   # row-major: see _blocked
            e[c:c + w].diagonal().fill_(1.0)
            for j in range(k, -1, -1):
                apply(j, e[starts[j]:], transpose=False)
            los[k] = None
            e.mul_(signs[k])
            q = e.to(torch.float32)
            del e
            q.mul_(gain32)
            panels.finish(k, c, q)


def _width(small: int, share: int = 16) -> int:
    """Panel width: :data:`PANEL`, halved (down to 32, or :data:`PANEL` if smaller) while
    ``w * share > small``: with ``share=16`` a float64 panel stays within 1/8 of the float32
    ``a`` (32 for a half-precision target: a float32 panel within 1/8 of the target, for
    0.2x less memory than 16 at 1.3x the time); narrower panels cost speed (16 columns
    run at half the speed of 32 (2048 x 512 and 2048 x 2048 alike), 128 a third faster than
    64)."""
    w = PANEL
    while w > 32 and w * share > small:
        w //= 2
    return w


def _triangular_factor(v: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """LAPACK's ``larft`` (forward, columnwise): ``H_0 .. H_{w-1} = I - V T V^T``."""
    w = v.shape[1]
    vtv = v.t() @ v
    t = torch.zeros(w, w, dtype=v.dtype)
    for i in range(w):
        t[i, i] = tau[i]
        if i:
            t[:i, i] = (t[:i, :i] @ vtv[:i, i]).mul_(-tau[i])
    return t


def _scipy_q(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SciPy's ``geqrf``/``orgqr`` in place on the Fortran-ordered float32 ``a``, with the
    workspace queries of ``scipy.linalg.qr(a, mode="economic")`` (same blocking, same bits)."""
    import numpy as np
    from scipy.linalg.lapack import get_lapack_funcs

    arr = a.numpy()
    (geqrf,) = get_lapack_funcs(("geqrf",), (arr,))
    lwork = int(geqrf(arr, lwork=-1, overwrite_a=1)[-2][0].real)
    qr, tau, _, info = geqrf(arr, lwork=lwork, overwrite_a=1)
    if info < 0 or not np.shares_memory(qr, arr):  # pragma: no cover - LAPACK contract
        raise RuntimeError(f"geqrf failed in place (info={info})")
    signs = torch.from_numpy(qr.diagonal().copy()).sign()
    (orgqr,) = get_lapack_funcs(("orgqr",), (qr,))
    lwork = int(orgqr(qr, tau, lwork=-1, overwrite_a=1)[-2][0].real)
    q, _, info = orgqr(qr, tau, lwork=lwork, overwrite_a=1)
    if info < 0 or not np.shares_memory(q, arr):  # pragma: no cover - LAPACK contract
        raise RuntimeError(f"orgqr failed in place (info={info})")
    return a, signs
