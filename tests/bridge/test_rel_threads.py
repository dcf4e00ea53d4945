"""Thread safety: one Initializer shared by many threads gives the serial values.

Eight threads call the same seeded initializer concurrently while each changes
``torch.set_num_threads`` between calls (the Philox worker pool must survive worker-count
changes; the QR must stay single-threaded). Each result must be bit-identical to the serial
one, for every rng.
"""

from __future__ import annotations

import threading

import pytest
import torch

import kerasinit

CASES = [
    ("glorot_uniform", "tensorflow", (1024, 1024)),     # > 1 Philox chunk: the worker pool
    ("truncated_normal", "tensorflow", (1024, 520)),
    ("he_normal", "tensorflow", (512, 300)),
    ("orthogonal", "tensorflow", (64, 48)),
    ("lecun_uniform", "keras-torch", (256, 300)),
    ("truncated_normal", "keras-torch", (256, 300)),
    ("orthogonal", "keras-torch", (64, 48)),
    ("he_uniform", "torch", (256, 300)),
    ("truncated_normal", "torch", (256, 300)),
    ("orthogonal", "torch", (96, 64)),
]


def _hammer(init: kerasinit.Initializer, shape: tuple[int, ...], threads: int, rounds: int
            ) -> tuple[list[torch.Tensor], list[BaseException]]:
    results: list[torch.Tensor] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for k in range(rounds):
                torch.set_num_threads(1 + (i + k) % 3)
                t = init(torch.empty(shape))
                with lock:
                    results.append(t)
        except BaseException as e:
            with lock:
                errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results, errors


@pytest.mark.parametrize(("name", "rng", "shape"), CASES)
def test_shared_initializer_from_8_threads_equals_serial(
    name: str, rng: str, shape: tuple[int, ...]
) -> None:
    init = kerasinit.get(name, seed=5, rng=rng)
    serial = init(torch.empty(shape))
    state = torch.get_rng_state()
    results, errors = _hammer(init, shape, threads=8, rounds=2)
    assert errors == []
    assert len(results) == 16
    for r in results:
        assert torch.equal(r, serial)
    assert torch.equal(torch.get_rng_state(), state)  # seeded: the global RNG is untouched


def test_advancing_seed_generator_calls_are_distinct_and_serial_equivalent() -> None:
    # A SeedGenerator seed advances once per call: concurrent calls must each take a distinct
    # draw number, so the multiset of results equals the first 16 serial results.
    config = {"class_name": "RandomNormal",
              "config": {"seed": {"class_name": "SeedGenerator", "config": {"seed": 3}}}}
    shape = (64, 32)
    serial_init = kerasinit.get(config)
    serial = [serial_init(torch.empty(shape)) for _ in range(16)]
    results, errors = _hammer(kerasinit.get(config), shape, threads=8, rounds=2)
    assert errors == []
    keys = sorted(r.sum().item() for r in results)
    assert keys == sorted(s.sum().item() for s in serial)
    assert len(set(keys)) == 16
