"""rng="jax" / "jax-0.4.38" against checked-in Keras-on-JAX outputs (no JAX needed).

``tests/data/jax_golden_<line>.npz`` hold Keras 3.15.1's outputs with ``KERAS_BACKEND=jax`` for
jax/jaxlib 0.10.2 and 0.4.38 (every seeded initializer, shapes (7,), (5, 3), (3, 3, 2, 5),
(17, 9), seeds 0, 1, 7, 2^31+5, 2^32-1), plus JAX's normal and truncated-normal transforms at
4099 of their 2^23 inputs; made by ``scripts/make_jax_golden.py``. Every kernel must be
bit-identical, Orthogonal included when SciPy is installed (what jaxlib's QR calls), else within
2e-6 relative.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import xla

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("make_jax_golden",
                                               ROOT / "scripts/make_jax_golden.py")
assert _spec is not None and _spec.loader is not None
golden_script: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_script)
LINES = {"jax": "0.10", "jax-0.4.38": "0.4.38"}
GOLDEN = {rng: np.load(ROOT / f"tests/data/jax_golden_{line}.npz") for rng, line in LINES.items()}
try:
    import scipy  # noqa: F401
    HAVE_SCIPY = True
except ImportError:  # pragma: no cover - scipy is a dev dependency
    HAVE_SCIPY = False


def _cases() -> list[tuple[str, int, int, tuple[int, ...]]]:
    out = []
    for rng, archive in GOLDEN.items():
        for name in archive.files:
            if "|" not in name:
                continue
            index, seed, shape = name.split("|")
            out.append((rng, int(index), int(seed), tuple(int(d) for d in shape.split("x"))))
    return out


CASES = _cases()


def test_golden_covers_both_lines_and_every_family() -> None:
    assert len(CASES) == 2 * 235
    assert {str(GOLDEN[r]["versions"][0]) for r in GOLDEN} == {"0.10.2", "0.4.38"}
    assert {c[2] for c in CASES} == {0, 1, 7, 2**31 + 5, 2**32 - 1}


@pytest.mark.parametrize(("rng", "index", "seed", "shape"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{'x'.join(map(str, c[3]))}" for c in CASES])
def test_matches_keras_on_jax(rng: str, index: int, seed: int, shape: tuple[int, ...]) -> None:
    expected = torch.from_numpy(GOLDEN[rng][golden_script.key(index, seed, shape)])
    cls, config = golden_script.INITIALIZERS[index]
    init = kerasinit.get({"class_name": cls, "config": dict(config)}, seed=seed, rng=rng)
    got = init(torch.empty(shape), layout="keras")
    if cls == "Orthogonal" and not HAVE_SCIPY:  # pragma: no cover
        assert float((got - expected).norm() / expected.norm()) < 2e-6
    else:
        assert torch.equal(got, expected)


@pytest.mark.parametrize("rng", list(LINES))
@pytest.mark.parametrize("family", ["normal", "truncated"])
def test_transform_matches_jax_on_sampled_inputs(rng: str, family: str) -> None:
    archive = GOLDEN[rng]
    fn = xla.normal_from_mantissa if family == "normal" else xla.truncated_from_mantissa
    got = fn(archive["mantissas"], LINES[rng])
    np.testing.assert_array_equal(got.view(np.int32), archive[family].view(np.int32))


def test_he_normal_torch_layout_is_the_transposed_keras_kernel() -> None:
    """kerasinit.get("he_normal", seed=7, rng="jax")(w) == HeNormal(seed=7) on JAX, transposed."""
    index = next(i for i, (c, _) in enumerate(golden_script.INITIALIZERS) if c == "HeNormal")
    keras_kernel = torch.from_numpy(GOLDEN["jax"][golden_script.key(index, 7, (17, 9))])
    w = torch.empty(9, 17)                                   # nn.Linear(17, 9).weight
    kerasinit.get("he_normal", seed=7, rng="jax")(w)
    assert torch.equal(w, keras_kernel.t())
