"""Seed-faithful writes from worker threads into parameters that require grad.

Grad mode is thread-local: the sampler pool's threads run with it on while the call holds
``torch.no_grad()``. A GRU weight's Keras view (gate blocks side by side) was sliced in a
worker thread, and for dtypes written through torch (bfloat16) torch refused the in-place
write into a no_grad view of a parameter (found with ``keras_defaults_`` on a bfloat16
GRU). The tensor is large enough for the writes to run on the pool (above 2^18 values).
"""

from __future__ import annotations

import pytest
import torch

import kerasinit


@pytest.mark.parametrize("rng", ["tensorflow", "jax"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal"])
def test_gru_gate_blocks_written_from_worker_threads(rng: str, dtype: torch.dtype,
                                                     name: str) -> None:
    gru = torch.nn.GRU(512, 512).to(dtype)
    weight = gru.weight_hh_l0
    assert weight.requires_grad and weight.numel() > 1 << 18
    init = kerasinit.get(name, seed=4, rng=rng)
    init(weight, layout="gru")
    want = init(torch.empty(weight.shape), layout="gru").to(dtype)
    assert torch.equal(weight.detach(), want)


def test_keras_defaults_on_a_bfloat16_gru() -> None:
    gru = torch.nn.GRU(512, 512).to(torch.bfloat16)
    kerasinit.keras_defaults_(gru, seed=3, rng="tensorflow")
    assert bool(torch.isfinite(gru.weight_ih_l0.detach().float()).all())
