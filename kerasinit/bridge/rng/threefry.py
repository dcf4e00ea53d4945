"""Threefry-2x32 (Salmon et al., 2011) and JAX's two ways of laying its words out, in NumPy.

JAX's default generator is Threefry-2x32 with 20 rounds: for a key ``(k0, k1)`` and a counter
``(x0, x1)``, with ``k2 = k0 ^ k1 ^ 0x1BD11BDA``, ``x0 += k0, x1 += k1``, then five groups of four
rounds ``x0 += x1; x1 = rotl(x1, r); x1 ^= x0`` (rotations 13, 15, 26, 6 in groups 0, 2, 4 and
17, 29, 16, 24 in groups 1, 3), after group ``i`` ``x0 += k[(i+1) % 3]`` and
``x1 += k[(i+2) % 3] + i + 1`` (all mod 2^32).

The 32-bit words for ``n`` values (flat row-major index ``i``) are laid out in one of two ways:

* ``"partitionable"`` (JAX >= 0.5 default): counter ``(i >> 32, i mod 2^32)``, word ``x0 ^ x1``.
  Values depend on ``i`` only, so every shape with the same seed shares a prefix.
* ``"original"`` (JAX <= 0.4 default): counters ``0 .. n-1`` (plus a 0 when ``n`` is odd) split
  in halves ``h = ceil(n / 2)``: element ``i < h`` is word ``x0`` of counter ``(i, i + h)`` and
  element ``h + j`` is word ``x1`` of counter ``(j, h + j)`` (the padding counter is 0).

Both are computed in chunks (:func:`words` fills ``[start, stop)``), never materializing more
than a chunk of counters.

This NumPy code is the fallback and the reference: on CPU, when the C extension ``_jax_native``
is built (:mod:`~kerasinit.bridge.rng.native`), the same rounds run there, fused with the
float transforms; the tests compare the two word for word.

Example:
    >>> [hex(w) for w in threefry2x32((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3))]
    ['0xc4923a9c', '0x483df7a0']
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["LAYOUTS", "Layout", "threefry2x32", "words"]

Layout = Literal["partitionable", "original"]
LAYOUTS: tuple[str, ...] = ("partitionable", "original")
M32 = 0xFFFFFFFF
_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def threefry2x32(key: tuple[int, int], counter: tuple[int, int]) -> tuple[int, int]:
    """One Threefry-2x32 block in pure Python (the reference the NumPy version is tested on)."""
    k = (key[0] & M32, key[1] & M32, (key[0] ^ key[1] ^ _PARITY) & M32)
    x0, x1 = (counter[0] + k[0]) & M32, (counter[1] + k[1]) & M32
    for i in range(5):
        for r in _ROT[i % 2]:
            x0 = (x0 + x1) & M32
            x1 = ((x1 << r) | (x1 >> (32 - r))) & M32
            x1 ^= x0
        x0 = (x0 + k[(i + 1) % 3]) & M32
        x1 = (x1 + k[(i + 2) % 3] + i + 1) & M32
    return x0, x1


def _rounds(key: tuple[int, int], x0: Any, x1: Any, tmp: Any) -> None:
    """The 20 rounds on uint32 arrays ``x0``, ``x1`` (counters in, words out), in place."""
    import numpy as np

    u32 = np.uint32
    k = (u32(key[0] & M32), u32(key[1] & M32), u32((key[0] ^ key[1] ^ _PARITY) & M32))
    x0 += k[0]
    x1 += k[1]
    add, shl, shr, bor, bxor = np.add, np.left_shift, np.right_shift, np.bitwise_or, np.bitwise_xor
    for i in range(5):
        for r in _ROT[i % 2]:
            add(x0, x1, out=x0)
            shl(x1, u32(r), out=tmp)
            shr(x1, u32(32 - r), out=x1)
            bor(x1, tmp, out=x1)
            bxor(x1, x0, out=x1)
        x0 += k[(i + 1) % 3]
        x1 += u32((int(k[(i + 2) % 3]) + i + 1) & M32)


def words(key: tuple[int, int], n: int, start: int, stop: int, layout: str, out: Any) -> None:
    """Write the uint32 words of elements ``[start, stop)`` of an ``n``-value draw into ``out``.

    Args:
        key: the Threefry key ``(k0, k1)``.
        n: the number of values of the whole draw (the original layout depends on it).
        start, stop: the element range (``stop - start`` = ``len(out)``).
        layout: ``"partitionable"`` or ``"original"``.
        out: a uint32 NumPy array of length ``stop - start``.

    Example:
        >>> import numpy as np
        >>> w = np.empty(3, np.uint32)
        >>> words((42, 0), 3, 0, 3, "partitionable", w)
        >>> [int(v) for v in w] == [int(a ^ b) for a, b in
        ...     (threefry2x32((42, 0), (0, i)) for i in range(3))]
        True
    """
    import numpy as np

    count = stop - start
    x0 = np.empty(count, np.uint32)
    tmp = np.empty(count, np.uint32)
    if layout == "partitionable":
        if start >> 32 != (stop - 1) >> 32:
            raise ValueError("a partitionable chunk must not cross a multiple of 2^32")
        x0.fill(start >> 32)
        np.add(np.arange(count, dtype=np.uint32), np.uint32(start & M32), out=out)
        _rounds(key, x0, out, tmp)
        np.bitwise_xor(out, x0, out=out)
        return
    half = -(-n // 2)
    # Elements below ``half`` are word x0 of counters (i, i + half); the rest word x1 of
    # (j, half + j), j = i - half. Both ranges are handled as counter ranges.
    lo_a, lo_b = min(start, half), min(stop, half)
    hi_a, hi_b = max(start, half) - half, max(stop, half) - half
    if lo_b > lo_a:
        c = lo_b - lo_a
        a0, a1 = x0[:c], out[:c]
        a0[:] = np.arange(lo_a, lo_b, dtype=np.uint32)
        np.add(a0, np.uint32(half), out=a1)
        _pad(a1, lo_a + half, n)
        _rounds(key, a0, a1, tmp[:c])
        out[:c] = a0
    if hi_b > hi_a:
        c = hi_b - hi_a
        b0, b1 = x0[count - c:], out[count - c:]
        b0[:] = np.arange(hi_a, hi_b, dtype=np.uint32)
        np.add(b0, np.uint32(half), out=b1)
        _pad(b1, hi_a + half, n)
        _rounds(key, b0, b1, tmp[:c])


def _pad(x1: Any, first: int, n: int) -> None:
    """Counters ``first, first + 1, ...`` in ``x1``: the one equal to ``n`` is JAX's 0 pad."""
    if first <= n < first + len(x1):
        x1[n - first] = 0
