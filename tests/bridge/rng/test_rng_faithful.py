"""sample_keras plumbing: errors, deterministic initializers, dtypes, layouts, determinism."""

from __future__ import annotations

import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import tensorflow


def test_needs_a_seed() -> None:
    with pytest.raises(kerasinit.KerasInitError, match="needs a seed"):
        kerasinit.get("he_normal", rng="tensorflow")


def test_refuses_generator() -> None:
    init = kerasinit.get("he_normal", seed=1, rng="tensorflow")
    with pytest.raises(kerasinit.KerasInitError, match="generator="):
        init(torch.empty(3, 4), generator=torch.Generator())


@pytest.mark.parametrize("version", ["1", "2.0.8", "2.2.4-tf"])
def test_old_versions_have_no_faithful_stream(version: str) -> None:
    init = kerasinit.get("glorot_uniform", seed=1, rng="tensorflow", keras_version=version)
    with pytest.raises(kerasinit.KerasInitError, match="stateful TF1"):
        init(torch.empty(3, 4))


@pytest.mark.parametrize("name", ["zeros", "ones", "identity"])
def test_deterministic_initializers_pass_through(name: str) -> None:
    ref = kerasinit.get(name)(torch.empty(4, 4))
    assert torch.equal(kerasinit.get(name, rng="tensorflow")(torch.empty(4, 4)), ref)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_dtypes_get_the_float32_values_cast(dtype: torch.dtype) -> None:
    init = kerasinit.get("he_uniform", seed=3, rng="tensorflow")
    ref = init(torch.empty(6, 5))
    assert torch.equal(init(torch.empty(6, 5, dtype=dtype)), ref.to(dtype))


def test_identical_every_call_and_rng_override() -> None:
    init = kerasinit.get("glorot_normal", seed=11)
    a = init(torch.empty(8, 3), rng="tensorflow")
    assert torch.equal(a, init(torch.empty(8, 3), rng="tensorflow"))
    assert not torch.equal(a, init(torch.empty(8, 3)))  # rng="torch": another stream


def test_linear_is_the_transposed_keras_kernel() -> None:
    """nn.Linear(5, 3).weight is Keras's (5, 3) kernel transposed."""
    w = kerasinit.get("random_uniform", seed=0, rng="tensorflow")(torch.empty(3, 5))
    k = tensorflow.uniform((5, 3), (0, 0), -0.05, 0.05)
    assert torch.equal(w, k.t())


def test_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    kerasinit.get("orthogonal", seed=2, rng="tensorflow")(torch.empty(7, 4))
    assert torch.equal(state, torch.get_rng_state())


def test_no_tensorflow_import() -> None:
    import subprocess
    import sys

    code = ("import sys, torch, kerasinit; "
            "kerasinit.get('he_normal', seed=1, rng='tensorflow')(torch.empty(4, 4)); "
            "print('tensorflow' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out[0] == "False"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["glorot_uniform", "random_normal", "he_normal", "orthogonal"])
def test_cuda_equals_cpu(name: str) -> None:
    """Philox and the Box-Muller tables run on the device; integer and IEEE ops agree."""
    init = kerasinit.get(name, seed=5, rng="tensorflow")
    cpu = init(torch.empty(3000, 1000))
    gpu = init(torch.empty(3000, 1000, device="cuda")).cpu()
    if name == "orthogonal":
        assert float((gpu - cpu).norm() / cpu.norm()) < 1e-5
    else:
        assert torch.equal(gpu, cpu)


def test_bench_rng_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_rng.py"
    spec = importlib.util.spec_from_file_location("bench_rng", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--size", "64", "--repeat", "1", "--no-tf"]) == 0
    assert "truncated normal" in capsys.readouterr().out
