"""Regenerate ``tests/data/rng_golden.npz``: seeded Keras initializer outputs from TensorFlow.

Runs Keras 3 (TF backend) and tf_keras 2 on every seeded initializer, several shapes (odd
sizes exercise the Philox counter tail) and seeds (0, 1, 2^31-1, negative, > 2^32), and stores
each kernel in Keras layout as float32. ``tests/bridge/rng/test_rng_golden.py`` checks kerasinit's
``rng="tensorflow"`` against them bit for bit, without TensorFlow.

Usage: ``.venv/bin/python scripts/make_rng_golden.py [out.npz]``
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

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
SEEDS: tuple[int, ...] = (0, 1, 2**31 - 1, -3, 2**32 + 5)
FLAVOURS = ("3", "2")


def key(flavour: str, index: int, seed: int, shape: tuple[int, ...]) -> str:
    """Array name in the archive: ``flavour|initializer index|seed|shape``."""
    return f"{flavour}|{index}|{seed}|{'x'.join(map(str, shape))}"


def main(out: str) -> None:
    import keras
    import tf_keras

    arrays: dict[str, np.ndarray] = {}
    for flavour, module in (("3", keras.initializers), ("2", tf_keras.initializers)):
        for index, (cls, config) in enumerate(INITIALIZERS):
            for seed in SEEDS:
                init = getattr(module, cls)(seed=seed, **config)
                for shape in SHAPES:
                    if cls == "Orthogonal" and len(shape) < 2:
                        continue
                    arrays[key(flavour, index, seed, shape)] = np.asarray(
                        init(shape, dtype="float32"), dtype=np.float32)
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(arrays)} arrays to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/rng_golden.npz")
