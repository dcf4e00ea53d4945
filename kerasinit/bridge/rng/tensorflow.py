"""TensorFlow's stateless random ops (CPU kernels, ``alg="auto_select"`` = Philox), in torch.

Reproduces, bit for bit, ``tf.random.stateless_uniform`` / ``stateless_normal`` /
``stateless_truncated_normal`` in float32 as TF's CPU kernels compute them on Linux/glibc, and
the seed rules Keras puts in front of them (see ``docs/seed-faithful.md``):

* **Keras 3** (TF backend): an int seed ``s`` becomes ``[s mod (2^31 - 2), 0]`` (int64 floormod,
  then int32); a ``SeedGenerator`` at draw ``k`` gives ``[s mod (2^31-2), k mod (2^31-2)]``.
* **tf_keras** (Keras 2): ``[s, 0]`` unchanged (int64).

TF then scrambles the seed pair into a Philox key and counter (``GenerateKey``), and fills
the output in row-major order: element ``i`` is word ``i mod 4`` of block ``i // 4``
(uniform, normal); the truncated normal gives each group of four outputs its own 256-block
sub-stream.

On CPU the samplers run as C kernels (``_tf_native``, see :mod:`kerasinit.bridge.rng.native`)
that write each chunk straight into the output, without the GIL, on the worker threads of
:func:`~kerasinit.bridge.rng.philox.for_chunks`. The NumPy/torch code below is the same
arithmetic: the fallback when the extension is not built or is switched off
(``KERASINIT_NATIVE=0``), and the path for other devices (CUDA); the tests check both give the
same bits.

Example:
    >>> t = uniform((2, 3), tf_seed_pair(42, version="3"), -1.0, 1.0)
    >>> t.shape, bool(t.abs().max() < 1)
    (torch.Size([2, 3]), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from kerasinit.bridge.rng import libm, native
from kerasinit.bridge.rng.philox import (
    INLINE_VALUES,
    M32,
    for_chunks,
    philox4x32,
    philox_words,
)
from kerasinit.bridge.rng.sink import Blocks, Target

__all__ = [
    "KERAS3_SEED_MOD",
    "key_counter",
    "normal",
    "tf_seed_pair",
    "truncated_normal",
    "uniform",
]

#: Keras 3's TF backend folds seeds with ``floormod(seed, int32.max - 1)``.
KERAS3_SEED_MOD = (1 << 31) - 2
_GENERATE_KEY = (0x3EC8F720, 0x02461E29)
_MANTISSA = 0x7FFFFF
_ONE_BITS = 0x3F800000
_TRUNC_RESERVED = 256  # Philox blocks reserved per group of four truncated-normal outputs
#: Blocks per chunk on the C path: 1/32 of the tensor, so that the worker threads share the
#: work, within [NATIVE_MIN_CHUNK, NATIVE_CHUNK]. Extra memory does not grow with it: the
#: kernel writes float32 outputs in place (a strided one through a 66 KiB tile buffer per
#: call); other outputs get each chunk in a per-thread buffer (16 bytes a block), so their
#: chunks stay at most ``NATIVE_BUFFERED_CHUNK`` blocks.
NATIVE_CHUNK = 1 << 16
NATIVE_MIN_CHUNK = 1 << 12
NATIVE_BUFFERED_CHUNK = 1 << 14

SeedPair = tuple[int, int]
Stream = tuple[tuple[int, int], int, int]  # (key, c2, c3); counter words 0, 1 start at 0


def tf_seed_pair(seed: int, version: str = "3", call_index: int = 0) -> SeedPair:
    """The ``[seed0, seed1]`` pair TF's kernel receives for a Keras int seed.

    Args:
        seed: the initializer's seed (any Python int Keras accepts: the int64 range).
        version: ``"3"`` (Keras 3, TF backend) or ``"2"`` (tf_keras).
        call_index: the draw number of a Keras 3 ``SeedGenerator`` seed (0 for an int seed).

    Raises:
        OverflowError: the seed is outside the int64 range (Keras raises too).

    Example:
        >>> tf_seed_pair(-1), tf_seed_pair(2**31 - 1), tf_seed_pair(-3, version="2")
        ((2147483645, 0), (1, 0), (-3, 0))
    """
    if not -(1 << 63) <= seed < (1 << 63):
        raise OverflowError(
            f"seed={seed} does not fit in int64; Keras/TensorFlow cannot use it either."
        )
    if version == "2":
        return (seed, 0)
    return (seed % KERAS3_SEED_MOD, call_index % KERAS3_SEED_MOD)


def key_counter(seed: SeedPair) -> Stream:
    """TF's ``GenerateKey``: scramble a seed pair into a Philox key and counter.

    The two seeds, as 64-bit two's complement, give the counter ``(lo0, hi0, lo1, hi1)``; one
    Philox block under the fixed key ``(0x3EC8F720, 0x02461E29)`` gives ``(m0, m1, m2, m3)``;
    the key is ``(m0, m1)`` and the base counter ``(0, 0, m2, m3)``.
    """
    s0, s1 = seed[0] & ((1 << 64) - 1), seed[1] & ((1 << 64) - 1)
    m = philox4x32((s0 & M32, s0 >> 32, s1 & M32, s1 >> 32), _GENERATE_KEY)
    return ((m[0], m[1]), m[2], m[3])


def uniform(
    shape: Sequence[int], seed: SeedPair, minval: float, maxval: float,
    device: torch.device | str = "cpu", out: Target | None = None,
) -> torch.Tensor:
    """``tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=float32)``.

    .. math:: u = \\mathrm{float}(1.m_{23}) - 1,\\quad x = u \\cdot (b - a) + a

    with ``a``, ``b`` and ``b - a`` rounded to float32, each operation in float32 (no FMA).
    ``out``: a tensor of ``shape`` (any strides and floating dtype, on ``device``) written in
    place chunk by chunk, with no full-size temporary; it is returned.
    """
    device = torch.device(device)
    low = _f32(minval)
    span = _f32(_f32(maxval) - low)  # float32 subtraction: both operands are float32 values
    (key, c2, c3) = key_counter(seed)
    dest = Blocks(shape, device, out)
    if _native(dest, "uniform", (key, c2, c3), span, low):
        return dest.result()

    def fill(a: int, b: int) -> None:
        w = philox_words(key, c2, c3, a, b - a, device)
        buf = dest.chunk(a, b)
        if device.type == "cpu":  # NumPy: no OpenMP teams per op (they stall under load)
            import numpy as np

            dst_np = buf.view(torch.int32).numpy()
            for j in range(4):
                dst_np[:, j] = w[j].numpy()
            dst_np &= _MANTISSA
            dst_np |= _ONE_BITS
            f = dst_np.view(np.float32)
            f -= np.float32(1.0)
            f *= np.float32(span)
            f += np.float32(low)
        else:
            dst = buf.view(torch.int32)
            torch.stack(w, 1, out=dst)
            dst.bitwise_and_(_MANTISSA).bitwise_or_(_ONE_BITS)  # 1.m in [1, 2)
            buf.sub_(1.0).mul_(span).add_(low)
        dest.commit(a, b, buf)

    for_chunks(dest.nblocks, device, fill)
    return dest.result()


def normal(
    shape: Sequence[int], seed: SeedPair, mean: float, stddev: float,
    device: torch.device | str = "cpu", out: Target | None = None,
) -> torch.Tensor:
    """``tf.random.stateless_normal(shape, seed, mean, stddev, dtype=float32)``.

    Box-Muller on word pairs ``(w0, w1)`` and ``(w2, w3)`` of each block (sine first):

    .. math:: x_{0,1} = \\sqrt{-2 \\log u_1}\\,(\\sin, \\cos)(2\\pi u_2),\\quad y = x\\sigma + \\mu

    with glibc's float32 ``logf``/``sincosf`` (see :mod:`kerasinit.bridge.rng.libm`).
    ``out`` as for :func:`uniform`.
    """
    device = torch.device(device)
    (key, c2, c3) = key_counter(seed)
    dest = Blocks(shape, device, out)
    sd, mu = _f32(stddev), _f32(mean)
    if _native(dest, "normal", (key, c2, c3), sd, mu):
        return dest.result()
    box = libm.BoxMuller.for_size(dest.n, device)

    def fill(a: int, b: int) -> None:
        w = philox_words(key, c2, c3, a, b - a, device)
        dst = dest.chunk(a, b)
        box.pair(w[0], w[1], dst[:, 0], dst[:, 1])
        box.pair(w[2], w[3], dst[:, 2], dst[:, 3])
        _scale(dst, sd, mu)
        dest.commit(a, b, dst)

    for_chunks(dest.nblocks, device, fill)
    return dest.result()


def truncated_normal(
    shape: Sequence[int], seed: SeedPair, mean: float, stddev: float,
    device: torch.device | str = "cpu", out: Target | None = None,
) -> torch.Tensor:
    """``tf.random.stateless_truncated_normal(shape, seed, mean, stddev, dtype=float32)``.

    Output group ``g`` (elements ``4g .. 4g+3``) reads its own sub-stream starting at block
    ``256 g``; each block gives four Box-Muller candidates (sin, cos of ``(w0, w1)``, then of
    ``(w2, w3)``), and the first four with ``|x| < 2`` fill the group. About 83 % of groups are
    done after one block (``0.9545^4``); the rest draw further blocks of their sub-stream.
    ``out`` as for :func:`uniform`.
    """
    device = torch.device(device)
    stream = key_counter(seed)
    key, c2, c3 = stream
    dest = Blocks(shape, device, out)
    sd, mu = _f32(stddev), _f32(mean)
    if _native(dest, "truncated_normal", stream, sd, mu):
        return dest.result()
    box = libm.BoxMuller.for_size(dest.n, device)

    def fill(a: int, b: int) -> None:
        w = philox_words(key, c2, c3, a * _TRUNC_RESERVED, b - a, device,
                         stride=_TRUNC_RESERVED)
        dst = dest.chunk(a, b)
        box.pair(w[0], w[1], dst[:, 0], dst[:, 1])
        box.pair(w[2], w[3], dst[:, 2], dst[:, 3])
        # A group is short if any of its four candidates has |x| >= 2: its four bool flags
        # read as one int32 are then nonzero.
        if device.type == "cpu":
            import numpy as np

            dn = dst.numpy()
            rejected = np.abs(dn) >= np.float32(2.0)
            rows_np = np.flatnonzero(rejected.view(np.int32))
            if rows_np.size:
                dn[rows_np] = _finish_numpy(stream, box, dn[rows_np], rows_np + a)
            _scale(dst, sd, mu)
            dest.commit(a, b, dst)
            return
        else:
            rejected_t = dst.abs() >= 2.0
            rows = torch.nonzero(rejected_t.view(torch.int32).view(-1)).view(-1)
        if rows.numel():
            done = _finish(stream, box, dst.index_select(0, rows), rows + a, device)
            dst.index_copy_(0, rows, done)
        _scale(dst, sd, mu)
        dest.commit(a, b, dst)

    # Chunks never cross a multiple of 2^24 groups, so their counters share a high word.
    for_chunks(dest.nblocks, device, fill, align=1 << 24)
    return dest.result()


def _native(dest: Blocks, kind: str, stream: Stream, a: float, b: float) -> bool:
    """Fill ``dest`` with the C kernel ``kind`` (CPU, extension built and on); False otherwise.

    The kernel writes each chunk's values straight into ``out``: contiguous float32 memory,
    or a float32 CPU view of any positive strides (a transposed ``nn.Linear`` weight, a
    permuted conv kernel), which it walks itself (in tiles of 16 rows when the last axis is
    strided). Other outputs (other dtypes or devices,
    :class:`~kerasinit.bridge.rng.sink.Columns`) get the chunk in a small per-thread buffer
    that :class:`~kerasinit.bridge.rng.sink.Blocks` then writes. The loops run without the
    GIL, so the chunks run in parallel; counters are 64-bit, so chunks may cross multiples of
    2^32 blocks.
    """
    mod = native.module("tf")
    if mod is None or dest.device.type != "cpu":
        return False
    kernel = getattr(mod, kind)
    (k0, k1), c2, c3 = stream
    width, n, out = dest.width, dest.n, dest.out
    chunk = min(NATIVE_CHUNK, max(NATIVE_MIN_CHUNK, dest.nblocks // 32))
    inline = n <= INLINE_VALUES     # in this thread (see INLINE_VALUES)
    if inline:
        chunk = dest.nblocks
    if (dest.direct is None and isinstance(out, torch.Tensor) and out.device.type == "cpu"
            and out.dtype == torch.float32 and 1 <= out.dim() <= 16
            and all(s > 0 for s in out.stride())):
        addr, view = out.data_ptr(), (tuple(out.shape), tuple(out.stride()))

        def fill(lo: int, hi: int) -> None:
            kernel(addr, min(hi * width, n) - lo * width, k0, k1, c2, c3, lo, a, b, *view)
    else:
        # each chunk in its thread's scratch (16 bytes a block, kept by the thread): 1/64 of
        # the tensor, so that small half-precision tensors pay little for it
        chunk = min(chunk, NATIVE_BUFFERED_CHUNK, max(1 << 8, dest.nblocks // 64))

        def fill(lo: int, hi: int) -> None:
            buf = dest.chunk(lo, hi)
            # The kernel writes min(hi, n/4) - lo blocks' values into this buffer's memory.
            if not (buf.dtype == torch.float32 and buf.is_contiguous()
                    and buf.numel() >= (hi - lo) * width):  # pragma: no cover - Blocks' contract
                raise AssertionError("chunk buffer is not a contiguous float32 block range")
            kernel(buf.data_ptr(), min(hi * width, n) - lo * width, k0, k1, c2, c3, lo, a, b)
            dest.commit(lo, hi, buf)

    for_chunks(dest.nblocks, dest.device, fill, align=1 << 62, chunk=chunk, inline=inline)
    return True


def _scale(dst: torch.Tensor, sd: float, mu: float) -> None:
    """``dst * sd + mu`` in place, two float32 operations (NumPy on CPU: no OpenMP teams)."""
    if dst.device.type == "cpu":
        import numpy as np

        dn = dst.numpy()
        dn *= np.float32(sd)
        dn += np.float32(mu)
    else:
        dst.mul_(sd).add_(mu)


def _f32(x: float) -> float:
    """``x`` rounded to float32 (to nearest even; beyond the range: +-inf, as ``Tensor.to``)."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def _finish(
    stream: Stream, box: libm.BoxMuller, cand: torch.Tensor, groups: torch.Tensor,
    device: torch.device,
) -> torch.Tensor:
    """Complete groups with fewer than four accepted candidates in their first block.

    Each round draws the next block (``256 g + 1``, ``+ 2``, ...) of every unfinished group,
    so a group has eight candidates in stream order: up to four kept ones, then four new. The
    accept flags, packed into an 8-bit code, index a 256-row table of the first four accepted
    positions, which one ``gather`` picks; groups with fewer than four go round again with
    their kept candidates in front.
    """
    key, c2, c3 = stream
    first4, count = _accept_tables(device)
    high = (int(groups[0]) * _TRUNC_RESERVED) >> 32
    accepted = cand.abs() < 2.0
    result = cand
    todo = torch.arange(cand.shape[0], device=device)
    step = 1
    while True:
        if step >= _TRUNC_RESERVED:  # pragma: no cover - probability ~ 0.045^(4*255)
            raise RuntimeError("truncated normal ran past its 256-block reservation")
        counters = (groups[todo] * _TRUNC_RESERVED + step) & M32
        w = philox_words(key, c2, c3, 0, todo.numel(), device, counters=counters, high=high)
        cand8 = torch.empty((todo.numel(), 8), dtype=torch.float32, device=device)
        cand8[:, :4] = cand
        box.pair(w[0], w[1], cand8[:, 4], cand8[:, 5])
        box.pair(w[2], w[3], cand8[:, 6], cand8[:, 7])
        ok8 = torch.cat([accepted, cand8[:, 4:].abs() < 2.0], 1)
        code = _pack_flags(ok8)
        picked = torch.gather(cand8, 1, first4.index_select(0, code))
        if step == 1:
            result = picked
        else:
            result.index_copy_(0, todo, picked)
        have = count.index_select(0, code)
        short = torch.nonzero(have < 4).view(-1)
        if not short.numel():
            return result
        todo, cand = todo[short], picked[short]
        accepted = torch.arange(4, device=device) < have[short, None]
        step += 1


