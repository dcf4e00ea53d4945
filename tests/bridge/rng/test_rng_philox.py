"""Philox-4x32-10 and TF's seed handling: known answers, vectorized = scalar, seed rules."""

from __future__ import annotations

import pytest
import torch

from kerasinit.bridge.rng import philox, tensorflow
from kerasinit.bridge.rng.philox import M32, philox4x32, philox_words

CPU = torch.device("cpu")


@pytest.mark.parametrize(("counter", "key", "expected"), [
    # Random123 known-answer vectors for philox4x32_10.
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((M32,) * 4, (M32, M32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_known_answers(counter: tuple[int, int, int, int], key: tuple[int, int],
                       expected: tuple[int, ...]) -> None:
    assert philox4x32(counter, key) == expected


def _vectorized(key: tuple[int, int], c2: int, c3: int, start: int, count: int,
                stride: int = 1) -> list[tuple[int, ...]]:
    w = philox_words(key, c2, c3, start, count, CPU, stride=stride)
    cols = [[int(x) & M32 for x in t.tolist()] for t in w]
    return list(zip(*cols, strict=True))


@pytest.fixture(params=[True, False], ids=["numpy-cpu", "torch-ops"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both round implementations: NumPy ufuncs (CPU default) and torch ops (CUDA path)."""
    monkeypatch.setattr(philox, "NUMPY_ON_CPU", request.param)
    return bool(request.param)


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("start", "count", "stride"), [
    (0, 1, 1), (0, 37, 1), (2**32 - 40, 40, 1), (2**32 + 3, 17, 1), (5 * 256, 9, 256),
    (2**40 + 7, 5, 3),
])
def test_vectorized_equals_scalar(start: int, count: int, stride: int) -> None:
    key, c2, c3 = (0xDEADBEEF, 0x01234567), 0x89ABCDEF, 0xFFFFFFFF
    got = _vectorized(key, c2, c3, start, count, stride)
    for j, words in enumerate(got):
        off = start + stride * j
        assert words == philox4x32((off & M32, off >> 32, c2, c3), key)


def test_range_may_not_cross_high_word() -> None:
    with pytest.raises(ValueError, match="must not cross"):
        philox_words((1, 2), 3, 4, 2**32 - 1, 2, CPU)


@pytest.mark.usefixtures("backend")
def test_explicit_counters() -> None:
    key = (7, 9)
    counters = torch.tensor([5, 0, M32, 1000], dtype=torch.int64)
    w = philox_words(key, 1, 2, 0, 4, CPU, counters=counters, high=3)
    for j, c in enumerate(counters.tolist()):
        assert tuple(int(t[j]) & M32 for t in w) == philox4x32((c, 3, 1, 2), key)


def test_chunking_does_not_change_values(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = tensorflow.uniform((1001,), (3, 4), 0.0, 1.0)
    monkeypatch.setattr(philox, "CHUNK_BLOCKS", 7)
    torch.set_num_threads(2)
    assert torch.equal(tensorflow.uniform((1001,), (3, 4), 0.0, 1.0), ref)
    assert torch.equal(tensorflow.truncated_normal((1001,), (3, 4), 0.0, 1.0),
                       tensorflow.truncated_normal((1001,), (3, 4), 0.0, 1.0))


@pytest.mark.usefixtures("backend")
def test_torch_ops_path_matches_numpy_path_on_distributions() -> None:
    for fn in (tensorflow.uniform, tensorflow.normal, tensorflow.truncated_normal):
        a = fn((301, 7), (-9, 4), 0.5, 2.0)
        philox.NUMPY_ON_CPU = not philox.NUMPY_ON_CPU
        try:
            assert torch.equal(fn((301, 7), (-9, 4), 0.5, 2.0), a)
        finally:
            philox.NUMPY_ON_CPU = not philox.NUMPY_ON_CPU


def test_prefix_property() -> None:
    """TF fills row-major from one stream: a smaller tensor is a prefix of a larger one."""
    big = tensorflow.normal((10, 10), (5, 0), 0.0, 1.0).reshape(-1)
    assert torch.equal(tensorflow.normal((7, 3), (5, 0), 0.0, 1.0).reshape(-1), big[:21])


@pytest.mark.parametrize(("seed", "version", "expected"), [
    (0, "3", (0, 0)), (2**31 - 2, "3", (0, 0)), (2**31 - 1, "3", (1, 0)), (-1, "3", (2**31 - 3, 0)),
    (2**32 + 5, "3", ((2**32 + 5) % (2**31 - 2), 0)), (-3, "2", (-3, 0)), (2**40, "2", (2**40, 0)),
])
def test_seed_rules(seed: int, version: str, expected: tuple[int, int]) -> None:
    assert tensorflow.tf_seed_pair(seed, version) == expected


def test_seed_outside_int64_raises() -> None:
    with pytest.raises(OverflowError, match="int64"):
        tensorflow.tf_seed_pair(2**63)


def test_uniform_bits_are_low_mantissa() -> None:
    """u = float(0x3F800000 | (w & 0x7FFFFF)) - 1: multiples of 2^-23 in [0, 1)."""
    u = tensorflow.uniform((4096,), (1, 2), 0.0, 1.0)
    assert bool((u >= 0).all() and (u < 1).all())
    assert torch.equal(u * 2**23, torch.round(u * 2**23))
