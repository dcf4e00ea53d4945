"""Keras 3 on the JAX backend (x86-64 CPU), reproduced without JAX (``rng="jax"``).

Keras's JAX backend turns an int seed ``s`` into the raw uint32 key ``[s, 0]`` (a
``SeedGenerator`` at draw ``k``: ``[s, k]``) and calls ``jax.random.uniform(key, shape, float32,
minval, maxval)``, ``jax.random.normal(key, shape) * stddev + mean`` or
``jax.random.truncated_normal(key, -2, 2, shape) * stddev + mean``. JAX draws Threefry-2x32
words (:mod:`~kerasinit.bridge.rng.threefry`) and maps the top 23 bits of each word to
``f in [0, 1)``:

* uniform: ``max(lo, fma(f, hi - lo, lo))`` in float32;
* normal: ``sqrt(2) erf_inv(u)``, ``u = max(-1 + 2^-24, 2 f - 1 + 2^-24)``;
* truncated normal: ``sqrt(2) erf_inv(u)`` with ``u`` uniform between ``erf(-sqrt 2)`` and
  ``erf(sqrt 2)``, clipped to ``(-2, 2)``;

with XLA:CPU's ``erf_inv`` (:mod:`~kerasinit.bridge.rng.xla`), then Keras's ``x * stddev + mean``.

Two implementations give the same bits. The CPU path is the C extension ``_jax_native``
(:mod:`~kerasinit.bridge.rng.native`): Threefry and the transform in one pass per block of
values, FMAs as ``fmaf``, written straight into a float32 CPU output of any strides (other
dtypes and devices through a one-chunk buffer); no table. The NumPy fallback (no compiler at
install time, or ``KERASINIT_NATIVE=0``) emulates the FMAs in float64; as normal-family values
depend on 23 bits only, after 2^23 values of a family have been requested it builds the
family's 2^23-entry float32 table once per process (32 MiB, in bounded chunks) and gathers
from it.

Supported jaxlib versions (:data:`RNG_VERSIONS`): ``rng="jax"`` follows jax/jaxlib 0.10.x
(partitionable Threefry layout, verified on 0.10.2), ``rng="jax-0.4.38"`` the 0.4.38 line (the
original layout, one different FMA). Orthogonal factors the exact normal matrix with SciPy's
float32 LAPACK QR when SciPy is installed (what jaxlib's CPU QR calls: bit-exact with the same
SciPy build), else with a float64 torch QR (about 2e-6 relative).

Example:
    >>> t = sample_uniform((2, 3), jax_key(42), -1.0, 1.0, "0.10")
    >>> t.shape, bool(t.abs().max() < 1)
    (torch.Size([2, 3]), True)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch

from kerasinit.bridge.rng import native, threefry, xla
from kerasinit.bridge.rng import orthogonal as orth
from kerasinit.bridge.rng.philox import INLINE_VALUES, empty, for_chunks
from kerasinit.bridge.rng.sink import Target, as_tensor, write_flat
from kerasinit.mappings.errors import InitializerArgumentError

__all__ = [
    "RNG_VERSIONS", "jax_key", "sample_normal", "sample_orthogonal", "sample_truncated_normal",
    "sample_uniform", "version_of",
]

#: ``rng`` name -> the jaxlib line it reproduces.
RNG_VERSIONS: dict[str, str] = {"jax": "0.10", "jax-0.4.38": "0.4.38"}
_LAYOUT = {"0.10": "partitionable", "0.4.38": "original"}
#: Values per chunk: the float64 temporaries of the FMA emulation stay in cache.
CHUNK = 1 << 15
#: Values per chunk of the C kernels (no temporaries: only the thread hand-offs count).
NATIVE_CHUNK = 1 << 16
DOMAIN = 1 << 23
#: Whether a jaxlib line fuses ``log1p``'s tail as ``fma(q2, -1/2, q3 r)`` (else ``q3 r``).
FMA_HALF = {v: xla.FMA_PROFILES[v] == "half" for v in _LAYOUT}
_CPU = torch.device("cpu")
Key = tuple[int, int]


def version_of(rng: str) -> str:
    """The jaxlib line of a ``rng="jax..."`` name.

    Raises:
        InitializerArgumentError: an unsupported version (names the supported ones).

    Example:
        >>> version_of("jax"), version_of("jax-0.4.38")
        ('0.10', '0.4.38')
    """
    if rng not in RNG_VERSIONS:
        raise InitializerArgumentError(
            f"rng={rng!r} is not a supported JAX version. Supported: 'jax' (jax/jaxlib 0.10.x) "
            f"and 'jax-0.4.38' (the 0.4.38 line); other jaxlib versions lay out bits or fuse "
            f"multiply-adds differently and are not verified."
        )
    return RNG_VERSIONS[rng]


def jax_key(seed: int, call_index: int = 0) -> Key:
    """The Threefry key Keras's JAX backend uses: ``[seed, k]`` as uint32.

    Raises:
        InitializerArgumentError: ``seed`` outside ``[0, 2^32)`` (Keras raises
            ``OverflowError`` converting it to uint32).

    Example:
        >>> jax_key(7), jax_key(7, 3)
        ((7, 0), (7, 3))
    """
    if isinstance(seed, bool) or not 0 <= seed < 1 << 32:
        raise InitializerArgumentError(
            f"rng='jax' needs a seed in [0, 2**32 - 1] (Keras's JAX backend converts it to "
            f"uint32 and raises OverflowError otherwise). Received: seed={seed!r}."
        )
    return (seed, call_index & 0xFFFFFFFF)


def _f32(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float32))


_KIND = {"uniform": 0, "normal": 1, "truncated": 2}


def _fill(
    shape: Sequence[int], key: Key, version: str, family: str, a: float, b: float,
    out: Target | None = None,
) -> torch.Tensor:
    """Write the float32 values of one draw, chunk by chunk.

    ``family``: ``"uniform"`` (``a, b`` = minval, maxval) or ``"normal"`` / ``"truncated"``
    (``a, b`` = mean, stddev: Keras's ``x * stddev + mean``, two float32 ops).
    ``out``: a tensor of ``shape`` to write into, chunk by chunk (no full-size temporary):
    any strides (e.g. the transposed view of an ``nn.Linear`` weight), any floating dtype
    (the float32 values are cast), any device; its values are undefined if the call fails
    midway. The C kernels (:mod:`~kerasinit.bridge.rng.native`) write a float32 CPU ``out``
    of any strides directly; otherwise each chunk goes through a small buffer.
    """
    shape = tuple(int(d) for d in shape)
    n = math.prod(shape)
    if out is None:
        out = empty(shape, torch.float32, torch.device("cpu"))
    if tuple(out.shape) != shape:  # pragma: no cover - callers check
        raise ValueError(f"out has shape {tuple(out.shape)}, the draw {shape}")
    if n == 0:
        return as_tensor(out)
    nat = native.module("jax")
    if nat is not None:
        _fill_native(nat, n, key, version, family, a, b, out)
    else:
        _fill_numpy(n, shape, key, version, family, a, b, out)
    return as_tensor(out)


def _fill_native(nat: Any, n: int, key: Key, version: str, family: str, a: float, b: float,
                 out: Target) -> None:
    """The C kernels: straight into a float32 CPU ``out`` (any strides), else via buffers."""
    import numpy as np

    args = (_KIND[family], int(FMA_HALF[version]), int(_LAYOUT[version] == "original"),
            key[0], key[1], n)
    sd, mu = (b, a) if family != "uniform" else (1.0, 0.0)
    if isinstance(out, torch.Tensor) and out.dtype == torch.float32 and (
            out.device.type == "cpu"):
        t = out.detach()
        dims = [(s, st) for s, st in zip(t.shape, t.stride(), strict=True) if s != 1]
        if t.is_contiguous() or not dims:
            shp: tuple[int, ...] = ()
            strides: tuple[int, ...] = ()
        else:
            shp = tuple(d[0] for d in dims)
            strides = tuple(d[1] for d in dims)
        addr = t.data_ptr()

        if n <= INLINE_VALUES:  # one chunk, in this thread (see INLINE_VALUES)
            nat.sample(*args, 0, n, addr, 0, shp, strides, a, b, sd, mu)
            return

        def direct(lo: int, hi: int) -> None:
            nat.sample(*args, lo, hi, addr, 0, shp, strides, a, b, sd, mu)

        for_chunks(n, _CPU, direct, chunk=NATIVE_CHUNK)
        return

    def buffered(lo: int, hi: int) -> None:
        buf = np.empty(hi - lo, np.float32)
        nat.sample(*args, lo, hi, buf.ctypes.data, lo, (), (), a, b, sd, mu)
        write_flat(out, lo, torch.from_numpy(buf))

    # chunks of 1/64 of the tensor (so small half-precision tensors pay little), in this
    # thread up to INLINE_VALUES
    for_chunks(n, _CPU, buffered, chunk=min(CHUNK, max(1 << 10, n // 64)),
               inline=n <= INLINE_VALUES)


def _fill_numpy(n: int, shape: tuple[int, ...], key: Key, version: str, family: str,
                a: float, b: float, out: Target) -> None:
    """The NumPy fallback: the same arithmetic, FMAs emulated (:mod:`~kerasinit.bridge.rng.
    xla`), normal families from a 2^23-entry table once it pays off."""
    import numpy as np

    if family == "uniform":
        values: Callable[[Any], Any] = lambda m: xla.uniform_from_mantissa(m, a, b)  # noqa: E731
        sd = mu = None
    else:
        values = _Family.get(family, version).evaluator(shape)
        sd, mu = np.float32(b), np.float32(a)
    direct = (out.detach().view(-1).numpy() if isinstance(out, torch.Tensor)
              and out.is_contiguous() and out.dtype == torch.float32
              and out.device.type == "cpu" else None)
    layout = _LAYOUT[version]

    def fill(lo: int, hi: int) -> None:
        w = np.empty(hi - lo, np.uint32)
        threefry.words(key, n, lo, hi, layout, w)
        w >>= 9
        v = values(w)
        if sd is not None:
            v *= sd
            v += mu
        if direct is not None:
            direct[lo:hi] = v
        else:
            write_flat(out, lo, torch.from_numpy(v))

    for_chunks(n, _CPU, fill, chunk=CHUNK)


def sample_uniform(
    shape: Sequence[int], key: Key, minval: float, maxval: float, version: str,
    out: Target | None = None,
) -> torch.Tensor:
    """``jax.random.uniform(key, shape, float32, minval, maxval)`` (Keras layout, CPU)."""
    return _fill(shape, key, version, "uniform", minval, maxval, out)


def sample_normal(
    shape: Sequence[int], key: Key, mean: float, stddev: float, version: str,
    out: Target | None = None,
) -> torch.Tensor:
    """``jax.random.normal(key, shape) * stddev + mean`` in float32 (Keras's JAX backend)."""
    return _fill(shape, key, version, "normal", mean, stddev, out)


def sample_truncated_normal(
    shape: Sequence[int], key: Key, mean: float, stddev: float, version: str,
    out: Target | None = None,
) -> torch.Tensor:
    """``jax.random.truncated_normal(key, -2, 2, shape) * stddev + mean`` in float32."""
    return _fill(shape, key, version, "truncated", mean, stddev, out)


def sample_orthogonal(
    shape: Sequence[int], key: Key, gain: float, version: str,
    out: Target | None = None,
) -> torch.Tensor:
    """Keras's ``Orthogonal`` on JAX: QR of the normal matrix, sign fix, transpose, gain.

    With SciPy: its float32 LAPACK QR, as jaxlib calls it (bit-exact); without: a float64
    QR rounded once (about 2e-6 relative). Factored in place (see
    :mod:`~kerasinit.bridge.rng.orthogonal`); ``out`` as for :func:`sample_uniform`.
    """
    try:
        import scipy.linalg.lapack  # noqa: F401
    except ImportError:
        mode: orth.Mode = "float64"
    else:
        mode = "scipy"
    return orth.orthogonal(shape, gain,
                           lambda a: sample_normal(tuple(a.shape), key, 0.0, 1.0, version, a),
                           mode=mode, out=out)


class _Family:
    """One normal family of one jaxlib line: direct evaluation, then a table once it pays.

    The table costs about as much as evaluating 2^23 values directly, so it is built by the first
    call that comes after earlier calls of the family requested that many values in the process
    (a rent-or-buy rule: never worse than twice the cheaper choice; one tensor alone never
    builds it), in chunks, under a lock; and only by a call of at least :attr:`MIN_CALL`
    values, so that its 32 MiB cost that call at most 0.1x its float32 output (the memory
    bound every iid sampler keeps; smaller calls evaluate directly). Only the NumPy fallback
    uses it.
    """

    _all: dict[tuple[str, str], _Family] = {}  # noqa: RUF012
    _lock = threading.Lock()
    THRESHOLD = DOMAIN
    MIN_CALL = 10 * DOMAIN

    def __init__(self, family: str, version: str) -> None:
        self.family, self.version = family, version
        fn = xla.normal_from_mantissa if family == "normal" else xla.truncated_from_mantissa
        self.direct: Callable[[Any], Any] = lambda m: fn(m, version)
        self.requested = 0
        self.table: Any = None

    @classmethod
    def get(cls, family: str, version: str) -> _Family:
        with cls._lock:
            key = (family, version)
            if key not in cls._all:
                cls._all[key] = cls(family, version)
            return cls._all[key]

    def evaluator(self, shape: Sequence[int]) -> Callable[[Any], Any]:
        """Direct evaluation, or a table gather once the table pays off."""
        n = math.prod(int(d) for d in shape)
        with self._lock:  # earlier calls only: one tensor alone never builds the table
            build = (self.table is None and self.requested >= self.THRESHOLD
                     and n >= self.MIN_CALL)
            self.requested += n
        if build:
            self.build_table()
        table = self.table
        if table is None:
            return self.direct
        return lambda m: table[m]

    def build_table(self) -> Any:
        """All 2^23 values (float32), built in chunks on the worker threads."""
        import numpy as np

        with self._lock:
            if self.table is not None:
                return self.table
            table = np.empty(DOMAIN, np.float32)

            def fill(a: int, b: int) -> None:
                table[a:b] = self.direct(np.arange(a, b, dtype=np.uint32))

            for_chunks(DOMAIN, torch.device("cpu"), fill, chunk=CHUNK)
            self.table = table
            return table
