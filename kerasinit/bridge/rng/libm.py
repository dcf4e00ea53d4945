"""glibc's float32 ``logf`` and ``sincosf``, emulated exactly, and Box-Muller built on them.

TensorFlow's CPU Box-Muller (Linux) calls glibc's ``logf`` and ``sincosf``. They are not
correctly rounded, so no torch or NumPy function reproduces them; this module re-implements
the two routines (algorithm and constants from Arm's optimized-routines, MIT licence, as
shipped in glibc >= 2.27: a 16-entry ``(1/c, log c)`` table plus a cubic for ``logf``, and a
single-step reduction by pi/2 plus even/odd polynomials for ``sincosf``), evaluated in float64
op by op exactly as the C code does, then rounded once to float32.

Only two inputs occur: ``u1 = m 2^-23`` (``m`` = low 23 bits of a word, 0 clamped to 1e-7)
for the radius, and ``v = float32(2 pi * m 2^-23)`` for the angle. So each function has 2^23
possible inputs, checked exhaustively against the platform in ``tests/bridge/rng/test_rng_libm.py``.
On CPU the samplers use the C version of this emulation (``_tf_native``: the same double
operations in the same order, compiled without FMA contraction; the tests compare it with
this module's NumPy code on all 2^23 inputs), which needs no tables. This module is the
fallback (extension not built or switched off) and the torch path for other devices: there,
for large tensors, the three functions are tabulated once per process and device
(3 x 32 MiB); small tensors evaluate the emulation directly.

Example:
    >>> import torch
    >>> m = torch.tensor([1, 4194304, 8388607])
    >>> radius(m).tolist()[1]                      # sqrt(-2 log 0.5)
    1.1774100065231323
"""

from __future__ import annotations

import math
import threading
from typing import Any

import torch

from kerasinit.bridge.rng.philox import empty, for_chunks

__all__ = ["BoxMuller", "angle", "box_muller_numpy", "logf", "radius", "sincosf"]

_h = float.fromhex

DOMAIN = 1 << 23
_MANT = DOMAIN - 1

# logf: x = 2^k z, log x = k ln2 + log c + log1p(z/c - 1), z in [OFF, 2 OFF), 16 subintervals.
_LOGF_OFF = 0x3F330000
_LOGF_INVC = (
    _h("0x1.661ec79f8f3bep+0"), _h("0x1.571ed4aaf883dp+0"), _h("0x1.49539f0f010bp+0"),
    _h("0x1.3c995b0b80385p+0"), _h("0x1.30d190c8864a5p+0"), _h("0x1.25e227b0b8eap+0"),
    _h("0x1.1bb4a4a1a343fp+0"), _h("0x1.12358f08ae5bap+0"), _h("0x1.0953f419900a7p+0"),
    _h("0x1p+0"), _h("0x1.e608cfd9a47acp-1"), _h("0x1.ca4b31f026aap-1"),
    _h("0x1.b2036576afce6p-1"), _h("0x1.9c2d163a1aa2dp-1"), _h("0x1.886e6037841edp-1"),
    _h("0x1.767dcf5534862p-1"),
)
_LOGF_LOGC = (
    -_h("0x1.57bf7808caadep-2"), -_h("0x1.2bef0a7c06ddbp-2"), -_h("0x1.01eae7f513a67p-2"),
    -_h("0x1.b31d8a68224e9p-3"), -_h("0x1.6574f0ac07758p-3"), -_h("0x1.1aa2bc79c81p-3"),
    -_h("0x1.a4e76ce8c0e5ep-4"), -_h("0x1.1973c5a611cccp-4"), -_h("0x1.252f438e10c1ep-5"),
    _h("0x0p+0"), _h("0x1.aa5aa5df25984p-5"), _h("0x1.c5e53aa362eb4p-4"),
    _h("0x1.526e57720db08p-3"), _h("0x1.bc2860d22477p-3"), _h("0x1.1058bc8a07ee1p-2"),
    _h("0x1.4043057b6ee09p-2"),
)
_LN2 = _h("0x1.62e42fefa39efp-1")
_LOGF_A = (-_h("0x1.00ea348b88334p-2"), _h("0x1.5575b0be00b6ap-2"), -_h("0x1.ffffef20a4123p-2"))

