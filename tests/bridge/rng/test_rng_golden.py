"""rng="tensorflow" against checked-in TensorFlow outputs (no TensorFlow needed).

``tests/data/rng_golden.npz`` holds Keras 3 (TF backend) and tf_keras outputs of every seeded
initializer for shapes (7,), (5, 3), (3, 3, 2, 5), (17, 9) and seeds 0, 1, 2^31-1, -3, 2^32+5,
made by ``scripts/make_rng_golden.py``. Every uniform/normal/truncated-normal kernel must be
bit-identical (``torch.equal``); Orthogonal within 2e-6 relative (TF's float32 QR).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import kerasinit

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("make_rng_golden",
                                               ROOT / "scripts/make_rng_golden.py")
assert _spec is not None and _spec.loader is not None
golden_script: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_script)
GOLDEN = np.load(ROOT / "tests/data/rng_golden.npz")


def _cases() -> list[tuple[str, int, int, tuple[int, ...]]]:
    out = []
    for name in GOLDEN.files:
        flavour, index, seed, shape = name.split("|")
        out.append((flavour, int(index), int(seed), tuple(int(d) for d in shape.split("x"))))
    return out


CASES = _cases()


def _ours(flavour: str, index: int, seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    cls, config = golden_script.INITIALIZERS[index]
    init = kerasinit.get({"class_name": cls, "config": dict(config)}, seed=seed,
                         rng="tensorflow", keras_version=flavour)
    return init(torch.empty(shape), layout="keras")


def test_golden_covers_every_seeded_family() -> None:
    assert len(CASES) == 470
    assert {c[2] for c in CASES} == {0, 1, 2**31 - 1, -3, 2**32 + 5}


@pytest.mark.parametrize(("flavour", "index", "seed", "shape"), CASES,
                         ids=[n.replace("|", "-") for n in GOLDEN.files])
def test_matches_tensorflow(flavour: str, index: int, seed: int, shape: tuple[int, ...]) -> None:
    expected = torch.from_numpy(GOLDEN[golden_script.key(flavour, index, seed, shape)])
    got = _ours(flavour, index, seed, shape)
    if golden_script.INITIALIZERS[index][0] == "Orthogonal":
        rel = (got - expected).norm() / expected.norm()
        assert float(rel) < 2e-6
    else:
        assert torch.equal(got, expected)


def test_keras3_folds_seeds_tf_keras_does_not() -> None:
    """Keras 3: 2^31-1 = seed 1 (mod 2^31-2); tf_keras keeps the raw seed."""
    w3 = _ours("3", 0, 2**31 - 1, (5, 3))
    assert torch.equal(w3, _ours("3", 0, 1, (5, 3)))
    assert not torch.equal(_ours("2", 0, 2**31 - 1, (5, 3)), w3)
    assert torch.equal(_ours("2", 0, 1, (5, 3)), w3)
