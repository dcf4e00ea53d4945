"""Philox-4x32-10 (Salmon et al., 2011), vectorized with NumPy (CPU) or torch (any device) ops.

TensorFlow's stateless random ops draw from Philox-4x32-10: a counter-based generator whose
output block for a 128-bit counter ``c`` and a 64-bit key ``k`` is ten rounds of

.. math::

    (w_0, w_1, w_2, w_3) \\mapsto
    (\\operatorname{hi}(B w_2) \\oplus w_1 \\oplus k_0,\\ \\operatorname{lo}(B w_2),\\
     \\operatorname{hi}(A w_0) \\oplus w_3 \\oplus k_1,\\ \\operatorname{lo}(A w_0)),

with ``A = 0xD2511F53``, ``B = 0xCD9E8D57`` and the key bumped by the Weyl constants
``(0x9E3779B9, 0xBB67AE85)`` after every round (all arithmetic mod 2^32).

torch has no unsigned 32x32->64 multiply, so each word lives in the low half of an int64
whose high half is zero: the int64 product of two such words is the exact 64-bit product
(it wraps modulo 2^64, which keeps the low 64 bits exact). The high half is an arithmetic
shift plus a mask; the low half is used unmasked in xors (its garbage high half is masked
away with the next multiplier input). A round is two multiplies and eight contiguous int64
ops (contiguous ops measured 5-10x faster than strided int32 views of the halves). The
first two rounds are specialised: the counter words 1-3 are constant over a block range, so
half their products are scalars.

The torch version runs on every device (integer ops are exact everywhere; it is what CUDA
uses). On CPU the same arithmetic runs as NumPy ufuncs, two words per call (see
:func:`_rounds_numpy`), over cache-sized chunks on a small thread pool (NumPy and torch ops
release the GIL); tests check both versions against the scalar reference. The CPU samplers
of ``rng="tensorflow"`` normally use the C kernels of ``_tf_native`` instead (the same rounds
on 64-bit counters, vectorized, run on the same worker threads by :func:`for_chunks`); this
NumPy/torch code is their fallback and the CUDA path.

Example:
    >>> [hex(w) for w in philox4x32((0, 0, 0, 0), (0, 0))]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

__all__ = [
    "CHUNK_BLOCKS", "INLINE_VALUES", "M32", "empty", "for_chunks", "philox4x32",
    "philox_words",
]

A = 0xD2511F53
B = 0xCD9E8D57
WEYL0 = 0x9E3779B9
WEYL1 = 0xBB67AE85
M32 = 0xFFFFFFFF
#: Blocks per CPU chunk: 16 Ki keeps the per-thread scratch near 1.5 MiB (Philox words and one
#: chunk of values) and costs about as much time as 128 Ki on 2 cores (measured in CPU time).
CHUNK_BLOCKS = 1 << 14
#: The C samplers compute outputs of at most this many values (1 MiB of float32) in the
#: calling thread: starting the worker pool costs about 170 KiB of thread stacks once per
#: process (more than 0.1x of such a tensor) and its hand-offs save no time at this size.
INLINE_VALUES = 1 << 18
#: Run the CPU rounds with NumPy ufuncs (faster int64 multiply); the torch path is the same
#: algorithm and is what CUDA uses (tests run both on CPU).
NUMPY_ON_CPU = True
_LO = 0 if sys.byteorder == "little" else 1  # the low int32 word of an int64

Words = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def philox4x32(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """One Philox-4x32-10 block in pure Python (reference and seed scrambling)."""
    w0, w1, w2, w3 = (c & M32 for c in counter)
    k0, k1 = key[0] & M32, key[1] & M32
    for _ in range(10):
        pa, pb = A * w0, B * w2
        w0, w1, w2, w3 = ((pb >> 32) ^ w1 ^ k0, pb & M32, (pa >> 32) ^ w3 ^ k1, pa & M32)
        k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
    return (w0, w1, w2, w3)


def empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``torch.empty``, except that CPU buffers come from NumPy.

    NumPy asks Linux for transparent huge pages on large allocations, which torch's CPU
    allocator does not: the first touch of a 64 MiB output then costs 6 ms instead of 17 ms
    (measured), and random gathers from the 96 MiB Box-Muller tables get ~10 % faster.
    """
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    import numpy as np

    return torch.from_numpy(np.empty(shape, dtype=torch.empty(0, dtype=dtype).numpy().dtype))


