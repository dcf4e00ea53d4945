"""rng="jax" against live JAX and Keras-on-JAX (skipped without JAX or with an unsupported line).

In process: ``jax.random.uniform/normal/truncated_normal`` with Keras's raw ``[seed, k]`` key
against :mod:`kerasinit.bridge.rng.keras_jax`. In a subprocess with ``KERAS_BACKEND=jax``: Keras's
own initializers (and a ``SeedGenerator``) against ``kerasinit.get(..., rng="jax")`` on torch
layouts (slow: importing Keras takes seconds), and the normal and truncated-normal transforms on
all 2^23 inputs (slow). The checked-in goldens cover Keras-on-JAX in the default run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import keras_jax, xla

jax = pytest.importorskip("jax", reason="the live-JAX checks need jax (the `test` extra)")
jnp = pytest.importorskip("jax.numpy")
if jax.__version__.startswith("0.10."):
    LINE, RNG = "0.10", "jax"
elif jax.__version__ == "0.4.38":
    LINE, RNG = "0.4.38", "jax-0.4.38"
else:  # pragma: no cover
    pytest.skip(f"jax {jax.__version__} is not a supported line", allow_module_level=True)
if jax.config.jax_threefry_partitionable != (LINE == "0.10"):  # pragma: no cover
    pytest.skip("jax_threefry_partitionable was changed from its default",
                allow_module_level=True)


def _key(seed: int, k: int = 0) -> object:
    return jnp.array([seed, k], dtype=jnp.uint32)


def _bits(t: object) -> np.ndarray:
    return np.asarray(t, dtype=np.float32).view(np.int32)


@pytest.mark.parametrize(("seed", "k", "shape"),
                         [(0, 0, (1001,)), (42, 0, (33, 65)), (2**32 - 1, 5, (7, 99))])
def test_jax_random_ops(seed: int, k: int, shape: tuple[int, ...]) -> None:
    key = keras_jax.jax_key(seed, k)
    ours = keras_jax.sample_uniform(shape, key, -0.3, 0.7, LINE)
    np.testing.assert_array_equal(
        _bits(jax.random.uniform(_key(seed, k), shape, minval=-0.3, maxval=0.7)), _bits(ours))
    ours = keras_jax.sample_normal(shape, key, 0.0, 1.0, LINE)
    np.testing.assert_array_equal(_bits(jax.random.normal(_key(seed, k), shape)), _bits(ours))
    ours = keras_jax.sample_truncated_normal(shape, key, 0.0, 1.0, LINE)
    np.testing.assert_array_equal(
        _bits(jax.random.truncated_normal(_key(seed, k), -2.0, 2.0, shape)), _bits(ours))


_KERAS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, keras
    out = {}
    out["he_normal"] = np.asarray(keras.initializers.HeNormal(seed=7)((64, 32)))
    out["glorot_uniform"] = np.asarray(keras.initializers.GlorotUniform(seed=3)((3, 3, 8, 16)))
    out["orthogonal"] = np.asarray(keras.initializers.Orthogonal(seed=42)((20, 12)))
    out["random_normal"] = np.asarray(keras.initializers.RandomNormal(0.1, 0.3, seed=9)((7, 5)))
    sg = keras.random.SeedGenerator(11)
    out["sg0"] = np.asarray(keras.random.normal((6,), seed=sg))
    out["sg1"] = np.asarray(keras.random.normal((6,), seed=sg))
    np.savez(sys.argv[1], **out)
""")


@pytest.fixture(scope="module")
def keras_on_jax(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    pytest.importorskip("keras")
    path = tmp_path_factory.mktemp("kjax") / "out.npz"
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", _KERAS_SCRIPT, str(path)], env=env, check=True,
                   timeout=300, capture_output=True)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.slow
def test_keras_initializers_on_jax_in_torch_layouts(keras_on_jax: dict[str, np.ndarray]) -> None:
    w = torch.empty(32, 64)                                   # nn.Linear(64, 32).weight
    kerasinit.get("he_normal", seed=7, rng=RNG)(w)
    assert torch.equal(w, torch.from_numpy(keras_on_jax["he_normal"]).t())
    c = torch.empty(16, 8, 3, 3)                              # nn.Conv2d(8, 16, 3).weight
    kerasinit.get("glorot_uniform", seed=3, rng=RNG)(c)
    assert torch.equal(c, torch.from_numpy(keras_on_jax["glorot_uniform"]).permute(3, 2, 0, 1))
    o = kerasinit.get("orthogonal", seed=42, rng=RNG)(torch.empty(20, 12), layout="keras")
    expected = torch.from_numpy(keras_on_jax["orthogonal"])
    assert float((o - expected).norm() / expected.norm()) < 2e-6
    r = kerasinit.get({"class_name": "RandomNormal", "config": {"mean": 0.1, "stddev": 0.3}},
                      seed=9, rng=RNG)(torch.empty(7, 5), layout="keras")
    assert torch.equal(r, torch.from_numpy(keras_on_jax["random_normal"]))


@pytest.mark.slow
def test_seed_generator_draw_k_is_key_seed_k(keras_on_jax: dict[str, np.ndarray]) -> None:
    for k in (0, 1):
        ours = keras_jax.sample_normal((6,), keras_jax.jax_key(11, k), 0.0, 1.0, LINE)
        np.testing.assert_array_equal(_bits(keras_on_jax[f"sg{k}"]), _bits(ours))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["normal", "truncated"])
def test_transform_on_every_input(family: str) -> None:
    """All 2^23 mantissas: the NumPy table equals XLA's compiled pipeline, and jax.random's
    own values equal table[bits >> 9] on 2^20 draws."""
    golden = Path(__file__).resolve().parents[3] / "scripts/make_jax_golden.py"
    sys.path.insert(0, str(golden.parent))
    try:
        import make_jax_golden
    finally:
        sys.path.pop(0)
    make_jax_golden.MANTISSAS = np.arange(1 << 23, dtype=np.uint32)
    expected = make_jax_golden.transforms()[family]
    table = keras_jax._Family(family, LINE).build_table()
    np.testing.assert_array_equal(table.view(np.int32), expected.view(np.int32))
    key = _key(123456789)
    n = 1 << 20
    draws = (jax.random.normal(key, (n,)) if family == "normal"
             else jax.random.truncated_normal(key, -2.0, 2.0, (n,)))
    bits = np.asarray(jax.random.bits(jax.random.wrap_key_data(key, impl="threefry2x32"), (n,)))
    np.testing.assert_array_equal(_bits(draws), table[bits >> 9].view(np.int32))
    assert xla.FMA_PROFILES[LINE]
