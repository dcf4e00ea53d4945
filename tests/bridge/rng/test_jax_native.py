"""The C kernels of rng="jax" against the NumPy implementation, bit for bit.

The normal and truncated-normal transforms are checked on all 2^23 inputs (their SHA-256
equals that of the NumPy transform's output, computed with ``xla.normal_from_mantissa`` /
``truncated_from_mantissa``; the slow test recomputes it), for both jaxlib lines and every
kernel set (AVX-512, AVX2+FMA; the baseline build on every 16th input); uniform on sampled
inputs over many ranges, including subnormal, huge, infinite and NaN results; Threefry words on random keys, layouts, sizes and
chunk ranges; whole draws into contiguous, strided and non-float32 outputs.
"""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from kerasinit.bridge.rng import keras_jax, native, threefry, xla
from kerasinit.bridge.rng.sink import Columns

if not native.available("jax"):  # pragma: no cover - the build skipped the extension
    pytest.skip("the _jax_native extension is not built (python setup.py build_ext --inplace)",
                allow_module_level=True)
NAT = native.module("jax") or native._load("jax")
ALL = np.arange(1 << 23, dtype=np.uint32)
KINDS = {"uniform": 0, "normal": 1, "truncated": 2}
HALF = {"0.10": 1, "0.4.38": 0}
#: SHA-256 of the NumPy transform's float32 output (little endian) on all 2^23 mantissas.
DIGESTS = {
    ("normal", "0.10"): "9ffa4612027d27822ae3dddd2a30a923607e79184747632c3aa9e72ff0c27bc4",
    ("normal", "0.4.38"): "bce75e166cbc415fbc73cdb268d4365a129d7704d72e60ddd3acbe5811e873c2",
    ("truncated", "0.10"): "42243b5b1cac193a50777adf18dbb71f86c1e01baf103b3cdfbc801224ae30b0",
    ("truncated", "0.4.38"): "c5d32defd9749e1c461934b9a6884ab8cc58ff2a9eebe3b088f02ea44650682a",
}
NUMPY = {"normal": xla.normal_from_mantissa, "truncated": xla.truncated_from_mantissa}


LEVELS = {"generic": 0, "avx2+fma": 1, "avx512": 2}


