"""Keras 3 on the torch backend (``KERAS_BACKEND=torch``), replayed call for call.

Keras's torch backend draws every seeded initializer from a fresh ``torch.Generator`` on
Keras's device, seeded with ``manual_seed((s + k) mod 2^32)`` where ``s`` is the int seed
reinterpreted as int32 (so seeds wrap modulo 2^32) and ``k`` the ``SeedGenerator`` draw number
(0 for an int seed); torch's global RNG is not touched. It then runs:

* uniform: ``(maxval - minval) * torch.rand(shape) + minval`` (Python-float scalars);
* normal: ``torch.normal(mean, stddev, size=shape)``;
* truncated normal: ``torch.normal(0, 1, size=shape + (4,))``, keep the first of the four with
  ``|x| < 2`` (draw 0 if none), then ``* stddev + mean``: not a true truncation;
* orthogonal: ``torch.linalg.qr`` of a ``(max, min)`` standard normal in float32, sign fix.

Replaying the same torch calls gives the same bits on the same torch build and device class
(``torch.normal`` on CPU also depends on the ATen CPU capability, AVX2 vs AVX-512).

Example:
    >>> t = sample(Uniform(-1.0, 1.0), (2, 3), 42, 0, torch.device("cpu"))
    >>> t.shape, t.dtype
    (torch.Size([2, 3]), torch.float32)
"""

from __future__ import annotations

import torch

from kerasinit.bridge.rng.orthogonal import orthogonal
from kerasinit.bridge.rng.sink import Target, as_tensor, write_flat
from kerasinit.mappings.distributions import Normal, Orthogonal, TruncatedNormal, Uniform

__all__ = ["CHUNK", "MIN_CHUNK", "generator", "sample", "torch_seed"]

#: Values per chunk when writing into ``out`` on CPU (at most; a multiple of 16, see
#: :func:`sample`). Each chunk's temporaries (about three float32 chunks; a truncated normal
#: draws four candidates per value) are the call's extra memory, so a tensor of ``n`` values
#: gets chunks of about ``n / 64`` (``n / 128`` for half precision; 0.05x of its size), at
#: least :data:`MIN_CHUNK`. Long chunks
#: matter for speed: into a transposed ``nn.Linear`` weight a chunk of a few Keras rows
#: writes a few bytes per cache line (2^13 values: 2.4x slower than 2^16 on 4096^2).
CHUNK = 1 << 16
MIN_CHUNK = 1 << 12


