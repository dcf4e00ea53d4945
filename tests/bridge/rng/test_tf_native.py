"""The C kernels of ``rng="tensorflow"`` equal the NumPy implementation bit for bit.

Every check runs for each kernel variant the CPU has (portable C, AVX2, AVX-512): the two
transcendental steps on all 2^23 inputs, the Philox words (against the scalar reference,
including counters whose high word is nonzero or that cross a multiple of 2^32), and the three
samplers against the NumPy path (``native.disabled()``) over shapes, seeds, bounds, strided and
non-float32 outputs, chunk boundaries and truncated-normal groups that need several blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from kerasinit.bridge.rng import libm, native
from kerasinit.bridge.rng import tensorflow as tfr
from kerasinit.bridge.rng.philox import M32, philox4x32

if not native.available("tf"):
    pytest.skip("the _tf_native extension is not built (python setup.py build_ext --inplace)",
                allow_module_level=True)

N: Any = native.module("tf") or native._load("tf")
LEVELS = list(range(N.simd() + 1))  # the variants this CPU runs: portable C, AVX2, AVX-512


@pytest.fixture(params=LEVELS, ids=["portable", "avx2", "avx512"][:len(LEVELS)])
def level(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = N.simd(request.param)
    try:
        yield int(request.param)
    finally:
        N.simd(previous)


@pytest.fixture(scope="module")
def libm_numpy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = libm.DOMAIN
    m = np.arange(n, dtype=np.int64)
    r, s, c = (np.empty(n, np.float32) for _ in range(3))
    for p in range(0, n, libm.PIECE):
        q = slice(p, p + libm.PIECE)
        libm._radius_np(m[q], r[q])
        libm._sincos_np(m[q], s[q], c[q])
    return r, s, c


def _bits(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32)).view(np.int32)


def test_radius_and_sincos_on_all_inputs(
        level: int, libm_numpy: tuple[np.ndarray, ...]) -> None:
    n = libm.DOMAIN
    got = [np.empty(n, np.float32) for _ in range(3)]
    N.libm(got[0].ctypes.data, got[1].ctypes.data, got[2].ctypes.data, 0, n)
    for g, ref in zip(got, libm_numpy, strict=True):
        assert np.array_equal(_bits(g), _bits(ref))
    tail = [np.empty(3, np.float32) for _ in range(3)]  # an unaligned piece at the end
    N.libm(tail[0].ctypes.data, tail[1].ctypes.data, tail[2].ctypes.data, n - 3, 3)
    for g, ref in zip(tail, libm_numpy, strict=True):
        assert np.array_equal(_bits(g), _bits(ref[-3:]))


def _words(stream: tfr.Stream, offsets: list[int]) -> np.ndarray:
    (key, c2, c3) = stream
    return np.array([philox4x32((o & M32, o >> 32, c2, c3), key) for o in offsets],
                    dtype=np.uint32)


@pytest.mark.parametrize("start", [0, 5, (1 << 32) - 7, (1 << 33) - 3, (1 << 40) + 11])
@pytest.mark.parametrize("stride", [1, 256])
def test_philox_words_with_high_counter_words(level: int, start: int, stride: int) -> None:
    stream = tfr.key_counter((1234, 5))
    (k0, k1), c2, c3 = stream
    n = 37  # crosses 2^32 for the starts just below it, and a 16-block batch boundary
    got = np.empty((n, 4), np.uint32)
    N.philox(got.ctypes.data, n, k0, k1, c2, c3, start, stride)
    assert np.array_equal(got, _words(stream, [start + stride * j for j in range(n)]))


def _normals(words: np.ndarray) -> np.ndarray:
    """Box-Muller of each block's word pairs, as the NumPy path computes it: (n, 4)."""
    w = words.view(np.int32)
    out = np.empty((len(w), 4), np.float32)
    libm.box_muller_numpy(w[:, 0], w[:, 1], out[:, 0], out[:, 1])
    libm.box_muller_numpy(w[:, 2], w[:, 3], out[:, 2], out[:, 3])
    return out