class _Scratch:
    """Per-thread, per-size buffers: two clean int64 inputs and two product pairs."""

    def __init__(self, n: int, device: torch.device) -> None:
        self.n = n
        self.x0 = torch.zeros(n, dtype=torch.int64, device=device)
        self.x2 = torch.zeros(n, dtype=torch.int64, device=device)
        self.pa = [torch.empty(n, dtype=torch.int64, device=device) for _ in range(2)]
        self.pb = [torch.empty(n, dtype=torch.int64, device=device) for _ in range(2)]
        self.iota = torch.arange(n, dtype=torch.int64, device=device)


_local = threading.local()


def _scratch(n: int, device: torch.device) -> _Scratch:
    cache: dict[tuple[int, str], _Scratch] = getattr(_local, "cache", None) or {}
    _local.cache = cache
    key = (n, str(device))
    s = cache.get(key)
    if s is None:
        if len(cache) > 8:
            cache.clear()
        s = cache[key] = _Scratch(n, device)
    return s


def _lo(t: torch.Tensor) -> torch.Tensor:
    return t.view(torch.int32)[_LO::2]


def philox_words(
    key: tuple[int, int], c2: int, c3: int, start: int, count: int, device: torch.device,
    *, stride: int = 1, counters: torch.Tensor | None = None, high: int = 0,
) -> Words:
    """Philox blocks of the stream ``(key, base counter (0, 0, c2, c3))`` at given offsets.

    Block ``j`` of the result uses the counter ``(o_j mod 2^32, o_j >> 32, c2, c3)`` (the base
    advanced by ``o_j``), where ``o_j = start + stride * j``, or, if ``counters`` is given,
    ``o_j = high * 2^32 + counters[j]`` (``counters``: int64 values in [0, 2^32)). All offsets
    must share the same high word.

    Returns:
        the four output words as int32 tensors (uint32 bits) of length ``count``: strided
        views into scratch memory, valid until the next call on this thread.

    Example:
        >>> w = philox_words((0, 0), 0, 0, 0, 1, torch.device("cpu"))
        >>> [hex(int(x) & M32) for x in w]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    if counters is None:
        high = start >> 32
        if high != (start + stride * max(count - 1, 0)) >> 32:
            raise ValueError("a Philox block range must not cross a multiple of 2^32")
    if device.type == "cpu" and NUMPY_ON_CPU:
        return _rounds_numpy(key, high, c2, c3, start, count, stride, counters)
    if counters is None:
        # CPU chunks reuse per-thread scratch; on CUDA the caching allocator does that job,
        # and holding 2^22-block buffers per thread would pin ~200 MiB of device memory.
        s = _scratch(count, device) if device.type == "cpu" else _Scratch(count, device)
        torch.mul(s.iota, stride, out=s.x0)
        s.x0.add_(start & M32)
    else:
        s = _Scratch(count, device)
        s.x0.copy_(counters)
    c1 = high
    k0, k1 = key[0] & M32, key[1] & M32
    x0, x2 = s.x0, s.x2
    pa_prev, pa = s.pa
    pb_prev, pb = s.pb
    # Words live in int64: x0, x2 (multiplier inputs) are kept clean (high half 0); w1, w3 are
    # the previous products, whose high halves are ignored because only a final mask reads them.
    # Round 1: w0 = offset (vector); w1, w2, w3 constant, so B*w2 is a scalar.
    torch.mul(x0, A, out=pa_prev)                                # new w3 = lo(pa_prev)
    p = B * (c2 & M32)
    w0c, w1c = (p >> 32) ^ c1 ^ k0, p & M32                      # new w0, w1: constants
    torch.bitwise_right_shift(pa_prev, 32, out=x2)               # new w2 = hi(pa) ^ w3 ^ k1
    x2.bitwise_xor_(c3 ^ k1).bitwise_and_(M32)
    k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
    # Round 2: w0, w1 constant, so A*w0 is a scalar.
    torch.mul(x2, B, out=pb_prev)                                # new w1 = lo(pb_prev)
    p = A * w0c
    torch.bitwise_xor(pa_prev, (p >> 32) ^ k1, out=x2).bitwise_and_(M32)   # new w2
    w3c = p & M32                                                # new w3: constant
    torch.bitwise_right_shift(pb_prev, 32, out=x0)               # new w0
    x0.bitwise_xor_(w1c ^ k0).bitwise_and_(M32)
    k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
    # Round 3: w3 constant.
    torch.mul(x0, A, out=pa)
    torch.mul(x2, B, out=pb)
    torch.bitwise_right_shift(pb, 32, out=x0)
    x0.bitwise_xor_(pb_prev).bitwise_xor_(k0).bitwise_and_(M32)
    torch.bitwise_right_shift(pa, 32, out=x2)
    x2.bitwise_xor_(w3c ^ k1).bitwise_and_(M32)
    pa_prev, pa, pb_prev, pb = pa, pa_prev, pb, pb_prev
    # Rounds 4..10: the general round, 2 multiplies and 8 contiguous int64 ops.
    for _ in range(7):
        k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
        torch.mul(x0, A, out=pa)
        torch.mul(x2, B, out=pb)
        torch.bitwise_right_shift(pb, 32, out=x0)
        x0.bitwise_xor_(pb_prev).bitwise_xor_(k0).bitwise_and_(M32)
        torch.bitwise_right_shift(pa, 32, out=x2)
        x2.bitwise_xor_(pa_prev).bitwise_xor_(k1).bitwise_and_(M32)
        pa_prev, pa, pb_prev, pb = pa, pa_prev, pb, pb_prev
    return (_lo(x0), _lo(pb_prev), _lo(x2), _lo(pa_prev))


def _rounds_numpy(
    key: tuple[int, int], c1: int, c2: int, c3: int, start: int, count: int, stride: int,
    counters: torch.Tensor | None,
) -> Words:
    """The same ten rounds with NumPy ufuncs on per-thread scratch (CPU only).

    NumPy's int64 multiply is about 2.5x faster than torch's on CPU (measured: 0.20 vs 0.50
    ns/element) and its per-call overhead is lower. From round 3 on, the two multiplier inputs
    live in one ``(2, n)`` array ``X = [w0; w2]`` multiplied by the column ``[A; B]``, so a
    round is five ufunc calls instead of ten: ``P = X [A; B]``, then
    ``T = ((P >> 32) ^ P' ^ [k1; k0]) & M`` with ``P'`` the previous products, and the next
    ``X`` is ``T`` with its rows swapped (a view). Fewer calls means fewer GIL hand-offs
    between the worker threads, which is what limits their scaling on small chunks.
    """
    import numpy as np

    x_a, x_b, p_a, p_b, iota = _numpy_scratch(count)
    mask, ab = np.int64(M32), np.array([[A], [B]], dtype=np.int64)
    mul, shr, xor, band = np.multiply, np.right_shift, np.bitwise_xor, np.bitwise_and
    k0, k1 = key[0] & M32, key[1] & M32
    ctr = x_b[0]
    if counters is not None:
        np.copyto(ctr, counters.numpy())
    elif stride == 1:
        np.add(iota, np.int64(start & M32), out=ctr)
    else:
        mul(iota, np.int64(stride), out=ctr)
        np.add(ctr, np.int64(start & M32), out=ctr)
    # Round 1: w0 = counter (vector); w1, w2, w3 constant, so B*w2 is a scalar.
    mul(ctr, np.int64(A), out=p_a[0])                        # new w3 = lo(p_a[0])
    shr(p_a[0], 32, out=x_a[1])
    band(xor(x_a[1], np.int64(c3 ^ k1), out=x_a[1]), mask, out=x_a[1])     # new w2
    p = B * (c2 & M32)
    w0c, w1c = (p >> 32) ^ c1 ^ k0, p & M32
    k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
    # Round 2: w0, w1 constant, so A*w0 is a scalar.
    mul(x_a[1], np.int64(B), out=p_b[1])                     # new w1 = lo(p_b[1])
    shr(p_b[1], 32, out=x_a[0])
    band(xor(x_a[0], np.int64(w1c ^ k0), out=x_a[0]), mask, out=x_a[0])    # new w0
    p = A * w0c
    band(xor(p_a[0], np.int64((p >> 32) ^ k1), out=x_a[1]), mask, out=x_a[1])  # new w2
    w3c = p & M32                                            # new w3: constant
    k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
    # Round 3: w3 is the constant w3c, folded into the key column.
    mul(x_a, ab, out=p_a)
    shr(p_a, 32, out=x_b)
    xor(x_b[1], p_b[1], out=x_b[1])
    band(xor(x_b, np.array([[k1 ^ w3c], [k0]], dtype=np.int64), out=x_b), mask, out=x_b)
    x, t, prod, prev = x_b[::-1], x_a, p_b, p_a
    # Rounds 4..10.
    for _ in range(7):
        k0, k1 = (k0 + WEYL0) & M32, (k1 + WEYL1) & M32
        mul(x, ab, out=prod)
        shr(prod, 32, out=t)
        xor(t, prev, out=t)
        band(xor(t, np.array([[k1], [k0]], dtype=np.int64), out=t), mask, out=t)
        x, t = t[::-1], (x_b if t is x_a else x_a)
        prod, prev = prev, prod
    w0, w1, w2, w3 = (torch.from_numpy(a) for a in (x[0], prev[1], x[1], prev[0]))
    return (_lo(w0), _lo(w1), _lo(w2), _lo(w3))


def _numpy_scratch(count: int) -> tuple[Any, ...]:
    """Per-thread ``(2, count)`` int64 buffers ``x_a, x_b, p_a, p_b`` and ``iota[:count]``.

    Capacity grows in powers of two, so the varying sizes of the truncated normal's retries
    reuse the main pass's allocation (the retries run after the main pass's words are used).
    """
    import numpy as np

    cap, arrays = getattr(_local, "numpy", None) or (0, [])
    if cap < count:
        cap = 1 << max(count - 1, 1).bit_length()
        arrays = [np.zeros((2, cap), dtype=np.int64) for _ in range(4)]
        arrays.append(np.arange(cap, dtype=np.int64).reshape(1, cap))
        _local.numpy = (cap, arrays)
    *pairs, iota = arrays
    return (*(a[:, :count] for a in pairs), iota[0, :count])


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool with ``workers`` threads (one per worker count, never shut down).

    Several threads may run ``for_chunks`` at once with different ``torch.get_num_threads()``;
    shutting a pool down on a count change would break a concurrent call that still submits
    to it ("cannot schedule new futures after shutdown"). Counts are bounded by the core
    count, so the number of pools stays small; idle pool threads cost no CPU.
    """
    with _POOL_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix=f"kerasinit-rng{workers}")
        return pool


