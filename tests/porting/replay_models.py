"""Build small Keras models after ``set_random_seed`` and save what the replay tests compare.

Run as a script in a subprocess (``KERAS_BACKEND`` picks the Keras 3 backend; the flavours are
``keras`` and/or ``tf_keras``): ``python replay_models.py keras,tf_keras SEED OUT.npz [weights]`` (``weights``: no forward
pass and no order models, for the per-tensor checks on other backends).
Saves, per model NAME (``flavour/model``): ``NAME:config`` (``to_json()``), ``NAME:w:PATH`` (every weight by its
variable path), ``NAME:x`` / ``NAME:y`` (a fixed input and the model's output) and, for Keras 3,
``NAME:seeds`` (a JSON list of the live initializer seeds, for the draw-order check).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np


def _models(keras: Any, seed: int, extra: bool) -> dict[str, tuple[Any, list[np.ndarray]]]:
    L = keras.layers
    rng = np.random.default_rng(0)
    out: dict[str, tuple[Any, list[np.ndarray]]] = {}

    # dense + conv families, Sequential
    keras.utils.set_random_seed(seed)
    conv = keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Conv2D(4, 3, bias_initializer="random_uniform"),
        L.BatchNormalization(),
        L.DepthwiseConv2D(3, depth_multiplier=2),
        L.SeparableConv2D(5, 2, padding="same", pointwise_initializer="he_uniform"),
        L.Conv2DTranspose(3, 2),
        L.GlobalAveragePooling2D(),
        L.Dropout(0.2),
        L.Dense(6, kernel_initializer="he_normal", bias_initializer="random_normal"),
        L.Dense(2, kernel_initializer="orthogonal", use_bias=False,
                bias_initializer="lecun_uniform"),
    ])
    out["conv"] = (conv, [rng.normal(size=(2, 8, 8, 3)).astype("float32")])

    # recurrent families
    keras.utils.set_random_seed(seed)
    seq = keras.Sequential([
        keras.Input((5,), dtype="int32"),
        L.Embedding(20, 8),
        L.LSTM(6, return_sequences=True),
        L.GRU(5, return_sequences=True),
        L.SimpleRNN(4, return_sequences=True),
        L.Bidirectional(L.LSTM(3, return_sequences=True)),
        L.Dense(3, kernel_initializer="lecun_normal"),
    ])
    out["seq"] = (seq, [rng.integers(0, 20, size=(2, 5)).astype("int32")])

    # attention (MHA builds its sublayers at the first call: draws after construction)
    keras.utils.set_random_seed(seed)
    inp = keras.Input((5, 8))
    x = L.MultiHeadAttention(2, 4, dropout=0.1)(inp, inp)
    x = L.LayerNormalization()(x)
    x = L.Dense(8, kernel_initializer="truncated_normal")(x)
    x = L.MultiHeadAttention(2, 3, bias_initializer="random_uniform")(x, x)
    x = L.EinsumDense("abc,cd->abd", (5, 4), bias_axes="d")(x)
    attn = keras.Model(inp, x)
    out["attn"] = (attn, [rng.normal(size=(2, 5, 8)).astype("float32")])

    # a twin-able attention block (heads * key_dim == embedding: one torch MultiheadAttention)
    keras.utils.set_random_seed(seed)
    inp = keras.Input((5, 8))
    x = L.MultiHeadAttention(2, 4)(inp, inp)
    x = L.Dense(3)(x)
    out["mha"] = (keras.Model(inp, x), [rng.normal(size=(2, 5, 8)).astype("float32")])

    if not extra:
        return out
    # a residual block whose shortcut is constructed first (as ResNet's code does) but called
    # last: construction, first-call and config order all differ
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    shortcut = L.Dense(3, name="shortcut")
    a = L.Dense(5, name="a")(inp)
    b = L.Dense(3, name="b")(a)
    x = L.Dense(2, name="out")(L.Add()([b, shortcut(inp)]))
    out["branch"] = (keras.Model(inp, x), [rng.normal(size=(2, 4)).astype("float32")])

    # the recurrent model rebuilt from its config after set_random_seed
    keras.utils.set_random_seed(seed)
    rebuilt = keras.models.model_from_json(seq.to_json())
    out["rebuilt"] = (rebuilt, [rng.integers(0, 20, size=(2, 5)).astype("int32")])
    return out


def _weights(model: Any, flavour: str) -> dict[str, np.ndarray]:
    got = {}
    for w in model.weights:
        name = w.path if flavour == "keras" else w.name.split(":")[0]
        got[name] = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
    return got


def _live_seeds(model: Any) -> list[int]:
    """Every RandomInitializer seed held by the model's layers and sublayers (Keras 3)."""
    seeds: list[int] = []

    def visit(obj: Any, depth: int = 0) -> None:
        if depth > 6:
            return
        for key, value in sorted(vars(obj).items()):
            if key.endswith("initializer") and isinstance(getattr(value, "seed", None), int):
                seeds.append(int(value.seed))
            elif hasattr(value, "weights") and hasattr(value, "get_config") and value is not obj:
                visit(value, depth + 1)

    for layer in model.layers:
        visit(layer)
    return sorted(set(seeds))


def main(flavours: str, seed: int, path: str, forward: bool = True) -> None:
    saved: dict[str, Any] = {}
    for flavour in flavours.split(","):
        _save(flavour, seed, saved, forward)
    np.savez(path, **saved)


def _save(flavour: str, seed: int, saved: dict[str, Any], forward: bool) -> None:
    if flavour == "tf_keras":
        try:
            import tf_keras as keras
        except ImportError:  # TensorFlow < 2.16: tf.keras is Keras 2
            from tensorflow import keras
    else:
        import keras
    for model_name, (model, inputs) in _models(keras, seed, extra=forward).items():
        name = f"{flavour}/{model_name}"
        saved[f"{name}:config"] = np.array(model.to_json())
        for wname, value in _weights(model, flavour).items():
            saved[f"{name}:w:{wname}"] = value
        saved[f"{name}:x"] = inputs[0]
        if forward:
            y = model(inputs[0], training=False)
            saved[f"{name}:y"] = (keras.ops.convert_to_numpy(y) if flavour == "keras"
                                  else np.asarray(y))
        if flavour == "keras":
            saved[f"{name}:seeds"] = np.array(json.dumps(_live_seeds(model)))
    backend = "tf_keras" if flavour == "tf_keras" else keras.backend.backend()
    print("built", backend, getattr(keras, "__version__", "tf.keras"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], forward=sys.argv[4:] != ["weights"])
