"""XLA:CPU's float32 ``erf_inv``, ``log1p`` and ``log``, emulated exactly in NumPy.

JAX's ``normal`` and ``truncated_normal`` end in ``sqrt(2) * erf_inv(u)``. XLA:CPU expands
``erf_inv`` into Giles' single-precision polynomial with ``w = -log1p(-x^2)``, computes
``log1p`` with its own Cephes-style rational function (``|q| < sqrt(2) - 1``) or its own Cephes
``log`` polynomial, and LLVM contracts some of the float32 multiply-adds into FMAs (which ones
depends on the jaxlib version: :data:`FMA_PROFILES`). This module reproduces every float32
operation in the same order:

* plain float32 ``+ - * / sqrt`` are IEEE operations in NumPy too;
* an FMA ``round32(a b + c)`` is evaluated as ``a b`` (exact in float64: 24 + 24 bits) plus
  ``c`` in float64, rounded to float32. That rounds twice, which is wrong only when the float64
  sum lands exactly on a float32 halfway point it did not reach exactly; such sums (and
  subnormal results) are detected by their bits and recomputed exactly by round-to-odd
  (TwoSum error, then the last bit forced odd), so every FMA here is correctly rounded.

Normal and truncated-normal values depend only on the top 23 bits of each random word, so the
whole transform has 2^23 inputs; the tests compare it with JAX on all of them.

This NumPy code is the fallback and the reference: the CPU path is the C extension
``_jax_native`` (:mod:`~kerasinit.bridge.rng.native`), which computes the same operations with
``fmaf`` for each FMA (correctly rounded in hardware) and no other contraction; the tests
compare the two on all 2^23 inputs of each transform and line.

Example:
    >>> import numpy as np
    >>> [float(v) for v in erf_inv(np.array([0.0, 0.5, -0.9], np.float32), "0.10")]
    [0.0, 0.4769362807273865, -1.163087010383606]
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["FMA_PROFILES", "erf_inv", "fma", "log1p", "logf", "normal_from_mantissa",
           "truncated_from_mantissa", "uniform_from_mantissa"]


def _f(bits: int) -> float:
    """The float32 with these bits, as a Python float (exact)."""
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


#: How jaxlib's LLVM fuses ``log1p``'s tail ``q2 (-1/2) + q3 r`` (the only FMA that differs
#: between the supported versions): ``"half"`` = ``fma(q2, -0.5, round(q3 r))`` (0.10),
#: ``"q3r"`` = ``fma(q3, r, q2 (-0.5))`` (0.4.38).
FMA_PROFILES: dict[str, str] = {"0.10": "half", "0.4.38": "q3r"}

_SQRT2 = _f(0x3FB504F3)
_ERFINV_SMALL = tuple(_f(b) for b in (
    0x32F16588, 0x34B84B36, 0xB66C7357, 0xB6935AC1, 0x396532DB, 0xBAA45408, 0xBB88E4EF,
    0x3E7C8F63, 0x3FC02E2F))
_ERFINV_LARGE = tuple(_f(b) for b in (
    0xB951F09B, 0x38D3B56B, 0x3AB0DC72, 0xBB70BDE7, 0x3BBC127B, 0xBBF9C5D7, 0x3C1AA57E,
    0x3F8036DB, 0x40354F7E))
_LOG1P_CUT = _f(0x3ED413CD)      # sqrt(2) - 1
_LOG1P_DEN = tuple(_f(b) for b in (
    0x417101AD, 0x42A6185B, 0x435DC32D, 0x439A8CA3, 0x43586D8A, 0x42707982))
_LOG1P_NUM0 = _f(0x383DE04B)
_LOG1P_NUM = tuple(_f(b) for b in (
    0x3EFF40C5, 0x40D284FA, 0x41EF4B9C, 0x4273CC76, 0x426473AD, 0x41A05101))
_LOG_SQRTHF = _f(0x3F3504F3)
_LOG_P = tuple(_f(b) for b in (
    0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF, 0xBE2AAE50, 0x3E4CCEAC,
    0xBE7FFFFC, 0x3EAAAAAA))
_LOG_Q1 = _f(0xB95E8083)
_LOG_Q2 = _f(0x3F318000)
_MIN_NORMAL = _f(0x00800000)
#: ``erf(-2/sqrt 2)`` and ``erf(2/sqrt 2)`` in float32, and their difference (exact).
TRUNC_LO, TRUNC_SPAN = _f(0xBF745A18), _f(0x3FF45A18)
TRUNC_CLIP = _f(0x3FFFFFFF)      # nextafter(2, 0): the truncated normal's clip bound
NORMAL_LO = _f(0xBF7FFFFF)       # nextafter(-1, 0): the normal's uniform lower bound


def fma(a: Any, b: Any, c: Any, *, tiny: bool = False) -> Any:
    """Correctly rounded float32 ``a * b + c`` of float32 arrays/scalars (see module doc).

    ``tiny=True`` also rechecks results below 2^-125 (float32 subnormals round at a higher
    bit); the ``erf_inv`` pipeline never produces them, a user's uniform range may.
    """
    import numpy as np

    s = np.multiply(a, b, dtype=np.float64)
    s += c
    r = s.astype(np.float32)
    bits = s.view(np.int64) if s.ndim else np.array(s).view(np.int64)
    # float64 -> float32 keeps 24 of 53 significant bits: a halfway float64 has its low 29
    # bits 1 followed by 28 zeros.
    suspect = np.bitwise_and(bits, 0x1FFFFFFF)
    suspect = suspect == 0x10000000
    if tiny:
        suspect |= np.abs(s) < 2.0**-125
    if suspect.any():
        idx = np.nonzero(suspect)
        shape = np.shape(s)
        p = (np.broadcast_to(np.asarray(a, np.float64), shape)[idx]
             * np.broadcast_to(np.asarray(b, np.float64), shape)[idx])
        cc = np.broadcast_to(np.asarray(c, np.float64), shape)[idx]
        ss = p + cc
        bb = ss - p
        err = (p - (ss - bb)) + (cc - bb)                    # TwoSum: ss + err == p + cc
        sb = ss.view(np.int64)
        step = np.where((err > 0) == (ss > 0), 1, -1)
        sb += np.where((err != 0) & ((sb & 1) == 0), step, 0)  # round to odd
        if r.ndim:
            r[idx] = ss.astype(np.float32)
        else:
            r = ss.astype(np.float32)[0]
    return r


def logf(v: Any) -> Any:
    """XLA's float32 ``log`` for positive float32 ``v`` (Cephes polynomial, Eigen's ``plog``)."""
    import numpy as np

    f32 = np.float32
    v = np.maximum(v, f32(_MIN_NORMAL))
    bits = v.view(np.int32)
    ef = ((bits >> 23) - 126).astype(np.float32)         # frexp exponent: e + 1
    m = ((bits & np.int32(-0x7F800001)) | 0x3F000000).view(np.float32)   # [0.5, 1)
    low = m < f32(_LOG_SQRTHF)
    x = m - f32(1)
    x = np.where(low, x + m, x)
    ef = np.where(low, ef - f32(1), ef)
    z = x * x
    x3 = z * x
    p = _LOG_P
    y0 = fma(fma(x, p[0], p[1]), x, p[2])
    y1 = fma(fma(x, p[3], p[4]), x, p[5])
    y2 = fma(fma(x, p[6], p[7]), x, p[8])
    t = fma(y0, x3, y1)
    t = fma(t, x3, y2)
    t = fma(t, x3, ef * f32(_LOG_Q1))
    return fma(ef, _LOG_Q2, fma(z, -0.5, x) + t)


def log1p(q: Any, version: str) -> Any:
    """XLA's float32 ``log1p`` for ``q`` in (-1, 0] (the ``-x^2`` of :func:`erf_inv`)."""
    import numpy as np

    f32 = np.float32
    out = np.empty_like(q)
    big = np.abs(q) >= f32(_LOG1P_CUT)
    ib, ism = np.nonzero(big), np.nonzero(~big)
    out[ib] = logf(f32(1) + q[ib])
    x = q[ism]
    d = np.ones_like(x)                                  # q * 0 + 1: a plain add
    for c in _LOG1P_DEN:
        d = fma(d, x, c)
    n = np.full_like(x, _LOG1P_NUM0)
    for c in _LOG1P_NUM:
        n = fma(n, x, c)
    r = n / d
    x2 = x * x
    x3 = x * x2
    half = FMA_PROFILES[version] == "half"
    tail = fma(x2, -0.5, x3 * r) if half else fma(x3, r, x2 * f32(-0.5))
    out[ism] = x + tail
    return out


