"""In-place samplers: a resolved distribution -> values written into a torch tensor.

iid families (uniform, normal, truncated normal) are sampled straight into the tensor with
one fused-in-place pass each, whatever the layout (an iid fill does not care about axis
order). Structured ones (Orthogonal, Identity, arrays, STFT) are built in Keras layout and
written back through the layout's element correspondence.

Truncated normal: inverse CDF, exact in distribution and about 1.2x the cost of ``normal_``
(``torch.nn.init.trunc_normal_`` rejects and redraws: about 12x)::

    u ~ U[erf(a/√2), erf(b/√2)),   x = mean + std·√2·erfinv(u),   then clamp to [low, high]

with a, b the standardized bounds. The standard variate is computed first and scaled after,
so tiny stddevs lose no precision. The clamp only absorbs the last-ulp rounding of the
bound itself.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import torch

from kerasinit.bridge.layouts import Layout
from kerasinit.bridge.stft import stft_kernel
from kerasinit.mappings.distributions import (
    STFT,
    Constant,
    Distribution,
    Identity,
    Normal,
    Orthogonal,
    TruncatedNormal,
    Uniform,
)
from kerasinit.mappings.resolve import Resolved

#: How one tensor is filled: ``(rows or None for all, layout, resolved block)`` per block.
Plan = tuple[tuple[slice | None, Layout, Resolved], ...]

__all__ = ["Plan", "fill_", "keras_layout_values", "orthogonal_from_normal", "scalar_tensor"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)
#: float32 values per chunk of a float16/bfloat16 truncated normal (1 MiB of extra memory).
LOW_PRECISION_CHUNK = 1 << 18


def fill_(
    tensor: torch.Tensor,
    dist: Distribution,
    layout: Layout,
    keras_shape: tuple[int, ...],
    generator: torch.Generator | None,
) -> None:
    """Write a sample of ``dist`` into ``tensor`` (already validated; under no_grad)."""
    _SAMPLERS[type(dist)][0](tensor, dist, layout, keras_shape, generator)


def _uniform_(tensor: torch.Tensor, dist: Uniform, _layout: Layout, _shape: tuple[int, ...],
              generator: torch.Generator | None) -> None:
    lo, hi = dist.support
    if _fits(tensor.dtype, lo, hi, hi - lo):
        tensor.uniform_(lo, hi, generator=generator)
    else:  # Keras's arithmetic, low + (high - low) * u, overflowing to inf/NaN as Keras's
        tensor.uniform_(0.0, 1.0, generator=generator).mul_(hi - lo).add_(lo)


def _normal_(tensor: torch.Tensor, dist: Normal, _layout: Layout, _shape: tuple[int, ...],
             generator: torch.Generator | None) -> None:
    if _fits(tensor.dtype, dist.mean, dist.std):
        tensor.normal_(dist.mean, abs(dist.std), generator=generator)
    else:  # mean + std * z, as Keras computes it (inf/NaN parameters give inf/NaN)
        tensor.normal_(0.0, 1.0, generator=generator).mul_(dist.std).add_(dist.mean)


def _truncated_(tensor: torch.Tensor, dist: TruncatedNormal, _layout: Layout,
                _shape: tuple[int, ...], generator: torch.Generator | None) -> None:
    _truncated_normal_(tensor, dist, generator)


def _constant_(tensor: torch.Tensor, dist: Constant, layout: Layout,
               keras_shape: tuple[int, ...], generator: torch.Generator | None) -> None:
    if dist.is_scalar:
        tensor.fill_(scalar_tensor(float(dist.value), tensor.dtype))  # type: ignore[arg-type]
    else:
        _structured_(tensor, dist, layout, keras_shape, generator)


def _identity_(tensor: torch.Tensor, dist: Identity, layout: Layout,
               keras_shape: tuple[int, ...], generator: torch.Generator | None) -> None:
    diagonal = _diagonal_view(tensor, layout) if math.isfinite(dist.gain) else None
    if diagonal is None:  # a NaN or infinite gain: Keras's gain * eye also spoils the zeros
        _structured_(tensor, dist, layout, keras_shape, generator)
        return
    # in place: zeros, then gain on Keras's diagonal seen through the layout
    tensor.zero_()
    diagonal.fill_(scalar_tensor(dist.gain, tensor.dtype))


def _structured_(tensor: torch.Tensor, dist: Distribution, layout: Layout,
                 keras_shape: tuple[int, ...], generator: torch.Generator | None) -> None:
    """Built in Keras layout, then written back through the layout."""
    values = keras_layout_values(dist, keras_shape, tensor.dtype, tensor.device, generator)
    tensor.copy_(layout.to_torch(values, tuple(tensor.shape)))


def _diagonal_view(tensor: torch.Tensor, layout: Layout) -> torch.Tensor | None:
    """The diagonal of the 2-D Keras kernel as a view of ``tensor``, or None if the layout
    maps elements by copying (then Identity is built in Keras layout and copied)."""
    view = layout.to_keras(tensor)
    if view.dim() != 2 or not (view is tensor or (view._base is not None and (
            view.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()))):
        return None
    return view.diagonal()


def _fits(dtype: torch.dtype, *values: float) -> bool:
    """Whether every value is finite and within ``dtype``'s range (torch's samplers need it)."""
    top = torch.finfo(dtype).max
    return all(math.isfinite(v) and abs(v) <= top for v in values)


def scalar_tensor(value: float, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a 0-d tensor that ``fill_``/``copy_`` cast to ``dtype`` as Keras's cast
    does: floats overflow to infinity, integers are truncated toward zero and wrap to the
    dtype's width, bools are ``value != 0`` (the caller has refused non-finite integers)."""
    if dtype.is_floating_point or dtype.is_complex:
        return torch.tensor(value, dtype=torch.float64)
    if dtype == torch.bool:
        return torch.tensor(value != 0.0)
    return torch.tensor(math.trunc(value), dtype=torch.int64)