def torch_seed(seed: int, call_index: int = 0) -> int:
    """The ``manual_seed`` Keras's torch backend uses: ``(int32(seed) + k) mod 2^32``.

    Example:
        >>> torch_seed(42) == torch_seed(2**32 + 42), torch_seed(-1)
        (True, 4294967295)
    """
    s = ((seed & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000
    return (s + call_index) & 0xFFFFFFFF


def generator(seed: int, call_index: int, device: torch.device) -> torch.Generator:
    """A fresh generator seeded as Keras's ``torch_seed_generator`` does."""
    g = torch.Generator(device=device)
    g.manual_seed(torch_seed(seed, call_index))
    return g


def sample(
    dist: object, shape: tuple[int, ...], seed: int, call_index: int, device: torch.device,
    out: Target | None = None,
) -> torch.Tensor:
    """Keras 3 torch-backend values of ``dist`` on ``shape`` (float32).

    ``out``: a tensor of ``shape`` (any strides, floating dtype and device) to write the
    values into and return. On CPU the iid families are then drawn in chunks, which gives the
    same stream: torch's CPU generator is sequential, ``torch.rand`` draws one word per value,
    and ``torch.normal`` on a contiguous tensor of ``m >= 16`` values draws ``m`` uniforms,
    transforms them in blocks of 16 (Box-Muller on elements ``i`` and ``i + 8``) and, when
    ``m % 16 != 0``, redraws the last 16 from 16 more uniforms; so chunks that are multiples
    of 16 values, the last one at least 16, reproduce one whole call.
    """
    if out is not None and device.type == "cpu" and isinstance(
            dist, (Uniform, Normal, TruncatedNormal)):
        _sample_chunked(dist, seed, call_index, out)
        return as_tensor(out)
    if isinstance(dist, Orthogonal):
        # Keras: torch.linalg.qr of the float32 normal; the same LAPACK calls run in place
        return orthogonal(shape, dist.gain,
                          lambda a: sample(Normal(0.0, 1.0), tuple(a.shape), seed, call_index,
                                           device, a),
                          mode="float32", out=out, device=device)
    values = _sample(dist, shape, seed, call_index, device)
    if out is None:
        return values
    write_flat(out, 0, values.reshape(-1))
    return as_tensor(out)


def _bounds(n: int, chunk: int, tail: int) -> list[tuple[int, int]]:
    """``[0, n)`` in chunks of ``chunk``, the last one merged with its predecessor when it
    would be shorter than ``tail``."""
    bounds, a = [], 0
    while a < n:
        b = min(n, a + chunk)
        if n - b < tail:
            b = n
        bounds.append((a, b))
        a = b
    return bounds


def _sample_chunked(dist: object, seed: int, call_index: int, out: Target) -> None:
    g = generator(seed, call_index, torch.device("cpu"))
    n = out.numel()
    # about 1/16 of the tensor's bytes in float32 values (n/64 for float32, n/128 for half)
    size = torch.empty((), dtype=out.dtype).element_size()
    chunk = min(CHUNK, max(MIN_CHUNK, n * size // 256 // 16 * 16))
    f32 = torch.float32
    if isinstance(dist, Uniform):
        for a, b in _bounds(n, chunk, 1):
            r = torch.rand(size=(b - a,), generator=g, dtype=f32)
            write_flat(out, a, (dist.high - dist.low) * r + dist.low)
    elif isinstance(dist, Normal):
        for a, b in _bounds(n, chunk, 16):
            write_flat(out, a, torch.normal(dist.mean, dist.std, size=(b - a,), generator=g,
                                            dtype=f32))
    else:
        assert isinstance(dist, TruncatedNormal)
        for a, b in _bounds(n, chunk // 4, 4):  # four normals per value: 16 per 4 values
            x = torch.normal(0, 1, size=(b - a, 4), generator=g, dtype=f32)
            write_flat(out, a, _first_inside(x, dist))


def _first_inside(x: torch.Tensor, dist: TruncatedNormal) -> torch.Tensor:
    """Keras's torch truncated normal: per row of four, the first in (-2, 2) (else the first),
    then ``* stddev + mean`` in float32."""
    valid = (x > -2) & (x < 2)
    indexes = valid.max(-1, keepdim=True)[1]
    out = torch.empty(x.shape[:-1], dtype=torch.float32, device=x.device)
    out.copy_(x.gather(-1, indexes).squeeze(-1))
    out.mul_(dist.std).add_(dist.mean)
    return out


def _sample(
    dist: object, shape: tuple[int, ...], seed: int, call_index: int, device: torch.device
) -> torch.Tensor:
    f32 = torch.float32
    if isinstance(dist, Uniform):
        size = shape if len(shape) else (1,)
        r = torch.rand(size=size, generator=generator(seed, call_index, device), dtype=f32,
                       device=device)
        out = (dist.high - dist.low) * r + dist.low
        return out if len(shape) else out[0]
    if isinstance(dist, Normal):
        return torch.normal(dist.mean, dist.std, size=shape,
                            generator=generator(seed, call_index, device), dtype=f32,
                            device=device)
    if isinstance(dist, TruncatedNormal):
        x = torch.normal(0, 1, size=(*shape, 4), generator=generator(seed, call_index, device),
                         dtype=f32, device=device)
        return _first_inside(x, dist)
    raise TypeError(f"no keras-torch sampler for {dist!r}")  # pragma: no cover