def for_chunks(
    total: int, device: torch.device, fn: Callable[[int, int], None], align: int = 1 << 32,
    *, chunk: int | None = None, inline: bool = False,
) -> None:
    """Call ``fn(start, stop)`` over ``range(total)`` in chunks that never cross a multiple
    of ``align`` (so that a chunk's Philox counters share their high word).

    On CPU the chunks are ``CHUNK_BLOCKS`` long and run on ``torch.get_num_threads()`` worker
    threads (each op is then below torch's parallel grain, so there is no nested threading);
    on other devices the range is done in a few large sequential chunks. ``chunk`` overrides
    the chunk length; ``inline=True`` runs every chunk in the calling thread (no pool).
    """
    if chunk is None:
        chunk = CHUNK_BLOCKS if device.type == "cpu" else 1 << 22
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < total:
        stop = min(total, start + chunk, (start // align + 1) * align)
        bounds.append((start, stop))
        start = stop
    cores = os.cpu_count() or 1
    workers = min(torch.get_num_threads(), len(bounds), cores) if device.type == "cpu" else 1
    if inline:
        workers = 1
    if workers <= 1:
        for a, b in bounds:
            fn(a, b)
        return
    pool = _pool(workers)
    futures = [pool.submit(fn, a, b) for a, b in bounds]
    for f in futures:
        f.result()