@pytest.mark.parametrize("start", [(1 << 32) - 9, (3 << 32) + 1])
def test_uniform_and_normal_at_high_counters(level: int, start: int) -> None:
    stream = tfr.key_counter((99, 0))
    (k0, k1), c2, c3 = stream
    n = 4 * 21 + 3  # a partial last block
    ref_w = _words(stream, list(range(start, start + 22)))
    got = np.empty(n, np.float32)
    span, low = float(np.float32(2.5) - np.float32(-1.0)), -1.0
    N.uniform(got.ctypes.data, n, k0, k1, c2, c3, start, span, low)
    u = ((ref_w & 0x7FFFFF) | 0x3F800000).view(np.float32) - np.float32(1.0)
    ref = u * np.float32(span) + np.float32(low)
    assert np.array_equal(_bits(got), _bits(ref.reshape(-1)[:n]))
    N.normal(got.ctypes.data, n, k0, k1, c2, c3, start, 0.5, 3.0)
    ref = _normals(ref_w) * np.float32(0.5) + np.float32(3.0)
    assert np.array_equal(_bits(got), _bits(ref.reshape(-1)[:n]))


def _truncated_group(stream: tfr.Stream, g: int) -> tuple[list[float], int]:
    """The reference group ``g``: its four values and the number of blocks it read."""
    vals: list[float] = []
    step = 0
    while len(vals) < 4:
        cand = _normals(_words(stream, [g * 256 + step]))[0]
        vals += [float(x) for x in cand if abs(x) < 2.0]
        step += 1
    return vals[:4], step


@pytest.mark.parametrize("g", [167961, 16847986])  # seed 7: both need >= 3 blocks
def test_truncated_groups_needing_several_blocks(level: int, g: int) -> None:
    stream = tfr.key_counter((7, 0))
    (k0, k1), c2, c3 = stream
    ref, blocks = _truncated_group(stream, g)
    assert blocks >= 3
    for first in (g, g - 5):  # alone, and inside a batch with its neighbours
        n = 4 * (g - first) + 4
        got = np.empty(n, np.float32)
        N.truncated_normal(got.ctypes.data, n, k0, k1, c2, c3, first, 1.0, 0.0)
        assert np.array_equal(_bits(got[-4:]), _bits(ref))
        assert np.abs(got).max() < 2.0


SHAPES = [(1,), (3,), (4,), (5,), (63,), (64,), (65,), (7, 9), (33, 17, 3), (256, 257)]


@pytest.mark.parametrize("shape", SHAPES)
def test_samplers_equal_the_numpy_path(level: int, shape: tuple[int, ...]) -> None:
    for i, seed in enumerate([(0, 0), (42, 0), (2**31 - 3, 7), (-5, 2**40)]):
        lo, hi = [(-1.0, 1.0), (0.0, 1e-3), (-3e38, 3e38), (2.0, 2.0)][i]
        mu, sd = [(0.0, 1.0), (-2.0, 0.05), (1e30, 1e-30), (0.0, -1.0)][i]
        for fn, a, b in ((tfr.uniform, lo, hi), (tfr.normal, mu, sd),
                         (tfr.truncated_normal, mu, sd)):
            got = fn(shape, seed, a, b)
            with native.disabled():
                ref = fn(shape, seed, a, b)
            assert np.array_equal(_bits(got.numpy()), _bits(ref.numpy())), (fn, seed)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_strided_and_cast_outputs(level: int, dtype: torch.dtype) -> None:
    for fn, a, b in ((tfr.uniform, -0.5, 0.5), (tfr.normal, 0.0, 2.0),
                     (tfr.truncated_normal, 1.0, 0.5)):
        base = torch.zeros(70, 45, dtype=dtype)
        out = base.t()[:, 3:]                       # a (45, 67) strided view
        fn(out.shape, (11, 0), a, b, out=out)
        with native.disabled():
            ref = fn(out.shape, (11, 0), a, b).to(dtype)
        assert torch.equal(out, ref)
        assert torch.equal(base[:3], torch.zeros(3, 45, dtype=dtype))  # nothing else written


