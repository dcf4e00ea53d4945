"""CUDA: dtypes, seeded reproducibility and seed-faithful CPU equality on the GPU.

These skip with the reason on a machine without a CUDA device (every machine these tests have
run on so far: ``docs/benchmarks.md`` says the GPU figures are not measured). The seed-faithful
``rng="tensorflow"`` CPU/GPU equality of four initializers is also in
``tests/bridge/rng/test_rng_faithful.py``.
"""

from __future__ import annotations

import pytest
import torch

import kerasinit

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA device (torch.cuda.is_available() is False here); run on a GPU "
           "machine: pytest tests/bridge/test_cuda_device.py and "
           "python benchmarks/bench_core.py --device cuda")

NAMES = ["glorot_uniform", "he_normal", "lecun_normal", "random_normal", "truncated_normal",
         "orthogonal", "identity", "zeros"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_cuda_tensor_keeps_device_dtype_and_bounds(name: str, dtype: torch.dtype) -> None:
    w = torch.empty(256, 128, device="cuda", dtype=dtype)
    kerasinit.get(name)(w)
    assert w.device.type == "cuda" and w.dtype == dtype
    assert bool(torch.isfinite(w).all())
    d = kerasinit.describe(name, tuple(w.shape))
    cut = getattr(d.distribution, "high", None)
    if cut is not None and "normal" in name and name != "random_normal":
        assert float(w.float().abs().max()) <= float(cut) * 1.01  # truncated at ±2σ


@pytest.mark.parametrize("name", ["he_normal", "glorot_uniform", "orthogonal"])
def test_cuda_generator_seeds_reproduce(name: str) -> None:
    a, b = (torch.empty(512, 256, device="cuda") for _ in range(2))
    kerasinit.get(name)(a, generator=torch.Generator("cuda").manual_seed(3))
    kerasinit.get(name)(b, generator=torch.Generator("cuda").manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["he_uniform", "truncated_normal", "lecun_normal"])
def test_seed_faithful_cuda_equals_cpu(name: str) -> None:
    init = kerasinit.get(name, seed=11, rng="tensorflow")
    cpu = init(torch.empty(700, 300))
    gpu = init(torch.empty(700, 300, device="cuda")).cpu()
    assert torch.equal(gpu, cpu)
