"""Build tiny keras_hub backbones after ``set_random_seed`` for the replay tests.

Run as a script (``KERAS_BACKEND=tensorflow``): ``python replay_hub.py SEED OUT_DIR``. Writes,
per backbone NAME, ``NAME.keras`` (``model.save``) and ``NAME.npz`` (every weight by its
variable path, and ``:loaded_seeds``: the seeds the initializers of the model that
``set_random_seed(SEED)`` + ``load_model`` rebuilds hold, keyed ``layer|attribute``). Prints
``built`` at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

SIZES = {"vocabulary_size": 50, "num_heads": 2, "hidden_dim": 8, "intermediate_dim": 16,
         "max_sequence_length": 12}
#: backbone -> extra constructor arguments
BACKBONES: dict[str, dict[str, Any]] = {
    "BertBackbone": {"num_layers": 2},
    "GPT2Backbone": {"num_layers": 2, "dropout": 0.0},
    "DistilBertBackbone": {"num_layers": 1},
}


def _seeds(model: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        for key, value in vars(layer).items():
            if key.endswith("initializer") and isinstance(getattr(value, "seed", None), int):
                out[f"{layer.path}|{key}"] = int(value.seed)
    return out


def main(seed: int, out: Path) -> None:
    import keras
    import keras_hub

    for name, extra in BACKBONES.items():
        keras.utils.set_random_seed(seed)
        model = getattr(keras_hub.models, name)(**SIZES, **extra)
        model.save(out / f"{name}.keras")
        built = _seeds(model)
        keras.utils.set_random_seed(seed)
        loaded = _seeds(keras.saving.load_model(out / f"{name}.keras"))
        weights = {w.path: keras.ops.convert_to_numpy(w) for w in model.weights}
        np.savez(out / f"{name}.npz", **weights,
                 **{":same_seeds_after_load": np.array(built == loaded and bool(built))})
    print("built", keras.__version__, keras_hub.__version__)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