@pytest.mark.parametrize("chunk", [1, 5, 16, 17])
def test_chunk_boundaries(level: int, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tfr, "NATIVE_CHUNK", chunk)
    for shape in [(4 * 16 * 3 + 2,), (129, 5)]:
        for fn in (tfr.uniform, tfr.normal, tfr.truncated_normal):
            got = fn(shape, (3, 1), 0.0, 1.0)
            with native.disabled():
                ref = fn(shape, (3, 1), 0.0, 1.0)
            assert torch.equal(got, ref)
            strided = torch.empty(shape[::-1]).t()
            fn(shape, (3, 1), 0.0, 1.0, out=strided)
            assert torch.equal(strided, ref)


def test_large_tensor_many_retries_and_threads(level: int) -> None:
    """2^18 groups (about 45 000 need a second block) on the worker threads."""
    shape = (1024, 1024)
    for fn in (tfr.normal, tfr.truncated_normal):
        got = fn(shape, (2024, 0), 0.5, 2.0)
        with native.disabled():
            ref = fn(shape, (2024, 0), 0.5, 2.0)
        assert torch.equal(got, ref)


def test_native_module_is_used_and_switchable() -> None:
    assert native.module("tf") is N
    with native.disabled():
        assert native.module("tf") is None
    assert N.abi() == native.ABI["tf"]
    with pytest.raises(ValueError, match="0, 1 or 2"):
        N.simd(3)


def test_permuted_views_are_written_in_place(level: int) -> None:
    """A conv kernel's Keras view (kh, kw, in, out) of a torch (out, in, kh, kw) weight, and a
    view with a length-1 axis and an odd stride, written by the kernel's own strided walk."""
    weight = torch.zeros(8, 3, 5, 4)
    views = [weight.permute(2, 3, 1, 0), torch.zeros(6, 1, 40)[:, :, ::3].transpose(0, 2)]
    for view in views:
        for fn, a, b in ((tfr.uniform, -1.0, 1.0), (tfr.normal, 0.0, 1.0),
                         (tfr.truncated_normal, 0.0, 1.0)):
            fn(view.shape, (5, 0), a, b, out=view)
            with native.disabled():
                ref = fn(view.shape, (5, 0), a, b)
            assert torch.equal(view, ref)


def test_kernel_refuses_a_view_it_would_overrun() -> None:
    buf = np.zeros(12, np.float32)
    with pytest.raises(ValueError, match="past the end"):
        N.uniform(buf.ctypes.data, 13, 1, 2, 3, 4, 0, 1.0, 0.0, (3, 4), (4, 1))
    with pytest.raises(ValueError, match="past the end"):
        N.normal(buf.ctypes.data, 9, 1, 2, 3, 4, 1, 1.0, 0.0, (3, 4), (4, 1))
    with pytest.raises(ValueError, match="tuples"):
        N.truncated_normal(buf.ctypes.data, 4, 1, 2, 3, 4, 0, 1.0, 0.0, (3, 4), (4,))
    assert not buf.any()


@pytest.mark.parametrize("shape", [(3, 2500), (40, 1030), (20, 1024), (600, 3), (5, 1)])
@pytest.mark.parametrize("chunk", [7, 1 << 16])
def test_transposed_views_in_tiles(level: int, shape: tuple[int, int], chunk: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows longer than a tile (segments of 1024 columns), exactly one tile, many short rows
    per tile, and chunks that start and end inside rows."""
    monkeypatch.setattr(tfr, "NATIVE_CHUNK", chunk)
    for fn, a, b in ((tfr.uniform, -1.0, 1.0), (tfr.normal, 0.5, 2.0),
                     (tfr.truncated_normal, 0.0, 1.0)):
        out = torch.full(shape[::-1], float("nan")).t()
        fn(shape, (21, 3), a, b, out=out)
        with native.disabled():
            ref = fn(shape, (21, 3), a, b)
        assert torch.equal(out, ref)
