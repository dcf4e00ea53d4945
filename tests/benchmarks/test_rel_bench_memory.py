"""``benchmarks/bench_memory.py`` runs (tiny sizes, two cases); memory is reported, not asserted."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_memory.py"


def _load() -> Any:
    """The benchmark script as a module."""
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_memory"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_bench_memory_runs(capsys: pytest.CaptureFixture[str]) -> None:
    module = _load()
    assert module.main(["--size", "64", "--ortho-size", "32", "--names", "orthogonal",
                        "--rngs", "torch"]) == 0
    out = capsys.readouterr().out
    assert "| orthogonal |" in out and "error" not in out


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_bench_memory_orthogonal_shapes_run(capsys: pytest.CaptureFixture[str]) -> None:
    module = _load()
    assert module.main(["--orthogonal", "--ortho-scale", "64", "--rngs", "tensorflow"]) == 0
    out = capsys.readouterr().out
    assert out.count("| nn.") == 8 and "error" not in out


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        got = tuple(int(p) for p in platform.release().split("-")[0].split(".")[:2])
    except ValueError:  # pragma: no cover - an unusual release string
        return False
    return got >= (major, minor)


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
@pytest.mark.skipif(not _kernel_at_least(5, 14), reason="MADV_POPULATE_READ needs Linux 5.14")
def test_bench_memory_sweep_with_code_resident(capsys: pytest.CaptureFixture[str]) -> None:
    module = _load()
    assert module.main(["--sweep", "32", "64", "--names", "he_normal", "--rngs", "torch",
                        "--code-resident"]) == 0
    out = capsys.readouterr().out
    assert "| he_normal 32² |" in out and "| he_normal 64² |" in out and "error" not in out
    assert "code resident" in out
