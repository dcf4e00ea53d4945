"""Seed semantics (issue 2 "Seeds"; reference §6).

* A seeded initializer (int seed in the config or ``seed=``) gives identical values on every
  call and across fresh ``get``s (Keras 3 / tf_keras >= 2.10 stateless semantics); different
  seeds differ.
* Unseeded: torch's global RNG (reproducible under ``torch.manual_seed``) or ``generator=``;
  ``generator=`` wins over a seed.
* A seeded call leaves ``torch.get_rng_state()`` unchanged.
* A Keras 3 ``SeedGenerator`` config seed advances per call (``advancing_seed``).
* Packed MHA ``in_proj_weight`` with a seed: every block restarts the same seed (Keras clones a
  seeded initializer per sub-kernel), so the q, k and v blocks are equal.
"""

from __future__ import annotations

import pytest
import torch

import kerasinit
from kerasinit import layouts

RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
          "lecun_normal", "variance_scaling", "random_normal", "random_uniform",
          "truncated_normal", "orthogonal"]
SEED_GENERATOR = {"module": "keras.random", "class_name": "SeedGenerator",
                  "config": {"seed": 7, "name": "seed_generator"}, "registered_name": None}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_identical_every_call_and_fresh_get(name: str) -> None:
    init = kerasinit.get(name, seed=42)
    a = init(torch.empty(24, 40)).clone()
    b = init(torch.empty(24, 40)).clone()
    c = kerasinit.get(name, seed=42)(torch.empty(24, 40))
    d = kerasinit.get({"class_name": name, "config": {"seed": 42}})(torch.empty(24, 40))
    assert torch.equal(a, b) and torch.equal(a, c) and torch.equal(a, d)
    other = kerasinit.get(name, seed=43)(torch.empty(24, 40))
    assert not torch.equal(a, other)
    assert a.unique().numel() > 900  # really random, not a constant fill


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_call_leaves_global_rng_untouched(name: str) -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    kerasinit.get(name, seed=5)(torch.empty(16, 32))
    kerasinit.get(name, seed=5)(torch.empty(2, 4, 3, 3))
    assert torch.equal(torch.get_rng_state(), state)
    # and an explicit generator is the only stream consumed
    kerasinit.get(name)(torch.empty(16, 32), generator=gen(1))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name", RANDOM)
def test_unseeded_uses_global_rng_reproducibly(name: str) -> None:
    init = kerasinit.get(name)
    torch.manual_seed(2024)
    a = init(torch.empty(20, 30)).clone()
    after_first = torch.get_rng_state()
    b = init(torch.empty(20, 30)).clone()
    torch.manual_seed(2024)
    c = init(torch.empty(20, 30)).clone()
    assert torch.equal(a, c)           # reproducible under torch.manual_seed
    assert not torch.equal(a, b)       # the global stream advanced between calls
    torch.manual_seed(2024)
    init(torch.empty(20, 30))
    assert torch.equal(torch.get_rng_state(), after_first)


@pytest.mark.parametrize("name", RANDOM)
def test_generator_wins_over_seed(name: str) -> None:
    seeded = kerasinit.get(name, seed=9)
    plain = kerasinit.get(name)
    a = seeded(torch.empty(12, 18), generator=gen(77))
    b = plain(torch.empty(12, 18), generator=gen(77))
    own = seeded(torch.empty(12, 18))
    assert torch.equal(a, b)
    assert not torch.equal(a, own)
    # the generator advances like torch.nn.init: two draws from one generator differ
    g = gen(77)
    first = plain(torch.empty(12, 18), generator=g).clone()
    second = plain(torch.empty(12, 18), generator=g)
    assert torch.equal(first, b) and not torch.equal(first, second)


def test_seed_zero_is_a_seed() -> None:
    """Keras 3.0-3.1 treated seed=0 as unseeded (§2.2 history); kerasinit follows >= 3.2."""
    init = kerasinit.get("he_normal", seed=0)
    torch.manual_seed(1)
    a = init(torch.empty(8, 8)).clone()
    torch.manual_seed(2)
    b = init(torch.empty(8, 8))
    assert torch.equal(a, b)