def _truncated_normal_(
    tensor: torch.Tensor, dist: TruncatedNormal, generator: torch.Generator | None
) -> None:
    std = abs(dist.std)
    if std == 0.0:
        tensor.fill_(scalar_tensor(dist.mean, tensor.dtype))
        return
    a = (dist.low - dist.mean) / std
    b = (dist.high - dist.mean) / std
    if not (_fits(tensor.dtype, dist.mean, dist.low, dist.high, std) and a < b):
        # NaN/inf parameters, bounds beyond the dtype, or a std below the mean's resolution
        # (the cut collapses): Keras's own arithmetic, mean + std * z with z ~ TN(0, 1, ±2).
        _truncated_normal_(tensor, TruncatedNormal(0.0, 1.0, -2.0, 2.0), generator)
        tensor.mul_(dist.std).add_(dist.mean)
        return
    lo, hi = math.erf(a / math.sqrt(2.0)), math.erf(b / math.sqrt(2.0))
    if tensor.dtype not in _LOW_PRECISION:
        _tn_pass(tensor, lo, hi, std, dist, generator)
        return
    # float16/bfloat16: computed in float32, in chunks of a fixed size (deterministic for a
    # seed, and at most LOW_PRECISION_CHUNK float32 values of extra memory)
    flat = tensor.view(-1) if tensor.is_contiguous() else None
    if flat is None or flat.numel() <= LOW_PRECISION_CHUNK:
        work = torch.empty(tensor.shape, dtype=torch.float32, device=tensor.device)
        _tn_pass(work, lo, hi, std, dist, generator)
        tensor.copy_(work)
        return
    work = torch.empty(LOW_PRECISION_CHUNK, dtype=torch.float32, device=tensor.device)
    for start in range(0, flat.numel(), LOW_PRECISION_CHUNK):
        part = flat[start:start + LOW_PRECISION_CHUNK]
        w = work[: part.numel()]
        _tn_pass(w, lo, hi, std, dist, generator)
        part.copy_(w)