@pytest.fixture(params=list(LEVELS))
def isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test runs with every kernel set this CPU can run (the others are skipped)."""
    before = NAT.isa(LEVELS[request.param])
    try:
        if NAT.isa(LEVELS[request.param]) != request.param:
            pytest.skip(f"this CPU cannot run the {request.param} kernels")
        yield request.param
    finally:
        NAT.isa(LEVELS[before])


def _transform(family: str, version: str, m: np.ndarray, a: float = 0.0,
               b: float = 0.0) -> np.ndarray:
    m = np.ascontiguousarray(m, np.uint32)
    out = np.empty(m.size, np.float32)
    NAT.transform(KINDS[family], HALF[version], m.ctypes.data, out.ctypes.data, m.size, a, b)
    return out


@pytest.mark.parametrize("version", ["0.10", "0.4.38"])
@pytest.mark.parametrize("family", ["normal", "truncated"])
def test_normal_families_on_every_input(family: str, version: str, isa: str) -> None:
    m = ALL if isa != "generic" else ALL[::16]  # the baseline build: every 16th input
    got = _transform(family, version, m)
    if isa != "generic":
        assert hashlib.sha256(got.astype("<f4").tobytes()).hexdigest() == DIGESTS[family, version]
    else:
        want = NUMPY[family](m, version)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.10", "0.4.38"])
@pytest.mark.parametrize("family", ["normal", "truncated"])
def test_digests_are_the_numpy_transform(family: str, version: str) -> None:
    want = np.concatenate([NUMPY[family](ALL[i:i + (1 << 20)], version)
                           for i in range(0, 1 << 23, 1 << 20)])
    assert hashlib.sha256(want.astype("<f4").tobytes()).hexdigest() == DIGESTS[family, version]
    np.testing.assert_array_equal(_transform(family, version, ALL).view(np.uint32),
                                  want.view(np.uint32))


RANGES = [(-0.05, 0.05), (0.0, 1.0), (-1.0, 1.0), (-0.0, 0.0), (0.0, -0.0), (3.0, -2.0),
          (1e-40, 3e-40), (-1e-39, 1e-39), (0.0, 1e-45), (1e-38, 1.5e-38), (-3e38, 3e38),
          (1e38, 3.4e38), (-3.4e38, -1e38), (0.0, float("inf")), (float("-inf"), 0.0),
          (float("nan"), 1.0), (0.0, float("nan")), (5.0, 5.0), (1.0, 1.0 + 2**-20),
          (-7.25e-3, 1.0e5), (123456.0, 123457.0)]


@pytest.mark.parametrize(("lo", "hi"), RANGES)
def test_uniform_on_sampled_inputs(lo: float, hi: float, isa: str) -> None:
    rng = np.random.default_rng(zlib.crc32(repr((lo, hi)).encode()))
    m = np.concatenate([np.array([0, 1, 2, (1 << 22), (1 << 23) - 2, (1 << 23) - 1]),
                        rng.integers(0, 1 << 23, 40000)]).astype(np.uint32)
    got = _transform("uniform", "0.10", m, lo, hi)
    with np.errstate(all="ignore"):
        want = xla.uniform_from_mantissa(m, lo, hi)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def _numpy_words(key: tuple[int, int], n: int, start: int, stop: int, layout: str) -> np.ndarray:
    out = np.empty(stop - start, np.uint32)
    threefry.words(key, n, start, stop, layout, out)
    return out


def _native_words(key: tuple[int, int], n: int, start: int, stop: int, layout: str) -> np.ndarray:
    out = np.empty(stop - start, np.uint32)
    NAT.words(key[0], key[1], n, start, stop, threefry.LAYOUTS.index(layout), out.ctypes.data)
    return out


@pytest.mark.parametrize("layout", threefry.LAYOUTS)
def test_threefry_words(layout: str, isa: str) -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 255, 256, 257, 1000, 4097, 70001):
        key = (int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32)))
        cuts = sorted({0, n, *(int(c) for c in rng.integers(0, n + 1, 4)), (n + 1) // 2})
        for start, stop in itertools.pairwise(cuts):
            np.testing.assert_array_equal(_native_words(key, n, start, stop, layout),
                                          _numpy_words(key, n, start, stop, layout))


def test_partitionable_words_across_two_to_the_32(isa: str) -> None:
    """The C kernel splits a range at 2^32 itself (the NumPy one needs the caller to)."""
    key, n, wall = (5, 9), (1 << 32) + 600, 1 << 32
    got = _native_words(key, n, wall - 300, wall + 300, "partitionable")
    want = np.concatenate([_numpy_words(key, n, wall - 300, wall, "partitionable"),
                           _numpy_words(key, n, wall, wall + 300, "partitionable")])
    np.testing.assert_array_equal(got, want)


def _draws() -> list[tuple[str, tuple[float, float]]]:
    return [("uniform", (-0.3, 0.7)), ("normal", (0.1, 0.05)), ("truncated", (-0.2, 1.5))]


def _sample(family: str, params: tuple[float, float], shape: tuple[int, ...], version: str,
            out: torch.Tensor | Columns | None = None) -> torch.Tensor:
    fn = {"uniform": keras_jax.sample_uniform, "normal": keras_jax.sample_normal,
          "truncated": keras_jax.sample_truncated_normal}[family]
    return fn(shape, (11, 3), params[0], params[1], version, out)


SHAPES = [(1,), (3,), (7, 5), (300, 257), (2, 3, 4, 5), (1, 70000), (97, 1000)]


@pytest.mark.parametrize("version", ["0.10", "0.4.38"])
@pytest.mark.parametrize(("family", "params"), _draws())
def test_whole_draws_native_equal_numpy(family: str, params: tuple[float, float],
                                        version: str) -> None:
    for shape in SHAPES:
        with native.disabled():
            want = _sample(family, params, shape, version)
        assert torch.equal(_sample(family, params, shape, version), want), shape
        # the transposed view of a torch-layout tensor (nn.Linear's weight for 2-D)
        rev = tuple(reversed(range(len(shape))))
        t = torch.zeros(tuple(reversed(shape)))
        _sample(family, params, shape, version, t.permute(*rev))
        assert torch.equal(t.permute(*rev), want), shape
        # a strided slice of a larger buffer, and other dtypes (cast from float32)
        big = torch.zeros(*shape[:-1], 2 * shape[-1])
        _sample(family, params, shape, version, big[..., ::2])
        assert torch.equal(big[..., ::2], want) and not big[..., 1::2].any(), shape
        for dtype in (torch.float64, torch.bfloat16):
            d = torch.zeros(shape, dtype=dtype)
            _sample(family, params, shape, version, d)
            assert torch.equal(d, want.to(dtype)), (shape, dtype)


def test_columns_target_native_equals_numpy() -> None:
    parts = [torch.zeros(5, 3), torch.zeros(5, 4)]
    _sample("normal", (0.0, 1.0), (5, 7), "0.10", Columns(parts))
    with native.disabled():
        want = _sample("normal", (0.0, 1.0), (5, 7), "0.10")
    assert torch.equal(torch.cat(parts, 1), want)


def test_native_path_builds_no_table() -> None:
    """The 32 MiB normal-family table is a NumPy-path device only."""
    family = keras_jax._Family.get("truncated", "0.4.38")
    before = family.requested
    _sample("truncated", (0.0, 1.0), (1 << 12, 1 << 11), "0.4.38")
    assert family.requested == before and family.table is None


def test_threads_and_chunks_do_not_change_values() -> None:
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _sample("normal", (0.0, 1.0), (700, 500), "0.10")
        torch.set_num_threads(2)
        two = _sample("normal", (0.0, 1.0), (700, 500), "0.10")
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


def test_offset_slices_scalars_and_unit_dims() -> None:
    """A contiguous slice with a storage offset, a 0-d tensor and a size-1 dimension with an
    arbitrary stride are written exactly where the NumPy path writes them."""
    big = torch.zeros(10, 300)
    _sample("normal", (0.0, 1.0), (3, 300), "0.10", big[2:5])
    with native.disabled():
        want = _sample("normal", (0.0, 1.0), (3, 300), "0.10")
    assert torch.equal(big[2:5], want) and not big[:2].any() and not big[5:].any()
    s = torch.zeros(())
    _sample("uniform", (0.0, 1.0), (), "0.4.38", s)
    with native.disabled():
        assert torch.equal(s, _sample("uniform", (0.0, 1.0), (), "0.4.38"))
    t = torch.zeros(5, 1, 7).transpose(0, 2)
    _sample("truncated", (0.5, 2.0), (7, 1, 5), "0.10", t)
    with native.disabled():
        assert torch.equal(t, _sample("truncated", (0.5, 2.0), (7, 1, 5), "0.10"))
