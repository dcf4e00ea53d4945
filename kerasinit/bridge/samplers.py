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

__all__ = ["fill_", "keras_layout_values"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def fill_(
    tensor: torch.Tensor,
    dist: Distribution,
    layout: Layout,
    keras_shape: tuple[int, ...],
    generator: torch.Generator | None,
) -> None:
    """Write a sample of ``dist`` into ``tensor`` (already validated; under no_grad)."""
    if isinstance(dist, Uniform):
        lo, hi = dist.support
        tensor.uniform_(lo, hi, generator=generator)
    elif isinstance(dist, Normal):
        tensor.normal_(dist.mean, abs(dist.std), generator=generator)
    elif isinstance(dist, TruncatedNormal):
        _truncated_normal_(tensor, dist, generator)
    elif isinstance(dist, Constant) and dist.is_scalar:
        tensor.fill_(float(dist.value))  # type: ignore[arg-type]
    else:
        values = keras_layout_values(dist, keras_shape, tensor.dtype, tensor.device, generator)
        tensor.copy_(layout.to_torch(values, tuple(tensor.shape)))


def _truncated_normal_(
    tensor: torch.Tensor, dist: TruncatedNormal, generator: torch.Generator | None
) -> None:
    std = abs(dist.std)
    if std == 0.0:
        tensor.fill_(dist.mean)
        return
    a = (dist.low - dist.mean) / std
    b = (dist.high - dist.mean) / std
    lo, hi = math.erf(a / math.sqrt(2.0)), math.erf(b / math.sqrt(2.0))
    work = tensor if tensor.dtype not in _LOW_PRECISION else torch.empty(
        tensor.shape, dtype=torch.float32, device=tensor.device)
    work.uniform_(lo, hi, generator=generator)
    work.erfinv_()
    work.mul_(math.sqrt(2.0) * std)
    if dist.mean != 0.0:
        work.add_(dist.mean)
    work.clamp_(dist.low, dist.high)
    if work is not tensor:
        tensor.copy_(work)


def keras_layout_values(
    dist: Distribution,
    keras_shape: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """The structured distributions, built in Keras layout as a new tensor."""
    if isinstance(dist, Orthogonal):
        return _orthogonal(keras_shape, dist.gain, dtype, device, generator)
    if isinstance(dist, Identity):
        rows, cols = keras_shape
        eye = torch.eye(rows, cols, dtype=torch.float64, device=device) * dist.gain
        return eye.to(dtype)
    if isinstance(dist, Constant):
        import numpy as np

        value = np.asarray(dist.value, dtype=np.float64)
        if dist.array_rule == "reshape" and value.size != 1:
            value = value.reshape(keras_shape)
        else:
            value = np.broadcast_to(value, keras_shape)
        return torch.from_numpy(np.array(value, order="C")).to(device=device, dtype=dtype)
    if isinstance(dist, STFT):
        kernel = stft_kernel(dist, keras_shape[0], keras_shape[2])
        return torch.from_numpy(kernel).to(device=device, dtype=dtype)
    raise TypeError(f"no structured sampler for {dist!r}")  # pragma: no cover


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


def _orthogonal(
    keras_shape: tuple[int, ...],
    gain: float,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Keras's algorithm: QR of a (max, min) standard normal, sign fix, transpose if wide."""
    rows = math.prod(keras_shape[:-1])
    cols = keras_shape[-1]
    work = torch.float64 if dtype == torch.float64 else torch.float32
    a = torch.empty(max(rows, cols), min(rows, cols), dtype=work, device=device)
    a.normal_(0.0, 1.0, generator=generator)
    q, r = _qr(a)
    d = torch.diagonal(r)
    q = q * torch.where(d < 0, -1.0, 1.0).to(work)
    if rows < cols:
        q = q.t()
    out: torch.Tensor = (q.reshape(keras_shape) * gain).to(dtype)
    return out