def _finish_numpy(stream: Stream, box: libm.BoxMuller, cand: Any, groups: Any) -> Any:
    """:func:`_finish` with NumPy ops (CPU): the same rounds, a fraction of the per-op cost
    (the short groups of a chunk are a few thousand, so per-op overhead dominates)."""
    import numpy as np

    key, c2, c3 = stream
    first4_t, count_t = _accept_tables(torch.device("cpu"))
    first4, count = first4_t.numpy(), count_t.numpy()
    high = (int(groups[0]) * _TRUNC_RESERVED) >> 32
    accepted = np.abs(cand) < np.float32(2.0)
    result = np.empty_like(cand)
    todo = np.arange(cand.shape[0])
    step = 1
    while True:
        if step >= _TRUNC_RESERVED:  # pragma: no cover - probability ~ 0.045^(4*255)
            raise RuntimeError("truncated normal ran past its 256-block reservation")
        counters = (groups[todo] * _TRUNC_RESERVED + step) & M32
        w = philox_words(key, c2, c3, 0, todo.size, torch.device("cpu"),
                         counters=torch.from_numpy(counters), high=high)
        cand8 = np.empty((todo.size, 8), np.float32)
        cand8[:, :4] = cand
        c8 = torch.from_numpy(cand8)
        box.pair(w[0], w[1], c8[:, 4], c8[:, 5])
        box.pair(w[2], w[3], c8[:, 6], c8[:, 7])
        ok8 = np.empty((todo.size, 8), np.bool_)
        ok8[:, :4] = accepted
        np.less(np.abs(cand8[:, 4:]), np.float32(2.0), out=ok8[:, 4:])
        code = _pack_flags_numpy(ok8)
        picked = np.take_along_axis(cand8, first4[code], 1)
        result[todo] = picked
        have = count[code]
        short = np.flatnonzero(have < 4)
        if not short.size:
            return result
        todo, cand = todo[short], picked[short]
        accepted = np.arange(4) < have[short, None]
        step += 1


