"""Typed interface of the optional C extension ``kerasinit.bridge.rng._tf_native``.

Addresses are raw float32 / uint32 buffer addresses (``tensor.data_ptr()``); the caller
guarantees the buffers hold the values written. The samplers write ``n`` values from flat
index ``4 * start`` on: contiguously from ``addr``, or, given ``shape`` and ``strides`` (in
elements, all positive), into the row-major order of that view whose element ``[0, ..., 0]``
is at ``addr``. The loops release the GIL.
"""

def abi() -> int:
    """Interface version (1)."""

def simd(level: int = ..., /) -> int:
    """The kernel variant in use (0 portable C, 1 AVX2, 2 AVX-512F; import picks the best the
    CPU runs); with ``level``, select it and return the previous one (for tests; not
    thread-safe)."""

def uniform(addr: int, n: int, k0: int, k1: int, c2: int, c3: int, start_block: int,
            span: float, low: float, shape: tuple[int, ...] | None = None,
            strides: tuple[int, ...] | None = None, /) -> None:
    """``n`` values of ``tf.random.stateless_uniform`` from block ``start_block`` on."""

def normal(addr: int, n: int, k0: int, k1: int, c2: int, c3: int, start_block: int,
           stddev: float, mean: float, shape: tuple[int, ...] | None = None,
           strides: tuple[int, ...] | None = None, /) -> None:
    """``n`` values of ``tf.random.stateless_normal`` from block ``start_block`` on."""

def truncated_normal(addr: int, n: int, k0: int, k1: int, c2: int, c3: int, start_group: int,
                     stddev: float, mean: float, shape: tuple[int, ...] | None = None,
                     strides: tuple[int, ...] | None = None, /) -> None:
    """``n`` values of ``tf.random.stateless_truncated_normal`` from group ``start_group`` on."""

def philox(addr: int, n: int, k0: int, k1: int, c2: int, c3: int, start: int, stride: int,
           /) -> None:
    """``n`` Philox-4x32-10 blocks (four uint32 each) at offsets ``start + stride * j``."""

def libm(radius_addr: int, sin_addr: int, cos_addr: int, start: int, n: int, /) -> None:
    """Box-Muller radius and (sin, cos) of the angle for ``m`` in ``[start, start + n)``."""
