"""The benchmark scripts run (tiny sizes); speed itself is reported, never asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_core_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("bench_core").main(["--size", "64", "--repeat", "1", "--no-tf"]) == 0
    out = capsys.readouterr().out
    assert "kerasinit he_normal_" in out and "torch trunc_normal_" in out


def test_bench_modules_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("bench_modules").main(["--scale", "0.02", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "keras_defaults_(model)" in out and "× torch construct" in out


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_bench_model_rng_worker_runs(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "unchanged")  # the worker sets it; restored afterwards
    out = _load("bench_model_rng").worker(backend, "kerasinit", "tiny", repeat=1)
    assert set(out) == {"first", "warm", "first_cpu", "warm_cpu", "extra_mib", "anon_mib",
                        "tensor_mib"}
    assert out["tensor_mib"] == 4 * 16 * 8 * 4 / 2**20


def test_bench_model_rng_whole_model_worker_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-model baseline: a replayed plan applied to the torch twin (3 Dense layers),
    checked bit-identical to the Keras model inside the worker."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":  # pragma: no cover - other test backends
        pytest.skip("needs Keras on the TensorFlow backend in this process")
    monkeypatch.setenv("KERAS_BACKEND", "unchanged")
    bench = _load("bench_model_rng")
    out = bench.worker("tensorflow", "kerasinit", "tiny-sequential", repeat=1)
    assert out["tensor_mib"] == (784 * 256 + 256 * 128 + 128 * 512) * 4 / 2**20
    assert bench.worker("tensorflow", "keras", "tiny-sequential", repeat=1)["first"] > 0
