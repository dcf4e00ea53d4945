"""Keras's ``Orthogonal`` for the seed-faithful streams, factored in place in one buffer.

Keras draws a ``(max(rows, cols), min(rows, cols))`` standard normal ``a``, takes ``q, r =
qr(a)``, multiplies ``q`` by ``sign(diag r)``, transposes it if the kernel is wide, reshapes
it to the kernel and multiplies by ``gain``. Here the normal stream is written straight into
a column-major buffer (what LAPACK factors without a copy), ``geqrf`` and ``orgqr`` overwrite
it with ``Q``, and ``Q`` is written into the target's Keras view in row slabs: the peak is
the buffer plus LAPACK's workspace. Three ways to factor, one per stream:

* ``"float64"`` (``rng="tensorflow"``, and ``rng="jax"`` without SciPy): the float32 normals
  in a float64 buffer, torch's ``geqrf``/``householder_product`` on one thread, ``Q`` rounded
  once to float32 (TF's float32 Eigen QR agrees to about 1e-6 relative); ``sign(0) = 1``.
* ``"float32"`` (``rng="keras-torch"``): the same torch calls in float32, which are the
  calls ``torch.linalg.qr`` makes (bit-identical, checked); ``sign(0) = 0`` as Keras's
  ``ops.sign``.
* ``"scipy"`` (``rng="jax"``): SciPy's float32 LAPACK ``geqrf``/``orgqr`` with the workspace
  sizes ``scipy.linalg.qr(mode="economic")`` queries: the calls jaxlib makes.

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
from collections.abc import Callable, Sequence
from typing import Literal

import torch

from kerasinit.bridge.rng.sink import Target, as_tensor, write_flat

__all__ = ["Mode", "orthogonal"]

Mode = Literal["float64", "float32", "scipy"]
#: Values per row slab when writing ``Q`` out (bounded temporaries).
SLAB = 1 << 16
_LOCK = threading.Lock()


def orthogonal(
    shape: Sequence[int], gain: float, draw: Callable[[torch.Tensor], object], *,
    mode: Mode, out: Target | None = None, device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Keras's Orthogonal for ``shape`` from the normal matrix that ``draw`` writes.

    Args:
        shape: the Keras kernel shape (rank >= 2).
        gain: the multiplier, applied in float32 after ``Q`` is rounded to float32.
        draw: writes the ``(max, min)`` standard normal stream (Keras's row-major order)
            into the column-major matrix it is given (any dtype: float32 values, cast).
        mode: ``"float64"``, ``"float32"`` or ``"scipy"`` (see the module docstring).
        out: the Keras-layout tensor to write (any strides, dtype, device); None: a new
            float32 tensor.
        device: where the QR runs (``"scipy"``: CPU only).
    """
    shape = tuple(int(d) for d in shape)
    rows, cols = math.prod(shape[:-1]), shape[-1]
    big, small = max(rows, cols), min(rows, cols)
    device = torch.device(device) if mode != "scipy" else torch.device("cpu")
    work = torch.float64 if mode == "float64" else torch.float32
    buf = torch.empty(small, big, dtype=work, device=device)
    a = buf.t()                                   # (big, small), column-major
    draw(a)
    if mode == "scipy":
        q, signs = _scipy_q(a)
    else:
        q, signs = _torch_q(a, zero_sign=1.0 if mode == "float64" else 0.0)
    q.mul_(signs)
    result = q if rows >= cols else q.t()         # (rows, cols)
    if out is None:
        out = torch.empty(shape, dtype=torch.float32, device=device)
    gain32 = float(torch.tensor(gain, dtype=torch.float32))
    step = max(1, SLAB // max(cols, 1))
    for r in range(0, rows, step):
        slab = result[r:r + step].to(torch.float32, copy=True)
        slab.mul_(gain32)
        write_flat(out, r * cols, slab.reshape(-1))
    return as_tensor(out)


def _torch_q(a: torch.Tensor, zero_sign: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``Q`` over ``a`` (column-major) and ``sign(diag R)`` via torch's LAPACK calls."""
    if a.device.type != "cpu":
        q, r = torch.linalg.qr(a)
        return q, _signs(torch.diagonal(r), zero_sign)
    tau = torch.empty(min(a.shape), dtype=a.dtype)
    with _LOCK:  # one LAPACK thread: the bits do not depend on the thread count
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.geqrf(a, out=(a, tau))
            signs = _signs(torch.diagonal(a), zero_sign)
            q = torch.linalg.householder_product(a, tau, out=a)   # orgqr, in place
        finally:
            torch.set_num_threads(threads)
    return q, signs


def _signs(d: torch.Tensor, zero_sign: float) -> torch.Tensor:
    if zero_sign == 0.0:
        return torch.sign(d)
    return torch.where(d < 0, -1.0, 1.0).to(d.dtype)


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