def test_seed_argument_replaces_config_seed_and_seed_generator() -> None:
    cfg = {"class_name": "RandomNormal", "config": {"seed": SEED_GENERATOR}}
    init = kerasinit.get(cfg, seed=3)
    assert init.spec.seed == 3 and not init.spec.advancing_seed
    a = init(torch.empty(50)).clone()
    assert torch.equal(a, init(torch.empty(50)))
    assert torch.equal(a, kerasinit.get("random_normal", seed=3)(torch.empty(50)))


def test_seed_generator_config_advances_per_call() -> None:
    cfg = {"class_name": "RandomNormal", "config": {"seed": SEED_GENERATOR, "stddev": 1.0}}
    init = kerasinit.get(cfg)
    assert init.spec.advancing_seed and init.spec.seed == 7
    draws = [init(torch.empty(64)).clone() for _ in range(3)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    assert not torch.equal(draws[0], draws[2])
    # a fresh initializer from the same config replays the same sequence, and no call
    # touches the global RNG
    state = torch.get_rng_state()
    again = kerasinit.get(cfg)
    replay = [again(torch.empty(64)).clone() for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(draws, replay, strict=True))
    assert torch.equal(torch.get_rng_state(), state)
    # a plain int seed with the same value does not advance
    fixed = kerasinit.get({"class_name": "RandomNormal", "config": {"seed": 7, "stddev": 1.0}})
    assert not fixed.spec.advancing_seed
    assert torch.equal(fixed(torch.empty(64)).clone(), fixed(torch.empty(64)))
    # serialization keeps the SeedGenerator form
    assert init.get_config()["seed"] == SEED_GENERATOR


@pytest.mark.tf
def test_seed_generator_from_live_keras_object_advances() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    obj = keras.initializers.HeUniform(seed=keras.random.SeedGenerator(11))
    init = kerasinit.get(obj)
    assert init.spec.advancing_seed
    assert not torch.equal(init(torch.empty(10, 10)).clone(), init(torch.empty(10, 10)))


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "orthogonal", "random_normal"])
def test_packed_mha_blocks_restart_the_seed(name: str) -> None:
    E, h = 16, 4
    init = kerasinit.get(name, seed=21)
    w = init(torch.empty(3 * E, E), layout=layouts.mha_in_proj(h))
    q, k, v = w[:E], w[E:2 * E], w[2 * E:]
    assert torch.equal(q, k) and torch.equal(k, v)
    single = init(torch.empty(E, E), layout=layouts.MHAProjection(h))
    assert torch.equal(q, single)
    # unseeded with one generator: the blocks are drawn one after another, so they differ
    u = kerasinit.get(name)(torch.empty(3 * E, E), layout=layouts.mha_in_proj(h),
                            generator=gen(0))
    assert not torch.equal(u[:E], u[E:2 * E])


def test_packed_with_seed_generator_advances_per_call_not_per_block() -> None:
    E = 8
    cfg = {"class_name": "GlorotUniform", "config": {"seed": SEED_GENERATOR}}
    init = kerasinit.get(cfg)
    first = init(torch.empty(3 * E, E), layout=layouts.mha_in_proj(2)).clone()
    second = init(torch.empty(3 * E, E), layout=layouts.mha_in_proj(2))
    assert torch.equal(first[:E], first[E:2 * E])
    assert not torch.equal(first, second)


def test_seeded_values_do_not_depend_on_earlier_calls() -> None:
    """Seeded calls are independent of what ran before (no hidden shared state)."""
    a = kerasinit.get("he_uniform", seed=4)
    b = kerasinit.get("he_uniform", seed=4)
    kerasinit.get("he_uniform")(torch.empty(100))
    x = a(torch.empty(5, 7)).clone()
    kerasinit.get("orthogonal", seed=4)(torch.empty(5, 7))
    y = b(torch.empty(5, 7))
    assert torch.equal(x, y)


def test_functional_seed_argument_matches_get() -> None:
    w1 = kerasinit.he_normal_(torch.empty(9, 11), seed=8)
    w2 = kerasinit.get("he_normal", seed=8)(torch.empty(9, 11))
    assert torch.equal(w1, w2)
    state = torch.get_rng_state()
    kerasinit.orthogonal_(torch.empty(9, 11), seed=1)
    kerasinit.truncated_normal_(torch.empty(100), seed=1)
    assert torch.equal(torch.get_rng_state(), state)