# sincosf: cosine c0..c4, sine s1..s3 (sin x = x + s1 x^3 + ...), pi/2 and 2/pi * 2^24.
_C = (1.0, -_h("0x1.ffffffd0c621cp-2"), _h("0x1.55553e1068f19p-5"),
      -_h("0x1.6c087e89a359dp-10"),
      _h("0x1.99343027bf8c3p-16"))
_S = (-_h("0x1.555545995a603p-3"), _h("0x1.1107605230bc4p-7"), -_h("0x1.994eb3774cf24p-13"))
_HPI = _h("0x1.921FB54442D18p0")
_HPI_INV_2_24 = _h("0x1.45F306DC9C883p+23")
_TOP12_PIO4 = 0x3F4      # abstop12((float) pi/4): |y| < 0.75 uses the polynomial directly
_TOP12_TINY = 0x398      # abstop12(0x1p-12f): sin y = y, cos y = 1
_TWO_PI = 2.0 * math.pi  # TF: 2.0f * M_PI in double
_EPS_BITS = 0x33D6BF95   # float32(1e-7), the clamp for u1 = 0


def _bits_to_f64(bits: torch.Tensor) -> torch.Tensor:
    return bits.to(torch.int32).view(torch.float32).to(torch.float64)


def logf(bits: torch.Tensor) -> torch.Tensor:
    """glibc ``logf`` of positive normal float32 values given by their bits (int64 tensor).

    .. math:: \\log x = k\\ln 2 + \\log c_i + p(z/c_i - 1),\\quad p(r) = r + A_0 r^2 + A_1 r^3
        + A_2 r^4\\ (\\text{pipelined})

    Returns float32.
    """
    dev = bits.device
    tmp = (bits - _LOGF_OFF) & 0xFFFFFFFF
    i = (tmp >> 19) & 15
    k = torch.where(tmp >= 1 << 31, tmp - (1 << 32), tmp) >> 23
    z = _bits_to_f64(bits - (tmp & (0x1FF << 23)))
    invc = torch.tensor(_LOGF_INVC, dtype=torch.float64, device=dev)[i]
    logc = torch.tensor(_LOGF_LOGC, dtype=torch.float64, device=dev)[i]
    r = z * invc - 1.0
    y0 = logc + k.to(torch.float64) * _LN2
    r2 = r * r
    y = _LOGF_A[1] * r + _LOGF_A[2]
    y = _LOGF_A[0] * r2 + y
    y = y * r2 + (y0 + r)
    return y.to(torch.float32)


