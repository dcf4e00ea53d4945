"""Regenerate ``tests/data/jax_golden_<version>.npz``: seeded Keras initializers on JAX.

Runs Keras 3 with ``KERAS_BACKEND=jax`` on every seeded initializer, several shapes (odd sizes
exercise the original Threefry layout's padding) and seeds (0 .. 2^32-1), and stores each kernel
in Keras layout as float32; also JAX's normal and truncated-normal transforms at 4099 of their
2^23 inputs (a jitted replica of ``jax.random``'s float32 pipeline on chosen bits).
``tests/rng/test_jax_golden.py`` checks ``rng="jax"`` / ``"jax-0.4.38"`` against them, without JAX.

Usage (in an environment with the jax/jaxlib version to record and Keras 3):
``python scripts/make_jax_golden.py [out.npz]`` (default ``tests/data/jax_golden_<line>.npz``,
``<line>`` = ``0.10`` or ``0.4.38``).
"""

from __future__ import annotations

import os
import sys

import numpy as np

#: (Keras class name, config without seed); the ids double as kerasinit identifiers.
INITIALIZERS: tuple[tuple[str, dict[str, object]], ...] = (
    ("GlorotUniform", {}),
    ("GlorotNormal", {}),
    ("HeUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("LecunNormal", {}),
    ("RandomNormal", {"mean": 0.1, "stddev": 0.3}),
    ("RandomUniform", {"minval": -0.2, "maxval": 0.7}),
    ("TruncatedNormal", {"mean": 0.5, "stddev": 2.0}),
    ("VarianceScaling", {"scale": 1.3, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 0.7, "mode": "fan_avg", "distribution": "uniform"}),
    ("Orthogonal", {"gain": 1.5}),
)
SHAPES: tuple[tuple[int, ...], ...] = ((7,), (5, 3), (3, 3, 2, 5), (17, 9))
SEEDS: tuple[int, ...] = (0, 1, 7, 2**31 + 5, 2**32 - 1)
#: Transform inputs (23-bit mantissas) recorded per family: a stride through the domain plus
#: the ends and the middle.
MANTISSAS = np.unique(np.concatenate([
    np.arange(0, 1 << 23, 2053, dtype=np.uint32),
    np.array([0, 1, 2, (1 << 22) - 1, 1 << 22, (1 << 22) + 1, (1 << 23) - 2, (1 << 23) - 1],
             dtype=np.uint32),
]))


def key(index: int, seed: int, shape: tuple[int, ...]) -> str:
    """Array name in the archive: ``initializer index|seed|shape``."""
    return f"{index}|{seed}|{'x'.join(map(str, shape))}"


def line(version: str) -> str:
    """The supported jaxlib line of a jax version string."""
    if version.startswith("0.10."):
        return "0.10"
    if version == "0.4.38":
        return "0.4.38"
    raise SystemExit(f"jax {version} is not a supported line (0.10.x, 0.4.38)")


def transforms() -> dict[str, np.ndarray]:
    """``jax.random.normal`` / ``truncated_normal``'s float32 pipeline on chosen words."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def unit(bits: jax.Array) -> jax.Array:
        one = lax.shift_right_logical(bits, jnp.uint32(9)) | jnp.uint32(0x3F800000)
        return lax.bitcast_convert_type(one, jnp.float32) - jnp.float32(1)

    sqrt2 = np.float32(np.sqrt(2))

    @jax.jit
    def normal(bits: jax.Array) -> jax.Array:
        lo = jnp.float32(np.nextafter(np.float32(-1), np.float32(0)))
        u = lax.max(lo, unit(bits) * (jnp.float32(1) - lo) + lo)
        return lax.mul(sqrt2, lax.erf_inv(u))

    @jax.jit
    def truncated(bits: jax.Array) -> jax.Array:
        a = lax.erf(jnp.float32(-2.0) / sqrt2)
        b = lax.erf(jnp.float32(2.0) / sqrt2)
        out = sqrt2 * lax.erf_inv(lax.max(a, unit(bits) * (b - a) + a))
        return jnp.clip(out, lax.nextafter(jnp.float32(-2), jnp.float32(np.inf)),
                        lax.nextafter(jnp.float32(2), jnp.float32(-np.inf)))

    words = jnp.asarray(MANTISSAS << np.uint32(9))
    return {"mantissas": MANTISSAS,
            "normal": np.asarray(normal(words)), "truncated": np.asarray(truncated(words))}


def main(out: str | None) -> None:
    os.environ["KERAS_BACKEND"] = "jax"  # here, not at import: the tests import this module
    import jax
    import keras

    arrays: dict[str, np.ndarray] = transforms()
    for index, (cls, config) in enumerate(INITIALIZERS):
        for seed in SEEDS:
            init = getattr(keras.initializers, cls)(seed=seed, **config)
            for shape in SHAPES:
                if cls == "Orthogonal" and len(shape) < 2:
                    continue
                arrays[key(index, seed, shape)] = np.asarray(
                    init(shape, dtype="float32"), dtype=np.float32)
    arrays["versions"] = np.array([jax.__version__, keras.__version__])
    path = out or f"tests/data/jax_golden_{line(jax.__version__)}.npz"
    np.savez_compressed(path, **arrays)
    print(f"wrote {len(arrays)} arrays to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
