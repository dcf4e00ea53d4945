"""Build small ``keras.applications`` models after ``set_random_seed`` for the replay tests.

Run as a script in a subprocess (``KERAS_BACKEND=tensorflow``):
``python replay_apps.py SEED OUT_DIR NAME [NAME ...]``. Writes, per application NAME,
``NAME.json`` (``to_json()``), ``NAME.npz`` (every weight by its variable path) and, for a name
given as ``NAME.keras``, the ``.keras`` file. Prints ``built`` at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

#: application -> constructor keywords (weights=None, small inputs, few classes).
APPS: dict[str, dict[str, Any]] = {
    "MobileNetV2": {"input_shape": (96, 96, 3), "alpha": 0.35},
    "ResNet50": {"input_shape": (75, 75, 3)},
    "InceptionV3": {"input_shape": (75, 75, 3)},
    "Xception": {"input_shape": (75, 75, 3)},
    "ConvNeXtTiny": {"input_shape": (75, 75, 3)},
}


def main(seed: int, out: Path, names: list[str]) -> None:
    import keras

    for arg in names:
        name = arg.removesuffix(".keras")
        keras.utils.set_random_seed(seed)
        model = getattr(keras.applications, name)(weights=None, classes=5, **APPS[name])
        (out / f"{name}.json").write_text(model.to_json())
        if arg.endswith(".keras"):
            model.save(out / f"{name}.keras")
        np.savez(out / f"{name}.npz", **{w.path: keras.ops.convert_to_numpy(w)
                                         for w in model.weights})
    print("built", keras.__version__)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