def sincosf(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """glibc ``sincosf`` for float32 ``0 <= y < 120`` (the Box-Muller angles lie in [0, 2 pi)).

    Below 0.75 the polynomials apply directly; above, ``n = round(y 2/pi)`` and
    ``x = y - n pi/2`` (in double), the quadrant swapping and negating sine and cosine.
    """
    top = (y.view(torch.int32).to(torch.int64) >> 20) & 0x7FF
    x = y.to(torch.float64)
    r = x * _HPI_INV_2_24
    n = (r.to(torch.int32).to(torch.int64) + 0x800000) >> 24
    small = top < _TOP12_PIO4
    n = torch.where(small, torch.zeros_like(n), n)
    x = torch.where(small, x, x - n.to(torch.float64) * _HPI)
    sign = torch.where(((n & 3) == 1) | ((n & 3) == 2), -1.0, 1.0).to(torch.float64)
    x2 = x * x
    xs = x * sign
    x4 = x2 * x2
    x3 = x2 * xs
    c2 = _C[3] + x2 * _C[4]
    s1 = _S[1] + x2 * _S[2]
    c1 = _C[0] + x2 * _C[1]
    x5 = x3 * x2
    x6 = x4 * x2
    s = xs + x3 * _S[0]
    c = c1 + x4 * _C[2]
    sv = (s + x5 * s1).to(torch.float32)
    cv = (c + x6 * c2).to(torch.float32)
    cv = torch.where((n & 2) != 0, -cv, cv)
    odd = (n & 1) != 0
    sin, cos = torch.where(odd, cv, sv), torch.where(odd, sv, cv)
    tiny = top < _TOP12_TINY
    sin = torch.where(tiny, y, sin)
    cos = torch.where(tiny, torch.ones_like(cos), cos)
    return sin, cos


def radius(m: torch.Tensor) -> torch.Tensor:
    """``sqrtf(-2 logf(u1))`` for ``u1 = m 2^-23`` (``m`` in [0, 2^23); 0 clamped to 1e-7f)."""
    m = m.to(torch.int64)
    u1 = (m.to(torch.float64) * 2.0**-23).to(torch.float32)
    bits = torch.where(m == 0, _EPS_BITS, u1.view(torch.int32).to(torch.int64))
    # torch's float32 CPU sqrt is not correctly rounded (1 ulp off, measured); sqrt in float64
    # rounded once to float32 is (53 >= 2*24 + 2), i.e. equal to C's sqrtf.
    return torch.sqrt((-2.0 * logf(bits)).to(torch.float64)).to(torch.float32)


def angle(m: torch.Tensor) -> torch.Tensor:
    """``float32(2 pi * m 2^-23)``: the Box-Muller angle for the low 23 bits ``m``."""
    return (m.to(torch.int64).to(torch.float64) * (_TWO_PI * 2.0**-23)).to(torch.float32)


class BoxMuller:
    """Box-Muller pairs ``(sin, cos)(angle(b)) * radius(a)`` from uint32 words.

    ``tabulated`` instances gather from per-device tables of all 2^23 radii and (sin, cos)
    pairs; the others evaluate :func:`radius` and :func:`sincosf` directly. Both give the
    same bits.
    """

    _tables: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # noqa: RUF012
    _drawn: dict[str, int] = {}  # noqa: RUF012 - normal values requested per device so far
    _lock = threading.Lock()
    #: The tables are built by the first call after earlier calls requested this many normal
    #: values on a device (one tensor alone never builds them): a rent-or-buy rule, never worse
    #: than about twice the cheaper choice. On CPU the direct NumPy path costs about twice a
    #: table gather per value (DRAM-latency bound), so the 96 MiB tables pay off only after
    #: tens of millions of values.
    TABLE_THRESHOLD = 1 << 26
    #: ... and only by a call of at least this many values, so that building the 96 MiB
    #: (12 bytes per entry) costs that call at most 0.1x its float32 output: the memory bound
    #: every iid sampler keeps. Smaller calls evaluate directly.
    TABLE_MIN_CALL = 10 * 12 * DOMAIN // 4

    def __init__(self, device: torch.device, tabulated: bool) -> None:
        self.device = device
        self.tables = self._get_tables(device) if tabulated else None

    @classmethod
    def for_size(cls, n: int, device: torch.device) -> BoxMuller:
        """The evaluator for ``n`` more outputs: tables once they pay off (see
        :attr:`TABLE_THRESHOLD` and :attr:`TABLE_MIN_CALL`)."""
        key = str(device)
        with cls._lock:  # earlier calls only: one tensor alone never builds the tables
            drawn = cls._drawn.get(key, 0)
            cls._drawn[key] = drawn + n
            built = key in cls._tables
        return cls(device, built or (drawn >= cls.TABLE_THRESHOLD and n >= cls.TABLE_MIN_CALL))

    @classmethod
    def _get_tables(cls, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        with cls._lock:
            if key not in cls._tables and device.type == "cpu":
                rad = empty((DOMAIN,), torch.float32, device)   # huge pages on CPU
                sc = empty((DOMAIN, 2), torch.float32, device)
                rad_np, sc_np = rad.numpy(), sc.numpy()

                def fill(a: int, b: int) -> None:  # bounded pieces on the worker threads
                    import numpy as np

                    for p in range(a, b, PIECE):
                        m = np.arange(p, min(b, p + PIECE), dtype=np.int64)
                        _radius_np(m, rad_np[p:p + len(m)])
                        _sincos_np(m, sc_np[p:p + len(m), 0], sc_np[p:p + len(m), 1])

                for_chunks(DOMAIN, device, fill, chunk=1 << 18)
                cls._tables[key] = (rad, sc.view(torch.int64).view(-1))
            if key not in cls._tables:
                rad = empty((DOMAIN,), torch.float32, device)
                sc = empty((DOMAIN, 2), torch.float32, device)
                step = 1 << 20
                for a in range(0, DOMAIN, step):
                    m = torch.arange(a, a + step, dtype=torch.int64, device=device)
                    rad[a:a + step] = radius(m)
                    s, c = sincosf(angle(m))
                    sc[a:a + step, 0] = s
                    sc[a:a + step, 1] = c
                cls._tables[key] = (rad, sc.view(torch.int64).view(-1))
            return cls._tables[key]

    def pair(self, wa: torch.Tensor, wb: torch.Tensor, out_sin: torch.Tensor,
             out_cos: torch.Tensor) -> None:
        """Write the two normals of the word pair ``(wa, wb)`` (int32 uint32 bits)."""
        if self.device.type == "cpu":
            if self.tables is None:
                box_muller_numpy(wa.numpy(), wb.numpy(), out_sin.numpy(), out_cos.numpy())
            else:
                _gather_numpy(self.tables, wa.numpy(), wb.numpy(), out_sin.numpy(),
                              out_cos.numpy())
            return
        ma = torch.bitwise_and(wa, _MANT)
        mb = torch.bitwise_and(wb, _MANT)
        if self.tables is None:
            r = radius(ma)
            s, c = sincosf(angle(mb))
        else:
            rad, sc = self.tables
            r = rad.index_select(0, ma)
            both = sc.index_select(0, mb).view(torch.float32).view(-1, 2)
            s, c = both[:, 0], both[:, 1]
        torch.mul(s, r, out=out_sin)
        torch.mul(c, r, out=out_cos)


def _gather_numpy(tables: tuple[torch.Tensor, torch.Tensor], wa: Any, wb: Any, out_sin: Any,
                  out_cos: Any) -> None:
    """The table path with NumPy gathers (CPU): torch's per-op cost dominated the small
    arrays of the truncated normal's retries."""
    import numpy as np

    rad, sc = tables[0].numpy(), tables[1].numpy()
    for a in range(0, len(wa), PIECE):
        b = min(len(wa), a + PIECE)
        r = rad.take(wa[a:b] & np.int32(_MANT))
        both = sc.take(wb[a:b] & np.int32(_MANT)).view(np.float32).reshape(-1, 2)
        np.multiply(both[:, 0], r, out=out_sin[a:b])
        np.multiply(both[:, 1], r, out=out_cos[a:b])


# -- the same emulation in NumPy, over cache-sized pieces (the CPU direct path) ----------
# Same float64 operations in the same order as radius() and sincosf() (so the same bits), as
# in-place ufuncs over pieces whose float64 temporaries stay in cache: about as fast per value
# as gathering from the tables (DRAM-latency bound), without building them.
#: Values per piece: ~10 float64 temporaries of 64 KiB each stay in L2.
PIECE = 1 << 13


def _np_tables() -> tuple[Any, Any]:
    import numpy as np

    return np.array(_LOGF_INVC), np.array(_LOGF_LOGC)


def _radius_np(m: Any, out: Any) -> None:
    """``sqrtf(-2 logf(m 2^-23))`` (m = 0 -> 1e-7f) into float32 ``out`` (m: int64).

    The same float64 operations in the same order as :func:`radius` (checked equal on all
    2^23 inputs), with fewer passes: ``u1`` is exact in float32 (``m < 2^23``), and the
    exponent ``k`` is the int32 view of ``tmp`` shifted.
    """
    import numpy as np

    invc_t, logc_t = _np_tables()
    u1 = m.astype(np.float32)
    u1 *= np.float32(2.0**-23)
    bits = u1.view(np.int32).astype(np.int64)
    if m.min() == 0:
        bits[m == 0] = _EPS_BITS
    tmp = bits - _LOGF_OFF
    tmp &= 0xFFFFFFFF
    i = tmp >> 19
    i &= 15
    y0 = (tmp.astype(np.uint32).view(np.int32) >> 23).astype(np.float64)
    tmp &= 0x1FF << 23
    np.subtract(bits, tmp, out=bits)
    z = bits.astype(np.int32).view(np.float32).astype(np.float64)
    r = z * invc_t[i]
    r -= 1.0
    y0 *= _LN2
    y0 += logc_t[i]
    r2 = r * r
    a0, a1, a2 = _LOGF_A
    y = r * a1
    y += a2
    y += a0 * r2
    y *= r2
    y0 += r
    y += y0
    lg = y.astype(np.float32)
    lg *= np.float32(-2.0)
    np.sqrt(lg.astype(np.float64), out=y)
    out[...] = y


def _sincos_np(m: Any, out_sin: Any, out_cos: Any) -> None:
    """glibc ``sincosf`` of ``float32(2 pi m 2^-23)`` into float32 ``out_sin``/``out_cos``.

    The same float64 operations as :func:`sincosf` (checked equal on all 2^23 inputs) with
    fewer passes: below pi/4 the rounding ``n = round(y 2/pi)`` is 0 anyway, so the small-angle
    branch needs no mask; the sign of quadrants 1 and 2 is ``1 - ((n + 1) & 2)``; the tiny-angle
    fix-up (``y < 2^-12``, i.e. ``m < 327``) runs only when such an ``m`` occurs.
    """
    import numpy as np

    x = m.astype(np.float64)
    x *= _TWO_PI * 2.0**-23
    y = x.astype(np.float32)
    x[...] = y
    n = (x * _HPI_INV_2_24).astype(np.int32)
    n += 0x800000
    n >>= 24
    t = n.astype(np.float64)
    t *= _HPI
    x -= t
    q = n + 1
    q &= 2
    sign = q.astype(np.float64)
    np.subtract(1.0, sign, out=sign)
    c, s = _C, _S
    x2 = x * x
    xs = x * sign
    x4 = x2 * x2
    x3 = x2 * xs
    c2 = x2 * c[4]
    c2 += c[3]
    s1 = x2 * s[2]
    s1 += s[1]
    c1 = x2 * c[1]
    c1 += c[0]
    x5 = x3 * x2
    x6 = x4 * x2
    sv = x3 * s[0]
    sv += xs
    cv = x4 * c[2]
    cv += c1
    x5 *= s1
    sv += x5
    x6 *= c2
    cv += x6
    sf = sv.astype(np.float32)
    cf = cv.astype(np.float32)
    np.negative(cf, out=cf, where=(n & 2) != 0)
    odd = (n & 1) != 0
    np.copyto(out_sin, sf)
    np.copyto(out_cos, cf)
    np.copyto(out_sin, cf, where=odd)
    np.copyto(out_cos, sf, where=odd)
    if m.min() < 400:
        tiny = (y.view(np.int32) >> 20) < _TOP12_TINY
        out_sin[tiny] = y[tiny]
        out_cos[tiny] = 1.0


def box_muller_numpy(wa: Any, wb: Any, out_sin: Any, out_cos: Any) -> None:
    """``(sin, cos)(angle(wb)) * radius(wa)`` for int32 word arrays (uint32 bits).

    Writes float32 ``out_sin``/``out_cos`` (views of any stride), piece by piece.
    """
    import numpy as np

    n = len(wa)
    for a in range(0, n, PIECE):
        b = min(n, a + PIECE)
        ma = wa[a:b].astype(np.int64) & _MANT
        mb = wb[a:b].astype(np.int64) & _MANT
        r = np.empty(b - a, np.float32)
        _radius_np(ma, r)
        _sincos_np(mb, out_sin[a:b], out_cos[a:b])
        out_sin[a:b] *= r
        out_cos[a:b] *= r