def erf_inv(x: Any, version: str) -> Any:
    """XLA's float32 ``erf_inv`` for ``|x| < 1`` (Giles' polynomial; FMA Horner steps)."""
    import numpy as np

    f32 = np.float32
    w = -log1p(x * -x, version)
    t = w - f32(2.5)
    p = np.full_like(x, _ERFINV_SMALL[0])
    for c in _ERFINV_SMALL[1:]:
        p = fma(p, t, c)
    large = np.nonzero(w >= f32(5))
    if large[0].size:
        tl = np.sqrt(w[large]) - f32(3)
        pl = np.full_like(tl, _ERFINV_LARGE[0])
        for c in _ERFINV_LARGE[1:]:
            pl = fma(pl, tl, c)
        p[large] = pl
    return p * x


def _unit(m: Any) -> Any:
    """``bitcast(m | 0x3F800000) - 1``: the float32 in [0, 1) of 23 random bits ``m``."""
    import numpy as np

    return (m.astype(np.uint32) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)


def uniform_from_mantissa(m: Any, minval: float, maxval: float) -> Any:
    """JAX's uniform: ``max(lo, fma(f, hi - lo, lo))`` (bounds and range in float32)."""
    import numpy as np

    lo, hi = np.float32(minval), np.float32(maxval)
    return np.maximum(lo, fma(_unit(m), hi - lo, lo, tiny=True))


def normal_from_mantissa(m: Any, version: str) -> Any:
    """JAX's float32 standard normal of the 23 bits ``m`` (``word >> 9``)."""
    import numpy as np

    lo = np.float32(NORMAL_LO)
    u = np.maximum(lo, _unit(m) * np.float32(2) + lo)    # the product is exact: fma == this
    return erf_inv(u, version) * np.float32(_SQRT2)


def truncated_from_mantissa(m: Any, version: str) -> Any:
    """JAX's float32 ``truncated_normal(-2, 2)`` of the 23 bits ``m`` (``word >> 9``)."""
    import numpy as np

    lo = np.float32(TRUNC_LO)
    u = np.maximum(lo, fma(_unit(m), TRUNC_SPAN, lo))
    z = erf_inv(u, version) * np.float32(_SQRT2)
    return np.clip(z, np.float32(-TRUNC_CLIP), np.float32(TRUNC_CLIP))
