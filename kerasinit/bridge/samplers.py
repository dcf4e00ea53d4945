"""In-place samplers: a resolved distribution -> values written into a torch tensor.

iid families (uniform, normal, truncated normal) are sampled straight into the tensor with
one fused-in-place pass each, whatever the layout (an iid fill does not care about axis
order). Orthogonal is factored in the tensor's Keras view when the layout gives one (see
:func:`keras_target`; an ``nn.Linear`` weight is itself the column-major matrix LAPACK
factors), else in one matrix written back slab by slab. The other structured ones (Identity,
arrays, STFT) are built in Keras layout and written back through the layout's element
correspondence.

Truncated normal: inverse CDF, exact in distribution and about 1.2x the cost of ``normal_``
(``torch.nn.init.trunc_normal_`` rejects and redraws: about 12x)::

    u ~ U[erf(a/√2), erf(b/√2)),   x = mean + std·√2·erfinv(u),   then clamp to [low, high]

with a, b the standardized bounds. The standard variate is computed first and scaled after,
so tiny stddevs lose no precision. The clamp only absorbs the last-ulp rounding of the
bound itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from kerasinit.bridge.layouts import GRU, GRU_TO_KERAS, Layout
from kerasinit.bridge.rng.orthogonal import orthogonal
from kerasinit.bridge.rng.sink import Columns, Split, SplitRows, Target, aliases, write_flat
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

__all__ = ["Plan", "fill_", "keras_layout_values", "keras_target", "scalar_tensor"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)
#: float32 values per chunk of a float16/bfloat16 truncated normal (at most; 1 MiB).
LOW_PRECISION_CHUNK = 1 << 18
#: float32 values per chunk of Orthogonal's normals drawn into a half-precision parameter.
COLUMN_CHUNK = 1 << 16


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


def _orthogonal_(tensor: torch.Tensor, dist: Orthogonal, layout: Layout,
                 keras_shape: tuple[int, ...], generator: torch.Generator | None) -> None:
    """Factored in the Keras view of ``tensor`` (no Keras-layout copy), or built and copied."""
    view = keras_target(tensor, layout, keras_shape)
    if view is None:
        _structured_(tensor, dist, layout, keras_shape, generator)
        return
    orthogonal(keras_shape, dist.gain, _torch_normal(generator), mode="torch", out=view,
               device=tensor.device)


def keras_target(target: torch.Tensor, layout: Layout,
                 keras_shape: tuple[int, ...]) -> torch.Tensor | Columns | None:
    """``target``'s Keras-layout view, to be written in place, or None if the layout copies.

    The layout's ``to_keras`` when it is a view of ``target`` (any strides); for ``"gru"`` the
    three gate blocks side by side in Keras's order (z, r, h) as
    :class:`~kerasinit.bridge.rng.sink.Columns`.

    Example:
        >>> from kerasinit.bridge.layouts import parse_layout
        >>> w = torch.zeros(3, 4)                   # nn.Linear(4, 3).weight
        >>> keras_target(w, parse_layout("torch"), (4, 3)).shape
        torch.Size([4, 3])
    """
    if isinstance(layout, GRU):
        gates = target.chunk(3, 0)
        view: torch.Tensor | Columns = Columns(
            [gates[i] if target.dim() == 1 else gates[i].t() for i in GRU_TO_KERAS])
    else:
        view = layout.to_keras(target)
    if tuple(view.shape) == tuple(keras_shape) and (
            isinstance(view, Columns) or aliases(view, target)):
        return view
    return None


def _torch_normal(generator: torch.Generator | None) -> Callable[[Target], object]:
    """Writes torch's standard normal stream into the ``(big, small)`` matrix ``a`` that
    Orthogonal factors, in ``a``'s column-major memory order (what ``normal_`` of the
    column-major matrix draws).

    A :class:`~kerasinit.bridge.rng.sink.Split` or ``SplitRows`` ``a`` (over a half-precision
    parameter; leading axes as rows) is drawn a few columns at a time into column-major float32
    buffers of at least two columns: non-contiguous like the whole matrix, so torch runs the
    same per-element sampler and the values and the generator's advance are the same."""
    def draw(a: Target) -> object:
        if isinstance(a, torch.Tensor):
            return a.normal_(0.0, 1.0, generator=generator)
        assert isinstance(a, (Split, SplitRows))
        small = int(a.shape[-1])
        big = a.numel() // max(small, 1)
        step = max(2, COLUMN_CHUNK // max(big, 1))
        j = 0
        while j < small:
            w = min(step, small - j)
            if small - j - w == 1:
                w += 1                       # never a last single column (contiguous)
            buf = torch.empty(w, big).t()
            buf.normal_(0.0, 1.0, generator=generator)
            a.columns(j, j + w).store(buf.reshape(*a.shape[:-1], w))
            j += w
        return a
    return draw


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
    # float16/bfloat16: computed in float32 chunk by chunk in the tensor's row-major order (any
    # strides) and cast; torch's uniform_ draws one value per element whatever the chunking,
    # so the values do not depend on the chunk length, which scales with the tensor
    # (n/64 values, 2^12 to LOW_PRECISION_CHUNK: at most ~0.03x of it, 1 MiB)
    n = tensor.numel()
    chunk = min(LOW_PRECISION_CHUNK, max(1 << 12, n // 64))
    work = torch.empty(min(chunk, n), dtype=torch.float32, device=tensor.device)
    for start in range(0, n, chunk):
        w = work[: min(chunk, n - start)]
        _tn_pass(w, lo, hi, std, dist, generator)
        write_flat(tensor, start, w)


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
    out = torch.empty(keras_shape, dtype=dtype, device=device)
    return orthogonal(keras_shape, dist.gain, _torch_normal(generator), mode="torch", out=out,
                      device=device)


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


#: the one dispatch over distributions on the torch stream: distribution class -> (its
#: in-place fill, its Keras-layout builder or None for the iid families)
_SAMPLERS: dict[type, tuple[Callable[..., None], Callable[..., torch.Tensor] | None]] = {
    Uniform: (_uniform_, None),
    Normal: (_normal_, None),
    TruncatedNormal: (_truncated_, None),
    Constant: (_constant_, _constant_values),
    Identity: (_identity_, _identity_values),
    Orthogonal: (_orthogonal_, _orthogonal_values),
    STFT: (_structured_, _stft_values),
}
