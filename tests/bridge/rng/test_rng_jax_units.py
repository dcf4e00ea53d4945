"""The pieces of rng="jax" without JAX: Threefry layouts, exact FMAs, tables, seeds, threads."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import keras_jax, threefry, xla
from kerasinit.mappings.errors import InitializerArgumentError, KerasInitError


def _reference_words(key: tuple[int, int], n: int, layout: str) -> list[int]:
    """JAX's words from the scalar Threefry, straight from the two layout definitions."""
    if layout == "partitionable":
        return [a ^ b for a, b in (threefry.threefry2x32(key, (i >> 32, i)) for i in range(n))]
    half = -(-n // 2)
    counters = [*range(n), *([0] if n % 2 else [])]
    pairs = [threefry.threefry2x32(key, (counters[i], counters[half + i])) for i in range(half)]
    return ([p[0] for p in pairs] + [p[1] for p in pairs])[:n]


@pytest.mark.parametrize("layout", threefry.LAYOUTS)
@pytest.mark.parametrize("n", [1, 2, 5, 8, 33])
def test_chunked_words_equal_the_scalar_reference(layout: str, n: int) -> None:
    key = (123456789, 42)
    ref = _reference_words(key, n, layout)
    for start, stop in [(0, n), (0, n // 2), (n // 3, n), (n - 1, n)]:
        if stop <= start:
            continue
        out = np.empty(stop - start, np.uint32)
        threefry.words(key, n, start, stop, layout, out)
        assert out.tolist() == ref[start:stop], (start, stop)


def test_partitionable_chunk_must_not_cross_2_to_the_32() -> None:
    with pytest.raises(ValueError, match="2\\^32"):
        threefry.words((0, 0), 1 << 33, (1 << 32) - 1, (1 << 32) + 1, "partitionable",
                       np.empty(2, np.uint32))


def _exact_fma32(a: float, b: float, c: float) -> float:
    """Correctly rounded float32 of a*b+c via fractions (round half to even)."""
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    lo = float(np.float32(float(exact)))          # within one float32 ulp of the answer
    cands = sorted({lo, float(np.nextafter(np.float32(lo), np.float32(np.inf))),
                    float(np.nextafter(np.float32(lo), np.float32(-np.inf)))})
    best = min(cands, key=lambda v: (abs(Fraction(v) - exact),
                                     int(np.float32(v).view(np.int32)) & 1))
    return best


def test_fma_is_correctly_rounded_where_float64_rounds_twice() -> None:
    # (8 + 2^-20)(8 - 2^-20) = 64 - 2^-40; + (2^30 + 128): float64 lands on the float32 tie
    # 2^30 + 192 and rounds to even (2^30 + 256); the exact sum is below the tie.
    a, b, c = np.float32(8 + 2**-20), np.float32(8 - 2**-20), np.float32(2**30 + 128)
    assert float(np.float32(np.float64(a) * np.float64(b) + np.float64(c))) == 2**30 + 256
    assert float(xla.fma(np.array([a]), b, c)[0]) == 2**30 + 128 == _exact_fma32(a, b, c)


def test_fma_matches_exact_arithmetic_on_random_and_tie_heavy_inputs() -> None:
    rng = random.Random(5)
    a, b, c = [], [], []
    for _ in range(3000):
        x = np.float32(rng.uniform(-4, 4))
        y = np.float32(rng.uniform(-4, 4))
        z = np.float32(rng.choice([rng.uniform(-8, 8), 2.0 ** rng.randint(10, 40),
                                   -float(x) * float(y)]))
        a.append(x), b.append(y), c.append(z)
    got = xla.fma(np.array(a, np.float32), np.array(b, np.float32), np.array(c, np.float32))
    want = [_exact_fma32(float(x), float(y), float(z)) for x, y, z in zip(a, b, c, strict=True)]
    assert got.tolist() == want


def test_table_equals_direct_evaluation() -> None:
    family = keras_jax._Family("truncated", "0.10")
    table = family.build_table()
    m = np.random.default_rng(0).integers(0, 1 << 23, 20000, dtype=np.uint32)
    np.testing.assert_array_equal(table[m].view(np.int32), family.direct(m).view(np.int32))


def test_rent_or_buy_builds_the_table_after_two_to_the_23_values() -> None:
    """Counted over earlier calls only: one tensor, however large, never builds the table."""
    family = keras_jax._Family("normal", "0.4.38")
    family.MIN_CALL = 0  # the rent-or-buy rule alone (the size rule is tested below)
    family.build_table = lambda: setattr(family, "table", np.zeros(1, np.float32))  # type: ignore[method-assign]
    assert family.evaluator((1 << 22,)) is family.direct
    assert family.evaluator((1 << 22,)) is family.direct       # 2^22 requested before it
    assert family.table is None
    assert family.evaluator((16,)) is not family.direct        # 2^23 requested before it
    assert family.table is not None
    alone = keras_jax._Family("normal", "0.4.38")
    alone.build_table = lambda: setattr(alone, "table", np.zeros(1, np.float32))  # type: ignore[method-assign]
    assert alone.evaluator((1 << 24,)) is alone.direct and alone.table is None


def test_only_a_call_ten_times_the_table_builds_it() -> None:
    """The 32 MiB table costs the call that builds it at most 0.1x its float32 output: past
    the rent-or-buy threshold, calls below ``10 * 2^23`` values still evaluate directly."""
    assert keras_jax._Family.MIN_CALL == 10 * keras_jax.DOMAIN
    family = keras_jax._Family("normal", "0.10")
    family.build_table = lambda: setattr(family, "table", np.zeros(1, np.float32))  # type: ignore[method-assign]
    family.requested = keras_jax.DOMAIN
    assert family.evaluator((4096, 4096)) is family.direct and family.table is None
    assert family.evaluator((10 * keras_jax.DOMAIN - 1,)) is family.direct
    assert family.evaluator((10 * keras_jax.DOMAIN,)) is not family.direct
    assert family.evaluator((16,)) is not family.direct            # built: kept


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seeds_outside_uint32_are_refused_before_writing(seed: int) -> None:
    w = torch.zeros(3, 4)
    with pytest.raises(KerasInitError, match="2\\*\\*32"):
        kerasinit.get("glorot_uniform", seed=seed, rng="jax")(w)
    assert not w.any()


def test_unsupported_jax_version_names_the_supported_ones() -> None:
    with pytest.raises(InitializerArgumentError, match=r"0\.4\.38"):
        kerasinit.get("he_normal", seed=1, rng="jax-0.6")
    with pytest.raises(InitializerArgumentError, match="Keras 3"):
        kerasinit.get("he_normal", seed=1, rng="jax", keras_version="2")(torch.empty(2, 2))


def test_partitionable_prefix_and_original_layout_difference() -> None:
    """0.10: values depend on the flat index only (a prefix of a longer draw); 0.4.38 not."""
    k = keras_jax.jax_key(3)
    short = keras_jax.sample_normal((5,), k, 0.0, 1.0, "0.10")
    long = keras_jax.sample_normal((9,), k, 0.0, 1.0, "0.10")
    assert torch.equal(short, long[:5])
    old = keras_jax.sample_normal((9,), k, 0.0, 1.0, "0.4.38")
    assert not torch.equal(old[:5], short)


def test_results_do_not_depend_on_torch_threads() -> None:
    init = kerasinit.get("he_normal", seed=11, rng="jax")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = init(torch.empty(300, 400))
        torch.set_num_threads(2)
        two = init(torch.empty(300, 400))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


def test_seed_generator_draw_k_uses_key_seed_k() -> None:
    assert keras_jax.jax_key(7, 3) == (7, 3)
    a = keras_jax.sample_uniform((4,), (7, 3), 0.0, 1.0, "0.10")
    b = keras_jax.sample_uniform((4,), (7, 0), 0.0, 1.0, "0.10")
    assert not torch.equal(a, b)


@pytest.mark.parametrize("rng", ["jax", "jax-0.4.38"])
def test_in_place_chunked_writes_equal_the_whole_draw(rng: str) -> None:
    """An nn.Linear weight (transposed Keras view, several chunks of whole rows, 1000 columns
    not dividing the chunk) gets the same bits as the Keras-layout draw, transposed."""
    layer = torch.nn.Linear(97, 1000)                  # Keras kernel (97, 1000): 97k values
    for name in ("glorot_uniform", "he_normal", "random_normal"):
        init = kerasinit.get(name, seed=5, rng=rng)
        init(layer.weight)
        keras_kernel = init(torch.empty(97, 1000), layout="keras")
        assert torch.equal(layer.weight.detach(), keras_kernel.t())
    assert layer.weight.requires_grad