def _tn_pass(work: torch.Tensor, lo: float, hi: float, std: float, dist: TruncatedNormal,
             generator: torch.Generator | None) -> None:
    """Inverse-CDF truncated normal in place: u ~ U[lo, hi), mean + std·√2·erfinv(u), clamp."""
    work.uniform_(lo, hi, generator=generator)
    work.erfinv_()
    work.mul_(math.sqrt(2.0) * std)
    if dist.mean != 0.0:
        work.add_(dist.mean)
    work.clamp_(dist.low, dist.high)


def keras_layout_values(
    dist: Distribution,
    keras_shape: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """The structured distributions, built in Keras layout as a new tensor."""
    build = _SAMPLERS[type(dist)][1]
    if build is None:  # pragma: no cover
        raise TypeError(f"no structured sampler for {dist!r}")
    return build(dist, keras_shape, dtype, device, generator)


def _orthogonal_values(dist: Orthogonal, keras_shape: tuple[int, ...], dtype: torch.dtype,
                       device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    return _orthogonal(keras_shape, dist.gain, dtype, device, generator)


def _identity_values(dist: Identity, keras_shape: tuple[int, ...], dtype: torch.dtype,
                     device: torch.device, _generator: torch.Generator | None) -> torch.Tensor:
    rows, cols = keras_shape
    eye = torch.eye(rows, cols, dtype=torch.float64, device=device) * dist.gain
    return eye.to(dtype)


def _constant_values(dist: Constant, keras_shape: tuple[int, ...], dtype: torch.dtype,
                     device: torch.device, _generator: torch.Generator | None) -> torch.Tensor:
    import numpy as np

    value = np.asarray(dist.value, dtype=np.float64)
    if dist.array_rule == "reshape" and value.size != 1:
        value = value.reshape(keras_shape)
    else:
        value = np.broadcast_to(value, keras_shape)
    if dtype == torch.bool:
        value = value != 0.0
    elif not (dtype.is_floating_point or dtype.is_complex):  # Keras's cast: trunc, wrap
        value = np.trunc(value).astype(np.int64)
    return torch.from_numpy(np.array(value, order="C")).to(device=device, dtype=dtype)


def _stft_values(dist: STFT, keras_shape: tuple[int, ...], dtype: torch.dtype,
                 device: torch.device, _generator: torch.Generator | None) -> torch.Tensor:
    kernel = stft_kernel(dist, keras_shape[0], keras_shape[2])
    return torch.from_numpy(kernel).to(device=device, dtype=dtype)


_QR_LOCK = threading.Lock()


def _qr(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.qr``, bit-identical whatever ``torch.get_num_threads()`` is.

    LAPACK's blocked Householder QR rounds differently with 1 and 2 threads (~1e-6 in float32),
    so on CPU the factorization runs single-threaded; the thread count is restored afterwards.
    """
    if a.device.type != "cpu":
        q, r = torch.linalg.qr(a)
        return q, r
    with _QR_LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            q, r = torch.linalg.qr(a)
        finally:
            torch.set_num_threads(threads)
    return q, r


def orthogonal_from_normal(
    a: torch.Tensor, keras_shape: tuple[int, ...], gain: float, *,
    qr_dtype: torch.dtype | None = None, work_dtype: torch.dtype | None = None,
    zero_sign: float = 1.0, overwrite: bool = False,
) -> torch.Tensor:
    """Keras's Orthogonal on a given ``(max(rows, cols), min(rows, cols))`` normal matrix ``a``.

    The one Orthogonal tail every stream uses: QR in ``qr_dtype`` on one LAPACK thread on CPU
    (so the bits do not depend on the thread count), ``Q * sign(diag R)`` (a zero diagonal
    entry gets ``zero_sign``), transposed if the kernel is wide, rounded to ``work_dtype``,
    reshaped to ``keras_shape`` and multiplied by ``gain`` in ``work_dtype``. Both dtypes
    default to ``a``'s. ``overwrite=True`` lets the QR work in ``a`` itself (best when ``a``
    is column-major).

    Example:
        >>> a = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
        >>> q = orthogonal_from_normal(a, (4, 3), 1.0)
        >>> bool(torch.allclose(q.T @ q, torch.eye(3), atol=1e-5))
        True
    """
    qr_dtype = a.dtype if qr_dtype is None else qr_dtype
    work_dtype = a.dtype if work_dtype is None else work_dtype
    work = a.to(qr_dtype)
    if zero_sign == 1.0:
        if (work.data_ptr() == a.data_ptr() and not overwrite) or work.stride(0) != 1:
            work = work.t().contiguous().t()  # a column-major copy, factored in place
        q, signs = _q_and_signs(work)
    else:
        q, r = _qr(work)
        d = torch.diagonal(r)
        signs = torch.where(d < 0, -1.0, torch.where(d > 0, 1.0, zero_sign)).to(qr_dtype)
    q.mul_(signs)  # q is the QR's own output: in place
    if work_dtype != qr_dtype:
        q = q.to(work_dtype)
    if gain != 1.0:
        q.mul_(gain)
    if math.prod(keras_shape[:-1]) < keras_shape[-1]:
        q = q.t()
    out: torch.Tensor = q.reshape(keras_shape)
    return out


def _orthogonal(
    keras_shape: tuple[int, ...],
    gain: float,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Keras's algorithm: QR of a (max, min) standard normal, sign fix, transpose if wide.

    Memory: the normal matrix is drawn in column-major order, so on CPU LAPACK factors it in
    place (``geqrf``) and forms ``Q`` in place over it (``householder_product``, i.e.
    ``orgqr``: what ``torch.linalg.qr`` runs); the sign fix and the gain are applied in place.
    Peak: one matrix of the work dtype plus LAPACK's workspace (measured 1.2x the float32
    kernel for 2048x2048, against 4.3x with ``torch.linalg.qr`` on a row-major matrix).
    """
    rows = math.prod(keras_shape[:-1])
    cols = keras_shape[-1]
    work = torch.float64 if dtype == torch.float64 else torch.float32
    # column-major (what LAPACK factors in place): torch then copies nothing
    a = torch.empty(min(rows, cols), max(rows, cols), dtype=work, device=device).t()
    a.normal_(0.0, 1.0, generator=generator)
    return orthogonal_from_normal(a, keras_shape, gain, overwrite=True).to(dtype)


def _q_and_signs(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``Q`` of ``a``'s QR and ``sign(diag R)`` (+1 for 0); on CPU ``Q`` overwrites ``a``
    (single-threaded, like :func:`_qr`, so the bits do not depend on the thread count)."""
    if a.device.type != "cpu":
        q, r = torch.linalg.qr(a)
        return q, torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(a.dtype)
    tau = torch.empty(min(a.shape), dtype=a.dtype)
    with _QR_LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.geqrf(a, out=(a, tau))
            signs = torch.where(torch.diagonal(a) < 0, -1.0, 1.0).to(a.dtype)
            q = torch.linalg.householder_product(a, tau, out=a)  # LAPACK orgqr, in place
        finally:
            torch.set_num_threads(threads)
    return q, signs


#: the one dispatch over distributions on the torch stream: distribution class -> (its
#: in-place fill, its Keras-layout builder or None for the iid families)
_SAMPLERS: dict[type, tuple[Callable[..., None], Callable[..., torch.Tensor] | None]] = {
    Uniform: (_uniform_, None),
    Normal: (_normal_, None),
    TruncatedNormal: (_truncated_, None),
    Constant: (_constant_, _constant_values),
    Identity: (_identity_, _identity_values),
    Orthogonal: (_structured_, _orthogonal_values),
    STFT: (_structured_, _stft_values),
}