def _pack_flags_numpy(flags: Any) -> Any:
    """:func:`_pack_flags` for a NumPy ``(n, 8)`` bool array (uint64 arithmetic wraps alike)."""
    import numpy as np

    v = np.ascontiguousarray(flags).view(np.uint64).reshape(-1)
    return ((v * np.uint64(0x0102040810204080)) >> np.uint64(56)) & np.uint64(0xFF)


def _pack_flags(flags: torch.Tensor) -> torch.Tensor:
    """Eight bool flags per row -> one int64 code in [0, 256), bit ``j`` = flag ``j``.

    The row's eight bytes, read as an int64, times ``sum 2^(7k + 7)`` move byte ``j`` to bit
    ``56 + j`` without carries (the standard byte-gather multiply; on big-endian machines
    the bit order reverses, which :func:`_accept_tables` undoes by using this same function).
    """
    v = flags.contiguous().view(torch.int64).view(-1)
    return ((v * 0x0102040810204080) >> 56) & 0xFF


_ACCEPT: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def _accept_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """For every packed code: the first four accepted positions (padded) and their count."""
    key = str(device)
    if key not in _ACCEPT:
        patterns = torch.tensor([[(c >> j) & 1 for j in range(8)] for c in range(256)],
                                dtype=torch.bool)
        first4 = torch.zeros((256, 4), dtype=torch.int64)
        count = torch.zeros(256, dtype=torch.int64)
        for row, code in zip(patterns.tolist(), _pack_flags(patterns).tolist(), strict=True):
            positions = [j for j, flag in enumerate(row) if flag][:4]
            count[code] = len(positions)
            first4[code, :len(positions)] = torch.tensor(positions, dtype=torch.int64)
        _ACCEPT[key] = (first4.to(device), count.to(device))
    return _ACCEPT[key]
